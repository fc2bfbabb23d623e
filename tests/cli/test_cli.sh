#!/usr/bin/env bash
# test_cli.sh — the command line as a user meets it: help, version, every command's
# help (every command built), unknown commands, and `check` on good and broken
# configs (exit codes, stdout JSON, messages naming file and key).
# usage: test_cli.sh path/to/mtneuro   (run from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1

expect 0 "$bin" --help
contains "$tmp/out" "usage: mtneuro"
contains "$tmp/out" "check"
expect 0 "$bin" -h

expect 0 "$bin" --version
for lib in "mtneuro 0.1.0" "MPI:" "Open MPI" "HDF5:" "(parallel)" "libcurl:" "OpenBLAS:" "blosc:" "cJSON:" "libmicrohttpd:" "LAPACK:"; do
  contains "$tmp/out" "$lib"
done
expect 0 "$bin" version

# every command has help, and every one is built
for cmd in run check stage train report serve infer features bench aggregate version; do
  expect 0 "$bin" "$cmd" --help
  contains "$tmp/out" "usage: mtneuro $cmd"
  grep -q "not built yet" "$tmp/out" && fail "$cmd --help says it is not built"
done
expect 0 "$bin" --help
grep -q "not built yet" "$tmp/out" && fail "mtneuro --help lists a command not built: $(grep "not built yet" "$tmp/out")"
expect 0 "$bin" aggregate --help
contains "$tmp/out" "--force"
expect 2 "$bin" aggregate
contains "$tmp/err" "aggregate: expected -o"

expect 2 "$bin"
expect 2 "$bin" chek jobs/quickstart.json
contains "$tmp/err" 'unknown command "chek" (did you mean "check"?)'
expect 2 "$bin" --bogus
expect 2 "$bin" --log-level loud check jobs/quickstart.json
expect 2 "$bin" run jobs/table3-roi-c1.json --runs pca,nmff
contains "$tmp/err" '--runs: jobs/table3-roi-c1.json has no run "nmff" (did you mean "nmf"?)'

# check: good files print resolved JSON on stdout, summaries on stderr
expect 0 "$bin" check jobs/quickstart.json
contains "$tmp/err" "ok: jobs/quickstart.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"]=="quickstart" and d["runs"][0]["network"]["batch_size"]==16' "$tmp/out" \
  || fail "check output is not the resolved job JSON"
expect 0 "$bin" check configs/task/task1_roi_c1.json configs/network/unet3d_4class.json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["configs/network/unet3d_4class.json"]["learning_rate"]==0.01' "$tmp/out" \
  || fail "multi-file check output is not an object keyed by file"
expect 0 "$bin" check --quiet jobs/*.json configs/task/*.json configs/network/*.json
[ -s "$tmp/out" ] && fail "--quiet printed JSON"
expect 0 "$bin" --log-level quiet check --kind network configs/network/pca.json

# broken: exit 2, message names file and key path, nothing on stdout for it
printf '{"model": "ResNet-18", "learning_rate": -1}' >"$tmp/bad.json"
expect 2 "$bin" check "$tmp/bad.json"
contains "$tmp/err" "$tmp/bad.json: learning_rate: expected a finite number > 0 and <= 10, found -1"
printf '{\n "name": "x",\n "runs": [\n' >"$tmp/syntax.json"
expect 2 "$bin" check "$tmp/syntax.json"
contains "$tmp/err" "$tmp/syntax.json:4:1: JSON syntax error"
expect 2 "$bin" check "$tmp/missing.json"
contains "$tmp/err" "$tmp/missing.json: cannot open: No such file or directory"
expect 2 "$bin" check configs/task/task1_roi_c1.json "$tmp/bad.json"
contains "$tmp/err" "ok: configs/task/task1_roi_c1.json"
expect 2 "$bin" check --kind job configs/network/pca.json
contains "$tmp/err" "configs/network/pca.json: model: unknown job key"
expect 2 "$bin" check --kind nonsense configs/network/pca.json
expect 2 "$bin" check

finish cli
