#!/bin/bash
# lease-takeover.sh: another host takes a frozen host's lease after dead
# time, and not one write through the frozen host's target lands after that
# host's deadline (issue 10, item 0; docs/design.md section 7, "The
# deadline"). Two simulated hosts share a sanlock pool (io_timeout 1 s:
# renewal 2 s, fail 8 s, dead 68 s). Host 1 holds volume v1's lease and an
# initiator writes numbered blocks ("poold-seq h1 N", LBA N % 256) through
# host 1's target every 5 ms, each completion time printed in CLOCK_BOOTTIME.
# Then host 1's sanlock daemon alone is SIGSTOPped: its poold and target go
# on running, and sanlock on host 1 neither renews nor kills anything.
# Host 2 tries to take v1's lease every 0.25 s and gets it once host 1 is
# dead; then an initiator writes host 2's own pattern ("poold-seq h2 N")
# through host 2's target over all 256 blocks, while host 1's writer goes on.
# Host 1's sanlock is continued (it finds its lockspace failed and kills
# poold, which held the lease), and the writers stop. Checked:
#   - no write through host 1 was taken after host 1's last LUN deadline
#     (plus TOLERANCE for a write checked just before it), and host 1's
#     writer was refused after it;
#   - host 2 got the lease only after that deadline, and not before host 1
#     would be dead (60 s after the freeze);
#   - read back through host 2, all 256 blocks hold host 2's pattern, up to
#     its last acknowledged write, and none holds host 1's.
# About 90 s, most of it waiting for host 1 to be dead.
#
# Arg 1: tests/integration/tools/iscsi_seq_writer (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
WRITER=${1:?usage: lease-takeover.sh ISCSI_SEQ_WRITER}
IO_TIMEOUT=1
VALID=6         # seconds a renewal keeps the LUNs writable: 8T - 2T
TOLERANCE=0.25  # seconds: a write checked just before the deadline
t_sanlock_require
T0=$SECONDS
P=$T_POOL
IQN="iqn.2026-11.org.poold:$P"

# A SIGSTOPped daemon must be continued before the trap stops it.
STOPPED=()
trap 'rc=$?; for p in "${STOPPED[@]}"; do kill -CONT "$p" 2>/dev/null; done;
      c_cleanup $rc; t_sanlock_cleanup; c_detach_loops; (exit $rc); t_cleanup' EXIT

uptime_s() { cut -d' ' -f1 /proc/uptime; } # CLOCK_BOOTTIME, 10 ms steps
# the last LUN deadline host 1's poold logged (CLOCK_BOOTTIME s), or ""
last_deadline() {
    grep -ao 'LUN deadline [0-9][0-9.]*' "$(c_log 1)" 2>/dev/null | tail -n 1 | cut -d' ' -f3
}
hosts_live() { # OBSERVER: hosts 1 and 2 live
    cpctl "$1" --json host list "$P" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
s = {h['host_id']: h['state'] for h in d['hosts']}
sys.exit(0 if s.get(1) == 'live' and s.get(2) == 'live' else 1)" 2>/dev/null
}
# count the taken writes of TAG after FROM (s)
taken_after() { awk -v t="$2" '$1 > t && $3 == "ok" { n++ } END { print n + 0 }' "$T_DIR/$1.out"; }
refused_after() { awk -v t="$2" '$1 > t && $3 == "sense" { n++ } END { print n + 0 }' "$T_DIR/$1.out"; }
max_ok() { awk '$3 == "ok" && $2 > m { m = $2 } END { print m + 0 }' "$T_DIR/$1.out"; }
start_writer() { # TAG URL: wait until 50 writes were taken
    "$WRITER" "$2" write 300 5 "$1" "$T_DIR/$1.stop" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
    WPID[$1]=$!
    t_bg_track "${WPID[$1]}"
    t_poll 20 bash -c '[ "$(grep -c " ok$" "$1")" -ge 50 ]' _ "$T_DIR/$1.out"
}
# stop it between two writes (a write killed in flight may land unreported)
stop_writer() { # TAG
    touch "$T_DIR/$1.stop"
    t_wait_gone "${WPID[$1]}" 10 || kill -KILL "${WPID[$1]}" 2>/dev/null
    wait "${WPID[$1]}" 2>/dev/null
}
declare -A WPID

# ---- setup -----------------------------------------------------------------
c_hosts 2
c_shared_disk pv1 512M || exit 1
for h in 1 2; do
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done
t_assert "host 1: pool create --locking sanlock --io-timeout $IO_TIMEOUT --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout $IO_TIMEOUT \
    --host-ids 4 --lease-slots 8 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "hosts 1 and 2 live" t_poll 60 hosts_live 1
