# tests/harness/lib-nfs.sh: a private NFS server for one test: nfs-ganesha
# (VFS FSAL) plus rpcbind on 127.0.0.1, exporting a directory under the
# test's temp dir, reached through libnfs (nfs://127.0.0.1/EXPORT). This
# machine has no kernel NFS client; libnfs is the only client (docs/design.md
# choice 7). Source it after lib.sh (and after lib-sanlock.sh/lib-cluster.sh
# if the test uses them), then call nfs_enter_namespace "$@" before anything
# else:
#
#   nfs_enter_namespace "$@"  re-exec this test in its own network + mount
#                        namespace (skip, exit 77, when ganesha, rpcbind,
#                        the libnfs tools or unshare are missing)
#   nfs_start [DIR]      rpcbind + ganesha exporting DIR (default
#                        $T_DIR/nfs-export, created); waits (deadline) until
#                        nfs-ls lists it; sets NFS_EXPORT, NFS_URL,
#                        NFS_START_MS (ms until it served)
#   nfs_stop             clean stop: SIGTERM ganesha, then rpcbind
#   nfs_kill [all]       SIGKILL ganesha (a crashed NFS server: rpcbind keeps
#                        its stale registrations, connects are refused at
#                        once); "all" kills rpcbind too (the server is gone)
#   nfs_freeze / nfs_thaw  SIGSTOP / SIGCONT ganesha: a hung server. TCP
#                        connects still succeed (kernel backlog) but no RPC is
#                        answered: only client-side timeouts end a call
#   nfs_restart          (stop if running, then) start again on the same
#                        export; the data stays (it is a directory on disk)
#   nfs_track PID        end this background helper in the trap
#   nfs_log              path of ganesha's log
#   nfs_ms               monotonic-enough wall clock in ms (for measuring)
#
# Why namespaces. rpcbind must listen on port 111 and ganesha on 2049, both
# machine-wide, and tests run in parallel; libnfs finds MOUNT and NFS through
# the portmapper, so moving ports is not enough (ganesha can take other ports,
# but it registers with whatever rpcbind answers on 111, and rpcbind allows
# one instance per machine through /run/rpcbind.lock). So the whole test runs
# in a private network namespace (only lo, brought up here: its own 111 and
# 2049 on 127.0.0.1) and a private mount namespace (unshare --net --mount
# --propagation private, then exec of the same script: same pid, so lib.sh's
# $$-derived names stay unique, and everything the test starts inherits the
# namespaces). Both namespaces disappear with the test's last process; no
# `ip netns` name or mount is left on the host.
#
# Why a private /run. rpcbind's unix socket and lock file are fixed paths in
# /run itself (/run/rpcbind.sock, /run/rpcbind.lock, state in /run/rpcbind),
# and ganesha registers through /var/run/rpcbind.sock (a symlink to /run
# here): a network namespace does not separate files, so two tests would
# take each other's socket. The test's /run is a fresh tmpfs holding bind
# mounts of everything in the host's /run (so /run/lock, lvm's lock dir,
# stays shared with every other lvm user on the machine), except: rpcbind's
# files (private, the point), /run/mount (libmount's utab: our namespace's
# mounts must not be recorded in the host's), and /run/dbus (ganesha would
# otherwise join a host system bus, when there is one, and fight other
# tests' ganeshas over the org.ganesha.nfsd name; without a bus it only logs
# that D-Bus is unavailable). The host's /run is reached through a directory
# fd opened before the tmpfs covers it, with mount --no-canonicalize (plain
# mount would resolve /proc/PID/fd/N/x to "/run/x", the new tmpfs).
#
# Why no pid namespace. It would let the kernel kill everything at the end,
# but the test would run as pid 1 ($$ = 1 breaks lib.sh's per-test VG names
# and ports, sanlock host names...) with pid 1's signal rules. Instead the
# daemons run in the foreground (ganesha -F, rpcbind -f) as children of the
# test, in its process group (meson's timeout signals the whole group), and
# the EXIT trap ends them by pid: SIGCONT (if frozen), SIGTERM, SIGKILL. They
# are started through setpriv --pdeathsig KILL, so a test shell that dies
# without running its trap (SIGKILL) takes them along, and with them the
# last users of its namespaces. (So call nfs_start from the test's own
# shell, not from a subshell: the daemons die with their parent.) rpcbind
# needs one more step: it always switches to its compiled-in user _rpc,
# which clears the parent-death signal, so it runs in a mount namespace of
# its own where /etc/passwd (a copy, bind-mounted) gives _rpc uid 0.
#
# Why this ganesha configuration (written to $T_DIR/nfs/ganesha.conf, log in
# $T_DIR/nfs/ganesha.log):
#   - Graceless = true. After a restart ganesha enters its grace period (90 s
#     by default) whenever its recovery db lists NFSv4 clients, and during it
#     refuses non-reclaim NFSv4 OPEN/RENAME (NFS4ERR_GRACE, which libnfs 4.0
#     reports as -ERANGE) and even NFSv3 file creation (SETATTR gets
#     NFS3ERR_JUKEBOX): measured here. NFSv3 alone does not avoid it. A
#     shorter Grace_Period only shortens the wait; Graceless removes it, so a
#     restarted server serves at once (no lock state to reclaim in tests).
#   - RecoveryRoot in $T_DIR/nfs/recovery (default /var/lib/nfs/ganesha is
#     machine-wide).
#   - Protocols 3 and 4, TCP only (libnfs uses TCP; no UDP registrations);
#     NLM off (it needs rpc.statd; libnfs takes no locks), RQUOTA off (fixed
#     port 875). No Bind_Addr: in this namespace only lo exists, and ganesha
#     4.3 resolves Bind_Addr with getaddrinfo(AI_ADDRCONFIG), which fails for
#     127.0.0.1 when no non-loopback address is configured.
#   - Squash = No_Root_Squash: tests and poold run as root.
#   - Attr_Expiration_Time = 0: a test may change files in the export directly
#     (say, corrupt a record) and must see that through NFS at once.
#   - a fresh -E epoch per start: a restarted server must not reuse the
#     previous instance's boot epoch (clientids, write verifiers).
#
# libnfs facts (4.0, checked here with nfs_probe.c and nfs-harness.sh):
#   - NFSv3 by default; nfs://H/PATH?version=4 for v4 (works against this
#     ganesha, but open(O_CREAT) of an existing file fails with -EEXIST and
#     new files get mode 0600 whatever was asked: v3 is the usable one).
#   - The RPC timeout defaults to none (-1) and has no URL argument (URL
#     arguments: uid, gid, version, nfsport, mountport, autoreconnect,
#     tcp-syncnt, readahead, pagecache, dircache, auto-traverse-mounts,
#     debug); only nfs_set_timeout() (whole seconds) bounds a call, which
#     then fails with -EINTR ("command timed out").
#   - autoreconnect defaults to forever: a mounted context whose server dies
#     retries until the server is back (it hangs with no timeout set; with
#     one it fails at the timeout and works again after a restart, file
#     handles included). autoreconnect=0 fails at once (-EIO) but leaves the
#     context dead for good: a new context and mount are needed.
#   - nfs_rename is one RENAME (replaces the target); nfs_link of an
#     existing name fails with -EEXIST (v3 and v4).
# The libnfs tools (nfs-ls, nfs-cat, nfs-cp) therefore fail fast only when
# connects are refused (a killed server on loopback) and hang forever on a
# frozen one: bounded checks use nfs_probe -t MS.
#
# SPDX-License-Identifier: GPL-2.0-or-later

