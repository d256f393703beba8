#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# capture.sh: regenerate the captured lvm report outputs in this directory.
#
# Why: lvm_report.c is a pure parser and its unit tests must run on output
# produced by the real lvm2 (field order, quoting, one row per segment, how
# tags and empty values look), not on JSON we imagined. This script builds a
# throw-away VG on two loop devices backed by sparse files, shapes it so the
# interesting cases exist (multi-segment LV crossing the PV boundary, tags
# with ':' in them, an LV without tags, an orphan PV, a missing PV, a
# striped LV), and saves the JSON of `lvs`/`vgs`/`pvs` run with exactly the
# field lists of pool-lvm.h.
#
# Safety: the loop devices, the lvm configuration limited to them and the
# trap that removes the VG and detaches them on any exit are
# tests/harness/lib-scratch-vg.sh's. Needs root and lvm2.
#
# Usage: tests/data/lvm-report/capture.sh [OUTDIR]   (default: this directory)
set -eu

OUT=${1:-$(dirname "$0")}
LVS_FIELDS="lv_name,lv_uuid,lv_size,lv_tags,seg_start_pe,seg_size_pe,seg_pe_ranges,segtype"
VGS_FIELDS="vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,pv_count,lv_count,vg_tags"
PVS_FIELDS="pv_name,pv_uuid,vg_name,pv_size,pe_start,pv_pe_count,pv_pe_alloc_count"
# POOL_LVM_LVS_VG_FIELDS: the lvs fields, then the vgs fields on every row
LVS_VG_FIELDS="$LVS_FIELDS,$VGS_FIELDS"
VG="capture_vg_$$"
export LC_ALL=C
. "$(dirname "$0")/../../harness/lib-scratch-vg.sh"

sv_init lvm-capture
sv_loop A a 64M
sv_loop B b 64M

report() { # report OUTFILE SUBCOMMAND FIELDS ARGS...
    file=$1 sub=$2 fields=$3
    shift 3
    lvm "$sub" --config "$CFG" --reportformat json --units b --nosuffix -o "$fields" "$@" \
        </dev/null >"$OUT/$file" 2>"$SV_TMP/err" || true
    echo "captured $OUT/$file"
}

sv_run pvcreate "$A" "$B"
report pvs-orphans.json pvs "$PVS_FIELDS"
sv_run vgcreate -s 4194304b --setautoactivation n --addtag "pd_pool:5b1f0d9e-6f7a-4b7e-9a51-3c2d1e0f9a8b" \
    --addtag "pd_name:pool.one" --addtag "pd_version:1" "$VG" "$A" "$B"
report lvs-empty-vg.json lvs "$LVS_FIELDS" "$VG"
report lvs-vg-empty-vg.json lvs "$LVS_VG_FIELDS" "$VG"
report lvs-vg-not-found.json lvs "$LVS_VG_FIELDS" "no_such_vg_$$"
report vgs-not-found.json vgs "$VGS_FIELDS" "no_such_vg_$$"

lvc() { sv_run lvcreate -an -Zn -Wn -y --type linear "$@" "$VG"; }
lvc -l 2 -n ids --addtag pd_kind:ids
lvc -l 2 -n leases --addtag pd_kind:leases
lvc -l 3 -n vol1 --addtag pd_name:web01-disk --addtag pd_slot:12 \
    --addtag pd_uuid:0c8f5f1e-2a7b-4f43-8d57-7b0a3f1c9e11 --addtag pd_format:raw
lvc -l 2 -n vol2 --addtag pd_slot:13
# vol1 grows through the rest of the first PV into the second one.
sv_run lvextend -l 12 "$VG/vol1"
lvc -l 1 -n vol3

report lvs.json lvs "$LVS_FIELDS" "$VG"
report vgs.json vgs "$VGS_FIELDS" "$VG"
report pvs.json pvs "$PVS_FIELDS"
report lvs-vg.json lvs "$LVS_VG_FIELDS" "$VG"
# Two named LVs in one lvs (the reply after a create/resize), and the same
# with one name that does not exist (lvs exits 5 and reports the others).
report lvs-named.json lvs "$LVS_FIELDS" "$VG/vol1" "$VG/leases"
report lvs-named-missing.json lvs "$LVS_FIELDS" "$VG/vol1" "$VG/no_such_lv"

# A striped LV (two stripes, one extent on each PV, in the room vol2 leaves):
# the parser must refuse it, naming the LV.
sv_run lvremove -y "$VG/vol2"
sv_run lvcreate -an -Zn -Wn -y -i 2 -I 64k -l 2 -n striped2 "$VG"
report lvs-striped.json lvs "$LVS_FIELDS" "$VG"
sv_run lvremove -y "$VG/striped2"

# The VG seen through a filter that hides the second PV: "[unknown]" names.
CFG=$(sv_cfg "$A")
report lvs-missing-pv.json lvs "$LVS_FIELDS" "$VG"
report lvs-vg-missing-pv.json lvs "$LVS_VG_FIELDS" "$VG"
report pvs-missing-pv.json pvs "$PVS_FIELDS"
