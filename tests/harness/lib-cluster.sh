# tests/harness/lib-cluster.sh: several simulated hosts on one machine,
# each with its own sanlock daemon and poold. Source it after lib.sh and
# lib-sanlock.sh.
#
# Host I (1, 2, ...) lives in $T_DIR/hI: its poold.conf, control socket,
# state dir, lvm lock dir and poold.log. Its sanlock daemon is lib-sanlock.sh's
# host I (t_sanlock_start I, found through SANLOCK_RUN_DIR, which poold gets
# in its environment). Its iSCSI portal is 127.0.0.1:C_PORT[I], from a port
# range derived from the test's pid.
#
# Shared storage. Every simulated host sees the same LUNs, but through its own
# loop device: c_shared_disk attaches one backing file once per host. One
# device per host is needed because poold's target opens every PV O_EXCL
# (a second poold on the same machine could not open a PV the first one
# serves), and it is what a real SAN looks like (each host has its own path
# to the LUN). All I/O that matters (lvm metadata, sanlock, the target) is
# O_DIRECT on the loop device, which the loop driver turns into I/O on the one
# backing file, so every host sees every other host's writes. Host 1's
# devices are lib.sh's T_LOOPS, so t_lvm (and its filter) sees the pool
# exactly once, through host 1's devices; the other hosts' devices are kept
# in C_LOOPS and detached by our trap.
#
#   c_hosts N                      declare N hosts (before c_shared_disk)
#   c_shared_disk NAME SIZE        one shared LUN, attached for hosts 1..N
#   c_dev I NAME                   host I's device for shared disk NAME
#   c_devs I                       host I's devices of all shared disks
#   c_host_conf I KEY VALUE        override a poold.conf key of host I (next
#                                  start; VALUE as in the file, "" drops the key)
#   c_host_start I [ENV=VAL...]    (sanlock if not running +) poold of host I
#   c_poold_stop I                 stop host I's poold cleanly (sanlock stays)
#   c_host_stop I                  stop host I's poold, then its sanlock
#   c_host_kill I                  SIGKILL poold and sanlock: power loss
#   cpctl I ARGS...                poolctl against host I
#   c_log I                        path of host I's poold log
#
# The EXIT trap ends only what was started here, by pid, in order: background
# helpers, poolds (a SIGSTOPped one is continued first), sanlock daemons
# (lib-sanlock.sh), the other hosts' loop devices, then lib.sh's cleanup.
#
# SPDX-License-Identifier: GPL-2.0-or-later

C_NHOSTS=0
C_DISKS=()                 # shared disk names, in creation order
declare -A C_DEV=()        # "I:NAME" -> host I's loop device of disk NAME
C_LOOPS=()                 # loop devices of hosts 2..N (host 1: T_LOOPS)
declare -A C_POOLD_PID=()  # host -> poold pid
declare -A C_PORT=()       # host -> iSCSI portal port
declare -A C_CONF=()       # "I:key" -> value override (written verbatim)
C_PORT_NEXT=""

c_hosts() { C_NHOSTS=$1; }

c_host_dir() { echo "$T_DIR/h$1"; }
c_log() { echo "$T_DIR/h$1/poold.log"; }

# One shared LUN: a sparse backing file attached once per host. Host 1's
# device goes through lib.sh's t_loop (T_LOOPS).
c_shared_disk() { # c_shared_disk NAME SIZE
    local name=$1 size=$2 i dev c_first_dev
    [ "$C_NHOSTS" -ge 1 ] || { echo "c_shared_disk: call c_hosts N first" >&2; return 1; }
    # (t_loop stores into the caller's variable: not one named like its own local)
    t_loop c_first_dev "$name" "$size" || return 1
    C_DEV[1:$name]=$c_first_dev
    for ((i = 2; i <= C_NHOSTS; i++)); do
        dev=$(losetup --find --show "$T_DIR/$name.img") || return 1
        C_LOOPS+=("$dev")
        C_DEV[$i:$name]=$dev
    done
    C_DISKS+=("$name")
}

c_dev() { echo "${C_DEV[$1:$2]}"; }

c_devs() {
    local d out=()
    for d in "${C_DISKS[@]}"; do out+=("${C_DEV[$1:$d]}"); done
    echo "${out[@]}"
}

c_host_conf() { C_CONF[$1:$2]=$3; } # c_host_conf I KEY VALUE (VALUE as in the file)

