#!/bin/bash
# linked-clone.sh: linked clones of a snapshot (issue 11): a new volume
# whose top is an empty qcow2 image over a snapshot's read-only layer,
# read and written by QEMU's own qcow2 + iSCSI drivers through poold's
# embedded target, the chain passed explicitly. One poold, a pool without
# locking, real lvm2 on a loop device.
#   - P1 into raw volume v; snapshot s1; P2 into v's top; linked clone c of
#     v@s1 reads P1; P3 into c: c reads P1+P3, v still P1+P2, s1's layer P1;
#     a second clone c2 reads P1; volume delete c works;
#   - snapshot delete s1 and volume delete v refused while c2 sits on s1
#     (naming it); bad input: missing snapshot, name taken, --linked
#     without --snapshot, --snapshot without --linked;
#   - poold killed (kill -9 at the hook) at each crash point, restarted:
#     no intent tag, no LV unaccounted for, the clone absent or whole.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
for tool in qemu-io qemu-img python3 sha256sum; do
    command -v "$tool" >/dev/null || { echo "# $tool missing: skipped"; exit 77; }
done
qemu-img --help 2>/dev/null | grep -q 'Supported formats:.* iscsi' ||
    { echo "# qemu-img has no iscsi driver: skipped"; exit 77; }

PORT=$(t_free_port)
t_loop PV1 pv1 512M || exit 1
t_write_config <<EOC
default_locking = "none"
iscsi_portal = "127.0.0.1:$PORT"
EOC
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
P=$T_POOL
IQN="iqn.2026-11.org.poold:$P"
MIB=$((1024 * 1024))
SIZE=$((8 * MIB))

jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# The json: filename of volume $1's chain over iSCSI: its top, then the
# snapshots of volume $2 (the layers' owner) it sits on.
chain_json() {
    local info snaps
    info=$(pctl --json volume info "$P" "$1") || return 1
    snaps=$(pctl --json snapshot list "$P" "$2") || return 1
    python3 - "$PORT" "$IQN" "$info" "$snaps" <<'EOF'
import json, sys
port, iqn, info, snaps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
by_name = {s["name"]: s for s in snaps}
def dev(lun):
    return {"driver": "iscsi", "transport": "tcp", "portal": "127.0.0.1:" + port,
            "target": iqn, "lun": lun}
def node(fmt, lun, parent):
    if fmt == "raw":
        return {"driver": "raw", "file": dev(lun)}
    n = {"driver": "qcow2", "file": dev(lun)}
    n["backing"] = node(by_name[parent]["format"], by_name[parent]["lun"],
                        by_name[parent]["parent"]) if parent else None
    return n
print("json:" + json.dumps(node(info["format"], info["lun"], info.get("parent_snapshot"))))
EOF
}
vol_sum() { # VOLUME OWNER
    local j
    j=$(chain_json "$1" "$2") || return 1
    rm -f "$T_DIR/read.raw"
    qemu-img convert -O raw "$j" "$T_DIR/read.raw" 2>"$T_DIR/convert.err" || {
        cat "$T_DIR/convert.err" >&2; return 1; }
    sha256sum < "$T_DIR/read.raw" | cut -d' ' -f1
}
pattern_sum() {
    python3 - "$SIZE" "$@" <<'EOF'
import hashlib, sys
b = bytearray(int(sys.argv[1]))
a = sys.argv[2:]
for i in range(0, len(a), 3):
    v, off, ln = int(a[i], 16), int(a[i + 1]), int(a[i + 2])
    b[off:off + ln] = bytes([v]) * ln
print(hashlib.sha256(b).hexdigest())
EOF
}
vol_write() { # VOLUME OWNER BYTE OFF LEN
    local j
    j=$(chain_json "$1" "$2") || return 1
    qemu-io -c "write -P $3 $4 $5" "$j" >"$T_DIR/qio.out" 2>&1 || { cat "$T_DIR/qio.out" >&2; return 1; }
}
check_sum() { # WHAT VOLUME OWNER EXPECTED
    local got
    got=$(vol_sum "$2" "$3")
    if [ "$got" = "$4" ]; then t_ok; else t_fail "$1: read $got, expected $4"; fi
}
check_accounted() { # WHAT
    local lvs want optags
    optags=$(t_lvm lvs --noheadings -o lv_name,lv_tags "$P" 2>/dev/null | grep pd_op)
    [ -z "$optags" ] || { t_fail "$1: operation tags left: $optags"; return; }
    lvs=$(t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | tr -d ' ' | sort)
    want=$( (echo ids; echo leases
        for v in $(pctl --json volume list "$P" | python3 -c 'import json,sys; [print(v["name"]) for v in json.load(sys.stdin)]'); do
            echo "$v"
            pctl --json snapshot list "$P" "$v" | python3 -c 'import json,sys; [print(s["lv"]) for s in json.load(sys.stdin)]'
        done) | sort)
    [ "$lvs" = "$want" ] && t_ok || t_fail "$1: LVs $(echo $lvs) vs accounted $(echo $want)"
}

