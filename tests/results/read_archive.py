#!/usr/bin/python3
"""read_archive.py — reads an mtneuro result archive with h5py, as a user would, and
checks it against the layout in include/mtn/results.h.

usage: /usr/bin/python3 tests/results/read_archive.py RESULTS.h5

Prints one JSON object: {"format": ..., "runs": [{"run", "seeds", "n", "chosen",
"accuracy_mean", "accuracy_std", "stored_mean", "stored_std"}, ...]} where
accuracy_mean/std are recomputed with numpy (sample std, ddof=1) over the seeds with
ok == 1 and stored_mean/std are /runs/<run>/mean/accuracy and std/accuracy (NaN
printed as null). Segment runs (Task 2) add "vectors": {"f1": {"mean": [K], "std":
[K]}, "iou", "f1_image", "iou_image"} and "class_means": {"mean_f1": [mean, std],
...} (per seed the mean over the classes, then over the seeds); readout runs (Task
3) add "features" (the names) and "vectors" {"r2", "r2_heldout"} of F entries; all
numpy's. Exits 1 when a layout entry is missing or has the wrong type or shape, when
a readout run's features are not the first F of FEATURES, or when a stored mean or
std differs from numpy's by more than 1e-12 (test_results.c runs it).
"""
import json
import math
import sys

import h5py
import numpy as np

ROOT_STR = ["format", "job_name", "job_file", "table", "column", "job", "source", "mtneuro_version",
            "git_commit", "layout", "host", "created"]
ROOT_INT = ["world_size", "ranks_per_seed", "seed_groups", "threads"]
RUN_STR = ["method", "row", "column", "status", "chosen", "task", "network"]
RUN_INT = ["classes", "n"]
METRICS = ["accuracy", "quadrant_accuracy", "train_seconds", "eval_seconds", "step_compute_s", "step_comm_s",
           "step_io_s"]
# the per-class (K) and per-feature (F) datasets of the runs of a method
VECTORS = {"segment": ["f1", "iou", "f1_image", "iou_image"], "readout": ["r2", "r2_heldout"]}
CLASS_MEANS = {"f1": "mean_f1", "iou": "mean_iou", "f1_image": "mean_f1_image", "iou_image": "mean_iou_image"}
FEATURES = ["vessel_pct", "axon_pct", "cell_count", "cell_size_px", "nn_dist_px"]  # MTN_FEATURES_COLUMNS
TOL = 1e-12

problems = []


def text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def dataset(g, name, dtype, shape):
    """g[name] as a numpy array, checked for dtype and shape (None: any extent)."""
    if name not in g or not isinstance(g[name], h5py.Dataset):
        problems.append(f"{g.name}/{name}: missing")
        return None
    d = g[name]
    if d.dtype != np.dtype(dtype):
        problems.append(f"{d.name}: dtype {d.dtype}, expected {dtype}")
    if len(d.shape) != len(shape) or any(w is not None and w != s for w, s in zip(shape, d.shape)):
        problems.append(f"{d.name}: shape {d.shape}, expected {shape}")
    return d[()]


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOL


def number(v):
    return None if math.isnan(v) else v


def summary(x, n):
    """numpy's mean and sample std over the seeds (axis 0) of the finished seeds' x"""
    shape = x.shape[1:]
    mean = np.mean(x, axis=0) if n else np.full(shape, math.nan)
    std = np.std(x, axis=0, ddof=1) if n >= 2 else np.full(shape, math.nan)
    return mean, std


def stored(g, name, shape):
    """the stored mean and std of name, checked for float64 and shape"""
    out = []
    for grp in ("mean", "std"):
        if f"{grp}/{name}" not in g:
            problems.append(f"{g.name}/{grp}/{name}: missing")
            return None
        d = g[f"{grp}/{name}"]
        if d.shape != shape or d.dtype != np.float64:
            problems.append(f"{d.name}: {d.dtype} {d.shape}, expected float64 {shape}")
            return None
        out.append(np.asarray(d[()], dtype=np.float64))
    return out


def compare(where, ours, numpy_):
    for a, b in zip(np.ravel(ours), np.ravel(numpy_)):
        if not close(float(a), float(b)):
            problems.append(f"{where}: stored {np.ravel(ours).tolist()}, numpy gives {np.ravel(numpy_).tolist()}")
            return


