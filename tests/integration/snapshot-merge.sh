#!/bin/bash
# snapshot-merge.sh: snapshot delete with merging (issue 11): a layer with
# children is merged into each of them (safe qemu-img rebase through
# poold's private NBD exports, the child's LV grown first, pd_parent moved
# to the layer's parent), then wiped and removed. One poold, a pool
# without locking, real lvm2 on a loop device, QEMU reading every view
# over the embedded target's LUNs.
#   - P1 -> s1 -> P2 -> s2 -> P3; delete s1 (a middle layer): the volume
#     and s2 read what they read before; s2 stands on nothing now;
#   - a layer with two children (after a revert): both keep their views;
#   - a chain of DEPTH snapshots (one 1 MiB pattern each, so every view
#     differs) deleted in random order, every remaining view checked
#     after each delete (DEPTH: $SNAPSHOT_MERGE_DEPTH, default 12, about
#     80 s of the test's ~3 minutes; 50, the issue's, reads every view
#     after each step, some 1300 chain reads: several minutes, run it by
#     hand with SNAPSHOT_MERGE_DEPTH=50);
#   - a merge is a job: progress up to its total, cancel (poold slowed
#     before each rebase: POOLD_TEST_SLOW_AT) keeps every view and the
#     layer tagged, the next start finishes it;
#   - kill -9 at every crash point of the merge, restart: poold finishes
#     the merge at start, every view intact, no intent tag left.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
for tool in qemu-io qemu-img qemu-nbd python3 sha256sum; do
    command -v "$tool" >/dev/null || { echo "# $tool missing: skipped"; exit 77; }
done
qemu-img --help 2>/dev/null | grep -q 'Supported formats:.* iscsi' ||
    { echo "# qemu-img has no iscsi driver: skipped"; exit 77; }

PORT=$(t_free_port)
t_loop PV1 pv1 1G || exit 1
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

# every view: the volume's and each snapshot's, "name sha" lines, sorted
views() { { echo "v $(vol_sum v)"; layer_sums; } | sort; }

P1=(11 0 $SIZE)
P2=(22 0 $((4 * MIB)))
P3=(33 $((2 * MIB)) $((2 * MIB)))
SUM1=$(pattern_sum "${P1[@]}")
SUM2=$(pattern_sum "${P1[@]}" "${P2[@]}")
SUM3=$(pattern_sum "${P1[@]}" "${P2[@]}" "${P3[@]}")

t_assert "pool create" pctl pool create "$P" "$PV1" --locking none --host-ids 4 --lease-slots 16 >/dev/null
t_assert "volume create v 8M" pctl volume create "$P" v 8M >/dev/null
LUN=$(lun_of v)

t_log "acceptance: P1 -> s1 -> P2 -> s2 -> P3, delete s1 (the middle layer)"
t_assert "write P1" qemu-io -f raw -c "write -P 0x${P1[0]} ${P1[1]} ${P1[2]}" \
    "iscsi://127.0.0.1:$PORT/$IQN/$LUN" >/dev/null
t_assert "snapshot s1" pctl snapshot create "$P" v s1 >/dev/null
t_assert "write P2" vol_write v "0x${P2[0]}" "${P2[1]}" "${P2[2]}"
t_assert "snapshot s2" pctl snapshot create "$P" v s2 >/dev/null
t_assert "write P3" vol_write v "0x${P3[0]}" "${P3[1]}" "${P3[2]}"
check_sum "v reads P1+P2+P3" v "$SUM3"
t_assert "s2 reads P1+P2" [ "$(layer_sum s2)" = "$SUM2" ]
t_assert "snapshot delete s1 (merged into s2)" pctl snapshot delete "$P" v s1
check_sum "after the merge v reads P1+P2+P3" v "$SUM3"
t_assert "after the merge s2 reads P1+P2" [ "$(layer_sum s2)" = "$SUM2" ]
t_assert "one snapshot, s2, without parent" [ "$(pctl --json snapshot list "$P" v | python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s), s[0]["name"], s[0].get("parent"))')" = "1 s2 None" ]
check_accounted "after delete s1"
t_assert "snapshot delete s2 (merged into the top, onto nothing)" pctl snapshot delete "$P" v s2
check_sum "v alone reads P1+P2+P3" v "$SUM3"
check_accounted "after delete s2"

t_log "a layer with two children (after a revert)"
t_assert "snapshot r1" pctl snapshot create "$P" v r1 >/dev/null
t_assert "write 0x44" vol_write v 0x44 $((6 * MIB)) $MIB
t_assert "snapshot r2" pctl snapshot create "$P" v r2 >/dev/null
t_assert "revert r1" pctl snapshot revert "$P" v r1 >/dev/null
t_assert "write 0x55" vol_write v 0x55 0 $MIB
t_assert "snapshot r3 (second child of r1)" pctl snapshot create "$P" v r3 >/dev/null
t_assert "write 0x66" vol_write v 0x66 $MIB $MIB
BEFORE=$(views | grep -v '^r1 ')
t_assert "snapshot delete r1 (two children)" pctl snapshot delete "$P" v r1
AFTER=$(views)
[ "$AFTER" = "$BEFORE" ] && t_ok || t_fail "views changed by the merge: $(echo $AFTER) vs $(echo $BEFORE)"
check_accounted "after delete r1"

