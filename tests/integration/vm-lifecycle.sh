#!/bin/bash
# vm-lifecycle.sh [local|nfs]: poolctl vm start / stop across two hosts
# (issue 5, docs/design.md choices 4 and 7), with the VM records on a local
# directory (a share both hosts see) or on nfs://127.0.0.1/... (a private
# nfs-ganesha, lib-nfs.sh).
#
# Two simulated hosts (lib-cluster.sh: own sanlock daemon, poold, portal,
# loop devices), each with its own libvirtd using libvirt's sanlock lock
# manager against that host's sanlock daemon (lib-libvirt.sh). One pool
# with sanlock locking, one 16 MiB volume holding a boot sector
# (tests/data/boot-marker: the guest writes "POOLD-MARKER" to LBA 1 with BIOS
# disk services, then halts), one VM whose only disk is that volume.
#   - defined on host 1, listed by host 2 with no owner;
#   - started on host 1: the QEMU process runs in host 1's namespace, holds
#     the volume's lease (sanlock on host 2 sees host 1 as its owner), the
#     marker appears on the volume (read back through the target);
#     host 2's `vm list` names host 1 as the owner;
#   - a start on host 2 is refused naming host 1, even with --takeover (the
#     lease); host 2's target refuses writes to the volume;
#   - undefine while it runs is refused;
#   - stop without --force waits for an ACPI shutdown the guest ignores:
#     refused after --wait, the VM still runs; stop --force ends QEMU,
#     frees the lease, the record loses its owner (new generation), and
#     host 1's target refuses writes again;
#   - the marker is wiped (under a lease poolctl takes on host 2), the VM
#     is started on host 2: owner host 2, generation up again, the guest
#     writes the marker again; host 1 now refuses to start it naming host 2;
#   - a VM destroyed behind poold's back (virsh destroy on host 1: the
#     record still names host 1, but no lease is held) is taken over by a
#     start on host 2; host 1's stop is then refused naming host 2;
#   - a host 1 poold killed right after QEMU started (holding the
#     lease) but before the record was written: host 2's start is refused
#     naming host 1 (the lease), `vm stop --force` on host 1 ends the
#     leftover domain, then host 2 starts it;
#   - (nfs) with ganesha frozen, vm start fails within the store timeout
#     (+3 s) with an error naming the server while volume list works; after
#     a thaw everything goes on;
#   - bad input: unknown VM, bad VM name, unknown pool.
# Times are printed.
#
# SPDX-License-Identifier: GPL-2.0-or-later
MODE=${1:-local}
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
if [ "$MODE" = nfs ]; then
    . "$(dirname "$0")/../harness/lib-nfs.sh"
    nfs_enter_namespace "$@"
fi
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
t_sanlock_require
for b in qemu-img qemu-io; do
    command -v "$b" >/dev/null || { echo "# $b missing: skipping"; exit 77; }
done
grep -qw iscsi <<<"$(qemu-img --help 2>/dev/null)" ||
    { echo "# qemu has no iscsi:// driver (qemu-block-extra): skipping"; exit 77; }
BM_BIN="${POOL_SRCDIR:-$(dirname "$0")/../..}/tests/data/boot-marker/boot-marker.bin"
[ -f "$BM_BIN" ] || { echo "# $BM_BIN missing"; exit 1; }

P=$T_POOL
VM="vm-$$"
IQN="iqn.2026-11.org.poold:$P"
STORE_TIMEOUT_MS=2000

declare -A T_TIME=()

url() { echo "iscsi://127.0.0.1:${C_PORT[$1]}/$IQN/$LUN"; }
read_head() { t_read_head "$(url "$1")"; }
MARKER_HEX=$(printf 'POOLD-MARKER' | od -An -v -tx1 | tr -d ' \n')
marker_there() { local h; h=$(read_head "$1"); [ "${h:1024:${#MARKER_HEX}}" = "$MARKER_HEX" ]; }
marker_gone() { local h; h=$(read_head "$1"); [ -n "$h" ] && [ "${h:1024}" = "$(printf '0%.0s' $(seq 1 1024))" ]; }
# does host $1's target take a write to LBA 2 (a sector the guest leaves alone)?
can_write() { qemu-io -f raw -c "write -P 0x5a 1024 512" "$(url "$1")" >/dev/null 2>&1; }
vm_json() { cpctl "$1" --json vm show "$P" "$VM" | python3 -c "import json, sys; v = json.load(sys.stdin); print(v['$2'] if v['$2'] is not None else '')"; }
qemu_pid() { lv_domain_pid "$1" "$VM"; }
lease_owner() { cpctl "$1" --json lease status "$P" disk1 | python3 -c "import json, sys; l = json.load(sys.stdin); print(l['owner'] if l['held'] else 'free')"; }
lease_free() { [ "$(lease_owner "$1")" = free ]; }
cannot_write() { ! can_write "$1"; }
no_owner() { [ -z "$(vm_json "$1" owner)" ]; }
# host $1's sanlock: QEMU (pid $2) is a client and a resource named $3 is held
qemu_holds_lease() {
    local st
    st=$(slk "$1" status 2>&1)
    grep -Eq "^p $2( |\$)" <<< "$st" && grep -q ":$3:" <<< "$st"
}
listed() { grep -Eq "^$VM +$2 +" <<<"$(cpctl "$1" vm list "$P")"; }
no_domain() { [ -z "$(qemu_pid "$1")" ]; }
poold_gone() { ! kill -0 "$1" 2>/dev/null; }

