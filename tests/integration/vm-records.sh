#!/bin/bash
# vm-records.sh: a pool's VM definitions in its metadata store (issue 5,
# docs/design.md choice 7): poolctl pool set-store, vm define | list | show |
# undefine, on a local directory store and on nfs://127.0.0.1/... (a private
# nfs-ganesha, lib-nfs.sh).
#
# Single host, a pool without locking, one volume. Local store: the store is
# recorded in the VG (escaped tag) and shown by pool info; a VM defined from
# a domain XML with one type='volume' disk is listed and shown; defining it
# again is refused (exit 4); undefine removes it. Bad input — invalid XML,
# no <domain>, a bad name, a file disk, a disk of another pool, a missing
# volume, something libvirt's schema refuses, store URLs that are malformed
# or unreachable — each gives a clear error and writes nothing (the store
# directory and the VG tags are unchanged). NFS store: the same define /
# list / show; with the server frozen, then killed, `vm list` fails within
# the store's timeout (+3 s) with a clear error while `volume list` keeps
# working; after a restart every record is intact.
#
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/lib-nfs.sh"
nfs_enter_namespace "$@"

NFS_TIMEOUT_MS=2000

ms() { nfs_ms; }
q() { "$@" >/dev/null; }

# Run CMD; $RC, $OUT (stdout+stderr) and $ELAPSED (ms).
timed() {
    local t0
    t0=$(ms)
    OUT=$("$@" 2>&1)
    RC=$?
    ELAPSED=$(($(ms) - t0))
}

domain_xml() { # domain_xml NAME DISK-XML [UUID-LINE]
    cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  ${3:-}
  <memory unit='MiB'>64</memory>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <devices>
$2
  </devices>
</domain>
EOF
}

vol_disk() { # vol_disk POOL VOLUME [DEV]
    cat <<EOF
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='$1' volume='$2'/>
      <target dev='${3:-vda}' bus='virtio'/>
    </disk>
EOF
}

vgtags() { t_lvm vgs --noheadings -o vg_tags "$T_POOL" | tr -d ' '; }
# the store's files, with sizes and change times (not the directory's own
# atime: reads may touch it)
listing() { find "$STORE" -mindepth 1 -printf '%P %s %C@ %T@\n' | sort; }

t_loop PV1 pv1 4G || exit 1
t_start_poold || exit 1
t_assert "pool create" q pctl pool create "$T_POOL" "$PV1" --locking none
t_assert "volume create" q pctl volume create "$T_POOL" disk1 16M
t_assert "second volume" q pctl volume create "$T_POOL" disk2 16M

# ---- no store yet ---------------------------------------------------------
t_expect_fail 2 "pool $T_POOL has no metadata store; set one with poolctl pool set-store" \
    pctl vm list "$T_POOL"
domain_xml vm1 "$(vol_disk "$T_POOL" disk1)" >"$T_DIR/vm1.xml"
t_expect_fail 2 "has no metadata store" pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
pctl pool info "$T_POOL" >"$T_DIR/info.txt"
t_assert "pool info says there is no store" grep -q "VM store: *none" "$T_DIR/info.txt"

# ---- store URLs that cannot be used --------------------------------------
tags0=$(vgtags)
t_expect_fail 2 "expected nfs://server.*absolute directory path" pctl pool set-store "$T_POOL" ftp://x
t_expect_fail 2 "expected nfs://server.*absolute directory path" \
    pctl pool set-store "$T_POOL" relative/path
t_expect_fail 2 "no export path" pctl pool set-store "$T_POOL" nfs://127.0.0.1
t_expect_fail 2 "timeout-ms" pctl pool set-store "$T_POOL" /x --timeout-ms 5
# poold checks too (the socket is its boundary): a request poolctl did not check
t_expect_fail 2 "expected nfs://" pctl pool set-store "$T_POOL" "nfs:/x"
timed pctl pool set-store "$T_POOL" nfs://127.0.0.1:1/x --timeout-ms 500
if [ "$RC" -ne 0 ] && [[ $OUT == *"127.0.0.1"* ]] && [ "$ELAPSED" -lt 3500 ]; then
    t_ok
