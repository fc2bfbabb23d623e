#!/bin/bash
# bench_compare.sh — mtneuro against PyTorch on this machine, shape by shape: runs
# `mtneuro bench` and tests/ref/bench_torch.py with the same model, size, batch,
# threads and steps, alternately, --repeat times each (shared machines drift: the
# median of alternating runs compares like with like), and prints a table of median
# throughputs and peak memories with the ratios mtneuro / torch (speed > 1: mtneuro
# is faster; memory < 1: it needs less).
# "memory" compares whole-process peaks; "mem-model" compares mtneuro's peak with
# torch's peak minus its runtime before the model (base_mb, ~230 MB of Python + torch).
#
#   tests/ref/bench_compare.sh [--threads T] [--steps N] [--warmup W] [--model NAME]
#                              [--repeat R]
#   (defaults those of mtneuro bench: threads 2, steps 5, warmup 2; all four shapes;
#   repeat 3)
#
# Environment: MTNEURO (default build/mtneuro), PYTHON (default /usr/bin/python3).
# Both sides print one line `model=... size=... batch=... threads=... samples_per_s=...
# gflops=... peak_mb=...`; a side that fails or prints no such line shows as n/a and
# makes the script exit 1 after the table. Run from the repository root, on an idle
# machine: these are timings, not a test.
set -u
cd "$(dirname "$0")/../.." || exit 2

MTNEURO=${MTNEURO:-build/mtneuro}
PYTHON=${PYTHON:-/usr/bin/python3}
THREADS=2
STEPS=5
WARMUP=2
REPEAT=3
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --model) ONLY=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# model size depth batch: the shapes of the MTNeuro tasks
SHAPES=("resnet18 64 1 8" "resnet18 128 1 8" "unet2d 256 1 8" "unet3d 128 8 1")

# value of KEY in a key=value line ("" if absent)
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# a / b with 2 decimals, or n/a
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
# the bench line of a command's output
bench_line() { grep -m 1 '^model=' || true; }
# the median of the numbers on stdin ("" when none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

status=0
printf '%-9s %-10s %5s %7s | %12s %12s %7s | %9s %9s %7s %9s\n' model size batch threads \
  "mtneuro s/s" "torch s/s" speed "mtn MB" "torch MB" memory mem-model
for shape in "${SHAPES[@]}"; do
  read -r model size depth batch <<<"$shape"
  [ -n "$ONLY" ] && [ "$ONLY" != "$model" ] && continue
  args=(--model "$model" --size "$size" --batch "$batch" --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP")
  [ "$depth" != 1 ] && args+=(--depth "$depth")
  [ "$depth" != 1 ] && size="${depth}x${size}x${size}"
  c_all=""; t_all=""; c_line=""; t_line=""
  for ((r = 0; r < REPEAT; r++)); do
    line=$("$MTNEURO" bench "${args[@]}" 2>/tmp/bench_compare.$$.err | bench_line)
    [ -n "$line" ] && { c_line=$line; c_all+="$(kv "$line" samples_per_s) "; }
    [ -z "$line" ] && echo "mtneuro bench ${args[*]}: no result ($(tail -n 1 /tmp/bench_compare.$$.err))" >&2
    line=$("$PYTHON" tests/ref/bench_torch.py "${args[@]}" 2>/tmp/bench_compare.$$.err | bench_line)
    [ -n "$line" ] && { t_line=$line; t_all+="$(kv "$line" samples_per_s) "; }
    [ -z "$line" ] && echo "bench_torch.py ${args[*]}: no result ($(tail -n 1 /tmp/bench_compare.$$.err))" >&2
  done
  { [ -z "$c_line" ] || [ -z "$t_line" ]; } && status=1
  echo "  runs (samples/s): mtneuro ${c_all:-none}| torch ${t_all:-none}" >&2
  c_sps=$(printf '%s\n' $c_all | median); t_sps=$(printf '%s\n' $t_all | median)
  c_mb=$(kv "$c_line" peak_mb); t_mb=$(kv "$t_line" peak_mb); t_base=$(kv "$t_line" base_mb)
  t_model=$(awk -v a="$t_mb" -v b="$t_base" 'BEGIN { if (a != "" && b != "") print a - b }')
  printf '%-9s %-10s %5s %7s | %12s %12s %7s | %9s %9s %7s %9s\n' "$model" "$size" "$batch" "$THREADS" \
    "${c_sps:-n/a}" "${t_sps:-n/a}" "$(ratio "$c_sps" "$t_sps")" \
    "${c_mb:-n/a}" "${t_mb:-n/a}" "$(ratio "$c_mb" "$t_mb")" "$(ratio "$c_mb" "$t_model")"
done
rm -f /tmp/bench_compare.$$.err
exit $status
