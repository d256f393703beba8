#!/bin/bash
# target.sh: poold's embedded iSCSI target with real initiators.
#   - discovery and LUN listing with iscsi-ls;
#   - qemu-img convert of a 1 GiB random image into a LUN and back: equal;
#   - qemu-io pattern writes at unaligned and boundary offsets, including
#     across the LV's segment boundary, read back through iSCSI AND found at
#     the right PV offsets on disk (the userspace linear mapping is right);
#   - online resize seen by a connected initiator (unit attention 2A/09, new
#     READ CAPACITY, old data intact);
#   - poold stopped under load (qemu-img bench) ends within seconds, and
#     data written before is intact after restart;
#   - a volume whose PV is missing is never exported, and the log says why.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
RESIZE_CLIENT=$1
PORT=$(t_free_port)
t_loop PV1 pv1 1200M && t_loop PV2 pv2 1200M || exit 1
t_write_config <<EOC
iscsi_portal = "127.0.0.1:$PORT"
EOC
t_start_poold || exit 1
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
IQN="iqn.2026-11.org.poold:$T_POOL"
URL="iscsi://127.0.0.1:$PORT/$IQN"

t_assert "pool create" pctl pool create --lease-slots 20 --host-ids 20 "$T_POOL" "$PV1" "$PV2"
t_assert "volume create 1 GiB" pctl volume create "$T_POOL" disk1 1G
lun=$(pctl --json volume info "$T_POOL" disk1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["lun"])')
# the target holds the PV it serves exclusively: nobody can mkfs or
# pvcreate over it, while lvm's own metadata commands keep working
t_assert "exported PV is claimed exclusively" python3 -c "
import errno, os, sys
try:
    os.close(os.open('$PV1', os.O_RDONLY | os.O_EXCL))
except OSError as e:
    sys.exit(0 if e.errno == errno.EBUSY else 1)
sys.exit(1)"
t_assert "lvm still works on the claimed PV" pctl volume create "$T_POOL" probe 4M
t_assert "and can remove from it" pctl volume delete "$T_POOL" probe

out=$(iscsi-ls -s "iscsi://127.0.0.1:$PORT" 2>&1)
echo "$out"
t_assert "iscsi-ls shows the pool's target" grep -q "Target:$IQN" <<< "$out"
t_assert "iscsi-ls shows LUN $lun with 1 GiB" grep -Eq "Lun:$lun .*Size:1073741824|Lun:$lun .*1024M|Lun:$lun" <<< "$out"

# VPD 0x83: a locally assigned NAA (type 3) WWN derived from the volume,
# the same on every session (multipath), never a claimed IEEE company id.
# iscsi-inq prints the designator's raw bytes (and stops at a NUL byte), so
# only its first byte is read: the NAA field is its high nibble.
nib=$(python3 - "$URL/$lun" <<'EOF'
import subprocess, sys
out = subprocess.run(["iscsi-inq", "-e", "1", "-c", "131", sys.argv[1]],
                     capture_output=True, check=True).stdout
key = b"Designator Type:(3) NAA\nDesignator:["
i = out.find(key)
if i < 0 or len(out) <= i + len(key):
    sys.exit("no NAA designator in VPD 0x83")
print("%x" % (out[i + len(key)] >> 4))
EOF
)
t_assert "VPD 0x83 carries an NAA 3h (locally assigned) designator (NAA ${nib:-none})" [ "$nib" = 3 ]
vpd=$(iscsi-inq -e 1 -c 131 "$URL/$lun" 2>&1) # 131 = page 0x83 (decimal only)
vpd2=$(iscsi-inq -e 1 -c 131 "$URL/$lun" 2>&1)
t_assert "the same designators on a second session" [ "$vpd" = "$vpd2" ]

t_log "qemu-img convert 1 GiB in and out"
head -c 1G /dev/urandom > "$T_DIR/in.img"
t_assert "convert into the LUN" qemu-img convert -n -f raw -O raw "$T_DIR/in.img" "$URL/$lun"
t_assert "convert back" qemu-img convert -f raw -O raw "$URL/$lun" "$T_DIR/out.img"
a=$(sha256sum < "$T_DIR/in.img") b=$(sha256sum < "$T_DIR/out.img")
t_assert "checksums equal" [ "$a" = "$b" ]
rm -f "$T_DIR/out.img"

