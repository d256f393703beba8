# tests/harness/lib-libvirt.sh: a private libvirtd (+ virtlogd) per
# simulated host. Source it after lib.sh (and after lib-sanlock.sh /
# lib-cluster.sh when the test uses them: this file must be sourced LAST, it
# chains the EXIT trap that is set when it is sourced).
#
# Host I's daemons run in their own mount namespace
# (unshare -m --propagation private; also a UTS namespace: hostname
# lvhI-<test pid>, in the namespace's own /etc/hosts, so libvirt's host
# names differ), so several libvirtds run side by side on
# one machine and beside other tests, each seeing its own:
#   /run/libvirt        tmpfs (virtlogd's socket, domain status, pool state)
#   /var/lib/libvirt    tmpfs (qemu's monitor sockets, per-domain dirs)
#   /var/cache/libvirt  tmpfs (qemu capabilities cache)
#   /etc/libvirt        bind of $T_DIR/lvI/etc: libvirtd.conf, virtlogd.conf,
#                       qemu.conf, qemu-sanlock.conf, and the persistent
#                       definitions in qemu/ and storage/ (kept across an
#                       lv_host_stop / lv_host_start of the same host, as on
#                       a real host; gone with $T_DIR)
#   /var/log/libvirt    bind of $T_DIR/lvI/log (qemu/NAME.log readable by the
#                       test, printed on failure)
# Everything the test needs from outside is under $T_DIR/lvI: the client
# socket (libvirtd.conf unix_sock_dir), libvirtd.log, virtlogd.log, the pid
# files (libvirtd -p, virtlogd -p). Mounts made in the namespace never
# propagate out and vanish with its last process; the only thing this file
# does outside $T_DIR is `mkdir -p` the (empty) mount points above when the
# packages did not create them (libvirt-daemon-system would).
#
# qemu.conf: user/group root, security_driver "none", dynamic_ownership 0,
# no per-domain mount namespace, no cgroups (this machine's cgroup v1 tree is
# not ours to change), stdio through virtlogd. Domains must be type='qemu'
# (TCG). libvirt 9.0 still insists that its built-in qemu user exists (see
# lv_write_passwd): the namespace gets it in its own /etc/passwd, so no
# manual setup and no libvirt-daemon-system are needed.
#
# The namespace's first process is bash running $T_DIR/lvI/ns-init.sh as a
# child subreaper (prctl PR_SET_CHILD_SUBREAPER, set by a python3 one-liner
# before exec): qemu, which libvirtd double-forks, is reparented to it and
# reaped there (this machine's pid 1 reaps nothing, so orphans would stay
# zombies).
#
#   lv_require                     exit 77 unless libvirtd, virtlogd, virsh,
#                                  qemu-system-x86_64 and python3 are there
#   lv_host_start I [sanlock]      lv_host_launch I + lv_host_wait I
#   lv_host_launch I [sanlock]     start host I's virtlogd + libvirtd; with
#                                  "sanlock": lock_manager = "sanlock", and
#                                  SANLOCK_RUN_DIR = lib-sanlock.sh's run dir
#                                  of host I in libvirtd's environment (start
#                                  that daemon first: t_sanlock_start I).
#                                  Sets LV_URI_I.
#   lv_host_lvm_conf I DEV...      (before launch) host I's libvirtd runs lvm
#                                  on DEV... only, with activation off
#   lv_host_wait I                 wait (deadline) until host I's libvirtd
#                                  answers `virsh version`
#   lv_uri I                       qemu:///system?socket=$T_DIR/lvI/libvirt-sock
#   lv_virsh I ARGS...             virsh -c (lv_uri I) ARGS...
#   lv_pool_field I POOL FIELD     a field of virsh pool-info --bytes
#   lv_pool_ready I POOL           pool running and autostarted on host I
#   lv_host_stop I                 destroy host I's running domains, stop
#                                  libvirtd, virtlogd, then anything left in
#                                  its namespace, by pid
#   lv_dir I, lv_log I             host I's dir ($T_DIR/lvI unless LV_DIR[I]
#                                  was set before launch), libvirtd log
#   lv_host_adopt I                take over host I's libvirt that another
#                                  process launched in lv_dir I (its pids
#                                  from the files launch wrote: init.pid,
#                                  ns-pids, ns), so lv_host_stop and the trap
#                                  end it
#   lv_domain_pid I NAME           pid of domain NAME's qemu (from libvirt's
#                                  status file under /run/libvirt/qemu)
#   lv_ns_pids I                   pids living in host I's mount namespace
#
# Environment: LV_DEBUG=1 logs libvirtd/virtlogd at debug level (large).
#
# SPDX-License-Identifier: GPL-2.0-or-later

