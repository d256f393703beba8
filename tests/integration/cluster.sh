#!/bin/bash
# cluster.sh: one sanlock pool shared by three simulated hosts (issue 4).
# Each host has its own sanlock daemon, poold, iSCSI portal and loop devices
# over the same two backing files (lib-cluster.sh).
#   a. host 1 creates the pool (lockspace and pool-metadata lease formatted,
#      io_timeout 1 s) and joins as host id 1; hosts 2 and 3 import it and join
#      as 2 and 3; every host's `host list` shows all three live.
#   b. the three hosts create 60 volumes each at the same time (8 poolctl
#      processes per host): all 180 exist, none lost or duplicated, distinct
#      lease slots and LUN ids, vgck clean, no operation tag left, every
#      host's `volume list` agrees and every host's target exports the 180 LUNs.
#      A delete on host 3 takes the LUN away on hosts 1 and 2.
#   c. host 1 is restarted (it must rejoin by itself) and holds a volume's
#      lease: writes to its LUN are taken through host 1's portal and refused
#      through hosts 2 and 3 (DATA PROTECT 7/27/00); an initiator on host 1's
#      portal sees a resize made on host 2 (UNIT ATTENTION CAPACITY DATA HAS
#      CHANGED, new READ CAPACITY) without reconnecting; export modes set on
#      one host (shared, ro, rw) reach the other hosts' targets.
#   e. bad input: duplicate host id, host id 0/17/2001, import of a device that
#      is not a pool, join of an unknown pool, lease of an unknown volume,
#      lease and host commands on a `--locking none` pool: each a clear error
#      with the right exit code, and the VGs' tags and LVs are unchanged.
#   d. host 1 dies (poold SIGSTOPped inside a volume create, holding the
#      pool-metadata lease, then it and its sanlock SIGKILLed): host 2 sees it
#      fail, then dead; no lease acquire of host 1's volume succeeds before
#      host 1 is dead, and a volume create fails naming host 1; after it, the
#      lease is taken (its LUN now takes writes through host 2), a volume
#      create succeeds and host 1's half-created volume has been rolled back. Measured times are printed next to the
#      ones sanlock's io_timeout implies (fail 8 s, dead 68 s).
# (e runs before d: every change of the VG waits for the dead host.)
#
# Arg 1: tests/integration/tools/iscsi_resize_client (libiscsi).
# Arg 2: tests/integration/tools/iscsi_write_probe (libiscsi; see lease-write.sh).
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-sanlock.sh"
. "$(dirname "$0")/../harness/lib-cluster.sh"
RESIZE_CLIENT=${1:?usage: cluster.sh ISCSI_RESIZE_CLIENT ISCSI_WRITE_PROBE}
PROBE=${2:?usage: cluster.sh ISCSI_RESIZE_CLIENT ISCSI_WRITE_PROBE}
REFUSED="sense 7/27/00" # DATA PROTECT, WRITE PROTECTED (and the block unchanged)
IO_TIMEOUT=1
PER_HOST=60
PARALLEL=8
t_sanlock_require
for tool in iscsi-ls iscsi-readcapacity16; do
    command -v "$tool" >/dev/null || { echo "# $tool not installed: skipping"; exit 77; }
done
T0=$SECONDS
P=$T_POOL
IQN="iqn.2026-11.org.poold:$P"

# ---- helpers -------------------------------------------------------------
# state of host id $2 in host $1's `host list` (or "absent" / "error")
host_state() {
    cpctl "$1" --json host list "$P" 2>/dev/null | python3 -c "
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print('error'); sys.exit()
print(next((h['state'] for h in d['hosts'] if h['host_id'] == $2), 'absent'))"
}

