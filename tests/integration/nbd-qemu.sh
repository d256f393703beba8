#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nbd-qemu.sh: poold's private NBD server (poold/nbd_server.c) and its
# qemu-img wrappers (poold/qemu_img.c) under real qemu-img and qemu-io
# (issue 11; docs/design.md "qemu-img and the private NBD exports").
#
# File-backed exports stand in for LVs (tools/nbd_file_server links the
# server with a small file backing): a raw base, a qcow2 top formatted by
# qemu_img_tool create and written into its export (no backing name in the
# header), chained explicitly as json:. Checks: patterns written through the
# chain read back the same as the same writes on a plain file (convert -O
# raw, with -p progress parsed); safe rebase onto nothing, then the base's
# server stopped: the top alone reads the same and names no backing; commit
# into a fresh base makes it equal; safe rebase onto another base (json:)
# leaves no backing name and reads the same, also onto a chain of 10
# layers whose json: is too long for a qcow2 header (served flat by a
# helper qemu-nbd, which is gone afterwards); a read-only export refuses
# writes (qemu-io, and EPERM on the wire: tools/nbd_raw_client.py with the
# other errors qemu never provokes); an unknown export is refused; the
# socket is 0600 in a 0700 directory and is gone when its server stops.
#
# Usage: nbd-qemu.sh /path/to/nbd_file_server /path/to/qemu_img_tool
# Exit 77 (skipped) without qemu-img, qemu-io, qemu-nbd or python3. About 15 s.
set -u
SERVER=${1:?usage: nbd-qemu.sh NBD_FILE_SERVER QEMU_IMG_TOOL}
TOOL=${2:?usage: nbd-qemu.sh NBD_FILE_SERVER QEMU_IMG_TOOL}
for prog in qemu-img qemu-io qemu-nbd python3 sha256sum; do
    command -v "$prog" >/dev/null 2>&1 || { echo "SKIP: $prog not found"; exit 77; }
done
: "${POOL_BUILDDIR:=$(dirname "$SERVER")/../..}"
export POOL_BUILDDIR
. "$(dirname "$0")/../harness/lib.sh"
RAW_CLIENT="$(dirname "$0")/tools/nbd_raw_client.py"

SIZE=$((64 * 1024 * 1024))
RUN="$T_DIR/run"
SERVER_PIDS=()

stop_servers() {
    for p in "${SERVER_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null && t_wait_gone "$p" 10
    done
}
trap 'rc=$?; stop_servers; (exit $rc); t_cleanup' EXIT

# start_server VAR EXPORT...: VAR gets the socket, VAR_PID the pid
start_server() {
    local var=$1 out="$T_DIR/server-$1.out"
    shift
    "$SERVER" "$RUN" "$@" >"$out" 2>"$T_DIR/server-$var.err" &
    local pid=$!
    SERVER_PIDS+=("$pid")
    printf -v "${var}_PID" '%s' "$pid"
    t_poll 10 test -s "$out" || { cat "$T_DIR/server-$var.err" >&2; exit 1; }
    printf -v "$var" '%s' "$(head -n1 "$out")"
}

stop_server() { # stop_server PID
    kill -TERM "$1" && t_wait_gone "$1" 10
}

