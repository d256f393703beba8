#!/bin/bash
# snapshot-offline.sh: offline snapshots of a volume (issue 11): qcow2
# layers on real LVs, read and written by QEMU's own qcow2 + iSCSI drivers
# through poold's embedded target, the chain passed explicitly (the images
# name no backing file). One poold, a pool without locking, real lvm2 on a
# loop device.
#   - P1 written into the raw volume; snapshot s1; P2 written into the new
#     qcow2 top; s2; P3; every state read back whole (qemu-img convert of
#     the chain, sha256 against the pattern built here);
#   - the layers' LUNs are write-protected; volume info shows qcow2, the
#     virtual size as capacity, the LV as allocation, the parent snapshot;
#   - revert s1 reads P1, revert s2 reads P1+P2; the reverted tops' LVs
#     are gone, no LV is unaccounted for; the tree after the reverts;
#   - snapshot delete of a leaf; refusals with precise errors: duplicate
#     name, missing volume/snapshot, bad name, delete of a snapshot others
#     sit on (naming them), resize and delete of a volume with snapshots;
#   - poold killed (kill -9 at the hook) at every step of create and
#     revert, then restarted: no intent tag left, no LV unaccounted for,
#     the volume reads what it read before (rolled back) or the same data
#     over the new snapshot (rolled forward), every layer's data intact.
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
lun_of() { pctl --json volume info "$P" "$1" | jfield "['lun']"; }