else
    t_fail "unreachable store: rc=$RC in ${ELAPSED} ms: $OUT"
fi
t_log "unreachable store refused in ${ELAPSED} ms: $OUT"
t_assert "refused store URLs left the VG tags alone" [ "$(vgtags)" = "$tags0" ]

# ---- a local store (with characters LVM tags cannot hold) ----------------
STORE="$T_DIR/store~a,b"
t_assert "set-store local" q pctl pool set-store "$T_POOL" "$STORE"
tags=$(vgtags)
t_assert "VG carries the escaped store tag ($tags)" \
    bash -c '[[ $1 == *"pd_store:"*"#7ea#2cb"* ]]' _ "$tags"
pctl --json pool info "$T_POOL" >"$T_DIR/info.json"
t_assert "pool info shows the store" python3 -c "
import json; p = json.load(open('$T_DIR/info.json'))
assert p['metadata_store']['url'] == '''$STORE''', p.get('metadata_store')
assert p['metadata_store']['timeout_ms'] == 5000, p['metadata_store']
"
n=$(pctl vm list "$T_POOL" | wc -l)
t_assert "empty store lists nothing (header only: $n lines)" [ "$n" = 1 ]

UUID1=5b0b0d0e-1c8e-4f3a-9d2b-6a7f1e2d3c4b
domain_xml vm1 "$(vol_disk "$T_POOL" disk1)" "<uuid>$UUID1</uuid>" >"$T_DIR/vm1.xml"
t_assert "vm define" q pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
pctl vm list "$T_POOL" >"$T_DIR/list.txt"
t_assert "vm list shows vm1, no owner, generation 1" \
    grep -Eq '^vm1 +- +1$' "$T_DIR/list.txt"
pctl --json vm show "$T_POOL" vm1 >"$T_DIR/show.json"
t_assert "vm show: the record" python3 -c "
import json; r = json.load(open('$T_DIR/show.json'))
assert r['name'] == 'vm1' and r['uuid'] == '$UUID1', r
assert r['owner'] is None and r['generation'] == 1, r
assert r['disks'] == [{'pool': '$T_POOL', 'volume': 'disk1'}], r['disks']
assert r['domain_xml'] == open('$T_DIR/vm1.xml').read(), r['domain_xml']
assert r['modified_by'], r
"
pctl --json vm list "$T_POOL" >"$T_DIR/list.json"
t_assert "vm list --json" python3 -c "
import json; l = json.load(open('$T_DIR/list.json'))
assert [(v['name'], v['owner'], v['generation']) for v in l] == [('vm1', None, 1)], l
"
t_expect_fail 4 "exist" pctl vm define "$T_POOL" "$T_DIR/vm1.xml"

# a domain without <uuid> gets one, written into the stored XML
domain_xml vm2 "$(vol_disk "$T_POOL" disk2 vdb)" >"$T_DIR/vm2.xml"
t_assert "vm define without uuid" q pctl vm define "$T_POOL" "$T_DIR/vm2.xml"
pctl --json vm show "$T_POOL" vm2 >"$T_DIR/show2.json"
t_assert "vm2 got a uuid, in the record and in its domain XML" python3 -c "
import json, re; r = json.load(open('$T_DIR/show2.json'))
assert re.fullmatch('[0-9a-f-]{36}', r['uuid']), r['uuid']
assert '<uuid>%s</uuid>' % r['uuid'] in r['domain_xml'], r['domain_xml']
"

# ---- bad input: clear errors, nothing written ----------------------------
before=$(listing)
bad() { # bad NAME CODE REGEX  (domain XML on stdin)
    cat >"$T_DIR/bad-$1.xml"
    t_expect_fail "$2" "$3" pctl vm define "$T_POOL" "$T_DIR/bad-$1.xml"
}
bad invalid 2 "domain XML" <<<"<domain type='qemu'><name>x</name>"
bad nodomain 2 "expected <domain>" <<<"<pool><name>x</name></pool>"
bad noname 2 "no <name>" <<<"<domain type='qemu'><memory>1</memory></domain>"
domain_xml 'bad/name' "$(vol_disk "$T_POOL" disk1)" | bad badname 2 "VM name: character '/'"
domain_xml .hidden "$(vol_disk "$T_POOL" disk1)" | bad hidden 2 "must not start with"
domain_xml vm3 "    <disk type='file' device='disk'><source file='/tmp/x.img'/><target dev='vda' bus='virtio'/></disk>" |
    bad filedisk 2 "disk vda: .*is not a volume of pool $T_POOL"
