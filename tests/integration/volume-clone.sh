#!/bin/bash
# volume-clone.sh: volume clone runs as a job (issue 11; docs/design.md
# section 3, "Jobs", and section 6, "Volume clone"). One poold, a pool
# without locking on a loop device:
#   - a 1 GiB volume of random data (written through its PV ranges) is
#     cloned; both read back with the same sha256; poolctl printed progress
#     lines, and --json progress objects;
#   - during a 2 GiB clone, volume list and volume info of another volume
#     answer in < 1 s each; delete and resize of the source and of the
#     clone are refused naming the job; pool destroy too; job list shows it;
#   - job cancel: the job ends "cancelled", job wait exits non-zero with
#     its error, no LV of the clone (nor any pd_op:clone) remains, the
#     source is intact;
#   - bad input (no source, a name taken, a bad name, an unknown job) is
#     refused with a clear error and changes nothing;
#   - poold killed at each crash point of a clone: after the restart, the
#     clone is gone (before the commit; its extents read zero) or whole
#     (after it), and no LV is unaccounted for.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"

t_loop PV1 pv1 6G || exit 1
t_start_poold || exit 1

vol_json() { pctl --json volume info "$T_POOL" "$1"; }
vol_gone() { ! pctl volume info "$T_POOL" "$1" >/dev/null 2>&1; }
lv_gone() { ! t_lvm lvs "$T_POOL/$1" >/dev/null 2>&1; }
no_clone_tags() { ! t_lvm lvs --noheadings -o lv_tags "$T_POOL" | grep -q 'pd_op:clone'; }
segs_of() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["segments"]))'; }

# fill SEGS: random bytes over the segments' PV ranges (O_DIRECT, so the
# target and the clone's O_DIRECT reads see them): 8 MiB of random data,
# each copy stamped with its offset, so no two chunks are alike.
fill() {
    python3 - "$1" <<'PY'
import json, mmap, os, sys
buf = mmap.mmap(-1, 8 << 20)
buf[:] = os.urandom(8 << 20)
pos = 0
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDWR | os.O_DIRECT)
    for off in range(0, s["length"], 8 << 20):
        n = min(8 << 20, s["length"] - off)
        for k in range(0, n, 4096):
            buf[k:k + 8] = (pos + k).to_bytes(8, "little")
        pos += n
        os.pwritev(fd, [memoryview(buf)[:n]], s["pv_offset"] + off)
    os.fsync(fd)
    os.close(fd)
PY
}
# sha SEGS: sha256 of the bytes along the segment map (O_DIRECT reads).
sha() {
    python3 - "$1" <<'PY'
import hashlib, json, mmap, os, sys
h = hashlib.sha256()
buf = mmap.mmap(-1, 8 << 20)
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDONLY | os.O_DIRECT)
    for off in range(0, s["length"], 8 << 20):
        n = os.preadv(fd, [buf], s["pv_offset"] + off)
        h.update(buf[:min(n, s["length"] - off)])
    os.close(fd)
print(h.hexdigest())
PY
}
# nonzero SEGS: how many MiB of the ranges hold a nonzero byte.
nonzero() {
    python3 - "$1" <<'PY'
import json, mmap, os, sys
buf = mmap.mmap(-1, 1 << 20)
bad = 0
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDONLY | os.O_DIRECT)
    for off in range(0, s["length"], 1 << 20):
        n = os.preadv(fd, [buf], s["pv_offset"] + off)
        if buf[:n].count(0) != n:
            bad += 1
    os.close(fd)
