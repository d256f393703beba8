# tests/harness/lib.sh: the core of the shell harness, sourced by the
# integration tests (tests/integration/*.sh), the benches (bench/, with
# lib-bench.sh) and scripts/demo. It gives every script its own temp dir,
# loop devices and poold (own socket, state dir, config), and a trap that
# always tears down exactly what this script started: poold by its pid,
# loop devices by the names losetup gave us. Waits use deadlines, never
# fixed sleeps.
#
# T_NAME is the script's name; the temp dir is /tmp/$T_DIR_PREFIX-$T_NAME.*
# (T_DIR_PREFIX: poold-test unless the script set it before sourcing).
#
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
set -o pipefail

: "${POOL_BUILDDIR:?POOL_BUILDDIR must point at the meson build dir}"
POOLD_BIN="$POOL_BUILDDIR/poold/poold"
POOLCTL_BIN="$POOL_BUILDDIR/cli/poolctl"
export LVM_SUPPRESS_FD_WARNINGS=1

T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/${T_DIR_PREFIX:-poold-test}-$T_NAME.XXXXXX")
T_LOOPS=()
T_POOLD_PID=""
T_FAILS=0
T_CHECKS=0
# A VG name no other test uses (tests run in parallel on one machine).
T_POOL="t$(echo "$T_NAME" | tr -c 'a-zA-Z0-9\n' '_' | cut -c1-20)_$$"

t_cleanup() {
    local rc=$?
    if [ -n "$T_POOLD_PID" ] && kill -0 "$T_POOLD_PID" 2>/dev/null; then
        kill -TERM "$T_POOLD_PID" 2>/dev/null
        t_wait_gone "$T_POOLD_PID" 10 || kill -KILL "$T_POOLD_PID" 2>/dev/null
    fi
    for l in "${T_LOOPS[@]}"; do
        t_loop_is_ours "$l" && losetup -d "$l" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ -f "$T_DIR/poold.log" ]; then
        echo "---- poold log (last 40 lines) ----" >&2
        tail -n 40 "$T_DIR/poold.log" >&2
    fi
    rm -rf "$T_DIR"
    exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_log() { echo "# $*"; }

