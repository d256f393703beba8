#!/bin/bash
# pool-lifecycle.sh: a pool on two loop-device PVs, 200 volumes, resizes that
# cross the PV boundary (multi-segment LVs), half of them deleted, poold
# restarted: everything must be listed as before, and poolctl must agree
# with lvs on every volume, size, tag and segment.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
HERE=$(dirname "$0")

t_loop PV1 pv1 4G && t_loop PV2 pv2 4G || exit 1
t_start_poold || exit 1

check_agree() { # compare poolctl with raw lvm reports
    pctl --json volume list "$T_POOL" > "$T_DIR/vols.json" || return 1
    t_lvm lvs --reportformat json --units b --nosuffix \
        -o lv_name,lv_size,lv_tags,seg_start_pe,seg_pe_ranges "$T_POOL" > "$T_DIR/lvs.json" || return 1
    t_lvm pvs --reportformat json --units b --nosuffix -o pv_name,pe_start > "$T_DIR/pvs.json" || return 1
    python3 "$HERE/tools/lvs_agree.py" "$T_DIR/vols.json" "$T_DIR/lvs.json" "$T_DIR/pvs.json" 4194304
}

t_assert "pool create" pctl pool create "$T_POOL" "$PV1" "$PV2"
pctl --json pool info "$T_POOL" > "$T_DIR/pool.json"
t_assert "pool records both devices" python3 -c "
import json,sys; p=json.load(open('$T_DIR/pool.json'))
assert p['devices']==['$PV1','$PV2'], p['devices']
assert p['host_ids']==2000 and p['lease_slots']==2000
# leases: 2001 slots of 1 MiB; ids: 8 MiB; every slot must map to one PV offset
assert sum(s['length'] for s in p['leases_segments']) >= 2001*1048576
assert sum(s['length'] for s in p['ids_segments']) >= 2000*4096
"
vgtags=$(t_lvm vgs --noheadings -o vg_tags "$T_POOL")
t_assert "VG carries the pool identity tags ($vgtags)" bash -c '[[ $1 == *pd_pool:1* && $1 == *pd_uuid:* ]]' _ "$vgtags"

t_log "creating 200 volumes"
for i in $(seq 1 200); do
    pctl volume create "$T_POOL" "vol$i" 8M > /dev/null || { t_fail "create vol$i"; break; }
done
t_ok
n=$(pctl --json volume list "$T_POOL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
t_assert "200 volumes listed (got $n)" [ "$n" = 200 ]
t_assert "lease slots and LUNs are distinct" python3 -c "
import json,subprocess,sys
v=json.loads(subprocess.check_output(['$POOLCTL_BIN','--socket','$T_DIR/poold.sock','--json','volume','list','$T_POOL']))
slots=[x['lease_slot'] for x in v]; luns=[x['lun'] for x in v]
assert len(set(slots))==200 and len(set(luns))==200 and min(slots)>=1 and min(luns)>=1
"

t_log "growing volumes past the end of the first PV"
for i in $(seq 1 20); do
    pctl volume resize "$T_POOL" "vol$((i * 7))" 64M > /dev/null || t_fail "resize vol$((i * 7))"
done
multi=$(pctl --json volume list "$T_POOL" | python3 -c 'import json,sys; print(sum(1 for v in json.load(sys.stdin) if len({s["pv"] for s in v["segments"]})>1))')
t_assert "some volumes now span both PVs (got $multi)" [ "$multi" -ge 1 ]
t_assert "poolctl agrees with lvs after resizes" check_agree

t_log "deleting half"
for i in $(seq 2 2 200); do
    pctl volume delete "$T_POOL" "vol$i" > /dev/null || t_fail "delete vol$i"
done
pctl --json volume list "$T_POOL" > "$T_DIR/before.json"
pctl --json pool info "$T_POOL" | python3 -c 'import json,sys; p=json.load(sys.stdin); del p["seqno"]; print(json.dumps(p,sort_keys=True))' > "$T_DIR/pool-before.json"
n=$(python3 -c "import json; print(len(json.load(open('$T_DIR/before.json'))))")
t_assert "100 volumes left (got $n)" [ "$n" = 100 ]

t_log "restarting poold"
t_assert "poold stops cleanly on SIGTERM" t_stop_poold
t_assert "poold restarts" t_start_poold
pctl --json volume list "$T_POOL" > "$T_DIR/after.json"
t_assert "volume list identical after restart" cmp -s "$T_DIR/before.json" "$T_DIR/after.json"
pctl --json pool info "$T_POOL" | python3 -c 'import json,sys; p=json.load(sys.stdin); del p["seqno"]; print(json.dumps(p,sort_keys=True))' > "$T_DIR/pool-after.json"
t_assert "pool info identical after restart" cmp -s "$T_DIR/pool-before.json" "$T_DIR/pool-after.json"
t_assert "poolctl agrees with lvs after restart" check_agree

t_log "losing the state directory loses nothing: pool import adopts the VG again"
t_assert "stop" t_stop_poold
rm -rf "$T_DIR/state"
t_assert "start with an empty state dir" t_start_poold
left=$(pctl --json pool list | tr -d ' \n')
t_assert "no pool known ($left)" [ "$left" = "[]" ]
t_expect_fail 5 "not a PV of pool" pctl pool import "$T_POOL" "$PV1" "$PV2" "$T_DIR/poold.conf"
t_assert "pool import" pctl pool import "$T_POOL" "$PV1" "$PV2"
pctl --json volume list "$T_POOL" > "$T_DIR/imported.json"
t_assert "volume list identical after import" cmp -s "$T_DIR/before.json" "$T_DIR/imported.json"

t_log "freed slots are reused, shrink needs --allow-shrink"
slot=$(pctl --json volume create "$T_POOL" reuse 4M | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease_slot"])')
t_assert "new volume takes the lowest free slot (got $slot)" [ "$slot" = 2 ]
t_expect_fail 2 "allow-shrink" pctl volume resize "$T_POOL" vol7 8M
t_assert "shrink with --allow-shrink" pctl volume resize --allow-shrink "$T_POOL" vol7 8M
cap=$(pctl --json volume info "$T_POOL" vol7 | python3 -c 'import json,sys; print(json.load(sys.stdin)["capacity"])')
t_assert "shrunk to 8 MiB (got $cap)" [ "$cap" = 8388608 ]
t_assert "resize to the same size is a no-op" pctl volume resize "$T_POOL" vol7 8M
t_assert "human output lists volumes" bash -c "$POOLCTL_BIN --socket $T_DIR/poold.sock volume list $T_POOL | grep -q '^vol1 '"

t_expect_fail 4 "still has 101 volume" pctl pool destroy "$T_POOL"
t_assert "destroy --force" pctl pool destroy --force "$T_POOL"
left=$(pctl --json pool list | tr -d ' \n')
t_assert "pool gone from list ($left)" [ "$left" = "[]" ]
pvs_left=$(t_lvm pvs --noheadings 2>/dev/null)
t_assert "PVs released ($pvs_left)" [ -z "$pvs_left" ]
t_finish