P1=(11 0 $SIZE)
P2=(22 0 $((4 * MIB)))
P3=(33 $((2 * MIB)) $((4 * MIB)))
SUM1=$(pattern_sum "${P1[@]}")
SUM12=$(pattern_sum "${P1[@]}" "${P2[@]}")
SUM13=$(pattern_sum "${P1[@]}" "${P3[@]}")

t_assert "pool create" pctl pool create "$P" "$PV1" --locking none --host-ids 4 --lease-slots 16 >/dev/null
t_assert "volume create v 8M" pctl volume create "$P" v 8M >/dev/null
LUN=$(pctl --json volume info "$P" v | jfield "['lun']")
t_assert "write P1 (raw, through iSCSI)" qemu-io -f raw -c "write -P 0x${P1[0]} ${P1[1]} ${P1[2]}" \
    "iscsi://127.0.0.1:$PORT/$IQN/$LUN" >/dev/null
t_assert "snapshot create s1" pctl snapshot create "$P" v s1 >/dev/null
t_assert "write P2 into v's top" vol_write v v "0x${P2[0]}" "${P2[1]}" "${P2[2]}"
check_sum "v reads P1+P2" v v "$SUM12"

t_log "linked clone c of v@s1"
t_assert "volume clone --linked --snapshot s1 v c" \
    pctl volume clone --linked --snapshot s1 "$P" v c >/dev/null
INFO=$(pctl --json volume info "$P" c)
t_assert "c is qcow2" [ "$(jfield "['format']" <<< "$INFO")" = qcow2 ]
t_assert "c's capacity is s1's virtual size" [ "$(jfield "['capacity']" <<< "$INFO")" = "$SIZE" ]
t_assert "c sits on s1" [ "$(jfield "['parent_snapshot']" <<< "$INFO")" = s1 ]
CLUN=$(jfield "['lun']" <<< "$INFO")
t_assert "c has its own LUN ($CLUN, v's $LUN)" [ "$CLUN" != "$LUN" ]
t_assert "c has its own uuid" [ "$(jfield "['uuid']" <<< "$INFO")" != "$(pctl --json volume info "$P" v | jfield "['uuid']")" ]
t_assert "c's LUN is served" bash -c 'qemu-io -f raw -r -c "read 0 512" "$1" >/dev/null 2>&1' \
    _ "iscsi://127.0.0.1:$PORT/$IQN/$CLUN"
