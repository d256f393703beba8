#!/bin/bash
# libvirt-pools.sh: poold keeps one libvirt storage pool per pool current
# (issue 5, docs/design.md choice 6). Two simulated hosts (lib-cluster.sh: own
# sanlock, poold, portal, loop devices), each with its own libvirtd
# (lib-libvirt.sh); each poold has libvirt_uri = its host's libvirtd and its
# own libvirt_initiator, and nothing here runs pool-define, pool-start or
# pool-refresh: poold does all of it through the libvirt API.
#   - after pool create (host 1) and import (host 2) both libvirts have an
#     active, autostarted iscsi-direct pool of that name;
#   - volume create on host 1: vol-list on host 1 and on host 2 shows
#     unit:0:0:<LUN> within 5 s;
#   - volume resize on host 2: vol-info on host 1 shows the new capacity
#     within 5 s (libvirt's iscsi-direct backend reports one 512-byte block
#     less than the LUN has: see libvirt-harness.sh; exactly that is
#     accepted);
#   - libvirt's volume names are the same on both hosts and after a restart
#     of host 1's poold;
#   - host 1's libvirtd restarted: its autostarted pool is running again
#     and poold reconnects by itself (a volume created on host 2 shows on
#     host 1 within 10 s: the reconnect waits up to 3 s);
#   - volume delete on host 2: gone from both vol-lists within 5 s;
#   - a libvirt pool of the same name that is not poold's (another source)
#     is left alone: poold logs an error and neither redefines nor
#     undefines it;
#   - pool-info capacity/allocation next to vgs size/free (printed, not
#     asserted: iscsi-direct sums the LUNs);
#   - pool destroy undefines poold's libvirt pool.
# The measured delays are printed.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
t_sanlock_require
P=$T_POOL
IO_TIMEOUT=1
DEADLINE=5 # seconds a change may take to show in libvirt

declare -A DELAY=()

# ---- helpers -------------------------------------------------------------
# the libvirt volume names of pool P on libvirt host $1, sorted
lv_vols() { lv_virsh "$1" vol-list "$P" 2>/dev/null | awk '$1 ~ /^unit:/ {print $1}' | sort | tr '\n' ' '; }


has_vol() { [[ " $(lv_vols "$1")" == *" $2 "* ]]; }
no_vol() { [[ " $(lv_vols "$1")" != *" $2 "* ]]; }
vol_cap() { lv_virsh "$1" vol-info --bytes --pool "$P" "$2" 2>/dev/null | awk '/^Capacity:/ {print $2}'; }
# capacity as libvirt's iscsi-direct backend reports a LUN of $3 bytes
cap_is() { local c; c=$(vol_cap "$1" "$2"); [ "$c" = "$3" ] || [ "$c" = $(($3 - 512)) ]; }
pool_field() { lv_pool_field "$1" "$P" "$2"; }
pool_ready() { lv_pool_ready "$1" "$P"; }
vol_json() { cpctl "$1" --json volume info "$P" "$2" | python3 -c "import json, sys; print(json.load(sys.stdin)['$3'])"; }

# ---- libvirtds, sanlock daemons, poolds ----------------------------------
c_hosts 2
c_shared_disk pv1 512M || exit 1
t_assert "libvirt host 1 launches" lv_host_launch 1
t_assert "libvirt host 2 launches" lv_host_launch 2
t_assert "libvirt host 1 answers" lv_host_wait 1
t_assert "libvirt host 2 answers" lv_host_wait 2
[ -n "${LV_PID[1]:-}" ] && [ -n "${LV_PID[2]:-}" ] || { t_finish; exit 1; }
for h in 1 2; do
    c_host_conf "$h" libvirt_uri "\"$(lv_uri "$h")\""
    c_host_conf "$h" libvirt_pool_type '"iscsi-direct"'
    c_host_conf "$h" libvirt_initiator "\"iqn.2026-11.org.poold.test:h$h-$$\""
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done

# ---- pool create / import: define, start, autostart ------------------------
t0=$(t_now)
t_assert "host 1: pool create --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout $IO_TIMEOUT \
    --host-ids 8 --lease-slots 32 --host-id 1 >/dev/null
t_assert "host 1: libvirt pool active + autostart" t_poll 10 pool_ready 1
DELAY[create]=$(t_took "$t0")
t0=$(t_now)
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 2: libvirt pool active + autostart" t_poll 10 pool_ready 2
DELAY[import]=$(t_took "$t0")
for h in 1 2; do
    x=$(lv_virsh "$h" pool-dumpxml --inactive "$P" 2>/dev/null)
    t_assert "host $h: libvirt pool is iscsi-direct on host $h's target" \
        grep -q "<host name='127.0.0.1' port='${C_PORT[$h]}'/>" <<< "$x"
    t_assert "host $h: device = the pool's IQN" grep -q "<device path='iqn.2026-11.org.poold:$P'/>" <<< "$x"
    t_assert "host $h: initiator from libvirt_initiator" \
        grep -q "iqn.2026-11.org.poold.test:h$h-$$" <<< "$x"
