#!/usr/bin/env bash
# stage.sh — staging end to end through `mtneuro serve` on a random loopback port:
#  - the staged content is identical with mpirun -n 1, 2 and 3, and equal to staging
#    straight from the phantom (no HTTP);
#  - a second run on a complete file does no network I/O (the server is gone);
#  - a run killed with SIGKILL mid-way resumes without fetching finished tiles again
#    and ends identical to an uninterrupted run;
#  - a finished tile whose bytes were corrupted (in a file no longer marked
#    complete, or in a killed run's file) fails verification and is fetched again
#    (with its block only), and the file ends identical and complete;
#  - injected 5xx and truncated bodies are retried; permanent 503s, unknown channels
#    and bad tokens fail with exit 3 and a message naming the URL or the token.
# usage: stage.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$(realpath "$1")
mpiexec=$2
task=tests/data/tasks/stage_small.json

# same_content A B: the staged datasets are equal, every tile done, both complete
same_content() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
for f in (a, b):
    assert f.attrs["complete"] == 1, "not complete"
    assert f["done"][()].all(), "a tile is not done"
for name in ("images", "labels", "tiles", "checksums"):
    if not np.array_equal(a[name][()], b[name][()]):
        sys.exit("dataset %s differs" % name)
print("same content: %d tiles of %s" % (a["images"].shape[0], a["images"].shape[1:]))
PY
}