check_sum "c reads P1" c v "$SUM1"
t_assert "write P3 into c" vol_write c v "0x${P3[0]}" "${P3[1]}" "${P3[2]}"
check_sum "c reads P1+P3" c v "$SUM13"
check_sum "v still reads P1+P2" v v "$SUM12"
L1=$(pctl --json snapshot list "$P" v | jfield "[0]['lun']")
t_assert "s1's layer (LUN $L1) still holds P1" bash -c '[ "$(qemu-io -f raw -r -c "read -P 0x11 0 8M" "$1" 2>&1 | grep -c "Pattern verification failed")" = 0 ]' \
    _ "iscsi://127.0.0.1:$PORT/$IQN/$L1"
t_assert "a second linked clone c2 of s1" pctl volume clone --linked --snapshot s1 "$P" v c2 >/dev/null
check_sum "c2 reads P1" c2 v "$SUM1"
t_assert "volume delete c" pctl volume delete "$P" c >/dev/null
check_accounted "after volume delete c"
check_sum "c2 still reads P1 after c's delete" c2 v "$SUM1"

t_log "refusals"
t_expect_fail any "c2" pctl snapshot delete "$P" v s1
t_expect_fail any "c2" pctl volume delete "$P" v
t_expect_fail 3 "has no snapshot named 'nos'" pctl volume clone --linked --snapshot nos "$P" v c3
t_expect_fail 3 "no volume named 'nov'" pctl volume clone --linked --snapshot s1 "$P" nov c3
t_expect_fail 4 "'c2' already exists" pctl volume clone --linked --snapshot s1 "$P" v c2
t_expect_fail 4 "'v' already exists" pctl volume clone --linked --snapshot s1 "$P" v v
t_expect_fail 2 "a linked clone needs --snapshot \(templates are not built yet\)" \
    pctl volume clone --linked "$P" v c3
t_expect_fail 7 "a full clone of a snapshot is not built yet" pctl volume clone --snapshot s1 "$P" v c3
t_expect_fail 2 "reserved" pctl volume clone --linked --snapshot s1 "$P" v pdl-x
check_accounted "after the refusals"
check_sum "refusals changed nothing: v" v v "$SUM12"
check_sum "refusals changed nothing: c2" c2 v "$SUM1"

# ---- crash points ------------------------------------------------------
crash_at() {
    local point=$1; shift
    t_stop_poold || t_fail "stop before $point"
    export POOLD_TEST_CRASH_AT=$point
    t_start_poold || { t_fail "start with hook $point"; unset POOLD_TEST_CRASH_AT; return 1; }
    unset POOLD_TEST_CRASH_AT
    local pid=$T_POOLD_PID
    "$@" >/dev/null 2>&1 && t_fail "$point: the operation reported success although poold was killed"
    t_wait_gone "$pid" 10 || { t_fail "$point: poold did not die at the hook"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null
    T_POOLD_PID=""
    grep -q "killing myself at $point" "$T_DIR/poold.log" || t_fail "$point: hook did not fire"
    t_start_poold || { t_fail "restart after $point"; return 1; }
    t_wait_port "$PORT" 10 || t_fail "portal after $point"
}
n=0
for point in after-lvcreate after-format after-commit; do
    n=$((n + 1))
    crash_at "vol-clone-linked:$point" pctl volume clone --linked --snapshot s1 "$P" v "k$n"
    check_accounted "vol-clone-linked:$point"
    if pctl volume info "$P" "k$n" >/dev/null 2>&1; then
        t_log "vol-clone-linked:$point kept"
        t_assert "vol-clone-linked:$point: kept only after the commit" [ "$point" = after-commit ]
        check_sum "vol-clone-linked:$point: the kept clone reads P1" "k$n" v "$SUM1"
    else
        t_log "vol-clone-linked:$point rolled back"
        t_assert "vol-clone-linked:$point: rolled back only before the commit" [ "$point" != after-commit ]
        t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | tr -d ' ' | grep -qx "k$n" &&
            t_fail "vol-clone-linked:$point: LV k$n left" || t_ok
    fi
    check_sum "vol-clone-linked:$point: v still reads P1+P2" v v "$SUM12"
done
t_finish