done

# ---- volume create on host 1: both vol-lists -------------------------------
t_assert "host 1: volume create v1 16M" cpctl 1 volume create "$P" v1 16M >/dev/null
t0=$(t_now)
LUN1=$(vol_json 1 v1 lun)
V1="unit:0:0:$LUN1"
t_assert "host 1: vol-list shows $V1 within ${DEADLINE}s" t_poll $DEADLINE has_vol 1 "$V1"
DELAY[create_h1]=$(t_took "$t0")
t_assert "host 2: vol-list shows $V1 within ${DEADLINE}s" t_poll $DEADLINE has_vol 2 "$V1"
DELAY[create_h2]=$(t_took "$t0")
t_assert "host 2: volume create v2 8M" cpctl 2 volume create "$P" v2 8M >/dev/null
t0=$(t_now)
V2="unit:0:0:$(vol_json 2 v2 lun)"
t_assert "host 1: vol-list shows $V2 within ${DEADLINE}s" t_poll $DEADLINE has_vol 1 "$V2"
DELAY[create2_h1]=$(t_took "$t0")
t_assert "host 2: vol-list shows $V2 within ${DEADLINE}s" t_poll $DEADLINE has_vol 2 "$V2"
t_assert "volume names agree on both hosts" [ "$(lv_vols 1)" = "$(lv_vols 2)" ]
t_log "libvirt volumes: host 1: $(lv_vols 1)| host 2: $(lv_vols 2)"
CAP=$(vol_json 1 v1 capacity)
for h in 1 2; do
    t_assert "host $h: vol-info capacity of $V1 is $CAP (or one block less)" cap_is "$h" "$V1" "$CAP"
done

# ---- resize on host 2: host 1's vol-info -----------------------------------
t_assert "host 2: volume resize v1 32M" cpctl 2 volume resize "$P" v1 32M >/dev/null
t0=$(t_now)
CAP2=$(vol_json 2 v1 capacity)
t_assert "host 1: vol-info shows $CAP2 within ${DEADLINE}s" t_poll $DEADLINE cap_is 1 "$V1" "$CAP2"
DELAY[resize_h1]=$(t_took "$t0")
t_assert "host 2: vol-info shows $CAP2" t_poll $DEADLINE cap_is 2 "$V1" "$CAP2"
DELAY[resize_h2]=$(t_took "$t0")
t_log "libvirt vol-info capacity after resize: host 1 $(vol_cap 1 "$V1"), host 2 $(vol_cap 2 "$V1"), poolctl $CAP2"

# ---- pool-info vs vgs (reported, not asserted) -----------------------------
read -r vsize vfree < <(t_lvm vgs --noheadings --units b --nosuffix -o vg_size,vg_free "$P")
for h in 1 2; do
    t_log "host $h: libvirt pool-info capacity $(pool_field "$h" Capacity) allocation" \
        "$(pool_field "$h" Allocation) available $(pool_field "$h" Available);" \
        "vgs size $vsize free $vfree; LUNs $(vol_json 1 v1 capacity) + $(vol_json 1 v2 capacity)"
done

# ---- restart host 1's poold: same names, pool still current -----------------
NAMES=$(lv_vols 1)
t_assert "host 1: poold stops cleanly" c_poold_stop 1
t_assert "host 1: poold starts again" c_host_start 1
t_assert "host 1: libvirt pool still active + autostart" t_poll 10 pool_ready 1
t_assert "host 1: volume names unchanged after the restart" t_poll $DEADLINE \
    bash -c '[ "$1" = "$2" ]' _ "$NAMES" "$(lv_vols 1)"
t_assert "host 1: exactly one libvirt pool" [ "$(lv_virsh 1 pool-list --all --name | grep -c .)" = 1 ]

# ---- host 1's libvirtd restarted: poold reconnects (at most every 3 s) ------
t_assert "host 1: libvirtd stops" lv_host_stop 1
t_assert "host 1: libvirtd starts again" lv_host_start 1
t_assert "host 1: pool autostarted by libvirtd" t_poll 10 pool_ready 1
t_assert "host 2: volume create v4 8M" cpctl 2 volume create "$P" v4 8M >/dev/null
t0=$(t_now)
V4="unit:0:0:$(vol_json 2 v4 lun)"
t_assert "host 1: vol-list shows $V4 within 10 s (reconnect)" t_poll 10 has_vol 1 "$V4"
DELAY[reconnect_h1]=$(t_took "$t0")
t_assert "host 2: volume delete v4" cpctl 2 volume delete "$P" v4 >/dev/null
t_assert "host 1: $V4 gone within ${DEADLINE}s" t_poll $DEADLINE no_vol 1 "$V4"

