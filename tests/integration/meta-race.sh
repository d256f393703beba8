#!/bin/bash
# meta-race.sh: racing writers on one VM record (issue 5 acceptance: "two
# hosts update the same VM record concurrently 100 times: no update lost,
# each either applied or rejected with a conflict error").
#
# Two meta_race processes (tests/integration/tools/meta_race.c), each with its own
# store connection (its own libnfs context over NFS) like two hosts, run 100
# read-modify-update attempts each at the same time on one record. Every
# attempt increments a counter in the record and appends its own mark
# ("a:17"); it either applies or conflicts, never retried. Then, from the
# writers' per-attempt reports and the final record:
#   - both writers exit 0 (no error other than conflicts), every attempt
#     0..99 of each is reported exactly once, applied + conflicts == 100 per
#     writer, and both writers got some updates applied;
#   - the counter == applied(a) + applied(b), and the generation == the
#     define's generation + applied(a) + applied(b);
#   - the generations the applied updates got are distinct and exactly
#     define+1 .. define+applied (no two writes won the same slot);
#   - the record's marks, in order, are exactly the applied attempts sorted
#     by the generation each got: every applied mark once, no conflicted
#     mark, and each update built on the one before it (a lost update
#     would drop a mark, one applied twice would repeat it);
#   - each writer's marks appear in its own attempt order;
#   - pool_meta_store_check() reports nothing (no corrupt file, no stale
#     temporary) and the share holds the newest generation's file and no
#     temporary file.
# Run on nfs://127.0.0.1/... (a private nfs-ganesha, lib-nfs.sh), then on a
# local directory store. Timings are printed.
#
# Arg 1: meta_race. Skips (77) without nfs-ganesha, nfs-ganesha-vfs,
# rpcbind or libnfs-utils.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-nfs.sh"
RACE=${1:?usage: meta-race.sh META_RACE}
nfs_enter_namespace "$@"

N=100
NAME=race01

