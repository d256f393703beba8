#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lvm-driver.sh: run lvm_driver_test against real lvm2 on loop devices.
#
# Why a wrapper: the C program must get devices nobody else uses, and they
# must go away whatever happens to it. So this script makes three sparse
# files in its own temporary directory (two blank 64 MiB PVs-to-be, one with
# an ext4 file system), attaches them with `losetup -f` (never touching loop
# devices it did not attach), adds a /dev symlink whose name needs regex
# escaping in lvm filters, runs the test, and in an EXIT trap removes the VG
# and PV labels (with lvm confined by --config to these devices) and detaches
# exactly the devices it attached.
#
# Usage: lvm-driver.sh /path/to/lvm_driver_test
# Exit 77 (skipped) without root, lvm, losetup or mkfs.ext4.
set -u

TEST=${1:?usage: lvm-driver.sh /path/to/lvm_driver_test}
VG="lvmdrv_$$"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (loop devices, lvm)"
    exit 77
fi
for prog in lvm losetup mkfs.ext4 truncate; do
    if ! command -v "$prog" >/dev/null 2>&1 && [ ! -x "/sbin/$prog" ] && [ ! -x "/usr/sbin/$prog" ]; then
        echo "SKIP: $prog not found"
        exit 77
    fi
done
export PATH="$PATH:/sbin:/usr/sbin" LVM_SUPPRESS_FD_WARNINGS=1

TMP=$(mktemp -d /tmp/lvm-driver.XXXXXX) || exit 1
ATTACHED=""
ALIAS=""

# Devices in ATTACHED that are still backed by our files: cleanup acts on
# these only, so a loop device someone else re-used is never touched.
ours() {
    for d in $ATTACHED; do
        case "$(losetup -nO BACK-FILE "$d" 2>/dev/null)" in
        "$TMP"/*) echo "$d" ;;
        esac
    done
}

lvm_config() {
    f=""
    for d in "$@"; do
        f="$f\"a|^$d\$|\","
    done
    f="[$f\"r|.*|\"]"
    echo "devices { filter=$f global_filter=$f use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 } global { activation=0 } backup { backup=0 archive=0 }"
}

cleanup() {
    rc=$?
    trap - EXIT INT TERM HUP
    mine=$(ours)
    if [ -n "$mine" ]; then
        # shellcheck disable=SC2086 # word splitting of the device list is wanted
        cfg=$(lvm_config $mine)
        lvm vgremove --config "$cfg" -f "$VG" </dev/null >/dev/null 2>&1
        for d in $mine; do
            lvm pvremove --config "$cfg" -ff -y "$d" </dev/null >/dev/null 2>&1
        done
        for d in $mine; do
            losetup -d "$d" || echo "WARNING: could not detach $d" >&2
        done
    fi
    [ -n "$ALIAS" ] && rm -f "$ALIAS"
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# prints the device; the caller records it in ATTACHED (this runs in $(...))
attach() {
    losetup -f --show "$1"
}

truncate -s 64M "$TMP/a.img" "$TMP/b.img" "$TMP/c.img" || exit 1
mkfs.ext4 -q -F "$TMP/c.img" || exit 1
A=$(attach "$TMP/a.img") && ATTACHED="$ATTACHED $A" || exit 1
B=$(attach "$TMP/b.img") && ATTACHED="$ATTACHED $B" || exit 1
C=$(attach "$TMP/c.img") && ATTACHED="$ATTACHED $C" || exit 1
echo "loop devices: $A $B $C (ext4)"

ALIAS="/dev/pool-lvmtest-$$.a+b(c)"
ln -s "$A" "$ALIAS" || ALIAS=""

if [ -n "$ALIAS" ]; then
    "$TEST" "$VG" "$A" "$B" "$C" "$ALIAS"
else
    "$TEST" "$VG" "$A" "$B" "$C"
fi
