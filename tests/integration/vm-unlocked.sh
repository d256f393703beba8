#!/bin/bash
# vm-unlocked.sh: poolctl vm start / stop in a pool without locking (one
# host, no sanlock lease, no host ids). The VM record's owner then carries
# no host id; before that was allowed, every `vm start` in such a pool
# failed with "vmrecord <owner>: host-id 0 is out of range".
#   - vm define, vm start: the guest (tests/data/boot-marker) writes its
#     marker through the target, vm list names this host as the owner;
#   - a second start is refused (it runs here already);
#   - vm stop --force ends it, the record has no owner again; start again.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
t_sanlock_require
lv_require_marker_boot

P=$T_POOL
VM="vm-$$"
IQN="iqn.2026-11.org.poold:$P"

c_hosts 1
c_shared_disk pv1 128M || exit 1
c_host_conf 1 libvirt_uri "\"$(lv_uri 1)\""
c_host_start 1 || { t_fail "start host 1"; t_finish; exit 1; }
t_assert "libvirtd launches" lv_host_launch 1
t_assert "libvirtd answers" lv_host_wait 1
[ -n "${LV_PID[1]:-}" ] || { t_finish; exit 1; }
PORT=${C_PORT[1]}
pctl() { cpctl 1 "$@"; }
url() { echo "iscsi://127.0.0.1:$PORT/$IQN/$1"; }
vol_lun() { pctl --json volume info "$P" "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['lun'])"; }
vm_field() { pctl --json vm show "$P" "$VM" | python3 -c "import json, sys; v = json.load(sys.stdin); print(v['$1'] if v.get('$1') is not None else '')"; }
MARKER_HEX=$(printf 'POOLD-MARKER' | od -An -v -tx1 | tr -d ' \n')
marker_there() { local h; h=$(t_read_head "$(url "$LUN")"); [ "${h:1024:${#MARKER_HEX}}" = "$MARKER_HEX" ]; }
no_domain() { ! lv_virsh 1 domstate "$VM" >/dev/null 2>&1; }
boot_sector() { t_poll 5 qemu-img convert -n -f raw -O raw "$T_DIR/head.img" "$(url "$LUN")"; }

out=$(pctl pool create "$P" $(c_devs 1) --locking none --lease-slots 16 --host-ids 8 2>&1) && t_ok || t_fail "pool create (no locking): $out"
t_assert "pool set-store" pctl pool set-store "$P" "$T_DIR/store" >/dev/null
t_assert "volume create disk1 16M" pctl volume create "$P" disk1 16M >/dev/null
LUN=$(vol_lun disk1)
cp "$BM_BIN" "$T_DIR/head.img" && truncate -s 1024 "$T_DIR/head.img"
t_assert "boot sector written through the target" boot_sector
lv_marker_domain_xml "$VM" "$P" disk1 > "$T_DIR/vm.xml"
t_assert "vm define" pctl vm define "$P" "$T_DIR/vm.xml" >/dev/null

for round in 1 2; do
    if pctl vm start "$P" "$VM" > "$T_DIR/start.out" 2>&1; then t_ok; else
        t_fail "vm start (round $round): $(cat "$T_DIR/start.out")"
    fi
    t_assert "the guest writes its marker (round $round)" t_poll 30 marker_there
    owner=$(vm_field owner)
    t_assert "vm list names this host as the owner ('$owner')" [ -n "$owner" ]
    out=$(pctl vm start "$P" "$VM" 2>&1); rc=$?
    t_assert "a second start is refused (rc $rc: $out)" [ "$rc" -ne 0 ]
    t_assert "vm stop --force" pctl vm stop --force "$P" "$VM" >/dev/null
    t_assert "the domain is gone" t_poll 10 no_domain
    owner=$(vm_field owner)
    t_assert "the record has no owner after stop ('$owner')" [ -z "$owner" ]
    t_assert "boot sector rewritten" boot_sector
done
t_finish
