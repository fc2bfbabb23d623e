#!/usr/bin/env bash
# runner.sh — `mtneuro run` end to end on a tiny phantom job (tests/data/runner/
# tiny_job.json: mixup ResNet-18 with dropout, and PCA; 2 seeds):
#  - the determinism contract (design §4): 1 rank x 1 thread, 1 rank x 2 threads, one
#    seed group of 2 and of 4 ranks, and 2 seed groups of 1 rank give bit-identical
#    losses, metrics and final weights (digests of the archive and the weight files);
#  - the archive reads with h5py (tests/results/read_archive.py);
#  - SIGKILL mid-epoch of a 2-rank run, then --resume: bit-identical to the
#    uninterrupted run; SIGTERM: a checkpoint and exit 75, then --resume: identical;
#  - a rank that dies makes the whole job exit non-zero within a bounded time;
#  - broken input: a missing job, bad options, a group size the batch cannot be
#    shared by, a resume from another run's checkpoint: clear messages, exit codes.
# usage: runner.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
mpi=$2
py=/usr/bin/python3
job=tests/data/runner/tiny_job.json

# digest DIR: every number of the archive and every weight file's tensors, as text
digest() { $py tests/results/digest.py "$1" "$1/tiny.h5"; }

# run NAME NP ARGS...: the job into $tmp/NAME with NP ranks
run() {
  local name=$1 np=$2; shift 2
  $mpi -n "$np" "$bin" run "$job" -o "$tmp/$name" --quiet "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  local rc=$?
  [ $rc -eq 0 ] || fail "run $name exited $rc: $(tail -c 600 "$tmp/$name.err")"
  digest "$tmp/$name" >"$tmp/$name.digest" 2>>"$tmp/$name.err" || fail "digest $name: $(tail -c 400 "$tmp/$name.err")"
}

same() { cmp -s "$tmp/$1.digest" "$tmp/$2.digest" || fail "$1 and $2 differ: $(diff "$tmp/$1.digest" "$tmp/$2.digest" | head -20)"; }

# --- the reference run, and the archive under h5py ---
run ref 1 --threads 1
cat "$tmp/ref.digest"
$py tests/results/read_archive.py "$tmp/ref/tiny.h5" >"$tmp/h5py.out" 2>&1 || fail "read_archive.py: $(tail -c 600 "$tmp/h5py.out")"
$bin report "$tmp/ref/tiny.h5" >"$tmp/report.md" 2>&1 || fail "report: $(head -c 400 "$tmp/report.md")"
contains "$tmp/report.md" "Sup w/ Mixup"
contains "$tmp/report.md" "PCA"

# --- a mixup search: every value trained, the best on validation reported as the run ---
expect 0 "$bin" run tests/data/runner/tiny_search_job.json -o "$tmp/search" --quiet --threads 2
$py - "$tmp/search/tiny-search.h5" <<'PY' || fail "the search's archive"
import sys, h5py, numpy as np
runs = h5py.File(sys.argv[1], "r")["runs"]
names = sorted(runs)
assert names == ["mixup", "mixup@mixup_prob=0.2", "mixup@mixup_prob=0.8"], names
final = {n: float(runs[n]["val_accuracy"][0][-1]) for n in names[1:]}
status = runs["mixup"].attrs["status"]
status = status.decode() if isinstance(status, bytes) else status
best = max(final, key=lambda n: (final[n], -names.index(n)))
assert "mixup_prob %s chosen on validation" % best.split("=")[1] in status, (status, final)
assert np.array_equal(runs["mixup"]["accuracy"][()], runs[best]["accuracy"][()])
print("search:", final, "->", status)
PY

# --- the same bits on every layout ---
run t2 1 --threads 2
same ref t2
run g2 2 --ranks-per-seed 2
same ref g2
run g4 4 --ranks-per-seed 4
same ref g4
run groups 2 --ranks-per-seed 1
same ref groups
$py -c "import h5py,sys; l=h5py.File(sys.argv[1])['/'].attrs['layout']; sys.exit(0 if '2 seed groups x 1 rank' in str(l) else 1)" "$tmp/groups/tiny.h5" ||
  fail "the archive's layout attribute lacks the seed groups"

# --- SIGKILL mid-epoch, then --resume ---
out=$tmp/killed
setsid $mpi -n 2 "$bin" run "$job" -o "$out" --quiet --ranks-per-seed 2 --checkpoint-every 1 >"$tmp/killed.out" 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$out/checkpoints/mixup-seed1.h5"
sleep 1.5 # a step or two more: the kill lands mid-epoch, after a checkpoint
kill -9 -- -"$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$out/tiny.h5" ] && fail "the killed run finished before the kill (make the job longer)"
run killed 2 --ranks-per-seed 2 --resume
same ref killed

# --- SIGTERM to the ranks: checkpoint, exit 75 (from mpirun too), resume ---
out=$tmp/termed
$mpi -n 2 "$bin" run "$job" -o "$out" --quiet --ranks-per-seed 2 >"$tmp/termed.out" 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$out/checkpoints/mixup-seed1.h5"
# the ranks get the signal (as Slurm's --signal delivers it; mpirun itself, signalled,
# forwards it but exits 1)
pkill -TERM -f "^$bin run $job -o $out"
wait "$pid"
rc=$?
[ $rc -eq 75 ] || fail "SIGTERM: exit $rc (wanted 75): $(tail -c 400 "$tmp/termed.out")"
contains "$tmp/termed.out" "stopped by a signal"
run termed 1 --threads 1 --resume
same ref termed

# --- a rank dies: the job ends, non-zero, in bounded time ---
start=$(date +%s)
$mpi -n 2 "$bin" run "$job" -o "$tmp/dies" --quiet --ranks-per-seed 2 >"$tmp/dies.out" 2>&1 &
pid=$!
pids+=("$pid")
wait_for "$tmp/dies/checkpoints/mixup-seed1.h5"
victim=$(pgrep -f "^$bin run $job -o $tmp/dies" | tail -1)
kill -9 "$victim" 2>/dev/null
timeout 120 tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
elapsed=$(($(date +%s) - start))
[ $rc -ne 0 ] || fail "a rank was killed but the job exited 0"
[ $elapsed -lt 150 ] || fail "the job took ${elapsed}s to end after a rank died"
echo "rank death: exit $rc after ${elapsed}s"

# --- broken input ---
expect 2 "$bin" run "$tmp/missing.json"
contains "$tmp/err" "missing.json"
expect 2 "$bin" run "$job" --seeds 1,x
contains "$tmp/err" "--seeds"
expect 2 "$bin" run "$job" --threads 0
expect 2 "$bin" run
expect 2 $mpi -n 3 "$bin" run "$job" -o "$tmp/three" --quiet --ranks-per-seed 3
contains "$tmp/err" "micro-batches"
# a checkpoint of another run under this run's name
mkdir -p "$tmp/other/checkpoints"
cp "$tmp/killed/checkpoints/"*seed1.h5 "$tmp/other/checkpoints/mixup-seed100.h5"
expect 3 "$bin" run "$job" -o "$tmp/other" --quiet --threads 1 --resume
contains "$tmp/err" "belongs to another run"

finish runner
