#!/bin/bash
# libvirt-harness.sh: two real libvirtds side by side (lib-libvirt.sh), each
# talking to poold's embedded iSCSI target, and a TCG guest writing through
# it (groundwork for issue 5: poold keeps libvirt storage pools current).
#   - poold with one pool, a 16 MiB volume and a portal on 127.0.0.1;
#   - libvirt hosts 1 and 2, each in its own mount namespace; host 1 uses
#     libvirt's sanlock lock manager with its own sanlock daemon (when
#     sanlock and tests/harness/sanlock_rlimit_shim.so are there);
#   - on each host an iscsi-direct storage pool on poold's target: vol-list
#     shows the LUN, vol-info's capacity is poolctl's;
#   - the boot sector of tests/data/boot-marker/ goes onto the volume through the
#     target; a TCG domain on host 1 boots from the volume over iscsi:// and
#     writes "POOLD-MARKER" to LBA 1 with INT 13h; the marker is read back
#     through the target; with sanlock, the qemu process is a registered
#     client of host 1's sanlock daemon (libvirt found it through
#     SANLOCK_RUN_DIR);
#   - virsh destroy ends the qemu process;
#   - host 2 restarted keeps its pool definition (/etc/libvirt/storage is
#     per host and persistent), and the pool starts again;
#   - the hosts stop and leave nothing running in their namespaces.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
for b in qemu-img qemu-io; do
    command -v "$b" >/dev/null || { echo "# $b missing: skipping"; exit 77; }
done
grep -qw iscsi <<<"$(qemu-img --help 2>/dev/null)" ||
    { echo "# qemu has no iscsi:// driver (qemu-block-extra): skipping"; exit 77; }
BM_DIR="${POOL_SRCDIR:-$(dirname "$0")/../..}/tests/data/boot-marker"
BM_BIN="$BM_DIR/boot-marker.bin"
[ -f "$BM_BIN" ] || { echo "# $BM_BIN missing"; exit 1; }

declare -A T_TIME=()
T_START=$(t_now)

# Host 1 runs with libvirt's sanlock lock manager when sanlock can run here.
LOCK1=none
if [ -n "$SANLOCK_BIN" ] && [ -f "$SLK_SHIM" ]; then
    LOCK1=sanlock
else
    t_log "sanlock or $SLK_SHIM missing: host 1 runs without a lock manager"
fi

# The committed boot sector is what its source assembles to.
if command -v as >/dev/null && command -v ld >/dev/null; then
    as --32 -o "$T_DIR/bm.o" "$BM_DIR/boot-marker.S" &&
        ld -m elf_i386 -Ttext 0x7c00 --oformat binary -e start -o "$T_DIR/bm.bin" "$T_DIR/bm.o"
    t_assert "boot-marker.bin is boot-marker.S assembled" cmp -s "$BM_BIN" "$T_DIR/bm.bin"
fi
t_assert "boot sector is 512 bytes ending 55 aa" python3 -c "
import sys; b = open('$BM_BIN', 'rb').read(); sys.exit(not (len(b) == 512 and b[510:] == b'\x55\xaa'))"

# ---- poold: pool, 16 MiB volume, portal --------------------------------------
t0=$(t_now)
PORT=$(t_free_port)
t_loop PV1 pv1 256M || exit 1
t_write_config <<EOC
iscsi_portal = "127.0.0.1:$PORT"
EOC
t_start_poold || exit 1
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
IQN="iqn.2026-11.org.poold:$T_POOL"
t_assert "pool create" pctl pool create --lease-slots 20 --host-ids 20 "$T_POOL" "$PV1"
t_assert "volume create 16M" pctl volume create "$T_POOL" vm1 16M
pctl --json volume info "$T_POOL" vm1 > "$T_DIR/vm1.json" || { t_fail "volume info"; t_finish; exit 1; }
LUN=$(python3 -c "import json; print(json.load(open('$T_DIR/vm1.json'))['lun'])")
CAP=$(python3 -c "import json; print(json.load(open('$T_DIR/vm1.json'))['capacity'])")
URL="iscsi://127.0.0.1:$PORT/$IQN/$LUN"
t_log "volume vm1: LUN $LUN, $CAP bytes, $URL"
T_TIME[poold]=$(t_took "$t0")

# ---- two libvirt hosts ---------------------------------------------------------
t0=$(t_now)
if [ "$LOCK1" = sanlock ]; then
    t_assert "sanlock daemon of host 1" t_sanlock_start 1
fi
# both launched first: their QEMU capability probes run side by side
t_assert "libvirt host 1 launches ($LOCK1)" lv_host_launch 1 "$LOCK1"
t_assert "libvirt host 2 launches" lv_host_launch 2
t_assert "libvirt host 1 answers" lv_host_wait 1
T_TIME[host1]=$(t_took "$t0")
t_assert "libvirt host 2 answers" lv_host_wait 2
T_TIME[host2]=$(t_took "$t0")
if [ -z "${LV_PID[1]:-}" ] || [ -z "${LV_PID[2]:-}" ]; then
    t_finish; exit 1
