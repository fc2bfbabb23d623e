# lib.sh — what the shell tests share (source it first): a scratch folder $tmp and
# background processes $pids cleaned up on exit, fail / expect / contains, and the
# closing tally. Scripts run from the repository root. mpirun may run as root and
# oversubscribe (ctest sets the same; this is for a script run by hand).
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fails=0
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect CODE CMD... : runs CMD with stdout in $tmp/out and stderr in $tmp/err
expect() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "exit $got (wanted $want): $*; stderr: $(head -c 400 "$tmp/err")"
}
contains() { grep -qF -- "$2" "$1" || fail "$1 lacks \"$2\": $(head -c 400 "$1")"; }
# wait_for FILE [SECONDS]: until FILE exists (default at most 60 s); fails otherwise
wait_for() {
  local i
  for ((i = 0; i < ${2:-60} * 10; i++)); do
    [ -f "$1" ] && return 0
    sleep 0.1
  done
  fail "$1 never appeared"
  return 1
}
# start_server NAME ARGS...: starts `$bin serve --port 0 ARGS` (output in
# $tmp/NAME.*), sets $url and $server_pid
start_server() {
  local name=$1; shift
  "$bin" serve --port 0 --access-log "$tmp/$name.log" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  server_pid=$!
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$tmp/$name.out" 2>/dev/null | head -1)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  fail "server $name did not start: $(cat "$tmp/$name.err")"
  return 1
}
stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }
# finish NAME: the tally and the exit status
finish() {
  if [ "$fails" -ne 0 ]; then echo "$1: $fails failure(s)"; exit 1; fi
  echo "$1: all passed"
}
