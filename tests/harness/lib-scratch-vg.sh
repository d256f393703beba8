# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
#
# tests/harness/lib-scratch-vg.sh: a throw-away VG on loop devices of our
# own, for the POSIX sh scripts that run the real lvm2 directly: the capture
# scripts under tests/data/ (what lvm2 writes and prints) and
# tests/integration/lvm-driver.sh. (The bash harness, lib.sh, does the same
# for poold's tests with t_loop and t_lvm.) It holds the part that must be
# right once: the temp dir, the loop devices, an lvm configuration that sees
# only those devices, and the trap that undoes it all.
#
# Safety: every lvm command gets a --config whose filters accept only the
# loop devices attached here, so no other VG or loop device on the machine is
# ever scanned; metadata backup/archive is off; on any exit the trap removes
# the VG, wipes the PV labels and detaches the loop devices, and it touches a
# loop device only while it is still backed by one of our files (a device we
# lost may since belong to somebody else).
#
#   sv_init NAME            temp dir /tmp/NAME.XXXXXX (SV_TMP), trap; set VG
#   sv_loop VAR NAME SIZE   SV_TMP/NAME.img (sparse; one already there keeps
#                           its data) attached as a loop device, into VAR
#   sv_cfg DEV...           the per-command --config, devices limited to DEV...
#   sv_run SUB ARGS...      quiet lvm SUB with --config "$CFG"; exits on error
#   SV_ON_EXIT              a command the trap runs first (eval)
#
# CFG starts as the configuration of every device attached so far (sv_loop
# updates it); a script may narrow it (sv_cfg of fewer devices) to show
# lvm a VG with a PV missing.

SV_TMP=""
SV_LOOPS=""
SV_ON_EXIT=""
CFG=""
export LVM_SUPPRESS_FD_WARNINGS=1

# sv_ours DEV: is DEV still backed by one of our files?
sv_ours() {
    case "$(losetup -nO BACK-FILE "$1" 2>/dev/null)" in
    "$SV_TMP"/*) return 0 ;;
    esac
    return 1
}

sv_cfg() {
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

sv_cleanup() {
    set +e
    [ -z "$SV_ON_EXIT" ] || eval "$SV_ON_EXIT"
    mine=""
    for d in $SV_LOOPS; do
        sv_ours "$d" && mine="$mine $d"
    done
    if [ -n "$mine" ]; then
        # shellcheck disable=SC2086 # device names, no blanks
        all=$(sv_cfg $mine)
        lvm vgremove --config "$all" -f "$VG" </dev/null >/dev/null 2>&1
        for d in $mine; do
            lvm pvremove --config "$all" -ff -y "$d" </dev/null >/dev/null 2>&1
        done
        for d in $mine; do
            losetup -d "$d" || echo "WARNING: could not detach $d" >&2
        done
    fi
    rm -rf "$SV_TMP"
}

sv_init() { # sv_init NAME
    SV_TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    trap sv_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

sv_loop() { # sv_loop VAR NAME SIZE
    truncate -s "$3" "$SV_TMP/$2.img" || return 1
    sv_dev=$(losetup -f --show "$SV_TMP/$2.img") || return 1
    SV_LOOPS="$SV_LOOPS $sv_dev"
    eval "$1=\$sv_dev"
    # shellcheck disable=SC2086
    CFG=$(sv_cfg $SV_LOOPS)
}

sv_run() { # sv_run SUBCOMMAND ARGS...
    sub=$1
    shift
    lvm "$sub" --config "$CFG" "$@" </dev/null >/dev/null 2>"$SV_TMP/err" || {
        cat "$SV_TMP/err" >&2
        exit 1
    }
}
