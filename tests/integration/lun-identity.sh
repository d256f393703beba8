#!/bin/bash
# lun-identity.sh: a LUN number never silently changes identity under a
# connected initiator (issue 10 item 5). One poold, a pool without locking
# (where no lease stops a delete), and a libiscsi initiator
# (iscsi_lun_holder) logged in and using v1's LUN n:
#   - `volume delete` is refused (exit 4, busy) naming the initiator, and v1
#     is still there and still LUN n;
#   - `volume delete --force` ends the session and deletes v1;
#   - the next `volume create` gets a LUN number other than n, even though n
#     is the lowest free one (and so does a create after a poold restart:
#     the number handed out last is in the VG tag pd_lunlast);
#   - the initiator, writing to LUN n again after the delete (reconnecting
#     as its session is gone), gets LOGICAL UNIT NOT SUPPORTED (5/25/00):
#     its write lands in no volume.
#
# Arg 1: tests/integration/tools/iscsi_lun_holder (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
HOLDER=${1:?usage: lun-identity.sh ISCSI_LUN_HOLDER}
H_PID=""
trap 'rc=$?; [ -n "$H_PID" ] && kill "$H_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

PORT=$(t_free_port)
t_loop PV1 pv1 256M || exit 1
t_write_config <<EOC
default_locking = "none"
iscsi_portal = "127.0.0.1:$PORT"
EOC
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }
P=$T_POOL
INITIATOR="iqn.2026-12.org.poold.test:holder-$$"

lun_of() { pctl --json volume info "$P" "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['lun'])"; }

# established TCP connections to the portal
sessions() { ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l; }
wait_sessions() { # N DEADLINE_SECS
    local deadline=$((SECONDS + $2))
    until [ "$(sessions)" -eq "$1" ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
wait_file() { # PATH DEADLINE_SECS
    local deadline=$((SECONDS + $2))
    until [ -e "$1" ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        kill -0 "$H_PID" 2>/dev/null || return 1
        sleep 0.05
    done
}

t_assert "pool create --locking none" pctl pool create "$P" "$PV1" --locking none --host-ids 4 --lease-slots 16 >/dev/null
t_assert "volume create v0 4M" pctl volume create "$P" v0 4M >/dev/null
t_assert "volume create v1 8M" pctl volume create "$P" v1 8M >/dev/null
N=$(lun_of v1) || { t_fail "volume info v1"; t_finish; exit 1; }
t_log "v1 is LUN $N"

"$HOLDER" "iscsi://127.0.0.1:$PORT/iqn.2026-11.org.poold:$P/$N" "$INITIATOR" \
    "$T_DIR/ready" "$T_DIR/go" >"$T_DIR/holder.out" 2>"$T_DIR/holder.err" &
H_PID=$!
t_assert "the initiator logged in and read LUN $N ($(cat "$T_DIR/holder.err" 2>/dev/null))" \
    wait_file "$T_DIR/ready" 30
t_assert "one session on the portal" wait_sessions 1 10

t_log "delete while the initiator uses LUN $N"
t_expect_fail 4 "volume v1 is in use: .*$INITIATOR" pctl volume delete "$P" v1
t_assert "v1 is still LUN $N after the refused delete" [ "$(lun_of v1 2>&1)" = "$N" ]
t_assert "the session is still there" [ "$(sessions)" -eq 1 ]

t_assert "volume delete v1 --force" pctl volume delete "$P" v1 --force >/dev/null
t_assert "--force ended the session" wait_sessions 0 10
t_expect_fail 3 "v1" pctl volume info "$P" v1

t_log "create after the delete"
t_assert "volume create v2 8M" pctl volume create "$P" v2 8M >/dev/null
L2=$(lun_of v2 2>&1)
t_assert "v2 got a LUN other than $N (got $L2)" bash -c '[ "$1" -ne "$2" ]' _ "$L2" "$N"

# the initiator comes back to LUN n
t_log "the initiator writes to LUN $N again"
touch "$T_DIR/go"
deadline=$((SECONDS + 60))
while kill -0 "$H_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill -0 "$H_PID" 2>/dev/null && { t_log "the initiator did not finish in 60 s"; kill "$H_PID"; }
wait "$H_PID"; hrc=$?
H_PID=""
answer=$(cat "$T_DIR/holder.out")
t_assert "the initiator's write to LUN $N after the delete: LOGICAL UNIT NOT SUPPORTED (rc $hrc, got '$answer'; $(tr '\n' ' ' < "$T_DIR/holder.err"))" \
    [ "$answer" = "sense 5/25/00" ]

# the number handed out last survives a restart (VG tag pd_lunlast)
t_assert "volume delete v2 (no session uses it)" pctl volume delete "$P" v2 >/dev/null
t_stop_poold >/dev/null 2>&1
t_start_poold || { t_fail "poold restart"; t_finish; exit 1; }
t_assert "volume create v3 8M after a restart" pctl volume create "$P" v3 8M >/dev/null
L3=$(lun_of v3 2>&1)
t_assert "v3 got a LUN above $L2 (got $L3), not $N or $L2" bash -c '[ "$1" -gt "$2" ]' _ "$L3" "$L2"
tags=$(t_lvm vgs --noheadings -o vg_tags "$P" 2>&1)
t_assert "the VG records the last LUN handed out ($tags)" bash -c '[[ $1 == *pd_lunlast:$2* ]]' _ "$tags" "$L3"
t_finish
