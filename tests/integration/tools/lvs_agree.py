#!/usr/bin/env python3
# lvs_agree.py: check that `poolctl volume list --json` says exactly what LVM
# says, computed independently from raw `lvs`/`pvs` JSON reports: the same
# volumes (by name and uuid), sizes, tags (lease slot, LUN) and byte-level
# segment maps (PV, PV offset = pe_start + pe * extent size).
#
# usage: lvs_agree.py VOLUMES.json LVS.json PVS.json EXTENT_SIZE
# SPDX-License-Identifier: GPL-2.0-or-later
import json
import sys


def main():
    vols = json.load(open(sys.argv[1]))
    lvs = json.load(open(sys.argv[2]))["report"][0]["lv"]
    pvs = json.load(open(sys.argv[3]))["report"][0]["pv"]
    extent = int(sys.argv[4])
    pe_start = {p["pv_name"]: int(p["pe_start"]) for p in pvs}
    errors = []

    lvmap = {}
    for row in lvs:
        tags = dict(t.split(":", 1) for t in row["lv_tags"].split(",") if ":" in t)
        if "pd_uuid" not in tags or "pd_special" in tags:
            continue
        lv = lvmap.setdefault(row["lv_name"], {"tags": tags, "size": int(row["lv_size"]), "segs": []})
        for rng in row["seg_pe_ranges"].split():
            pv, r = rng.rsplit(":", 1)
            first, last = (int(x) for x in r.split("-"))
            lv["segs"].append((int(row["seg_start_pe"]) * extent, (last - first + 1) * extent,
                               pv, pe_start[pv] + first * extent))

    names = {v["name"] for v in vols}
    if names != set(lvmap):
        errors.append("volume sets differ: only in poolctl %s, only in lvs %s"
                      % (sorted(names - set(lvmap))[:5], sorted(set(lvmap) - names)[:5]))
    for v in vols:
        lv = lvmap.get(v["name"])
        if lv is None:
            continue
        t = lv["tags"]
        for key, want in (("uuid", t.get("pd_uuid")), ("lease_slot", int(t.get("pd_slot", -1))),
                          ("lun", int(t.get("pd_lun", -1))), ("capacity", lv["size"])):
            if v[key] != want:
                errors.append("%s: %s is %r in poolctl, %r in lvs" % (v["name"], key, v[key], want))
        segs = sorted(lv["segs"])
        got = [(s["lv_offset"], s["length"], s["pv"], s["pv_offset"]) for s in v["segments"]]
        if got != segs:
            errors.append("%s: segment map differs: poolctl %s, lvs %s" % (v["name"], got, segs))
    for e in errors[:20]:
        print("MISMATCH:", e)
    print("# compared %d volumes: %d mismatches" % (len(vols), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
