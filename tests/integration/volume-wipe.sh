#!/bin/bash
# volume-wipe.sh: a deleted volume's data never reaches the next volume
# given its extents (issue 10, item 1; docs/design.md section 7, "Freed
# extents"). A pattern is written straight to the PV ranges of volume A's
# segment map; A is deleted and B of the same size created at once on the
# same extents: B must read zeroes everywhere. A shrink zeroes the tail it
# frees: the next volume there reads zeroes too. Then poold is killed in
# the middle of a wipe (crash point vol-delete:mid-wipe): the restart must
# finish the delete, and the freed extents must read zero.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"

t_loop PV1 pv1 512M || exit 1
t_start_poold || exit 1

vol_json() { pctl --json volume info "$T_POOL" "$1"; }
vol_gone() { ! pctl volume info "$T_POOL" "$1" >/dev/null 2>&1; }
vol_delete_fails() { ! pctl volume delete "$T_POOL" "$1" >/dev/null 2>&1; }
lv_gone() { ! t_lvm lvs "$T_POOL/$1" >/dev/null 2>&1; }

# write_pattern JSON: "poold-wipe-test" blocks at the start of every MiB of
# the volume's PV ranges (and at its last 4 KiB), through the PV device.
write_pattern() {
    python3 - "$1" <<'PY'
import json, os, sys
v = json.loads(sys.argv[1])
blk = (b"poold-wipe-test " * 256)[:4096]
for s in v["segments"]:
    fd = os.open(s["pv"], os.O_RDWR)
    for off in list(range(0, s["length"], 1 << 20)) + [s["length"] - 4096]:
        os.pwrite(fd, blk, s["pv_offset"] + off)
    os.fsync(fd)
    os.close(fd)
PY
}

# nonzero JSON: prints how many MiB of the segments' PV ranges hold a
# nonzero byte (O_DIRECT reads: what the target would serve).
nonzero() {
    python3 - "$1" <<'PY'
import json, mmap, os, sys
segs = json.loads(sys.argv[1])
buf = mmap.mmap(-1, 1 << 20)
bad = 0
for s in segs:
    fd = os.open(s["pv"], os.O_RDONLY | os.O_DIRECT)
    for off in range(0, s["length"], 1 << 20):
        n = os.preadv(fd, [buf], s["pv_offset"] + off)
        if buf[:n].count(0) != n:
            bad += 1
    os.close(fd)
print(bad)
PY
}
segs_of() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["segments"]))'; }
ranges() { python3 -c 'import json,sys; print(sorted((s["pv"], s["pv_offset"], s["length"]) for s in json.loads(sys.argv[1])))' "$1"; }

t_assert "pool create" pctl pool create --lease-slots 16 --host-ids 16 "$T_POOL" "$PV1"

# ---- a new volume reads zeroes where a deleted one wrote -----------------
t_assert "create A" pctl volume create "$T_POOL" a 160M
A=$(vol_json a) && write_pattern "$A" || t_fail "write A's pattern"
A_SEGS=$(echo "$A" | segs_of)
t_assert "A holds the pattern" [ "$(nonzero "$A_SEGS")" -gt 0 ]
t_assert "delete A" pctl volume delete "$T_POOL" a
t_assert "create B at once" pctl volume create "$T_POOL" b 160M
B_SEGS=$(vol_json b | segs_of)
t_assert "B got A's extents (A $(ranges "$A_SEGS"), B $(ranges "$B_SEGS"))" \
    [ "$(ranges "$A_SEGS")" = "$(ranges "$B_SEGS")" ]
n=$(nonzero "$B_SEGS")
t_assert "B reads zeroes everywhere ($n MiB of 160 hold A's data)" [ "$n" = 0 ]
t_assert "delete B" pctl volume delete "$T_POOL" b

# ---- a shrink zeroes the tail it frees ------------------------------------
t_assert "create D" pctl volume create "$T_POOL" d 160M
D=$(vol_json d) && write_pattern "$D" || t_fail "write D's pattern"
t_assert "shrink D to 32M" pctl volume resize "$T_POOL" d 32M --allow-shrink
D_SEGS=$(vol_json d | segs_of)
n=$(nonzero "$D_SEGS")
t_assert "D keeps its first 32 MiB ($n MiB hold the pattern)" [ "$n" = 32 ]
t_assert "create E on D's freed tail" pctl volume create "$T_POOL" e 128M
E_SEGS=$(vol_json e | segs_of)
n=$(nonzero "$E_SEGS")
t_assert "E reads zeroes everywhere ($n MiB of 128 hold D's data)" [ "$n" = 0 ]
t_assert "delete D" pctl volume delete "$T_POOL" d
t_assert "delete E" pctl volume delete "$T_POOL" e

# ---- killed in the middle of a wipe: the restart finishes it -------------
t_assert "create C" pctl volume create "$T_POOL" c 160M
C=$(vol_json c) && write_pattern "$C" || t_fail "write C's pattern"
C_SEGS=$(echo "$C" | segs_of)
t_stop_poold || t_fail "stop poold"
export POOLD_TEST_CRASH_AT=vol-delete:mid-wipe
t_start_poold || exit 1
unset POOLD_TEST_CRASH_AT
pid=$T_POOLD_PID
t_assert "delete C is cut short" vol_delete_fails c
t_wait_gone "$pid" 10 || { t_fail "poold did not die at the hook"; kill -KILL "$pid"; }
wait "$pid" 2>/dev/null
T_POOLD_PID=""
t_assert "the hook fired" grep -q "killing myself at vol-delete:mid-wipe" "$T_DIR/poold.log"
n=$(nonzero "$C_SEGS")
t_assert "the wipe was cut short ($n MiB still hold C's data)" [ "$n" -gt 0 ]
t_assert "C is still an LV after the crash" t_lvm lvs "$T_POOL/c"
t_start_poold || exit 1
t_assert "restart finished the delete" vol_gone c
t_assert "C's LV is gone" lv_gone c
n=$(nonzero "$C_SEGS")
t_assert "C's freed extents read zero after the restart ($n MiB not)" [ "$n" = 0 ]
t_assert "the repair wiped" grep -q "wiping its extents" "$T_DIR/poold.log"

t_finish
