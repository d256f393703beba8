#!/bin/bash
# snapshot-lease.sh: offline snapshot operations respect the volume's
# sanlock lease (issue 11). One simulated host with its own sanlock daemon
# and poold, a sanlock pool; another process of the host (sanlock client
# command, as a VM's QEMU would) holds the volume's lease:
#   - snapshot create and revert are refused (busy) naming the volume as in
#     use, suggesting --live, and nothing changes (no snapshot, still raw,
#     no LV added);
#   - once that process is gone, snapshot create works;
#   - with the lease held by poold itself (lease acquire), create works and
#     poold still holds the lease afterwards.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
t_sanlock_require
command -v qemu-img >/dev/null || { echo "# qemu-img missing: skipped"; exit 77; }
HOLDER=""
trap 'rc=$?; [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; t_stop_poold >/dev/null 2>&1; t_sanlock_cleanup; (exit $rc); t_cleanup' EXIT

t_loop PV1 pv1 256M || exit 1
mkdir -p "$T_DIR/lvmlock" || exit 1
t_write_config <<EOC
default_locking = "sanlock"
host_name = "h1"
lvm_locking_dir = "$T_DIR/lvmlock"
EOC
t_sanlock_start 1 || { t_fail "sanlock daemon"; t_finish; exit 1; }
SANLOCK_RUN_DIR="$(t_sanlock_dir 1)"
export SANLOCK_RUN_DIR
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
P=$T_POOL

t_assert "pool create (sanlock, host id 1)" pctl pool create "$P" "$PV1" --host-ids 4 --lease-slots 16 \
    --io-timeout 1 --host-id 1 >/dev/null
t_assert "volume create v 4M" pctl volume create "$P" v 4M >/dev/null
read -r PUUID < <(pctl --json pool info "$P" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
read -r VUUID VPV VOFF < <(pctl --json volume info "$P" v | python3 -c '
import json,sys; v=json.load(sys.stdin); print(v["uuid"], v["lease"]["pv"], v["lease"]["offset"])')
LS=${PUUID//-/}

held_by() { pctl --json lease status "$P" v 2>/dev/null | python3 -c '
import json,sys; l=json.load(sys.stdin); print("free" if not l["held"] else ("poold" if l.get("this_holder") else "other"))'; }
is_held() { [ "$(held_by)" = "$1" ]; }
lv_count() { t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | wc -l; }

t_log "another process of this host holds v's lease"
"$SANLOCK_BIN" client command -r "$LS:$VUUID:$VPV:$VOFF" -c /bin/sleep 300 \
    >"$T_DIR/holder.log" 2>&1 &
HOLDER=$!
t_bg_track "$HOLDER"
t_assert "the holder got the lease ($(cat "$T_DIR/holder.log" 2>/dev/null))" \
    t_poll 20 is_held other
N=$(lv_count)
t_expect_fail 4 "volume v is in use.*--live" pctl snapshot create "$P" v s1
t_expect_fail 4 "volume v is in use.*--live" pctl snapshot create "$P" v s2
nsnaps() { pctl --json snapshot list "$P" v | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
t_assert "no snapshot was made" [ "$(nsnaps)" = 0 ]
t_assert "v is still raw" [ "$(pctl --json volume info "$P" v | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = raw ]
t_assert "no LV was added" [ "$(lv_count)" = "$N" ]

t_log "the holder exits"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
HOLDER=""
t_assert "the lease is free again" t_poll 20 is_held free
t_assert "snapshot create s1 once nobody holds the lease" pctl snapshot create "$P" v s1 >/dev/null
t_assert "poold released the lease after the snapshot" [ "$(held_by)" = free ]

t_log "poold itself holds the lease (lease acquire)"
t_assert "lease acquire" pctl lease acquire "$P" v >/dev/null
t_assert "snapshot create s2 under poold's own lease" pctl snapshot create "$P" v s2 >/dev/null
t_assert "poold still holds the lease" [ "$(held_by)" = poold ]
t_assert "revert s1 under poold's own lease" pctl snapshot revert "$P" v s1 >/dev/null
t_assert "two snapshots" [ "$(nsnaps)" = 2 ]
t_assert "lease release" pctl lease release "$P" v >/dev/null
t_finish
