#!/bin/bash
# shrink-lease.sh: a volume is not shrunk under another host's writer
# (issue 10 item 3). Two simulated hosts (lib-cluster.sh) share one sanlock
# pool; host 1 holds volume v1's lease (`poolctl lease acquire`, as a VM's
# QEMU would):
#   - host 2's `volume resize --allow-shrink` is refused (exit 4, busy)
#     naming host 1, and the size is unchanged (volume info and lvs);
#   - host 2's grow is not refused;
#   - host 2's shrink with --force goes through;
#   - host 1 still holds the lease afterwards, and host 1 itself may shrink
#     (its own LUN is cut and drained first).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
t_sanlock_require
P=$T_POOL
M=$((1024 * 1024))

# capacity in bytes of volume $2 as host $1 sees it
capacity() { cpctl "$1" --json volume info "$P" "$2" | python3 -c "import json,sys; print(json.load(sys.stdin)['capacity'])"; }
# size in bytes of the LV as lvm sees it
lv_bytes() { t_lvm lvs --noheadings --units b --nosuffix -o lv_size "$P/$1" 2>/dev/null | tr -d ' '; }

expect_size() { # DESCRIPTION VOL MIB
    local c l
    c=$(capacity 2 "$2" 2>&1)
    l=$(lv_bytes "$2")
    t_assert "$1: $2 is $3 MiB (volume info $c, lvs $l)" \
        bash -c '[ "$1" = "$3" ] && [ "$2" = "$3" ]' _ "$c" "$l" "$(($3 * M))"
}

# a host's view of the others is current once it sees them live
wait_live() { # OBSERVER ID DEADLINE_SECS
    local deadline=$((SECONDS + $3)) s
    while :; do
        s=$(cpctl "$1" --json host list "$P" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(next((h['state'] for h in d['hosts'] if h['host_id'] == $2), 'absent'))" 2>/dev/null)
        [ "$s" = live ] && return 0
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

c_hosts 2
c_shared_disk pv1 256M || exit 1
for h in 1 2; do
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done
t_assert "host 1: pool create --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 16 --lease-slots 16 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 2 sees host 1 live" wait_live 2 1 30
t_assert "host 1 sees host 2 live" wait_live 1 2 30

t_assert "host 1: volume create v1 8M" cpctl 1 volume create "$P" v1 8M >/dev/null
t_assert "host 1: lease acquire v1" cpctl 1 lease acquire "$P" v1 >/dev/null

t_expect_fail 4 "volume v1 is in use.*held by host 1" \
    cpctl 2 volume resize "$P" v1 4M --allow-shrink
expect_size "after host 2's refused shrink" v1 8

t_assert "host 2: a grow to 12M is not refused" cpctl 2 volume resize "$P" v1 12M >/dev/null
expect_size "after host 2's grow" v1 12

t_expect_fail 4 "volume v1 is in use.*held by host 1" \
    cpctl 2 volume resize "$P" v1 4M --allow-shrink
expect_size "after host 2's second refused shrink" v1 12

t_assert "host 2: shrink to 8M with --force" \
    cpctl 2 volume resize "$P" v1 8M --allow-shrink --force >/dev/null
expect_size "after host 2's forced shrink" v1 8

held=$(cpctl 2 --json lease status "$P" v1 2>&1 |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(d['held'], d.get('owner'))" 2>&1)
t_assert "host 1 still holds v1's lease ($held)" [ "$held" = "True 1" ]

t_assert "host 1 (the holder) may shrink to 4M" \
    cpctl 1 volume resize "$P" v1 4M --allow-shrink >/dev/null
expect_size "after host 1's shrink" v1 4

optags=$(t_lvm lvs --noheadings -o lv_name,lv_tags "$P" 2>/dev/null | grep pd_op)
t_assert "no operation tag left ($optags)" [ -z "$optags" ]
t_finish
