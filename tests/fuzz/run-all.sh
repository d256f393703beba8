#!/bin/bash
# tests/fuzz/run-all.sh BUILDDIR SECONDS: run every libFuzzer target built in
# BUILDDIR for SECONDS over a copy of its seed corpus (the checked-in seeds
# stay untouched). Prints one line per target and "N passed, N failed".
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
build=$1 secs=${2:-10}
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/poold-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
for exe in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name=$(basename "$exe")
    mkdir -p "$work/$name"
    [ -d "$src/corpus/$name" ] && cp -r "$src/corpus/$name/." "$work/$name/"
    if "$exe" -max_total_time="$secs" -print_final_stats=0 -artifact_prefix="$work/$name-" \
        "$work/$name" > "$work/$name.log" 2>&1; then
        echo "fuzz $name: ok ($(grep -Eo "#[0-9]+" "$work/$name.log" | tail -n1 | tr -d "#") runs)"
        pass=$((pass + 1))
    else
        echo "fuzz $name: FAILED"
        tail -n 30 "$work/$name.log"
        for a in "$work/$name"-*; do [ -f "$a" ] && { echo "reproducer:"; od -c "$a" | head -n 20; }; done
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