NFS_GANESHA_BIN=$(command -v ganesha.nfsd || true)
NFS_RPCBIND_BIN=$(command -v rpcbind || echo /usr/sbin/rpcbind)
NFS_DIR="$T_DIR/nfs"
NFS_EXPORT=""
NFS_URL=""
NFS_START_MS=""
NFS_GANESHA_PID=""
NFS_RPCBIND_PID=""
NFS_FROZEN=0
NFS_LAST_EPOCH=0
NFS_BG_PIDS=()
# Set (to the outer pid) in the re-executed test: we are inside.
: "${POOL_NFS_NAMESPACE:=}"

nfs_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((t / 1000))
}

nfs_log() { echo "$NFS_DIR/ganesha.log"; }

nfs_track() { NFS_BG_PIDS+=("$1"); }

# What the harness needs; prints the first missing piece.
_nfs_missing() {
    local c
    [ "$(id -u)" = 0 ] || { echo "root"; return 0; }
    [ -n "$NFS_GANESHA_BIN" ] || { echo "ganesha.nfsd (package nfs-ganesha)"; return 0; }
    [ -x "$NFS_RPCBIND_BIN" ] || { echo "rpcbind (package rpcbind)"; return 0; }
    compgen -G '/usr/lib*/*/ganesha/libfsalvfs.so' >/dev/null ||
        compgen -G '/usr/lib*/ganesha/libfsalvfs.so' >/dev/null ||
        { echo "ganesha's VFS FSAL (package nfs-ganesha-vfs)"; return 0; }
    for c in nfs-ls nfs-cat nfs-cp; do
        command -v "$c" >/dev/null || { echo "$c (package libnfs-utils)"; return 0; }
    done
    for c in unshare setpriv ip timeout ss; do
        command -v "$c" >/dev/null || { echo "$c"; return 0; }
    done
    return 1
}

