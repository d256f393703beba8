#!/bin/bash
# pool-full.sh: a pool whose LVM metadata area is full (issue 10, item 6).
# A pool made with a small --metadata-size is filled with volumes until
# volume create refuses with poold's own error (not lvm's "exceeds maximum
# metadata size"); pool info reports the area nearly full; resize, unexport
# and export still work on the full pool; then every volume is deleted
# through poolctl, and poolctl and lvs agree the pool is empty. A pool made
# with the defaults gets a metadata area with room for a volume in each of
# its lease slots (docs/design.md, "Metadata area").
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"

t_loop PV1 pv1 1G && t_loop PV2 pv2 3G || exit 1
t_start_poold || exit 1

t_expect_fail 2 "metadata size .* out of range" \
    pctl pool create "$T_POOL" "$PV1" --metadata-size 16K --lease-slots 200 --host-ids 4

# 64K: lvm makes it 124 KiB (up to the first extent, aligned to 64 KiB),
# room for about 90 volumes with 64-character names
t_assert "pool create with a small metadata area" \
    pctl pool create "$T_POOL" "$PV1" --metadata-size 64K --lease-slots 200 --host-ids 4
mda=$(t_lvm pvs --noheadings --units b --nosuffix -o pv_mda_size "$PV1" | tr -d ' ')
t_assert "the PV's metadata area is small ($mda bytes)" [ "$mda" -lt 1048576 ]

name() { printf 'v%063d' "$1"; }
t_log "filling the metadata area"
n=0 err="" rc=0
while [ "$n" -lt 200 ]; do
    err=$(pctl volume create "$T_POOL" "$(name $((n + 1)))" 4M 2>&1 >/dev/null); rc=$?
    [ "$rc" -ne 0 ] && break
    n=$((n + 1))
done
t_log "created $n volumes; then: exit $rc, $err"
t_assert "some volumes fit ($n)" [ "$n" -ge 20 ]
t_assert "create refused with exit 5 (got $rc)" [ "$rc" -eq 5 ]
t_assert "poold's own error, not lvm's: $err" \
    bash -c '[[ $1 == *"LVM metadata area is full"* && $1 != *"exceeds maximum"* ]]' _ "$err"
t_expect_fail 5 "LVM metadata area is full" pctl volume create "$T_POOL" x 4M

pctl --json pool info "$T_POOL" > "$T_DIR/pool.json"
t_assert "pool info reports the area nearly full" python3 -c "
import json; p=json.load(open('$T_DIR/pool.json'))
assert p['metadata_size'] == $mda, p
assert p['metadata_free'] < 20 * 1024, p
assert p['volumes'] == $n, p
"
t_assert "pool info prints the metadata area" bash -c \
    "'$POOLCTL_BIN' --socket '$T_DIR/poold.sock' pool info '$T_POOL' | grep -q '^Metadata: .* free'"

t_assert "resize on the full pool" pctl volume resize "$T_POOL" "$(name 1)" 8M
t_assert "unexport on the full pool" pctl volume unexport "$T_POOL" "$(name 2)"
t_assert "export on the full pool" pctl volume export "$T_POOL" "$(name 2)"

# Fill what the reserve kept free with VG tags through lvm itself (as a
# pool filled before poold kept a reserve would be), down to the last few
# hundred bytes: even delete's intent tag would not fit, and the delete
# must still work.
t_log "filling the reserve with lvm"
k=0
fill() { # fill LEN COUNT: one vgchange adding COUNT tags of about LEN bytes
    local args=() j
    for ((j = 0; j < $2; j++)); do args+=(--addtag "$(printf "fill%04d%0$1d" $((k + j)) 0)"); done
    t_lvm vgchange "${args[@]}" "$T_POOL" >/dev/null 2>&1 && k=$((k + $2))
}
for len in 120 12; do
    for cnt in 16 4 1; do
        while [ "$k" -lt 1000 ] && fill "$len" "$cnt"; do :; done
    done
done
free=$(pctl --json pool info "$T_POOL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata_free"])')
t_log "$k tags added, $free bytes left"
t_assert "metadata area full to the last KiB ($free bytes free)" [ "$free" -lt 1024 ]
t_assert "delete on a brim-full pool" pctl volume delete "$T_POOL" "$(name 1)"
t_assert "poold says it skipped the intent tag" grep -q "deleting without the intent tag" "$T_DIR/poold.log"
tags=$(t_lvm vgs --noheadings -o vg_tags "$T_POOL" | tr -d ' ' | tr ',' '\n' | grep '^fill' | sed 's/^/--deltag\n/' | tr '\n' ' ')
# shellcheck disable=SC2086
t_assert "fill tags removed" t_lvm vgchange $tags "$T_POOL"

t_log "deleting the other $((n - 1)) volumes"
for i in $(seq 2 "$n"); do
    pctl volume delete "$T_POOL" "$(name "$i")" || t_fail "delete $(name "$i")"
done
left=$(pctl --json volume list "$T_POOL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
t_assert "poolctl lists no volumes (got $left)" [ "$left" = 0 ]
lvs=$(t_lvm lvs --noheadings -o lv_name "$T_POOL" | tr -d ' ' | sort | tr '\n' ' ')
t_assert "lvs has only the special LVs ($lvs)" [ "$lvs" = "ids leases " ]
t_assert "a volume fits again" pctl volume create "$T_POOL" again 4M
t_assert "pool destroy" pctl pool destroy --force "$T_POOL"

# The default: room for a volume in each of 2000 lease slots (and 2000
# host ids): 2 x (32 KiB + 16 KiB + 2000 x 96 + 2000 x 640) bytes, rounded
# up to a MiB.
want=$(( (2 * (32768 + 16384 + 2000 * 96 + 2000 * 640) + 1048575) / 1048576 * 1048576 ))
t_assert "pool create with the defaults" pctl pool create "$T_POOL" "$PV2"
mda=$(t_lvm pvs --noheadings --units b --nosuffix -o pv_mda_size "$PV2" | tr -d ' ')
t_assert "default metadata area $mda >= $want" [ "$mda" -ge "$want" ]
free=$(pctl --json pool info "$T_POOL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata_free"])')
t_assert "room for 2000 volumes: $free >= 2000 x 640 + 16 KiB" [ "$free" -ge $((2000 * 640 + 16384)) ]
t_assert "pool destroy" pctl pool destroy "$T_POOL"

t_finish