# ---- hosts: sanlock + poold, then libvirtd with the sanlock lock manager ----
c_hosts 2
c_shared_disk pv1 512M || exit 1
for h in 1 2; do
    c_host_conf "$h" libvirt_uri "\"$(lv_uri "$h")\""
    c_host_conf "$h" libvirt_pool_type '"off"'
    c_host_conf "$h" libvirt_initiator "\"iqn.2026-11.org.poold.test:h$h-$$\""
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
    t_assert "libvirt host $h launches (lock manager sanlock)" lv_host_launch "$h" sanlock
done
t_assert "libvirt host 1 answers" lv_host_wait 1
t_assert "libvirt host 2 answers" lv_host_wait 2
[ -n "${LV_PID[1]:-}" ] && [ -n "${LV_PID[2]:-}" ] || { t_finish; exit 1; }

t_assert "host 1: pool create (sanlock)" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 8 --lease-slots 16 --host-id 1 >/dev/null
t_assert "host 2: pool import" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 1: volume create disk1 16M" cpctl 1 volume create "$P" disk1 16M >/dev/null
LUN=$(cpctl 1 --json volume info "$P" disk1 | python3 -c "import json, sys; print(json.load(sys.stdin)['lun'])")
t_assert "host 2 exports disk1 too" t_poll 10 bash -c 'qemu-img info "$1" >/dev/null 2>&1' _ "$(url 2)"

if [ "$MODE" = nfs ]; then
    nfs_start || { t_fail "nfs server"; t_finish; exit 1; }
    STORE="$NFS_URL/vms"
else
    STORE="$T_DIR/shared-store"
fi
t_assert "set-store $STORE" cpctl 1 pool set-store "$P" "$STORE" --timeout-ms $STORE_TIMEOUT_MS >/dev/null

# the boot sector, written under a lease poolctl takes (rw LUNs take writes
# only on the lease holder)
cp "$BM_BIN" "$T_DIR/head.img" && truncate -s 1024 "$T_DIR/head.img"
t_assert "host 1: lease acquire (to write the boot sector)" cpctl 1 lease acquire "$P" disk1 >/dev/null
t_assert "boot sector + zero LBA 1 through host 1's target" \
    t_poll 5 qemu-img convert -n -f raw -O raw "$T_DIR/head.img" "$(url 1)"
t_assert "host 1: lease release" cpctl 1 lease release "$P" disk1 >/dev/null
t_assert "LBA 1 is zero before boot" marker_gone 1

cat > "$T_DIR/vm.xml" <<EOX
<domain type='qemu'>
  <name>$VM</name>
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
    <disk type='volume' device='disk'>
      <source pool='$P' volume='disk1'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$T_DIR/vm.serial'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOX

# ---- define on host 1, listed on host 2 ------------------------------------
t_assert "host 1: vm define" cpctl 1 vm define "$P" "$T_DIR/vm.xml" >/dev/null
t_assert "host 2: vm list shows it, no owner" listed 2 -
G0=$(vm_json 2 generation)

# ---- start on host 1 ---------------------------------------------------------
t0=$(t_now)
if cpctl 1 vm start "$P" "$VM" > "$T_DIR/start1.out" 2>&1; then
    t_ok
else
    # everything below needs the VM running: show why it is not, and stop
    t_fail "host 1: vm start: $(cat "$T_DIR/start1.out")"
    tail -n 30 "$(c_log 1)" | sed 's/^/# host 1 poold: /'
    tail -n 30 "$(lv_log 1)" | sed 's/^/# host 1 libvirtd: /'
    cat "$(lv_dir 1)/log/qemu/$VM.log" 2>/dev/null | tail -n 20 | sed 's/^/# host 1 qemu: /'
    slk 1 status 2>&1 | sed 's/^/# host 1 sanlock: /'
    t_finish
    exit 1
