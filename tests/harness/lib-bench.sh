# tests/harness/lib-bench.sh: what the benches under bench/ add to the
# harness. Source it first (it only defines functions), check arguments and
# prerequisites with it, then source lib.sh (and lib-sanlock.sh, ...) for
# the temp dir, loop devices, poold and the cleanup trap, and call b_trap
# last.
#
# A bench, unlike a test, is run by hand as often as by meson: POOL_BUILDDIR
# defaults to ./build, and what is missing is reported as "NAME: ..." on
# stderr before anything is set up.
#
#   b_builddir NAME          POOL_BUILDDIR (default ./build) made absolute and
#                            exported; exit 2 when it does not exist
#   b_find_lvm NAME          LVM_BIN = the lvm binary; exit 77 without one
#   b_require_tools NAME T...  exit 77 unless every tool T is on PATH
#   b_on_exit CMD...         run CMD first in the EXIT trap, before what
#                            lib.sh & co. tear down; the last registered
#                            runs first; B_RC holds the bench's exit status
#   b_trap                   chain b_on_exit's commands in front of the EXIT
#                            trap set so far (call after the last source)
#
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034 # B_RC: for b_on_exit commands

B_ON_EXIT=()

b_builddir() { # b_builddir NAME
    : "${POOL_BUILDDIR:=./build}"
    if ! POOL_BUILDDIR=$(cd "$POOL_BUILDDIR" 2>/dev/null && pwd); then
        echo "$1: POOL_BUILDDIR does not exist (build first: meson setup build && ninja -C build)" >&2
        exit 2
    fi
    export POOL_BUILDDIR
}

b_find_lvm() { # b_find_lvm NAME
    local p
    LVM_BIN=""
    for p in /sbin/lvm /usr/sbin/lvm; do
        [ -x "$p" ] && { LVM_BIN=$p; break; }
    done
    [ -n "$LVM_BIN" ] || { echo "$1: lvm not found: skipped" >&2; exit 77; }
}

b_require_tools() { # b_require_tools NAME TOOL...
    local name=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$name: $tool not found: skipped" >&2; exit 77; }
    done
}

b_on_exit() { B_ON_EXIT+=("$*"); }

b_cleanup() { # b_cleanup RC
    local i
    B_RC=$1
    for ((i = ${#B_ON_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${B_ON_EXIT[$i]}"
    done
    B_ON_EXIT=()
}

# As lv_install_trap (lib-libvirt.sh): ours first, then the trap set before,
# which must still see the bench's exit status in $?.
b_trap() {
    local prev words
    prev=$(trap -p EXIT)
    if [ -n "$prev" ]; then
        eval "words=($prev)"
        prev=${words[2]}
    else
        prev=t_cleanup
    fi
    trap 'rc=$?; b_cleanup $rc; (exit $rc); '"$prev" EXIT
}
