#!/bin/bash
# libvirt-chap.sh: the initiators poold sets up in libvirt keep working with
# CHAP on the pool's target (issue 10, item 2): the libvirt iscsi-direct
# pool poold publishes and the VMs it starts log in through a libvirt
# secret poold keeps (poold/libvirt_secret.h). One simulated host
# (lib-cluster.sh: sanlock daemon, poold, portal, loop device) with a
# private libvirtd using libvirt's sanlock lock manager (lib-libvirt.sh), a
# sanlock pool, one volume holding a boot sector (tests/data/boot-marker:
# the guest writes "POOLD-MARKER" to LBA 1, then halts).
#   - target chap set: within 10 s the libvirt pool's definition has
#     <auth type='chap' username=USER><secret usage='poold-IQN'/>, libvirt
#     has that secret (private: virsh secret-get-value refuses), and a
#     login without credentials is refused by the target;
#   - with CHAP on, the libvirt pool is active, a new volume shows in
#     vol-list within 10 s (poold's refresh logs in with CHAP) and
#     virsh vol-wipe zeroes it through libvirt's own login (iscsi-direct
#     has no vol-download);
#   - vm start with CHAP on: the domain's disk names the secret, the guest
#     boots from its disk and writes the marker; vm stop --force;
#   - chap set with a new secret: the old secret no longer logs in, a new
#     volume still shows in vol-list within 10 s, and the VM boots again;
#   - mutual CHAP is refused (exit 7) while pools are published as
#     iscsi-direct;
#   - chap clear: the definition loses <auth>, the secret is undefined,
#     and the pool still follows a new volume;
#   - pool destroy (CHAP set again) undefines the pool and its secret;
#   - no secret value ever shows in poold's log, libvirt's pool or domain
#     XML, or poolctl's output.
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
USAGE="poold-$IQN"
S1="chap-secret-one-$$"
S2="chap-secret-two-$$"
printf '%s\n' "$S1" > "$T_DIR/s1"
printf '%s' "$S2" > "$T_DIR/s2"
printf 'mutual-secret-x-%s' "$$" > "$T_DIR/s3"

# ---- sanlock + poold, then libvirtd with the sanlock lock manager -----------
c_hosts 1
c_shared_disk pv1 256M || exit 1
c_host_conf 1 libvirt_uri "\"$(lv_uri 1)\""
c_host_conf 1 libvirt_pool_type '"iscsi-direct"'
c_host_conf 1 libvirt_initiator "\"iqn.2026-11.org.poold.test:chap-$$\""
c_host_start 1 || { t_fail "start host 1"; t_finish; exit 1; }
t_assert "libvirtd launches (lock manager sanlock)" lv_host_launch 1 sanlock
t_assert "libvirtd answers" lv_host_wait 1
[ -n "${LV_PID[1]:-}" ] || { t_finish; exit 1; }
PORT=${C_PORT[1]}
LOG=$(c_log 1)
pctl() { cpctl 1 "$@"; }