domain_xml vm3 "    <disk type='block' device='disk'><source dev='$PV1'/><target dev='sda' bus='scsi'/></disk>" |
    bad blockdisk 2 "disk sda: .*is not a volume of pool $T_POOL"
domain_xml vm3 "$(vol_disk otherpool disk1)" | bad otherpool 2 "disk vda: .*pool 'otherpool' is not a volume of pool $T_POOL"
domain_xml vm3 "$(vol_disk "$T_POOL" nosuchvol)" | bad missingvol 3 "disk vda: 'nosuchvol' is not a volume of pool $T_POOL \\(no such volume\\)"
domain_xml vm3 "$(vol_disk "$T_POOL" disk1)$(vol_disk "$T_POOL" disk1 vdb)" | bad twice 2 "used twice"
domain_xml vm3 "$(vol_disk "$T_POOL" disk1)" "<uuid>not-a-uuid</uuid>" | bad baduuid 2 "not a UUID"
if command -v virt-xml-validate >/dev/null; then
    domain_xml vm3 "$(vol_disk "$T_POOL" disk1)" | sed "1s/type='qemu'/type='bogus'/" |
        bad libvirtschema 2 "does not pass libvirt's schema"
fi
printf '<domain>\001</domain>\n' >"$T_DIR/bad-ctl.xml"
t_expect_fail 2 "control character" pctl vm define "$T_POOL" "$T_DIR/bad-ctl.xml"
t_expect_fail any "cannot open" pctl vm define "$T_POOL" "$T_DIR/no-such-file.xml"
t_expect_fail 3 "no-such" pctl vm show "$T_POOL" no-such
t_expect_fail 3 "no-such" pctl vm undefine "$T_POOL" no-such
after=$(listing)
t_assert "bad input wrote nothing to the store: $(diff <(echo "$before") <(echo "$after"))" [ "$after" = "$before" ]
names=$(pctl vm list "$T_POOL" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')
t_assert "only vm1 and vm2 defined ($names)" [ "$names" = "vm1 vm2 " ]

# ---- undefine ------------------------------------------------------------
t_assert "vm undefine" q pctl vm undefine "$T_POOL" vm1
t_expect_fail 3 "vm1" pctl vm show "$T_POOL" vm1
pctl vm list "$T_POOL" >"$T_DIR/list.txt"
t_assert "vm1 gone from the list" bash -c '! grep -q "^vm1 " "$1"' _ "$T_DIR/list.txt"
t_assert "define again after undefine" q pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
t_assert "undefine again" q pctl vm undefine "$T_POOL" vm1

# ---- the store on NFS ------------------------------------------------------
nfs_start || exit 1
t_log "ganesha serving $NFS_URL after ${NFS_START_MS} ms"
NURL="$NFS_URL/vms"
t_assert "set-store nfs" q pctl pool set-store "$T_POOL" "$NURL" --timeout-ms "$NFS_TIMEOUT_MS"
pctl --json pool info "$T_POOL" >"$T_DIR/info.json"
t_assert "pool info shows the nfs store" python3 -c "
import json; p = json.load(open('$T_DIR/info.json'))
assert p['metadata_store'] == {'url': '$NURL', 'timeout_ms': $NFS_TIMEOUT_MS}, p.get('metadata_store')
"
t_assert "vm define on nfs" q pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
t_assert "vm2 on nfs" q pctl vm define "$T_POOL" "$T_DIR/vm2.xml"
t_expect_fail 4 "exist" pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
pctl --json vm show "$T_POOL" vm1 >"$T_DIR/nshow.json"
t_assert "vm show on nfs" python3 -c "
import json; r = json.load(open('$T_DIR/nshow.json'))
assert r['name'] == 'vm1' and r['uuid'] == '$UUID1' and r['generation'] == 1, r
assert r['domain_xml'] == open('$T_DIR/vm1.xml').read()
"
t_assert "the records are files in the export" bash -c 'ls "$1"/vms | grep -q "^vm1\.1\.vmrec$"' _ "$NFS_EXPORT"
pctl vm list "$T_POOL" >"$T_DIR/nlist.txt"
t_assert "vm list on nfs" grep -Eq '^vm1 +- +1$' "$T_DIR/nlist.txt"

bound=$((NFS_TIMEOUT_MS + 3000))
for how in freeze kill; do
    if [ $how = freeze ]; then nfs_freeze; else nfs_kill; fi
    timed pctl vm list "$T_POOL"
    t_log "vm list with the server ${how}: rc=$RC in ${ELAPSED} ms: $OUT"
    if [ "$RC" -ne 0 ] && [ "$ELAPSED" -lt "$bound" ] && [[ $OUT == *"poolctl: error: "*"127.0.0.1"* ]]; then
        t_ok
    else
        t_fail "vm list with the server ${how}: rc=$RC in ${ELAPSED} ms (bound $bound): $OUT"
    fi
    timed pctl vm define "$T_POOL" "$T_DIR/vm1.xml"
    if [ "$RC" -ne 0 ] && [ "$ELAPSED" -lt "$bound" ]; then t_ok; else
        t_fail "vm define with the server ${how}: rc=$RC in ${ELAPSED} ms: $OUT"
    fi
    timed pctl volume list "$T_POOL"
    if [ "$RC" -eq 0 ] && [[ $OUT == *disk1* ]] && [ "$ELAPSED" -lt 5000 ]; then t_ok; else
        t_fail "volume list with the nfs server ${how}: rc=$RC in ${ELAPSED} ms: $OUT"
    fi
    t_assert "volume create with the nfs server ${how}" q pctl volume create "$T_POOL" "x$how" 8M
done
nfs_restart || exit 1
# the first call after a restart reconnects; bounded retries, not a sleep
deadline=$((SECONDS + 20))
until pctl vm list "$T_POOL" >"$T_DIR/nlist2.txt" 2>&1; do
    [ $SECONDS -ge $deadline ] && break
    sleep 0.2
done
t_assert "after the restart vm list works ($(cat "$T_DIR/nlist2.txt"))" \
    grep -Eq '^vm1 +- +1$' "$T_DIR/nlist2.txt"
t_assert "and vm2 is there" grep -Eq '^vm2 +- +1$' "$T_DIR/nlist2.txt"
pctl --json vm show "$T_POOL" vm1 >"$T_DIR/nshow2.json"
t_assert "vm1 intact after the restart" python3 -c "
import json; r = json.load(open('$T_DIR/nshow2.json'))
assert r['uuid'] == '$UUID1' and r['generation'] == 1, r
assert r['domain_xml'] == open('$T_DIR/vm1.xml').read()
"
t_assert "undefine on nfs" q pctl vm undefine "$T_POOL" vm2
pctl vm list "$T_POOL" >"$T_DIR/list.txt"
t_assert "vm2 gone" bash -c '! grep -q "^vm2 " "$1"' _ "$T_DIR/list.txt"

# ---- the store comes from the VG: a host that imports the pool finds it --
t_assert "poold stops" t_stop_poold
rm -f "$T_DIR/state/pools/$T_POOL.xml"
t_start_poold || exit 1
t_expect_fail 3 "no pool" pctl vm list "$T_POOL"
t_assert "pool import" q pctl pool import "$T_POOL" "$PV1"
grep -q "metadata-store url=\"$NURL\" timeout-ms=\"$NFS_TIMEOUT_MS\"" "$T_DIR/state/pools/$T_POOL.xml"
t_assert "the imported pool's record has the store (from the VG tags)" [ $? = 0 ]
pctl vm list "$T_POOL" >"$T_DIR/list.txt"
t_assert "vm list after import" grep -Eq '^vm1 +- +1$' "$T_DIR/list.txt"

t_finish