print(bad)
PY
}
job_field() { # job_field ID FIELD
    pctl --json job info "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
job_running() { [ "$(job_field "$1" state)" = running ]; }
job_progressed() { [ "$(job_field "$1" done)" -gt 0 ]; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

t_assert "pool create" pctl pool create --lease-slots 16 --host-ids 16 "$T_POOL" "$PV1"

# ---- a full copy: same bytes, progress shown -------------------------------
t_log "$(date +%T) full copy"
t_assert "create a (1G)" pctl volume create "$T_POOL" a 1G
A_SEGS=$(vol_json a | segs_of)
fill "$A_SEGS" || t_fail "fill a with random data"
A_SHA=$(sha "$A_SEGS")
out=$(pctl volume clone "$T_POOL" a a2 2>&1)
rc=$?
t_assert "clone a -> a2 succeeds ($out)" [ "$rc" = 0 ]
t_assert "progress lines were printed ($out)" grep -q "^clone a -> a2: [0-9]*%" <<< "$out"
t_assert "the end was reported ($out)" grep -q "^Job [0-9]* done: clone a -> a2" <<< "$out"
A2=$(vol_json a2)
t_assert "a2 is ready" grep -q '"state": "ready"' <<< "$A2"
A2_SEGS=$(segs_of <<< "$A2")
t_assert "a2 has the same bytes as a" [ "$(sha "$A2_SEGS")" = "$A_SHA" ]
t_assert "no pd_op:clone left" no_clone_tags
t_assert "delete a2" pctl volume delete "$T_POOL" a2

t_assert "create c (64M)" pctl volume create "$T_POOL" c 64M
C_SEGS=$(vol_json c | segs_of)
fill "$C_SEGS" || t_fail "fill c"
C_SHA=$(sha "$C_SEGS")
json=$(pctl --json volume clone "$T_POOL" c c3)
t_assert "clone --json: one object a line, the last one done ($json)" python3 -c '
import json, sys
objs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert objs and all(o["kind"] == "clone" and o["volume"] == "c3" for o in objs), objs
assert objs[-1]["state"] == "done" and objs[-1]["done"] == objs[-1]["total"] == 64 << 20, objs[-1]
' "$json"
t_assert "c3 has the same bytes as c" [ "$(sha "$(vol_json c3 | segs_of)")" = "$C_SHA" ]
t_assert "delete c3" pctl volume delete "$T_POOL" c3

# ---- bad input: refused, nothing changed -------------------------------------
t_log "$(date +%T) bad input"
before=$(t_lvm lvs --noheadings -o lv_name "$T_POOL" | sort)
t_expect_fail any "no volume named 'nosuch'" pctl volume clone "$T_POOL" nosuch x
t_expect_fail any "already exists" pctl volume clone "$T_POOL" a c
t_expect_fail any "name" pctl volume clone "$T_POOL" a 'bad/name'
t_expect_fail any "no job 9999" pctl job info 9999
t_expect_fail any "no job 9999" pctl job wait 9999
t_expect_fail any "no job 9999" pctl job cancel 9999
t_assert "bad input changed no LV" [ "$(t_lvm lvs --noheadings -o lv_name "$T_POOL" | sort)" = "$before" ]

# ---- a 2 GiB clone: others are answered, the volumes are busy, cancel --------
t_log "$(date +%T) 2 GiB clone"
# 20 ms per 4 MiB chunk: at least 10 s per 2 GiB copy however fast the
# machine, so the checks and the cancel below always land while it runs
t_stop_poold || t_fail "stop poold"
export POOLD_TEST_SLOW_AT=vol-clone:chunk:20
t_start_poold || exit 1
unset POOLD_TEST_SLOW_AT
t_assert "create b (2G)" pctl volume create "$T_POOL" b 2G
B_SEGS=$(vol_json b | segs_of)
fill "$B_SEGS" || t_fail "fill b with random data"
B_SHA=$(sha "$B_SEGS")
out=$(pctl volume clone --no-wait "$T_POOL" b b2)
id=$(sed -n 's/^Job \([0-9]*\) started: clone b -> b2.*/\1/p' <<< "$out")
t_assert "clone --no-wait prints the job id ($out)" [ -n "$id" ]
t_assert "the job makes progress" t_poll 30 job_progressed "$id"
if job_running "$id"; then
    t0=$(date +%s%N)
    pctl volume list "$T_POOL" >/dev/null
    ms=$(ms_since "$t0")
    t_assert "volume list answers during the clone (${ms} ms)" [ "$ms" -lt 1000 ]
    t0=$(date +%s%N)
    pctl volume info "$T_POOL" a >/dev/null
    ms=$(ms_since "$t0")
    t_assert "volume info of another volume answers during the clone (${ms} ms)" [ "$ms" -lt 1000 ]
    t_expect_fail any "volume b is busy: job $id \(clone\)" pctl volume delete "$T_POOL" b
    t_expect_fail any "volume b2 is busy: job $id \(clone\)" pctl volume delete "$T_POOL" b2
    t_expect_fail any "volume b is busy: job $id \(clone\)" pctl volume resize "$T_POOL" b 3G
    t_expect_fail any "pool $T_POOL is busy: job $id" pctl pool destroy --force "$T_POOL"
    t_assert "job list shows the job" grep -q "^$id  *clone  *$T_POOL  *b2  *running" \
        <<< "$(pctl job list)"
    t_assert "still running after the checks" job_running "$id"
else
    t_fail "the 2 GiB clone ended before the checks could run"
fi
t_assert "wait for the 2G clone" pctl job wait "$id"
t_assert "b2 has the same bytes as b" [ "$(sha "$(vol_json b2 | segs_of)")" = "$B_SHA" ]
t_assert "delete b2" pctl volume delete "$T_POOL" b2

out=$(pctl volume clone --no-wait "$T_POOL" b b3)
id=$(sed -n 's/^Job \([0-9]*\) started.*/\1/p' <<< "$out")
t_assert "a second clone starts ($out)" [ -n "$id" ]
t_assert "it makes progress" t_poll 30 job_progressed "$id"
B3_SEGS=$(vol_json b3 | segs_of)
t_assert "cancel" pctl job cancel "$id"
t_expect_fail any "job $id \(clone b -> b3\) cancelled" pctl job wait "$id"
t_assert "the job is cancelled" [ "$(job_field "$id" state)" = cancelled ]
t_assert "no volume b3 after the cancel" vol_gone b3
t_assert "no LV b3 after the cancel" lv_gone b3
t_assert "no pd_op:clone after the cancel" no_clone_tags
n=$(nonzero "$B3_SEGS")
t_assert "the cancelled clone's extents were zeroed ($n MiB not)" [ "$n" = 0 ]
t_assert "b is intact" [ "$(sha "$B_SEGS")" = "$B_SHA" ]
t_assert "delete b" pctl volume delete "$T_POOL" b

# ---- crash points: rolled back before the commit, whole after it -------------
t_log "$(date +%T) crash points"
for point in vol-clone:after-lvcreate vol-clone:mid-copy vol-clone:after-copy vol-clone:after-commit; do
    t_stop_poold || t_fail "stop poold before $point"
    export POOLD_TEST_CRASH_AT=$point
    t_start_poold || exit 1
    unset POOLD_TEST_CRASH_AT
    pid=$T_POOLD_PID
    t_assert "clone is cut short at $point" bash -c "! $POOLCTL_BIN --socket $T_DIR/poold.sock volume clone $T_POOL c c2 >/dev/null 2>&1"
    t_wait_gone "$pid" 20 || { t_fail "poold did not die at $point"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null
    T_POOLD_PID=""
    t_assert "the hook $point fired" grep -q "killing myself at $point" "$T_DIR/poold.log"
    t_assert "c2 is an LV after the crash at $point" t_lvm lvs "$T_POOL/c2"
    C2_LVSEGS=$(t_lvm lvs --noheadings -o seg_pe_ranges "$T_POOL/c2" | tr -d ' ')
    t_start_poold || exit 1
    if [ "$point" = vol-clone:after-commit ]; then
        t_assert "after $point: c2 is kept" pctl volume info "$T_POOL" c2
        t_assert "after $point: c2 has c's bytes" [ "$(sha "$(vol_json c2 | segs_of)")" = "$C_SHA" ]
        t_assert "delete c2" pctl volume delete "$T_POOL" c2
    else
        t_assert "after $point: the restart removed c2" lv_gone c2
        t_assert "after $point: the repair wiped it" grep -q "clone was interrupted; wiping" "$T_DIR/poold.log"
        # the next volume on the same extents reads zeroes
        t_assert "create z after $point" pctl volume create "$T_POOL" z 64M
        Z_LVSEGS=$(t_lvm lvs --noheadings -o seg_pe_ranges "$T_POOL/z" | tr -d ' ')
        t_assert "z got c2's extents ($C2_LVSEGS / $Z_LVSEGS)" [ "$C2_LVSEGS" = "$Z_LVSEGS" ]
        n=$(nonzero "$(vol_json z | segs_of)")
        t_assert "after $point: c2's extents read zero ($n MiB not)" [ "$n" = 0 ]
        t_assert "delete z" pctl volume delete "$T_POOL" z
    fi
    t_assert "after $point: no pd_op:clone" no_clone_tags
    t_assert "after $point: c is intact" [ "$(sha "$C_SEGS")" = "$C_SHA" ]
    lvs=$(t_lvm lvs --noheadings -o lv_name "$T_POOL" | tr -d ' ' | sort | tr '\n' ' ')
    t_assert "after $point: only known LVs ($lvs)" [ "$lvs" = "a c ids leases " ]
done

t_finish