fi
t_assert "LV_URI_1 and LV_URI_2 set" [ -n "${LV_URI_1:-}" ] && [ -n "${LV_URI_2:-}" ]
t_assert "hosts in different mount namespaces" [ "${LV_NS[1]}" != "${LV_NS[2]}" ]
t_assert "both answer at once" bash -c '[ "$1" != "$2" ]' _ \
    "$(lv_virsh 1 hostname)" "$(lv_virsh 2 hostname)"
t_assert "host 1's /run/libvirt is not host 2's" bash -c '! [ "$1" -ef "$2" ]' _ \
    "/proc/${LV_PID[1]}/root/run/libvirt" "/proc/${LV_PID[2]}/root/run/libvirt"
t_assert "no /run/libvirt/virtlogd-sock leaked outside" [ ! -e /run/libvirt/virtlogd-sock ]

# ---- iscsi-direct pools ----------------------------------------------------------
t0=$(t_now)
for h in 1 2; do
    cat > "$T_DIR/pool-h$h.xml" <<EOX
<pool type='iscsi-direct'>
  <name>$T_POOL</name>
  <source>
    <host name='127.0.0.1' port='$PORT'/>
    <device path='$IQN'/>
    <initiator>
      <iqn name='iqn.2026-11.org.poold.test:lvh$h-$$'/>
    </initiator>
  </source>
</pool>
EOX
    t_assert "host $h: pool-define" lv_virsh "$h" pool-define "$T_DIR/pool-h$h.xml"
    t_assert "host $h: pool-start" lv_virsh "$h" pool-start "$T_POOL"
    vols=$(lv_virsh "$h" vol-list "$T_POOL" 2>&1)
    echo "$vols" | sed "s/^/# host $h vol-list: /"
    vname=$(awk -v l="$LUN" '$1 ~ ("^unit:0:0:" l "$") {print $1}' <<< "$vols")
    t_assert "host $h: vol-list shows LUN $LUN" [ -n "$vname" ]
    [ -n "$vname" ] || continue
    vcap=$(lv_virsh "$h" vol-info --bytes --pool "$T_POOL" "$vname" | awk '/^Capacity:/ {print $2}')
    # libvirt's iscsi-direct backend (9.0 and upstream as of this writing)
    # takes READ CAPACITY(16)'s RETURNED LOGICAL BLOCK ADDRESS (the last LBA)
    # for the block count, so it reports one block less than the LUN has;
    # qemu's iscsi driver counts right (checked below)
    if [ "$vcap" = "$CAP" ]; then
        t_ok
    elif [ "$vcap" = "$((CAP - 512))" ]; then
        t_ok
        t_log "host $h: vol-info capacity $vcap = $CAP - 512 (libvirt iscsi-direct counts last LBA, not blocks)"
    else
        t_fail "host $h: vol-info capacity $vcap, poolctl says $CAP"
    fi
    vpath=$(lv_virsh "$h" vol-path --pool "$T_POOL" "$vname")
    t_log "host $h: volume $vname path $vpath"
done
T_TIME[pools]=$(t_took "$t0")

