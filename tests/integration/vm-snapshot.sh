#!/bin/bash
# vm-snapshot.sh [none|sanlock]: poolctl vm start of a VM whose disk is a
# qcow2 top (a volume with snapshots, issue 11): the runtime domain
# describes the disk as qcow2 with its layers as <backingStore> (read-only
# LUNs of the same target, from the layer tree), so QEMU reads the boot
# sector through the chain and writes only into the top. One host, a pool
# without locking or with sanlock (libvirt's sanlock lock manager: QEMU
# holds the top's lease, the only <lease> of the domain; the layers have
# none), real lvm2 on a loop device, a TCG guest (tests/data/boot-marker:
# it writes "POOLD-MARKER" to LBA 1, then halts).
#   - a raw volume with the boot sector, snapshot s1: vm start; the domain
#     XML has format qcow2 and one raw <backingStore> (s1's LUN); the guest
#     boots from s1's data and its marker is read back through the chain,
#     while s1's LUN still has LBA 1 zero;
#   - stop, snapshot s2 (a qcow2 layer over raw s1), the marker wiped in
#     the top: vm start again, two <backingStore>s, the marker is back, s1
#     still unchanged, s2 (read through its own chain) has round 1's
#     marker;
#   - a full clone of the qcow2 volume is refused (unsupported), nothing
#     made.
#
# SPDX-License-Identifier: GPL-2.0-or-later
LOCKING=${1:-none}
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
lv_require
t_sanlock_require
lv_require_marker_boot
command -v python3 >/dev/null || { echo "# python3 missing: skipping"; exit 77; }

P=$T_POOL
VM="vm-$$"
IQN="iqn.2026-11.org.poold:$P"

c_hosts 1
c_shared_disk pv1 128M || exit 1
c_host_conf 1 libvirt_uri "\"$(lv_uri 1)\""
c_host_start 1 || { t_fail "start host 1"; t_finish; exit 1; }
t_assert "libvirtd launches (lock manager $LOCKING)" lv_host_launch 1 "$LOCKING"
t_assert "libvirtd answers" lv_host_wait 1
[ -n "${LV_PID[1]:-}" ] || { t_finish; exit 1; }
PORT=${C_PORT[1]}
pctl() { cpctl 1 "$@"; }
url() { echo "iscsi://127.0.0.1:$PORT/$IQN/$1"; }
vol_lun() { pctl --json volume info "$P" "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['lun'])"; }
no_domain() { ! lv_virsh 1 domstate "$VM" >/dev/null 2>&1; }
boot_sector() { t_poll 5 qemu-img convert -n -f raw -O raw "$T_DIR/head.img" "$(url "$LUN")"; }
# run a write to disk1 under a lease poolctl takes (sanlock: rw LUNs take
# writes only on the lease holder)
with_lease() {
    local rc
    [ "$LOCKING" = sanlock ] || { "$@"; return; }
    pctl lease acquire "$P" disk1 >/dev/null || return 1
    "$@"; rc=$?
    pctl lease release "$P" disk1 >/dev/null || return 1
    return $rc
}
# the running domain's <lease> keys, space-separated
domain_leases() {
    lv_virsh 1 dumpxml "$VM" | python3 -c '
import sys, xml.etree.ElementTree as ET
print(" ".join(l.findtext("key") for l in ET.fromstring(sys.stdin.read()).findall("devices/lease")))'
}
qemu_holds_lease() { # PID RESOURCE
    local st
    st=$(slk 1 status 2>&1)
    grep -Eq "^p $1( |\$)" <<< "$st" && grep -q ":$2:" <<< "$st"
}

# json: filename of a chain over iSCSI: "FMT:LUN FMT:LUN ..." top first
chain_json() {
    python3 - "$PORT" "$IQN" "$@" <<'EOF2'
import json, sys
port, iqn, links = sys.argv[1], sys.argv[2], sys.argv[3:]
def dev(lun):
    return {"driver": "iscsi", "transport": "tcp", "portal": "127.0.0.1:" + port,
            "target": iqn, "lun": int(lun)}
node = None
for link in reversed(links):
    fmt, lun = link.split(":")
    n = {"driver": fmt, "file": dev(lun)}
    if fmt == "qcow2":
        n["backing"] = node
    node = n
print("json:" + json.dumps(node))
EOF2
}
# the volume's chain: its top, then its snapshots from the current one down
vol_links() {
    local info snaps
    info=$(pctl --json volume info "$P" "$1") || return 1
    snaps=$(pctl --json snapshot list "$P" "$1") || return 1
    python3 - "$info" "$snaps" <<'EOF2'
import json, sys
info, snaps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
by = {s["name"]: s for s in snaps}
out = ["%s:%s" % (info["format"], info["lun"])]
p = info.get("parent_snapshot")
while p:
    out.append("%s:%s" % (by[p]["format"], by[p]["lun"]))
    p = by[p]["parent"]
print(" ".join(out))
EOF2
}
snap_link() { pctl --json snapshot list "$P" disk1 | python3 -c "import json, sys; s = {x['name']: x for x in json.load(sys.stdin)}['$1']; print('%s:%s' % (s['format'], s['lun']))"; }
# the first 1024 bytes (hex) read through a json: chain
read_head_json() {
    qemu-io -r -c "read -v 0 1024" "$1" 2>/dev/null | python3 -c '
import re, sys
out = bytearray()
for line in sys.stdin:
    m = re.match(r"^([0-9a-f]{8}):((?:\s+[0-9a-f]{2}){1,16})", line)
    if m:
        out += bytes(int(x, 16) for x in m.group(2).split())
sys.stdout.write(out.hex())'
}
MARKER_HEX=$(printf 'POOLD-MARKER' | od -An -v -tx1 | tr -d ' \n')
ZERO512=$(printf '0%.0s' $(seq 1 1024))
has_marker() { local h; h=$(read_head_json "$1"); [ "${h:1024:${#MARKER_HEX}}" = "$MARKER_HEX" ]; }
lba1_zero() { local h; h=$(read_head_json "$1"); [ -n "$h" ] && [ "${h:1024}" = "$ZERO512" ]; }
# the running domain's first disk: its driver type and the formats of its
# <backingStore>s, e.g. "qcow2 raw" or "qcow2 qcow2 raw"
domain_chain() {
    lv_virsh 1 dumpxml "$VM" | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.stdin.read()).find("devices/disk")
