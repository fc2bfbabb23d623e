#!/usr/bin/env bash
# task23.sh — Task 2 (segmentation) and Task 3 (readout) through `mtneuro run` on tiny
# phantom jobs (tests/data/runner/tiny_task2_job.json, tiny_task3_job.json):
#  - Task 2: the archive holds per-class F1 / IoU (pooled and per image) that agree with
#    its own pixel confusion matrices (numpy); the learning-rate x batch grid is scored
#    on validation with the first seed, the chosen point is the best one and recorded
#    (`chosen`), and the chosen run's first seed has the very bits of its grid point;
#  - determinism: 1 rank x 2 threads, 2 seed groups (grid points spread over them) and
#    one group of 2 ranks give identical metrics and weights;
#  - Task 3: the PCA readout's R² (in-sample and held out) equals an independent
#    computation (tests/ref/task3_oracle.py: scipy features, scikit-learn PCA and
#    LinearRegression) on the same staged file; an encoder imported from PyTorch
#    (tests/ref/state_dict_h5.py) is read out through encoder.checkpoint;
#  - broken input: missing encoder weights, a checkpoint pattern without {seed}, a
#    Task 3 resolution coarser than the encoder's: messages and exit codes.
# usage: task23.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
mpi=$2
py=/usr/bin/python3

# digest DIR JOB: every number of the archive and every weight file's tensors, as text
digest() { $py tests/results/digest.py "$1" "$1/$2.h5"; }

# run JOB NAME NP ARGS...: the job into $tmp/NAME with NP ranks, and its digest
run() {
  local job=$1 name=$2 np=$3; shift 3
  $mpi -n "$np" "$bin" run "tests/data/runner/$job.json" -o "$tmp/$name" --quiet "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  local rc=$?
  [ $rc -eq 0 ] || fail "run $name exited $rc: $(tail -c 600 "$tmp/$name.err")"
  local jobname
  jobname=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "tests/data/runner/$job.json")
  digest "$tmp/$name" "$jobname" >"$tmp/$name.digest" 2>>"$tmp/$name.err" || fail "digest $name: $(tail -c 400 "$tmp/$name.err")"
}

# ---- Task 2 ----
run tiny_task2_job seg1 1 --threads 2
$py - "$tmp/seg1/tiny-task2.h5" <<'PY' || fail "Task 2 archive"
import sys, h5py, numpy as np
txt = lambda v: v.decode() if isinstance(v, bytes) else str(v)
f = h5py.File(sys.argv[1], "r")
runs = f["runs"]
names = list(runs)
grid = [n for n in names if n.startswith("unet2d@")]
assert len(grid) == 4, names
assert names[-1] == "unet3d" or "unet3d" in names, names
for name in ["unet2d", "unet3d"] + grid:
    g = runs[name]
    assert txt(g.attrs["status"]).startswith("ok"), (name, g.attrs["status"])
    conf = g["confusion"][()]
    S, K = conf.shape[0], conf.shape[1]
    assert K == (3 if name.startswith("unet2d") else 4), (name, K)
    assert S == (1 if "@" in name else 2), (name, S)
    for key in ["f1", "iou", "f1_image", "iou_image"]:
        assert g[key].shape == (S, K), (name, key, g[key].shape)
    for s in range(S):
        c = conf[s].astype(np.float64)
        tp = np.diag(c); fp = c.sum(0) - tp; fn = c.sum(1) - tp
        f1 = np.where(tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 1.0)
        iou = np.where(tp + fp + fn > 0, tp / np.maximum(tp + fp + fn, 1), 1.0)
        assert np.allclose(g["f1"][s], f1, rtol=0, atol=1e-12), (name, g["f1"][s], f1)
        assert np.allclose(g["iou"][s], iou, rtol=0, atol=1e-12), (name, g["iou"][s], iou)
        assert abs(g["accuracy"][s] - tp.sum() / c.sum()) < 1e-12
        assert np.all((g["f1_image"][s] >= 0) & (g["f1_image"][s] <= 1))
    # the per-seed average over classes, then over seeds
    assert abs(g["mean"]["mean_f1"][()] - g["f1"][()].mean(axis=1).mean()) < 1e-12, name
# the grid: scored with the first seed on validation; the chosen point is the best
chosen = runs["unet2d"]
best = max(grid, key=lambda n: runs[n]["val_accuracy"][0, -1])
lr = float(best.split("lr=")[1].split(",")[0]); batch = int(best.split("batch=")[1])
want = "learning_rate=%g,batch_size=%d" % (lr, batch)
assert txt(chosen.attrs["chosen"]) == want, (chosen.attrs["chosen"], want)
assert runs[best]["seeds"][()].tolist() == [1]
# same config, same seed: the chosen run's seed 1 has the grid point's bits
assert chosen["weights_crc"][0] == runs[best]["weights_crc"][0], "chosen run differs from its grid point"
assert chosen["val_accuracy"][0].tobytes() == runs[best]["val_accuracy"][0].tobytes()
print("  Task 2: F1 / IoU agree with the confusion matrices; chosen %s (val mean F1 %.3f)"
      % (want, runs[best]["val_accuracy"][0, -1]))
PY
run tiny_task2_job seg2 2 --ranks-per-seed 1
run tiny_task2_job seg3 2 --ranks-per-seed 2
for r in seg2 seg3; do
  cmp -s "$tmp/seg1.digest" "$tmp/$r.digest" || fail "Task 2: $r differs from seg1: $(diff "$tmp/seg1.digest" "$tmp/$r.digest" | head -6)"
