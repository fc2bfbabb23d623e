#!/bin/bash
# scaling.sh — one seed group on this machine, three ways: 1 rank x 1 thread, 1 rank x
# 2 threads, 2 ranks x 1 thread (tests/data/runner/scaling_job.json: supervised
# ResNet-18, 64x64, batch 16, 12 steps), and the time per training step split into
# compute, communication (gradient buckets and BatchNorm/loss combines) and I/O
# (reading the staged file), from the result archives. Also checks that the three
# give the same weights (the determinism contract). Timings, not a test: run it on
# an idle machine, from the repository root.
#   tests/ref/scaling.sh   (environment: MTNEURO, default build/mtneuro; MPIRUN, default mpirun)
set -u
cd "$(dirname "$0")/../.." || exit 2
MTNEURO=${MTNEURO:-build/mtneuro}
MPIRUN=${MPIRUN:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
job=tests/data/runner/scaling_job.json
# stage once, so the three runs time training only
"$MTNEURO" run "$job" -o "$tmp/stage" --quiet >/dev/null 2>&1 || { echo "scaling.sh: the first run failed" >&2; exit 1; }
printf '%-22s %10s %10s %10s %10s %12s %10s\n' layout step_s compute_s comm_s io_s samples/s speedup
base=""
for layout in "1 1" "1 2" "2 1"; do
  set -- $layout
  out=$tmp/r$1x$2
  mkdir -p "$out"
  cp -r "$tmp/stage/staged" "$out/"
  $MPIRUN --bind-to none -n "$1" "$MTNEURO" run "$job" -o "$out" --quiet --ranks-per-seed "$1" --threads "$2" >/dev/null 2>&1 ||
    { echo "scaling.sh: $1 ranks x $2 threads failed" >&2; exit 1; }
  line=$(/usr/bin/python3 - "$out/scaling.h5" "$1" "$2" <<'PY'
import sys, h5py
g = h5py.File(sys.argv[1], "r")["runs/supervised"]
c, m, i = (float(g[k][0]) for k in ("step_compute_s", "step_comm_s", "step_io_s"))
s = c + m + i
print("%s %.4f %.4f %.4f %.4f %.2f %d" % ("%s rank x %s thread" % (sys.argv[2], sys.argv[3]), s, c, m, i, 16 / s,
                                          int(g["weights_crc"][0])))
PY
)
  set -- $line
  name="$1 $2 $3 $4 $5"; shift 5
  [ -z "$base" ] && base=$1 && crc0=$6
  speed=$(/usr/bin/python3 -c "print('%.2f' % ($base / $1))")
  printf '%-22s %10s %10s %10s %10s %12s %9sx\n' "$name" "$1" "$2" "$3" "$4" "$5" "$speed"
  [ "$6" = "$crc0" ] || echo "  (weights differ from 1 rank x 1 thread: crc $6 vs $crc0)"
done