out = [d.find("driver").get("type")]
b = d.find("backingStore")
while b is not None and b.find("format") is not None:
    out.append(b.find("format").get("type"))
    b = b.find("backingStore")
print(" ".join(out))'
}
start_vm() { # ROUND
    if pctl vm start "$P" "$VM" > "$T_DIR/start.out" 2>&1; then t_ok; else
        t_fail "vm start (round $1): $(cat "$T_DIR/start.out")"
        tail -n 20 "$(lv_dir 1)/log/qemu/$VM.log" 2>/dev/null | sed 's/^/# qemu: /'
    fi
}

if [ "$LOCKING" = sanlock ]; then
    out=$(pctl pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 --lease-slots 16 \
        --host-ids 8 --host-id 1 2>&1) && t_ok || t_fail "pool create (sanlock): $out"
else
    out=$(pctl pool create "$P" $(c_devs 1) --locking none --lease-slots 16 --host-ids 8 2>&1) &&
        t_ok || t_fail "pool create (no locking): $out"
fi
t_assert "pool set-store" pctl pool set-store "$P" "$T_DIR/store" >/dev/null
t_assert "volume create disk1 16M" pctl volume create "$P" disk1 16M >/dev/null
LUN=$(vol_lun disk1)
cp "$BM_BIN" "$T_DIR/head.img" && truncate -s 1024 "$T_DIR/head.img"
t_assert "boot sector written through the target" with_lease boot_sector
UUID=$(pctl --json volume info "$P" disk1 | python3 -c "import json, sys; print(json.load(sys.stdin)['uuid'])")
lv_marker_domain_xml "$VM" "$P" disk1 > "$T_DIR/vm.xml"
t_assert "vm define" pctl vm define "$P" "$T_DIR/vm.xml" >/dev/null

# ---- round 1: one raw layer below the qcow2 top ----------------------------------
t_assert "snapshot create s1" pctl snapshot create "$P" disk1 s1 >/dev/null
S1=$(snap_link s1)
t_assert "s1 is the raw layer ($S1)" [ "${S1%%:*}" = raw ]
t_assert "disk1 is a qcow2 top over s1 ($(vol_links disk1))" [ "$(vol_links disk1)" = "qcow2:$LUN $S1" ]
t0=$(t_now)
start_vm 1
t_assert "domain: qcow2 over one raw layer ($(domain_chain))" [ "$(domain_chain)" = "qcow2 raw" ]
t_assert "the guest wrote its marker (read through the chain)" \
    t_poll 30 has_marker "$(chain_json $(vol_links disk1))"
echo "# round 1: start to marker $(t_took "$t0") s"
if [ "$LOCKING" = sanlock ]; then
    t_assert "the domain has one <lease>, the top's ($(domain_leases))" [ "$(domain_leases)" = "$UUID" ]
    QPID=$(lv_domain_pid 1 "$VM")
    t_assert "QEMU (pid ${QPID:-none}) holds the volume's lease" qemu_holds_lease "${QPID:-0}" "$UUID"
fi
t_assert "s1's LUN is unchanged (LBA 1 zero)" lba1_zero "$(chain_json "$S1")"
t_assert "vm stop --force" pctl vm stop --force "$P" "$VM" >/dev/null
t_assert "the domain is gone" t_poll 10 no_domain

# ---- round 2: a qcow2 layer over the raw one ---------------------------------------
t_assert "snapshot create s2" pctl snapshot create "$P" disk1 s2 >/dev/null
S2=$(snap_link s2)
t_assert "s2 is a qcow2 layer ($S2)" [ "${S2%%:*}" = qcow2 ]
TOP=$(chain_json $(vol_links disk1))
t_assert "marker wiped in the top" with_lease qemu-io -c "write -z 512 512" "$TOP"
t_assert "the top reads LBA 1 zero" lba1_zero "$TOP"
start_vm 2
t_assert "domain: qcow2 over qcow2 over raw ($(domain_chain))" [ "$(domain_chain)" = "qcow2 qcow2 raw" ]
t_assert "the guest wrote its marker again" t_poll 30 has_marker "$TOP"
t_assert "vm stop --force" pctl vm stop --force "$P" "$VM" >/dev/null
t_assert "the domain is gone" t_poll 10 no_domain
t_assert "s1 still unchanged" lba1_zero "$(chain_json "$S1")"
t_assert "s2 holds round 1's marker" has_marker "$(chain_json "$S2" "$S1")"

# ---- a full clone of a qcow2 volume is not built: refused, nothing made -------------
t_expect_fail 7 "disk1 is qcow2 .*full clone of it is not built yet" \
    pctl volume clone "$P" disk1 copy1
LVS=$(t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
t_assert "no LV copy1 (LVs: $LVS)" bash -c '[[ " $1" == *" disk1 "* && " $1" != *" copy1 "* ]]' _ "$LVS"
t_finish