# race LABEL URL DIR: the whole race on store URL, whose files are in DIR
# (seen directly, not through the store).
race() {
    local label=$1 url=$2 dir=$3 out t0 elapsed rc_a rc_b pid_a pid_b w
    local gen0 gen counter marks
    local -A applied conflicts

    out=$("$RACE" "$url" "$NAME" init 2>&1)
    if [[ $out =~ ^generation\ ([0-9]+)$ ]]; then
        gen0=${BASH_REMATCH[1]}
        t_ok
    else
        t_fail "$label: init: $out"
        return 1
    fi
    [ "$gen0" -eq 1 ] && t_ok || t_fail "$label: define gave generation $gen0, expected 1"

    t0=$(nfs_ms)
    "$RACE" "$url" "$NAME" a "$N" >"$T_DIR/$label.a.out" 2>"$T_DIR/$label.a.err" &
    pid_a=$!
    nfs_track "$pid_a"
    "$RACE" "$url" "$NAME" b "$N" >"$T_DIR/$label.b.out" 2>"$T_DIR/$label.b.err" &
    pid_b=$!
    nfs_track "$pid_b"
    wait "$pid_a"
    rc_a=$?
    wait "$pid_b"
    rc_b=$?
    elapsed=$(($(nfs_ms) - t0))

    for w in a b; do
        local rc last
        [ "$w" = a ] && rc=$rc_a || rc=$rc_b
        if [ "$rc" -ne 0 ]; then
            t_fail "$label: writer $w exited $rc after $(grep -cE '^(applied|conflict) [a-z]' "$T_DIR/$label.$w.out") attempts: $(tail -n 3 "$T_DIR/$label.$w.err")"
            continue
        fi
        last=$(tail -n 1 "$T_DIR/$label.$w.out")
        if [[ $last =~ ^applied\ ([0-9]+)\ conflicts\ ([0-9]+)$ ]]; then
            applied[$w]=${BASH_REMATCH[1]}
            conflicts[$w]=${BASH_REMATCH[2]}
            t_ok
        else
            t_fail "$label: writer $w: no summary line: $last"
            continue
        fi
        [ $((applied[$w] + conflicts[$w])) -eq "$N" ] && t_ok ||
            t_fail "$label: writer $w: applied ${applied[$w]} + conflicts ${conflicts[$w]} != $N"
        [ "${applied[$w]}" -gt 0 ] && t_ok || t_fail "$label: writer $w had nothing applied"
        # every attempt reported once, the counts match the lines
        local attempts
        attempts=$(grep -E '^(applied|conflict) ' "$T_DIR/$label.$w.out" | grep -v '^applied [0-9]' |
            awk '{ print $2 }' | sort -t: -k2,2n | tr '\n' ' ')
        [ "$attempts" = "$(seq -f "$w:%g" 0 $((N - 1)) | tr '\n' ' ')" ] && t_ok ||
            t_fail "$label: writer $w: attempts reported are not exactly 0..$((N - 1)) once each"
        [ "$(grep -c "^applied $w:" "$T_DIR/$label.$w.out")" -eq "${applied[$w]}" ] && t_ok ||
            t_fail "$label: writer $w: applied lines do not match its count"
        [ "$(grep -c "^conflict $w:" "$T_DIR/$label.$w.out")" -eq "${conflicts[$w]}" ] && t_ok ||
            t_fail "$label: writer $w: conflict lines do not match its count"
        grep -q 'Assertion\|leak' "$T_DIR/$label.$w.err" && t_fail "$label: writer $w stderr: $(head -n 3 "$T_DIR/$label.$w.err")"
    done
    if [ -z "${applied[a]:-}" ] || [ -z "${applied[b]:-}" ]; then
        return 1
    fi
    local total=$((applied[a] + applied[b]))
    [ $((total + conflicts[a] + conflicts[b])) -eq $((2 * N)) ] && t_ok ||
        t_fail "$label: applied $total + conflicts $((conflicts[a] + conflicts[b])) != $((2 * N))"

    # the final record and the store check
    out=$("$RACE" "$url" "$NAME" check 2>&1) || { t_fail "$label: check: $out"; return 1; }
    gen=$(sed -n 's/^generation //p' <<<"$out")
    counter=$(sed -n 's/^counter //p' <<<"$out")
    marks=$(sed -n 's/^marks *//p' <<<"$out" | tr ' ' '\n' | sed '/^$/d')
    [ "$counter" = "$total" ] && t_ok ||
        t_fail "$label: counter $counter, applied a ${applied[a]} + b ${applied[b]} = $total"
    [ "$gen" = $((gen0 + total)) ] && t_ok ||
        t_fail "$label: generation $gen, expected $gen0 + $total"
    [ "$(wc -l <<<"$marks")" -eq "$total" ] && t_ok ||
        t_fail "$label: $(wc -l <<<"$marks") marks in the record, $total applied"
    local dups
    dups=$(sort <<<"$marks" | uniq -d | tr '\n' ' ')
    [ -z "$dups" ] && t_ok || t_fail "$label: marks present more than once: $dups"

    # applied attempts sorted by the generation each got == the marks in order
    local by_gen gens
    by_gen=$(cat "$T_DIR/$label.a.out" "$T_DIR/$label.b.out" |
        awk '$1 == "applied" && $3 == "gen" { print $4, $2 }' | sort -n)
    gens=$(awk '{ print $1 }' <<<"$by_gen" | tr '\n' ' ')
    [ "$gens" = "$(seq $((gen0 + 1)) $((gen0 + total)) | tr '\n' ' ')" ] && t_ok ||
        t_fail "$label: applied updates' generations are not exactly $((gen0 + 1))..$((gen0 + total)) once each"
    if [ "$(awk '{ print $2 }' <<<"$by_gen")" = "$marks" ]; then
        t_ok
    else
        t_fail "$label: the record's marks are not the applied attempts in generation order"
        diff <(awk '{ print $2 }' <<<"$by_gen") <(echo "$marks") | head -n 10 >&2
    fi
    # no conflicted attempt's mark
    local conflicted present
    conflicted=$(cat "$T_DIR/$label.a.out" "$T_DIR/$label.b.out" | awk '$1 == "conflict" { print $2 }' | sort)
    present=$(comm -12 <(echo "$conflicted") <(sort <<<"$marks") | sed '/^$/d' | tr '\n' ' ')
    [ -z "$present" ] && t_ok || t_fail "$label: marks of conflicted attempts present: $present"
    # each writer's marks in its own attempt order
    for w in a b; do
        local mine
        mine=$(grep "^$w:" <<<"$marks" | cut -d: -f2)
        [ "$mine" = "$(sort -n <<<"$mine")" ] && t_ok || t_fail "$label: writer $w's marks out of order"
    done

    if grep -qx 'store-check clean' <<<"$out"; then t_ok; else
        t_fail "$label: store check: $(grep '^store-check' <<<"$out")"; fi
    [ -f "$dir/$NAME.$gen.vmrec" ] && t_ok || t_fail "$label: $dir/$NAME.$gen.vmrec missing"
    [ ! -e "$dir/$NAME.$((gen + 1)).vmrec" ] && t_ok || t_fail "$label: a generation above $gen on the share"
    local tmps
    tmps=$(find "$dir" -maxdepth 1 -name '.tmp.*' | wc -l)
    [ "$tmps" -eq 0 ] && t_ok || t_fail "$label: $tmps temporary files left on the share"

    t_log "$label: $((2 * N)) attempts in $elapsed ms ($((elapsed / (2 * N))) ms each, both writers at once);" \
        "a: applied ${applied[a]} conflicts ${conflicts[a]}; b: applied ${applied[b]} conflicts ${conflicts[b]};" \
        "final generation $gen counter $counter; $(find "$dir" -maxdepth 1 -name '*.vmrec' | wc -l) generation files kept"
    RACE_MS=$elapsed
}

t0=$(nfs_ms)
nfs_start || exit 1
t_log "ganesha serves $NFS_URL after $NFS_START_MS ms"
RACE_MS=
race nfs "$NFS_URL/store" "$NFS_EXPORT/store"
NFS_RACE_MS=${RACE_MS:-?}
RACE_MS=
race local "$T_DIR/store" "$T_DIR/store"
LOCAL_RACE_MS=${RACE_MS:-?}
t_log "summary: nfs race $NFS_RACE_MS ms, local race $LOCAL_RACE_MS ms, whole test $(($(nfs_ms) - t0)) ms"
t_finish
