#!/bin/bash
# target-access.sh: the target is closed by default and revoking access
# revokes it (issue 10, item 2), with real libiscsi initiators.
#   - a configuration without iscsi_portal serves 127.0.0.1:3260 only
#     (poold --check-config);
#   - an open target (no ACL, no CHAP) on a portal other machines can reach
#     (0.0.0.0) is logged loudly at start, and again when removing the last
#     ACL entry opens it; a target with an ACL is not;
#   - a session writing in a loop survives ACL changes that still admit
#     it, ends within 10 s when its initiator is removed from the ACL (the
#     log names initiator and reason), and that initiator cannot log in
#     again (another initiator stays in the ACL: an empty ACL admits all);
#   - CHAP newly required ends a session that logged in without it; a
#     session that logged in with CHAP ends when the secret changes; the
#     old secret no longer logs in, the new one does.
#
# Arg 1: tests/integration/tools/iscsi_session_probe (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
PROBE=${1:?usage: target-access.sh ISCSI_SESSION_PROBE}
T0=$SECONDS
LOOPERS=()
trap 'rc=$?; for p in "${LOOPERS[@]}"; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

# ---- the default portal --------------------------------------------------
printf 'state_dir = "%s/state"\n' "$T_DIR" > "$T_DIR/default.conf"
out=$("$POOLD_BIN" --check-config --config "$T_DIR/default.conf" 2>&1)
t_assert "default portal is 127.0.0.1:3260 (got: $(grep iscsi_portal <<< "$out"))" \
    grep -Eq '^iscsi_portal = "127\.0\.0\.1:3260"' <<< "$out"

# ---- poold with a portal other machines could reach ------------------------
PORT=$(t_free_port)
t_loop PV1 pv1 128M || exit 1
t_write_config <<EOC
iscsi_portal = "0.0.0.0:$PORT"
EOC
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
IQN="iqn.2026-11.org.poold:$T_POOL"
PORTAL="127.0.0.1:$PORT"
INI_A="iqn.2026-11.org.example:$$-a"
INI_B="iqn.2026-11.org.example:$$-b"
INI_C="iqn.2026-11.org.example:$$-c"

warnings() { grep -c "SECURITY: target $IQN has no ACL and no CHAP" "$T_DIR/poold.log"; }
t_assert "pool create" pctl pool create --lease-slots 4 --host-ids 4 "$T_POOL" "$PV1"
t_assert "open target on 0.0.0.0 logged loudly" t_poll 5 bash -c "[ \$(grep -c 'SECURITY: target $IQN has no ACL and no CHAP' '$T_DIR/poold.log') -ge 1 ]"
t_assert "volume create" pctl volume create "$T_POOL" d1 8M
LUN=$(pctl --json volume info "$T_POOL" d1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["lun"])')
t_assert "acl add $INI_A" pctl target acl add "$T_POOL" "$INI_A"
t_assert "acl add $INI_B" pctl target acl add "$T_POOL" "$INI_B"
n_warn=$(warnings)