fi
T_TIME[start1]=$(t_took "$t0")
QPID=$(qemu_pid 1)
t_assert "host 1: QEMU runs (pid ${QPID:-none})" [ -n "$QPID" ]
t_assert "QEMU runs in host 1's namespace" lv_in_ns 1 "${QPID:-0}"
t_assert "domain running in host 1's libvirt" [ "$(lv_virsh 1 domstate "$VM" 2>/dev/null)" = running ]
UUID1=$(cpctl 1 --json volume info "$P" disk1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])')
t_assert "QEMU is a client of host 1's sanlock, holding the volume's lease" \
    qemu_holds_lease 1 "${QPID:-0}" "$UUID1"
t0=$(t_now)
t_assert "the guest wrote its marker (read through host 1's target)" t_poll 20 marker_there 1
T_TIME[marker1]=$(t_took "$t0")
t_assert "host 2 sees host 1 as the lease owner" [ "$(lease_owner 2)" = 1 ]
t_assert "host 2: vm list names h1 as owner" listed 2 h1
G1=$(vm_json 2 generation)
t_assert "record generation moved on ($G0 -> $G1)" [ "$G1" -gt "$G0" ]
t_assert "record owner is h1" [ "$(vm_json 2 owner)" = h1 ]

# ---- host 2 is kept off -----------------------------------------------------
t_expect_fail 4 "VM $VM runs on host h1 \(host id 1" cpctl 2 vm start "$P" "$VM"
# the operator's --takeover cannot beat the leases of a VM that runs
t_expect_fail 4 "lease of volume disk1 is held by host 1" cpctl 2 vm start --takeover "$P" "$VM"
t_assert "record still names h1" [ "$(vm_json 2 owner)" = h1 ]
t_assert "host 2's target refuses writes to the volume" cannot_write 2
t_expect_fail 4 "VM $VM is running on host h1" cpctl 1 vm undefine "$P" "$VM"
t_expect_fail 4 "VM $VM runs on host h1, not on this host" cpctl 2 vm stop --force "$P" "$VM"
t_expect_fail 4 "already runs on this host" cpctl 1 vm start "$P" "$VM"

# ---- stop on host 1 -----------------------------------------------------------
t0=$(t_now)
t_expect_fail 1 "did not shut down within 2 s.*--force" cpctl 1 vm stop --wait 2 "$P" "$VM"
T_TIME[stop_timeout]=$(t_took "$t0")
t_assert "the guest ignores ACPI: still running" lv_alive "${QPID:-0}"
t0=$(t_now)
t_assert "host 1: vm stop --force" cpctl 1 vm stop --force "$P" "$VM" >/dev/null
T_TIME[stop1]=$(t_took "$t0")
t_assert "QEMU ended" lv_wait_gone "${QPID:-0}" 10
t_assert "lease free again" t_poll 10 lease_free 2
t_assert "record has no owner" no_owner 2
G2=$(vm_json 2 generation)
t_assert "generation moved on ($G1 -> $G2)" [ "$G2" -gt "$G1" ]
t_assert "host 1's target refuses writes again" cannot_write 1
t_assert "vm stop again: nothing to do, fine" cpctl 1 vm stop --force "$P" "$VM" >/dev/null

# ---- wipe the marker, start on host 2 ----------------------------------------------
t_assert "host 2: lease acquire (to wipe the marker)" cpctl 2 lease acquire "$P" disk1 >/dev/null
t_assert "wipe LBA 1 through host 2's target" qemu-io -f raw -c "write -z 512 512" "$(url 2)" >/dev/null
t_assert "host 2: lease release" cpctl 2 lease release "$P" disk1 >/dev/null
t_assert "marker gone" marker_gone 2
t0=$(t_now)
if cpctl 2 vm start "$P" "$VM" > "$T_DIR/start2.out" 2>&1; then t_ok; else t_fail "host 2: vm start: $(cat "$T_DIR/start2.out")"; fi
T_TIME[start2]=$(t_took "$t0")
QPID2=$(qemu_pid 2)
t_assert "host 2: QEMU runs (pid ${QPID2:-none}) in host 2's namespace" lv_in_ns 2 "${QPID2:-0}"
t_assert "the guest wrote its marker again (read through host 1's target)" t_poll 20 marker_there 1
t_assert "record owner is h2" [ "$(vm_json 1 owner)" = h2 ]
G3=$(vm_json 1 generation)
t_assert "generation moved on ($G2 -> $G3)" [ "$G3" -gt "$G2" ]
t_expect_fail 4 "VM $VM runs on host h2 \(host id 2" cpctl 1 vm start "$P" "$VM"
t_assert "host 2: vm stop --force" cpctl 2 vm stop --force "$P" "$VM" >/dev/null
t_assert "host 2: QEMU ended" lv_wait_gone "${QPID2:-0}" 10