t_assert "host 1: volume create v1" cpctl 1 volume create "$P" v1 8M >/dev/null
LUN=$(cpctl 1 --json volume info "$P" v1 | python3 -c "import json,sys; print(json.load(sys.stdin)['lun'])")
URL1="iscsi://127.0.0.1:${C_PORT[1]}/$IQN/$LUN"
URL2="iscsi://127.0.0.1:${C_PORT[2]}/$IQN/$LUN"
t_assert "host 1: lease acquire v1" cpctl 1 lease acquire "$P" v1 --wait 20 >/dev/null
t_assert "host 2 exports the LUN (reads)" t_poll 20 "$WRITER" "$URL2" verify h1
SLK1=${T_SLK_PID[1]}
t_assert "host 1's sanlock daemon runs in a session of its own" \
    bash -c '[ "$(awk "{print \$6}" /proc/$1/stat)" = "$1" ]' _ "$SLK1"

# ---- host 1's sanlock freezes; host 2 takes the lease ------------------------
t_assert "writes through host 1 flow" start_writer h1 "$URL1"
TF=$(uptime_s)
kill -STOP "$SLK1" && STOPPED+=("$SLK1")
t_log "host 1's sanlock frozen at $TF [$((SECONDS - T0)) s]; host 2 tries to take v1's lease"
T_ACQ="" early=""
deadline=$((SECONDS + 120))
while [ $SECONDS -lt $deadline ]; do
    err=$(cpctl 2 lease acquire "$P" v1 --wait 0 2>&1) && { T_ACQ=$(uptime_s); break; }
    grep -q "held by host 1" <<<"$err" || early="$err"
    sleep 0.25
done
D1=$(last_deadline)
t_log "host 2 took the lease at ${T_ACQ:-never} ($(awk -v a="${T_ACQ:-0}" -v b="$TF" 'BEGIN { printf "%.1f", a - b }') s after the freeze); host 1's last deadline ${D1:-none}"
t_assert "host 2 took the lease" [ -n "$T_ACQ" ]
t_assert "failed tries were refused naming host 1 (${early:-ok})" [ -z "$early" ]
t_assert "host 1 logged a LUN deadline, at most the freeze + $VALID s ($D1)" \
    python3 -c "import sys; sys.exit(0 if '$D1' and float('$D1') <= $TF + $VALID + 0.01 else 1)"
t_assert "host 2 got it not sooner than 60 s after the freeze" \
    python3 -c "import sys; sys.exit(0 if float('${T_ACQ:-0}') >= $TF + 60 else 1)"

# ---- host 2 writes its pattern over every block --------------------------------
t_assert "writes through host 2 flow" start_writer h2 "$URL2"
t_assert "host 2 wrote 300 blocks" t_poll 30 bash -c '[ "$(grep -c " ok$" "$1")" -ge 300 ]' _ "$T_DIR/h2.out"
RS=$(uptime_s)
kill -CONT "$SLK1" && STOPPED=()
t_log "host 1's sanlock continued at $RS"
# host 1's writer goes on until its session ends (sanlock kills poold) or 3 s
t_poll 3 bash -c '! kill -0 "$1" 2>/dev/null' _ "${WPID[h1]}"
stop_writer h1
stop_writer h2
tail -n 1 "$T_DIR/h1.out" | sed 's/^/# writer h1, last: /'; cat "$T_DIR/h1.err"

# ---- what landed ------------------------------------------------------------------
LIMIT=$(awk -v a="${D1:-0}" -v b="$TOLERANCE" 'BEGIN { printf "%.3f", a + b }')
late=$(awk -v t="$LIMIT" '$1 > t && $3 == "ok"' "$T_DIR/h1.out" | head -n 3 | tr '\n' ' ')
t_assert "no write through host 1 taken after its deadline $D1 (+$TOLERANCE s): ${late:-none}; taken after it: $(taken_after h1 "$LIMIT")" \
    [ "$(taken_after h1 "$LIMIT")" -eq 0 ]
t_assert "host 1's writer was refused after its deadline ($(refused_after h1 "$LIMIT") times)" \
    [ "$(refused_after h1 "$LIMIT")" -gt 0 ]
t_assert "host 2 got the lease after host 1's deadline" \
    python3 -c "import sys; sys.exit(0 if float('${T_ACQ:-0}') > float('${D1:-0}') else 1)"
h2=$("$WRITER" "$URL2" count h2 2>&1)
h1=$("$WRITER" "$URL2" count h1 2>&1)
t_assert "read back through host 2: every block holds host 2's pattern up to its last acknowledged write ($h2; acknowledged $(max_ok h2))" \
    [ "$h2" = "blocks 256 max $(max_ok h2)" ]
t_assert "read back through host 2: no block holds host 1's ($h1)" [ "$h1" = "blocks 0 max 0" ]

t_log "took $((SECONDS - T0)) s"
t_finish
