#!/bin/bash
# target-hostile.sh: the embedded target under a hostile client (issue 10
# item 7), with a real initiator (iscsi-inq, libiscsi) that must keep
# working throughout:
#   - a session logged in before the attack survives all of it (INQUIRY
#     good before and after, same connection);
#   - 1,000 idle connections from ten addresses and 100 holding half a
#     Login Request from five more, every one reopened as the target drops
#     it: new logins still get in within seconds, poold's threads stay
#     bounded by the pre-login budget, and the log names the per-source
#     and the total pre-login limit;
#   - a login storm of 300 sessions (150 at a time) during the flood: the
#     real initiator still works, no storm login is lost;
#   - 270 sessions held at once: exactly the session cap (256, counting
#     the held session) gets in, the rest are refused with 03/02 and the
#     log says "session limit (256)";
#   - everything closed: poold's descriptors come back to the baseline
#     (printed, with RSS before and after; RSS only loosely bounded).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
HOSTILE="$(dirname "$0")/tools/iscsi_hostile.py"
command -v iscsi-inq >/dev/null || { echo "iscsi-inq (libiscsi-bin) missing"; exit 77; }

BG=()
# our own clients go before lib.sh's cleanup (which stops poold)
trap 'rc=$?; touch "$T_DIR/stop" "$T_DIR/release"; for p in "${BG[@]}"; do
    kill "$p" 2>/dev/null; done; for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
    (exit $rc); t_cleanup' EXIT

PORT=$(t_free_port)
t_loop PV1 pv1 256M || exit 1
t_write_config <<EOC
iscsi_portal = "127.0.0.1:$PORT"
EOC
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
IQN="iqn.2026-11.org.poold:$T_POOL"
pctl pool create --lease-slots 20 --host-ids 20 "$T_POOL" "$PV1" >/dev/null &&
    pctl volume create "$T_POOL" disk1 16M >/dev/null || { t_fail "pool and volume create"; t_finish; exit 1; }
LUN=$(pctl --json volume info "$T_POOL" disk1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["lun"])')
URL="iscsi://127.0.0.1:$PORT/$IQN/$LUN"

