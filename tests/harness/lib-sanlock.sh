# tests/harness/lib-sanlock.sh: private sanlock daemons for simulated
# hosts. Source it after lib.sh.
#
# Each simulated host gets its own daemon, found by clients through
# SANLOCK_RUN_DIR (its socket and pid file live there), under the test's
# temp dir. The daemon runs:
#   - with LD_PRELOAD of tests/harness/sanlock_rlimit_shim.so: it raises
#     RLIMIT_MEMLOCK/RTPRIO/CORE at start and exits when that fails, and these
#     machines lack CAP_SYS_RESOURCE;
#   - with -w 0 -l 0 -h 0: no watchdog (no wdmd here), no mlockall, no RT
#     scheduling (the limits the shim fakes are therefore never needed);
#   - in the foreground (-D) so the pid we record is the daemon itself, with
#     its log on stderr into the host's dir (-L -1 -S -1: no /var/log file,
#     no syslog shared with other tests);
#   - as root (-U 0 -G 0): it must open the test's loop devices and files;
#   - with -e NAME: the host name written into its delta leases;
#   - in a session of its own (setsid), so that a test may SIGSTOP it: a
#     stopped process in a process group the kernel finds orphaned gets
#     SIGHUP + SIGCONT.
# Daemons are stopped by the pid we started (never by name); the EXIT trap
# stops any still running before lib.sh detaches the loop devices.
#
# SPDX-License-Identifier: GPL-2.0-or-later

SANLOCK_BIN=$(command -v sanlock || true)
SLK_SHIM="$POOL_BUILDDIR/tests/harness/sanlock_rlimit_shim.so"
declare -A T_SLK_PID=()  # host -> daemon pid
T_BG_PIDS=()              # other background helpers (lease holders)

# Skip (77) when sanlock or the shim is missing.
t_sanlock_require() {
    if [ -z "$SANLOCK_BIN" ]; then
        echo "# sanlock not installed (scripts/deps installs it): skipping"
        exit 77
    fi
    if [ ! -f "$SLK_SHIM" ]; then
        echo "# $SLK_SHIM not built: skipping"
        exit 77
    fi
}

t_sanlock_dir() { echo "$T_DIR/sanlock-$1"; }

# Run a command as simulated host $1 (its daemon via SANLOCK_RUN_DIR).
t_as_host() { # t_as_host HOST CMD...
    local h=$1; shift
    SANLOCK_RUN_DIR="$(t_sanlock_dir "$h")" "$@"
}

# sanlock client as host $1.
slk() { # slk HOST ARGS...
    local h=$1; shift
    t_as_host "$h" "$SANLOCK_BIN" client "$@"
}

# Start host $1's daemon; wait (deadline) until it answers on its socket.
t_sanlock_start() { # t_sanlock_start HOST
    local h=$1 dir
    dir=$(t_sanlock_dir "$h")
    mkdir -p "$dir" || return 1
    SANLOCK_RUN_DIR="$dir" LD_PRELOAD="$SLK_SHIM" \
        setsid "$SANLOCK_BIN" daemon -D -w 0 -l 0 -h 0 -L -1 -S -1 -U 0 -G 0 -e "$T_NAME-$h-$$" \
        >>"$dir/daemon.log" 2>&1 </dev/null &
    T_SLK_PID[$h]=$!
    local deadline=$((SECONDS + 15))
    until slk "$h" status >/dev/null 2>&1; do
        if ! kill -0 "${T_SLK_PID[$h]}" 2>/dev/null; then
            wait "${T_SLK_PID[$h]}" 2>/dev/null
            echo "sanlock daemon of host $h exited during startup:" >&2
            tail -n 5 "$dir/daemon.log" >&2
            unset "T_SLK_PID[$h]"
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "sanlock daemon of host $h did not come up" >&2; return 1; }
        sleep 0.05
    done
}

# Simulated power loss: SIGKILL host $1's daemon (its leases stay on disk).
t_sanlock_kill() { # t_sanlock_kill HOST
    local h=$1 pid=${T_SLK_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "T_SLK_PID[$h]"
}

# Clean stop: ask the daemon to drop its lockspaces and exit (-f 1 kills its
# registered clients and releases their leases), then SIGTERM, then SIGKILL,
# each with a deadline, always by pid.
t_sanlock_stop() { # t_sanlock_stop HOST
    local h=$1 pid=${T_SLK_PID[$1]:-}
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        t_as_host "$h" timeout 20 "$SANLOCK_BIN" client shutdown -f 1 -w 1 \
            >/dev/null 2>&1 </dev/null
    fi
    unset "T_SLK_PID[$h]"
    t_wait_gone "$pid" 10 || { kill -TERM "$pid" 2>/dev/null; t_wait_gone "$pid" 5; } ||
        kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Remember a background helper so the trap ends it.
t_bg_track() { T_BG_PIDS+=("$1"); }

t_sanlock_cleanup() {
    local p h
    for p in "${T_BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    T_BG_PIDS=()
    for h in "${!T_SLK_PID[@]}"; do
        t_sanlock_stop "$h"
    done
}

# Our cleanup first (daemons hold the loop devices open), then lib.sh's,
# which must still see the test's exit status in $?.
trap 'rc=$?; t_sanlock_cleanup; (exit $rc); t_cleanup' EXIT
