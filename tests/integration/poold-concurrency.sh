#!/bin/bash
# poold-concurrency.sh: one slow thing does not stall poold (issue 10 item 8,
# docs/design.md "Concurrency").
#
# One poold (sanlock daemon of simulated host 1, a private libvirtd), three
# pools: A (sanlock, host id 1, io_timeout 1), B and C (no locking).
#
# (b) A lease wait: simulated host 2 (its own sanlock daemon, driven by the
#     lease_test tool) joins A's lockspace and holds A's pool-metadata lease.
#     `volume create A` then waits for it (lease_wait = 12 s) — meanwhile
#     `volume create B` completes in < 3 s, `volume list A` and
#     `daemon version` answer in < 1 s. The create on A fails busy naming
#     host 2 after the wait, and succeeds once host 2 lets go.
# (c) A join wait: `pool create D --host-id 1` (io_timeout 5) waits for
#     sanlock to acquire the host id's delta lease, several seconds;
#     meanwhile `volume list B` and `pool list` answer in < 1 s (pool create
#     registers the pool under the global lock, then joins under D's lock
#     only).
# (a) A hung libvirtd: SIGSTOP it; `vm stop C VM` needs libvirt and hangs
#     until libvirt_timeout (3 s; keepalive would give up after 8 s), then
#     fails "did not answer within 3 s" —
#     meanwhile `volume list C` and `daemon version` answer in < 1 s each.
#     After SIGCONT a later `vm stop` reconnects and works.
#
# On the old single-threaded server every one of those "meanwhile" requests
# waited behind the slow one.
#
# Arg 1: the lease_test driver (tests/integration/tools/lease_test.c).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-libvirt.sh"
LT=${1:?usage: poold-concurrency.sh LEASE_TEST}
lv_require
t_sanlock_require
command -v virt-xml-validate >/dev/null || { echo "# virt-xml-validate missing: skipping"; exit 77; }

# Before everything the chained trap does: let a stopped libvirtd run again
# (its cleanup asks it to destroy domains) and stop poold before its sanlock
# daemon (whose shutdown would kill it).
resume_and_stop() {
    [ -n "${LV_PID[1]:-}" ] && kill -CONT "${LV_PID[1]}" 2>/dev/null
    [ -n "${hold_w:-}" ] && exec {hold_w}>&-
    t_stop_poold >/dev/null 2>&1
}
prev=$(trap -p EXIT)
eval "words=($prev)"
trap 'rc=$?; resume_and_stop; (exit $rc); '"${words[2]}" EXIT

PA="${T_POOL}_a"
PB="${T_POOL}_b"
PC="${T_POOL}_c"
PD="${T_POOL}_d"
VM="vm-$$"
LEASE_WAIT=12
LIBVIRT_TIMEOUT=3
# How fast a request that waits for nobody must answer. Each stall below
# lasts at least LIBVIRT_TIMEOUT (3 s), so a request held up by one takes
# longer than either bound; under ASan (scripts/check exports ASAN_OPTIONS
# for that stage) with two other tests beside it, a plain pool list once
# took 1116 ms: 2 s there.
ANSWER_MS=1000
[ -n "${ASAN_OPTIONS:-}" ] && ANSWER_MS=2000

ms() { echo $(($(date +%s%N) / 1000000)); }
# poolctl bounded at 60 s (on the old server a request could hang)
pc() { timeout 60 "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" "$@"; }
# Run CMD; $RC, $OUT (stdout+stderr) and $ELAPSED (ms).
timed() {
    local t0
    t0=$(ms)
    OUT=$("$@" 2>&1)
    RC=$?
    ELAPSED=$(($(ms) - t0))
}
# Wait (deadline) until poold's log has N lines "request ...: OP".
requests_seen() { [ "$(grep -c "request [0-9]*: $1\$" "$T_DIR/poold.log")" -ge "$2" ]; }

t_loop PV1 pv1 512M && t_loop PV2 pv2 256M && t_loop PV3 pv3 256M && t_loop PV4 pv4 512M || exit 1
mkdir -p "$T_DIR/lvmlock" "$T_DIR/store" || exit 1
t_sanlock_start 1 && t_sanlock_start 2 || { t_fail "sanlock daemons"; t_finish; exit 1; }
t_assert "libvirtd starts" lv_host_start 1
[ -n "${LV_PID[1]:-}" ] || { t_finish; exit 1; }
t_write_config <<EOC
default_locking = "none"
host_name = "h1"
lvm_locking_dir = "$T_DIR/lvmlock"
lease_wait = $LEASE_WAIT
libvirt_uri = "$(lv_uri 1)"
libvirt_pool_type = "off"
libvirt_timeout = $LIBVIRT_TIMEOUT
libvirt_keepalive_interval = 2
libvirt_keepalive_count = 3
EOC
SANLOCK_RUN_DIR="$(t_sanlock_dir 1)" t_start_poold || { t_fail "poold start"; t_finish; exit 1; }