# The json: filename of volume $1's whole chain over iSCSI: its top, then
# the snapshot it sits on, then that one's parent... (snapshot list).
chain_json() {
    local info snaps
    info=$(pctl --json volume info "$P" "$1") || return 1
    snaps=$(pctl --json snapshot list "$P" "$1") || return 1
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

# sha256 of the volume's guest-visible bytes, read through its chain.
vol_sum() {
    local j
    j=$(chain_json "$1") || return 1
    rm -f "$T_DIR/read.raw"
    qemu-img convert -O raw "$j" "$T_DIR/read.raw" 2>"$T_DIR/convert.err" || {
        cat "$T_DIR/convert.err" >&2; return 1; }
    sha256sum < "$T_DIR/read.raw" | cut -d' ' -f1
}
# sha256 of SIZE bytes: pattern fills "BYTE OFF LEN ..." over zeroes.
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
# qemu-io write of byte $2 at $3 for $4 bytes into volume $1's top.
vol_write() {
    local j
    j=$(chain_json "$1") || return 1
    qemu-io -c "write -P $2 $3 $4" "$j" >"$T_DIR/qio.out" 2>&1 || { cat "$T_DIR/qio.out" >&2; return 1; }
}
check_sum() { # WHAT VOLUME EXPECTED
    local got
    got=$(vol_sum "$2")
    if [ "$got" = "$3" ]; then t_ok; else t_fail "$1: read $got, expected $3"; fi
}
# no LV but ids, leases, the volumes and the layers of their snapshots
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
P3=(33 $((2 * MIB)) $((2 * MIB)))
SUM1=$(pattern_sum "${P1[@]}")
SUM2=$(pattern_sum "${P1[@]}" "${P2[@]}")
SUM3=$(pattern_sum "${P1[@]}" "${P2[@]}" "${P3[@]}")

t_assert "pool create" pctl pool create "$P" "$PV1" --locking none --host-ids 4 --lease-slots 16 >/dev/null
t_assert "volume create v 8M" pctl volume create "$P" v 8M >/dev/null
t_assert "volume create bystander 8M" pctl volume create "$P" by 8M >/dev/null
LUN=$(lun_of v)

t_log "P1 into the raw volume, snapshot s1"
t_assert "write P1 (raw, through iSCSI)" qemu-io -f raw -c "write -P 0x${P1[0]} ${P1[1]} ${P1[2]}" \
    "iscsi://127.0.0.1:$PORT/$IQN/$LUN" >/dev/null
check_sum "raw volume reads P1" v "$SUM1"
t_assert "snapshot create s1" pctl snapshot create "$P" v s1 >/dev/null
INFO=$(pctl --json volume info "$P" v)
t_assert "v is qcow2 now" [ "$(jfield "['format']" <<< "$INFO")" = qcow2 ]
t_assert "v keeps its LUN" [ "$(jfield "['lun']" <<< "$INFO")" = "$LUN" ]
t_assert "v's capacity is the guest size" [ "$(jfield "['capacity']" <<< "$INFO")" = "$SIZE" ]
t_assert "v's allocation is its LV (> capacity: fully allocated image)" \
    [ "$(jfield "['allocation']" <<< "$INFO")" -gt "$SIZE" ]
t_assert "v sits on s1" [ "$(jfield "['parent_snapshot']" <<< "$INFO")" = s1 ]
check_sum "after s1, v still reads P1" v "$SUM1"

t_log "P2 into the qcow2 top, s2, P3"
t_assert "write P2 into the qcow2 top" vol_write v "0x${P2[0]}" "${P2[1]}" "${P2[2]}"
check_sum "v reads P1+P2" v "$SUM2"
t_assert "snapshot create s2" pctl snapshot create "$P" v s2 >/dev/null
t_assert "write P3" vol_write v "0x${P3[0]}" "${P3[1]}" "${P3[2]}"
check_sum "v reads P1+P2+P3" v "$SUM3"
SNAPS=$(pctl --json snapshot list "$P" v)
L1=$(jfield "[0]['lun']" <<< "$SNAPS")
L2=$(jfield "[1]['lun']" <<< "$SNAPS")
t_assert "s1 is raw, the root" [ "$(jfield "[0]['format']" <<< "$SNAPS") $(jfield "[0]['depth']" <<< "$SNAPS")" = "raw 0" ]
t_assert "s2 is qcow2 on s1" [ "$(jfield "[1]['parent']" <<< "$SNAPS") $(jfield "[1]['current']" <<< "$SNAPS")" = "s1 True" ]
for l in "$L1" "$L2"; do
    t_assert "layer LUN $l refuses writes" bash -c '! qemu-io -f raw -c "write 0 512" "$1" >/dev/null 2>&1' \
        _ "iscsi://127.0.0.1:$PORT/$IQN/$l"
done
t_assert "layer LUN $L1 still holds P1" bash -c '[ "$(qemu-io -f raw -r -c "read -P 0x11 0 8M" "$1" 2>&1 | grep -c "Pattern verification failed")" = 0 ]' \
    _ "iscsi://127.0.0.1:$PORT/$IQN/$L1"
t_assert "snapshot list prints a tree" bash -c 'pctl() { "$1" --socket "$2" "${@:3}"; }; pctl "$@" | grep -q "└ s2 \*"' \
    _ "$POOLCTL_BIN" "$T_DIR/poold.sock" snapshot list "$P" v

t_log "refusals"
t_expect_fail 4 "already has a snapshot named 's1'" pctl snapshot create "$P" v s1
t_expect_fail 3 "no volume named 'nov'" pctl snapshot create "$P" nov s9
t_expect_fail 3 "has no snapshot named 'nos'" pctl snapshot revert "$P" v nos
t_expect_fail 3 "has no snapshot named 'nos'" pctl snapshot info "$P" v nos
t_expect_fail 2 "invalid" pctl snapshot create "$P" v 'bad/name'
t_expect_fail 2 "reserved" pctl snapshot create "$P" v pdl-x
t_expect_fail 2 "reserved" pctl volume create "$P" pdl-x 4M
t_expect_fail any "qcow2.*not built yet" pctl volume resize "$P" v 32M
check_sum "refusals changed nothing" v "$SUM3"
check_accounted "after the refusals"

t_log "revert"
t_assert "snapshot create s3" pctl snapshot create "$P" v s3 >/dev/null
t_assert "revert s1" pctl snapshot revert "$P" v s1 >/dev/null
check_sum "after revert s1, v reads P1" v "$SUM1"
t_assert "write into the reverted top" vol_write v 0x44 0 4096
t_assert "revert s2" pctl snapshot revert "$P" v s2 >/dev/null
check_sum "after revert s2, v reads P1+P2" v "$SUM2"
check_accounted "after the reverts"
t_assert "s3 (nothing on it now) deleted" pctl snapshot delete "$P" v s3 >/dev/null
check_accounted "after the delete"
check_sum "delete of s3 left v alone" v "$SUM2"
t_assert "bystander untouched" [ "$(pctl --json volume info "$P" by | jfield "['format']")" = raw ]

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
# every layer of v still holds what it held: "name sha256" per snapshot,
# each read through its own chain (its LUN, then its parents')
layer_sums() {
    local snaps
    snaps=$(pctl --json snapshot list "$P" v) || return 1
    python3 - "$PORT" "$IQN" "$snaps" <<'EOF2' |
import json, sys
port, iqn, snaps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
by = {s["name"]: s for s in snaps}
def node(s):
    dev = {"driver": "iscsi", "transport": "tcp", "portal": "127.0.0.1:" + port, "target": iqn, "lun": s["lun"]}
    if s["format"] == "raw":
        return {"driver": "raw", "file": dev}
    return {"driver": "qcow2", "file": dev, "backing": node(by[s["parent"]]) if s["parent"] else None}
for s in snaps:
    print(s["name"], "json:" + json.dumps(node(s)))
EOF2
    while read -r name j; do
        rm -f "$T_DIR/layer.raw"
        qemu-img convert -O raw "$j" "$T_DIR/layer.raw" 2>/dev/null || { echo "$name unreadable"; continue; }
        echo "$name $(sha256sum < "$T_DIR/layer.raw" | cut -d' ' -f1)"
    done
}
layer_sum() { layer_sums | awk -v n="$1" '$1 == n { print $2 }'; }

LAYERS=$(layer_sums)
t_log "layers before the crashes: $(echo $LAYERS)"
n=0
for point in before-lvcreate after-lvcreate after-format after-freeze after-rename-old \
    after-rename-new after-commit; do
    n=$((n + 1))
    crash_at "snap-create:$point" pctl snapshot create "$P" v "c$n"
    check_accounted "snap-create:$point"
    check_sum "snap-create:$point: v reads what it read" v "$SUM2"
    if pctl snapshot info "$P" v "c$n" >/dev/null 2>&1; then
        t_log "snap-create:$point rolled forward"
        [ "$(layer_sum "c$n")" = "$SUM2" ] && t_ok || t_fail "snap-create:$point: snapshot c$n does not hold v's data"
    else
        t_log "snap-create:$point rolled back"
    fi
    now=$(layer_sums | grep -v "^c$n ")
    [ "$now" = "$LAYERS" ] && t_ok || t_fail "snap-create:$point: layers changed: $(echo $now)"
    LAYERS=$(layer_sums)
done
t_assert "volume usable after the create crashes" vol_write v 0x55 0 4096
SUMV=$(vol_sum v)
for point in before-lvcreate after-lvcreate after-format after-doom after-rename-old \
    after-rename-new after-commit after-wipe; do
    crash_at "snap-revert:$point" pctl snapshot revert "$P" v s1
    check_accounted "snap-revert:$point"
    got=$(vol_sum v)
    if [ "$got" = "$SUMV" ]; then
        t_log "snap-revert:$point rolled back"
        t_ok
    elif [ "$got" = "$SUM1" ]; then
        t_log "snap-revert:$point rolled forward"
        t_ok
    else
        t_fail "snap-revert:$point: v reads neither its old data nor s1's"
    fi
    now=$(layer_sums)
    [ "$now" = "$LAYERS" ] && t_ok || t_fail "snap-revert:$point: layers changed: $(echo $now)"
    # back to a state with data of its own for the next point
    t_assert "write after snap-revert:$point" vol_write v 0x55 0 4096
    SUMV=$(vol_sum v)
done

t_log "volume delete takes the volume's snapshots, leaves first"
t_assert "volume create w 4M" pctl volume create "$P" w 4M >/dev/null
t_assert "snapshot w1" pctl snapshot create "$P" w w1 >/dev/null
t_assert "snapshot w2" pctl snapshot create "$P" w w2 >/dev/null
t_assert "volume delete w" pctl volume delete "$P" w >/dev/null
check_accounted "after volume delete w"
crash_at vol-delete:after-lvremove pctl volume delete "$P" v
check_accounted "vol-delete:after-lvremove with snapshots"
left=$(t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | tr -d ' ' | sort | tr '\n' ' ')
t_assert "only ids, leases and the bystander are left (got: $left)" [ "$left" = "by ids leases " ]
t_assert "snapshot of the bystander" pctl snapshot create "$P" by b1 >/dev/null
t_expect_fail 4 "still has" pctl pool destroy "$P"
t_assert "pool destroy --force with a snapshot layer in it" pctl pool destroy --force "$P" >/dev/null
t_finish
