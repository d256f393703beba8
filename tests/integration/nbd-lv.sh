#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nbd-lv.sh: poold's private NBD server over real LVs that are never
# activated (issue 11; docs/design.md choice 5 and "qemu-img and the
# private NBD exports"). poold makes a pool on a loop device and two
# volumes, then stops (its target holds the PVs exclusively);
# tools/nbd_file_server serves them through
# poold_nbd_export_open (poold's LV backing, lun_backing.c: the PVs through
# the segment map, O_DIRECT) as a raw base and a qcow2 top. qemu-img
# formats the top (no backing name), patterns go through the json: chain
# and read back equal to the same writes on a plain file; the base's bytes
# are read straight from the PV at its segment map and equal what was
# written to it; a safe rebase onto nothing lets the top alone read the
# same after the base's server stopped; no LV was ever activated. Also:
# poold's start clears what a dead poold's jobs left in <state_dir>/run/
# (stale NBD socket, a helper qemu-nbd and its files) and kills nothing else.
#
# Usage: nbd-lv.sh /path/to/nbd_file_server /path/to/qemu_img_tool
# Exit 77 (skipped) without root, qemu-img, qemu-io, qemu-nbd or python3. About 20 s.
set -u
SERVER=${1:?usage: nbd-lv.sh NBD_FILE_SERVER QEMU_IMG_TOOL}
TOOL=${2:?usage: nbd-lv.sh NBD_FILE_SERVER QEMU_IMG_TOOL}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (loop devices, lvm)"; exit 77; }
for prog in qemu-img qemu-io qemu-nbd python3 sha256sum; do
    command -v "$prog" >/dev/null 2>&1 || { echo "SKIP: $prog not found"; exit 77; }
done
. "$(dirname "$0")/../harness/lib.sh"

SERVER_PID=""
trap 'rc=$?; [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && t_wait_gone "$SERVER_PID" 10; (exit $rc); t_cleanup' EXIT

# segs NAME: the volume's segment map as PV@OFFSET+LEN,...
segs() {
    pctl --json volume info "$T_POOL" "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(",".join("%s@%d+%d" % (s["pv"], s["pv_offset"], s["length"]) for s in v["segments"]))'
}

# pv_read SEGS FILE: the LV's bytes straight from its PVs (O_DIRECT)
pv_read() {
    python3 - "$1" "$2" <<'PY'
import mmap, os, sys
buf = mmap.mmap(-1, 1 << 20)
with open(sys.argv[2], "wb") as out:
    for seg in sys.argv[1].split(","):
        pv, rest = seg.rsplit("@", 1)
        off, length = (int(x) for x in rest.split("+"))
        fd = os.open(pv, os.O_RDONLY | os.O_DIRECT)
        for pos in range(0, length, 1 << 20):
            n = os.preadv(fd, [buf], off + pos)
            out.write(buf[:min(n, length - pos)])
        os.close(fd)
PY
}

