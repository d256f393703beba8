#!/bin/bash
# lease-fence.sh: the target fences itself by time (issue 10, item 0;
# docs/design.md section 7, "The deadline"). Two simulated hosts share a
# sanlock pool (io_timeout 2 s: renewal 4 s, fail 16 s, dead 76 s); host 1
# holds a volume's lease and an initiator writes numbered blocks through
# host 1's target every 5 ms, each write's completion time printed in
# CLOCK_BOOTTIME (the deadline's clock, and /proc/uptime's).
#   a. host 1's whole host freezes (its sanlock daemon and poold SIGSTOPped)
#      and poold resumes first, 0.2 s after the LUN's deadline, sanlock
#      0.3 s later: the write waiting in the socket and every one until sanlock
#      renews again is refused (DATA PROTECT 7/27/00); afterwards writes are
#      taken again.
#   b. host 1's sanlock daemon alone freezes while the writes flow: from its
#      deadline on (at most last renewal + 16 s - 4 s, so at most the freeze
#      + 12 s) not one write through host 1 completes; sanlock resumes 0.5 s
#      after the deadline, and writes are taken again. Meanwhile a request
#      that asks sanlock (lease status) fails after host 1's sanlock_timeout
#      (2 s here) with "sanlock did not answer", the next one at once, and
#      poold answers other requests.
#   c. host 1's whole host freezes and sanlock resumes first, 0.2 s after
#      the deadline, poold 50 ms later: every write taken after the
#      freeze was taken while a deadline poold had set before it (logged
#      with the time it was set) had not passed: the write waiting in the
#      socket, and those until poold has seen sanlock's next renewal, are
#      refused (unless sanlock renewed and poold saw it first).
# All resume sanlock before its own fail time (16 s without a renewal),
# after which it would kill poold, which holds the lease. io_timeout 2, not
# 1: the thaw comes 2T - 0.5 s before that fail time, and on a loaded
# machine (CI runs tests in parallel) 1.5 s was not always enough for
# sanlock's first renewal after the thaw, whose I/O must also finish within
# io_timeout; sanlock then killed poold.
# In both, the deadline poold logged is checked against the rule, and the
# blocks are read back through host 2: no refused write reached the disk
# (no block holds a sequence number above the last write acknowledged).
# A write that passed the check just before the deadline may complete just
# after it: TOLERANCE allows for that.
#
# Arg 1: tests/integration/tools/iscsi_seq_writer (libiscsi).
# Arg 2: tests/integration/tools/iscsi_write_probe (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
WRITER=${1:?usage: lease-fence.sh ISCSI_SEQ_WRITER ISCSI_WRITE_PROBE}
PROBE=${2:?usage: lease-fence.sh ISCSI_SEQ_WRITER ISCSI_WRITE_PROBE}
IO_TIMEOUT=2
VALID=$((6 * IO_TIMEOUT)) # seconds a renewal keeps the LUNs writable: 8T - 2T
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
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
# wait until CLOCK_BOOTTIME reaches $1 (s); fail after $2 s. awk, not
# python: the thaws below must follow the deadline closely (a host whose
# sanlock went 8T without renewing is failed, and sanlock kills poold)
wait_uptime() {
    local deadline=$((SECONDS + $2))
    until awk -v t="$1" '{ exit !($1 >= t) }' /proc/uptime; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.01
    done
}
# the last LUN deadline host 1's poold logged (CLOCK_BOOTTIME s), or ""
last_deadline() {
    grep -ao 'LUN deadline [0-9][0-9.]*' "$(c_log 1)" 2>/dev/null | tail -n 1 | cut -d' ' -f3
}
freeze() { kill -STOP "$@" && STOPPED+=("$@"); }
# poolctl on host I, given up after 4 s (a request must not hang on sanlock)
cpctl_to() { timeout 4 "$POOLCTL_BIN" --socket "$(c_host_dir "$1")/poold.sock" "${@:2}"; }
thaw() {
    local p q keep
    kill -CONT "$@"
    for p in "$@"; do
        keep=()
        for q in "${STOPPED[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
        STOPPED=("${keep[@]}")
    done
}
probe_write() { # HOST LUN
    "$PROBE" "iscsi://127.0.0.1:${C_PORT[$1]}/$IQN/$2" write 2>"$T_DIR/probe.err" ||
        echo "error: $(tr '\n' ' ' < "$T_DIR/probe.err")"
}
wait_write_ok() { # HOST LUN DEADLINE_SECS
    local deadline=$((SECONDS + $3)) r
    while :; do
        r=$(probe_write "$1" "$2")
        [ "$r" = ok ] && return 0
        [ $SECONDS -ge "$deadline" ] && { echo "never: $r" >&2; return 1; }
        sleep 0.1
    done
}
hosts_live() { # OBSERVER: hosts 1 and 2 live
    cpctl "$1" --json host list "$P" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
s = {h['host_id']: h['state'] for h in d['hosts']}
sys.exit(0 if s.get(1) == 'live' and s.get(2) == 'live' else 1)" 2>/dev/null
}
# start the writer on host 1's LUN with TAG; wait until 50 writes were taken
start_writer() { # TAG
    STOPFILE="$T_DIR/$1.stop"
    "$WRITER" "$URL1" write 60 5 "$1" "$STOPFILE" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
    WPID=$!
    t_bg_track "$WPID"
    t_poll 20 bash -c '[ "$(grep -c " ok$" "$1")" -ge 50 ]' _ "$T_DIR/$1.out"
}
# stop it between two writes (a write killed in flight may land unreported)
stop_writer() {
    touch "$STOPFILE"
    t_wait_gone "$WPID" 10 || kill -KILL "$WPID" 2>/dev/null
    wait "$WPID" 2>/dev/null
}
# analyse TAG's writes: every write taken completed before LIMIT (s), and
# some were refused between FROM and TO; prints a summary, fails with why
check_writes() { # TAG LIMIT FROM TO
    python3 - "$T_DIR/$1.out" "$2" "$3" "$4" <<'EOP'
import sys
path, limit, lo, hi = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [l.strip().split(None, 2) for l in open(path) if l.strip()]
ok = [(float(t), int(s)) for t, s, r in rows if r == "ok"]
late = [(t, s) for t, s in ok if lo <= t and t > limit and t < hi]
refused = [float(t) for t, s, r in rows if r == "sense 7/27/00" and lo <= float(t) <= hi]
other = [r for t, s, r in rows if r not in ("ok", "sense 7/27/00")]
last_ok = max((t for t, s in ok if t < hi), default=0)
print("writes %d, taken %d, refused in window %d, last taken before %.3f: %.3f (limit %.3f), "
      "taken after the limit: %d%s, first refused: %s, other answers: %s" % (
      len(rows), len(ok), len(refused), hi, last_ok, limit, len(late),
      " (first at %.3f, seq %d)" % late[0] if late else "",
      "%.3f" % min(refused) if refused else "none", sorted(set(other)) or "none"))
print("max_ok_seq", max((s for t, s in ok), default=0))
bad = bool(late or not refused)
if bad:  # the timeline, per half second: taken/refused
    buckets = {}
    for t, s, r in rows:
        b = buckets.setdefault(int(float(t) * 2) / 2, [0, 0, 0])
        b[0 if r == "ok" else 1 if r == "sense 7/27/00" else 2] += 1
    sys.stderr.write("timeline (s: taken/refused/other): " + " ".join(
        "%.1f:%d/%d/%d" % (k, *v) for k, v in sorted(buckets.items())) + "\n")
sys.exit(1 if bad else 0)
EOP
}