t_log "a merge is a job: progress, cancel (poold slowed before each child's rebase)"
t_assert "snapshot j1" pctl snapshot create "$P" v j1 >/dev/null
t_assert "write 0x88" vol_write v 0x88 $((5 * MIB)) $MIB
t_assert "snapshot j2" pctl snapshot create "$P" v j2 >/dev/null
t_assert "write 0x99" vol_write v 0x99 $((7 * MIB)) $MIB
BEFORE=$(views | grep -v '^j1 ')
t_stop_poold || t_fail "stop before the slow start"
export POOLD_TEST_SLOW_AT=snap-delete:child:5000
t_start_poold || t_fail "start slowed"
unset POOLD_TEST_SLOW_AT
t_wait_port "$PORT" 10 || t_fail "portal after the slow start"
pctl snapshot delete "$P" v j1 >"$T_DIR/cancelled.out" 2>&1 &
BG=$!
running_merge() {
    pctl --json job list --pool "$P" | python3 -c 'import json,sys
j=[x for x in json.load(sys.stdin) if x["kind"] == "merge" and x["state"] == "running"]
print(j[0]["id"]) if j else sys.exit(1)'
}
if t_poll 20 running_merge; then
    JOB=$(running_merge)
    t_assert "job cancel $JOB" pctl job cancel "$JOB" >/dev/null
else
    t_fail "no running merge job seen"
fi
wait "$BG" && t_fail "the cancelled delete reported success" || t_ok
t_assert "the delete says it was cancelled" grep -q "cancelled" "$T_DIR/cancelled.out"
t_assert "j1 is kept, marked merge" [ "$(pctl --json snapshot info "$P" v j1 | jfield "[0]['state']")" = merge ]
AFTER=$(views | grep -v '^j1 ')
[ "$AFTER" = "$BEFORE" ] && t_ok || t_fail "views changed by the cancelled merge: $(echo $AFTER)"
t_stop_poold || t_fail "stop after the cancel"
t_start_poold || t_fail "start after the cancel"
t_wait_port "$PORT" 10 || t_fail "portal after the cancel"
if pctl snapshot info "$P" v j1 >/dev/null 2>&1; then
    t_fail "the cancelled merge was not finished at start"
else
    t_ok
fi
AFTER=$(views)
[ "$AFTER" = "$BEFORE" ] && t_ok || t_fail "views changed by the finished merge: $(echo $AFTER)"
pctl --json snapshot delete "$P" v j2 >"$T_DIR/progress.json" || t_fail "delete j2: $(cat "$T_DIR/progress.json")"
t_assert "the merge job ended done with its progress at its total" python3 -c '
import json, sys
last = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
sys.exit(0 if last["kind"] == "merge" and last["state"] == "done" and last["total"] > 0 and last["done"] == last["total"] else 1)' "$T_DIR/progress.json"
AFTER=$(views)
[ "$AFTER" = "$(grep -v '^j2 ' <<< "$BEFORE")" ] && t_ok || t_fail "views changed by the merge of j2"
check_accounted "after the job part"

t_log "crash points of the merge (kill -9, restart: poold finishes it)"
for point in after-intent mid-rebase after-retag after-children after-wipe; do
    t_assert "snapshot k-$point" pctl snapshot create "$P" v "k-$point" >/dev/null
    t_assert "write" vol_write v 0x77 $((3 * MIB)) 4096
    BEFORE=$(views | grep -v "^k-$point ")
    crash_at "snap-delete:$point" pctl snapshot delete "$P" v "k-$point"
    if pctl snapshot info "$P" v "k-$point" >/dev/null 2>&1; then
        t_fail "snap-delete:$point: the snapshot is still there after the restart"
    else
        t_ok
    fi
    AFTER=$(views)
    [ "$AFTER" = "$BEFORE" ] && t_ok || t_fail "snap-delete:$point: views changed: $(echo $AFTER) vs $(echo $BEFORE)"
    check_accounted "snap-delete:$point"
done
t_assert "delete r2" pctl snapshot delete "$P" v r2
t_assert "delete r3" pctl snapshot delete "$P" v r3

DEPTH=${SNAPSHOT_MERGE_DEPTH:-12}
t_log "a chain of $DEPTH snapshots deleted in random order"
T0=$SECONDS
for i in $(seq 1 "$DEPTH"); do
    off=$(( (i % 8) * MIB ))
    qemu-io -c "write -P $((i % 200 + 1)) $off $MIB" "$(chain_json v)" >/dev/null 2>&1 || t_fail "write $i"
    pctl snapshot create "$P" v "d$i" >/dev/null || t_fail "snapshot d$i"
done
t_log "chain built in $((SECONDS - T0)) s"
ALL=$(views)
for i in $(seq 1 "$DEPTH" | shuf --random-source=<(yes 11)); do
    pctl snapshot delete "$P" v "d$i" >/dev/null || { t_fail "delete d$i: $(pctl snapshot delete "$P" v "d$i" 2>&1)"; break; }
    ALL=$(grep -v "^d$i " <<< "$ALL")
    now=$(views)
    [ "$now" = "$ALL" ] && t_ok || { t_fail "after delete d$i views changed: $(diff <(echo "$ALL") <(echo "$now") | tr '\n' ' ')"; break; }
done
t_log "chain of $DEPTH deleted in $((SECONDS - T0)) s"
check_accounted "after the chain"
t_finish