LIBVIRTD_BIN=$(command -v libvirtd || echo /usr/sbin/libvirtd)
VIRTLOGD_BIN=$(command -v virtlogd || echo /usr/sbin/virtlogd)
VIRSH_BIN=$(command -v virsh || true)
LV_QEMU_BIN=$(command -v qemu-system-x86_64 || true)
LV_MOUNTPOINTS=(/run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt)
declare -A LV_PID=()       # host -> libvirtd pid
declare -A LV_LOGD_PID=()  # host -> virtlogd pid
declare -A LV_INIT_PID=()  # host -> namespace init (bash subreaper) pid, our child
declare -A LV_NS=()        # host -> mount namespace ("mnt:[inode]")
declare -A LV_DIR=()       # host -> its dir, when not $T_DIR/lvI

lv_require() {
    local b
    for b in "$LIBVIRTD_BIN" "$VIRTLOGD_BIN" "$VIRSH_BIN" "$LV_QEMU_BIN"; do
        if [ -z "$b" ] || [ ! -x "$b" ]; then
            echo "# libvirt/qemu not installed (libvirtd, virtlogd, virsh, qemu-system-x86_64): skipping"
            exit 77
        fi
    done
    command -v python3 >/dev/null || { echo "# python3 missing: skipping"; exit 77; }
    command -v unshare >/dev/null || { echo "# unshare missing: skipping"; exit 77; }
}

lv_dir() { echo "${LV_DIR[$1]:-$T_DIR/lv$1}"; }
lv_log() { echo "$(lv_dir "$1")/libvirtd.log"; }
lv_sock() { echo "$(lv_dir "$1")/libvirt-sock"; }
lv_uri() { echo "qemu:///system?socket=$(lv_sock "$1")"; }

lv_virsh() { # lv_virsh I ARGS...
    local h=$1; shift
    "$VIRSH_BIN" -q -c "$(lv_uri "$h")" "$@"
}

# A field of `virsh pool-info --bytes` (Capacity, State, ...) on host I,
# and whether the pool runs and is autostarted there.
lv_pool_field() { # lv_pool_field I POOL FIELD
    lv_virsh "$1" pool-info --bytes "$2" 2>/dev/null | awk -v f="$3:" '$1 == f {print $2}'
}
lv_pool_ready() { # lv_pool_ready I POOL
    [ "$(lv_pool_field "$1" "$2" State)" = running ] && [ "$(lv_pool_field "$1" "$2" Autostart)" = yes ]
}

# Alive and not a zombie (pid 1 here never reaps orphans).
lv_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

