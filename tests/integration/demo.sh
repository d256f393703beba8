#!/bin/bash
# demo.sh: the README's first command (scripts/demo) runs to completion on
# this build, shows a pool and a volume spanning two PVs, over iSCSI and in
# its private libvirtd (virsh), and leaves no loop device, poold, libvirtd or
# virtlogd behind.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
for b in libvirtd virtlogd virsh python3 unshare; do
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "# $b missing: skipping"; exit 77; }
done
# gone: exited, or a zombie (orphans are reparented to a pid 1 that may
# never reap them)
gone() { # gone PID SECONDS
    local deadline=$((SECONDS + $2)) st
    while st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.05
    done
}
# a demo's daemons: their command lines name its directory (other demos may
# run beside this test: every check is about this test's own directories)
demo_daemons() { pgrep -a -f "^/usr/sbin/(libvirtd|virtlogd) .*$1/" || true; } # demo_daemons DIR
out=$("$POOL_SRCDIR/scripts/demo" --no-deps --build-dir "$POOL_BUILDDIR" 2>&1); rc=$?
echo "$out" | tail -n 30
t_assert "demo exits 0 (rc $rc)" [ "$rc" -eq 0 ]
t_assert "demo listed its volumes" grep -q "^vm01-disk .* 2 .*ready" <<< "$out"
t_assert "demo showed the lvs view" grep -q "pd_uuid:" <<< "$out"
t_assert "iscsi-ls saw the pool's target" grep -q "^Target:iqn.2026-11.org.poold:demo " <<< "$out"
t_assert "iscsi-ls saw both LUNs" bash -c 'grep -q "^Lun:1 " <<< "$1" && grep -q "^Lun:2 " <<< "$1"' _ "$out"
t_assert "an initiator wrote and read a LUN" grep -q "^read 65536/65536 bytes at offset 1048576" <<< "$out"
t_assert "virsh listed the pool active" grep -Eq "^ *demo +active +yes" <<< "$out"
t_assert "virsh vol-list showed both LUNs" bash -c 'grep -Eq "^ *unit:0:0:1 .*demo-lun-1" <<< "$1" && grep -Eq "^ *unit:0:0:2 .*demo-lun-2" <<< "$1"' _ "$out"
# 4 GiB; libvirt's iscsi-direct backend says one 512-byte block less (a libvirt bug)
t_assert "virsh vol-info showed the grown volume" grep -Eq "^Capacity: +(4294966784|4294967296) bytes" <<< "$out"
t_assert "demo printed the virsh command line" grep -q "virsh -c 'qemu:///system?socket=/tmp/poold-demo\.[A-Za-z0-9]*/lv/libvirt-sock' vol-list demo" <<< "$out"
t_assert "demo finished" grep -q "^demo finished" <<< "$out"
dir=$(grep -o '/tmp/poold-demo\.[A-Za-z0-9]*' <<< "$out" | head -n1)
t_assert "demo named its directory ($dir)" [ -n "$dir" ]
left=$(demo_daemons "$dir")
t_assert "no demo libvirtd/virtlogd left ($left)" [ -z "$left" ]
left=$(losetup -a | grep "$dir/")
t_assert "no demo loop device left ($left)" [ -z "$left" ]
t_assert "no demo directory left" [ ! -e "$dir" ]

# --keep leaves it running; --stop ends it
out=$("$POOL_SRCDIR/scripts/demo" --no-deps --keep --build-dir "$POOL_BUILDDIR" 2>&1); rc=$?
dir=$(grep -o '/tmp/poold-demo\.[A-Za-z0-9]*' <<< "$out" | head -n1)
t_assert "demo --keep exits 0 and names its directory ($dir)" [ "$rc" -eq 0 ] && [ -n "$dir" ]
t_assert "kept demo answers" "$POOLCTL_BIN" --socket "$dir/poold.sock" volume list demo
t_assert "kept libvirtd lists the volume" bash -c 'virsh -q -c "qemu:///system?socket=$1/lv/libvirt-sock" vol-list demo | grep -q "^ *unit:0:0:1 "' _ "$dir"
pid=$(cat "$dir/poold.pid")
read -r logd lvd < "$dir/lv/ns-pids"
init=$(cat "$dir/lv/init.pid")
ns=$(readlink "/proc/$init/ns/mnt")
t_assert "kept libvirtd runs in its own mount namespace ($ns)" bash -c '[ -n "$1" ] && [ "$1" != "$(readlink /proc/self/ns/mnt)" ]' _ "$ns"
t_assert "demo --stop" "$POOL_SRCDIR/scripts/demo" --stop "$dir"
t_assert "kept poold stopped" t_wait_gone "$pid" 10
t_assert "kept libvirtd stopped" gone "$lvd" 10
t_assert "kept virtlogd stopped" gone "$logd" 10
t_assert "kept demo's namespace init stopped" gone "$init" 10
inns=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"; done)
t_assert "nothing left in the demo's namespace ($inns)" [ -z "$inns" ]
left=$(demo_daemons "$dir")
t_assert "no demo libvirtd/virtlogd left ($left)" [ -z "$left" ]
left=$(losetup -a | grep "$dir/")
t_assert "no kept demo loop device left ($left)" [ -z "$left" ]
t_assert "kept demo directory removed" [ ! -e "$dir" ]
t_finish