# The portal port of host I, assigned on first use: consecutive free ports
# from the test's t_free_port.
c_port() {
    local h=$1 p
    if [ -z "${C_PORT[$h]:-}" ]; then
        [ -n "$C_PORT_NEXT" ] || C_PORT_NEXT=$(t_free_port)
        p=$C_PORT_NEXT
        while [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; do p=$((p + 1)); done
        C_PORT[$h]=$p
        C_PORT_NEXT=$((p + 1))
    fi
    echo "${C_PORT[$h]}"
}

c_write_config() { # c_write_config I
    local h=$1 dir key
    dir=$(c_host_dir "$h")
    mkdir -p "$dir/lvmlock" || return 1
    [ -n "${C_PORT[$h]:-}" ] || c_port "$h" >/dev/null
    local -A conf=(
        [socket_path]="\"$dir/poold.sock\""
        [state_dir]="\"$dir/state\""
        [log_level]='"debug"'
        [client_timeout]=30
        [host_name]="\"h$h\""
        [iscsi_portal]="\"127.0.0.1:${C_PORT[$h]}\""
        [lvm_locking_dir]="\"$dir/lvmlock\""
        [default_locking]='"sanlock"'
        [refresh_interval_ms]=200
        [lease_wait]=60
        # no libvirt unless the test gives this host one (c_host_conf)
        [libvirt_pool_type]='"off"'
    )
    for key in "${!C_CONF[@]}"; do
        if [ "${key%%:*}" = "$h" ]; then conf[${key#*:}]=${C_CONF[$key]}; fi
    done
    : > "$dir/poold.conf"
    for key in "${!conf[@]}"; do
        if [ -n "${conf[$key]}" ]; then echo "$key = ${conf[$key]}" >> "$dir/poold.conf"; fi
    done
}

# Start host I: its sanlock daemon unless running, then poold with
# SANLOCK_RUN_DIR and the extra environment given; wait (deadline) until it
# answers on its socket and its portal listens.
c_host_start() { # c_host_start I [ENV=VAL...]
    local h=$1; shift
    local dir pid
    dir=$(c_host_dir "$h")
    if [ -n "${C_POOLD_PID[$h]:-}" ] && kill -0 "${C_POOLD_PID[$h]}" 2>/dev/null; then
        echo "c_host_start: poold of host $h already runs (pid ${C_POOLD_PID[$h]})" >&2
        return 1
    fi
    if [ -z "${T_SLK_PID[$h]:-}" ]; then
        t_sanlock_start "$h" || return 1
    fi
    c_write_config "$h" || return 1
    # own session (setsid), like the sanlock daemons: tests SIGSTOP it
    env SANLOCK_RUN_DIR="$(t_sanlock_dir "$h")" "$@" \
        setsid "$POOLD_BIN" --foreground --config "$dir/poold.conf" >>"$dir/poold.log" 2>&1 </dev/null &
    pid=$!
    C_POOLD_PID[$h]=$pid
    local deadline=$((SECONDS + 30))
    until cpctl "$h" daemon version >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            unset "C_POOLD_PID[$h]"
            echo "poold of host $h exited during startup:" >&2
            tail -n 20 "$dir/poold.log" >&2
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "poold of host $h did not come up" >&2; return 1; }
        sleep 0.05
    done
    t_wait_port "${C_PORT[$h]}" 10 || { echo "host $h's portal is not listening on ${C_PORT[$h]}" >&2; return 1; }
}

cpctl() { # cpctl I ARGS...
    local h=$1; shift
    "$POOLCTL_BIN" --socket "$(c_host_dir "$h")/poold.sock" "$@"
}

c_poold_pid() { echo "${C_POOLD_PID[$1]:-}"; }

# Clean stop of host I's poold (SIGTERM, deadline, then SIGKILL); its sanlock
# daemon keeps running. Returns non-zero if poold had to be killed or exited
# with an error.
c_poold_stop() { # c_poold_stop I
    local h=$1 pid=${C_POOLD_PID[$1]:-} rc=0
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    if ! t_wait_gone "$pid" 30; then
        echo "poold of host $h did not stop on SIGTERM" >&2
        kill -KILL "$pid" 2>/dev/null
        rc=1
    fi
    wait "$pid" 2>/dev/null || rc=1
    unset "C_POOLD_PID[$h]"
    return $rc
}

# Clean stop of host I: poold first (it is a sanlock client), then sanlock.
c_host_stop() { # c_host_stop I
    local rc=0
    c_poold_stop "$1" || rc=1
    t_sanlock_stop "$1"
    return $rc
}

# Simulated power loss of host I: SIGKILL poold and its sanlock daemon at
# once (a SIGSTOPped poold dies too). Leases stay on disk as they were.
c_host_kill() { # c_host_kill I
    local h=$1 pids=()
    [ -n "${C_POOLD_PID[$h]:-}" ] && pids+=("${C_POOLD_PID[$h]}")
    [ -n "${T_SLK_PID[$h]:-}" ] && pids+=("${T_SLK_PID[$h]}")
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -KILL "${pids[@]}" 2>/dev/null
    if [ -n "${C_POOLD_PID[$h]:-}" ]; then
        wait "${C_POOLD_PID[$h]}" 2>/dev/null
        unset "C_POOLD_PID[$h]"
    fi
    t_sanlock_kill "$h"
}

# Process state letter of host I's poold (R, S, T, ...), empty if gone.
c_poold_state() {
    local pid=${C_POOLD_PID[$1]:-}
    [ -n "$pid" ] || return 0
    awk '{print $3}' "/proc/$pid/stat" 2>/dev/null
}

c_cleanup() { # c_cleanup RC
    local rc=$1 p h
    for p in "${T_BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    T_BG_PIDS=()
    for h in "${!C_POOLD_PID[@]}"; do
        c_poold_stop "$h" >/dev/null 2>&1
    done
    if [ "$rc" -ne 0 ]; then
        for ((h = 1; h <= C_NHOSTS; h++)); do
            [ -f "$(c_log "$h")" ] || continue
            echo "---- host $h: poold log (last 30 lines) ----" >&2
            tail -n 30 "$(c_log "$h")" >&2
        done
    fi
}

c_detach_loops() {
    local l
    for l in "${C_LOOPS[@]}"; do
        t_loop_is_ours "$l" && losetup -d "$l" 2>/dev/null
    done
    C_LOOPS=()
}

# Ours first (poolds are sanlock clients and hold the devices open), then
# lib-sanlock.sh's daemons, the other hosts' loop devices, and lib.sh's
# cleanup, which must still see the test's exit status in $?.
trap 'rc=$?; c_cleanup $rc; t_sanlock_cleanup; c_detach_loops; (exit $rc); t_cleanup' EXIT
