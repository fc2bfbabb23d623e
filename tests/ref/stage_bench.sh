#!/bin/bash
# stage_bench.sh — staging throughput on this machine: starts `mtneuro serve --phantom`
# on a free loopback port, then stages a task config through it into a fresh
# temporary file with `mpirun -n N` for each N of --ranks, the rank counts alternating
# --repeat times (shared machines drift: alternating runs compare like with like), and
# prints mtneuro stage's report line of each run (time, MB, MB/s, tiles/s, requests).
# Last, the server's own figures: requests served, most in flight at once.
#
#   tests/ref/stage_bench.sh [--task T.json] [--ranks "1 2"] [--repeat R]
#                            [--server-threads T] [--max-parallel N]
#   (defaults: configs/task/task1_roi_c1.json, the quickstart's task: 1392 tiles,
#   about 10-30 s a run on 2 cores; ranks "1 2"; repeat 3; the server's 4 threads
#   and stage's 4 requests per rank)
#
# Environment: MTNEURO (default build/mtneuro), MPIRUN (default mpirun). The server
# and the ranks share the machine, so this measures the pipeline (phantom
# generation, blosc, HTTP, downsampling, parallel HDF5) as a whole, not a network.
# Exit status 1 when a run fails. Run from the repository root, on an idle machine:
# these are timings, not a test.
set -u
cd "$(dirname "$0")/../.." || exit 2

MTNEURO=${MTNEURO:-build/mtneuro}
MPIRUN=${MPIRUN:-mpirun}
TASK=configs/task/task1_roi_c1.json
RANKS="1 2"
REPEAT=3
SERVER_THREADS=4
MAX_PARALLEL=4
while [ $# -gt 0 ]; do
  case "$1" in
    --task) TASK=$2; shift 2 ;;
    --ranks) RANKS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --server-threads) SERVER_THREADS=$2; shift 2 ;;
    --max-parallel) MAX_PARALLEL=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "stage_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$MTNEURO" ] || { echo "stage_bench.sh: $MTNEURO is not an executable (set MTNEURO)" >&2; exit 2; }
[ -f "$TASK" ] || { echo "stage_bench.sh: no task config $TASK" >&2; exit 2; }
bin=$MTNEURO
source tests/lib.sh # $tmp, start_server / stop_server (and mpirun's root settings)

start_server bench --phantom --threads "$SERVER_THREADS" || { echo "stage_bench.sh: $(tail -n 1 "$tmp/bench.err")" >&2; exit 1; }
echo "server: $(head -n 1 "$tmp/bench.out"), $SERVER_THREADS threads; task $TASK; $MAX_PARALLEL requests per rank"

status=0
for ((r = 1; r <= REPEAT; r++)); do
  for n in $RANKS; do
    rm -f "$tmp/staged.h5"
    if $MPIRUN --bind-to none -n "$n" "$MTNEURO" stage --task "$TASK" --source "$url" -o "$tmp/staged.h5" \
      --max-parallel "$MAX_PARALLEL" >"$tmp/stage.out" 2>&1; then
      echo "run $r, $n rank(s): $(grep -m 1 '^stage: [0-9]* tiles in ' "$tmp/stage.out")"
    else
      echo "run $r, $n rank(s): FAILED: $(tail -n 3 "$tmp/stage.out")"
      status=1
    fi
  done
done
rm -f "$tmp/staged.h5"

stop_server
echo "server: $(grep -o '[0-9]* requests, at most [0-9]* in flight at once' "$tmp/bench.err")"
exit $status