t_assert "pool A create (sanlock, joins as host 1)" \
    pctl pool create "$PA" "$PV1" --locking sanlock --io-timeout 1 --host-ids 8 \
    --lease-slots 16 --host-id 1 >/dev/null
t_assert "pool B create" pctl pool create "$PB" "$PV2" --locking none --lease-slots 16 >/dev/null
t_assert "pool C create" pctl pool create "$PC" "$PV3" --locking none --lease-slots 16 >/dev/null
t_assert "volume create A/a0 (host 1 holds A's lease per request)" \
    t_poll 30 pctl volume create "$PA" a0 4M

# ---- (b) a lease wait on pool A does not delay pool B ---------------------
pctl --json pool info "$PA" >"$T_DIR/a.json" || exit 1
read -r UUID HOST_IDS IDS_PV IDS_OFF IDS_LEN LEASES_PV LEASES_OFF < <(python3 -c "
import json; p=json.load(open('$T_DIR/a.json'))
i=p['ids_segments'][0]; l=p['leases_segments'][0]
print(p['uuid'], p['host_ids'], i['pv'], i['pv_offset'], i['length'], l['pv'], l['pv_offset'])")
C=(--uuid "$UUID" --ids "$IDS_PV:$IDS_OFF" --ids-bytes "$IDS_LEN" --host-ids "$HOST_IDS")
META=(--name pool-metadata --at "$LEASES_PV:$LEASES_OFF" --label "pool-metadata lease")
t_assert "host 2 joins A's lockspace" t_as_host 2 "$LT" join "${C[@]}" --host-id 2 \
    --io-timeout 1 --wait 60
mkfifo "$T_DIR/hold.in"
t_as_host 2 "$LT" hold "${C[@]}" "${META[@]}" --wait 30 <"$T_DIR/hold.in" \
    >"$T_DIR/hold.out" 2>&1 &
HOLD_PID=$!
t_bg_track "$HOLD_PID"
exec {hold_w}>"$T_DIR/hold.in"
t_assert "host 2 holds A's pool-metadata lease ($(cat "$T_DIR/hold.out" 2>/dev/null))" \
    t_poll 30 grep -q '^acquired' "$T_DIR/hold.out"

n=$(grep -c "request [0-9]*: volume-create\$" "$T_DIR/poold.log")
t0=$(ms)
timeout 60 "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" volume create "$PA" a1 4M \
    >"$T_DIR/a1.out" 2>&1 &
A1_PID=$!
t_bg_track "$A1_PID"
t_assert "volume create A/a1 is running" t_poll 10 requests_seen volume-create $((n + 1))
timed pc volume create "$PB" b1 4M
t_log "volume create B/b1 while A/a1 waits for its lease: rc $RC, ${ELAPSED} ms"
t_assert "volume create B/b1 succeeds ($OUT)" [ "$RC" -eq 0 ]
t_assert "volume create B/b1 took ${ELAPSED} ms (< 3000, lease_wait ${LEASE_WAIT} s)" \
    [ "$ELAPSED" -lt 3000 ]
timed pc volume list "$PA"
t_log "volume list A while A/a1 waits: rc $RC, ${ELAPSED} ms"
t_assert "volume list A answers ($OUT)" [ "$RC" -eq 0 ]
t_assert "volume list A took ${ELAPSED} ms (< $ANSWER_MS)" [ "$ELAPSED" -lt "$ANSWER_MS" ]
timed pc daemon version
t_assert "daemon version took ${ELAPSED} ms (< $ANSWER_MS) rc $RC" \
    bash -c "[ $RC -eq 0 ] && [ $ELAPSED -lt $ANSWER_MS ]"
wait "$A1_PID"
rc=$?
took=$(($(ms) - t0))
t_log "volume create A/a1: rc $rc after ${took} ms: $(cat "$T_DIR/a1.out")"
t_assert "volume create A/a1 fails busy after the wait (rc $rc)" [ "$rc" -eq 4 ]
t_assert "its error names host 2" grep -q "held by host 2" "$T_DIR/a1.out"
t_assert "it waited about lease_wait (${took} ms)" [ "$took" -ge $((LEASE_WAIT * 1000 - 1000)) ]
exec {hold_w}>&-
hold_w=
wait "$HOLD_PID" 2>/dev/null
t_assert "volume create A/a1 once host 2 let go" t_poll 20 pctl volume create "$PA" a1 4M

# ---- (c) a join wait holds up nobody else -----------------------------------
joining() { grep -q "$PD.*joining the lockspace as host id 1" "$T_DIR/poold.log"; }
t0=$(ms)
timeout 120 "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" pool create "$PD" "$PV4" \
    --locking sanlock --io-timeout 5 --host-ids 8 --lease-slots 16 --host-id 1 \
    >"$T_DIR/d.out" 2>&1 &
D_PID=$!
t_bg_track "$D_PID"
t_assert "pool create D is joining" t_poll 30 joining
timed pc volume list "$PB"
t_log "volume list B while pool create D joins: rc $RC, ${ELAPSED} ms"
t_assert "volume list B answers ($OUT)" [ "$RC" -eq 0 ]
t_assert "volume list B took ${ELAPSED} ms (< $ANSWER_MS)" [ "$ELAPSED" -lt "$ANSWER_MS" ]
timed pc pool list
t_log "pool list while pool create D joins: rc $RC, ${ELAPSED} ms"
t_assert "pool list took ${ELAPSED} ms (< $ANSWER_MS) rc $RC" bash -c "[ $RC -eq 0 ] && [ $ELAPSED -lt $ANSWER_MS ]"
wait "$D_PID"
rc=$?
took=$(($(ms) - t0))
t_log "pool create D --host-id 1: rc $rc after ${took} ms"
t_assert "pool create D joined ($(cat "$T_DIR/d.out"))" [ "$rc" -eq 0 ]
t_assert "the join took long enough to matter (${took} ms >= 2000)" [ "$took" -ge 2000 ]
t_assert "pool info D shows host id 1" python3 -c "
import json, sys; assert json.loads(sys.argv[1]).get('host_id') == 1" "$(pc --json pool info "$PD")"

# ---- (a) a hung libvirtd stalls only the request that needs it -------------
cat >"$T_DIR/vm.xml" <<EOF
<domain type='qemu'>
  <name>$VM</name>
  <memory unit='MiB'>64</memory>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='$PC' volume='c0'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
t_assert "volume create C/c0" pctl volume create "$PC" c0 4M >/dev/null
t_assert "pool C set-store" pctl pool set-store "$PC" "$T_DIR/store" >/dev/null
t_assert "vm define" pctl vm define "$PC" "$T_DIR/vm.xml" >/dev/null
timed pc vm stop "$PC" "$VM"
t_assert "vm stop with libvirtd answering ($OUT)" [ "$RC" -eq 0 ]

kill -STOP "${LV_PID[1]}"
t_log "libvirtd (pid ${LV_PID[1]}) stopped"
n=$(grep -c "request [0-9]*: vm-stop\$" "$T_DIR/poold.log")
t0=$(ms)
timeout 60 "$POOLCTL_BIN" --socket "$T_DIR/poold.sock" vm stop "$PC" "$VM" \
    >"$T_DIR/stop.out" 2>&1 &
STOP_PID=$!
t_bg_track "$STOP_PID"
t_assert "vm stop is running" t_poll 10 requests_seen vm-stop $((n + 1))
timed pc volume list "$PC"
t_log "volume list C while vm stop waits for libvirtd: rc $RC, ${ELAPSED} ms"
t_assert "volume list C answers ($OUT)" [ "$RC" -eq 0 ]
t_assert "volume list C took ${ELAPSED} ms (< $ANSWER_MS)" [ "$ELAPSED" -lt "$ANSWER_MS" ]
timed pc daemon version
t_log "daemon version while vm stop waits for libvirtd: rc $RC, ${ELAPSED} ms"
t_assert "daemon version took ${ELAPSED} ms (< $ANSWER_MS) rc $RC" \
    bash -c "[ $RC -eq 0 ] && [ $ELAPSED -lt $ANSWER_MS ]"
wait "$STOP_PID"
rc=$?
took=$(($(ms) - t0))
t_log "vm stop with libvirtd stopped: rc $rc after ${took} ms: $(cat "$T_DIR/stop.out")"
t_assert "vm stop fails (rc $rc)" [ "$rc" -ne 0 ]
t_assert "its error says libvirtd did not answer within $LIBVIRT_TIMEOUT s" \
    grep -q "did not answer within $LIBVIRT_TIMEOUT s" "$T_DIR/stop.out"
t_assert "within the timeout + 2 s (${took} ms)" [ "$took" -lt $((LIBVIRT_TIMEOUT * 1000 + 2000)) ]
kill -CONT "${LV_PID[1]}"
t_log "libvirtd resumed"
t_assert "a later vm stop reconnects and works" t_poll 30 pctl vm stop "$PC" "$VM"
t_assert "poold still serves" pctl daemon version >/dev/null
t_stop_poold
t_assert "poold stopped cleanly" [ $? -eq 0 ]
t_finish
