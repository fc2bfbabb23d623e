#!/usr/bin/env bash
# test_slurm.sh — the slurm/ templates on a real one-node Slurm cluster (cluster.sh:
# munged, slurmctld, slurmd on localhost), on the runner's tiny job (2 seeds):
#  - all seeds in one allocation (srun --mpi=pmix): staging as its own step from a
#    BossDB-compatible server (`mtneuro serve`), which is then stopped, so the run
#    step shows it needs no network; SIGTERM to the ranks mid-run (scancel
#    --signal=TERM): checkpoint, exit 75, requeue, resume;
#  - an array job, one seed per task (mpirun inside the allocation), and the
#    aggregation job after it (--dependency=afterok), chained by submit.sh; task 0
#    gets SIGUSR1 on its batch shell mid-run (what --signal=B:USR1@lead delivers
#    before the time limit): forwarded, checkpoint, requeue, resume;
#  - both final archives (and weights) equal a plain `mpirun -n 2 mtneuro run` of the
#    job, bit for bit (tests/results/digest.py): the determinism contract.
# Slurm delays a requeued job's start by about two minutes (BeginTime); the test
# moves that start to now with scontrol, as an operator may, once the old attempt
# has left the node.
# usage: test_slurm.sh MTNEURO MPIEXEC   (from the repository root; needs root)
source "$(dirname "$0")/../lib.sh"
bin=$(readlink -f "$1")
mpi=$2
py=/usr/bin/python3
job=tests/data/runner/tiny_job.json

if [ "$(id -u)" -ne 0 ] || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  # .ci/run installs slurm-wlm and munge, runs as root and sets MTN_REQUIRE_SLURM=1:
  # there, a missing cluster fails
  [ "${MTN_REQUIRE_SLURM:-}" = 1 ] && { echo "FAIL: needs root and the packages slurm-wlm and munge"; exit 1; }
  echo "SKIP: needs root and the packages slurm-wlm and munge"
  exit 77
fi
cluster=$tmp/cluster
stop_all() {
  scancel --user="$(id -un)" 2>/dev/null
  tests/slurm/cluster.sh stop "$cluster"
  cleanup
}
trap stop_all EXIT
tests/slurm/cluster.sh start "$cluster" >"$tmp/cluster.out" 2>&1 || { cat "$tmp/cluster.out"; exit 1; }
export SLURM_CONF=$cluster/slurm.conf
sinfo

# digest DIR ARCHIVE: every number of the archive and every weight file, as text
digest() { $py tests/results/digest.py "$1" "$2"; }

# wait_job ID: until Slurm is done with the job (every array task), at most 6 minutes;
# a requeued job waiting for its BeginTime is moved to now. Fails unless all COMPLETED.
wait_job() {
  local id=$1 states
  for _ in $(seq 1 720); do
    squeue -h -j "$id" -o "%i %T %r" >"$tmp/squeue" 2>/dev/null
    [ -s "$tmp/squeue" ] || break
    # the start is moved only once the old attempt has left the node (slurmd fails a
    # job whose previous attempt is still being torn down: that is Slurm's delay)
    if grep -q "PENDING BeginTime" "$tmp/squeue" && ! pgrep -x slurmstepd >/dev/null; then
      sleep 2
      scontrol update JobId="$id" StartTime=now 2>/dev/null
    fi
    sleep 0.5
  done
  states=$(scontrol show job -o "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ')
  [ "$states" = "JobState=COMPLETED " ] && return 0
  fail "job $id ended as: ${states:-unknown}; $(scontrol show job "$id" 2>&1 | head -30)"
  grep -E "JobId=$id[ _]|job_?id[= ]$id\b" "$cluster/slurmctld.log" | tail -20
  return 1
}

same() { cmp -s "$1" "$2" || fail "$3: differs from the plain mpirun run: $(diff "$1" "$2" | head -20)"; }

# --- the reference: a plain mpirun run of the job ---
$mpi -n 2 "$bin" run "$job" -o "$tmp/ref" --quiet >"$tmp/ref.out" 2>&1 || fail "reference run: $(tail -c 400 "$tmp/ref.out")"
digest "$tmp/ref" "$tmp/ref/tiny.h5" >"$tmp/ref.digest" || fail "digest of the reference"

# --- all seeds in one allocation, srun --mpi=pmix ---
start_server serve --phantom
all=$tmp/all
slurm/mtneuro-sbatch "$job" -o "$all" --mtneuro "$bin" --source "$url" --ntasks 2 --cpus-per-task 1 --time 15 \
  --launcher srun --args "--checkpoint-every 1" >"$tmp/render.out" 2>&1 || fail "render: $(cat "$tmp/render.out")"
stage=$(sbatch --parsable "$all/slurm/stage.sbatch") || fail "sbatch stage.sbatch"
wait_job "$stage"
stop_server # the compute step must do without the source from here on
ls "$all"/staged/*remote*.h5 >/dev/null 2>&1 || fail "the staging step left no staged file: $(cat "$all"/slurm/*stage*.out)"
run=$(sbatch --parsable "$all/slurm/run.sbatch") || fail "sbatch run.sbatch"
wait_for "$all/checkpoints/mixup-seed1.h5" 120 && scancel --signal=TERM "$run"
wait_job "$run"
log=$(ls "$all"/slurm/mtneuro-tiny_job-"$run".out)
cat "$log"
contains "$log" "stopped by a signal"
contains "$log" "requeueing job $run"
contains "$log" "attempt 2"
contains "$log" "is staged already"
digest "$all" "$all/tiny.h5" >"$tmp/all.digest" || fail "digest of the all-seeds job"
same "$tmp/ref.digest" "$tmp/all.digest" "all-seeds job (requeued once)"

# --- an array job, one seed per task (mpirun), then aggregate ---
arr=$tmp/array
slurm/mtneuro-sbatch "$job" --mode array -o "$arr" --mtneuro "$bin" --source phantom --cpus-per-task 1 --time 15 \
  --launcher mpirun --args "--checkpoint-every 1" >"$tmp/render.out" 2>&1 || fail "render: $(cat "$tmp/render.out")"
bash "$arr/slurm/submit.sh" >"$tmp/submit.out" 2>&1 || fail "submit.sh: $(cat "$tmp/submit.out")"
cat "$tmp/submit.out"
read -r _ stage _ _ run _ _ _ _ _ aggregate <"$tmp/submit.out" # stage S -> run R (array of N) -> aggregate A
wait_for "$arr/checkpoints/mixup-seed1.h5" 120 && scancel --batch --signal=USR1 "${run}_0"
wait_job "$aggregate"
wait_job "$run"
cat "$arr"/slurm/mtneuro-tiny_job-"$run"_0.out "$arr"/slurm/mtneuro-aggregate-*.out
contains "$arr/slurm/mtneuro-tiny_job-${run}_0.out" "SIGUSR1 received"
contains "$arr/slurm/mtneuro-tiny_job-${run}_0.out" "attempt 2"
[ -f "$arr/tiny_job-seed1.h5" ] && [ -f "$arr/tiny_job-seed100.h5" ] || fail "the array left no per-seed archives"
digest "$arr" "$arr/tiny_job.h5" >"$tmp/array.digest" || fail "digest of the merged archive"
same "$tmp/ref.digest" "$tmp/array.digest" "array + aggregate (task 0 requeued once)"

finish slurm
