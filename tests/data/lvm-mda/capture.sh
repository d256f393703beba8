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
# Safety: every lvm command gets a --config whose filters accept only the
# loop devices attached here; metadata backup/archive is off; a trap removes
# the VG, wipes the PV labels and detaches the loop devices on any exit.
# Needs root and lvm2 (no device-mapper needed: activation=0).
#
# Usage: tests/data/lvm-mda/capture.sh [OUTDIR]   (default: this directory)
set -eu

OUT=${1:-$(dirname "$0")}
VG="mdacap_$$"
export LVM_SUPPRESS_FD_WARNINGS=1 LC_ALL=C

TMP=$(mktemp -d /tmp/lvm-mda-capture.XXXXXX)
A=""
B=""
C=""
ours() {
    case "$(losetup -nO BACK-FILE "$1" 2>/dev/null)" in
    "$TMP"/*) return 0 ;;
    esac
    return 1
}
cleanup() {
    set +e
    if [ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] && ours "$A" && ours "$B" && ours "$C"; then
        lvm vgremove --config "$CFG" -f "$VG" </dev/null >/dev/null 2>&1
        lvm pvremove --config "$CFG" -y "$A" "$B" "$C" </dev/null >/dev/null 2>&1
    fi
    for d in "$A" "$B" "$C"; do
        [ -n "$d" ] && ours "$d" && losetup -d "$d"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cfg() {
    f=""
    for d in "$@"; do
        f="$f\"a|^$d\$|\","
    done
    f="[$f\"r|.*|\"]"
    printf 'devices { filter=%s global_filter=%s use_devicesfile=0 hints="none" ' "$f" "$f"
    printf 'obtain_device_list_from_udev=0 scan_lvs=0 } '
    printf 'global { activation=0 use_lvmlockd=0 use_lvmpolld=0 notify_dbus=0 } '
    printf 'activation { udev_sync=0 udev_rules=0 monitoring=0 auto_activation_volume_list=[] } '
    printf 'backup { backup=0 archive=0 }'
}

truncate -s 64M "$TMP/a.img" "$TMP/b.img" "$TMP/c.img"
A=$(losetup -f --show "$TMP/a.img")
B=$(losetup -f --show "$TMP/b.img")
C=$(losetup -f --show "$TMP/c.img")
CFG=$(cfg "$A" "$B" "$C")

run() { # run SUBCOMMAND ARGS...: quiet lvm with our config
    sub=$1
    shift
    lvm "$sub" --config "$CFG" "$@" </dev/null >/dev/null 2>"$TMP/err" || {
        cat "$TMP/err" >&2
        exit 1
    }
}
dump() { # dump DEV FILE: the first 8 KiB of DEV, bypassing the page cache
    dd if="$1" of="$OUT/$2" bs=4096 count=2 iflag=direct status=none
    echo "captured $OUT/$2"
}

run pvcreate "$A" "$C"
run pvcreate --metadatacopies 0 "$B"
dump "$A" pv-orphan.bin
run vgcreate -s 4194304b --setautoactivation n "$VG" "$A" "$B" "$C"
dump "$A" pv-vg.bin
run lvcreate -an -Zn -Wn -y -L 8M -n lv1 "$VG"
dump "$A" pv-vg-lv.bin
dump "$B" pv-nomda.bin
run pvchange --metadataignore y "$C"
dump "$C" pv-ignored.bin