# every write of TAG taken after FROM (s) was taken at most TOLERANCE after a
# deadline host 1's poold had set before the write; prints a summary.
# The writer is synchronous: write N is sent when write N-1 has completed,
# and the target checks it somewhere between the two completions. When the
# whole host freezes (case c), the write in flight may have passed its
# check before the freeze and completes only at the thaw, long after the
# deadline: that write was checked in time (the 2 x io_timeout margin of
# the deadline is for it; a real host frozen that long is reset by its
# watchdog). So with "sent", a write counts from when it was sent (its
# predecessor's completion): only a write sent after the deadline is one
# the target must have refused. With the deadline check reverted, every
# write sent after the thaw is still caught.
check_covered() { # TAG FROM [sent]
    grep -ao 'LUN deadline [0-9.]* s .*set at [0-9.]* s' "$(c_log 1)" >"$T_DIR/deadlines"
    python3 - "$T_DIR/$1.out" "$2" "$TOLERANCE" "$T_DIR/deadlines" "${3:-done}" <<'EOP'
import re, sys
path, lo, tol, dl, when = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
sets = []
for l in open(dl):
    m = re.search(r"LUN deadline ([0-9.]+) s .*set at ([0-9.]+) s", l)
    if m:
        sets.append((float(m.group(2)), float(m.group(1))))
sets.sort()
rows = [l.strip().split(None, 2) for l in open(path) if l.strip()]
# each write: (sent, completed); "sent" is its predecessor's completion
# (the first row: its own), or its completion without "sent"
rows = [(float(rows[i - 1][0] if i and when == "sent" else t), float(t), s, r)
        for i, (t, s, r) in enumerate(rows)]
ok = [(sent, t, int(s)) for sent, t, s, r in rows if r == "ok" and t >= lo]
def covered(sent, t):
    # checked at some moment c in [sent, t] against the deadline last set
    # before c: possible only if some deadline set before t was still in
    # force at max(its setting, sent)
    return any(max(at, sent) <= d + tol for at, d in sets if at <= t)
bad = [(t, s) for sent, t, s in ok if not covered(sent, t)]
print("taken after %.3f: %d, deadlines set: %d, taken with no deadline in force: %d%s" % (
      lo, len(ok), len(sets), len(bad),
      " (first at %.3f, seq %d; last deadline set before it: %s)" % (
          bad[0][0], bad[0][1],
          max(((at, d) for at, d in sets if at <= bad[0][0]), default=None)) if bad else ""))
sys.exit(1 if bad or not ok else 0)
EOP
}

