#!/bin/bash
# nfs-harness.sh: the NFS test harness itself (lib-nfs.sh) against a real
# nfs-ganesha, through libnfs only (no kernel NFS client here).
#
# In the test's own network + mount namespace: start rpcbind + ganesha on
# 127.0.0.1; copy a file there and back with nfs-cp and compare (also with
# the export directory on the server side); the metadata store's write
# pattern through libnfs (write a temporary name, rename over the record;
# link onto an existing name fails with EEXIST); then a dead server
# (SIGKILL): fresh clients and an already-mounted long-lived client must
# fail, within a bound, not hang; restart on the same export: everything
# written before reads back intact, the long-lived client works again on its
# old context, and NFSv3 creates and NFSv4 opens work at once (no grace
# period); a hung server (SIGSTOP): only the client's RPC timeout ends a
# call, and it does; finally a clean stop. Measured times are printed.
#
# Arg 1: nfs_probe (tests/integration/tools/nfs_probe.c).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-nfs.sh"
PROBE=${1:?usage: nfs-harness.sh NFS_PROBE}
nfs_enter_namespace "$@"

# Bounds: a dead (refusing) server must fail a call within DEAD_BOUND_MS; a
# call on a hung server must end at the client's timeout, within
# HUNG_BOUND_MS.
DEAD_BOUND_MS=5000
HUNG_BOUND_MS=5000
SESSION_TIMEOUT_MS=2000
FRESH_TIMEOUT_MS=1000

# Run CMD, store its wall time in ms in $ELAPSED and its exit code in $RC,
# its output in $OUT.
timed() {
    local t0
    t0=$(nfs_ms)
    OUT=$("$@" 2>&1)
    RC=$?
    ELAPSED=$(($(nfs_ms) - t0))
}

