#!/bin/bash
# target-conformance.sh: the public iSCSI/SCSI conformance suite
# (libiscsi's iscsi-test-cu) against a LUN served by poold itself — not a
# test target — with two portals (portal groups 1 and 2) so the multipath
# tests run, and both of the suite's default initiator names in the
# target's ACL. Then the access-control paths, driven through poolctl:
#   - one-way CHAP and mutual CHAP: the iSCSI.* tests pass with them on;
#   - a wrong secret and an initiator outside the ACL are refused;
#   - chap clear / acl remove take effect for new logins.
# Every iscsi-test-cu run must report 0 failures; the counts are printed
# (tests run, passed, failed, skipped) so bench/target-conformance can set
# them beside tgtd's.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
for tool in iscsi-test-cu iscsi-inq iscsi-ls; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
INI1=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test
INI2=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2

t_loop PV1 pv1 700M && t_loop PV2 pv2 700M || exit 1
# two free ports: t_free_port, then the next free one after it. Another
# process may take one between the check and poold's bind (tests and other
# work run in parallel): then poold says so and we pick again.
P1=$(t_free_port)
for attempt in 1 2 3; do
    P2=$((P1 + 1))
    while [ -n "$(ss -Hltn "sport = :$P2" 2>/dev/null)" ]; do P2=$((P2 + 1)); done
    t_write_config <<EOC
iscsi_portal = "127.0.0.1:$P1 127.0.0.1:$P2"
EOC
    t_start_poold && break
    grep -q "Address already in use" "$T_DIR/poold.log" && [ "$attempt" -lt 3 ] || exit 1
    t_log "a portal port was taken under us; picking new ones"
    P1=$((P2 + 1 + RANDOM % 100))
    while [ -n "$(ss -Hltn "sport = :$P1" 2>/dev/null)" ]; do P1=$((P1 + 1)); done
done
t_wait_port "$P1" 10 && t_wait_port "$P2" 10 || { t_fail "portals not listening on $P1/$P2"; t_finish; exit 1; }
IQN="iqn.2026-11.org.poold:$T_POOL"

t_assert "pool create" pctl pool create --lease-slots 20 --host-ids 20 "$T_POOL" "$PV1" "$PV2"
t_assert "volume create 1 GiB" pctl volume create "$T_POOL" conf 1G
LUN=$(pctl --json volume info "$T_POOL" conf | python3 -c 'import json,sys; print(json.load(sys.stdin)["lun"])')
U1="iscsi://127.0.0.1:$P1/$IQN/$LUN"
U2="iscsi://127.0.0.1:$P2/$IQN/$LUN"

out=$(timeout 30 iscsi-ls -s "iscsi://127.0.0.1:$P1" 2>&1)
echo "$out" | sed 's/^/#   /'
t_assert "SendTargets lists portal group 1" grep -q "Target:$IQN Portal:127.0.0.1:$P1,1" <<< "$out"
t_assert "SendTargets lists portal group 2" grep -q "Target:$IQN Portal:127.0.0.1:$P2,2" <<< "$out"

# cu_run NAME ARGS...: run iscsi-test-cu, keep its log, print and check counts.
# Counts come from CUnit's "Run Summary" (tests: total, ran, passed,
# failed) plus the tests the suite itself skipped: it prints one
# "[SKIPPED]" line per skipped test and CUnit counts those as passed.
cu_run() {
    local name=$1; shift
    local log="$T_DIR/cu-$name.log"
    timeout 1200 iscsi-test-cu "$@" > "$log" 2>&1
    local rc=$?
    local line run passed failed skipped
    line=$(grep -E '^[[:space:]]+tests[[:space:]]' "$log" | tail -n 1)
    run=$(awk '{print $3}' <<< "$line")
    passed=$(awk '{print $4}' <<< "$line")
    failed=$(awk '{print $5}' <<< "$line")
    skipped=$(grep -c '\[SKIPPED\]' "$log")
    echo "# iscsi-test-cu $name: tests=${run:-?} passed=${passed:-?} failed=${failed:-?} skipped=$skipped (rc $rc)"
    # CUnit lists each failed test as "Suite ..., Test ... had failures"
    # ("[FAILED]" lines are sub-steps the tests expect to fail)
    grep -A 3 'had failures' "$log" | head -n 60 | sed 's/^/#   /'
    # keep the whole log where the caller asks (the temp dir goes at exit)
    [ -n "${TC_LOG_DIR:-}" ] && cp "$log" "$TC_LOG_DIR/"
    echo "CU_RESULT $name ${run:-0} ${passed:-0} ${failed:-0} $skipped"
    if [ -z "$run" ] || [ "$run" -eq 0 ]; then
        t_fail "iscsi-test-cu $name ran no tests (rc $rc): $(tail -n 5 "$log")"
    elif [ "$failed" -ne 0 ]; then
        t_fail "iscsi-test-cu $name: $failed failure(s)"
    else
        t_ok
    fi
}

