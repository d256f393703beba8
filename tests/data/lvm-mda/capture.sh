#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# capture.sh: regenerate the captured PV heads (first 8 KiB of a PV) in this
# directory, used by tests/unit/test_lvm_mda.c and as fuzz seeds of
# fuzz_lvm_mda.
#
# Why: lvm_mda.c parses LVM2's on-disk label and metadata-area header. Its
# tests must run on bytes written by the real lvm2 (label sector, pv_header
# lists, mda_header checksum and raw_locn values), not on a layout we
# imagined. Three loop devices backed by sparse files:
#   A: ordinary PV (one mda)                -> pv-orphan.bin (after pvcreate),
#                                              pv-vg.bin (after vgcreate),
#                                              pv-vg-lv.bin (after lvcreate)
#   B: pvcreate --metadatacopies 0 (no mda) -> pv-nomda.bin
#   C: ordinary PV, then pvchange --metadataignore y -> pv-ignored.bin
#
# Safety: the loop devices, the lvm configuration limited to them and the
# trap that removes the VG, wipes the PV labels and detaches them on any exit
# are tests/harness/lib-scratch-vg.sh's. Needs root and lvm2 (no
# device-mapper needed: activation=0).
#
# Usage: tests/data/lvm-mda/capture.sh [OUTDIR]   (default: this directory)
set -eu

OUT=${1:-$(dirname "$0")}
VG="mdacap_$$"
export LC_ALL=C
. "$(dirname "$0")/../../harness/lib-scratch-vg.sh"

sv_init lvm-mda-capture
sv_loop A a 64M
sv_loop B b 64M
sv_loop C c 64M

dump() { # dump DEV FILE: the first 8 KiB of DEV, bypassing the page cache
    dd if="$1" of="$OUT/$2" bs=4096 count=2 iflag=direct status=none
    echo "captured $OUT/$2"
}

sv_run pvcreate "$A" "$C"
sv_run pvcreate --metadatacopies 0 "$B"
dump "$A" pv-orphan.bin
sv_run vgcreate -s 4194304b --setautoactivation n "$VG" "$A" "$B" "$C"
dump "$A" pv-vg.bin
sv_run lvcreate -an -Zn -Wn -y -L 8M -n lv1 "$VG"
dump "$A" pv-vg-lv.bin
dump "$B" pv-nomda.bin
sv_run pvchange --metadataignore y "$C"
dump "$C" pv-ignored.bin