# the highest sequence number of TAG's writes that were taken
max_ok() { awk '$3 == "ok" && $2 > m { m = $2 } END { print m + 0 }' "$T_DIR/$1.out"; }

# ---- setup -----------------------------------------------------------------
c_hosts 2
c_shared_disk pv1 512M || exit 1
SLK_TIMEOUT=2
c_host_conf 1 sanlock_timeout $SLK_TIMEOUT
for h in 1 2; do
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done
t_assert "host 1's sanlock daemon runs in a session of its own" \
    bash -c '[ "$(awk "{print \$6}" /proc/$1/stat)" = "$1" ]' _ "${T_SLK_PID[1]}"
t_assert "host 1's poold runs in a session of its own" \
    bash -c '[ "$(awk "{print \$6}" /proc/$1/stat)" = "$1" ]' _ "$(c_poold_pid 1)"
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
t_assert "host 1's LUN takes writes" wait_write_ok 1 "$LUN" 20
t_assert "host 2's LUN refuses them" [ "$(probe_write 2 "$LUN")" = "sense 7/27/00" ]
t_assert "host 2 exports the LUN (reads)" t_poll 10 bash -c '"$1" "$2" read | grep -qx ok' _ "$PROBE" "$URL2"
SLK1=${T_SLK_PID[1]}
PD1=$(c_poold_pid 1)

