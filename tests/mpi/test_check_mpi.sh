#!/usr/bin/env bash
# test_check_mpi.sh — `mtneuro check` launched with mpirun -n 2 prints its result once
# (rank 0) and both ranks agree on the exit code, for a good and a broken config.
# usage: test_check_mpi.sh MPIEXEC path/to/mtneuro   (run from the repository root)
source "$(dirname "$0")/../lib.sh"
mpiexec=$1
bin=$2

"$mpiexec" -n 2 "$bin" check jobs/quickstart.json >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "exit $rc: $(cat "$tmp/err")"
[ "$(grep -c '"name":	"quickstart"' "$tmp/out")" -eq 1 ] || fail "resolved job not printed exactly once"
[ "$(grep -c '^ok: jobs/quickstart.json' "$tmp/err")" -eq 1 ] || fail "summary not printed exactly once"

printf '{"model": "UNet", "classes": 3, "optimizer": "Adamw"}' >"$tmp/bad.json"
"$mpiexec" -n 2 "$bin" check "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || fail "broken config: exit $rc, wanted 2"
[ "$(grep -c 'did you mean "Adam"' "$tmp/err")" -eq 1 ] || fail "error not printed exactly once: $(cat "$tmp/err")"

"$mpiexec" -n 2 "$bin" --version >"$tmp/out" 2>&1
[ "$(grep -c '^mtneuro ' "$tmp/out")" -eq 1 ] || fail "--version not printed exactly once"

finish "mpi check"