lv_wait_gone() { # lv_wait_gone PID SECONDS
    local deadline=$((SECONDS + $2))
    while lv_alive "$1"; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

# Pids whose mount namespace is host I's.
lv_ns_pids() {
    local ns=${LV_NS[$1]:-} p
    [ -n "$ns" ] || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
    done
    return 0
}

# Is PID still in host I's namespace (guards every kill against pid reuse)?
lv_in_ns() { [ -n "${LV_NS[$1]:-}" ] && [ "$(readlink "/proc/$2/ns/mnt" 2>/dev/null)" = "${LV_NS[$1]}" ]; }

# The qemu pid of a running domain, from libvirt's status XML.
lv_domain_pid() { # lv_domain_pid I NAME
    local h=$1 name=$2 init=${LV_INIT_PID[$1]:-}
    [ -n "$init" ] || return 1
    # the namespace's /run/libvirt, seen through its init's root
    sed -n "s/^<domstatus.* pid='\([0-9]*\)'.*/\1/p" \
        "/proc/$init/root/run/libvirt/qemu/$name.xml" 2>/dev/null | head -n 1
}

lv_write_config() { # lv_write_config I LOCK_MANAGER
    local h=$1 lock=$2 d level filters
    d=$(lv_dir "$h")
    mkdir -p "$d/etc/qemu" "$d/etc/storage" "$d/log/qemu" || return 1
    if [ "${LV_DEBUG:-0}" = 1 ]; then
        level=1
        filters='3:rpc 3:event 3:object 3:util.threadjob 3:util.file 3:util.json'
    else
        level=3
        filters=''
    fi
    cat > "$d/etc/libvirtd.conf" <<EOC
# host $h of test $T_NAME (written by lib-libvirt.sh)
unix_sock_dir = "$d"
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = 0
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_filters = "$filters"
log_outputs = "$level:file:$d/libvirtd.log"
EOC
    cat > "$d/etc/virtlogd.conf" <<EOC
log_filters = "$filters"
log_outputs = "$level:file:$d/virtlogd.log"
EOC
    cat > "$d/etc/qemu.conf" <<EOC
# host $h of test $T_NAME (written by lib-libvirt.sh)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "logd"
EOC
    if [ "$lock" = sanlock ]; then
        echo 'lock_manager = "sanlock"' >> "$d/etc/qemu.conf"
        cat > "$d/etc/qemu-sanlock.conf" <<EOC
# leases only where the domain XML has a <lease>; the sanlock daemon is
# reached through SANLOCK_RUN_DIR in libvirtd's environment
auto_disk_leases = 0
require_lease_for_disks = 0
EOC
    else
        rm -f "$d/etc/qemu-sanlock.conf"
    fi
}

# libvirt's QEMU driver resolves its built-in default user and group
# (Debian: libvirt-qemu / kvm) before it reads qemu.conf, and fails to start
# when they do not exist, even with user/group root in qemu.conf. Where the
# packages did not create them (libvirt-daemon-system does), the namespace
# gets its own /etc/passwd and /etc/group (bind mounts) with them added:
# nothing outside changes, and qemu still runs as root (qemu.conf).
lv_write_passwd() { # lv_write_passwd I
    local d n=64055 kgid
    d=$(lv_dir "$1")
    cp /etc/passwd "$d/passwd" && cp /etc/group "$d/group" || return 1
    lv_id_used() { grep -qx "$1" <<<"$(cut -d: -f3 "$d/passwd" "$d/group")"; }
    # N: a free uid/gid, N+1 a free gid
    while lv_id_used "$n" || lv_id_used $((n + 1)); do n=$((n + 2)); done
    grep -q '^kvm:' "$d/group" || echo "kvm:x:$n:" >> "$d/group"
    kgid=$(awk -F: '$1 == "kvm" {print $3}' "$d/group")
    grep -q '^libvirt-qemu:' "$d/group" || echo "libvirt-qemu:x:$((n + 1)):" >> "$d/group"
    grep -q '^libvirt-qemu:' "$d/passwd" ||
        echo "libvirt-qemu:x:$n:$kgid:Libvirt Qemu (poold test namespace):/var/lib/libvirt:/usr/sbin/nologin" >> "$d/passwd"
}

# The namespace's init: mounts, virtlogd, then libvirtd; stays as subreaper
# until both are gone.
lv_write_init() { # lv_write_init I
    local h=$1 d
    d=$(lv_dir "$h")
    cat > "$d/ns-init.sh" <<'EOS'
#!/bin/bash
# host's mount namespace init (lib-libvirt.sh): $1 = host dir
set -u
D=$1
die() { echo "ns-init: $*" >&2; exit 1; }
hostname "$LV_HOSTNAME" || die "hostname"
mount --bind "$D/etc" /etc/libvirt || die "bind /etc/libvirt"
mount --bind "$D/passwd" /etc/passwd || die "bind /etc/passwd"
mount --bind "$D/group" /etc/group || die "bind /etc/group"
mount --bind "$D/hosts" /etc/hosts || die "bind /etc/hosts"
mount --bind "$D/log" /var/log/libvirt || die "bind /var/log/libvirt"
# lv_host_lvm_conf: this host's lvm.conf for libvirtd's own lvm commands
if [ -f "$D/lvm.conf" ]; then
    mount --bind "$D/lvm.conf" /etc/lvm/lvm.conf || die "bind /etc/lvm/lvm.conf"
fi
for m in /run/libvirt /var/lib/libvirt /var/cache/libvirt; do
    mount -t tmpfs -o mode=0755,size=256m "lv-$(basename "$D")" "$m" || die "tmpfs $m"
done
"$VIRTLOGD_BIN" -p "$D/virtlogd.pid" -f "$D/etc/virtlogd.conf" </dev/null >>"$D/virtlogd.out" 2>&1 &
logd=$!
deadline=$((SECONDS + 30))
until [ -S /run/libvirt/virtlogd-sock ]; do
    kill -0 "$logd" 2>/dev/null || die "virtlogd exited during startup"
    [ $SECONDS -ge $deadline ] && { kill -TERM "$logd"; die "virtlogd did not create its socket"; }
    sleep 0.05
done
"$LIBVIRTD_BIN" -p "$D/libvirtd.pid" -f "$D/etc/libvirtd.conf" </dev/null >>"$D/libvirtd.out" 2>&1 &
lvd=$!
echo "$logd $lvd" > "$D/ns-pids"
# Stay as the namespace's reaper (bash reaps the orphans reparented to it
# while it waits in the read builtin) until the harness writes "stop" into
# the control fifo, after it has ended everything else in here by pid.
exec 3<> "$D/ns-ctl"
while :; do
    if read -r -t 1 cmd <&3; then
        [ "$cmd" = stop ] && break
    fi
done
exit 0
EOS
}

lv_host_start() { # lv_host_start I [sanlock|none]
    lv_host_launch "$@" && lv_host_wait "$1"
}

# Start host I's namespace, virtlogd and libvirtd without waiting for
# libvirtd to answer (launch several hosts, then lv_host_wait each: their
# QEMU capability probes run in parallel).
# An lvm.conf for host I's libvirtd (bind-mounted over /etc/lvm/lvm.conf in
# its namespace, before lv_host_launch): its lvm commands (libvirt's
# logical storage backend) see only DEV... and never touch device-mapper
# (global/activation = 0: these machines have none; `vgchange -aay` then
# succeeds without activating anything).
lv_host_lvm_conf() { # lv_host_lvm_conf I DEV...
    local h=$1 d f=""
    shift
    d=$(lv_dir "$h")
    mkdir -p "$d" || return 1
    for dev in "$@"; do f+="\"a|^$dev\$|\", "; done
    cat > "$d/lvm.conf" <<EOC
devices {
    filter = [ $f"r|.*|" ]
    global_filter = [ $f"r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
    hints = "none"
}
global {
    activation = 0
    use_lvmlockd = 0
    use_lvmpolld = 0
    notify_dbus = 0
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
EOC
}

lv_host_launch() { # lv_host_launch I [sanlock|none]
    local h=$1 lock=${2:-none} d init pids m
    d=$(lv_dir "$h")
    if [ -n "${LV_INIT_PID[$h]:-}" ] && lv_alive "${LV_INIT_PID[$h]}"; then
        echo "lv_host_start: libvirt of host $h already runs" >&2
        return 1
    fi
    local -a env=(VIRTLOGD_BIN="$VIRTLOGD_BIN" LIBVIRTD_BIN="$LIBVIRTD_BIN" LV_HOSTNAME="lvh$h-$$")
    if [ "$lock" = sanlock ]; then
        declare -F t_sanlock_dir >/dev/null || {
            echo "lv_host_start $h sanlock: source lib-sanlock.sh before lib-libvirt.sh" >&2
            return 1
        }
        env+=(SANLOCK_RUN_DIR="$(t_sanlock_dir "$h")")
    fi
    for m in "${LV_MOUNTPOINTS[@]}"; do
        [ -d "$m" ] || mkdir -p "$m" || return 1
    done
    mkdir -p "$d" || return 1
    rm -f "$d/ns-pids" "$d/libvirtd.pid" "$d/virtlogd.pid" "$d/libvirt-sock" "$d/ns-ctl" \
        "$d/init.pid" "$d/ns"
    mkfifo "$d/ns-ctl" || return 1
    lv_write_config "$h" "$lock" || return 1
    lv_write_passwd "$h" || return 1
    # the namespace's host name resolves (libvirt looks itself up)
    { cat /etc/hosts; echo "127.0.0.1 lvh$h-$$"; } > "$d/hosts" || return 1
    lv_write_init "$h"
    # the subreaper flag survives execve: python3 sets it, unshare makes the
    # namespace, both exec, and bash ends up as the namespace's init
    env -i PATH="$PATH" "${env[@]}" \
        unshare -m -u --propagation private -- \
        python3 -c 'import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit("PR_SET_CHILD_SUBREAPER failed")
os.execvp("bash", ["bash"] + sys.argv[1:])' "$d/ns-init.sh" "$d" \
        >>"$d/ns-init.out" 2>&1 </dev/null &
    init=$!
    LV_INIT_PID[$h]=$init
    local deadline=$((SECONDS + 30))
    until [ -s "$d/ns-pids" ]; do
        if ! lv_alive "$init"; then
            wait "$init" 2>/dev/null
            echo "libvirt of host $h: namespace init exited during startup:" >&2
            tail -n 20 "$d/ns-init.out" "$d/virtlogd.out" "$d/virtlogd.log" 2>/dev/null >&2
            unset "LV_INIT_PID[$h]"
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "libvirt of host $h: virtlogd did not come up" >&2; return 1; }
        sleep 0.05
    done
    read -r -a pids < "$d/ns-pids"
    LV_LOGD_PID[$h]=${pids[0]}
    LV_PID[$h]=${pids[1]}
    LV_NS[$h]=$(readlink "/proc/$init/ns/mnt")
    if [ -z "${LV_NS[$h]}" ] || [ "${LV_NS[$h]}" = "$(readlink /proc/self/ns/mnt)" ]; then
        echo "libvirt of host $h: not in a mount namespace of its own" >&2
        return 1
    fi
    # for lv_host_adopt in a process that did not launch it
    echo "$init" > "$d/init.pid"
    echo "${LV_NS[$h]}" > "$d/ns"
    printf -v "LV_URI_$h" '%s' "$(lv_uri "$h")"
}

lv_host_adopt() { # lv_host_adopt I
    local h=$1 d pids=()
    d=$(lv_dir "$h")
    [ -s "$d/init.pid" ] && [ -s "$d/ns" ] || return 1
    LV_INIT_PID[$h]=$(cat "$d/init.pid")
    LV_NS[$h]=$(cat "$d/ns")
    read -r -a pids < "$d/ns-pids" 2>/dev/null
    LV_LOGD_PID[$h]=${pids[0]:-}
    LV_PID[$h]=${pids[1]:-}
}

# Wait (deadline) until host I's libvirtd answers: its drivers, the QEMU
# capabilities probe included, are initialised by then.
lv_host_wait() { # lv_host_wait I
    local h=$1 d deadline=$((SECONDS + 120))
    d=$(lv_dir "$h")
    [ -n "${LV_PID[$h]:-}" ] || { echo "lv_host_wait: host $h was not launched" >&2; return 1; }
    until lv_virsh "$h" version >/dev/null 2>&1; do
        if ! lv_alive "${LV_PID[$h]}"; then
            echo "libvirtd of host $h exited during startup:" >&2
            tail -n 20 "$d/libvirtd.out" "$d/libvirtd.log" 2>/dev/null >&2
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "libvirtd of host $h did not answer within 120 s" >&2; return 1; }
        sleep 0.1
    done
}

# TERM, deadline, KILL; only if PID is still in host I's namespace.
lv_kill_pid() { # lv_kill_pid I PID SECONDS
    local h=$1 pid=$2
    lv_in_ns "$h" "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    lv_wait_gone "$pid" "$3" && return 0
    lv_in_ns "$h" "$pid" && kill -KILL "$pid" 2>/dev/null
    lv_wait_gone "$pid" 5
}

lv_host_stop() { # lv_host_stop I
    local h=$1 init=${LV_INIT_PID[$1]:-} rc=0 dom p left
    [ -n "$init" ] || return 0
    if [ -n "${LV_PID[$h]:-}" ] && lv_alive "${LV_PID[$h]}"; then
        for dom in $(lv_virsh "$h" list --name 2>/dev/null); do
            timeout 60 "$VIRSH_BIN" -q -c "$(lv_uri "$h")" destroy "$dom" >/dev/null 2>&1 || rc=1
        done
        lv_kill_pid "$h" "${LV_PID[$h]}" 30 || rc=1
    fi
    [ -n "${LV_LOGD_PID[$h]:-}" ] && { lv_kill_pid "$h" "${LV_LOGD_PID[$h]}" 10 || rc=1; }
    # whatever else still lives in the namespace was started by its libvirtd
    # (a qemu it did not stop): by pid, never the namespace's init
    left=$(lv_ns_pids "$h")
    for p in $left; do
        [ "$p" = "$init" ] && continue
        echo "libvirt of host $h: killing leftover $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-80) (pid $p)" >&2
        lv_kill_pid "$h" "$p" 5
        rc=1
    done
    # the init exits on "stop" (opened read-write: never blocks, even if the
    # init is already gone)
    echo stop 1<> "$(lv_dir "$h")/ns-ctl"
    if ! lv_wait_gone "$init" 15; then
        lv_in_ns "$h" "$init" && kill -KILL "$init" 2>/dev/null
        rc=1
    fi
    wait "$init" 2>/dev/null
    unset "LV_INIT_PID[$h]" "LV_PID[$h]" "LV_LOGD_PID[$h]"
    # keep LV_NS[$h] so lv_ns_pids can still prove the namespace is empty
    return $rc
}

lv_cleanup() { # lv_cleanup RC
    local rc=$1 h f
    for h in "${!LV_INIT_PID[@]}"; do
        if [ "$rc" -ne 0 ]; then
            echo "---- libvirt host $h: libvirtd log (last 30 lines) ----" >&2
            tail -n 30 "$(lv_log "$h")" >&2 2>/dev/null
            tail -n 10 "$(lv_dir "$h")/libvirtd.out" "$(lv_dir "$h")/ns-init.out" >&2 2>/dev/null
            for f in "$(lv_dir "$h")"/log/qemu/*.log; do
                [ -f "$f" ] || continue
                echo "---- $f (last 15 lines) ----" >&2
                tail -n 15 "$f" >&2
            done
        fi
        lv_host_stop "$h" >/dev/null 2>&1
    done
}

# Chain the EXIT trap: domains and libvirtds first (qemu is an initiator of
# the poolds' targets, libvirtd a sanlock client), then whatever was set
# before (lib-cluster.sh / lib-sanlock.sh / lib.sh), which must still see the
# test's exit status in $?.
lv_install_trap() {
    local prev words
    prev=$(trap -p EXIT)
    if [ -n "$prev" ]; then
        # "trap -- 'COMMAND' EXIT", quoted for reuse: split it back into words
        eval "words=($prev)"
        prev=${words[2]}
    else
        prev=t_cleanup
    fi
    trap 'rc=$?; lv_cleanup $rc; (exit $rc); '"$prev" EXIT
}
lv_install_trap

# ---- marker-boot guests (tests/data/boot-marker) -----------------------------
# The guest boots from a pool volume whose boot sector writes "POOLD-MARKER"
# to LBA 1 through BIOS disk services, then halts. lv_require_marker_boot
# skips the test (exit 77) without qemu's iscsi:// driver and sets BM_BIN.
lv_require_marker_boot() {
    local b
    for b in qemu-img qemu-io; do
        command -v "$b" >/dev/null || { echo "# $b missing: skipping"; exit 77; }
    done
    grep -qw iscsi <<<"$(qemu-img --help 2>/dev/null)" ||
        { echo "# qemu has no iscsi:// driver (qemu-block-extra): skipping"; exit 77; }
    BM_BIN="${POOL_SRCDIR:-$(dirname "$0")/../..}/tests/data/boot-marker/boot-marker.bin"
    [ -f "$BM_BIN" ] || { echo "# $BM_BIN missing"; exit 1; }
}

# lv_marker_domain_xml NAME POOL VOLUME: a TCG domain whose only disk is
# that pool volume, as `poolctl vm define` takes it.
lv_marker_domain_xml() {
    cat <<EOX
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>$LV_QEMU_BIN</emulator>
    <disk type='volume' device='disk'>
      <source pool='$2' volume='$3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOX
}
