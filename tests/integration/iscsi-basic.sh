#!/bin/bash
# iscsi-basic.sh: the embedded iSCSI target against real userspace
# initiators: iscsi-ls (discovery + SendTargets), iscsi-inq, qemu-img convert
# of a random 64 MiB image into a LUN and back (checksums must match), and
# iscsi-test-cu on the iSCSI.* and basic SCSI tests.
#
#   iscsi-basic.sh PATH/TO/iscsi_target_test
#
# Its temp dir and cleanup trap are the harness's (tests/harness/lib.sh);
# the target process is killed by pid only. Ports are picked from
# 32600 + pid % 1000 and retried when busy, so parallel tests do not
# collide. Exit 77 (skip) when an initiator tool is missing.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
set -o pipefail

TGT_BIN=${1:?usage: iscsi-basic.sh iscsi_target_test}
. "$(dirname "$0")/../harness/lib.sh"
T_PID=""
IQN=iqn.2026-11.org.poold:test

# The target first (by pid), then lib.sh's cleanup, which must still see the
# test's exit status in $?.
tgt_cleanup() {
    local rc=$1
    if [ -n "$T_PID" ] && kill -0 "$T_PID" 2>/dev/null; then
        kill -TERM "$T_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$T_PID" 2>/dev/null
    fi
    if [ "$rc" -ne 0 ] && [ -f "$T_DIR/target.log" ]; then
        echo "---- target log (last 40 lines) ----" >&2
        tail -n 40 "$T_DIR/target.log" >&2
    fi
}
trap 'rc=$?; tgt_cleanup $rc; (exit $rc); t_cleanup' EXIT


for tool in iscsi-ls iscsi-inq qemu-img; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done

# start the target on a free pair of ports
start_target() {
    local base=$((32600 + $$ % 1000)) try port port2
    for try in $(seq 0 20); do
        port=$((base + 2 * try))
        port2=$((port + 1))
        : > "$T_DIR/target.out"
        "$TGT_BIN" "$port" --port2 "$port2" --size 80 "$@" >"$T_DIR/target.out" 2>>"$T_DIR/target.log" &
        T_PID=$!
        for _ in $(seq 100); do
            grep -q READY "$T_DIR/target.out" 2>/dev/null && { PORT=$port; PORT2=$port2; return 0; }
            kill -0 "$T_PID" 2>/dev/null || break
            sleep 0.05
        done
        wait "$T_PID" 2>/dev/null
        T_PID=""
    done
    echo "could not start the target" >&2
    return 1
}

stop_target() {
    [ -n "$T_PID" ] || return 0
    local t0=$SECONDS
    kill -TERM "$T_PID"
    for _ in $(seq 200); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$T_PID" 2>/dev/null; then
        t_fail "target did not stop within 10 s"
        kill -KILL "$T_PID"
    else
        t_ok
    fi
    wait "$T_PID" 2>/dev/null
    echo "# target stopped in $((SECONDS - t0)) s"
    T_PID=""
}

start_target || exit 1
URL=iscsi://127.0.0.1:$PORT
echo "# target on ports $PORT and $PORT2"

# 1. discovery
out=$(timeout 30 iscsi-ls -s "$URL" 2>&1)
echo "$out" | sed 's/^/#   /'
if grep -q "Target:$IQN Portal:127.0.0.1:$PORT,1" <<<"$out" &&
   grep -q "Portal:127.0.0.1:$PORT2,2" <<<"$out" && grep -q "Lun:0" <<<"$out"; then
    t_ok
else
    t_fail "iscsi-ls did not list the target with both portals and LUN 0"
fi

# 2. inquiry
if out=$(timeout 30 iscsi-inq "$URL/$IQN/0" 2>&1) && grep -qi "memdisk" <<<"$out"; then
    t_ok
else
    t_fail "iscsi-inq: $out"
fi
echo "$out" | head -5 | sed 's/^/#   /'

# 3. qemu-img round trip
head -c $((64 << 20)) /dev/urandom > "$T_DIR/src.raw"
if timeout 120 qemu-img convert -n -f raw -O raw "$T_DIR/src.raw" "$URL/$IQN/0" 2>"$T_DIR/qemu.err"; then
    t_ok
else
    t_fail "qemu-img convert to iSCSI: $(cat "$T_DIR/qemu.err")"
fi
if timeout 120 qemu-img convert -f raw -O raw "$URL/$IQN/0" "$T_DIR/back.raw" 2>"$T_DIR/qemu.err"; then
    t_ok
else
    t_fail "qemu-img convert from iSCSI: $(cat "$T_DIR/qemu.err")"
fi
a=$(sha256sum < "$T_DIR/src.raw" | cut -d' ' -f1)
b=$(head -c $((64 << 20)) "$T_DIR/back.raw" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$a" = "$b" ]; then t_ok; else t_fail "checksum mismatch after round trip"; fi
echo "# qemu-img round trip: $a / $b"

# 4. conformance subset
if command -v iscsi-test-cu >/dev/null; then
    ini=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test
    timeout 600 iscsi-test-cu -d -i "$ini" \
        --test='iSCSI.*' "$URL/$IQN/0" > "$T_DIR/cu1.log" 2>&1
    rc1=$?
    timeout 600 iscsi-test-cu -d -i "$ini" \
        --test='SCSI.Read10.*,SCSI.Write10.*,SCSI.Inquiry.*,SCSI.ReadCapacity10.*' \
        "$URL/$IQN/0" > "$T_DIR/cu2.log" 2>&1
    rc2=$?
    for f in cu1 cu2; do
        echo "# iscsi-test-cu ($f) summary:"
        sed -n '/Run Summary/,$p' "$T_DIR/$f.log" | sed 's/^/#   /'
        grep -E "^\s+Test: .*FAILED$" "$T_DIR/$f.log" | sed 's/^/#   /'
    done
    if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]; then t_ok; else t_fail "iscsi-test-cu reported failures"; fi
fi

# 5. clean stop with a session open
( timeout 60 qemu-io -f raw -c 'read 0 1M' -c 'sleep 20000' "$URL/$IQN/0" >/dev/null 2>&1 ) &
io_pid=$!
sleep 1
stop_target
kill "$io_pid" 2>/dev/null
wait "$io_pid" 2>/dev/null

t_finish
