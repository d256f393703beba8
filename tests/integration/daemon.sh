#!/bin/bash
# daemon.sh: poold as a service: one daemon per state dir, socket mode and
# peer credentials, systemd's notify protocol, configuration checking, clean
# shutdown by SIGTERM and by request.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"

t_start_poold || exit 1
t_assert "poolctl daemon version" pctl daemon version
mode=$(stat -c %a "$T_DIR/poold.sock")
t_assert "socket mode is 660 (got $mode)" [ "$mode" = 660 ]
t_assert "pool list works with no pools" pctl pool list

out=$("$POOLD_BIN" --foreground --config "$T_DIR/poold.conf" 2>&1); rc=$?
t_assert "a second poold on the same state dir is refused (rc $rc)" [ "$rc" -ne 0 ]
t_assert "... naming the running one: $out" bash -c '[[ $1 == *"pid $2"*"already running"* ]]' _ "$out" "$T_POOLD_PID"

# unprivileged peers: the file mode stops them at connect
t_expect_fail 6 "Permission denied|permission denied" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" pool list

t_assert "SIGTERM stops poold cleanly" t_stop_poold
t_assert "socket removed on exit" [ ! -e "$T_DIR/poold.sock" ]

# systemd's notify protocol (the unit is Type=notify): STATUS= lines while
# poold starts, READY=1 only once it answers requests, STOPPING=1 at stop.
# The receiver is this test's own datagram socket; it exits at STOPPING=1
# or after 60 s, and the trap ends it by pid if the test fails first.
python3 - "$T_DIR/notify.sock" "$T_DIR/notify.log" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.monotonic() + 60
with open(sys.argv[2], "a", buffering=1) as log:
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        log.write(msg.rstrip("\n") + "\n")
        if "STOPPING=1" in msg.split("\n"):
            break
EOF
NOTIFY_PID=$!
trap 'rc=$?; kill "$NOTIFY_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT
t_assert "notify receiver listening" t_poll 10 test -S "$T_DIR/notify.sock"
NOTIFY_SOCKET="$T_DIR/notify.sock" t_start_poold || exit 1
t_assert "READY=1 once poolctl is answered" t_poll 10 grep -qx 'READY=1' "$T_DIR/notify.log"
ready=$(grep -nx 'READY=1' "$T_DIR/notify.log" | head -1 | cut -d: -f1)
status=$(grep -n '^STATUS=reconciling' "$T_DIR/notify.log" | head -1 | cut -d: -f1)
t_assert "STATUS=reconciling... came before READY=1 (lines ${status:-none}, $ready)" \
    [ "${status:-999999}" -lt "${ready:-0}" ]
t_assert "SIGTERM stops the notifying poold" t_stop_poold
t_assert "STOPPING=1 at stop" t_poll 10 grep -qx 'STOPPING=1' "$T_DIR/notify.log"
t_assert "the receiver is done" t_wait_gone "$NOTIFY_PID" 10
# with a NOTIFY_SOCKET that is not a socket path, poold still starts
NOTIFY_SOCKET="not-a-path" t_start_poold || exit 1
t_assert "a bad NOTIFY_SOCKET does not stop poold" pctl daemon version
t_assert "... and it stops cleanly" t_stop_poold

# a world-writable socket still checks SO_PEERCRED
echo 'socket_mode = 0666' >> "$T_DIR/poold.conf"
chmod 755 "$T_DIR"
t_start_poold || exit 1
t_expect_fail 6 "uid 65534 is neither root nor in the socket group" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" pool list
t_assert "root still served" pctl pool list
pid=$T_POOLD_PID
t_assert "poolctl daemon stop" pctl daemon stop
t_assert "poold exits after daemon stop" t_wait_gone "$pid" 10
wait "$pid"; rc=$?
t_assert "exit status 0 after daemon stop (got $rc)" [ "$rc" -eq 0 ]
T_POOLD_PID=""

# without -f poold detaches, and reports startup failure in its exit code
t_assert "poold (daemon mode) starts and exits 0" "$POOLD_BIN" --config "$T_DIR/poold.conf"
dpid=$(cat "$T_DIR/state/poold.lock" 2>/dev/null)
t_assert "daemonized poold serves (pid $dpid)" pctl daemon version
out=$("$POOLD_BIN" --config "$T_DIR/poold.conf" 2>&1); rc=$?
t_assert "a second daemon-mode poold exits non-zero (rc $rc): $out" [ "$rc" -ne 0 ]
t_assert "stop the daemonized poold" kill -TERM "$dpid"
t_assert "it exits" t_wait_gone "$dpid" 10

# configuration checking
t_assert "--check-config accepts the test config" "$POOLD_BIN" --check-config --config "$T_DIR/poold.conf"
printf 'socket_path = "/run/x.sock"\nbogus_key = 1\n' > "$T_DIR/bad.conf"
out=$("$POOLD_BIN" --check-config --config "$T_DIR/bad.conf" 2>&1); rc=$?
t_assert "--check-config rejects an unknown key (rc $rc): $out" bash -c '[ "$1" -eq 2 ] && [[ $2 == *"bad.conf:2"*bogus_key* ]]' _ "$rc" "$out"
out=$("$POOLD_BIN" --config "$T_DIR/missing.conf" --foreground 2>&1); rc=$?
t_assert "a named config that does not exist is an error (rc $rc)" [ "$rc" -eq 2 ]
t_assert "poold --version" "$POOLD_BIN" --version
t_assert "poolctl --help lists commands" bash -c "'$POOLCTL_BIN' --help | grep -q 'volume create'"
t_assert "poolctl volume create --help" bash -c "'$POOLCTL_BIN' volume create --help | grep -q 'SIZE'"
t_finish