# ---- delete on host 2: gone from both ---------------------------------------
t_assert "host 2: volume delete v1" cpctl 2 volume delete "$P" v1 >/dev/null
t0=$(t_now)
t_assert "host 2: $V1 gone from vol-list within ${DEADLINE}s" t_poll $DEADLINE no_vol 2 "$V1"
DELAY[delete_h2]=$(t_took "$t0")
t_assert "host 1: $V1 gone from vol-list within ${DEADLINE}s" t_poll $DEADLINE no_vol 1 "$V1"
DELAY[delete_h1]=$(t_took "$t0")
t_assert "host 1: $V2 still listed" has_vol 1 "$V2"

# ---- an operator's pool of the same name is left alone ----------------------
# host 2: poold's pool replaced by one pointing at another target; a restart
# of host 2's poold must log an error and neither redefine nor undefine it
t_assert "host 2: poold stops" c_poold_stop 2
lv_virsh 2 pool-destroy "$P" >/dev/null 2>&1
t_assert "host 2: undefine poold's pool" lv_virsh 2 pool-undefine "$P" >/dev/null
cat > "$T_DIR/foreign.xml" <<EOX
<pool type='iscsi-direct'>
  <name>$P</name>
  <source>
    <host name='127.0.0.1' port='${C_PORT[1]}'/>
    <device path='iqn.2026-11.org.poold:$P'/>
    <initiator><iqn name='iqn.2026-11.org.poold.test:operator'/></initiator>
  </source>
</pool>
EOX
t_assert "host 2: operator defines a pool of that name" lv_virsh 2 pool-define "$T_DIR/foreign.xml" >/dev/null
t_assert "host 2: poold starts again" c_host_start 2
t_assert "host 2: poold logs that the libvirt pool is not its own" \
    t_poll 10 grep -q "libvirt already has a storage pool of this name" "$(c_log 2)"
t_assert "host 2: operator's pool kept (port ${C_PORT[1]})" \
    bash -c 'virsh -q -c "$1" pool-dumpxml --inactive "$2" | grep -q "port=.$3."' _ "$(lv_uri 2)" "$P" "${C_PORT[1]}"
t_assert "host 2: operator's pool not started" [ "$(pool_field 2 State)" = inactive ]
t_assert "host 2: volume create still works" cpctl 2 volume create "$P" v3 8M >/dev/null
t_assert "host 1: sees v3" t_poll $DEADLINE has_vol 1 "unit:0:0:$(vol_json 1 v3 lun)"
t_assert "host 2: operator's pool still inactive" [ "$(pool_field 2 State)" = inactive ]

# ---- pool destroy: host 1 undefines its libvirt pool; host 2's stays ---------
t_assert "host 2: host leave" cpctl 2 host leave "$P" >/dev/null
for v in v2 v3; do
    t_assert "host 1: volume delete $v" cpctl 1 volume delete "$P" "$v" >/dev/null
done
if cpctl 1 pool destroy "$P" >/dev/null 2>"$T_DIR/destroy.err"; then
    t_ok
    t_assert "host 1: libvirt pool undefined" t_poll 10 \
        bash -c '! virsh -q -c "$1" pool-info "$2" >/dev/null 2>&1' _ "$(lv_uri 1)" "$P"
else
    t_fail "host 1: pool destroy: $(cat "$T_DIR/destroy.err")"
fi
t_assert "host 2: operator's pool still defined" lv_virsh 2 pool-info "$P" >/dev/null

t_assert "no libvirt failure logged on host 1" \
    bash -c '! grep -E "libvirt pool refresh failed|cannot (start|define) the libvirt pool" "$1"' _ "$(c_log 1)"
for h in 1 2; do
    grep -E 'libvirt(: | pool | already| took)' "$(c_log "$h")" | sed -e 's/^[0-9-]* [0-9:.]* poold\[[0-9]*\] //' -e "s/^/# host $h poold: /" | head -n 25
done
echo "# delays (s): pool create->host1 active ${DELAY[create]}, import->host2 active ${DELAY[import]}"
echo "# delays (s): volume create h1 -> libvirt h1 ${DELAY[create_h1]}, h2 ${DELAY[create_h2]}; create h2 -> libvirt h1 ${DELAY[create2_h1]}"
echo "# delays (s): resize h2 -> libvirt h1 ${DELAY[resize_h1]}, h2 ${DELAY[resize_h2]}"
echo "# delays (s): delete h2 -> libvirt h2 ${DELAY[delete_h2]}, h1 ${DELAY[delete_h1]}"
echo "# delays (s): after host 1's libvirtd restart, create h2 -> libvirt h1 ${DELAY[reconnect_h1]}"
t_finish