url() { echo "iscsi://${2:+$2@}127.0.0.1:$PORT/$IQN/$1"; }
vol_lun() { pctl --json volume info "$P" "$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['lun'])"; }
# (grep -q in a pipe under pipefail: when grep exits at its first match the
# writer may die of SIGPIPE and fail the pipe; so grep reads a variable)
has_vol() { grep -qx "unit:0:0:$1" <<<"$(lv_virsh 1 vol-list "$P" 2>/dev/null | awk '$1 ~ /^unit:/ {print $1}')"; }
pool_xml() { lv_virsh 1 pool-dumpxml --inactive "$P" 2>/dev/null; }
has_auth() { local x; x=$(pool_xml); grep -q "<auth type='chap' username='$1'>" <<<"$x" && grep -q "<secret usage='$USAGE'/>" <<<"$x"; }
no_auth() { local x; x=$(pool_xml) && grep -q "<pool type='iscsi-direct'" <<<"$x" && ! grep -q '<auth' <<<"$x"; }
has_secret() { grep -q "iscsi $USAGE" <<<"$(lv_virsh 1 secret-list 2>/dev/null)"; }
no_secret() { lv_virsh 1 secret-list >/dev/null 2>&1 && ! has_secret; }
can_login() { qemu-img info "$(url "$LUN" "$1")" >/dev/null 2>&1; }
cannot_login() { ! can_login "$1"; }
MARKER_HEX=$(printf 'POOLD-MARKER' | od -An -v -tx1 | tr -d ' \n')
marker_there() { local h; h=$(t_read_head "$(url "$LUN" "$1")"); [ "${h:1024:${#MARKER_HEX}}" = "$MARKER_HEX" ]; }
# rw LUNs of a sanlock pool take writes only while a lease is held here
zero_lba1() {
    pctl lease acquire "$P" disk1 >/dev/null || return 1
    t_poll 5 qemu-io -f raw -c "write -z 512 512" "$(url "$LUN" "$1")" >/dev/null 2>&1
    local r=$?
    pctl lease release "$P" disk1 >/dev/null || r=1
    return $r
}
no_domain() { ! lv_virsh 1 domstate "$VM" >/dev/null 2>&1; }
# a volume created now shows in libvirt's vol-list (poold refreshes the pool)
new_vol_listed() {
    pctl volume create "$P" "$1" 4M >/dev/null || return 1
    t_poll 10 has_vol "$(vol_lun "$1")"
}
vm_boots() { # vm_boots CREDS: start, marker written, stop
    zero_lba1 "$1" || return 1
    if ! pctl vm start "$P" "$VM" > "$T_DIR/start.out" 2>&1; then
        echo "# vm start: $(cat "$T_DIR/start.out")"
        tail -n 5 "$(lv_dir 1)/log/qemu/$VM.log" 2>/dev/null | sed 's/^/# qemu: /'
        return 1
    fi
    lv_virsh 1 dumpxml "$VM" > "$T_DIR/dom.xml" 2>/dev/null
    local ok=0
    t_poll 30 marker_there "$1" || ok=1
    pctl vm stop --force "$P" "$VM" >/dev/null || ok=1
    t_poll 10 no_domain || ok=1
    return $ok
}

# ---- pool, a volume with the boot sector, a VM ---------------------------
t_assert "pool create (sanlock)" pctl pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 8 --lease-slots 16 --host-id 1 >/dev/null
t_assert "pool set-store" pctl pool set-store "$P" "$T_DIR/store" >/dev/null
t_assert "volume create disk1 16M" pctl volume create "$P" disk1 16M >/dev/null
LUN=$(vol_lun disk1)
t_assert "libvirt pool lists disk1 (no CHAP yet)" t_poll 10 has_vol "$LUN"
cp "$BM_BIN" "$T_DIR/head.img" && truncate -s 1024 "$T_DIR/head.img"
t_assert "lease acquire (to write the boot sector)" pctl lease acquire "$P" disk1 >/dev/null
t_assert "boot sector written through the target" \
    t_poll 5 qemu-img convert -n -f raw -O raw "$T_DIR/head.img" "$(url "$LUN")"
t_assert "lease release" pctl lease release "$P" disk1 >/dev/null
lv_marker_domain_xml "$VM" "$P" disk1 > "$T_DIR/vm.xml"
t_assert "vm define" pctl vm define "$P" "$T_DIR/vm.xml" >/dev/null

# ---- CHAP on ---------------------------------------------------------------
t_assert "target chap set" pctl target chap set "$P" --user chapuser --secret-file "$T_DIR/s1" > "$T_DIR/out1"
t_assert "a login without credentials is refused now" t_poll 5 cannot_login ""
t_assert "the right credentials log in" can_login "chapuser%$S1"
if t_poll 10 has_auth chapuser; then t_ok; else
    t_fail "libvirt pool gets <auth> naming the secret within 10 s"
    pool_xml | sed 's/^/# pool: /'
    grep -E 'libvirt|secret' "$LOG" | tail -n 8 | sed 's/^/# poold: /'
fi
t_assert "libvirt has secret $USAGE" has_secret
t_assert "the secret is private (secret-get-value refused)" \
    bash -c '! virsh -c "$1" secret-get-value "$2" >/dev/null 2>&1' _ "$(lv_uri 1)" \
    "$(lv_virsh 1 secret-list 2>/dev/null | awk -v u="$USAGE" '$3 == u {print $1}')"