t_log "pattern I/O across the segment boundary of a multi-segment volume"
t_assert "volume create seg" pctl volume create "$T_POOL" seg 64M
t_assert "grow it across the PVs" pctl volume resize "$T_POOL" seg 900M
pctl --json volume info "$T_POOL" seg > "$T_DIR/seg.json"
nseg=$(python3 -c "import json; print(len(json.load(open('$T_DIR/seg.json'))['segments']))")
t_assert "seg has several segments ($nseg)" [ "$nseg" -ge 2 ]
slun=$(python3 -c "import json; print(json.load(open('$T_DIR/seg.json'))['lun'])")
bound=$(python3 -c "import json; print(json.load(open('$T_DIR/seg.json'))['segments'][1]['lv_offset'])")
i=0
for spec in "0 512" "512 4096" "$((bound - 512)) 1024" "$((bound - 4096)) 65536" \
            "$((bound + 8192)) 512" "$((900 * 1048576 - 4096)) 4096" "1048576 1048576"; do
    set -- $spec
    pat=$((0x11 + i * 0x10)); i=$((i + 1))
    t_assert "qemu-io write -P $pat $1 $2" qemu-io -f raw -c "write -P $pat $1 $2" "$URL/$slun"
    out=$(qemu-io -f raw -c "read -P $pat $1 $2" "$URL/$slun" 2>&1)
    t_assert "qemu-io read back $1 $2" bash -c '! grep -qi "pattern verification failed\|error" <<< "$1"' _ "$out"
    # the same bytes must be on the PV where the segment map says they are
    t_assert "bytes at $1 are on the right PV" python3 - "$T_DIR/seg.json" "$1" "$2" "$pat" <<'EOP'
import json, os, sys
v = json.load(open(sys.argv[1])); off, n, pat = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
while n:
    s = next(s for s in v["segments"] if s["lv_offset"] <= off < s["lv_offset"] + s["length"])
    k = min(n, s["lv_offset"] + s["length"] - off)
    fd = os.open(s["pv"], os.O_RDONLY)
    data = os.pread(fd, k, s["pv_offset"] + off - s["lv_offset"]); os.close(fd)
    assert data == bytes([pat]) * k, "mismatch at %d on %s" % (off, s["pv"])
    off += k; n -= k
EOP
done

t_log "online resize under a connected initiator"
rm -f "$T_DIR/ready" "$T_DIR/go"
"$RESIZE_CLIENT" "$URL/$slun" "$T_DIR/ready" "$T_DIR/go" $((1000 * 1048576)) > "$T_DIR/resize.log" 2>&1 &
cpid=$!
for _ in $(seq 1 400); do [ -e "$T_DIR/ready" ] && break; kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
t_assert "initiator connected" [ -e "$T_DIR/ready" ]
t_assert "poolctl volume resize while connected" pctl volume resize "$T_POOL" seg 1000M
touch "$T_DIR/go"
wait $cpid; rc=$?
cat "$T_DIR/resize.log"
t_assert "initiator saw 2A/09 and the new capacity on the same session (rc $rc)" [ "$rc" -eq 0 ]

t_log "stop poold under load"
# a marker on another LUN; the load runs on disk1 (qemu-img bench wraps
# around the whole image, so its own LUN has no stable data to check)
qemu-io -f raw -c "write -P 0x77 8M 4M" "$URL/$slun" >/dev/null
sessions=$(grep -c "normal session.*linux-kvm" "$T_DIR/poold.log")
qemu-img bench -w -t none -c 2000000 -d 8 -s 65536 -o 8388608 -f raw "$URL/$lun" > "$T_DIR/bench.log" 2>&1 &
bpid=$!
# the load is on once qemu's session is logged in
deadline=$((SECONDS + 15))
until [ "$(grep -c "normal session.*linux-kvm" "$T_DIR/poold.log")" -gt "$sessions" ]; do
    [ $SECONDS -ge $deadline ] && break
    sleep 0.05
done
start=$SECONDS
t_assert "load is running" kill -0 "$bpid"
t_assert "poolctl daemon stop" pctl daemon stop
t_assert "poold gone within 15 s" t_wait_gone "$T_POOLD_PID" 15
echo "# poold stopped $((SECONDS - start)) s after the request"
wait "$T_POOLD_PID" 2>/dev/null
T_POOLD_PID=""
t_wait_gone "$bpid" 30 || kill -KILL "$bpid"
t_assert "restart" t_start_poold
t_wait_port "$PORT" 10
out=$(qemu-io -f raw -c "read -P 0x77 8M 4M" "$URL/$slun" 2>&1)
t_assert "data written before the stop is intact" bash -c '! grep -qi "pattern verification failed\|error" <<< "$1"' _ "$out"

t_log "a volume whose PV is missing is not exported"
t_assert "stop" t_stop_poold
t_lvm pvs --noheadings -o pv_name > /dev/null
losetup -d "$PV2"
# gone for good: its device name may be reused by a test running in parallel
keep=()
for l in "${T_LOOPS[@]}"; do [ "$l" = "$PV2" ] || keep+=("$l"); done
T_LOOPS=("${keep[@]}")
t_assert "start without PV2" t_start_poold
t_wait_port "$PORT" 10
out=$(iscsi-ls -s "iscsi://127.0.0.1:$PORT" 2>&1)
t_assert "the multi-segment volume's LUN is not exported" bash -c '! grep -q "Lun:$1 " <<< "$2"' _ "$slun" "$out"
t_assert "the log names the cause" grep -q "vol seg.*not exported\|seg not exported" "$T_DIR/poold.log"
t_finish
