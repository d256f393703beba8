#!/bin/bash
# leases.sh: sanlock leases of a real pool between two simulated hosts.
#
# A pool on two loop devices is created with poolctl; its ids/leases LVs are
# found through `poolctl --json pool info` (PV, offset) and a volume's lease
# through `poolctl --json volume info`. Two private sanlock daemons (hosts 1
# and 2) join the pool's lockspace with a 1 s io_timeout. Host 1 holds the
# volume's lease; host 2's acquire fails naming host 1. Then host 1's sanlock
# and lease holder are SIGKILLed (power loss): host 2 must not get the lease
# before sanlock declares host 1 dead, and must get it afterwards. The
# measured times are printed next to the ones sanlock's io_timeout implies.
#
# Arg 1: the lease_test driver (tests/integration/tools/lease_test.c).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
LT=${1:?usage: leases.sh LEASE_TEST}
IO_TIMEOUT=1
t_sanlock_require

t_loop PV1 pv1 1G && t_loop PV2 pv2 1G || exit 1
t_start_poold || exit 1
t_assert "pool create" pctl pool create "$T_POOL" "$PV1" "$PV2" --host-ids 16 --lease-slots 64 >/dev/null
t_assert "volume create" pctl volume create "$T_POOL" vm1-disk 8M >/dev/null
t_assert "second volume create" pctl volume create "$T_POOL" vm2-disk 8M >/dev/null