# corrupt_tile FILE [--incomplete]: inverts the image bytes of one finished tile
# whose whole column (cube, region, y, x: the tiles a fetch block comes from) is
# finished, so resuming does not fetch it anyway; --incomplete also clears the
# complete flag (a complete file is never read again). Prints the tile's row.
corrupt_tile() {
  HDF5_USE_FILE_LOCKING=FALSE /usr/bin/python3 - "$@" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    done, tiles = f["done"][()].astype(bool), f["tiles"][()]
    column = [tuple(r) for r in tiles[:, [0, 1, 4, 5]]]
    whole = [t for t in np.flatnonzero(done) if all(done[u] for u in range(len(done)) if column[u] == column[t])]
    if not whole:
        sys.exit("no finished column to corrupt a tile of")
    t = int(whole[len(whole) // 2])
    f["images"][t] = 255 - f["images"][t]
    if "--incomplete" in sys.argv[2:]:
        f.attrs.modify("complete", 0)
    print(t)
PY
}
# caught OUT: staging's output OUT reports one tile that failed verification
caught() {
  grep -q "1 tiles failed verification; fetching them again" "$1" || fail "no verification failure reported: $(cat "$1")"
}

start_server main || exit 1
for n in 1 2 3; do
  "$mpiexec" -n $n "$bin" stage --task $task --source "$url" -o "$tmp/n$n.h5" >"$tmp/n$n.out" 2>&1 \
    || fail "stage with $n ranks: $(cat "$tmp/n$n.out")"
  grep -q "ranks\?$" "$tmp/n$n.out" || fail "no report line: $(cat "$tmp/n$n.out")"
done
cat "$tmp/n2.out"
"$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/blocks.h5" --block 64,100,5 >"$tmp/blocks.out" 2>&1 \
  || fail "stage with small blocks: $(cat "$tmp/blocks.out")"
same_content "$tmp/n1.h5" "$tmp/blocks.h5" || fail "small blocks give other content"
same_content "$tmp/n1.h5" "$tmp/n2.h5" || fail "1 and 2 ranks differ"
same_content "$tmp/n1.h5" "$tmp/n3.h5" || fail "1 and 3 ranks differ"
"$mpiexec" -n 2 "$bin" stage --task $task --source phantom -o "$tmp/direct.h5" >"$tmp/direct.out" 2>&1 \
  || fail "stage from the phantom directly: $(cat "$tmp/direct.out")"
same_content "$tmp/n1.h5" "$tmp/direct.h5" || fail "served and direct phantom differ"

# a corrupted finished tile in a file no longer marked complete: caught and fetched again
cp "$tmp/n1.h5" "$tmp/corrupt.h5"
bad=$(corrupt_tile "$tmp/corrupt.h5" --incomplete) || fail "could not corrupt a tile"
same_content "$tmp/n1.h5" "$tmp/corrupt.h5" >/dev/null 2>&1 && fail "tile $bad was not corrupted"
"$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/corrupt.h5" >"$tmp/corrupt.out" 2>&1 \
  || fail "staging over a corrupted tile: $(cat "$tmp/corrupt.out")"
cat "$tmp/corrupt.out"
caught "$tmp/corrupt.out"
# only that tile's block is fetched again, not the whole file
total=$(grep -o 'stage: [0-9]* tiles' "$tmp/corrupt.out" | grep -o '[0-9]*')
fetched=$(grep -o '([0-9]* fetched' "$tmp/corrupt.out" | grep -o '[0-9]*')
[ "${fetched:-0}" -ge 1 ] && [ "${fetched:-0}" -le 16 ] && [ "${total:-0}" -gt 16 ] \
  || fail "expected one block (1-16 tiles) fetched again: $(cat "$tmp/corrupt.out")"
already=$(grep -o '[0-9]* already there' "$tmp/corrupt.out" | grep -o '^[0-9]*')
[ $(( ${fetched:-0} + ${already:-0} )) -eq "${total:-0}" ] \
  || fail "fetched + already there should be the $total tiles: $(cat "$tmp/corrupt.out")"
same_content "$tmp/n1.h5" "$tmp/corrupt.h5" || fail "corrupted tile $bad was not restored"

# a complete file: no network I/O at all, even with the server gone
stop_server
"$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/n2.h5" >"$tmp/again.out" 2>&1 \
  || fail "second run on a complete file: $(cat "$tmp/again.out")"
grep -q "is complete" "$tmp/again.out" || fail "second run did not say the file is complete"
# another task into the same file is refused
"$bin" stage --task configs/task/task1_roi_c1.json --source phantom -o "$tmp/n2.h5" >"$tmp/foreign.out" 2>&1
[ $? -eq 4 ] || fail "staging another task into a staged file should exit 4"
grep -q "was staged for another task" "$tmp/foreign.out" || fail "foreign file message: $(cat "$tmp/foreign.out")"

# kill -9 mid-way, resume, compare
start_server slow --fault-delay-ms 400 || exit 1
setsid "$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/killed.h5" >"$tmp/killed.out" 2>&1 &
stage_pid=$!
# kill as soon as some tiles are done (a round takes over a second at this delay)
HDF5_USE_FILE_LOCKING=FALSE /usr/bin/python3 - "$tmp/killed.h5" <<'PY' || fail "no tile was ever marked done"
import sys, time, h5py
for _ in range(1200):
    try:
        with h5py.File(sys.argv[1], "r") as f:
            if f["done"][()].sum() > 0:
                sys.exit(0)
    except (OSError, KeyError):
        pass
    time.sleep(0.05)
sys.exit(1)
PY
kill -9 -- -"$stage_pid" 2>/dev/null
wait "$stage_pid" 2>/dev/null
# and a finished tile goes bad before the resume
bad=$(corrupt_tile "$tmp/killed.h5") || fail "could not corrupt a tile of the killed run's file"
# resume from the same source (the staging key includes it)
"$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/killed.h5" >"$tmp/resume.out" 2>&1 \
  || fail "resume: $(cat "$tmp/resume.out")"
cat "$tmp/resume.out"
already=$(grep -o '[0-9]* already there' "$tmp/resume.out" | grep -o '^[0-9]*')
[ "${already:-0}" -gt 0 ] || fail "the resumed run fetched everything again"
caught "$tmp/resume.out"
same_content "$tmp/n1.h5" "$tmp/killed.h5" || fail "killed and resumed staging differs (tile $bad was corrupted)"

stop_server

# faults: retried, and then reported
start_server flaky --fault-5xx-first 1 --fault-truncate-first 1 || exit 1
"$mpiexec" -n 2 "$bin" stage --task $task --source "$url" -o "$tmp/flaky.h5" >"$tmp/flaky.out" 2>&1 \
  || fail "flaky server: $(cat "$tmp/flaky.out")"
grep -q " 0 retries" "$tmp/flaky.out" && fail "no retries reported against a flaky server"
same_content "$tmp/n1.h5" "$tmp/flaky.h5" || fail "flaky staging differs"
stop_server
start_server broken --fault-5xx-first 100 || exit 1
"$bin" stage --task $task --source "$url" -o "$tmp/broken.h5" --retries 2 >"$tmp/broken.out" 2>&1
[ $? -eq 3 ] || fail "permanent 503 should exit 3"
grep -q "failed after 3 attempts: HTTP 503" "$tmp/broken.out" || fail "503 message: $(cat "$tmp/broken.out")"
stop_server
start_server locked --token s3cret || exit 1
MTN_BOSSDB_TOKEN=wrong "$bin" stage --task $task --source "$url" -o "$tmp/locked.h5" >"$tmp/locked.out" 2>&1
[ $? -eq 3 ] || fail "a wrong token should exit 3"
grep -q "HTTP 401" "$tmp/locked.out" || fail "401 message: $(cat "$tmp/locked.out")"
MTN_BOSSDB_TOKEN=s3cret "$bin" stage --task $task --source "$url" -o "$tmp/locked.h5" >"$tmp/locked.out" 2>&1 \
  || fail "the right token: $(cat "$tmp/locked.out")"
printf '{"base": "%s", "name": "bad", "annotation_chan": "bossdb://prasad/prasad_analysis/nope"}' "$(realpath $task)" >"$tmp/badchan.json"
MTN_BOSSDB_TOKEN=s3cret "$bin" stage --task "$tmp/badchan.json" --source "$url" -o "$tmp/badchan.h5" >"$tmp/badchan.out" 2>&1
[ $? -eq 3 ] || fail "an unknown channel should exit 3"
grep -q "HTTP 404.*channel/nope" "$tmp/badchan.out" || grep -q "channel/nope.*HTTP 404" "$tmp/badchan.out" \
  || fail "404 message: $(cat "$tmp/badchan.out")"
[ -e "$tmp/badchan.h5" ] && fail "a failed staging left a file behind"
stop_server

# TLS verification is on: a self-signed HTTPS server is refused at once
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 -subj /CN=127.0.0.1 \
  >/dev/null 2>&1 || fail "openssl could not make a certificate"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "$port" -cert "$tmp/cert.pem" -key "$tmp/key.pem" -www -quiet >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
"$bin" stage --task $task --source "https://127.0.0.1:$port" -o "$tmp/tls.h5" >"$tmp/tls.out" 2>&1
[ $? -eq 3 ] || fail "a self-signed certificate should exit 3"
grep -qi "certificate" "$tmp/tls.out" || fail "TLS message: $(cat "$tmp/tls.out")"
grep -q "attempts" "$tmp/tls.out" && fail "a certificate failure must not be retried: $(cat "$tmp/tls.out")"

# usage errors
"$bin" stage --task $task >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing -o should exit 2"
"$bin" stage --task $task -o x.h5 --source ftp://x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --source should exit 2"
"$bin" stage --task $task -o x.h5 --downsample 3 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--downsample 3 should exit 2"
"$bin" stage --task $task -o x.h5 --block 64,64 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--block 64,64 should exit 2"

finish stage
