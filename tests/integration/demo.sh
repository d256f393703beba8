#!/bin/bash
# demo.sh: the README's first command (scripts/demo) runs to completion on
# this build, shows a pool and a volume spanning two PVs, and leaves no loop
# device or poold behind.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
out=$("$POOL_SRCDIR/scripts/demo" --no-deps --build-dir "$POOL_BUILDDIR" 2>&1); rc=$?
echo "$out" | tail -n 30
t_assert "demo exits 0 (rc $rc)" [ "$rc" -eq 0 ]
t_assert "demo listed its volumes" grep -q "^vm01-disk .* 2 .*ready" <<< "$out"
t_assert "demo showed the lvs view" grep -q "pd_uuid:" <<< "$out"
t_assert "iscsi-ls saw the pool's target" grep -q "^Target:iqn.2026-11.org.poold:demo " <<< "$out"
t_assert "iscsi-ls saw both LUNs" bash -c 'grep -q "^Lun:1 " <<< "$1" && grep -q "^Lun:2 " <<< "$1"' _ "$out"
t_assert "an initiator wrote and read a LUN" grep -q "^read 65536/65536 bytes at offset 1048576" <<< "$out"
t_assert "demo finished" grep -q "^demo finished" <<< "$out"
left=$(losetup -a | grep /tmp/poold-demo)
t_assert "no demo loop device left ($left)" [ -z "$left" ]
t_assert "no demo directory left" bash -c '! ls -d /tmp/poold-demo.* 2>/dev/null | grep -q .'

# --keep leaves it running; --stop ends it
out=$("$POOL_SRCDIR/scripts/demo" --no-deps --keep --build-dir "$POOL_BUILDDIR" 2>&1); rc=$?
dir=$(grep -o '/tmp/poold-demo\.[A-Za-z0-9]*' <<< "$out" | head -n1)
t_assert "demo --keep exits 0 and names its directory ($dir)" [ "$rc" -eq 0 ] && [ -n "$dir" ]
t_assert "kept demo answers" "$POOLCTL_BIN" --socket "$dir/poold.sock" volume list demo
pid=$(cat "$dir/poold.pid")
t_assert "demo --stop" "$POOL_SRCDIR/scripts/demo" --stop "$dir"
t_assert "kept poold stopped" t_wait_gone "$pid" 10
t_assert "kept demo directory removed" [ ! -e "$dir" ]
t_finish