pctl --json pool info "$T_POOL" > "$T_DIR/pool.json" || exit 1
pctl --json volume info "$T_POOL" vm1-disk > "$T_DIR/vol.json" || exit 1
pctl --json volume info "$T_POOL" vm2-disk > "$T_DIR/vol2.json" || exit 1
read -r UUID HOST_IDS IDS_PV IDS_OFF IDS_LEN LEASES_PV LEASES_OFF < <(python3 -c "
import json; p=json.load(open('$T_DIR/pool.json'))
i=p['ids_segments'][0]; l=p['leases_segments'][0]
print(p['uuid'], p['host_ids'], i['pv'], i['pv_offset'], i['length'], l['pv'], l['pv_offset'])")
read -r VUUID VPV VOFF < <(python3 -c "
import json; v=json.load(open('$T_DIR/vol.json')); print(v['uuid'], v['lease']['pv'], v['lease']['offset'])")
read -r V2UUID V2PV V2OFF < <(python3 -c "
import json; v=json.load(open('$T_DIR/vol2.json')); print(v['uuid'], v['lease']['pv'], v['lease']['offset'])")
t_log "pool $UUID: ids at $IDS_PV:$IDS_OFF ($IDS_LEN bytes), leases at $LEASES_PV:$LEASES_OFF"
t_log "vm1-disk $VUUID: lease at $VPV:$VOFF; vm2-disk $V2UUID: lease at $V2PV:$V2OFF"

C=(--uuid "$UUID" --ids "$IDS_PV:$IDS_OFF" --ids-bytes "$IDS_LEN" --host-ids "$HOST_IDS")
VOL=(--name "$VUUID" --at "$VPV:$VOFF" --label "volume vm1-disk")
VOL2=(--name "$V2UUID" --at "$V2PV:$V2OFF" --label "volume vm2-disk")
META=(--name pool-metadata --at "$LEASES_PV:$LEASES_OFF" --label "pool-metadata lease")
lt() { local h=$1; shift; t_as_host "$h" "$LT" "$@"; }

t_sanlock_start 1 && t_sanlock_start 2 || exit 1

# -- initialise (pool create will do this; here the test does it) --------
t_assert "format lockspace" lt 1 format-lockspace "${C[@]}" --io-timeout $IO_TIMEOUT
t_assert "format pool-metadata lease" lt 1 format-lease "${C[@]}" "${META[@]}"
t_assert "format vm1-disk lease" lt 1 format-lease "${C[@]}" "${VOL[@]}"
t_assert "format vm2-disk lease" lt 1 format-lease "${C[@]}" "${VOL2[@]}"
out=$(lt 1 format-lockspace "${C[@]}" --io-timeout $IO_TIMEOUT 2>&1)
t_assert "second format refused ($out)" grep -q "error: exists: .*already holds lockspace" <<< "$out"
out=$(lt 1 acquire "${C[@]}" "${VOL[@]}" --wait 0 2>&1)
t_assert "acquire before joining refused ($out)" grep -q "has not joined the lockspace" <<< "$out"

# -- join ----------------------------------------------------------------
t_assert "host 1 joins" lt 1 join "${C[@]}" --host-id 1 --io-timeout $IO_TIMEOUT --wait 60
t_assert "host 2 joins" lt 2 join "${C[@]}" --host-id 2 --io-timeout $IO_TIMEOUT --wait 60
out=$(lt 2 join "${C[@]}" --host-id 3 --io-timeout $IO_TIMEOUT --wait 5 2>&1)
t_assert "host 2 cannot join again as 3 ($out)" grep -q "already in it as host 2" <<< "$out"
out=$(lt 2 join "${C[@]}" --host-id 17 --io-timeout $IO_TIMEOUT --wait 5 2>&1)
t_assert "host id above host_ids refused ($out)" grep -q "host id must be 1..16" <<< "$out"
# both hosts visible from each side (after one renewal each)
deadline=$((SECONDS + 15))
until [ "$(lt 2 hosts "${C[@]}" 2>/dev/null | grep -c ' live ')" -ge 2 ] && \
      [ "$(lt 1 hosts "${C[@]}" 2>/dev/null | grep -c ' live ')" -ge 2 ]; do
    [ $SECONDS -ge $deadline ] && break
    sleep 0.5
done
lt 2 hosts "${C[@]}" | sed 's/^/# host 2 sees: /'
t_assert "host 2 sees hosts 1 and 2 live" bash -c "[ \$(grep -c -e '^host 1 live' -e '^host 2 live' <<< \"\$1\") -eq 2 ]" _ "$(lt 2 hosts "${C[@]}")"

# -- pool-metadata lease: exclusive, released on exit -----------------------
t_assert "host 1 takes and releases the pool-metadata lease" lt 1 acquire "${C[@]}" "${META[@]}" --wait 5
t_assert "host 2 takes and releases the pool-metadata lease" lt 2 acquire "${C[@]}" "${META[@]}" --wait 5

# -- volume lease exclusivity ----------------------------------------------
# the holder keeps the lease while its stdin (a fifo we hold open) is open
mkfifo "$T_DIR/hold.in"
lt 1 hold "${C[@]}" "${VOL[@]}" --wait 10 < "$T_DIR/hold.in" > "$T_DIR/hold.out" 2>&1 &
HOLD_PID=$!
t_bg_track "$HOLD_PID"
exec {hold_w}> "$T_DIR/hold.in" # keep the holder's stdin open until we close it
deadline=$((SECONDS + 20))
until grep -q '^acquired' "$T_DIR/hold.out" 2>/dev/null; do
    kill -0 "$HOLD_PID" 2>/dev/null || break
    [ $SECONDS -ge $deadline ] && break
    sleep 0.1
done
t_assert "host 1 holds vm1-disk's lease ($(cat "$T_DIR/hold.out"))" grep -q '^acquired' "$T_DIR/hold.out"
out=$(lt 2 status "${C[@]}" "${VOL[@]}" 2>&1)
t_assert "status on host 2 names host 1 ($out)" grep -q "^held by host 1 (live)" <<< "$out"
start=$SECONDS
out=$(lt 2 acquire "${C[@]}" "${VOL[@]}" --wait 0 2>&1); rc=$?
t_assert "host 2's acquire fails busy (rc $rc)" [ "$rc" -eq 2 ]
t_assert "error names host 1 ($out)" grep -q "volume vm1-disk is held by host 1 (live)" <<< "$out"
out=$(lt 2 acquire "${C[@]}" "${VOL[@]}" --wait 3 2>&1); rc=$?
t_assert "bounded wait: busy after 3 s (rc $rc, $((SECONDS - start)) s)" \
    bash -c "[ $rc -eq 2 ] && [ $((SECONDS - start)) -le 10 ]"
out=$(lt 2 format-lease "${C[@]}" "${VOL[@]}" 2>&1)
t_assert "held slot cannot be re-initialised ($out)" grep -q "owned by host 1 (live)" <<< "$out"
t_assert "host 2 takes another volume's lease meanwhile" lt 2 acquire "${C[@]}" "${VOL2[@]}" --wait 5
out=$(lt 1 status "${C[@]}" "${VOL2[@]}" 2>&1)
t_assert "released lease reads free ($out)" grep -q "^free" <<< "$out"

# -- power loss of host 1 ------------------------------------------------------
t_log "SIGKILL host 1's sanlock daemon and lease holder (io_timeout $IO_TIMEOUT s)"
kill -KILL "$HOLD_PID" "${T_SLK_PID[1]}"
wait "$HOLD_PID" 2>/dev/null
t_sanlock_kill 1
lt 2 takeover "${C[@]}" "${VOL[@]}" --dead-host 1 --io-timeout $IO_TIMEOUT --wait 180 \
    > "$T_DIR/takeover.out" 2>&1; rc=$?
sed 's/^/# /' "$T_DIR/takeover.out"
t_assert "host 2 took vm1-disk's lease only after host 1 was dead (rc $rc)" [ "$rc" -eq 0 ]
t_assert "host 1 went fail before dead" grep -q "host 1 is fail" "$T_DIR/takeover.out"
out=$(lt 2 hosts "${C[@]}")
t_assert "host 1 listed dead ($out)" grep -q "^host 1 dead" <<< "$out"

# -- leave ------------------------------------------------------------------------
t_assert "host 2 leaves" lt 2 leave "${C[@]}" --wait 30
out=$(lt 2 hosts "${C[@]}" 2>&1)
t_assert "host 2 no longer in the lockspace ($out)" grep -q "has not joined" <<< "$out"
exec {hold_w}>&-
t_sanlock_stop 2
t_finish