# ---- a. whole host frozen; poold resumes first -----------------------------------
t_log "a. host 1 freezes (sanlock and poold), poold resumes first [$((SECONDS - T0)) s]"
t_assert "writes through host 1 flow" start_writer a
TF=$(uptime_s)
freeze "$SLK1" "$PD1"
D=$(last_deadline)
t_assert "poold logged a LUN deadline before the freeze (${D:-none})" [ -n "$D" ]
D=${D:-$(python3 -c "print($TF + $VALID)")}
t_log "frozen at $TF; deadline $D ($(python3 -c "print('%.3f' % ($D - $TF))") s after the freeze)"
t_assert "the deadline is at most the freeze + $VALID s" \
    python3 -c "import sys; sys.exit(0 if $D <= $TF + $VALID + 0.01 else 1)"
wait_uptime "$(add "$D" 0.2)" 20
RP=$(uptime_s)
thaw "$PD1"
wait_uptime "$(add "$RP" 0.3)" 5
RS=$(uptime_s)
thaw "$SLK1"
t_log "poold resumed at $RP, sanlock at $RS"
t_assert "writes taken again after sanlock renews" t_poll 15 bash -c \
    'awk -v t="$2" "\$1 > t && \$3 == \"ok\"" "$1" | grep -q .' _ "$T_DIR/a.out" "$RS"
tail -n 2 "$T_DIR/a.out" | sed 's/^/# writer a, last: /'; cat "$T_DIR/a.err"
stop_writer
out=$(check_writes a "$(python3 -c "print($D + $TOLERANCE)")" "$TF" "$RS")
t_assert "a: no write taken after the deadline until sanlock resumed ($(head -n 1 <<<"$out"))" \
    check_writes a "$(python3 -c "print($D + $TOLERANCE)")" "$TF" "$RS"
got=$("$WRITER" "$URL2" verify a 2>&1)
t_assert "a: read back through host 2: nothing above the last write acknowledged ($got, acknowledged $(max_ok a))" \
    bash -c '[ "${1% *}" = max ] && [ "${1#max }" -le "$2" ]' _ "$got" "$(max_ok a)"

# ---- b. sanlock alone frozen -------------------------------------------------------
t_log "b. host 1's sanlock freezes while writes flow [$((SECONDS - T0)) s]"
t_assert "host 1's LUN takes writes again" wait_write_ok 1 "$LUN" 20
t_assert "writes through host 1 flow" start_writer b
TF=$(uptime_s)
freeze "$SLK1"
# a check under way when sanlock stopped ends within its timeout
wait_uptime "$(python3 -c "print($TF + 1)")" 5
D=$(last_deadline)
t_assert "poold logged a LUN deadline before the freeze (${D:-none}; $(grep -ac 'LUN deadline' "$(c_log 1)") lines)" [ -n "$D" ]
D=${D:-$(python3 -c "print($TF + $VALID)")}
t_log "frozen at $TF; deadline $D ($(python3 -c "print('%.3f' % ($D - $TF))") s after the freeze)"
t_assert "the deadline is at most the freeze + $VALID s" \
    python3 -c "import sys; sys.exit(0 if $D <= $TF + $VALID + 0.01 else 1)"
# requests that ask the frozen sanlock fail in time; poold goes on answering
ts=$EPOCHREALTIME
t_expect_fail 1 "sanlock did not answer within $SLK_TIMEOUT s" cpctl_to 1 lease status "$P" v1
took=$(add "$EPOCHREALTIME" "-$ts")
t_assert "b: lease status gave up after at most $SLK_TIMEOUT s (took $took s)" \
    python3 -c "import sys; sys.exit(0 if $took < $SLK_TIMEOUT + 1 else 1)"
ts=$EPOCHREALTIME
t_expect_fail 1 "sanlock did not answer within $SLK_TIMEOUT s \(an earlier call to it is still waiting\)" \
    cpctl_to 1 lease status "$P" v1
took=$(add "$EPOCHREALTIME" "-$ts")
t_assert "b: the next one failed at once (took $took s)" \
    python3 -c "import sys; sys.exit(0 if $took < 0.5 else 1)"