nfds() { ls "/proc/$T_POOLD_PID/fd" | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$T_POOLD_PID/status"; }
nthreads() { awk '/^Threads:/ { print $2 }' "/proc/$T_POOLD_PID/status"; }
# the real initiator: INQUIRY on the LUN, within 5 s
real_initiator() { # WHAT
    local t0 out rc took
    t0=$(t_now)
    out=$(timeout 20 iscsi-inq "$URL" 2>&1); rc=$?
    took=$(t_took "$t0")
    echo "# real initiator ($1): rc $rc in $took s"
    [ $rc -eq 0 ] || echo "$out" | head -3
    t_assert "real initiator logs in and gets INQUIRY data $1 (rc $rc)" \
        bash -c '[ "$1" -eq 0 ] && grep -q "Vendor:" <<< "$2"' _ "$rc" "$out"
    t_assert "real initiator done within 5 s $1 ($took s)" \
        awk -v t="$took" 'BEGIN { exit !(t < 5) }'
}
fds_back() { [ "$(nfds)" -le $((BASE_FDS + $1)) ]; }

real_initiator "before the attack"
BASE_FDS=$(nfds) BASE_RSS=$(rss_kb) BASE_THREADS=$(nthreads)
echo "# baseline: $BASE_FDS fds, $BASE_THREADS threads, RSS $BASE_RSS kB"

t_log "a session logged in before the attack"
python3 "$HOSTILE" session 127.0.0.1 "$PORT" "$IQN" "$LUN" --ready "$T_DIR/held" \
    --stop "$T_DIR/release" > "$T_DIR/session.log" 2>&1 &
SESSION_PID=$!
BG+=("$SESSION_PID")
t_assert "held session logged in" t_poll 10 test -s "$T_DIR/held"

t_log "flood: 1000 idle connections, 100 with half a Login Request, reopened when dropped"
python3 "$HOSTILE" flood 127.0.0.1 "$PORT" --idle 1000 --idle-src 10-19 --half 100 \
    --half-src 20-24 --ready "$T_DIR/flooding" --stop "$T_DIR/stop" > "$T_DIR/flood.log" 2>&1 &
FLOOD_PID=$!
BG+=("$FLOOD_PID")
t_assert "all 1100 flood connections were accepted by the kernel" t_poll 60 test -s "$T_DIR/flooding"
for i in 1 2 3; do
    real_initiator "during the flood, try $i"
done
th=$(nthreads) fds=$(nfds)
echo "# during the flood: $fds fds, $th threads"
# pre-login budget 64 (+ as many dropped ones still closing), the held session
t_assert "threads bounded by the pre-login budget ($th, baseline $BASE_THREADS)" \
    [ "$th" -le $((BASE_THREADS + 2 * 64 + 8)) ]
t_assert "flood still running" kill -0 "$FLOOD_PID"

t_log "login storm: 300 sessions, 150 at a time, during the flood"
python3 "$HOSTILE" storm 127.0.0.1 "$PORT" "$IQN" --count 300 --inflight 150 --src 30-39 --max-seconds 60 \
    > "$T_DIR/storm.log" 2>&1 &
STORM_PID=$!
BG+=("$STORM_PID")
real_initiator "during the login storm"
wait "$STORM_PID"
cat "$T_DIR/storm.log"
t_assert "every storm login got in (retried when dropped)" grep -q "^storm: ok 300 refused 0 .* failed 0" "$T_DIR/storm.log"
real_initiator "after the login storm"

touch "$T_DIR/stop"
wait "$FLOOD_PID"
cat "$T_DIR/flood.log"
t_assert "pre-login limit per source logged" \
    grep -Eq "pre-login limit of 16 connections per source reached by 127\.0\.0\.(1[0-9]|2[0-4])" "$T_DIR/poold.log"
t_assert "pre-login limit in total logged" \
    grep -q "pre-login limit of 64 connections in total reached" "$T_DIR/poold.log"
t_assert "flood connections gone" t_poll 20 fds_back 1

t_log "session cap: 270 sessions held at once"
python3 "$HOSTILE" storm 127.0.0.1 "$PORT" "$IQN" --count 270 --inflight 270 --src 40-49 --max-seconds 60 \
    --hold "$T_DIR/release-storm" > "$T_DIR/hold.log" 2>&1 &
HOLD_PID=$!
BG+=("$HOLD_PID")
t_poll 60 grep -q "^storm:" "$T_DIR/hold.log"
cat "$T_DIR/hold.log"
t_assert "255 held sessions besides the first, 15 refused with 03/02" \
    grep -q "^storm: ok 255 refused 15 .* failed 0" "$T_DIR/hold.log"
t_assert "session limit logged" grep -q "login refused (03/02): session limit (256) of portal 127.0.0.1 port $PORT reached" "$T_DIR/poold.log"
touch "$T_DIR/release-storm"
wait "$HOLD_PID"
t_assert "storm sessions gone" t_poll 20 fds_back 1
real_initiator "after the session cap"

touch "$T_DIR/release"
wait "$SESSION_PID"; rc=$?
cat "$T_DIR/session.log"
t_assert "the session logged in before the attack still works (rc $rc)" [ "$rc" -eq 0 ]

t_assert "descriptors back to the baseline" t_poll 20 fds_back 0
fds=$(nfds) rss=$(rss_kb)
echo "# after: $fds fds (baseline $BASE_FDS), $(nthreads) threads, RSS $rss kB (baseline $BASE_RSS kB)"
t_assert "RSS within 128 MiB of the baseline ($rss kB)" [ "$rss" -le $((BASE_RSS + 131072)) ]
t_assert "poold still serves requests" pctl volume list "$T_POOL"
t_finish