done

# ---- Task 3 ----
run tiny_task3_job ro1 1 --threads 2
staged=$(ls "$tmp"/ro1/staged/task3-*.h5)
want=$($py tests/ref/task3_oracle.py "$staged" 1 8) || fail "task3 oracle"
$py - "$tmp/ro1/tiny-task3.h5" "$want" <<'PY' || fail "Task 3 readout against the oracle"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
want = np.array([float(v) for v in sys.argv[2].split()])
g = f["runs"]["readout-pca"]
txt = lambda v: v.decode() if isinstance(v, bytes) else str(v)
assert txt(g.attrs["features"]) == "vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px", g.attrs["features"]
for s in range(g["r2"].shape[0]):
    got = np.concatenate([g["r2"][s], g["r2_heldout"][s]])
    err = np.abs(got - want).max()
    assert err < 1e-6, (got, want)
print("  Task 3 PCA readout: R2 in-sample and held out equal scikit-learn's within %.1e" % err)
for name in ["readout-supervised", "readout-nmf"]:
    s = f["runs"][name]
    assert txt(s.attrs["status"]).startswith("ok") and np.all(np.isfinite(s["r2"][()])), (name, s.attrs["status"])
    assert np.all(s["r2"][()] <= 1 + 1e-9), name
PY
run tiny_task3_job ro2 2 --ranks-per-seed 1
cmp -s "$tmp/ro1.digest" "$tmp/ro2.digest" || fail "Task 3: 2 seed groups differ: $(diff "$tmp/ro1.digest" "$tmp/ro2.digest" | head -6)"

# an encoder imported from PyTorch, through encoder.checkpoint
$py - "$tmp" <<'PY' || fail "export a PyTorch encoder"
import sys, torch
sys.path.insert(0, "tests/ref")
import torch_models
for seed in (1, 100):
    torch.manual_seed(seed)
    torch.save(torch_models.resnet18(1, 4).state_dict(), "%s/torch-seed%d.pt" % (sys.argv[1], seed))
PY
for seed in 1 100; do
  $py tests/ref/state_dict_h5.py to_h5 "$tmp/torch-seed$seed.pt" "$tmp/torch-seed$seed.h5" >/dev/null 2>"$tmp/err" ||
    fail "state_dict_h5.py: $(head -c 300 "$tmp/err")"
done
# job FILE ENCODER [READOUT-TASK-OVERRIDES [ENCODER-TASK-OVERRIDES]]: tiny-task3's
# supervised run and one readout of it, paths made absolute
job() {
  $py - "$@" <<'PY'
import json, os, sys
src = "tests/data/runner/tiny_task3_job.json"
j = json.load(open(src))
out, enc = sys.argv[1], json.loads(sys.argv[2])
over = json.loads(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else {}
enc_over = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
runs = [next(r for r in j["runs"] if r["name"] == n) for n in ("supervised", "readout-supervised")]
for r in runs:
    for k in ("task", "network"):
        if k in r:
            r[k] = os.path.abspath(os.path.join(os.path.dirname(src), r[k]))
runs[0]["task_overrides"].update(enc_over)
runs[1].update(name="readout", encoder=enc)
runs[1]["task_overrides"].update(over)
j["runs"] = runs
json.dump(j, open(out, "w"))
PY
}
job "$tmp/imported.json" "{\"run\": \"supervised\", \"checkpoint\": \"$tmp/torch-seed{seed}.h5\"}"
expect 0 "$bin" run "$tmp/imported.json" -o "$tmp/imp" --quiet
$py - "$tmp/imp/tiny-task3.h5" "$tmp/ro1/tiny-task3.h5" <<'PY' || fail "imported encoder"
import sys, h5py, numpy as np
txt = lambda v: v.decode() if isinstance(v, bytes) else str(v)
a = h5py.File(sys.argv[1], "r")["runs"]["readout"]
b = h5py.File(sys.argv[2], "r")["runs"]["readout-supervised"]
assert txt(a.attrs["status"]).startswith("ok") and np.all(np.isfinite(a["r2"][()]))
assert not np.array_equal(a["r2"][()], b["r2"][()]), "the imported encoder gave the trained one's numbers"
PY

# ---- broken input ----
job "$tmp/missing.json" "{\"run\": \"supervised\", \"checkpoint\": \"$tmp/nowhere-{seed}.h5\"}"
expect 4 "$bin" run "$tmp/missing.json" -o "$tmp/missing" --quiet
contains "$tmp/err" "nowhere-1.h5"
job "$tmp/noseed.json" "{\"run\": \"supervised\", \"checkpoint\": \"$tmp/torch.h5\"}"
expect 2 "$bin" check "$tmp/noseed.json"
contains "$tmp/err" "encoder.checkpoint"
contains "$tmp/err" "{seed}"
# Task 3 coarser (4x) than its encoder (2x): nothing to bring the images down to
job "$tmp/coarser.json" "{\"run\": \"supervised\", \"checkpoint\": \"$tmp/torch-seed{seed}.h5\"}" '' '{"downsample": 2}'
expect 2 "$bin" run "$tmp/coarser.json" -o "$tmp/coarser" --quiet
contains "$tmp/err" "trained at downsample 2"

finish task23
