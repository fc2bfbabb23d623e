#!/usr/bin/env bash
# test_render.sh — slurm/mtneuro-sbatch without a cluster: the scripts it writes
# (the #SBATCH options from its flags, the settings, the submit chain), that they
# pass `bash -n`, and broken input: a missing or invalid job, a search or mixed seeds
# in array mode, bad numbers and times — each exit 2 with the reason.
# usage: test_render.sh MTNEURO   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$(readlink -f "$1")
render=slurm/mtneuro-sbatch

# --- all seeds: one allocation, the flags in the #SBATCH lines ---
expect 0 $render jobs/table1-roi-c1.json --mtneuro "$bin" -o "$tmp/t1" --nodes 2 --ntasks 10 --cpus-per-task 4 \
  --time 1-12:00:00 --partition cpu --account lab --stage-partition transfer --source phantom
s=$tmp/t1/slurm
for f in stage.sbatch run.sbatch submit.sh; do
  [ -x "$s/$f" ] || fail "$f not written"
  bash -n "$s/$f" || fail "$f is not valid bash"
done
for line in "#SBATCH --nodes=2" "#SBATCH --ntasks=10" "#SBATCH --cpus-per-task=4" "#SBATCH --time=1-12:00:00" \
  "#SBATCH --partition=cpu" "#SBATCH --account=lab" "#SBATCH --requeue" "#SBATCH --signal=B:USR1@300" \
  "MTN_THREADS=4" "MTN_SOURCE=phantom" "MTN_BIN=$bin" "MTN_OUT=$tmp/t1" "MTN_SEEDS=''"; do
  contains "$s/run.sbatch" "$line"
done
contains "$s/stage.sbatch" "#SBATCH --partition=transfer"
contains "$s/stage.sbatch" "--stage-only"
grep -q "^#SBATCH --array" "$s/run.sbatch" && fail "an all-seeds job has an --array line"
[ -f "$s/aggregate.sbatch" ] && fail "an all-seeds job has an aggregation step"
contains "$s/submit.sh" "--dependency=afterok:\"\$stage\""
grep -c "^#SBATCH" "$s/run.sbatch" | grep -qx 11 || fail "run.sbatch: expected 11 #SBATCH lines: $(grep '^#SBATCH' "$s/run.sbatch")"
contains "$tmp/out" "10 ranks x 4 threads, seeds 1,100,350,631,872"

# --- array: one seed per task, then aggregate after them ---
expect 0 $render jobs/table2-2d-3class.json --mode array --mtneuro "$bin" -o "$tmp/arr" --time 30 --max-parallel 3
s=$tmp/arr/slurm
contains "$s/run.sbatch" "#SBATCH --array=0-4%3"
contains "$s/run.sbatch" "#SBATCH --ntasks=1"
contains "$s/run.sbatch" "#SBATCH --signal=B:USR1@300"
contains "$s/run.sbatch" "MTN_SEEDS=1,100,350,631,872"
contains "$s/aggregate.sbatch" "MTN_SEEDS=1,100,350,631,872"
contains "$s/submit.sh" "--dependency=afterok:\"\$run\" \"\$here/aggregate.sbatch\""
bash -n "$s/aggregate.sbatch" || fail "aggregate.sbatch is not valid bash"
# a short limit: SIGUSR1 a quarter of it ahead
expect 0 $render jobs/table1-roi-c1.json --mtneuro "$bin" -o "$tmp/short" --time 8
contains "$tmp/short/slurm/run.sbatch" "#SBATCH --signal=B:USR1@120"

# --- broken input ---
expect 2 $render "$tmp/missing.json" --mtneuro "$bin"
contains "$tmp/err" "missing.json: no such job file"
echo '{"name": "x", "runs": [{"name": "a", "method": "bogus"}]}' >"$tmp/bad.json"
expect 2 $render "$tmp/bad.json" --mtneuro "$bin" -o "$tmp/bad"
contains "$tmp/err" "is not a valid job"
contains "$tmp/err" "method"
expect 2 $render jobs/table2-2d-3class-search.json --mode array --mtneuro "$bin" -o "$tmp/search"
contains "$tmp/err" "searches hyper-parameters"
expect 2 $render jobs/table1-roi-c1.json --mode array --mtneuro "$bin" -o "$tmp/search"
contains "$tmp/err" "run mixup searches"
cat >"$tmp/mixed.json" <<EOF
{"name": "mixed", "table": "table1", "column": "ROI-C1", "source": "phantom", "seeds": [1, 2],
 "runs": [{"name": "a", "method": "pca", "task": "$PWD/configs/task/task1_roi_c1.json", "network": "$PWD/configs/network/pca.json"},
          {"name": "b", "method": "pca", "seeds": [3], "task": "$PWD/configs/task/task1_roi_c1.json", "network": "$PWD/configs/network/pca.json"}]}
EOF
expect 2 $render "$tmp/mixed.json" --mode array --mtneuro "$bin" -o "$tmp/mixed"
contains "$tmp/err" "different seeds"
expect 0 $render "$tmp/mixed.json" --mtneuro "$bin" -o "$tmp/mixed"
contains "$tmp/out" "seeds 1,2,3"
expect 2 $render jobs/table1-roi-c1.json --mtneuro "$bin" --time 1:xx
contains "$tmp/err" "--time"
expect 2 $render jobs/table1-roi-c1.json --mtneuro "$bin" --ntasks 0
contains "$tmp/err" "--ntasks"
expect 2 $render jobs/table1-roi-c1.json --mtneuro "$bin" --time 10 --signal-lead 600
contains "$tmp/err" "--signal-lead"
expect 2 $render jobs/table1-roi-c1.json --mtneuro "$tmp/nothing"
contains "$tmp/err" "no mtneuro executable"
expect 2 $render jobs/table1-roi-c1.json --mtneuro "$bin" --launcher aprun
expect 2 $render

finish render
