#!/bin/bash
# bad-input.sh: every kind of bad operator input gets a precise
# "poolctl: error: ..." message and a documented non-zero exit code, and
# nothing changes on disk (VG seqno, LVs, PVs and tags are compared before
# and after each attempt).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"

t_loop PV1 pv1 1G && t_loop PV2 pv2 1G && t_loop FS fs 64M && t_loop TINY tiny 4M \
    && t_loop SPARE spare 1G || exit 1
mkfs.ext4 -q -F "$FS" || exit 1
t_start_poold || exit 1
t_assert "pool create" pctl pool create --lease-slots 50 --host-ids 50 "$T_POOL" "$PV1" "$PV2"
t_assert "volume create" pctl volume create "$T_POOL" existing 8M

disk_state() {
    t_lvm vgs --noheadings -o vg_name,vg_seqno,vg_tags 2>/dev/null
    t_lvm lvs --noheadings -o lv_name,lv_size,lv_tags,seg_pe_ranges 2>/dev/null
    t_lvm pvs --noheadings -o pv_name,vg_name 2>/dev/null
    ls "$T_DIR/state/pools"
    blkid -p -o value -s TYPE "$FS" 2>/dev/null
}

# bad CODE REGEX ARGS...: must fail that way and leave the disks alone
bad() {
    local code=$1 re=$2; shift 2
    local before after
    before=$(disk_state)
    t_expect_fail "$code" "$re" pctl "$@"
    after=$(disk_state)
    [ "$before" = "$after" ] || t_fail "on-disk state changed after: poolctl $*"
}

# sizes
for s in abc -1 1.5G 20X 0 "" G " 1G" 99999999999999999999 17179869184T; do
    bad 2 "size|SIZE" volume create "$T_POOL" v1 "$s"
done
bad 2 "SIZE|size" volume resize "$T_POOL" existing 12Q
bad 5 "not enough free space" volume create "$T_POOL" huge 100G
bad 5 "not enough free space" volume resize "$T_POOL" existing 100G

# names
bad 4 "already exists" volume create "$T_POOL" existing 8M
for n in "a/b" ".." "." "a b" 'a;b' 'x$(id)' 'a`id`' 'a|b' 'a&b' "a>b" "a*" "a'b" 'a"b' \
         "ids" "leases" "snapshot" "pvmove0" "x_mlog" "$(printf 'a%.0s' $(seq 1 65))" "é"; do
    bad 2 "name" volume create "$T_POOL" "$n" 8M
done
bad 2 "unknown option" volume create "$T_POOL" -x 8M
bad 2 "name" pool create "bad/name" "$SPARE"

# objects that do not exist
bad 3 "no pool named 'nopool'" volume create nopool v1 8M
bad 3 "no pool named 'nopool'" pool info nopool
bad 3 "no volume named 'nothere'" volume info "$T_POOL" nothere
bad 3 "no volume named 'nothere'" volume delete "$T_POOL" nothere
bad 3 "no volume named 'nothere'" volume resize "$T_POOL" nothere 8M

# snapshots (issue 11)
bad 3 "no volume named 'nothere'" snapshot create "$T_POOL" nothere s1
bad 3 "no volume named 'nothere'" snapshot list "$T_POOL" nothere
bad 3 "has no snapshot named 'nosnap'" snapshot revert "$T_POOL" existing nosnap
bad 3 "has no snapshot named 'nosnap'" snapshot delete "$T_POOL" existing nosnap
bad 3 "has no snapshot named 'nosnap'" snapshot info "$T_POOL" existing nosnap
bad 3 "no pool named 'nopool'" snapshot create nopool existing s1
for n in "a/b" ".." "a b" 'x$(id)' "ids" "snapshot" "pdl-1" "$(printf 'a%.0s' $(seq 1 65))"; do
    bad 2 "name" snapshot create "$T_POOL" existing "$n"
done
bad 2 "name" volume create "$T_POOL" pdl-x 8M

# devices
bad 5 "/dev/nonexistent.*No such file" pool create p2 /dev/nonexistent
bad 2 "absolute path" pool create p2 relative/dev
bad 5 "not a block device" pool create p2 "$T_DIR/poold.conf"
bad 5 "holds data \\(ext4 signature\\).*--force" pool create p2 "$FS"
bad 5 "too small" pool create p2 "$TINY"
bad 5 "devices too small" pool create p2 "$SPARE" --lease-slots 2000
bad 5 "already belongs to pool $T_POOL" pool create p2 "$PV1"
bad 2 "listed twice" pool create p2 "$SPARE" "$SPARE"
bad 4 "already exists" pool create "$T_POOL" "$SPARE"
bad 2 "extent size" pool create p2 "$SPARE" --extent-size 3M
bad 2 "host ids|host-ids" pool create p2 "$SPARE" --host-ids 0
bad 2 "host ids|host-ids" pool create p2 "$SPARE" --host-ids 2001

# command line
bad 2 "unknown command" frobnicate
bad 2 "unknown command 'volume frob'" volume frob
bad 2 "missing SIZE" volume create "$T_POOL" v1
bad 2 "unexpected argument" volume info "$T_POOL" existing extra
bad 2 "unknown option '--bogus'" volume list --bogus "$T_POOL"
bad 2 "takes no value" pool destroy --force=yes "$T_POOL"
bad 4 "still has 1 volume" pool destroy "$T_POOL"

# LVs poold did not make are never deleted, not even by destroy --force
t_lvm lvcreate -an -Zn -y -L 4M -n foreign "$T_POOL" >/dev/null || t_fail "lvcreate foreign"
bad 4 "does not manage \\(foreign\\)" pool destroy --force "$T_POOL"
t_lvm lvremove -y "$T_POOL/foreign" >/dev/null || t_fail "lvremove foreign"

# --force does overwrite data, and only then
t_assert "pool create --force over ext4" pctl pool create --force --lease-slots 10 --host-ids 10 p2 "$FS"
t_assert "p2 destroy" pctl pool destroy p2

# a daemon that is not there
t_expect_fail 6 "cannot reach poold" "$POOLCTL_BIN" --socket "$T_DIR/nothere.sock" pool list
t_finish
