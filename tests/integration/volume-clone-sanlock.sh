#!/bin/bash
# volume-clone-sanlock.sh: volume clone in a sanlock pool (issue 11;
# docs/design.md section 6, "Volume clone"). Two simulated hosts
# (lib-cluster.sh) share one sanlock pool:
#   - host 1 holds v1's lease (as a VM's QEMU would): host 2's clone of v1
#     is refused (exit 4) naming the holder, and makes nothing;
#   - host 2's clone of v2 is stopped (SIGSTOP) in the middle of its copy:
#     host 1's volume create, whose stray repair sees the clone's pd_op:clone
#     target, leaves it alone (its lease is held by host 2); continued, the
#     clone completes with v2's bytes;
#   - host 2's poold killed in the middle of a clone: host 1's next change
#     takes the dead clone's lease, zeroes and removes its target.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
t_sanlock_require
P=$T_POOL

wait_live() { # OBSERVER ID DEADLINE_SECS
    local deadline=$((SECONDS + $3)) s
    while :; do
        s=$(cpctl "$1" --json host list "$P" 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(next((h['state'] for h in d['hosts'] if h['host_id'] == $2), 'absent'))" 2>/dev/null)
        [ "$s" = live ] && return 0
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.2
    done
}
segs() { cpctl 1 --json volume info "$P" "$1" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["segments"]))'; }
fill() {
    python3 - "$1" <<'PY'
import json, mmap, os, sys
buf = mmap.mmap(-1, 1 << 20)
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDWR | os.O_DIRECT)
    for off in range(0, s["length"], 1 << 20):
        buf[:] = os.urandom(1 << 20)
        os.pwritev(fd, [buf], s["pv_offset"] + off)
    os.fsync(fd)
    os.close(fd)
PY
}
sha() {
    python3 - "$1" <<'PY'
import hashlib, json, mmap, os, sys
h = hashlib.sha256()
buf = mmap.mmap(-1, 1 << 20)
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDONLY | os.O_DIRECT)
    for off in range(0, s["length"], 1 << 20):
        n = os.preadv(fd, [buf], s["pv_offset"] + off)
        h.update(buf[:n])
    os.close(fd)
print(h.hexdigest())
PY
}
lv_there() { t_lvm lvs "$P/$1" >/dev/null 2>&1; }
lv_gone() { ! lv_there "$1"; }
clone_tagged() { t_lvm lvs --noheadings -o lv_tags "$P/$1" 2>/dev/null | grep -q 'pd_op:clone'; }
stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]; }

c_hosts 2
c_shared_disk pv1 512M || exit 1
c_host_start 1 || { t_fail "start host 1"; t_finish; exit 1; }
c_host_start 2 POOLD_TEST_STOP_AT=vol-clone:mid-copy || { t_fail "start host 2"; t_finish; exit 1; }
t_assert "host 1: pool create --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 16 --lease-slots 16 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 2 sees host 1 live" wait_live 2 1 30
t_assert "host 1 sees host 2 live" wait_live 1 2 30

t_assert "create v1" cpctl 1 volume create "$P" v1 16M >/dev/null
t_assert "create v2" cpctl 1 volume create "$P" v2 64M >/dev/null
V2=$(segs v2)
fill "$V2" || t_fail "fill v2"
V2_SHA=$(sha "$V2")

# ---- a source another host's writer holds is not cloned ----------------------
t_assert "host 1: lease acquire v1" cpctl 1 lease acquire "$P" v1 >/dev/null
t_expect_fail 4 "volume v1 is in use.*host 1" cpctl 2 volume clone "$P" v1 x
t_assert "the refused clone made no LV" lv_gone x

# ---- a clone running on host 2 survives host 1's stray repair ---------------
pid2=$(c_poold_pid 2)
cpctl 2 volume clone --no-wait "$P" v2 c2 > "$T_DIR/clone.out" 2>&1 &
clone_pid=$!
t_assert "host 2 stops in the middle of the copy" t_poll 30 stopped "$pid2"
t_assert "the target c2 exists, tagged pd_op:clone" clone_tagged c2
t_assert "host 1: volume create v3 (repairs strays first)" cpctl 1 volume create "$P" v3 8M >/dev/null
t_assert "host 1 left the running clone alone" grep -q "vol c2: a clone runs on it" "$(c_log 1)"
t_assert "c2 is still there" lv_there c2
kill -CONT "$pid2"
wait "$clone_pid"
id=$(sed -n 's/^Job \([0-9]*\) started.*/\1/p' "$T_DIR/clone.out")
t_assert "host 2 answered the clone with a job ($(cat "$T_DIR/clone.out"))" [ -n "$id" ]
t_assert "the clone completes" cpctl 2 job wait "$id"
t_assert "c2 has v2's bytes" [ "$(sha "$(segs c2)")" = "$V2_SHA" ]
held=$(cpctl 1 --json lease status "$P" v2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["held"])')
t_assert "host 2 gave v2's lease back ($held)" [ "$held" = False ]

# ---- host 2 killed during a clone: host 1 rolls it back ---------------------
t_assert "stop host 2's poold" c_poold_stop 2
c_host_start 2 POOLD_TEST_CRASH_AT=vol-clone:mid-copy || t_fail "restart host 2"
t_assert "host 2 has rejoined" t_poll 60 bash -c "$POOLCTL_BIN --socket $(c_host_dir 2)/poold.sock volume clone --no-wait $P v2 c3 >/dev/null 2>&1 || ! kill -0 $(c_poold_pid 2) 2>/dev/null"
t_wait_gone "$(c_poold_pid 2)" 20 || t_fail "host 2's poold did not die at the hook"
t_assert "the hook fired" grep -q "killing myself at vol-clone:mid-copy" "$(c_log 2)"
unset "C_POOLD_PID[2]"
t_assert "c3 is left behind" lv_there c3
t_assert "host 1: volume create v4 (repairs strays first)" cpctl 1 volume create "$P" v4 8M >/dev/null
t_assert "host 1 rolled the dead clone back" grep -q "vol c3: clone was interrupted; wiping" "$(c_log 1)"
t_assert "c3 is gone" lv_gone c3
t_assert "v2 is intact" [ "$(sha "$V2")" = "$V2_SHA" ]
t_finish