inq() { timeout 30 iscsi-inq "$@" > "$T_DIR/inq.out" 2>&1; }

t_log "ACL: both iscsi-test-cu initiator names"
t_assert "acl add $INI1" pctl target acl add "$T_POOL" "$INI1"
t_assert "acl add $INI2" pctl target acl add "$T_POOL" "$INI2"
info=$(pctl target info "$T_POOL")
echo "$info" | sed 's/^/#   /'
t_assert "info shows both portals" grep -q "127.0.0.1:$P2 (portal group 2)" <<< "$info"
t_assert "info shows the ACL" grep -q "$INI2" <<< "$info"
t_assert "record is mode 0600" [ "$(stat -c %a "$T_DIR/state/targets/$T_POOL.xml")" = 600 ]

if [ -z "${TC_SKIP_ALL:-}" ]; then
    t_log "iscsi-test-cu ALL over two portals (multipath), no CHAP"
    cu_run all -d -s "$U1" "$U2"
fi
# bench/target-conformance only wants the counts of the full run
if [ -n "${TC_ONLY_ALL:-}" ]; then t_finish; exit; fi

t_log "an initiator not in the ACL is refused, one in it is not"
t_assert "listed initiator logs in" inq -i "$INI1" "$U1"
inq -i iqn.2001-04.com.example:not-listed "$U1"
t_assert "unlisted initiator refused" [ $? -ne 0 ]

t_log "one-way CHAP"
printf 'initiator-secret-1\n' > "$T_DIR/s1"
printf 'target-secret-22' > "$T_DIR/s2"
printf 'wrong-secret-333' > "$T_DIR/s3"
t_assert "chap set" pctl target chap set "$T_POOL" --user chapuser --secret-file "$T_DIR/s1"
info=$(pctl target info "$T_POOL")
t_assert "info says one-way" grep -q "CHAP: *one-way" <<< "$info"
t_assert "no secret in target info" bash -c '! "$1" --socket "$2" --json target info "$3" | grep -q "initiator-secret-1"' _ "$POOLCTL_BIN" "$T_DIR/poold.sock" "$T_POOL"
t_assert "no secret in the log" bash -c '! grep -q "initiator-secret-1" "$1"' _ "$T_DIR/poold.log"
inq -i "$INI1" "$U1"
t_assert "login without CHAP refused" [ $? -ne 0 ]
inq -i "$INI1" "iscsi://chapuser%wrong-secret-333@127.0.0.1:$P1/$IQN/$LUN"
t_assert "wrong secret refused" [ $? -ne 0 ]
t_assert "right secret accepted" inq -i "$INI1" "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P1/$IQN/$LUN"
cu_run chap -d -s --test='iSCSI.*' "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P1/$IQN/$LUN" \
    "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P2/$IQN/$LUN"

t_log "mutual CHAP"
t_assert "chap set mutual" pctl target chap set "$T_POOL" --user chapuser --secret-file "$T_DIR/s1" \
    --mutual-user tgtuser --mutual-secret-file "$T_DIR/s2"
export LIBISCSI_CHAP_TARGET_USERNAME=tgtuser LIBISCSI_CHAP_TARGET_PASSWORD=target-secret-22
t_assert "mutual login accepted" inq -i "$INI1" "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P1/$IQN/$LUN"
cu_run mutual -d -s --test='iSCSI.*' "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P1/$IQN/$LUN" \
    "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P2/$IQN/$LUN"