# ---- boot sector onto the volume, through the target ---------------------------
t0=$(t_now)
qsize=$(qemu-img info --output=json "$URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
t_assert "qemu sees the LUN's full size ($qsize = $CAP)" [ "$qsize" = "$CAP" ]
# sector 0: the boot sector; sector 1: zeros (the guest's marker goes there)
cp "$BM_BIN" "$T_DIR/disk-head.img" && truncate -s 1024 "$T_DIR/disk-head.img"
t_assert "write boot sector + zero LBA 1 through the target" \
    qemu-img convert -n -f raw -O raw "$T_DIR/disk-head.img" "$URL"
head_hex=$(t_read_head "$URL")
t_assert "LBA 0 holds the boot sector" [ "${head_hex:0:1024}" = "$(od -An -v -tx1 "$BM_BIN" | tr -d ' \n')" ]
t_assert "LBA 1 is zero before boot" [ "${head_hex:1024}" = "$(printf '0%.0s' $(seq 1 1024))" ]
T_TIME[bootsector]=$(t_took "$t0")

# ---- a TCG domain on host 1 boots from the volume ------------------------------
DOM="lvh-marker-$$"
SERIAL="$(lv_dir 1)/$DOM.serial"
cat > "$T_DIR/dom.xml" <<EOX
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$LV_QEMU_BIN</emulator>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='iscsi' name='$IQN/$LUN'>
        <host name='127.0.0.1' port='$PORT'/>
        <initiator>
          <iqn name='iqn.2026-11.org.poold.test:lvh1-$$'/>
        </initiator>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$SERIAL'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOX
t0=$(t_now)
t_assert "host 1: define domain" lv_virsh 1 define "$T_DIR/dom.xml"
t_assert "host 1: start domain" lv_virsh 1 start "$DOM"
T_TIME[domstart]=$(t_took "$t0")
QPID=$(lv_domain_pid 1 "$DOM")
t_assert "qemu pid known ($QPID)" [ -n "$QPID" ]
t_assert "qemu runs in host 1's namespace" lv_in_ns 1 "${QPID:-0}"
t_assert "domain is running" [ "$(lv_virsh 1 domstate "$DOM")" = running ]
if [ "$LOCK1" = sanlock ] && [ -n "$QPID" ]; then
    st=$(slk 1 status 2>&1)
    echo "$st" | sed 's/^/# host 1 sanlock: /'
    t_assert "qemu (pid $QPID) is a client of host 1's sanlock daemon" \
        grep -Eq "^p $QPID( |$)" <<< "$st"
fi

t0=$(t_now)
marker_hex=$(printf 'POOLD-MARKER' | od -An -v -tx1 | tr -d ' \n')
marker_hex="$marker_hex$(printf '0%.0s' $(seq 1 $((1024 - ${#marker_hex}))))"
deadline=$((SECONDS + 120))
got=""
while [ $SECONDS -lt $deadline ]; do
    head_hex=$(t_read_head "$URL")
    if [ "${head_hex:1024}" = "$marker_hex" ]; then got=1; break; fi
    lv_alive "${QPID:-0}" || break
    sleep 0.5
done
T_TIME[marker]=$(t_took "$t0")
t_assert "LBA 1 holds the guest's marker (read through the target)" [ -n "$got" ]
t_assert "LBA 0 still holds the boot sector" [ "${head_hex:0:1024}" = "$(od -An -v -tx1 "$BM_BIN" | tr -d ' \n')" ]
t_assert "guest reported success on its serial port" grep -q "POOLD-MARKER written" "$SERIAL"
t_log "guest serial: $(tr -d '\r' < "$SERIAL" 2>/dev/null | tr '\n' ' ')"

t0=$(t_now)
t_assert "host 1: virsh destroy" lv_virsh 1 destroy "$DOM"
t_assert "qemu process gone" lv_wait_gone "${QPID:-0}" 20
t_assert "domain shut off" [ "$(lv_virsh 1 domstate "$DOM")" = "shut off" ]
T_TIME[destroy]=$(t_took "$t0")
if [ "$LOCK1" = sanlock ] && [ -n "$QPID" ]; then
    t_assert "host 1's sanlock daemon no longer lists the qemu" \
        bash -c '! grep -Eq "^p $1( |\$)" <<< "$2"' _ "$QPID" "$(slk 1 status 2>&1)"
fi
t_assert "host 1: undefine" lv_virsh 1 undefine "$DOM"

# ---- restart host 2: its definitions persist, its runtime state does not ----
t0=$(t_now)
t_assert "host 2: lv_host_stop" lv_host_stop 2
t_assert "host 2: nothing left in its namespace" [ -z "$(lv_ns_pids 2)" ]
t_assert "host 2: starts again" lv_host_start 2
t_assert "host 2: pool still defined, inactive" \
    [ "$(lv_virsh 2 pool-info "$T_POOL" 2>/dev/null | awk '/^State:/ {print $2}')" = inactive ]
t_assert "host 2: pool-start again" lv_virsh 2 pool-start "$T_POOL"
t_assert "host 2: vol-list shows LUN $LUN again" \
    grep -q "^ *unit:0:0:$LUN " <<< "$(lv_virsh 2 vol-list "$T_POOL")"
T_TIME[restart]=$(t_took "$t0")

# ---- stop both hosts ----------------------------------------------------------
t0=$(t_now)
for h in 1 2; do
    t_assert "host $h: pool-destroy" lv_virsh "$h" pool-destroy "$T_POOL"
    t_assert "host $h: pool-undefine" lv_virsh "$h" pool-undefine "$T_POOL"
    t_assert "host $h: lv_host_stop" lv_host_stop "$h"
    t_assert "host $h: nothing left in its namespace" [ -z "$(lv_ns_pids "$h")" ]
done
T_TIME[stop]=$(t_took "$t0")
if [ "$LOCK1" = sanlock ]; then
    t_sanlock_stop 1
fi

echo "# timings (s): poold+pool+volume ${T_TIME[poold]}, libvirt hosts launched together:" \
    "host 1 answers after ${T_TIME[host1]}, host 2 after ${T_TIME[host2]}, iscsi-direct pools ${T_TIME[pools]}, boot sector ${T_TIME[bootsector]}," \
    "domain start ${T_TIME[domstart]}, marker seen ${T_TIME[marker]}, destroy ${T_TIME[destroy]}," \
    "host 2 restart ${T_TIME[restart]}, hosts stop ${T_TIME[stop]}, total $(t_took "$T_START")"
t_finish
