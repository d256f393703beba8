#!/bin/bash
# lease-write.sh: a volume's LUN takes writes only from the host allowed to
# write it (docs/design.md choice 4), seen by a real initiator (libiscsi) on the
# embedded target of one poold with one sanlock daemon.
#   sanlock pool, export mode rw (the default): reads always work; a write
#     without the volume's lease gets CHECK CONDITION, DATA PROTECT, WRITE
#     PROTECTED (7/27/00) while MODE SENSE shows no WP (fenced: the lease
#     may come); after `lease acquire` the write is taken and reads back;
#     after `lease release` it is refused again;
#   --mode shared: writes taken without the lease;
#   --mode ro: refused (WP set) even with the lease held;
#   back to --mode rw with the lease: taken;
#   a refused write never reaches the disk (the probe reads the block back);
#   `poolctl --json volume info` shows export_mode at every step;
#   pool with --locking none: writes taken without any lease, `lease acquire`
#     fails (exit 2) saying the pool does not use sanlock; --mode ro still
#     write-protects there.
#
# Arg 1: tests/integration/tools/iscsi_write_probe (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
PROBE=${1:?usage: lease-write.sh ISCSI_WRITE_PROBE}
t_sanlock_require
T0=$SECONDS

# poold is a sanlock client: stop it before its sanlock daemon (whose
# shutdown -f 1 would kill it), then lib.sh's cleanup with the test's status.
trap 'rc=$?; t_stop_poold >/dev/null 2>&1; t_sanlock_cleanup; (exit $rc); t_cleanup' EXIT

PORT=$(t_free_port)
t_loop PV1 pv1 256M && t_loop PV2 pv2 256M || exit 1
mkdir -p "$T_DIR/lvmlock" || exit 1
t_write_config <<EOC
default_locking = "sanlock"
host_name = "h1"
iscsi_portal = "127.0.0.1:$PORT"
lvm_locking_dir = "$T_DIR/lvmlock"
EOC
t_sanlock_start 1 || { t_fail "sanlock daemon"; t_finish; exit 1; }
SANLOCK_RUN_DIR="$(t_sanlock_dir 1)"
export SANLOCK_RUN_DIR
t_start_poold || { t_fail "poold start"; t_finish; exit 1; }
t_wait_port "$PORT" 10 || { t_fail "portal not listening on $PORT"; t_finish; exit 1; }

# ---- helpers -------------------------------------------------------------
# a field of `poolctl --json volume info POOL VOL`
vol_field() { # POOL VOL FIELD
    pctl --json volume info "$1" "$2" | python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"
}

# the probe's answer (its stdout), or "error: STDERR" when it could not ask
probe() { # URL MODE
    local out err rc
    out=$("$PROBE" "$1" "$2" 2>"$T_DIR/probe.err"); rc=$?
    err=$(tr '\n' ' ' < "$T_DIR/probe.err")
    if [ $rc -ne 0 ]; then echo "error (rc $rc): $err"; else echo "$out"; fi
}

# assert the probe answers exactly EXPECTED
expect_probe() { # DESCRIPTION URL MODE EXPECTED
    local out
    out=$(probe "$2" "$3")
    t_assert "$1: $3 -> '$4' (got '$out')" [ "$out" = "$4" ]
}

expect_mode() { # POOL VOL MODE
    local m
    m=$(vol_field "$1" "$2" export_mode 2>&1)
    t_assert "volume info $1/$2: export_mode $3 (got '$m')" [ "$m" = "$3" ]
}

# writable: write taken and read back, WP clear; protected (ro): 7/27/00,
# WP set; fenced (rw without the lease): 7/27/00 but WP clear — the lease
# may come, and an initiator opening the LUN meanwhile (QEMU starting a VM
# whose lease libvirt is taking) must not take it for read-only for good.
# Reads work either way.
expect_writable() { # DESCRIPTION URL
    expect_probe "$1" "$2" write ok
    expect_probe "$1" "$2" wp wp=0
    expect_probe "$1" "$2" read ok
}
expect_protected() { # DESCRIPTION URL
    expect_probe "$1" "$2" write "sense 7/27/00"
    expect_probe "$1" "$2" wp wp=1
    expect_probe "$1" "$2" read ok
}
expect_fenced() { # DESCRIPTION URL
    expect_probe "$1" "$2" write "sense 7/27/00"
    expect_probe "$1" "$2" wp wp=0
    expect_probe "$1" "$2" read ok
}

