#!/bin/bash
# protocol.sh: malformed frames and requests against a live poold (see
# proto_abuse.c): each refused with an error, the daemon keeps serving.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
ABUSE=$1
t_loop PV1 pv1 256M || exit 1
t_start_poold || exit 1
t_assert "pool create" pctl pool create --lease-slots 10 --host-ids 10 "$T_POOL" "$PV1"
t_assert "protocol abuse is refused, daemon keeps serving" "$ABUSE" "$T_DIR/poold.sock" "$T_POOL"
t_assert "poold still alive" kill -0 "$T_POOLD_PID"
t_assert "pool intact" pctl pool info "$T_POOL"
t_finish
