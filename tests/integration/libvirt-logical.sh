#!/bin/bash
# libvirt-logical.sh: poold's libvirt storage pools of type "logical"
# (libvirt_pool_type = "logical": what hosts with device-mapper get by
# default), on two simulated hosts (lib-cluster.sh), each with its own
# libvirtd (lib-libvirt.sh). libvirt's logical backend reads the volume
# group itself (vgs), so `virsh pool-info` capacity / allocation /
# available equal the VG's size / size - free / free; this test asserts
# exactly that, on both hosts, within 5 s of volume create on host 1,
# resize on host 2 and delete on host 2, without any virsh pool-refresh
# (poold refreshes the pool on every host when the VG changes).
#
# These machines have no device-mapper: each libvirtd's lvm runs with
# activation off and sees only its host's paths to the shared disk
# (lv_host_lvm_conf). libvirt lists only active LVs as volumes, so vol-list
# is empty here; on a real host poold's activation makes them appear (the
# iscsi-direct pools of libvirt-pools.sh list every volume on any host).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
t_sanlock_require
P=$T_POOL
DEADLINE=5

pool_field() { lv_pool_field "$1" "$P" "$2"; }
pool_ready() { lv_pool_ready "$1" "$P"; }
# does host $1's pool-info agree with vgs right now?
vg_agrees() {
    local vsize vfree
    read -r vsize vfree < <(t_lvm vgs --noheadings --units b --nosuffix -o vg_size,vg_free "$P")
    [ -n "$vsize" ] && [ "$(pool_field "$1" Capacity)" = "$vsize" ] &&
        [ "$(pool_field "$1" Available)" = "$vfree" ] &&
        [ "$(pool_field "$1" Allocation)" = $((vsize - vfree)) ]
}
show() { # show WHAT
    local vsize vfree h
    read -r vsize vfree < <(t_lvm vgs --noheadings --units b --nosuffix -o vg_size,vg_free "$P")
    for h in 1 2; do
        t_log "$1: host $h pool-info capacity $(pool_field "$h" Capacity) allocation" \
            "$(pool_field "$h" Allocation) available $(pool_field "$h" Available); vgs size $vsize free $vfree"
    done
}
both_agree() { # both_agree WHAT
    local t0 h
    t0=$(t_now)
    for h in 1 2; do
        t_assert "$1: host $h pool-info agrees with vgs within ${DEADLINE}s" t_poll $DEADLINE vg_agrees "$h"
    done
    t_log "$1: both hosts agree after $(t_took "$t0") s"
    show "$1"
}

c_hosts 2
c_shared_disk pv1 512M || exit 1
for h in 1 2; do
    lv_host_lvm_conf "$h" $(c_devs "$h") || { t_fail "lvm.conf of host $h"; t_finish; exit 1; }
    t_assert "libvirt host $h launches" lv_host_launch "$h"
done
t_assert "libvirt host 1 answers" lv_host_wait 1
t_assert "libvirt host 2 answers" lv_host_wait 2
[ -n "${LV_PID[1]:-}" ] && [ -n "${LV_PID[2]:-}" ] || { t_finish; exit 1; }
for h in 1 2; do
    c_host_conf "$h" libvirt_uri "\"$(lv_uri "$h")\""
    c_host_conf "$h" libvirt_pool_type '"logical"'
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done

t_assert "host 1: pool create --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 8 --lease-slots 32 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
for h in 1 2; do
    t_assert "host $h: libvirt pool active + autostart" t_poll 10 pool_ready "$h"
    x=$(lv_virsh "$h" pool-dumpxml --inactive "$P" 2>/dev/null)
    t_assert "host $h: a logical pool" grep -q "<pool type='logical'>" <<< "$x"
    t_assert "host $h: its source is the VG $P" \
        grep -q "<name>$P</name>" <<< "$(sed -n '/<source>/,/<\/source>/p' <<< "$x")"
done
both_agree "after pool create/import"

t_assert "host 1: volume create v1 64M" cpctl 1 volume create "$P" v1 64M >/dev/null
both_agree "volume create on host 1"
t_assert "host 2: volume resize v1 128M" cpctl 2 volume resize "$P" v1 128M >/dev/null
both_agree "volume resize on host 2"
t_assert "host 2: volume create v2 32M" cpctl 2 volume create "$P" v2 32M >/dev/null
t_assert "host 2: volume delete v1" cpctl 2 volume delete "$P" v1 >/dev/null
both_agree "volume create + delete on host 2"

t_assert "host 2: host leave" cpctl 2 host leave "$P" >/dev/null
t_assert "host 1: volume delete v2" cpctl 1 volume delete "$P" v2 >/dev/null
t_assert "host 1: pool destroy" cpctl 1 pool destroy "$P" >/dev/null
t_assert "host 1: libvirt pool undefined" t_poll 10 \
    bash -c '! virsh -q -c "$1" pool-info "$2" >/dev/null 2>&1' _ "$(lv_uri 1)" "$P"
t_assert "no libvirt failure logged on host 1" \
    bash -c '! grep -E "libvirt pool refresh failed|cannot (start|define) the libvirt pool" "$1"' _ "$(c_log 1)"
t_finish