# wait until host $1 sees every host id in "$2" (space separated) in a state
# matching the regex $3
wait_states() { # OBSERVER "IDS" STATE_RE DEADLINE_SECS
    local obs=$1 ids=$2 want=$3 deadline=$((SECONDS + $4)) id ok
    while :; do
        ok=1
        for id in $ids; do
            [[ $(host_state "$obs" "$id") =~ ^($want)$ ]] || { ok=0; break; }
        done
        [ $ok -eq 1 ] && return 0
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# LUN ids exported by host $1's portal, sorted
portal_luns() {
    iscsi-ls -s "iscsi://127.0.0.1:${C_PORT[$1]}" 2>/dev/null |
        sed -n 's/^Lun:\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' '
}

# wait until host $1's portal exports exactly the LUNs "$2"
wait_portal_luns() { # HOST "LUNS" DEADLINE_SECS
    local deadline=$((SECONDS + $3))
    until [ "$(portal_luns "$1")" = "$2" ]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# wait until host $1's portal exports LUN $2
wait_portal_has() { # HOST LUN DEADLINE_SECS
    local deadline=$((SECONDS + $3))
    until [[ " $(portal_luns "$1")" == *" $2 "* ]]; do
        [ $SECONDS -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# "name uuid slot lun capacity" per volume of host $1's `volume list`, sorted
vol_table() {
    cpctl "$1" --json volume list "$P" | python3 -c "
import json, sys
for v in sorted(json.load(sys.stdin), key=lambda v: v['name']):
    print(v['name'], v['uuid'], v['lease_slot'], v['lun'], v['capacity'])"
}

# the VG's tags and LVs (with tags and sizes) as lvm sees them through host 1's devices
vg_snapshot() {
    t_lvm vgs --noheadings -o vg_name,vg_tags 2>&1
    t_lvm lvs --noheadings -o vg_name,lv_name,lv_size,lv_tags 2>&1
}

# WRITE(16) of block 0 of LUN $2 through host $1's portal: the probe prints
# "ok" (taken and read back) or "sense K/ASC/ASCQ" (+ " data-changed" if a
# refused write reached the disk anyway)
probe_write() { # HOST LUN
    local out
    out=$("$PROBE" "iscsi://127.0.0.1:${C_PORT[$1]}/$IQN/$2" write 2>"$T_DIR/probe.err") ||
        out="error: $(tr '\n' ' ' < "$T_DIR/probe.err")"
    echo "$out"
}
can_write() { [ "$(probe_write "$@")" = ok ]; }
cant_write() { [ "$(probe_write "$@")" = "$REFUSED" ]; }

# wait until the probe through host $1 answers $3 ("ok" or $REFUSED); prints
# the seconds it took, or "never: LAST ANSWER"
wait_write() { # HOST LUN ANSWER DEADLINE_SECS
    local t0=$EPOCHREALTIME deadline=$((SECONDS + $4)) r
    while :; do
        r=$(probe_write "$1" "$2")
        [ "$r" = "$3" ] && { python3 -c "print('%.1f' % ($EPOCHREALTIME - $t0))"; return 0; }
        [ $SECONDS -ge "$deadline" ] && { echo "never: $r"; return 1; }
        sleep 0.1
    done
}

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

# ---- setup -----------------------------------------------------------------
c_hosts 3
c_shared_disk pv1 1G && c_shared_disk pv2 1G || exit 1
for h in 1 2 3; do
    c_host_start "$h" || { t_fail "start host $h"; t_finish; exit 1; }
done
t_log "hosts 1-3 up: portals ${C_PORT[1]} ${C_PORT[2]} ${C_PORT[3]}; devices 1: $(c_devs 1), 2: $(c_devs 2), 3: $(c_devs 3)"

# ---- a. create, import, join ---------------------------------------------------
t_log "a. host 1 creates the pool, hosts 2 and 3 import it [$((SECONDS - T0)) s]"
t_assert "host 1: pool create --locking sanlock --host-id 1" \
    cpctl 1 pool create "$P" $(c_devs 1) --locking sanlock --io-timeout $IO_TIMEOUT \
    --host-ids 16 --lease-slots 200 --host-id 1 >/dev/null
t_assert "host 2: pool import --host-id 2" cpctl 2 pool import "$P" $(c_devs 2) --host-id 2 >/dev/null
t_assert "host 3: pool import --host-id 3" cpctl 3 pool import "$P" $(c_devs 3) --host-id 3 >/dev/null
for h in 1 2 3; do
    t_assert "host $h sees hosts 1, 2, 3 live" wait_states "$h" "1 2 3" live 30
done
cpctl 2 host list "$P" | sed 's/^/# host 2: /'
cpctl 2 --json host list "$P" > "$T_DIR/hosts2.json"
t_assert "host list: timeouts of io_timeout 1 and this host's id ($(tr -d '\n ' < "$T_DIR/hosts2.json"))" \
    python3 - "$T_DIR/hosts2.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["io_timeout"] == 1 and d["fail_seconds"] == 8 and d["dead_seconds"] == 68, d
assert d["this_host_id"] == 2, d
names = {h["host_id"]: h["name"] for h in d["hosts"]}
assert names.get(1) == "h1" and names.get(2) == "h2" and names.get(3) == "h3", names
this = [h["host_id"] for h in d["hosts"] if h.get("this_host")]
assert this == [2], this
EOP
tags=$(t_lvm vgs --noheadings -o vg_tags "$P" 2>/dev/null)
t_assert "host ids and names recorded in the VG tags ($tags)" \
    bash -c '[[ $1 == *1:h1* && $1 == *2:h2* && $1 == *3:h3* ]]' _ "$tags"

# ---- b. 3 x 60 concurrent creates ------------------------------------------------
t_log "b. $PER_HOST volumes per host, $PARALLEL poolctl processes per host, 3 hosts at once [$((SECONDS - T0)) s]"
start_b=$(date +%s.%N)
bpids=()
for h in 1 2 3; do
    seq -f "h$h-v%03g" 1 $PER_HOST |
        xargs -P $PARALLEL -I{} "$POOLCTL_BIN" --socket "$(c_host_dir "$h")/poold.sock" --timeout 300 \
            volume create "$P" {} 4M >/dev/null 2>"$T_DIR/create-h$h.err" &
    bpids+=($!)
    t_bg_track $!
done
for h in 1 2 3; do
    wait "${bpids[$((h - 1))]}"
    rc=$?
    t_assert "host $h: all $PER_HOST creates succeeded (xargs rc $rc: $(sort "$T_DIR/create-h$h.err" | uniq -c | head -5))" [ "$rc" -eq 0 ]
done
T_BG_PIDS=()
dur_b=$(python3 -c "import time; print('%.1f' % (time.time() - $start_b))")
t_log "b. 180 concurrent creates took $dur_b s ($(python3 -c "print('%.0f' % ($dur_b * 1000 / 180))") ms per volume)"

vol_table 1 > "$T_DIR/vols1.txt"
want=$( (seq -f "h1-v%03g" 1 $PER_HOST; seq -f "h2-v%03g" 1 $PER_HOST; seq -f "h3-v%03g" 1 $PER_HOST) | sort)
t_assert "exactly the 180 volumes exist, none lost or duplicated" \
    bash -c '[ "$(cut -d" " -f1 "$1")" = "$2" ]' _ "$T_DIR/vols1.txt" "$want"
t_assert "180 distinct uuids" [ "$(cut -d' ' -f2 "$T_DIR/vols1.txt" | sort -u | wc -l)" -eq 180 ]
t_assert "180 distinct lease slots in 1..199" bash -c \
    '[ "$(cut -d" " -f3 "$1" | sort -u | wc -l)" -eq 180 ] && cut -d" " -f3 "$1" | awk "\$1 < 1 || \$1 > 199 {exit 1}"' \
    _ "$T_DIR/vols1.txt"
t_assert "180 distinct LUN ids" [ "$(cut -d' ' -f4 "$T_DIR/vols1.txt" | sort -u | wc -l)" -eq 180 ]
lvnames=$(t_lvm lvs --noheadings -o lv_name "$P" 2>/dev/null | tr -d ' ' | grep -v -x -e ids -e leases | sort)
t_assert "lvs shows the same 180 LVs and nothing else" [ "$lvnames" = "$want" ]
optags=$(t_lvm lvs --noheadings -o lv_name,lv_tags "$P" 2>/dev/null | grep pd_op)
t_assert "no operation tag left ($optags)" [ -z "$optags" ]
out=$(t_lvm vgck "$P" 2>&1); rc=$?
t_assert "vgck clean (rc $rc: $out)" bash -c '[ $1 -eq 0 ] && [ -z "$2" ]' _ "$rc" "$out"
for h in 2 3; do
    deadline=$((SECONDS + 10))
    until vol_table "$h" > "$T_DIR/vols$h.txt" && cmp -s "$T_DIR/vols1.txt" "$T_DIR/vols$h.txt"; do
        [ $SECONDS -ge $deadline ] && break
        sleep 0.2
    done
    t_assert "host $h's volume list agrees with host 1's" cmp -s "$T_DIR/vols1.txt" "$T_DIR/vols$h.txt"
done
luns=$(cut -d' ' -f4 "$T_DIR/vols1.txt" | sort -n | tr '\n' ' ')
for h in 1 2 3; do
    t_assert "host $h's target exports the 180 LUNs" wait_portal_luns "$h" "$luns" 30
done
# a delete on host 3 takes the LUN away on the other hosts' targets
gone=$(grep '^h2-v060 ' "$T_DIR/vols1.txt" | cut -d' ' -f4)
t_assert "host 3 deletes h2-v060" cpctl 3 volume delete "$P" h2-v060 >/dev/null
luns=$(grep -v '^h2-v060 ' "$T_DIR/vols1.txt" | cut -d' ' -f4 | sort -n | tr '\n' ' ')
for h in 1 2; do
    t_assert "host $h's target dropped LUN $gone" wait_portal_luns "$h" "$luns" 10
done

# ---- c. restart, lease, resize seen across hosts ----------------------------------
t_log "c. host 1's poold restarts (it will stop itself inside a volume create, for d) [$((SECONDS - T0)) s]"
t_assert "host 1's poold stops cleanly" c_poold_stop 1
t_assert "host 1's poold starts with POOLD_TEST_STOP_AT" \
    c_host_start 1 POOLD_TEST_STOP_AT=vol-create:after-lvcreate
cpctl 1 --json host list "$P" > "$T_DIR/hosts1.json" 2>&1
t_assert "restarted host 1 is in the lockspace as host 1 ($(tr -d '\n ' < "$T_DIR/hosts1.json"))" \
    python3 -c "import json; d=json.load(open('$T_DIR/hosts1.json')); assert d['this_host_id'] == 1"
t_assert "host 2 still sees host 1 live" wait_states 2 1 live 10

V=h1-v001
V_LUN=$(grep "^$V " "$T_DIR/vols1.txt" | cut -d' ' -f4)
t_assert "host 1: lease acquire $V" cpctl 1 lease acquire "$P" "$V" --wait 10 >/dev/null
st=$(cpctl 1 --json lease status "$P" "$V" 2>&1)
t_assert "host 1: lease status says held by this host ($st)" python3 -c "
import json, sys; d = json.loads(sys.argv[1])
assert d['held'] is True and d['owner'] == 1 and d['this_host'] is True" "$st"
st=$(cpctl 3 --json lease status "$P" "$V" 2>&1)
t_assert "host 3: lease status names host 1 ($st)" python3 -c "
import json, sys; d = json.loads(sys.argv[1])
assert d['held'] is True and d['owner'] == 1 and d['owner_name'] == 'h1' and d['owner_state'] == 'live' and d['this_host'] is False" "$st"

URL1="iscsi://127.0.0.1:${C_PORT[1]}/$IQN/$V_LUN"
for h in 2 3; do
    out=$(probe_write "$h" "$V_LUN")
    t_assert "host $h's LUN of $V refuses writes while host 1 holds the lease ($out)" [ "$out" = "$REFUSED" ]
done
out=$(probe_write 1 "$V_LUN")
t_assert "host 1's LUN of $V takes writes ($out)" [ "$out" = ok ]

rm -f "$T_DIR/ready" "$T_DIR/go"
"$RESIZE_CLIENT" "$URL1" "$T_DIR/ready" "$T_DIR/go" $((12 * 1048576)) > "$T_DIR/resize.log" 2>&1 &
cpid=$!
t_bg_track $cpid
deadline=$((SECONDS + 20))
until [ -e "$T_DIR/ready" ] || ! kill -0 $cpid 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
t_assert "initiator connected to host 1's portal" [ -e "$T_DIR/ready" ]
t_assert "host 2: volume resize $V 12M" cpctl 2 volume resize "$P" "$V" 12M >/dev/null
rs=$(date +%s.%N)
# a second session on host 1's portal tells when host 1's target has the new
# size; only then may the first session's next command expect the UA
seen=""
deadline=$((SECONDS + 15))
while [ $SECONDS -lt $deadline ]; do
    if [ "$(iscsi-readcapacity16 -s "$URL1" 2>/dev/null)" = $((12 * 1048576)) ]; then
        seen=$(python3 -c "import time; print('%.2f' % (time.time() - $rs))")
        break
    fi
    sleep 0.1
done
t_assert "host 1's target shows the new capacity (after ${seen:-never} s)" [ -n "$seen" ]
touch "$T_DIR/go"
wait $cpid; rc=$?
sed 's/^/# /' "$T_DIR/resize.log"
t_assert "initiator on host 1 saw 2A/09 and the new capacity on its session (rc $rc)" [ "$rc" -eq 0 ]

# export modes are pool-wide (LV tags): the other hosts follow within a refresh
t_assert "host 2: volume export --mode shared" cpctl 2 volume export "$P" "$V" --mode shared >/dev/null
t_assert "shared: host 2's LUN takes writes at once" can_write 2 "$V_LUN"
w3=$(wait_write 3 "$V_LUN" ok 20)
t_assert "shared: host 3's LUN takes writes (after $w3 s)" [ "${w3%%:*}" != never ]
t_assert "host 3: volume export --mode ro" cpctl 3 volume export "$P" "$V" --mode ro >/dev/null
t_assert "ro: host 3's LUN refuses writes at once" cant_write 3 "$V_LUN"
w2=$(wait_write 2 "$V_LUN" "$REFUSED" 20)
t_assert "ro: host 2's LUN refuses writes (after $w2 s)" [ "${w2%%:*}" != never ]
w1=$(wait_write 1 "$V_LUN" "$REFUSED" 20)
t_assert "ro: host 1's LUN refuses writes although it holds the lease (after $w1 s)" [ "${w1%%:*}" != never ]
t_assert "host 1: volume export --mode rw" cpctl 1 volume export "$P" "$V" --mode rw >/dev/null
t_assert "rw: host 1's LUN takes writes at once" can_write 1 "$V_LUN"
for h in 2 3; do
    w=$(wait_write "$h" "$V_LUN" "$REFUSED" 20)
    t_assert "rw: host $h's LUN refuses writes (after $w s)" [ "${w%%:*}" != never ]
done
t_log "export mode changes reached the other hosts after: shared ${w3} s, ro ${w2}/${w1} s"

# ---- e. bad input ----------------------------------------------------------------
t_log "e. bad input [$((SECONDS - T0)) s]"
# devices that hold no pool: a blank one, and a plain VG of lvm's own
t_loop BLANK blank 64M && t_loop PLAINVG plainvg 64M || exit 1
t_lvm vgcreate -q "plain$$" "$PLAINVG" >/dev/null 2>&1 || t_fail "vgcreate plain$$"
t_expect_fail 4 "already joined pool $P as host id 3" cpctl 3 host join "$P" --host-id 4
t_assert "host 3 leaves" cpctl 3 host leave "$P" >/dev/null
t_assert "host 2 sees host 3 gone" wait_states 2 3 "free|absent" 20
before=$(vg_snapshot)
t_expect_fail 4 "host id 2.*(in use|taken|held|live|h2)" cpctl 3 host join "$P" --host-id 2 --wait 20
t_expect_fail 2 "host.id '0'.*1\.\.2000" cpctl 3 host join "$P" --host-id 0
t_expect_fail 2 "host.id '2001'.*1\.\.2000" cpctl 3 host join "$P" --host-id 2001
t_expect_fail 2 "host id 17 .*1\.\.16" cpctl 3 host join "$P" --host-id 17
t_expect_fail 3 "nosuchpool" cpctl 3 host join nosuchpool --host-id 3
t_expect_fail 3 "nosuchvol" cpctl 2 lease acquire "$P" nosuchvol --wait 0
t_expect_fail 3 "nosuchvol" cpctl 2 lease status "$P" nosuchvol
t_expect_fail 3 "hold no volume group of that name: volume group other$$ not found" cpctl 3 pool import "other$$" "$BLANK" --host-id 3
t_expect_fail 5 "plain$$.*not a pool" cpctl 3 pool import "plain$$" "$PLAINVG" --host-id 3
after=$(vg_snapshot)
t_assert "VG tags and LVs unchanged by the refused requests" [ "$before" = "$after" ]
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -10 | sed 's/^/# /'
t_assert "host 3 rejoins as 3" cpctl 3 host join "$P" --host-id 3 --wait 60 >/dev/null

t_loop NONEDEV nonepool 256M || exit 1
N=n$T_POOL
t_assert "host 2: pool create --locking none" \
    cpctl 2 pool create "$N" "$NONEDEV" --locking none --host-ids 4 --lease-slots 4 >/dev/null
t_assert "volume in the none pool" cpctl 2 volume create "$N" nv 4M >/dev/null
before=$(vg_snapshot)
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 lease acquire "$N" nv --wait 0
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 lease release "$N" nv
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 lease status "$N" nv
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 host join "$N" --host-id 2
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 host leave "$N"
t_expect_fail 2 "$N.*(locking|sanlock)" cpctl 2 host list "$N"
after=$(vg_snapshot)
t_assert "none pool: VG tags and LVs unchanged" [ "$before" = "$after" ]
t_assert "none pool destroyed" cpctl 2 pool destroy --force "$N" >/dev/null

# ---- d. host 1 dies holding the pool-metadata lease --------------------------------
t_log "d. host 1 dies inside a volume create [$((SECONDS - T0)) s]"
# host 2 gives up on the pool-metadata lease after 3 s (not 60), so its
# creates can be tried while host 1 is still live or fail
c_host_conf 2 lease_wait 3
t_assert "host 2's poold stops" c_poold_stop 2
t_assert "host 2's poold starts with lease_wait 3" c_host_start 2
t_assert "host 2 back in the lockspace" wait_states 2 "1 2" live 10
t_expect_fail 4 "held by host 1" cpctl 2 lease acquire "$P" "$V" --wait 0
t_expect_fail 2 "does not hold the lease of volume $V" cpctl 2 lease release "$P" "$V"
t_expect_fail 4 "holds 1 lease.* in pool $P" cpctl 1 host leave "$P"
# a volume whose lease a live host holds is never deleted, from any host
t_expect_fail 4 "volume $V is in use: .*held by host 1" cpctl 2 volume delete "$P" "$V"
t_expect_fail 4 "volume $V is in use: its lease is held on this host" cpctl 1 volume delete "$P" "$V"

"$POOLCTL_BIN" --socket "$(c_host_dir 1)/poold.sock" volume create "$P" half 4M > "$T_DIR/half.out" 2>&1 &
hpid=$!
t_bg_track $hpid
deadline=$((SECONDS + 30))
until [ "$(c_poold_state 1)" = T ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
t_assert "host 1's poold stopped itself at vol-create:after-lvcreate" [ "$(c_poold_state 1)" = T ]
half=$(t_lvm lvs --noheadings -o lv_name,lv_tags "$P/half" 2>/dev/null)
t_assert "the half-created LV is in the VG, tagged pd_op:create ($half)" grep -q "pd_op:create" <<< "$half"

c_host_kill 1
kill_t=$(date +%s.%N)
wait $hpid 2>/dev/null
T_BG_PIDS=()
since() { python3 -c "import time; print('%.1f' % (time.time() - $kill_t))"; }
t_log "host 1 killed (poold and sanlock); polling from host 2"

t_fail_at="" t_dead_at="" t_acq_at="" early_acquire="" bad_acquire_err="" create_live="" create_fail=""
deadline=$((SECONDS + 200))
while [ $SECONDS -lt $deadline ]; do
    s=$(host_state 2 1)
    now=$(since)
    case $s in
    fail) [ -n "$t_fail_at" ] || t_fail_at=$now ;;
    dead) [ -n "$t_dead_at" ] || t_dead_at=$now ;;
    esac
    # a volume create must fail naming host 1, once while host 1 is still
    # live and once while it is fail (each tries for lease_wait = 3 s)
    if [ "$s" = live ] && [ -z "$create_live" ]; then
        create_live=1
        t_expect_fail 4 "held by host 1" cpctl 2 volume create "$P" early 4M
    elif [ "$s" = fail ] && [ -z "$create_fail" ]; then
        create_fail=1
        t_expect_fail 4 "held by host 1" cpctl 2 volume create "$P" early 4M
    fi
    err=$(cpctl 2 lease acquire "$P" "$V" --wait 0 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        t_acq_at=$(since)
        s=$(host_state 2 1)
        if [ "$s" = dead ]; then
            [ -n "$t_dead_at" ] || t_dead_at=$(since)
        else
            early_acquire="acquired at $t_acq_at s while host 1 was $s"
        fi
        break
    fi
    if [ $rc -ne 4 ] || ! grep -q "held by host 1" <<< "$err"; then
        bad_acquire_err="rc $rc: $err"
    fi
    sleep 0.25
done
t_log "after host 1's power loss, host 2 saw it fail at ${t_fail_at:-never} s (io_timeout $IO_TIMEOUT: 8 s after its last renewal), dead at ${t_dead_at:-never} s (68 s) and took its lease at ${t_acq_at:-never} s"
t_assert "host 2 took host 1's volume lease" [ -n "$t_acq_at" ]
t_assert "no acquire succeeded before host 1 was dead (${early_acquire:-ok})" [ -z "$early_acquire" ]
t_assert "failed acquires were busy, naming host 1 (${bad_acquire_err:-ok})" [ -z "$bad_acquire_err" ]
t_assert "host 1 was seen fail before dead" [ -n "$t_fail_at" ]
t_assert "host 1 was not called fail within 5 s of its last renewal (${t_fail_at:-never} s)" \
    python3 -c "import sys; sys.exit(0 if float('${t_fail_at:-0}') >= 5 else 1)"
t_assert "a create was tried (and refused) while host 1 was live" [ -n "$create_live" ]
t_assert "a create was tried (and refused) while host 1 was fail" [ -n "$create_fail" ]
t_assert "the lease was not taken sooner than 60 s after the power loss (${t_acq_at:-never} s)" \
    python3 -c "import sys; sys.exit(0 if float('${t_acq_at:-0}') >= 60 else 1)"
st=$(cpctl 3 --json lease status "$P" "$V" 2>&1)
t_assert "host 3: the lease is host 2's now ($st)" python3 -c "
import json, sys; d = json.loads(sys.argv[1]); assert d['held'] is True and d['owner'] == 2" "$st"

out=$(probe_write 2 "$V_LUN")
t_assert "the lease moved: host 2's LUN of $V takes writes ($out)" [ "$out" = ok ]
out=$(probe_write 3 "$V_LUN")
t_assert "host 3's LUN of $V still refuses writes ($out)" [ "$out" = "$REFUSED" ]
t_assert "host 2: volume create after host 1 is dead" cpctl 2 volume create "$P" after 4M >/dev/null
half=$(t_lvm lvs --noheadings -o lv_name "$P/half" 2>/dev/null)
t_assert "host 1's half-created volume was rolled back ($half)" [ -z "$half" ]
optags=$(t_lvm lvs --noheadings -o lv_name,lv_tags "$P" 2>/dev/null | grep pd_op)
t_assert "no operation tag left ($optags)" [ -z "$optags" ]
out=$(t_lvm vgck "$P" 2>&1); rc=$?
t_assert "vgck clean (rc $rc: $out)" bash -c '[ $1 -eq 0 ] && [ -z "$2" ]' _ "$rc" "$out"
vol_table 3 > "$T_DIR/vols3.txt"
t_assert "host 3 lists the new volume and not the half one" \
    bash -c 'grep -q "^after " "$1" && ! grep -q "^half " "$1"' _ "$T_DIR/vols3.txt"
after_lun=$(cpctl 2 --json volume info "$P" after | json_field "['lun']")
t_assert "host 3's target exports the new LUN $after_lun" wait_portal_has 3 "$after_lun" 10
t_assert "host 2 releases the lease" cpctl 2 lease release "$P" "$V" >/dev/null

t_assert "host 3 stops cleanly" c_host_stop 3
t_assert "host 2 stops cleanly" c_host_stop 2
t_log "total $((SECONDS - T0)) s"
t_finish
