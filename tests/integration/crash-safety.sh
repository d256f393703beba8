#!/bin/bash
# crash-safety.sh: kill -9 poold at every step of every multi-step
# operation (the POOLD_TEST_CRASH_AT hook SIGKILLs poold at a named step),
# restart it, and check what reconcile made of it:
#   - the outcome is the documented one (create undone, resize/delete
#     finished, a completed step kept);
#   - no LV is left unaccounted for (every LV is ids, leases or a listed
#     volume), no LV or VG still carries an operation tag;
#   - a volume that was not involved keeps its uuid, size and segments;
#   - poolctl agrees with lvs.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
HERE=$(dirname "$0")

t_loop PV1 pv1 1G && t_loop PV2 pv2 1G || exit 1
OPTS=(--lease-slots 100 --host-ids 100)
t_start_poold || exit 1

vol_json() { pctl --json volume info "$T_POOL" "$1" 2>/dev/null; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# Every invariant that must hold after any crash + restart.
check_consistent() {
    local what=$1
    local optags
    optags=$(t_lvm lvs --noheadings -o lv_name,lv_tags 2>/dev/null | grep pd_op)
    [ -z "$optags" ] || { t_fail "$what: operation tags left: $optags"; return; }
    optags=$(t_lvm vgs --noheadings -o vg_name,vg_tags 2>/dev/null | grep pd_op)
    [ -z "$optags" ] || { t_fail "$what: VG operation tag left: $optags"; return; }
    if pctl pool info "$T_POOL" >/dev/null 2>&1; then
        pctl --json volume list "$T_POOL" > "$T_DIR/vols.json"
        t_lvm lvs --reportformat json --units b --nosuffix \
            -o lv_name,lv_size,lv_tags,seg_start_pe,seg_pe_ranges "$T_POOL" > "$T_DIR/lvs.json"
        t_lvm pvs --reportformat json --units b --nosuffix -o pv_name,pe_start > "$T_DIR/pvs.json"
        python3 "$HERE/tools/lvs_agree.py" "$T_DIR/vols.json" "$T_DIR/lvs.json" "$T_DIR/pvs.json" 4194304 \
            >/dev/null || { t_fail "$what: poolctl and lvs disagree"; return; }
        # no unaccounted LV: all LVs are ids, leases or listed volumes
        local lvs listed
        lvs=$(t_lvm lvs --noheadings -o lv_name "$T_POOL" 2>/dev/null | tr -d ' ' | grep -v -x -e ids -e leases | sort)
        listed=$(python3 -c "import json; [print(v['name']) for v in json.load(open('$T_DIR/vols.json'))]" | sort)
        [ "$lvs" = "$listed" ] || { t_fail "$what: unaccounted LVs: $(comm -3 <(echo "$lvs") <(echo "$listed") | tr '\n' ' ')"; return; }
        # the bystander volume is untouched
        local now
        now=$(vol_json keeper | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["uuid"], v["capacity"], v["segments"])')
        [ "$now" = "$KEEPER" ] || { t_fail "$what: bystander volume changed: $now vs $KEEPER"; return; }
    fi
    t_ok
}

# Run "$@" with poold set to die at $1, then restart poold normally.
crash_at() {
    local point=$1; shift
    t_stop_poold || t_fail "stop before $point"
    export POOLD_TEST_CRASH_AT=$point
    t_start_poold || { t_fail "start with hook $point"; unset POOLD_TEST_CRASH_AT; return 1; }
    unset POOLD_TEST_CRASH_AT
    local pid=$T_POOLD_PID
    if "$@" >/dev/null 2>&1; then
        t_fail "$point: the operation reported success although poold was killed"
    fi
    if ! t_wait_gone "$pid" 10; then
        t_fail "$point: poold did not die at the hook"
        kill -KILL "$pid"
    fi
    wait "$pid" 2>/dev/null
    T_POOLD_PID=""
    grep -q "killing myself at $point" "$T_DIR/poold.log" || t_fail "$point: hook did not fire"
    t_start_poold || { t_fail "restart after $point"; return 1; }
}

exists() { pctl volume info "$T_POOL" "$1" >/dev/null 2>&1; }
cap() { vol_json "$1" | field capacity; }

# ---- volume operations --------------------------------------------------
t_assert "pool create" pctl pool create "${OPTS[@]}" "$T_POOL" "$PV1" "$PV2"
t_assert "bystander volume" pctl volume create "$T_POOL" keeper 12M
KEEPER=$(vol_json keeper | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["uuid"], v["capacity"], v["segments"])')

crash_at vol-create:before-lvcreate pctl volume create "$T_POOL" c1 8M
t_assert "create killed before lvcreate: no volume" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock volume info $T_POOL c1 >/dev/null 2>&1"
check_consistent vol-create:before-lvcreate

crash_at vol-create:after-lvcreate pctl volume create "$T_POOL" c2 8M
t_assert "create killed after lvcreate: rolled back" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock volume info $T_POOL c2 >/dev/null 2>&1"
t_assert "reconcile logged the rollback" grep -q "vol c2: create was interrupted" "$T_DIR/poold.log"
check_consistent vol-create:after-lvcreate

crash_at vol-create:after-commit pctl volume create "$T_POOL" c3 8M
t_assert "create killed after commit: volume kept" exists c3
check_consistent vol-create:after-commit

for point in vol-resize:after-intent vol-resize:after-lvresize vol-resize:after-commit; do
    pctl volume create "$T_POOL" "r-${point##*:}" 8M >/dev/null
    crash_at "$point" pctl volume resize "$T_POOL" "r-${point##*:}" 40M
    c=$(cap "r-${point##*:}")
    t_assert "$point: resize finished to 40 MiB (got $c)" [ "$c" = 41943040 ]
    check_consistent "$point"
done
# a resize across the PV boundary, killed after the intent
pctl volume create "$T_POOL" big 600M >/dev/null
crash_at vol-resize:after-intent pctl volume resize "$T_POOL" big 1000M
c=$(cap big)
t_assert "cross-PV resize finished (got $c)" [ "$c" = 1048576000 ]
check_consistent "cross-PV resize"

for point in vol-delete:after-intent vol-delete:mid-wipe vol-delete:after-wipe vol-delete:after-lvremove; do
    pctl volume create "$T_POOL" "d-${point##*:}" 136M >/dev/null
    crash_at "$point" pctl volume delete "$T_POOL" "d-${point##*:}"
    t_assert "$point: delete finished" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock volume info $T_POOL d-${point##*:} >/dev/null 2>&1"
    check_consistent "$point"
done

# ---- pool destroy -----------------------------------------------------------
for point in pool-destroy:after-intent pool-destroy:after-lvremove pool-destroy:after-vgremove; do
    pctl pool info "$T_POOL" >/dev/null 2>&1 || pctl pool create "${OPTS[@]}" "$T_POOL" "$PV1" "$PV2" >/dev/null
    pctl volume create "$T_POOL" keeper 12M >/dev/null 2>&1
    KEEPER=$(vol_json keeper | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["uuid"], v["capacity"], v["segments"])')
    crash_at "$point" pctl pool destroy --force "$T_POOL"
    t_assert "$point: pool gone" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock pool info $T_POOL >/dev/null 2>&1"
    left=$(t_lvm pvs --noheadings 2>/dev/null)
    t_assert "$point: devices released ($left)" [ -z "$left" ]
    check_consistent "$point"
done

# ---- pool create ------------------------------------------------------------
for point in pool-create:after-record pool-create:after-pvcreate pool-create:after-vgcreate \
             pool-create:after-special-lvs; do
    crash_at "$point" pctl pool create "${OPTS[@]}" "$T_POOL" "$PV1" "$PV2"
    t_assert "$point: create rolled back" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock pool info $T_POOL >/dev/null 2>&1"
    left=$(t_lvm pvs --noheadings 2>/dev/null)
    t_assert "$point: devices released ($left)" [ -z "$left" ]
    t_assert "$point: no pool record left" bash -c "! ls $T_DIR/state/pools/$T_POOL.* 2>/dev/null | grep -q ."
    check_consistent "$point"
done
crash_at pool-create:after-commit pctl pool create "${OPTS[@]}" "$T_POOL" "$PV1" "$PV2"
t_assert "pool-create:after-commit: pool kept" pctl pool info "$T_POOL"
t_assert "pool usable after the crash" pctl volume create "$T_POOL" after 4M
KEEPER=$(pctl volume create "$T_POOL" keeper 12M >/dev/null; vol_json keeper | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["uuid"], v["capacity"], v["segments"])')
check_consistent pool-create:after-commit
t_finish
