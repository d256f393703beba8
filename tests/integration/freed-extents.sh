#!/bin/bash
# freed-extents.sh: extents freed on one host are not reused while another
# host's target can still reach them through an old segment map (issue 10,
# item 4; docs/design.md section 7, "Freed extents"). Two simulated hosts
# (lib-cluster.sh) share one sanlock pool; volume a is exported `shared`,
# so no lease fences host 2's writes to it, and a libiscsi initiator
# (iscsi_stale_probe) stays connected to a's LUN on host 2's target. Host 1
# deletes a and at once creates c of the same size, on the same extents,
# and writes a marker into c. Then the initiator on host 2 writes and reads
# a's old LUN on the same session:
#   - c still holds the marker and nothing of host 2's write;
#   - host 2's read returns nothing of c (its I/O is refused);
#   - c reads zeroes beyond the marker (a's data was wiped).
# Both hosts look for VG changes only every 10 s (refresh_interval_ms), so
# host 2's map of a would stay in use for seconds after the delete if
# nothing held the extents back; the initiator is ready just after host 2's
# refresh, which makes that window certain.
#
# Arg 1: tests/integration/tools/iscsi_stale_probe (libiscsi).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
PROBE=${1:?usage: freed-extents.sh ISCSI_STALE_PROBE}
t_sanlock_require
P=$T_POOL
MARKER="volume-c-tenant-data-$$"

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
wait_file() { # PATH DEADLINE_SECS
    local deadline=$((SECONDS + $2))
    until [ -e "$1" ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        kill -0 "$PROBE_PID" 2>/dev/null || return 1
        sleep 0.05
    done
}
vol_json() { cpctl 1 --json volume info "$P" "$1"; }
segs_of() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["segments"]))'; }
ranges() { python3 -c 'import json,sys; print(sorted((s["pv_offset"], s["length"]) for s in json.loads(sys.argv[1])))' "$1"; }
# count_in SEGS NEEDLE: in how many MiB of the volume's PV ranges NEEDLE
# occurs, read with O_DIRECT through host 1's device; "nonzero" counts MiB
# holding anything but zeroes outside the first one
count_in() {
    python3 - "$1" "$2" <<'PY'
import json, mmap, os, sys
segs, needle = json.loads(sys.argv[1]), sys.argv[2].encode()
buf = mmap.mmap(-1, 1 << 20)
hits = nonzero = 0
for s in segs:
    fd = os.open(s["pv"], os.O_RDONLY | os.O_DIRECT)
    for off in range(0, s["length"], 1 << 20):
        n = os.preadv(fd, [buf], s["pv_offset"] + off)
        data = buf[:n]
        hits += needle in data
        if s["lv_offset"] + off > 0 and data.count(0) != n:
            nonzero += 1
    os.close(fd)
print(hits, nonzero)
PY
}

c_hosts 2
c_shared_disk pv1 256M || exit 1
for h in 1 2; do
    c_host_conf "$h" refresh_interval_ms 10000
    c_host_conf "$h" map_max_age_ms 12000
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done
t_assert "host 1: pool create --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout 1 \
    --host-ids 16 --lease-slots 16 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 2 sees host 1 live" wait_live 2 1 30
t_assert "host 1 sees host 2 live" wait_live 1 2 30

t_assert "host 1: volume create a 32M" cpctl 1 volume create "$P" a 32M
t_assert "host 1: volume export a --mode shared" cpctl 1 volume export "$P" a --mode shared
A_SEGS=$(vol_json a | segs_of)
LUN=$(vol_json a | python3 -c 'import json,sys; print(json.load(sys.stdin)["lun"])')
python3 - "$A_SEGS" <<'PY' || t_fail "write a's old data"
import json, os, sys
for s in json.loads(sys.argv[1]):
    fd = os.open(s["pv"], os.O_RDWR)
    for off in range(0, s["length"], 1 << 20):
        os.pwrite(fd, b"volume-a-old-data" * 64, s["pv_offset"] + off)
    os.fsync(fd)
    os.close(fd)
PY

"$PROBE" "iscsi://127.0.0.1:$(c_port 2)/iqn.2026-11.org.poold:$P/$LUN" \
    "iqn.2026-12.org.poold.test:stale-$$" "$T_DIR/ready" "$T_DIR/go" "$MARKER" \
    >"$T_DIR/probe.out" 2>"$T_DIR/probe.err" &
PROBE_PID=$!
T_BG_PIDS+=("$PROBE_PID")
t_assert "host 2's initiator writes LUN $LUN (a, shared) ($(cat "$T_DIR/probe.err" 2>/dev/null))" \
    wait_file "$T_DIR/ready" 60

t_log "host 1: delete a, then create c at once"
start=$(t_now)
t_assert "host 1: volume delete a" cpctl 1 volume delete "$P" a
t_assert "host 1: volume create c 32M" cpctl 1 volume create "$P" c 32M
t_log "delete + create took $(t_took "$start") s"
C_SEGS=$(vol_json c | segs_of)
t_assert "c got a's extents (a $(ranges "$A_SEGS"), c $(ranges "$C_SEGS"))" \
    [ "$(ranges "$A_SEGS")" = "$(ranges "$C_SEGS")" ]
python3 - "$C_SEGS" "$MARKER" <<'PY' || t_fail "write c's marker"
import json, os, sys
segs, marker = json.loads(sys.argv[1]), sys.argv[2].encode()
s = segs[0]
fd = os.open(s["pv"], os.O_RDWR)
os.pwrite(fd, (marker * 4096)[:1 << 20], s["pv_offset"])
os.fsync(fd)
os.close(fd)
PY

touch "$T_DIR/go"
deadline=$((SECONDS + 60))
while kill -0 "$PROBE_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
wait "$PROBE_PID" 2>/dev/null
t_log "host 2's initiator: $(tr '\n' ';' < "$T_DIR/probe.out") $(cat "$T_DIR/probe.err")"
read -r w_what w_answer < <(sed -n 1p "$T_DIR/probe.out")
t_assert "host 2's initiator answered" [ "$w_what" = write ]
t_assert "host 2's write to a's old LUN was not taken (got '$w_answer')" [ "$w_answer" != ok ]
t_assert "host 2 read nothing of c" grep -q "marker=0" "$T_DIR/probe.out"

read -r marker_hits nonzero < <(count_in "$C_SEGS" "$MARKER")
read -r stale_hits _ < <(count_in "$C_SEGS" "stale-writer")
read -r old_hits _ < <(count_in "$C_SEGS" "volume-a-old-data")
t_assert "c still holds its marker ($marker_hits MiB)" [ "$marker_hits" = 1 ]
t_assert "nothing of host 2's write reached c ($stale_hits MiB)" [ "$stale_hits" = 0 ]
t_assert "nothing of a's data is left in c ($old_hits MiB)" [ "$old_hits" = 0 ]
t_assert "c reads zeroes beyond its marker ($nonzero MiB do not)" [ "$nonzero" = 0 ]
t_finish
