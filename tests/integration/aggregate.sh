#!/usr/bin/env bash
# aggregate.sh — `mtneuro aggregate` end to end on the tiny phantom job (tests/data/
# runner/tiny_job.json: mixup and PCA, seeds 1 and 100):
#  - per-seed archives (`run --seeds S --archive DIR/tiny-seedS.h5`, as Slurm array
#    tasks write them), merged in reverse order, give the digest of one run of both
#    seeds (every number but timings, mean and std included, and the weights);
#    `mtneuro report` reads the merged archive;
#  - archives of `run --runs` subsets merge into the whole job; a seed run again
#    (another thread count: the same bits) is kept once; the output may be an input;
#  - broken input: a missing file, a text file, an HDF5 file that is no archive, no
#    -o, no inputs, a file given twice, an unwritable output, an archive of another
#    job, another git commit (accepted with --force), a seed that differs.
# usage: aggregate.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
mpi=$2
py=/usr/bin/python3
job=tests/data/runner/tiny_job.json

# run NAME NP ARGS...: the job into $tmp/NAME with NP ranks
run() {
  local name=$1 np=$2; shift 2
  $mpi -n "$np" "$bin" run "$job" -o "$tmp/$name" --quiet "$@" >"$tmp/run.out" 2>&1 ||
    fail "run $name $*: $(tail -c 600 "$tmp/run.out")"
}

# same_digest DIR ARCHIVE: its digest (numbers and DIR's weights) is the reference's
same_digest() {
  $py tests/results/digest.py "$1" "$2" >"$tmp/got.digest" 2>&1 || fail "digest $2: $(tail -c 400 "$tmp/got.digest")"
  cmp -s "$tmp/ref.digest" "$tmp/got.digest" || fail "$2 differs from the reference: $(diff "$tmp/ref.digest" "$tmp/got.digest" | head -20)"
}

# edit ARCHIVE PYTHON: a copy's changes with h5py (f: the file; text attributes as
# fixed-length strings, as mtneuro writes them)
edit() {
  $py -c "import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r+')
$2" "$1" || fail "editing $1"
}

# --- the reference: one run of both seeds; then a run per seed, as array tasks ---
run ref 2
$py tests/results/digest.py "$tmp/ref" "$tmp/ref/tiny.h5" >"$tmp/ref.digest" || fail "digest of the reference"
grep -q "mean/accuracy" "$tmp/ref.digest" || fail "the digest lacks the means: $(head -c 400 "$tmp/ref.digest")"
parts=$tmp/parts
run parts 1 --seeds 1 --archive "$parts/tiny-seed1.h5"
run parts 1 --seeds 100 --archive "$parts/tiny-seed100.h5"

# merged in reverse order: the job's seed order all the same
expect 0 "$bin" aggregate "$parts/tiny-seed100.h5" "$parts/tiny-seed1.h5" -o "$parts/merged.h5"
contains "$tmp/out" "run mixup: seeds 1,100 from 2 archives"
contains "$tmp/out" "run pca: seeds 1,100 from 2 archives"
same_digest "$parts" "$parts/merged.h5"
expect 0 "$bin" report "$parts/merged.h5"
contains "$tmp/out" "Sup w/ Mixup"
contains "$tmp/out" "(n=2)"
$py -c "import h5py,sys; l=h5py.File(sys.argv[1])['/'].attrs['layout']; sys.exit(0 if 'merged by mtneuro aggregate from 2 archives' in str(l) else 1)" \
  "$parts/merged.h5" || fail "the merged archive's layout does not say it was merged"

# --- archives of `run --runs` subsets make the whole job ---
run byrun 2 --runs mixup --archive "$tmp/byrun/mixup.h5"
run byrun 1 --runs pca --archive "$tmp/byrun/pca.h5"
expect 0 "$bin" aggregate "$tmp/byrun/mixup.h5" "$tmp/byrun/pca.h5" -o "$tmp/byrun/merged.h5"
same_digest "$tmp/byrun" "$tmp/byrun/merged.h5"
$py -c "import h5py,json,sys; j=json.loads(h5py.File(sys.argv[1])['/'].attrs['job'])
sys.exit(0 if [r['name'] for r in j['runs']] == ['mixup', 'pca'] else 1)" "$tmp/byrun/merged.h5" ||
  fail "the merged job does not list both runs"