raw_spec() { # raw_spec SOCKET EXPORT
    printf 'json:{"driver":"raw","file":{"driver":"nbd","server":{"type":"unix","path":"%s"},"export":"%s"}}' "$1" "$2"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# start_server EXPORT...: SOCK gets the socket
start_server() {
    "$SERVER" "$T_DIR/run" "$@" >"$T_DIR/server.out" 2>"$T_DIR/server.err" &
    SERVER_PID=$!
    t_poll 10 test -s "$T_DIR/server.out" || { cat "$T_DIR/server.err" >&2; exit 1; }
    SOCK=$(head -n1 "$T_DIR/server.out")
}
stop_server() {
    kill -TERM "$SERVER_PID" && t_wait_gone "$SERVER_PID" 10
    SERVER_PID=""
}

# What a poold that died mid-job leaves in <state_dir>/run: its NBD socket,
# and a rebase's helper qemu-nbd with its socket and pid file. poold's
# start removes them and ends that qemu-nbd, but no other process whose
# pid a stale file names.
RUN="$T_DIR/state/run"
mkdir -p -m 0700 "$T_DIR/state" "$RUN"
touch "$RUN/nbd-0123456789abcdef.sock" "$RUN/flat-000000000000.sock"
sleep 120 &
INNOCENT=$!
echo "$INNOCENT" >"$RUN/flat-000000000000.pid"
truncate -s 1M "$T_DIR/stale.img"
qemu-nbd --fork --read-only --export-name=flat --socket="$RUN/flat-111111111111.sock" \
    --pid-file="$RUN/flat-111111111111.pid" -f raw "$T_DIR/stale.img" || t_fail "start a stale qemu-nbd"
STALE=$(cat "$RUN/flat-111111111111.pid" 2>/dev/null)
trap 'rc=$?; kill "$INNOCENT" 2>/dev/null; [ -n "$STALE" ] && kill "$STALE" 2>/dev/null; [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && t_wait_gone "$SERVER_PID" 10; (exit $rc); t_cleanup' EXIT

t_loop PV1 pv1 512M || exit 1
t_start_poold || exit 1
t_assert "poold's start removed what a dead poold left in run/ ($(ls "$RUN"))" \
    test -z "$(ls "$RUN")"
t_assert "poold's start ended the stale helper qemu-nbd" t_wait_gone "$STALE" 5
t_assert "poold's start left a process that is not its qemu-nbd alone" kill -0 "$INNOCENT"
kill "$INNOCENT"
t_assert "pool create" pctl pool create --lease-slots 16 --host-ids 16 "$T_POOL" "$PV1"
t_assert "create base" pctl volume create "$T_POOL" base 64M
t_assert "create top" pctl volume create "$T_POOL" top 64M
BASE_SEGS=$(segs base)
TOP_SEGS=$(segs top)
t_assert "segment maps known" test -n "$BASE_SEGS" -a -n "$TOP_SEGS"
# poold's target holds the PVs open exclusively (O_EXCL); inside poold the
# NBD exports share its descriptors, here another process needs them
t_stop_poold

# what every read must show: the same writes on plain files
truncate -s 64M "$T_DIR/expected.img" "$T_DIR/expected-base.img"
qemu-io -f raw -c 'write -P 0x22 0 4M' -c 'write -P 0x11 32M 1M' "$T_DIR/expected-base.img" >/dev/null
qemu-io -f raw -c 'write -P 0x22 0 4M' -c 'write -P 0x11 32M 1M' -c 'write -P 0xab 0 1M' \
    -c 'write -P 0xcd 10M 3M' -c 'write -P 0xef 63M 1M' "$T_DIR/expected.img" >/dev/null

start_server "base=segs:$BASE_SEGS:rw" "top=segs:$TOP_SEGS:rw"
"$TOOL" create "$T_DIR/hdr.qcow2" $((64 * 1024 * 1024)) || t_fail "qemu_img_tool create"
qemu-io -f raw -c "write -s $T_DIR/hdr.qcow2 0 $(stat -c %s "$T_DIR/hdr.qcow2")" \
    "$(raw_spec "$SOCK" top)" >/dev/null || t_fail "write the qcow2 header into the top LV"
CHAIN=$("$TOOL" chain "qcow2,$SOCK,top" "raw,$SOCK,base")
TOP_ALONE=$("$TOOL" chain "qcow2,$SOCK,top")
qemu-io -f raw -c 'write -P 0x22 0 4M' -c 'write -P 0x11 32M 1M' "$(raw_spec "$SOCK" base)" \
    >/dev/null || t_fail "write to the base LV"
qemu-io -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 10M 3M' -c 'write -P 0xef 63M 1M' "$CHAIN" \
    >/dev/null || t_fail "write through the chain"
"$TOOL" convert "$CHAIN" "$T_DIR/out1.raw" raw >/dev/null || t_fail "convert the chain"
t_assert "chain over LVs reads the same as the plain file" \
    test "$(sha "$T_DIR/out1.raw")" = "$(sha "$T_DIR/expected.img")"
pv_read "$BASE_SEGS" "$T_DIR/base-pv.raw"
t_assert "base LV's bytes on the PV are what was written to it" \
    test "$(sha "$T_DIR/base-pv.raw")" = "$(sha "$T_DIR/expected-base.img")"
pv_read "$TOP_SEGS" "$T_DIR/top-pv.qcow2"
t_assert "top LV on the PV is a qcow2 image without a backing name" \
    bash -c 'qemu-img info --output=json -f qcow2 "$1" | grep -q "\"format\": \"qcow2\"" &&
        ! qemu-img info --output=json -f qcow2 "$1" | grep -q backing-filename' _ "$T_DIR/top-pv.qcow2"

"$TOOL" rebase "$CHAIN" "$TOP_ALONE" >/dev/null || t_fail "rebase onto nothing"
stop_server
start_server "top=segs:$TOP_SEGS:ro"
TOP_ALONE=$("$TOOL" chain "qcow2,$SOCK,top")
"$TOOL" convert "$TOP_ALONE" "$T_DIR/out2.raw" raw >/dev/null || t_fail "convert the top alone"
t_assert "top LV alone reads the same after rebase" \
    test "$(sha "$T_DIR/out2.raw")" = "$(sha "$T_DIR/expected.img")"
t_assert "read-only LV export refuses writes" \
    bash -c '! qemu-io -f raw -c "write -P 1 0 4k" "$1" >/dev/null 2>&1' _ "$(raw_spec "$SOCK" top)"
stop_server

# lvs cannot tell with activation off (attr X): ask device-mapper itself
vg_dm=${T_POOL//-/--}
t_assert "no device-mapper device of the pool exists" \
    bash -c '! ls /dev/mapper/ 2>/dev/null | grep -q "^$1-"' _ "$vg_dm"
if command -v dmsetup >/dev/null 2>&1; then
    t_assert "dmsetup knows no device of the pool" \
        bash -c '! dmsetup ls 2>/dev/null | grep -q "^$1-"' _ "$vg_dm"
fi
t_finish