# Is loop device $1 still backed by a file of this test? A device this test
# detached on purpose may since have been attached by a test running in
# parallel: never detach by name alone.
t_loop_is_ours() {
    local back
    back=$(losetup -nO BACK-FILE "$1" 2>/dev/null) || return 1
    [[ "$back" == "$T_DIR"/* ]]
}

t_fail() {
    echo "FAIL: $*" >&2
    T_FAILS=$((T_FAILS + 1))
}

t_ok() { T_CHECKS=$((T_CHECKS + 1)); }

t_assert() { # t_assert DESCRIPTION CMD...
    local what=$1; shift
    if "$@"; then t_ok; else t_fail "$what"; fi
}

t_finish() {
    echo "# $T_NAME: $T_CHECKS checks passed, $T_FAILS failed"
    [ "$T_FAILS" -eq 0 ]
}

# Wait until a pid is gone, up to $2 seconds.
t_wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.05
    done
    return 0
}

# Create a sparse backing file of SIZE (a file already there keeps its
# data), attach it and store the loop device in variable VAR (not via
# $(...): the device must be recorded in this shell so the trap detaches
# it). LOSETUP-ARGS, e.g. --sizelimit N, go to losetup.
t_loop() { # t_loop VAR NAME SIZE [LOSETUP-ARGS...]
    local f="$T_DIR/$2.img"
    truncate -s "$3" "$f" || return 1
    local dev
    dev=$(losetup --find --show "${@:4}" "$f") || return 1
    T_LOOPS+=("$dev")
    printf -v "$1" '%s' "$dev"
}

t_write_config() { # extra "key = value" lines on stdin
    local extra
    extra=$(cat)
    cat > "$T_DIR/poold.conf" <<EOC
socket_path = "$T_DIR/poold.sock"
state_dir = "$T_DIR/state"
log_level = "debug"
client_timeout = 5
EOC
    # single-host tests: pools without sanlock unless the test says so
    grep -q '^default_locking' <<< "$extra" || echo 'default_locking = "none"' >> "$T_DIR/poold.conf"
    # and no libvirt: a host's system libvirtd must never see test pools
    grep -q '^libvirt_' <<< "$extra" || echo 'libvirt_pool_type = "off"' >> "$T_DIR/poold.conf"
    # the target is off unless the test asks for a portal (tests run in
    # parallel and must not fight over port 3260)
    grep -q '^iscsi_portal' <<< "$extra" || echo 'iscsi_portal = ""' >> "$T_DIR/poold.conf"
    [ -n "$extra" ] && echo "$extra" >> "$T_DIR/poold.conf"
    return 0
}

# A TCP port for this test's portal: from BASE (default: derived from the
# pid), skipping ports in use.
t_free_port() { # t_free_port [BASE]
    local p=${1:-$((32000 + ($$ * 7) % 20000))}
    while [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; do p=$((p + 1)); done
    echo "$p"
}

# Wait until something listens on 127.0.0.1:$1 (deadline $2 s).
t_wait_port() {
    local deadline=$((SECONDS + ${2:-10}))
    until [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

# Start poold in the foreground (backgrounded by us), wait for its socket.
t_start_poold() {
    [ -f "$T_DIR/poold.conf" ] || t_write_config </dev/null
    "$POOLD_BIN" --foreground --config "$T_DIR/poold.conf" >>"$T_DIR/poold.log" 2>&1 &
    T_POOLD_PID=$!
    local deadline=$((SECONDS + 30))
    until "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" daemon version >/dev/null 2>&1; do
        if ! kill -0 "$T_POOLD_PID" 2>/dev/null; then
            wait "$T_POOLD_PID" 2>/dev/null
            echo "poold exited during startup" >&2
            T_POOLD_PID=""
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "poold did not come up" >&2; return 1; }
        sleep 0.05
    done
}

t_stop_poold() {
    [ -n "$T_POOLD_PID" ] || return 0
    kill -TERM "$T_POOLD_PID"
    if ! t_wait_gone "$T_POOLD_PID" 30; then
        echo "poold did not stop on SIGTERM" >&2
        kill -KILL "$T_POOLD_PID"
        return 1
    fi
    wait "$T_POOLD_PID" 2>/dev/null
    local rc=$?
    T_POOLD_PID=""
    return $rc
}

# poolctl against this test's poold.
pctl() { "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" "$@"; }

# lvm restricted to this test's loop devices, activation off (no dm here).
t_lvm() {
    local sub=$1; shift
    local filt="" d
    for d in "${T_LOOPS[@]}"; do filt="$filt\"a|^$d\$|\","; done
    lvm "$sub" --config "devices { filter=[${filt}\"r|.*|\"] global_filter=[${filt}\"r|.*|\"] use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 } global { activation=0 } backup { backup=0 archive=0 }" "$@" 2> >(grep -v -e 'WARNING: Activation disabled' -e 'NOT backed up' >&2)
}

# Expect a command to fail with exit code $1 and stderr matching regex $2.
t_expect_fail() { # t_expect_fail CODE REGEX CMD...
    local code=$1 re=$2; shift 2
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" -eq 0 ]; then
        t_fail "expected failure but succeeded: $*"
    elif [ "$code" != "any" ] && [ "$rc" -ne "$code" ]; then
        t_fail "expected exit $code, got $rc: $* -> $err"
    elif ! [[ "$err" =~ $re ]]; then
        t_fail "error text did not match /$re/: $* -> $err"
    elif ! [[ "$err" =~ ^poolctl:\ error:\  ]]; then
        t_fail "error not in 'poolctl: error: ...' form: $err"
    else
        t_ok
    fi
}

# Wall-clock seconds with fractions, and the seconds since such a stamp.
t_now() { date +%s.%N; }
t_took() { awk -v a="$1" -v b="$(t_now)" 'BEGIN { printf "%.2f", b - a }'; }
# Wait (deadline, not a fixed sleep) until CMD... succeeds; 1 on timeout.
t_poll() { # t_poll SECONDS CMD...
    local deadline
    deadline=$(awk -v s="$1" -v n="$(t_now)" 'BEGIN { printf "%.3f", n + s }')
    shift
    until "$@"; do
        awk -v d="$deadline" -v n="$(t_now)" 'BEGIN { exit !(n >= d) }' && return 1
        sleep 0.05
    done
}
# The first KiB of an image or iscsi:// URL, read with qemu-io, as hex.
t_read_head() { # t_read_head URL
    qemu-io -f raw -r -c "read -v 0 1024" "$1" 2>/dev/null | python3 -c '
import re, sys
out = bytearray()
for line in sys.stdin:
    m = re.match(r"^([0-9a-f]{8}):((?:\s+[0-9a-f]{2}){1,16})", line)
    if m:
        out += bytes(int(x, 16) for x in m.group(2).split())
sys.stdout.write(out.hex())'
}