# Re-exec the calling test inside its own network and mount namespaces; in
# the re-executed test, set them up (lo up, private /run). Call it right after
# sourcing the libraries, with the test's arguments.
nfs_enter_namespace() {
    if [ -n "$POOL_NFS_NAMESPACE" ]; then
        _nfs_setup_namespace || { echo "nfs: namespace setup failed" >&2; exit 1; }
        return 0
    fi
    local missing
    if missing=$(_nfs_missing); then
        echo "# $missing missing (scripts/deps installs it): skipping"
        exit 77
    fi
    if ! unshare --net --mount --propagation private true 2>/dev/null; then
        echo "# cannot create network/mount namespaces here: skipping"
        exit 77
    fi
    if [ "${#T_LOOPS[@]}" -ne 0 ] || [ -n "$T_POOLD_PID" ] || [ -n "$(ls -A "$T_DIR")" ]; then
        echo "nfs_enter_namespace: call it before the test starts anything" >&2
        exit 1
    fi
    # This shell's temp dir is empty and its trap has nothing to end: drop
    # both, the re-executed test makes its own. exec keeps the pid.
    trap - EXIT INT TERM
    rm -rf "$T_DIR"
    local xtrace=()
    [[ $- == *x* ]] && xtrace=(-x)
    POOL_NFS_NAMESPACE=$$ exec unshare --net --mount --propagation private -- \
        "$BASH" "${xtrace[@]}" "$0" "$@"
}

_nfs_setup_namespace() {
    ip link set lo up || return 1
    local fd old e name
    exec {fd}</run || return 1
    mount -t tmpfs -o mode=0755,size=64m poold-nfs-run /run || { exec {fd}<&-; return 1; }
    old=/proc/$BASHPID/fd/$fd
    for e in "$old"/* "$old"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        name=${e##*/}
        case $name in
        rpcbind | rpcbind.sock | rpcbind.lock | mount | dbus) continue ;;
        esac
        [ -e "/run/$name" ] && continue
        if [ -L "$e" ]; then
            cp -P "$e" "/run/$name"
        elif [ -d "$e" ]; then
            mkdir "/run/$name" && mount --no-canonicalize --rbind "$e" "/run/$name"
        else
            : >"/run/$name" && mount --no-canonicalize --bind "$e" "/run/$name"
        fi || { echo "nfs: cannot bind /run/$name" >&2; exec {fd}<&-; return 1; }
    done
    exec {fd}<&-
    mkdir -p /run/rpcbind
}

_nfs_write_config() {
    mkdir -p "$NFS_DIR/recovery" || return 1
    cat >"$NFS_DIR/ganesha.conf" <<EOC
# written by tests/harness/lib-nfs.sh (see its header for why)
NFS_CORE_PARAM {
    Protocols = 3, 4;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
}
NFSV4 {
    Graceless = true;
    RecoveryRoot = "$NFS_DIR/recovery";
}
NFS_KRB5 {
    Active_krb5 = false;
}
EXPORT {
    Export_Id = 1;
    Path = "$NFS_EXPORT";
    Pseudo = "$NFS_EXPORT";
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 3, 4;
    Transports = TCP;
    Attr_Expiration_Time = 0;
    FSAL {
        Name = VFS;
    }
}
LOG {
    Default_Log_Level = EVENT;
}
EOC
}

# Put back the EXIT trap chain if a library sourced after us replaced it.
_nfs_chain_trap() {
    local cur
    cur=$(trap -p EXIT)
    case $cur in *_nfs_exit_trap*) return 0 ;; esac
    NFS_PREV_EXIT_TRAP=""
    if [ -n "$cur" ]; then
        local -a words
        eval "words=($cur)" # trap -- 'CMD' EXIT
        NFS_PREV_EXIT_TRAP=${words[2]}
    fi
    trap _nfs_exit_trap EXIT
}

