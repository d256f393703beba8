# SPDX-License-Identifier: GPL-2.0-or-later
#
# lvm-capture.sh: what the capture.sh scripts under tests/data/ share, sourced
# by them (POSIX sh). They build a throw-away VG on loop devices backed by
# sparse files and save what the real lvm2 wrote or printed; this file holds
# the part that must be right once: their temp dir, their loop devices, an
# lvm configuration that sees only those devices, and the trap that undoes
# it all.
#
# Safety: every lvm command gets a --config whose filters accept only the
# loop devices attached here, so no other VG or loop device on the machine is
# ever scanned; metadata backup/archive is off; on any exit the trap removes
# the VG, wipes the PV labels and detaches the loop devices, and it touches a
# loop device only while it is still backed by one of our files (a device we
# lost may since belong to somebody else).
#
#   cap_init NAME            temp dir /tmp/NAME.XXXXXX, trap; set VG first
#   cap_loop VAR NAME SIZE   sparse file attached as a loop device, into VAR
#   cap_cfg DEV...           the per-command --config, devices limited to DEV...
#   cap_run SUB ARGS...      quiet lvm SUB with --config "$CFG"; exits on error
#
# CFG starts as the configuration of every device attached so far (cap_loop
# updates it); a script may narrow it (cap_cfg of fewer devices) to show
# lvm a VG with a PV missing.

CAP_TMP=""
CAP_LOOPS=""
CFG=""
export LVM_SUPPRESS_FD_WARNINGS=1 LC_ALL=C

# cap_ours DEV: is DEV still backed by one of our files?
cap_ours() {
    case "$(losetup -nO BACK-FILE "$1" 2>/dev/null)" in
    "$CAP_TMP"/*) return 0 ;;
    esac
    return 1
}

cap_cfg() {
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

cap_cleanup() {
    set +e
    all_ours=1
    for d in $CAP_LOOPS; do
        cap_ours "$d" || all_ours=0
    done
    if [ -n "$CAP_LOOPS" ] && [ "$all_ours" = 1 ]; then
        # shellcheck disable=SC2086 # CAP_LOOPS: device names, no blanks
        all=$(cap_cfg $CAP_LOOPS)
        lvm vgremove --config "$all" -f "$VG" </dev/null >/dev/null 2>&1
        # shellcheck disable=SC2086
        lvm pvremove --config "$all" -y $CAP_LOOPS </dev/null >/dev/null 2>&1
    fi
    for d in $CAP_LOOPS; do
        cap_ours "$d" && losetup -d "$d"
    done
    rm -rf "$CAP_TMP"
}

cap_init() { # cap_init NAME
    CAP_TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    trap cap_cleanup EXIT
    trap 'exit 130' INT TERM
}

cap_loop() { # cap_loop VAR NAME SIZE
    truncate -s "$3" "$CAP_TMP/$2.img"
    cap_dev=$(losetup -f --show "$CAP_TMP/$2.img")
    CAP_LOOPS="$CAP_LOOPS $cap_dev"
    eval "$1=\$cap_dev"
    # shellcheck disable=SC2086
    CFG=$(cap_cfg $CAP_LOOPS)
}

cap_run() { # cap_run SUBCOMMAND ARGS...
    sub=$1
    shift
    lvm "$sub" --config "$CFG" "$@" </dev/null >/dev/null 2>"$CAP_TMP/err" || {
        cat "$CAP_TMP/err" >&2
        exit 1
    }
}