# ---- the VM ends behind poold's back (guest power-off, crash, virsh destroy) --------
t_assert "host 1: vm start" cpctl 1 vm start "$P" "$VM" >/dev/null
QPID4=$(qemu_pid 1)
t_assert "host 1: virsh destroy, behind poold's back" lv_virsh 1 destroy "$VM" >/dev/null
t_assert "that QEMU ended" lv_wait_gone "${QPID4:-0}" 10
t_assert "the record still names h1" [ "$(vm_json 2 owner)" = h1 ]
t_assert "lease free" t_poll 10 lease_free 2
t_assert "host 2: vm start takes it over (h1 holds none of its leases)" \
    cpctl 2 vm start "$P" "$VM" >/dev/null
t_assert "record owner is h2" [ "$(vm_json 1 owner)" = h2 ]
t_assert "host 2 logged the take-over" grep -q "VM $VM: its owner, host h1, holds none of its leases" "$(c_log 2)"
t_expect_fail 4 "VM $VM runs on host h2, not on this host" cpctl 1 vm stop --force "$P" "$VM"
t_assert "host 2: vm stop --force" cpctl 2 vm stop --force "$P" "$VM" >/dev/null

# ---- poold of host 1 dies between QEMU's start and the record ----------------------
c_poold_stop 1
t_assert "host 1: poold restarts with a crash point" \
    c_host_start 1 POOLD_TEST_CRASH_AT=vm-start-domain-created
cpctl 1 vm start "$P" "$VM" >/dev/null 2>&1
t_assert "host 1: poold died at the crash point" t_poll 10 poold_gone "$(c_poold_pid 1)"
wait "$(c_poold_pid 1)" 2>/dev/null
unset "C_POOLD_PID[1]"
QPID3=$(qemu_pid 1)
t_assert "a QEMU holding the lease is left on host 1 (pid ${QPID3:-none})" [ -n "$QPID3" ]
t_assert "host 1: poold starts again" c_host_start 1
t_assert "record has no owner" no_owner 2
t_expect_fail 4 "lease of volume disk1 is held by host 1" cpctl 2 vm start "$P" "$VM"
t_assert "host 1: vm stop --force ends the leftover domain" cpctl 1 vm stop --force "$P" "$VM" >/dev/null
t_assert "leftover QEMU ended" lv_wait_gone "${QPID3:-0}" 10
t_assert "host 2: vm start now works" t_poll 10 cpctl 2 vm start "$P" "$VM"
t_assert "record owner is h2" [ "$(vm_json 1 owner)" = h2 ]
t_assert "host 2: vm stop --force" cpctl 2 vm stop --force "$P" "$VM" >/dev/null

# ---- the store goes away (nfs) -------------------------------------------------------
if [ "$MODE" = nfs ]; then
    nfs_freeze
    t0=$(nfs_ms)
    out=$(cpctl 2 vm start "$P" "$VM" 2>&1)
    rc=$?
    el=$(($(nfs_ms) - t0))
    if [ $rc -ne 0 ] && [[ $out == *127.0.0.1* ]] && [ $el -lt $((STORE_TIMEOUT_MS + 3000)) ]; then
        t_ok
    else
        t_fail "vm start with the store frozen: rc=$rc in $el ms: $out"
    fi
    t_log "vm start with the store frozen: rc=$rc in $el ms: $out"
    t_assert "no domain was started on host 2" no_domain 2
    t_assert "volume list works without the store" cpctl 2 volume list "$P" >/dev/null
    nfs_thaw
    t_assert "after the thaw: vm start on host 2" t_poll 10 cpctl 2 vm start "$P" "$VM"
    t_assert "record owner is h2" [ "$(vm_json 1 owner)" = h2 ]
    t_assert "host 2: vm stop --force" cpctl 2 vm stop --force "$P" "$VM" >/dev/null
fi

# ---- bad input -------------------------------------------------------------------------
t_expect_fail 3 "no-such-vm" cpctl 1 vm start "$P" no-such-vm
t_expect_fail 2 "VM" cpctl 1 vm start "$P" "bad/name"
t_expect_fail 3 "nopool" cpctl 1 vm start nopool "$VM"
t_expect_fail 3 "no-such-vm" cpctl 1 vm stop "$P" no-such-vm
t_expect_fail 2 "wait" cpctl 1 vm stop --wait 601 "$P" "$VM"

for h in 1 2; do
    grep -E "VM $VM" "$(c_log "$h")" | sed -e 's/^[0-9-]* [0-9:.]* poold\[[0-9]*\] //' -e "s/^/# host $h poold: /" | head -n 20
done
echo "# times (s): start on host 1 ${T_TIME[start1]}, marker ${T_TIME[marker1]}, stop --wait 2 ${T_TIME[stop_timeout]}, stop --force ${T_TIME[stop1]}, start on host 2 ${T_TIME[start2]}"
t_finish