# the initiator checks the target's answer: a target that does not know
# the secret the initiator expects is refused by the initiator
LIBISCSI_CHAP_TARGET_PASSWORD=wrong-secret-333 inq -i "$INI1" "iscsi://chapuser%initiator-secret-1@127.0.0.1:$P1/$IQN/$LUN"
t_assert "target with an unexpected mutual secret refused by the initiator" [ $? -ne 0 ]
inq -i "$INI1" "iscsi://chapuser%wrong-secret-333@127.0.0.1:$P1/$IQN/$LUN"
t_assert "wrong initiator secret refused (mutual)" [ $? -ne 0 ]
unset LIBISCSI_CHAP_TARGET_USERNAME LIBISCSI_CHAP_TARGET_PASSWORD

t_log "bad input changes nothing"
before=$(cat "$T_DIR/state/targets/$T_POOL.xml")
printf 'short' > "$T_DIR/short"
t_expect_fail any "12\.\.255" pctl target chap set "$T_POOL" --user u --secret-file "$T_DIR/short"
t_expect_fail any "missing --secret-file" pctl target chap set "$T_POOL" --user u
t_expect_fail any "differ" pctl target chap set "$T_POOL" --user u --secret-file "$T_DIR/s1" \
    --mutual-user m --mutual-secret-file "$T_DIR/s1"
t_expect_fail any "cannot open" pctl target chap set "$T_POOL" --user u --secret-file "$T_DIR/none"
t_expect_fail any "not an iSCSI name" pctl target acl add "$T_POOL" "iqn.Bad:Name"
t_expect_fail any "not an iSCSI name" pctl target acl add "$T_POOL" "eui.123"
t_expect_fail any "already in the ACL" pctl target acl add "$T_POOL" "$INI1"
t_expect_fail any "not in the ACL" pctl target acl remove "$T_POOL" iqn.2001-04.com.example:x
t_expect_fail any "no pool" pctl target info nosuchpool
t_assert "record unchanged" [ "$before" = "$(cat "$T_DIR/state/targets/$T_POOL.xml")" ]

t_log "settings survive a restart"
t_assert "stop" t_stop_poold
t_assert "start" t_start_poold
t_wait_port "$P1" 10
t_assert "CHAP still required after restart" bash -c '! timeout 30 iscsi-inq -i "$1" "$2" >/dev/null 2>&1' _ "$INI1" "$U1"
t_assert "chap clear" pctl target chap clear "$T_POOL"
t_assert "login without CHAP after clear" inq -i "$INI1" "$U1"
t_assert "acl remove $INI2" pctl target acl remove "$T_POOL" "$INI2"
inq -i "$INI2" "$U1"
t_assert "removed initiator refused at once" [ $? -ne 0 ]

t_log "volume unexport / export"
t_assert "unexport" pctl volume unexport "$T_POOL" conf
out=$(pctl volume info "$T_POOL" conf)
t_assert "info says not exported" grep -q "Exported: *no" <<< "$out"
inq -i "$INI1" "$U1"
t_assert "unexported LUN is gone" [ $? -ne 0 ]
t_assert "tag recorded" bash -c 't_lvm() { :; }; lvm lvs --config "devices { filter=[\"a|^$1\$|\",\"a|^$2\$|\",\"r|.*|\"] use_devicesfile=0 } global { activation=0 }" -o lv_tags --noheadings "$3/conf" 2>/dev/null | grep -q pd_export:off' _ "$PV1" "$PV2" "$T_POOL"
t_assert "restart" t_stop_poold
t_assert "start again" t_start_poold
t_wait_port "$P1" 10
inq -i "$INI1" "$U1"
t_assert "still unexported after restart" [ $? -ne 0 ]
t_assert "list shows it" bash -c '"$1" --socket "$2" volume list "$3" | grep -q "^conf .* no "' _ "$POOLCTL_BIN" "$T_DIR/poold.sock" "$T_POOL"
t_assert "export" pctl volume export "$T_POOL" conf
t_assert "exported LUN is back" inq -i "$INI1" "$U1"
t_expect_fail any "no volume" pctl volume unexport "$T_POOL" nosuchvol
t_finish