# ---- sanlock pool ----------------------------------------------------------
t_log "sanlock pool $T_POOL, host id 1, io_timeout 1 s"
t_assert "pool create (sanlock, joins as host 1)" \
    pctl pool create "$T_POOL" "$PV1" --host-ids 16 --lease-slots 16 --io-timeout 1 --host-id 1 >/dev/null
t_assert "volume create v1 8M" pctl volume create "$T_POOL" v1 8M >/dev/null
LUN=$(vol_field "$T_POOL" v1 lun) || { t_fail "volume info v1"; t_finish; exit 1; }
URL="iscsi://127.0.0.1:$PORT/iqn.2026-11.org.poold:$T_POOL/$LUN"
t_log "v1 is LUN $LUN: $URL"
expect_mode "$T_POOL" v1 rw
held=$(pctl --json lease status "$T_POOL" v1 2>&1 |
    python3 -c "import json,sys; print(json.load(sys.stdin)['held'])" 2>&1)
t_assert "v1's lease is free at first (held: $held)" [ "$held" = "False" ]

expect_fenced "rw, no lease" "$URL"

t_assert "lease acquire v1" pctl lease acquire "$T_POOL" v1 >/dev/null
expect_writable "rw, lease held here" "$URL"
t_expect_fail 4 "volume v1 is in use: its lease is held on this host" pctl volume delete "$T_POOL" v1
expect_writable "still writable after the refused delete" "$URL"

t_assert "lease release v1" pctl lease release "$T_POOL" v1 >/dev/null
expect_fenced "rw, lease released" "$URL"

t_assert "volume export --mode shared" pctl volume export "$T_POOL" v1 --mode shared >/dev/null
expect_mode "$T_POOL" v1 shared
expect_writable "shared, no lease" "$URL"

t_assert "volume export --mode ro" pctl volume export "$T_POOL" v1 --mode ro >/dev/null
expect_mode "$T_POOL" v1 ro
expect_protected "ro, no lease" "$URL"
t_assert "lease acquire v1 (mode ro)" pctl lease acquire "$T_POOL" v1 >/dev/null
expect_protected "ro, lease held here" "$URL"

t_assert "volume export --mode rw (lease held)" pctl volume export "$T_POOL" v1 --mode rw >/dev/null
expect_mode "$T_POOL" v1 rw
expect_writable "rw again, lease held here" "$URL"
t_assert "lease release v1 (mode rw)" pctl lease release "$T_POOL" v1 >/dev/null
expect_fenced "rw again, lease released" "$URL"

# ---- pool without locking --------------------------------------------------
N="n$T_POOL"
t_log "pool $N with --locking none"
t_assert "pool create --locking none" \
    pctl pool create "$N" "$PV2" --locking none --host-ids 4 --lease-slots 4 >/dev/null
t_assert "volume create nv 8M" pctl volume create "$N" nv 8M >/dev/null
NLUN=$(vol_field "$N" nv lun) || { t_fail "volume info nv"; t_finish; exit 1; }
NURL="iscsi://127.0.0.1:$PORT/iqn.2026-11.org.poold:$N/$NLUN"
t_log "nv is LUN $NLUN: $NURL"
expect_mode "$N" nv rw
expect_writable "no locking, rw, no lease" "$NURL"
t_expect_fail 2 "$N.*does not use sanlock" pctl lease acquire "$N" nv
expect_writable "no locking, after the refused lease acquire" "$NURL"
t_assert "no locking: volume export --mode ro" pctl volume export "$N" nv --mode ro >/dev/null
expect_mode "$N" nv ro
expect_protected "no locking, ro" "$NURL"
t_assert "no locking: volume export --mode rw" pctl volume export "$N" nv --mode rw >/dev/null
expect_mode "$N" nv rw
expect_writable "no locking, rw again" "$NURL"
# the sanlock pool's volume is unaffected by the other pool
expect_fenced "sanlock pool's v1 still without lease" "$URL"

t_assert "poold stops cleanly" t_stop_poold
echo "# lease-write: writes follow the lease (rw), ro and shared modes, and a pool without locking; $T_CHECKS checks in $((SECONDS - T0)) s"
t_finish