_nfs_exit_trap() {
    local rc=$?
    _nfs_cleanup "$rc"
    if [ -n "$NFS_PREV_EXIT_TRAP" ]; then
        # the chained trap reads the test's exit status from $?
        (exit "$rc")
        eval "$NFS_PREV_EXIT_TRAP"
    fi
    exit "$rc"
}

_nfs_end_pid() { # _nfs_end_pid PID SECONDS: SIGCONT, SIGTERM, then SIGKILL
    local pid=$1
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        t_wait_gone "$pid" "$2" || kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

_nfs_cleanup() {
    local rc=${1:-0} p
    for p in "${NFS_BG_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    NFS_BG_PIDS=()
    _nfs_end_pid "$NFS_GANESHA_PID" 20
    NFS_GANESHA_PID=""
    _nfs_end_pid "$NFS_RPCBIND_PID" 5
    NFS_RPCBIND_PID=""
    if [ "$rc" -ne 0 ] && [ -f "$NFS_DIR/ganesha.log" ]; then
        echo "---- ganesha log (last 30 lines) ----" >&2
        tail -n 30 "$NFS_DIR/ganesha.log" >&2
    fi
    return 0
}

_nfs_start_rpcbind() {
    if [ -n "$NFS_RPCBIND_PID" ] && kill -0 "$NFS_RPCBIND_PID" 2>/dev/null; then
        return 0
    fi
    rm -f /run/rpcbind.sock /run/rpcbind.lock /run/rpcbind/*.xdr
    # rpcbind drops to its compiled-in user (_rpc) after binding, and a uid
    # change clears the parent-death signal: give it a passwd where that user
    # is root, in a mount namespace of its own (nothing else sees it).
    awk -F: 'BEGIN { OFS = ":" } $1 == "_rpc" || $1 == "rpc" { $3 = 0; $4 = 0 } { print }' \
        /etc/passwd >"$NFS_DIR/rpcbind.passwd" || return 1
    setpriv --pdeathsig KILL -- unshare --mount --propagation private -- \
        sh -c 'mount --bind "$1" /etc/passwd && exec "$2" -f' rpcbind-ns \
        "$NFS_DIR/rpcbind.passwd" "$NFS_RPCBIND_BIN" >>"$NFS_DIR/rpcbind.log" 2>&1 </dev/null &
    NFS_RPCBIND_PID=$!
    local deadline=$((SECONDS + 10))
    until [ -S /run/rpcbind.sock ] && [ -n "$(ss -Hltn 'sport = :111' 2>/dev/null)" ]; do
        if ! kill -0 "$NFS_RPCBIND_PID" 2>/dev/null; then
            wait "$NFS_RPCBIND_PID" 2>/dev/null
            NFS_RPCBIND_PID=""
            echo "rpcbind exited during startup:" >&2
            tail -n 5 "$NFS_DIR/rpcbind.log" >&2
            return 1
        fi
        [ $SECONDS -ge "$deadline" ] && { echo "rpcbind did not come up" >&2; return 1; }
        sleep 0.02
    done
}

_nfs_start_ganesha() {
    # Each instance gets a boot epoch of its own, even within one second.
    local epoch=$EPOCHSECONDS
    [ "$epoch" -le "$NFS_LAST_EPOCH" ] && epoch=$((NFS_LAST_EPOCH + 1))
    NFS_LAST_EPOCH=$epoch
    local t0
    t0=$(nfs_ms)
    setpriv --pdeathsig KILL -- \
        "$NFS_GANESHA_BIN" -F -f "$NFS_DIR/ganesha.conf" -L "$NFS_DIR/ganesha.log" \
        -p "$NFS_DIR/ganesha.pid" -N NIV_EVENT -E "$epoch" \
        >>"$NFS_DIR/ganesha.out" 2>&1 </dev/null &
    NFS_GANESHA_PID=$!
    NFS_FROZEN=0
    local deadline=$((SECONDS + 30))
    # timeout: nfs-ls itself has no RPC timeout (see the header)
    until timeout 5 nfs-ls "$NFS_URL" >/dev/null 2>&1; do
        if ! kill -0 "$NFS_GANESHA_PID" 2>/dev/null; then
            wait "$NFS_GANESHA_PID" 2>/dev/null
            NFS_GANESHA_PID=""
            echo "ganesha exited during startup:" >&2
            tail -n 15 "$NFS_DIR/ganesha.log" "$NFS_DIR/ganesha.out" >&2
            return 1
        fi
        if [ $SECONDS -ge "$deadline" ]; then
            echo "ganesha did not serve $NFS_URL within 30 s:" >&2
            tail -n 15 "$NFS_DIR/ganesha.log" >&2
            return 1
        fi
        sleep 0.02
    done
    NFS_START_MS=$(($(nfs_ms) - t0))
}

# Start rpcbind (unless running) and ganesha exporting DIR.
nfs_start() { # nfs_start [DIR]
    [ -n "$POOL_NFS_NAMESPACE" ] || { echo "nfs_start: call nfs_enter_namespace first" >&2; return 1; }
    if [ -n "$NFS_GANESHA_PID" ]; then
        echo "nfs_start: ganesha already running (pid $NFS_GANESHA_PID)" >&2
        return 1
    fi
    _nfs_chain_trap
    local dir=${1:-${NFS_EXPORT:-$T_DIR/nfs-export}}
    mkdir -p "$dir" "$NFS_DIR" || return 1
    NFS_EXPORT=$(realpath "$dir") || return 1
    NFS_URL="nfs://127.0.0.1$NFS_EXPORT"
    _nfs_write_config || return 1
    _nfs_start_rpcbind || return 1
    _nfs_start_ganesha
}

# Clean stop: ganesha (SIGTERM: it unregisters and exits), then rpcbind.
nfs_stop() {
    local rc=0
    if [ -n "$NFS_GANESHA_PID" ]; then
        [ "$NFS_FROZEN" = 1 ] && kill -CONT "$NFS_GANESHA_PID" 2>/dev/null
        NFS_FROZEN=0
        kill -TERM "$NFS_GANESHA_PID" 2>/dev/null
        if ! t_wait_gone "$NFS_GANESHA_PID" 30; then
            echo "ganesha did not stop on SIGTERM" >&2
            kill -KILL "$NFS_GANESHA_PID" 2>/dev/null
            rc=1
        fi
        wait "$NFS_GANESHA_PID" 2>/dev/null
        NFS_GANESHA_PID=""
    fi
    if [ -n "$NFS_RPCBIND_PID" ]; then
        kill -TERM "$NFS_RPCBIND_PID" 2>/dev/null
        t_wait_gone "$NFS_RPCBIND_PID" 10 || { kill -KILL "$NFS_RPCBIND_PID" 2>/dev/null; rc=1; }
        wait "$NFS_RPCBIND_PID" 2>/dev/null
        NFS_RPCBIND_PID=""
    fi
    return $rc
}

# A dead server: SIGKILL ganesha ("all": rpcbind too). No cleanup runs.
nfs_kill() { # nfs_kill [all]
    if [ -n "$NFS_GANESHA_PID" ]; then
        kill -KILL "$NFS_GANESHA_PID" 2>/dev/null
        wait "$NFS_GANESHA_PID" 2>/dev/null
        NFS_GANESHA_PID=""
        NFS_FROZEN=0
    fi
    if [ "${1:-}" = all ] && [ -n "$NFS_RPCBIND_PID" ]; then
        kill -KILL "$NFS_RPCBIND_PID" 2>/dev/null
        wait "$NFS_RPCBIND_PID" 2>/dev/null
        NFS_RPCBIND_PID=""
    fi
    return 0
}

# A hung server: alive, holding its sockets, answering nothing.
nfs_freeze() {
    [ -n "$NFS_GANESHA_PID" ] || { echo "nfs_freeze: ganesha not running" >&2; return 1; }
    kill -STOP "$NFS_GANESHA_PID" && NFS_FROZEN=1
}

nfs_thaw() {
    [ -n "$NFS_GANESHA_PID" ] || { echo "nfs_thaw: ganesha not running" >&2; return 1; }
    kill -CONT "$NFS_GANESHA_PID" && NFS_FROZEN=0
}

# Start again on the same export (a running server is stopped cleanly first).
nfs_restart() {
    [ -n "$NFS_EXPORT" ] || { echo "nfs_restart: nfs_start was never called" >&2; return 1; }
    if [ -n "$NFS_GANESHA_PID" ]; then
        nfs_stop || return 1
    fi
    _nfs_chain_trap
    _nfs_start_rpcbind || return 1
    _nfs_start_ganesha
}

_nfs_chain_trap