t_assert "libvirt pool active" t_poll 10 lv_pool_ready 1 "$P"
t_assert "with CHAP on, a new volume v2 shows in vol-list within 10 s" new_vol_listed v2
pool_xml > "$T_DIR/pool.xml"
# libvirt's iscsi-direct backend has no vol-download; vol-wipe logs in and
# writes every block of the LUN through libvirt
L2=$(vol_lun v2)
t_assert "v2 exported shared (writes without a lease)" pctl volume export "$P" v2 --mode shared >/dev/null
t_assert "a pattern written to v2" qemu-io -f raw -c "write -P 0x5a 0 4M" "$(url "$L2" "chapuser%$S1")"
t_assert "virsh vol-wipe of v2 (libvirt logs in with CHAP)" lv_virsh 1 vol-wipe --pool "$P" "unit:0:0:$L2"
reads_zero() { local o; o=$(qemu-io -f raw -c "read -P 0 0 4M" "$1" 2>&1) && ! grep -q 'verification failed' <<< "$o" && grep -q 'read 4194304/4194304' <<< "$o"; }
t_assert "v2 reads back zero" reads_zero "$(url "$L2" "chapuser%$S1")"

# ---- a VM with CHAP on ---------------------------------------------------
t_assert "VM boots from its disk with CHAP on (marker written)" vm_boots "chapuser%$S1"
t_assert "the domain's disk names the secret" \
    grep -qs "<secret type='iscsi' usage='$USAGE'/>" "$T_DIR/dom.xml"

# ---- a new secret ------------------------------------------------------------
t_assert "target chap set (new secret)" pctl target chap set "$P" --user chapuser --secret-file "$T_DIR/s2" > "$T_DIR/out2"
t_assert "the old secret no longer logs in" cannot_login "chapuser%$S1"
t_assert "after the new secret, a new volume v3 shows in vol-list within 10 s" new_vol_listed v3
t_assert "libvirt pool still active" lv_pool_ready 1 "$P"
t_assert "VM boots again with the new secret" vm_boots "chapuser%$S2"

# ---- mutual CHAP: libvirt cannot answer it -------------------------------------
t_expect_fail 7 "mutual CHAP: .*one-way CHAP only" pctl target chap set "$P" --user chapuser \
    --secret-file "$T_DIR/s2" --mutual-user tgt --mutual-secret-file "$T_DIR/s3"
t_assert "the refused change changed nothing" can_login "chapuser%$S2"

# ---- CHAP off ------------------------------------------------------------------
t_assert "target chap clear" pctl target chap clear "$P" >/dev/null
t_assert "libvirt pool loses <auth> within 10 s" t_poll 10 no_auth
t_assert "the secret is undefined" t_poll 10 no_secret
t_assert "without CHAP, a new volume v4 shows in vol-list within 10 s" new_vol_listed v4

# ---- pool destroy takes the secret along -------------------------------------
t_assert "target chap set (again)" pctl target chap set "$P" --user chapuser --secret-file "$T_DIR/s1" >/dev/null
t_assert "secret defined again" t_poll 10 has_secret
t_assert "pool destroy --force" pctl pool destroy --force "$P" >/dev/null
t_assert "the libvirt pool is undefined" t_poll 10 bash -c '! virsh -c "$1" pool-info "$2" >/dev/null 2>&1' _ "$(lv_uri 1)" "$P"
t_assert "the secret is undefined with it" t_poll 10 no_secret

# ---- the secrets never show --------------------------------------------------------
for s in "$S1" "$S2"; do
    t_assert "no secret in poold's log" bash -c '! grep -qF -- "$1" "$2"' _ "$s" "$LOG"
    t_assert "no secret in poolctl's output" bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$s" "$T_DIR/out1" "$T_DIR/out2"
    t_assert "no secret in the domain XML" bash -c '! grep -qF -- "$1" "$2"' _ "$s" "$T_DIR/dom.xml"
    t_assert "no secret in the libvirt pool XML" bash -c '! grep -rqF -- "$1" "$2" "$3"' _ "$s" "$T_DIR/pool.xml" "$(lv_dir 1)/etc/storage"
done 2>/dev/null
t_finish