t_assert "b: poold answers other requests meanwhile" cpctl_to 1 daemon version >/dev/null
wait_uptime "$(add "$D" 0.5)" 20
RS=$(uptime_s)
thaw "$SLK1"
t_log "sanlock resumed at $RS"
t_assert "writes taken again after sanlock renews" t_poll 15 bash -c \
    'awk -v t="$2" "\$1 > t && \$3 == \"ok\"" "$1" | grep -q .' _ "$T_DIR/b.out" "$RS"
tail -n 2 "$T_DIR/b.out" | sed 's/^/# writer b, last: /'; cat "$T_DIR/b.err"
stop_writer
out=$(check_writes b "$(python3 -c "print($D + $TOLERANCE)")" "$TF" "$RS")
t_assert "b: no write taken after the deadline while sanlock was stopped ($(head -n 1 <<<"$out"))" \
    check_writes b "$(python3 -c "print($D + $TOLERANCE)")" "$TF" "$RS"
got=$("$WRITER" "$URL2" verify b 2>&1)
t_assert "b: read back through host 2: nothing above the last write acknowledged ($got, acknowledged $(max_ok b))" \
    bash -c '[ "${1% *}" = max ] && [ "${1#max }" -le "$2" ]' _ "$got" "$(max_ok b)"
grep -E 'deadline not extended|renewing' "$(c_log 1)" | sed 's/^/# host 1: /' | tail -n 6
t_assert "b: host 1 answers sanlock requests again" t_poll 15 cpctl 1 lease status "$P" v1 >/dev/null

# ---- c. whole host frozen; sanlock resumes first --------------------------------
t_log "c. host 1 freezes (sanlock and poold), sanlock resumes first [$((SECONDS - T0)) s]"
t_assert "host 1's LUN takes writes again" wait_write_ok 1 "$LUN" 20
t_assert "writes through host 1 flow" start_writer c
TF=$(uptime_s)
freeze "$SLK1" "$PD1"
D=$(last_deadline)
t_assert "poold logged a LUN deadline before the freeze (${D:-none})" [ -n "$D" ]
D=${D:-$(python3 -c "print($TF + $VALID)")}
t_log "frozen at $TF; deadline $D ($(python3 -c "print('%.3f' % ($D - $TF))") s after the freeze)"
t_assert "the deadline is at most the freeze + $VALID s" \
    python3 -c "import sys; sys.exit(0 if $D <= $TF + $VALID + 0.01 else 1)"
wait_uptime "$(add "$D" 0.2)" 20
RS=$(uptime_s)
thaw "$SLK1"
thaw "$PD1" # at once: before sanlock's first renewal is on disk, most often
RP=$(uptime_s)
t_log "sanlock resumed at $RS, poold at $RP"
t_assert "writes taken again after sanlock renews" t_poll 15 bash -c \
    'awk -v t="$2" "\$1 > t && \$3 == \"ok\"" "$1" | grep -q .' _ "$T_DIR/c.out" "$RP"
tail -n 2 "$T_DIR/c.out" | sed 's/^/# writer c, last: /'; cat "$T_DIR/c.err"
stop_writer
out=$(check_covered c "$TF" sent)
t_assert "c: no write sent after the deadline was taken ($out)" check_covered c "$TF" sent
t_log "c: writes refused after poold resumed: $(awk -v t="$RP" '$1 > t && $3 == "sense" { n++ } END { print n + 0 }' "$T_DIR/c.out")"
got=$("$WRITER" "$URL2" verify c 2>&1)
t_assert "c: read back through host 2: nothing above the last write acknowledged ($got, acknowledged $(max_ok c))" \
    bash -c '[ "${1% *}" = max ] && [ "${1#max }" -le "$2" ]' _ "$got" "$(max_ok c)"

t_log "took $((SECONDS - T0)) s"
t_finish