t_assert "poold restart" t_stop_poold
t_start_poold || { t_fail "poold restart"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
t_assert "a target with an ACL is not called open at start" [ "$(warnings)" -eq "$n_warn" ]

# ---- a looping writer, and the ACL --------------------------------------
# start "$PROBE loop" in the background; its output in $T_DIR/$1.out
start_loop() { # NAME INITIATOR [USER SECRET]
    local name=$1; shift
    "$PROBE" loop 60 "$PORTAL" "$IQN" "$LUN" "$@" > "$T_DIR/$name.out" 2>&1 &
    LOOP_PID=$!
    LOOPERS+=("$LOOP_PID")
    t_poll 10 grep -q '^writes 50$' "$T_DIR/$name.out"
}
writes() { grep '^writes' "$T_DIR/$1.out" | tail -n 1 | cut -d' ' -f2; }
# the loop wrote at least 100 more blocks (it is still logged in and writing)
still_writing() { # NAME
    local before
    before=$(writes "$1")
    t_poll 10 bash -c "[ \$(grep '^writes' '$T_DIR/$1.out' | tail -n 1 | cut -d' ' -f2) -ge $((before + 100)) ]"
}
# the loop's session ended within 10 s: the process is gone, it said so
ended() { # NAME PID
    local t=$(t_now)
    t_wait_gone "$2" 10 || { echo "still running after 10 s: $(tail -n 1 "$T_DIR/$1.out")" >&2; return 1; }
    wait "$2"
    local rc=$?
    t_log "$1: $(tail -n 1 "$T_DIR/$1.out") (rc $rc, $(t_took "$t") s)"
    [ $rc -eq 0 ] && grep -q '^ended after' "$T_DIR/$1.out"
}
once() { "$PROBE" once "$PORTAL" "$IQN" "$LUN" "$@"; }

t_assert "$INI_A writes in a loop" start_loop acl "$INI_A"
A_PID=$LOOP_PID
t_assert "acl add $INI_C" pctl target acl add "$T_POOL" "$INI_C"
t_assert "acl remove $INI_B" pctl target acl remove "$T_POOL" "$INI_B"
t_assert "$INI_A still writing after ACL changes that still admit it" still_writing acl
t_assert "acl remove $INI_A" pctl target acl remove "$T_POOL" "$INI_A"
t_assert "$INI_A's session ended within 10 s of its removal" ended acl "$A_PID"
t_assert "the log says which session ended and why" \
    grep -q "ending session .* of $INI_A to $IQN: initiator no longer in the target's ACL" "$T_DIR/poold.log"
out=$(once "$INI_A")
t_assert "$INI_A cannot log in again ($out)" grep -q '^login-failed' <<< "$out"
t_assert "the target with $INI_C in its ACL is not called open" [ "$(warnings)" -eq "$n_warn" ]
t_assert "acl remove $INI_C (the last one)" pctl target acl remove "$T_POOL" "$INI_C"
t_assert "removing the last ACL entry logged the open target again" [ "$(warnings)" -gt "$n_warn" ]

# ---- CHAP (the target is open again: only CHAP decides) ---------------------
t_assert "$INI_A writes in a loop without CHAP" start_loop nochap "$INI_A"
P=$LOOP_PID
printf 'first-secret-1234' > "$T_DIR/s1"
printf 'second-secret-5678' > "$T_DIR/s2"
t_assert "chap set" pctl target chap set "$T_POOL" --user u1 --secret-file "$T_DIR/s1"
t_assert "the session without CHAP ended within 10 s of CHAP becoming required" ended nochap "$P"
t_assert "$INI_A writes in a loop with CHAP" start_loop chap "$INI_A" u1 first-secret-1234
P=$LOOP_PID
t_assert "chap set (the same settings again)" pctl target chap set "$T_POOL" --user u1 --secret-file "$T_DIR/s1"
t_assert "an unchanged CHAP setting ends nothing" still_writing chap
t_assert "chap set a new secret" pctl target chap set "$T_POOL" --user u1 --secret-file "$T_DIR/s2"
t_assert "the session under the old secret ended within 10 s" ended chap "$P"
t_assert "the log gives the reason" \
    grep -q "ending session .* of $INI_A to $IQN: logged in under CHAP settings that have changed" "$T_DIR/poold.log"
out=$(once "$INI_A" u1 first-secret-1234)
t_assert "the old secret no longer logs in ($out)" grep -q '^login-failed' <<< "$out"
out=$(once "$INI_A" u1 second-secret-5678)
t_assert "the new secret does ($out)" [ "$out" = ok ]

t_assert "poold stops cleanly" t_stop_poold
echo "# target-access: closed by default, revoking revokes; $T_CHECKS checks in $((SECONDS - T0)) s"
t_finish
