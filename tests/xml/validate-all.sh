#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# validate-all.sh SRCDIR: validate every *.xml file in the source tree
# against its RelaxNG schema.
#
# Why: the project promises that every XML document it ships (examples, test
# data, captured replies) matches a schema, and that the schemas really
# reject what they should. So:
#   - every *.xml below SRCDIR is checked (build*/ at the top and .git/ are
#     skipped), nothing is opt-in;
#   - the schema is chosen from the root element name: pool, volume,
#     request, reply, or any other root R that has xml-schemas/R.rng; a root
#     with no schema is a FAILURE, so nobody can add unvalidated XML;
#   - files named *-invalid.xml must FAIL validation (with a validation or
#     well-formedness error, never because a schema failed to compile), all
#     other files must pass.
# Prints one line per file and a summary; exits non-zero on any mismatch.

set -u

src=${1:-}
if [ -z "$src" ] || [ ! -d "$src" ]; then
    echo "usage: $0 SOURCE-ROOT" >&2
    exit 2
fi
src=$(cd "$src" && pwd)
schemas="$src/xml-schemas"

if ! command -v xmllint >/dev/null 2>&1; then
    echo "xmllint not found (package libxml2-utils)" >&2
    exit 2
fi

# Root element -> schema file.
schema_for_root() {
    case "$1" in
    pool) echo "$schemas/pool.rng" ;;
    volume) echo "$schemas/volume.rng" ;;
    request) echo "$schemas/request.rng" ;;
    reply) echo "$schemas/reply.rng" ;;
    basictypes | "") echo "" ;;
    *)
        if [ -f "$schemas/$1.rng" ]; then
            echo "$schemas/$1.rng"
        else
            echo ""
        fi
        ;;
    esac
}

total=0
passed=0
failed=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT INT TERM

# Top-level build*/ directories and .git anywhere are not part of the tree.
find "$src" \( \( -path "$src/build*" -type d \) -o -name .git \) -prune -o \
    -type f -name '*.xml' -print | LC_ALL=C sort >"$list"

while IFS= read -r file; do
    rel=${file#"$src"/}
    total=$((total + 1))
    case "$rel" in
    *-invalid.xml) expect=fail ;;
    *) expect=pass ;;
    esac

    # Root element name; xmllint fails here on a not-well-formed file.
    if ! root=$(xmllint --nonet --xpath 'name(/*)' "$file" 2>/dev/null) || [ -z "$root" ]; then
        if [ "$expect" = fail ]; then
            echo "PASS  $rel (not well-formed, expected to be invalid)"
            passed=$((passed + 1))
        else
            echo "FAIL  $rel: not well-formed XML"
            xmllint --nonet --noout "$file" 2>&1 | sed -n '1,3s/^/      /p'
            failed=$((failed + 1))
        fi
        continue
    fi

    rng=$(schema_for_root "$root")
    if [ -z "$rng" ] || [ ! -f "$rng" ]; then
        echo "FAIL  $rel: no schema for root element <$root>"
        failed=$((failed + 1))
        continue
    fi

    out=$(xmllint --nonet --noout --relaxng "$rng" "$file" 2>&1)
    rc=$?
    # xmllint: 0 valid, 1 parse error, 3 validation error, 5 schema failed
    # to compile (that must never count as "rejected").
    if [ "$rc" -eq 5 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 3 ]; }; then
        echo "FAIL  $rel: xmllint could not check it against ${rng#"$src"/} (exit $rc)"
        printf '%s\n' "$out" | sed -n '1,3s/^/      /p'
        failed=$((failed + 1))
        continue
    fi
    if [ "$expect" = pass ] && [ "$rc" -eq 0 ]; then
        echo "PASS  $rel (valid, ${rng#"$src"/})"
        passed=$((passed + 1))
    elif [ "$expect" = fail ] && [ "$rc" -ne 0 ]; then
        echo "PASS  $rel (rejected as expected, ${rng#"$src"/})"
        passed=$((passed + 1))
    elif [ "$expect" = pass ]; then
        echo "FAIL  $rel: does not validate against ${rng#"$src"/}"
        printf '%s\n' "$out" | sed -n '1,3s/^/      /p'
        failed=$((failed + 1))
    else
        echo "FAIL  $rel: named *-invalid.xml but validates against ${rng#"$src"/}"
        failed=$((failed + 1))
    fi
done <"$list"

echo "xml-schemas: $total files, $passed passed, $failed failed"
if [ "$total" -eq 0 ]; then
    echo "no XML files found under $src" >&2
    exit 1
fi
[ "$failed" -eq 0 ]