def check_vectors(g, method, S, K, done, n, result):
    """the per-class or per-feature datasets of a segment or readout run"""
    if method == "readout":
        names = text(g.attrs.get("features", ""))
        names = names.split(",") if names else []
        if names != FEATURES[:len(names)]:
            problems.append(f"{g.name}: attribute features = {names}, expected the first of {FEATURES}")
        result["features"] = names
    L = len(result["features"]) if method == "readout" else K
    vectors = {}
    for v in VECTORS[method]:
        x = dataset(g, v, "<f8", (S, L))
        pair = stored(g, v, (L,))
        if x is None or pair is None:
            continue
        mean, std = summary(x[done], n)
        compare(f"{g.name}: {v} mean", pair[0], mean)
        compare(f"{g.name}: {v} std", pair[1], std)
        vectors[v] = {"mean": [number(float(m)) for m in mean], "std": [number(float(s)) for s in std]}
        if v in CLASS_MEANS:
            per_seed = np.mean(x[done], axis=1) if L else np.full(n, math.nan)
            mean, std = summary(per_seed, n)
            pair = stored(g, CLASS_MEANS[v], ())
            if pair is not None:
                compare(f"{g.name}: {CLASS_MEANS[v]}", pair, [mean, std])
            result.setdefault("class_means", {})[CLASS_MEANS[v]] = [number(float(mean)), number(float(std))]
    result["vectors"] = vectors


def check_run(name, g):
    for a in RUN_STR + RUN_INT:
        if a not in g.attrs:
            problems.append(f"{g.name}: attribute {a} missing")
    K = int(g.attrs.get("classes", 0))
    seeds = dataset(g, "seeds", "<i4", (None,))
    S = 0 if seeds is None else len(seeds)
    for m in METRICS:
        dataset(g, m, "<f8", (S,))
    dataset(g, "steps", "<i8", (S,))
    dataset(g, "weights_crc", "<u4", (S,))
    ok = dataset(g, "ok", "<i4", (S,))
    dataset(g, "epochs", "<i4", (S,))
    dataset(g, "confusion", "<i8", (S, K, K))
    dataset(g, "quadrant_confusion", "<i8", (S, K, K))
    dataset(g, "train_loss", "<f8", (S, None))
    dataset(g, "val_accuracy", "<f8", (S, None))
    for grp in ("mean", "std"):
        for m in METRICS:
            if f"{grp}/{m}" not in g:
                problems.append(f"{g.name}/{grp}/{m}: missing")
            elif g[f"{grp}/{m}"].shape != () or g[f"{grp}/{m}"].dtype != np.float64:
                problems.append(f"{g.name}/{grp}/{m}: expected a float64 scalar")
    if problems:
        return None
    done = ok == 1
    n = int(done.sum())
    if n != int(g.attrs["n"]):
        problems.append(f"{g.name}: attribute n = {int(g.attrs['n'])}, but {n} seeds have ok == 1")
    result = {"run": name, "seeds": [int(s) for s in seeds], "n": n, "chosen": text(g.attrs["chosen"])}
    for m in METRICS:
        x = g[m][()][done]
        mean = float(np.mean(x)) if n else math.nan
        std = float(np.std(x, ddof=1)) if n >= 2 else math.nan
        stored_mean, stored_std = float(g[f"mean/{m}"][()]), float(g[f"std/{m}"][()])
        if not close(mean, stored_mean) or not close(std, stored_std):
            problems.append(f"{g.name}: {m}: stored {stored_mean} ± {stored_std}, numpy gives {mean} ± {std}")
        if m == "accuracy":
            result.update(accuracy_mean=number(mean), accuracy_std=number(std), stored_mean=number(stored_mean),
                          stored_std=number(stored_std))
    method = text(g.attrs["method"])
    if method in VECTORS:
        check_vectors(g, method, S, K, done, n, result)
    return result


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with h5py.File(sys.argv[1], "r") as f:
        for a in ROOT_STR + ROOT_INT:
            if a not in f.attrs:
                problems.append(f"/: attribute {a} missing")
        fmt = text(f.attrs.get("format", ""))
        if fmt != "mtneuro-results/1":
            problems.append(f"/: format {fmt!r}, expected 'mtneuro-results/1'")
        runs = []
        if "runs" not in f:
            problems.append("/runs: missing")
        else:
            for name, g in f["runs"].items():
                r = check_run(name, g)
                if r:
                    runs.append(r)
    print(json.dumps({"format": fmt, "runs": runs}))
    for p in problems:
        print("read_archive.py: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