# --- seed 1 again with another thread count (the same bits): kept once ---
run again 1 --seeds 1 --threads 1 --archive "$tmp/again/tiny-seed1.h5"
expect 0 "$bin" aggregate "$parts/tiny-seed1.h5" "$tmp/again/tiny-seed1.h5" "$parts/tiny-seed100.h5" -o "$tmp/again.h5"
contains "$tmp/out" "run mixup: seeds 1,100 from 3 archives"
same_digest "$parts" "$tmp/again.h5"

# --- the output may be an input ---
cp "$parts/tiny-seed1.h5" "$tmp/inplace.h5"
expect 0 "$bin" aggregate "$tmp/inplace.h5" "$parts/tiny-seed100.h5" -o "$tmp/inplace.h5"
same_digest "$parts" "$tmp/inplace.h5"

# --- broken input: nothing written ---
out=$tmp/broken.h5
expect 4 "$bin" aggregate "$tmp/missing.h5" "$parts/tiny-seed1.h5" -o "$out"
contains "$tmp/err" "missing.h5"
echo "not an archive" >"$tmp/text.h5"
expect 3 "$bin" aggregate "$parts/tiny-seed1.h5" "$tmp/text.h5" -o "$out"
contains "$tmp/err" "text.h5: not an HDF5 file"
expect 3 "$bin" aggregate "$parts/tiny-seed1.h5" "$parts/weights/mixup-seed1.h5" -o "$out"
contains "$tmp/err" "mixup-seed1.h5: not a result archive"
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" "$parts/tiny-seed100.h5"
contains "$tmp/err" "expected -o"
expect 2 "$bin" aggregate -o "$out"
contains "$tmp/err" "expected one or more result archives"
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" "$parts/tiny-seed100.h5" "$parts/tiny-seed1.h5" -o "$out"
contains "$tmp/err" "tiny-seed1.h5 given twice"
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" --bogus -o "$out"
contains "$tmp/err" '"--bogus"'
expect 4 "$bin" aggregate "$parts/tiny-seed1.h5" -o "$tmp/no/such/dir/merged.h5"
contains "$tmp/err" "no/such/dir/merged.h5"

# an archive of another job
cp "$parts/tiny-seed100.h5" "$tmp/other-job.h5"
edit "$tmp/other-job.h5" "j = json.loads(f.attrs['job']); j['name'] = 'other'; f.attrs['job'] = np.bytes_(json.dumps(j, separators=(',', ':')))"
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" "$tmp/other-job.h5" -o "$out"
contains "$tmp/err" "tiny-seed1.h5 and $tmp/other-job.h5 differ in job_json"
contains "$tmp/err" '"name":"tiny"'
contains "$tmp/err" '"name":"other"'
contains "$tmp/err" "--force merges anyway"

# another git commit: refused, and merged with --force (the first's kept, a warning)
cp "$parts/tiny-seed100.h5" "$tmp/other-commit.h5"
edit "$tmp/other-commit.h5" "f.attrs['git_commit'] = '0123456789ab'" # a str: h5py writes UTF-8
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" "$tmp/other-commit.h5" -o "$out"
contains "$tmp/err" "differ in git_commit"
contains "$tmp/err" '"0123456789ab"'
contains "$tmp/err" "--force merges anyway"
[ -e "$out" ] && fail "a refused merge wrote $out"
expect 0 "$bin" aggregate "$tmp/other-commit.h5" "$parts/tiny-seed1.h5" -o "$out" --force
contains "$tmp/err" "warning:"
contains "$tmp/err" "differ in git_commit"
$py -c "import h5py,sys; c=h5py.File(sys.argv[1])['/'].attrs['git_commit']; sys.exit(0 if c == b'0123456789ab' else 1)" "$out" ||
  fail "--force did not keep the first archive's git_commit"
same_digest "$parts" "$out"

# a seed that differs from another archive's copy of it
cp "$parts/tiny-seed1.h5" "$tmp/changed.h5"
edit "$tmp/changed.h5" "f['runs/mixup/accuracy'][0] += 0.125"
rm -f "$out"
expect 2 "$bin" aggregate "$parts/tiny-seed1.h5" "$tmp/changed.h5" -o "$out"
contains "$tmp/err" "run mixup, seed 1:"
contains "$tmp/err" "changed.h5 both finished it, with a different accuracy: 0.25 vs 0.375"
[ -e "$out" ] && fail "a refused merge wrote $out"

finish aggregate