raw_spec() { # raw_spec SOCKET EXPORT
    printf 'json:{"driver":"raw","file":{"driver":"nbd","server":{"type":"unix","path":"%s"},"export":"%s"}}' "$1" "$2"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

t_expect_err() { # REGEX CMD...
    local re=$1 out
    shift
    out=$("$@" 2>&1) && { t_fail "succeeded: $*"; return; }
    grep -qE "$re" <<<"$out" && t_ok || t_fail "no '$re' in: $out"
}

# the same writes on a plain file, in the same order: what every read must show
expected_writes() { # FILE
    qemu-io -f raw -c 'write -P 0x22 0 4M' -c 'write -P 0x11 32M 1M' \
        -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 10M 3M' -c 'write -P 0xef 63M 1M' "$1" >/dev/null
}

for f in base base2 base3 top ro scratch; do truncate -s $SIZE "$T_DIR/$f.img"; done
ZERO=$(sha "$T_DIR/ro.img")
truncate -s $SIZE "$T_DIR/expected.img"
expected_writes "$T_DIR/expected.img"
EXPECTED=$(sha "$T_DIR/expected.img")

t_log "servers: base (raw, rw), top (qcow2, rw) and a read-only export"
start_server SB "base=$T_DIR/base.img:rw"
start_server ST "top=$T_DIR/top.img:rw" "ro=$T_DIR/ro.img:ro" "scratch=$T_DIR/scratch.img:rw"
t_assert "socket dir is 0700" test "$(stat -c %a "$RUN")" = 700
t_assert "socket is 0600" test "$(stat -c %a "$ST")" = 600
t_assert "socket is a socket" test -S "$ST"

t_log "format the top: qemu-img create into a file, written at offset 0 of its export"
"$TOOL" create "$T_DIR/hdr.qcow2" $SIZE || t_fail "qemu_img_tool create"
qemu-io -f raw -c "write -s $T_DIR/hdr.qcow2 0 $(stat -c %s "$T_DIR/hdr.qcow2")" \
    "$(raw_spec "$ST" top)" >/dev/null || t_fail "write the qcow2 header into the top export"
read -r _ req _ full < <("$TOOL" measure $SIZE)
t_assert "measure: fully allocated image fits the 64 MiB + metadata" \
    test "${full:-0}" -gt $SIZE -a "${full:-0}" -lt $((SIZE + 4 * 1024 * 1024)) -a "${req:-0}" -gt 0

CHAIN=$("$TOOL" chain "qcow2,$ST,top" "raw,$SB,base")
TOP_ALONE=$("$TOOL" chain "qcow2,$ST,top")
t_assert "chain json names both layers, base raw" \
    grep -q '"backing":{"driver":"raw","file":{"driver":"nbd"' <<<"$CHAIN"
t_assert "top alone has backing null" grep -q '"backing":null}$' <<<"$TOP_ALONE"
t_assert "top header names no backing file" \
    bash -c '! qemu-img info --output=json "$1" | grep -q backing-filename' _ "$TOP_ALONE"
t_assert "chain of a raw layer over another layer refused" \
    bash -c '! "$1" chain "raw,$2,top" "raw,$3,base" 2>/dev/null' _ "$TOOL" "$ST" "$SB"

t_log "write patterns: base directly, the rest through the chain"
qemu-io -f raw -c 'write -P 0x22 0 4M' -c 'write -P 0x11 32M 1M' "$(raw_spec "$SB" base)" \
    >/dev/null || t_fail "write to the base export"
qemu-io -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 10M 3M' -c 'write -P 0xef 63M 1M' "$CHAIN" \
    >/dev/null || t_fail "write through the chain"
t_assert "qemu-io reads the patterns back through the chain" \
    qemu-io -r -c 'read -q -P 0xab 0 1M' -c 'read -q -P 0x22 1M 3M' -c 'read -q -P 0x11 32M 1M' \
    -c 'read -q -P 0xcd 10M 3M' -c 'read -q -P 0 20M 1M' -c 'read -q -P 0xef 63M 1M' "$CHAIN"
"$TOOL" convert "$CHAIN" "$T_DIR/out1.raw" raw >"$T_DIR/progress1" || t_fail "convert the chain"
t_assert "convert of the chain equals the plain file" test "$(sha "$T_DIR/out1.raw")" = "$EXPECTED"
t_assert "convert -p progress parsed" grep -q '^progress 100.00$' "$T_DIR/progress1"
t_assert "qemu-img compare agrees" qemu-img compare -q -f raw -F raw "$T_DIR/out1.raw" "$T_DIR/expected.img"
read -r _ end _ < <("$TOOL" check "$TOP_ALONE")
t_assert "check: image end offset inside the export" test "${end:-0}" -gt 0 -a "${end:-0}" -le $SIZE

t_log "a convert cancelled at its first progress line stops at once"
cstart=$(t_now)
t_expect_err 'qemu-img convert cancelled' \
    "$TOOL" convert-cancel "$CHAIN" "$(raw_spec "$ST" scratch)"
t_assert "cancel took under 5 s ($(t_took "$cstart") s)" \
    awk -v t="$(t_took "$cstart")" 'BEGIN { exit !(t < 5) }'
t_assert "no qemu-img left running" bash -c '! pgrep -f "[q]emu-img convert .*$1" >/dev/null' _ "$ST"

t_log "safe rebase of the top onto nothing, then the base's server stopped"
"$TOOL" rebase "$CHAIN" "$TOP_ALONE" >"$T_DIR/progress2" || t_fail "rebase onto nothing"
t_assert "rebase progress lines parsed (more than one)" \
    test "$(grep -c '^progress ' "$T_DIR/progress2")" -gt 1
stop_server "$SB_PID"
t_assert "stopped server unlinked its socket" test ! -e "$SB"
"$TOOL" convert "$TOP_ALONE" "$T_DIR/out2.raw" raw >/dev/null || t_fail "convert the top alone"
t_assert "top alone reads the same" test "$(sha "$T_DIR/out2.raw")" = "$EXPECTED"
t_assert "top names no backing after rebase" \
    bash -c '! qemu-img info --output=json "$1" | grep -q backing-filename' _ "$TOP_ALONE"

t_log "commit the top into a fresh base"
start_server SB2 "base2=$T_DIR/base2.img:rw"
CHAIN2=$("$TOOL" chain "qcow2,$ST,top" "raw,$SB2,base2")
"$TOOL" commit "$CHAIN2" >/dev/null || t_fail "commit"
t_assert "base equals the plain file after commit" test "$(sha "$T_DIR/base2.img")" = "$EXPECTED"
"$TOOL" convert "$CHAIN2" "$T_DIR/out3.raw" raw >/dev/null || t_fail "convert after commit"
t_assert "chain reads the same after commit" test "$(sha "$T_DIR/out3.raw")" = "$EXPECTED"

t_log "safe rebase onto another base given as json:, backing name cleared"
start_server SB3 "base3=$T_DIR/base3.img:ro"
"$TOOL" rebase "$CHAIN2" "$TOP_ALONE" "$(raw_spec "$SB3" base3)" raw "$RUN" >/dev/null ||
    t_fail "rebase onto base3"
t_assert "top names no backing after rebase onto base3" \
    bash -c '! qemu-img info --output=json "$1" | grep -q backing-filename' _ "$TOP_ALONE"
stop_server "$SB2_PID"
CHAIN3=$("$TOOL" chain "qcow2,$ST,top" "raw,$SB3,base3")
"$TOOL" convert "$CHAIN3" "$T_DIR/out4.raw" raw >/dev/null || t_fail "convert over base3"
t_assert "chain over base3 reads the same" test "$(sha "$T_DIR/out4.raw")" = "$EXPECTED"
t_assert "read-only base3 untouched" test "$(sha "$T_DIR/base3.img")" = "$ZERO"

t_log "safe rebase onto a chain of 10 layers (its json: is too long for a qcow2 header)"
DSIZE=$((8 * 1024 * 1024))
exports=()
for i in 0 1 2 3 4 5 6 7 8 9 x; do
    truncate -s $DSIZE "$T_DIR/d$i.img"
    exports+=("d$i=$T_DIR/d$i.img:rw")
done
start_server SD "${exports[@]}"
"$TOOL" create "$T_DIR/dhdr.qcow2" $DSIZE || t_fail "create the deep chain's header"
hdr_len=$(stat -c %s "$T_DIR/dhdr.qcow2")
qemu-io -f raw -c "write -P 0x30 0 8M" "$(raw_spec "$SD" d0)" >/dev/null || t_fail "write d0"
layers=("raw,$SD,d0")
for i in 1 2 3 4 5 6 7 8 9 x; do
    qemu-io -f raw -c "write -s $T_DIR/dhdr.qcow2 0 $hdr_len" "$(raw_spec "$SD" "d$i")" \
        >/dev/null || t_fail "format d$i"
    layers=("qcow2,$SD,d$i" "${layers[@]}")
done
for i in 1 2 3 4 5 6 7 8 9; do
    # each layer writes 512 KiB at its own place, over the layers below it
    c=$("$TOOL" chain "${layers[@]:$((10 - i))}")
    qemu-io -c "write -P $((0x30 + i)) $((i * 768))k 512k" "$c" >/dev/null || t_fail "write d$i"
done
DEEP=$("$TOOL" chain "${layers[@]:1}")
t_assert "the 10-layer chain's json: is longer than a qcow2 header takes (${#DEEP})" \
    test "${#DEEP}" -gt 1023
X_ALONE=$("$TOOL" chain "qcow2,$SD,dx")
qemu-io -c 'write -P 0x77 1M 1M' "$X_ALONE" >/dev/null || t_fail "write dx"
"$TOOL" convert "$X_ALONE" "$T_DIR/x-before.raw" raw >/dev/null || t_fail "convert dx alone"
"$TOOL" rebase "$X_ALONE" "$X_ALONE" "$DEEP" qcow2 "$RUN" >/dev/null ||
    t_fail "rebase dx onto the 10-layer chain"
t_assert "dx names no backing after the rebase" \
    bash -c '! qemu-img info --output=json "$1" | grep -q backing-filename' _ "$X_ALONE"
"$TOOL" convert "$("$TOOL" chain "${layers[@]}")" "$T_DIR/x-after.raw" raw >/dev/null ||
    t_fail "convert dx over the chain"
t_assert "dx over the 10-layer chain reads what dx alone read" \
    test "$(sha "$T_DIR/x-after.raw")" = "$(sha "$T_DIR/x-before.raw")"
"$TOOL" convert "$DEEP" "$T_DIR/deep.raw" raw >/dev/null || t_fail "convert the chain"
t_assert "the chain below holds data (the rebase had something to undo)" \
    test "$(sha "$T_DIR/deep.raw")" != "$(sha "$T_DIR/x-before.raw")"
t_assert "the helper qemu-nbd left no socket or pid file" \
    bash -c '! ls "$1" | grep -q "^flat-"' _ "$RUN"
t_assert "no helper qemu-nbd left running" bash -c '! pgrep -f "[q]emu-nbd .*$1/flat-" >/dev/null' _ "$RUN"
stop_server "$SD_PID"

t_log "read-only and unknown exports"
t_assert "qemu-io cannot write to the read-only export" \
    bash -c '! qemu-io -f raw -c "write -P 1 0 4k" "$1" >/dev/null 2>&1' _ "$(raw_spec "$ST" ro)"
t_expect_err 'export not available|no such export' \
    qemu-io -r -c 'read 0 4k' "$(raw_spec "$ST" nope)"
t_expect_err 'qemu-img convert failed.*(not available|no such export)' \
    "$TOOL" convert "$(raw_spec "$ST" nope)" "$T_DIR/x.raw" raw
python3 "$RAW_CLIENT" "$ST" top ro $SIZE >"$T_DIR/raw-client" 2>&1 ||
    t_fail "raw NBD client: $(grep -v '^ok' "$T_DIR/raw-client")"
t_assert "raw client ran every check" test "$(grep -c '^ok ' "$T_DIR/raw-client")" -ge 17
t_assert "ro file untouched by the refused writes" test "$(sha "$T_DIR/ro.img")" = "$ZERO"

t_log "stop with a client connected and idle"
python3 "$RAW_CLIENT" --hold "$ST" top >"$T_DIR/hold.out" 2>&1 &
HOLD_PID=$!
SERVER_PIDS+=("$HOLD_PID")
t_poll 10 grep -q ready "$T_DIR/hold.out" || t_fail "holder did not connect: $(cat "$T_DIR/hold.out")"
kill -TERM "$ST_PID"
t_assert "server stops within 5 s with a client connected" t_wait_gone "$ST_PID" 5
wait "$HOLD_PID"
t_assert "the idle client saw its connection closed" test $? -eq 0
t_assert "top server unlinked its socket" test ! -e "$ST"
t_finish
