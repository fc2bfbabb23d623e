#!/usr/bin/env bash
# not_built.sh — a job whose BYOL, MYOW and MYOW-m runs belong to a later issue, beside
# a PCA run that trains (tests/data/runner/tiny_byol_job.json): the job finishes
# (exit 0, README "What works today"), the PCA run has its numbers, and each SSL run
# is listed as "not built" in the archive and the report without pretending: no
# seeds, no metric values (S = 0, n = 0, NaN means; mtn/results.h), "—" in the table.
# usage: not_built.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
py=/usr/bin/python3
out=$tmp/job

expect 0 "$bin" run tests/data/runner/tiny_byol_job.json -o "$out"
contains "$tmp/out" "| BYOL | — (not built: the byol method arrives with a later issue) |"
contains "$tmp/out" "| MYOW | — (not built: the myow method arrives with a later issue) |"
contains "$tmp/out" "| MYOW-m | — (not built: the myow-m method arrives with a later issue) |"
contains "$tmp/out" "- status: not built: the byol method arrives with a later issue; 0 seeds, 0 finished"
grep -E "^\| PCA \| [0-9.]+ ± [0-9.]+ \(n=2\) \|" "$tmp/out" >/dev/null || fail "the PCA row has no numbers: $(grep PCA "$tmp/out")"

# the archive: its layout as h5py reads it, then the runs one by one
$py tests/results/read_archive.py "$out/tiny-byol.h5" >"$tmp/read.json" 2>"$tmp/read.err" ||
  fail "read_archive.py: $(head -c 600 "$tmp/read.err")"
$py - "$out/tiny-byol.h5" <<'PY' || fail "the archive's runs"
import math, sys, h5py
runs = h5py.File(sys.argv[1], "r")["runs"]
def attr(g, k):
    v = g.attrs[k]
    return v.decode() if isinstance(v, bytes) else str(v)
assert sorted(runs) == ["byol", "myow", "myow-m", "pca"], sorted(runs)
for name in ("byol", "myow", "myow-m"):
    g = runs[name]
    status = attr(g, "status")
    assert status == "not built: the %s method arrives with a later issue" % name, (name, status)
    assert int(g.attrs["n"]) == 0, (name, int(g.attrs["n"]))
    for d in ("seeds", "ok", "accuracy", "quadrant_accuracy", "train_seconds", "steps", "weights_crc"):
        assert g[d].shape == (0,), (name, d, g[d].shape)  # no seeds: nothing to pretend with
    for d in ("train_loss", "val_accuracy", "confusion"):
        assert g[d].shape[0] == 0, (name, d, g[d].shape)
    for m in g["mean"]:
        assert math.isnan(g["mean"][m][()]) and math.isnan(g["std"][m][()]), (name, m)
pca = runs["pca"]
assert attr(pca, "status") == "ok" and int(pca.attrs["n"]) == 2, (attr(pca, "status"), int(pca.attrs["n"]))
assert not math.isnan(pca["mean/accuracy"][()])
print("not built: byol, myow, myow-m (S = 0); pca: accuracy %.4f" % pca["mean/accuracy"][()])
PY

# `report` on the archive says the same as the run did
expect 0 "$bin" report "$out/tiny-byol.h5"
contains "$tmp/out" "| BYOL | — (not built: the byol method arrives with a later issue) |"
contains "$tmp/out" "- status: not built: the myow-m method arrives with a later issue; 0 seeds, 0 finished"
expect 0 "$bin" report --format csv "$out/tiny-byol.h5"
for row in BYOL MYOW MYOW-m; do contains "$tmp/out" "table1,$row,ROI-C1,accuracy,,,0,"; done
expect 0 "$bin" report --format json "$out/tiny-byol.h5"
$py - "$tmp/out" <<'PY' || fail "the JSON report's rows not built"
import json, sys
rows = {r["row"]: r for r in json.load(open(sys.argv[1]))}
for row, run in (("BYOL", "byol"), ("MYOW", "myow"), ("MYOW-m", "myow-m")):
    r = rows[row]
    assert r["run"] == run and r["status"].startswith("not built: "), r
    assert r["ours_mean"] is None and r["ours_std"] is None and r["n"] == 0, r
assert rows["PCA"]["n"] == 2 and rows["PCA"]["ours_mean"] is not None, rows["PCA"]
PY

finish not_built.sh