# ms=N from a probe answer line.
ms_of() { [[ $1 =~ ms=([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo -1; }

probe() { "$PROBE" "$@"; }

# Expect the last line of a probe run to be "ok ..." (or "err ... RE").
probe_ok() { # probe_ok WHAT PROBE-ARGS...
    local what=$1 out rc; shift
    out=$(probe "$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [[ $(tail -n 1 <<<"$out") == ok\ * ]]; then t_ok; else t_fail "$what: $out"; fi
}

probe_err() { # probe_err WHAT REGEX PROBE-ARGS...
    local what=$1 re=$2 out rc last; shift 2
    out=$(probe "$@" 2>&1)
    rc=$?
    last=$(tail -n 1 <<<"$out")
    if [ $rc -ne 0 ] && [[ $last == err\ * ]] && [[ $last =~ $re ]]; then t_ok; else t_fail "$what: $out"; fi
}

# Read back PATH from the server and compare with LOCALFILE.
same_as() { # same_as WHAT PATH LOCALFILE
    rm -f "$T_DIR/readback"
    if nfs-cp "$NFS_URL$2" "$T_DIR/readback" >/dev/null 2>&1 && cmp -s "$T_DIR/readback" "$3"; then
        t_ok
    else
        t_fail "$1: $2 does not read back as $3"
    fi
}

# The long-lived client: one libnfs context for the whole test (as a daemon
# keeps one), RPC timeout SESSION_TIMEOUT_MS, autoreconnect at its default.
# (bash unsets SESS and SESS_PID once the coprocess has exited)
sess() { # sess CMD... -> SESS_LINE
    SESS_LINE="(the long-lived client is gone)"
    [ -n "${SESS[1]:-}" ] || return 0
    echo "$*" >&"${SESS[1]}"
    read -r -t 15 SESS_LINE <&"${SESS[0]}" || SESS_LINE="(no answer within 15 s)"
}

# ---- start
nfs_start || exit 1
START_MS=$NFS_START_MS
t_log "ganesha serves $NFS_URL after $START_MS ms"

# ---- a file there and back with the libnfs tools
head -c 300000 /dev/urandom >"$T_DIR/data.bin"
t_assert "nfs-cp to the server" nfs-cp "$T_DIR/data.bin" "$NFS_URL/data.bin" >/dev/null
t_assert "the export holds what nfs-cp wrote" cmp -s "$T_DIR/data.bin" "$NFS_EXPORT/data.bin"
same_as "nfs-cp back" /data.bin "$T_DIR/data.bin"
t_assert "nfs-ls lists it" bash -c "nfs-ls '$NFS_URL' | grep -q ' data.bin\$'"

# ---- write to a temporary name, rename over the record; link as a lock
probe_ok "write rec.tmp" "$NFS_URL" write /rec.tmp generation-1
probe_ok "rename rec.tmp -> rec" "$NFS_URL" rename /rec.tmp /rec
probe_ok "write rec.tmp again" "$NFS_URL" write /rec.tmp generation-2
probe_ok "rename over the existing rec" "$NFS_URL" rename /rec.tmp /rec
printf 'generation-2' >"$T_DIR/rec.expect"
same_as "renamed record" /rec "$T_DIR/rec.expect"
t_assert "rename removed the temporary name" test ! -e "$NFS_EXPORT/rec.tmp"
probe_ok "link rec -> rec.lock" "$NFS_URL" link /rec /rec.lock
probe_err "link onto an existing name" 'rc=-17 EEXIST' "$NFS_URL" link /rec /rec.lock
probe_ok "NFSv4 write" "$NFS_URL?version=4" write /v4.txt written-over-v4

# ---- the long-lived client
coproc SESS { exec "$PROBE" -t "$SESSION_TIMEOUT_MS" "$NFS_URL" - 2>&1; }
SESS_PROC=$SESS_PID
nfs_track "$SESS_PROC"
read -r -t 15 SESS_LINE <&"${SESS[0]}" || SESS_LINE="(no answer)"
[[ $SESS_LINE == ok\ mount* ]] && t_ok || t_fail "long-lived client mount: $SESS_LINE"
sess stat /data.bin
[[ $SESS_LINE == "ok stat "*"size=300000"* ]] && t_ok || t_fail "long-lived client stat: $SESS_LINE"

# ---- a dead server
nfs_kill
timed timeout 60 nfs-cat "$NFS_URL/data.bin"
DEAD_TOOL_MS=$ELAPSED
DEAD_TOOL_OUT=$(head -n 1 <<<"$OUT")
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ "$ELAPSED" -lt "$DEAD_BOUND_MS" ]; then t_ok; else
    t_fail "nfs-cat against a dead server: rc=$RC after $ELAPSED ms: $OUT"; fi
timed probe -t "$FRESH_TIMEOUT_MS" "$NFS_URL" stat /data.bin
DEAD_FRESH_MS=$ELAPSED
DEAD_FRESH_OUT=$OUT
if [ "$RC" -eq 1 ] && [ "$ELAPSED" -lt "$DEAD_BOUND_MS" ]; then t_ok; else
    t_fail "fresh libnfs client against a dead server: rc=$RC after $ELAPSED ms: $OUT"; fi
sess stat /data.bin
DEAD_SESS_MS=$(ms_of "$SESS_LINE")
if [[ $SESS_LINE == err\ stat* ]] && [ "$DEAD_SESS_MS" -lt "$DEAD_BOUND_MS" ]; then t_ok; else
    t_fail "mounted client against a dead server: $SESS_LINE"; fi
t_log "dead server: nfs-cat failed after $DEAD_TOOL_MS ms: $DEAD_TOOL_OUT"
t_log "dead server: fresh nfs_probe: $(tail -n 1 <<<"$DEAD_FRESH_OUT")"
t_log "dead server: mounted client: $SESS_LINE"

# ---- restart on the same export
nfs_restart || { t_fail "restart"; t_finish; exit 1; }
RESTART_MS=$NFS_START_MS
t_log "ganesha serves again after $RESTART_MS ms"
same_as "data.bin after the restart" /data.bin "$T_DIR/data.bin"
same_as "rec after the restart" /rec "$T_DIR/rec.expect"
sess stat /data.bin
[[ $SESS_LINE == "ok stat "*"size=300000"* ]] && t_ok ||
    t_fail "the mounted client's old context after the restart: $SESS_LINE"
probe_ok "write after the restart" "$NFS_URL" write /rec.tmp generation-3
probe_ok "rename after the restart" "$NFS_URL" rename /rec.tmp /rec
printf 'generation-3' >"$T_DIR/rec.expect"
same_as "record renamed after the restart" /rec "$T_DIR/rec.expect"
# no grace period: an NFSv3 create (SETATTR) and an NFSv4 OPEN succeed now
t_assert "NFSv3 create right after the restart" nfs-cp "$T_DIR/data.bin" "$NFS_URL/new.bin" >/dev/null
probe_ok "NFSv4 open right after the restart" "$NFS_URL?version=4" write /v4-after.txt after-restart

# ---- a hung server
nfs_freeze
timed probe -t "$FRESH_TIMEOUT_MS" "$NFS_URL" stat /data.bin
HUNG_FRESH_MS=$ELAPSED
if [ "$RC" -eq 1 ] && [ "$ELAPSED" -ge $((FRESH_TIMEOUT_MS / 2)) ] && [ "$ELAPSED" -lt "$HUNG_BOUND_MS" ]; then
    t_ok; else t_fail "fresh client (timeout $FRESH_TIMEOUT_MS ms) against a hung server: rc=$RC after $ELAPSED ms: $OUT"; fi
sess stat /data.bin
HUNG_SESS_MS=$(ms_of "$SESS_LINE")
if [[ $SESS_LINE == err\ stat* ]] && [ "$HUNG_SESS_MS" -ge $((SESSION_TIMEOUT_MS / 2)) ] &&
    [ "$HUNG_SESS_MS" -lt "$HUNG_BOUND_MS" ]; then t_ok; else
    t_fail "mounted client (timeout $SESSION_TIMEOUT_MS ms) against a hung server: $SESS_LINE"; fi
t_log "hung server: mounted client: $SESS_LINE"
timed timeout 3 nfs-ls "$NFS_URL"
if [ "$RC" -eq 124 ]; then
    t_log "hung server: nfs-ls (no RPC timeout of its own) still waiting after 3 s, as expected"
else
    t_log "hung server: nfs-ls ended by itself: rc=$RC after $ELAPSED ms"
fi
nfs_thaw
sess stat /data.bin
[[ $SESS_LINE == ok\ stat* ]] && t_ok || t_fail "mounted client after the server resumed: $SESS_LINE"

# ---- clean stop
[ -n "${SESS[1]:-}" ] && echo quit >&"${SESS[1]}"
t_wait_gone "$SESS_PROC" 10 || t_fail "long-lived client did not exit"
wait "$SESS_PROC" 2>/dev/null
GANESHA_PID=$NFS_GANESHA_PID
RPCBIND_PID=$NFS_RPCBIND_PID
t0=$(nfs_ms)
t_assert "clean stop" nfs_stop
STOP_MS=$(($(nfs_ms) - t0))
t_assert "ganesha gone" bash -c "! kill -0 $GANESHA_PID 2>/dev/null"
t_assert "rpcbind gone" bash -c "! kill -0 $RPCBIND_PID 2>/dev/null"
t_assert "ganesha logged a regular exit" grep -q 'regular exit' "$(nfs_log)"

t_log "summary: start $START_MS ms, restart $RESTART_MS ms, clean stop $STOP_MS ms"
t_log "summary: dead server (SIGKILL): nfs-cat fails in $DEAD_TOOL_MS ms, fresh libnfs client in $DEAD_FRESH_MS ms, mounted client (timeout $SESSION_TIMEOUT_MS ms) in $DEAD_SESS_MS ms"
t_log "summary: hung server (SIGSTOP): fresh client (timeout $FRESH_TIMEOUT_MS ms) fails in $HUNG_FRESH_MS ms, mounted client (timeout $SESSION_TIMEOUT_MS ms) in $HUNG_SESS_MS ms"
t_finish
