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
# escaping in lvm filters, and runs the test. The temp dir, the devices and
# the EXIT trap that removes the VG and PV labels (with lvm confined by
# --config to these devices) and detaches exactly the devices it attached
# are tests/harness/lib-scratch-vg.sh's.
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

. "$(dirname "$0")/../harness/lib-scratch-vg.sh"
ALIAS=""
SV_ON_EXIT='[ -n "$ALIAS" ] && rm -f "$ALIAS"'
sv_init lvm-driver

truncate -s 64M "$SV_TMP/c.img" && mkfs.ext4 -q -F "$SV_TMP/c.img" || exit 1
sv_loop A a 64M && sv_loop B b 64M && sv_loop C c 64M || exit 1
echo "loop devices: $A $B $C (ext4)"

ALIAS="/dev/pool-lvmtest-$$.a+b(c)"
ln -s "$A" "$ALIAS" || ALIAS=""

if [ -n "$ALIAS" ]; then
    "$TEST" "$VG" "$A" "$B" "$C" "$ALIAS"
else
    "$TEST" "$VG" "$A" "$B" "$C"
fi
