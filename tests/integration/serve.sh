#!/usr/bin/env bash
# serve.sh — `mtneuro serve --volume X.h5` end to end, with curl as the client and
# /usr/bin/python3 (h5py, numpy, Debian's python3-blosc as an independent decoder)
# as the oracle: metadata JSON; blosc and npygz cutouts equal to the h5py slice at
# res 0 and to the block mean / mode at res > 0; 4-D bodies with a time range;
# every BossDB error (status, code, JSON); the size limit as BossDB counts it; token
# 401/403; 16 concurrent clients; one access-log line per request; injected faults
# (503s then success per URL, truncated bodies, wrong-size frames, 503 rate, delay);
# bad command lines; SIGTERM stops it with exit 0.
# usage: serve.sh path/to/mtneuro MPIEXEC   (run from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
py=/usr/bin/python3

# ---------------------------------------------------------------- the volume
# 32 x 160 x 256 (z, y, x): uint8 image 1.25 MiB, so --max-cutout-mb 1 can refuse it.
$py - "$tmp/vol.h5" <<'EOF' || { echo "FAIL: cannot make the test volume"; exit 1; }
import sys, h5py, numpy as np
rng = np.random.default_rng(20240601)
z, y, x = 32, 160, 256
ramp = (np.arange(x)[None, None, :] // 8 + np.arange(y)[None, :, None] // 8 + np.arange(z)[:, None, None])
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["coord_frame"] = "test_frame"
    f.attrs["voxel_size"] = np.array([1.5, 1.5, 3.0])
    f.attrs["voxel_unit"] = "micrometers"
    f["coll/exp/image"] = ((ramp + rng.integers(0, 4, (z, y, x))) % 256).astype(np.uint8)
    f["coll/exp/img16"] = rng.integers(0, 65536, (z, y, x), dtype=np.uint16)
    d = f.create_dataset("coll/ann/labels", data=rng.integers(0, 5, (z, y, x), dtype=np.uint64))
    d.attrs["type"] = "annotation"
    d = f.create_dataset("coll/ann/ids", data=rng.integers(0, 2**63, (z, y, x), dtype=np.uint64))
    d.attrs["type"] = "annotation"   # incompressible: a 10.5 MB body, more than the kernel buffers
EOF

# ------------------------------------------------------------ python oracle
cat >"$tmp/check.py" <<'EOF'
"""check.py — the oracle: python check.py KIND ARGS...; exit 1 with a message on failure."""
import json, sys, zlib, io
import numpy as np, h5py, blosc

blosc.set_nthreads(1)  # python-blosc's threaded compress does not write the same bytes every time

def reference(h5, chan, res, x0, x1, y0, y1, z0, z1):
    with h5py.File(h5, "r") as f:
        d = f[chan]
        annotation = d.attrs.get("type") == "annotation"
        f_ = 2 ** res
        a = d[z0:z1, y0 * f_:y1 * f_, x0 * f_:x1 * f_]
    if res == 0:
        return a
    nz, ny, nx = z1 - z0, y1 - y0, x1 - x0
    blocks = a.reshape(nz, ny, f_, nx, f_).transpose(0, 1, 3, 2, 4).reshape(nz, ny, nx, f_ * f_)
    if not annotation:   # mean, rounded half up
        n = f_ * f_
        return ((blocks.astype(np.uint64).sum(axis=3) + n // 2) // n).astype(a.dtype)
    out = np.empty((nz, ny, nx), a.dtype)  # mode, ties to the smaller value
    for idx in np.ndindex(nz, ny, nx):
        vals, counts = np.unique(blocks[idx], return_counts=True)
        out[idx] = vals[np.argmax(counts)]
    return out

def main():
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "json":          # FILE EXPR: EXPR is true of d = the JSON
        d = json.load(open(args[0]))
        if not eval(args[1], {"d": d}):
            sys.exit("%s: %s is false: %s" % (args[0], args[1], json.dumps(d)[:600]))
    elif kind == "error":       # FILE STATUS CODE: BossDB's error body
        text = open(args[0]).read()
        d = json.loads(text)
        if list(d) != ["status", "code", "message"] or d["status"] != int(args[1]) or d["code"] != int(args[2]) \
                or not isinstance(d["message"], str) or not d["message"]:
            sys.exit("%s: expected {status: %s, code: %s, message}, found %s" % (args[0], args[1], args[2], text[:400]))
    elif kind in ("blosc", "npygz"):  # BODY H5 CHAN RES X0 X1 Y0 Y1 Z0 Z1 [4d]
        body = open(args[0], "rb").read()
        res, x0, x1, y0, y1, z0, z1 = map(int, args[3:10])
        four_d = len(args) > 10 and args[10] == "4d"
        want = reference(args[1], args[2], res, x0, x1, y0, y1, z0, z1)
        if kind == "blosc":
            if len(body) < 16 or int.from_bytes(body[12:16], "little") != len(body):
                sys.exit("%s: blosc header ctbytes != body length %d" % (args[0], len(body)))
            if body[3] != 8 * want.dtype.itemsize:
                sys.exit("%s: blosc typesize %d, expected the bit depth %d" % (args[0], body[3], 8 * want.dtype.itemsize))
            # byte for byte what the real server's python-blosc call writes (same libblosc)
            same = blosc.compress(np.ascontiguousarray(want).tobytes(), typesize=8 * want.dtype.itemsize, clevel=9,
                                  shuffle=blosc.SHUFFLE, cname="blosclz")
            if body != same:
                sys.exit("%s: differs from blosc.compress(typesize=%d, clevel=9, SHUFFLE, blosclz)"
                         % (args[0], 8 * want.dtype.itemsize))
            raw = blosc.decompress(body)
            if len(raw) != want.nbytes:
                sys.exit("%s: %d bytes decoded, expected %d" % (args[0], len(raw), want.nbytes))
            got = np.frombuffer(raw, dtype=want.dtype).reshape(((1,) if four_d else ()) + want.shape)
        else:
            if body[:1] != b"\x78":
                sys.exit("%s: not a zlib stream" % args[0])
            got = np.load(io.BytesIO(zlib.decompress(body)), allow_pickle=False)
            shape = ((1,) if four_d else ()) + want.shape
            if got.shape != shape or got.dtype != want.dtype.newbyteorder("<"):
                sys.exit("%s: npy %s %s, expected %s %s" % (args[0], got.shape, got.dtype, shape, want.dtype))
        if not np.array_equal(got.reshape(want.shape), want):
            bad = np.argwhere(got.reshape(want.shape) != want)
            sys.exit("%s: %d voxels differ from the h5py reference, first at %s" % (args[0], len(bad), bad[0]))
    elif kind == "blosc-size":  # BODY BYTES: a valid frame holding BYTES bytes
        raw = blosc.decompress(open(args[0], "rb").read())
        if len(raw) != int(args[1]):
            sys.exit("%s: frame holds %d bytes, expected %s" % (args[0], len(raw), args[1]))
    else:
        sys.exit("check.py: unknown kind " + kind)

main()
EOF
check() { $py "$tmp/check.py" "$@" || fail "check $*"; }

# ----------------------------------------------------------------- helpers
vol=$tmp/vol.h5   # what `cutout` compares with
# start NAME ARGS...: starts a server; sets pid and base (http://127.0.0.1:PORT)
start() {
  local name=$1
  shift
  "$bin" serve --volume "$tmp/vol.h5" --port 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  base=""
  for _ in $(seq 200); do
    grep -q '^serving ' "$tmp/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  local line
  line=$(head -n 1 "$tmp/$name.out")
  local port=${line##*:}
  case "$line" in
    "serving $tmp/vol.h5 on http://127.0.0.1:"[0-9]*) base="http://127.0.0.1:$port" ;;
    *) fail "server $name did not print its serving line: \"$line\"; stderr: $(head -c 400 "$tmp/$name.err")" ;;
  esac
}
requests=0
# get NAME URL [CURL ARGS...]: body in $tmp/NAME.body, status in $tmp/NAME.status, curl's exit in $tmp/NAME.rc
get() {
  local name=$1 url=$2
  shift 2
  curl -sS -o "$tmp/$name.body" -D "$tmp/$name.headers" -w '%{http_code}' "$@" "$base$url" \
    >"$tmp/$name.status" 2>"$tmp/$name.curlerr"
  echo $? >"$tmp/$name.rc"
  requests=$((requests + 1))
}
status_is() { [ "$(cat "$tmp/$1.status")" = "$2" ] || fail "$1: HTTP $(cat "$tmp/$1.status"), wanted $2: $(head -c 300 "$tmp/$1.body")"; }
ctype_is() { grep -qi "^content-type: $2" "$tmp/$1.headers" || fail "$1: Content-Type is not $2: $(grep -i content-type "$tmp/$1.headers")"; }
# error NAME URL STATUS CODE [CURL ARGS...]: a BossDB JSON error
error() {
  local name=$1 url=$2 st=$3 code=$4
  shift 4
  get "$name" "$url" "$@"
  status_is "$name" "$st"
  ctype_is "$name" application/json
  check error "$tmp/$name.body" "$st" "$code"
}
# cutout NAME FORMAT CHAN RES X0 X1 Y0 Y1 Z0 Z1 [4d]: fetched and compared with h5py
cutout() {
  local name=$1 fmt=$2 chan=$3 res=$4 x0=$5 x1=$6 y0=$7 y1=$8 z0=$9 z1=${10} t=${11:-}
  local url="/v1/cutout/$chan/$res/$x0:$x1/$y0:$y1/$z0:$z1/"
  [ "$t" = 4d ] && url="${url}0:1/"
  local accept=()
  [ "$fmt" = npygz ] && accept=(-H "Accept: application/npygz")
  get "$name" "$url?access-mode=no-cache" "${accept[@]}"
  status_is "$name" 200
  ctype_is "$name" "application/$fmt"
  check "$fmt" "$tmp/$name.body" "$vol" "$chan" "$res" "$x0" "$x1" "$y0" "$y1" "$z0" "$z1" $t
}

# listeners PORT: the local addresses (hex ADDR:PORT, as the kernel lists them) of
# the sockets listening on PORT, IPv4 and IPv6
listeners() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

command -v curl >/dev/null || { echo "FAIL: curl is required"; exit 1; }
$py -c 'import blosc, h5py, numpy' || { echo "FAIL: python3-blosc, python3-h5py and python3-numpy are required"; exit 1; }

# =========================================================== main server
start main --threads 4 --max-cutout-mb 1 --access-log "$tmp/access.log"
[ -n "$base" ] || { echo "cannot continue without a server"; exit 1; }
main_pid=$pid
# no --bind: loopback only (start checked the line says http://127.0.0.1:PORT)
got=$(listeners "${base##*:}")
[ "$got" = "0100007F:$(printf '%04X' "${base##*:}")" ] || fail "default bind: listening on \"$got\", wanted 127.0.0.1 only"

# ---- metadata (names in HDF5's link order: alphabetical)
get ping /ping/
status_is ping 200
check json "$tmp/ping.body" 'd == {"ip": "127.0.0.1"}'
get colls /v1/collection/
check json "$tmp/colls.body" 'd == {"collections": ["coll"]}'
for u in /v1/collection/coll /v1/collection/coll/; do
  get coll "$u"
  status_is coll 200
  ctype_is coll application/json
  check json "$tmp/coll.body" 'd["name"] == "coll" and d["experiments"] == ["ann", "exp"] and d["public"] is True'
done
get exps /v1/collection/coll/experiment/
check json "$tmp/exps.body" 'd == {"experiments": ["ann", "exp"]}'
get exp /v1/collection/coll/experiment/exp
check json "$tmp/exp.body" 'd["name"] == "exp" and d["collection"] == "coll" and d["coord_frame"] == "test_frame" and d["num_hierarchy_levels"] == 4 and d["hierarchy_method"] == "anisotropic" and d["num_time_samples"] == 1 and d["channels"] == ["image", "img16"]'
get chans /v1/collection/coll/experiment/ann/channel/
check json "$tmp/chans.body" 'd == {"channels": ["ids", "labels"]}'
get chan /v1/collection/coll/experiment/exp/channel/image/
check json "$tmp/chan.body" 'd["name"] == "image" and d["datatype"] == "uint8" and d["type"] == "image" and d["base_resolution"] == 0 and d["default_time_sample"] == 0 and d["public"] is True and d["experiment"] == "exp"'
get chan2 /v1/collection/coll/experiment/ann/channel/labels
check json "$tmp/chan2.body" 'd["datatype"] == "uint64" and d["type"] == "annotation"'
get chan3 /latest/collection/coll/experiment/exp/channel/img16
check json "$tmp/chan3.body" 'd["datatype"] == "uint16" and d["type"] == "image"'
get coords /v1/coord/
check json "$tmp/coords.body" 'd == {"coords": ["test_frame"]}'
get coord /v1/coord/test_frame
check json "$tmp/coord.body" '[d[k] for k in ("x_start","x_stop","y_start","y_stop","z_start","z_stop")] == [0, 256, 0, 160, 0, 32] and all(type(d[k]) is float for k in ("x_voxel_size","y_voxel_size","z_voxel_size")) and (d["x_voxel_size"], d["z_voxel_size"]) == (1.5, 3.0) and d["voxel_unit"] == "micrometers"'
get ds /v1/downsample/coll/ann/labels/
check json "$tmp/ds.body" 'd["num_hierarchy_levels"] == 4 and d["extent"]["0"] == [256, 160, 32] and d["extent"]["1"] == [128, 80, 32] and d["extent"]["3"] == [32, 20, 32] and d["voxel_size"]["2"] == [6.0, 6.0, 3.0] and d["cuboid_size"]["0"] == [512, 512, 16]'

# ---- cutouts: blosc and npygz, every dtype, res 0 and above, 3-D and 4-D
cutout c1 blosc coll/exp/image 0 0 256 0 160 0 25
cutout c2 blosc coll/exp/image 0 17 93 5 150 3 4
cutout c3 blosc coll/exp/img16 0 1 200 2 99 0 7
cutout c4 blosc coll/ann/labels 0 100 256 60 160 20 32
cutout c5 npygz coll/exp/image 0 3 77 9 88 1 6
cutout c6 npygz coll/exp/img16 0 0 256 0 160 0 5
cutout c7 npygz coll/ann/labels 0 0 64 0 64 0 4
cutout c8 blosc coll/exp/image 0 10 20 10 20 2 5 4d
cutout c9 npygz coll/ann/labels 0 10 20 10 20 2 5 4d
cutout r1 blosc coll/exp/image 1 0 128 0 80 0 8
cutout r2 blosc coll/exp/img16 2 3 60 1 40 5 9
cutout r3 blosc coll/ann/labels 1 7 50 11 70 2 4
cutout r4 npygz coll/ann/labels 3 0 32 0 20 30 32
cutout r5 npygz coll/exp/image 3 5 32 0 20 0 3
# the body is one frame as the real server writes it: blosclz (header byte 1 = 1), byte shuffle
$py -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(0 if b[0] == 2 and b[1] == 1 and (b[2] & 1 or b[2] & 2) and b[2] >> 5 == 0 else "header %s" % b[:4].hex())' "$tmp/c1.body" \
  || fail "c1 is not a blosclz, byte-shuffled blosc1 frame"
# Accept: none and */* give blosc; npygz wins when asked; JPEG only is 406
get acc1 "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1" -H "Accept:"
status_is acc1 200
ctype_is acc1 application/blosc
get acc2 "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/" -H "Accept: */*"
ctype_is acc2 application/blosc
get acc3 "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/" -H "Accept: application/json;q=0.9, application/npygz"
ctype_is acc3 application/npygz
get acc4 "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/" -H "Accept: image/jpeg"
status_is acc4 406
for mode in cache no-cache raw RAW; do
  get am "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/?access-mode=$mode"
  status_is am 200
done

# ---- errors
error e1 /v1/cutout/coll/exp/image/0/10:10/0:8/0:1/ 400 1001           # start == stop
error e2 /v1/cutout/coll/exp/image/0/20:10/0:8/0:1/ 400 1001           # start > stop
error e3 /v1/cutout/coll/exp/image/0/0:257/0:8/0:1/ 400 1001           # past x
error e4 /v1/cutout/coll/exp/image/0/0:8/0:161/0:1/ 400 1001           # past y
error e5 /v1/cutout/coll/exp/image/0/0:8/0:8/30:33/ 400 1001           # past z
error e6 /v1/cutout/coll/exp/image/1/0:129/0:8/0:1/ 400 1001           # past x at res 1 (stricter than BossDB)
error e7 /v1/cutout/coll/exp/image/4/0:8/0:8/0:1/ 400 1002             # 4 levels: 0..3
error e8 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/0:2/ 400 1000         # one time sample
error e9 "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/?access-mode=fast" 400 1001
error e10 /v1/cutout/nope/exp/image/0/0:8/0:8/0:1/ 404 4000
grep -q '"Collection nope not found"' "$tmp/e10.body" || fail "e10: $(cat "$tmp/e10.body")"
error e11 /v1/cutout/coll/nope/image/0/0:8/0:8/0:1/ 404 4000
grep -q '"Experiment nope not found"' "$tmp/e11.body" || fail "e11: $(cat "$tmp/e11.body")"
error e12 /v1/cutout/coll/exp/nope/0/0:8/0:8/0:1/ 404 4000
grep -q '"Channel nope not found"' "$tmp/e12.body" || fail "e12: $(cat "$tmp/e12.body")"
error e13 /v1/collection/coll/experiment/nope 404 4000
error e14 /v1/cutout/coll/exp/image/10/0:8/0:8/0:1/ 404 4000            # two-digit res: no route
error e15 /v1/nothing/here 404 4000
# size, as BossDB counts it: 1 MiB limit; uint8 1,024,000 voxels pass, the same box
# of uint64 counts 2 bytes a voxel and fails; the whole uint8 volume fails
get s1 /v1/cutout/coll/exp/image/0/0:256/0:160/0:25/
status_is s1 200
error s2 /v1/cutout/coll/ann/labels/0/0:256/0:160/0:25/ 413 2000
error s3 /v1/cutout/coll/exp/image/0/0:256/0:160/0:32/ 413 2000
get post /v1/collection/ -X POST -d x
status_is post 405

# ---- 16 concurrent clients, each its own box, all correct
cpids=()
for i in $(seq 0 15); do
  x0=$((i * 16))
  curl -sS -o "$tmp/par$i.body" -w '%{http_code}' "$base/v1/cutout/coll/exp/img16/0/$x0:$((x0 + 16))/0:160/0:32/" \
    >"$tmp/par$i.status" 2>"$tmp/par$i.err" &
  cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p" || fail "a concurrent curl failed"; done
requests=$((requests + 16))
for i in $(seq 0 15); do
  x0=$((i * 16))
  status_is "par$i" 200
  check blosc "$tmp/par$i.body" "$tmp/vol.h5" coll/exp/img16 0 "$x0" $((x0 + 16)) 0 160 0 32
done

# ---- SIGTERM: clean stop, exit 0; then the access log has one line per request
kill -TERM "$main_pid"
wait "$main_pid"
rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc, wanted 0; stderr: $(tail -c 400 "$tmp/main.err")"
lines=$(wc -l <"$tmp/access.log")
[ "$lines" -eq "$requests" ] || fail "access log has $lines lines for $requests requests"
# ADDR METHOD URL STATUS BYTES MS, e.g. for the c1 request (its body size is known)
c1_bytes=$(stat -c %s "$tmp/c1.body")
grep -qE "^127\.0\.0\.1 GET /v1/cutout/coll/exp/image/0/0:256/0:160/0:25/\?access-mode=no-cache 200 $c1_bytes [0-9]+\.[0-9]$" \
  "$tmp/access.log" || fail "access log lacks the c1 line: $(grep 0:256/0:160/0:25 "$tmp/access.log")"
grep -qE "^127\.0\.0\.1 POST /v1/collection/ 405 [0-9]+ [0-9.]+$" "$tmp/access.log" || fail "access log lacks the POST line"
# the shutdown figures: every request counted; at most the 16 concurrent clients in flight
most=$(sed -n "s/.*serve: $requests requests, at most \([0-9]*\) in flight at once.*/\1/p" "$tmp/main.err")
[ -n "$most" ] && [ "$most" -ge 1 ] && [ "$most" -le 16 ] \
  || fail "no shutdown line \"$requests requests, at most N in flight\" (1 <= N <= 16): $(tail -c 300 "$tmp/main.err")"

# ============================================================ --bind
"$bin" serve --volume "$tmp/vol.h5" --port 0 --bind 0.0.0.0 >"$tmp/any.out" 2>"$tmp/any.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 200); do grep -q '^serving ' "$tmp/any.out" 2>/dev/null && break; sleep 0.05; done
line=$(head -n 1 "$tmp/any.out")
case "$line" in
  "serving $tmp/vol.h5 on http://0.0.0.0:"[0-9]*)
    got=$(listeners "${line##*:}")
    [ "$got" = "00000000:$(printf '%04X' "${line##*:}")" ] || fail "--bind 0.0.0.0: listening on \"$got\", wanted 0.0.0.0"
    base="http://127.0.0.1:${line##*:}"
    get any /ping/
    status_is any 200 ;;
  *) fail "--bind 0.0.0.0: serving line \"$line\"; stderr: $(head -c 300 "$tmp/any.err")" ;;
esac
kill -TERM "$pid"
wait "$pid" || fail "--bind 0.0.0.0 server: exit $?"

# ============================================================ token server
start token --token s3cret --access-log "$tmp/token.log"
if [ -n "$base" ]; then
  get t1 /v1/collection/coll/experiment/exp/channel/image -H "Authorization: Token s3cret"
  status_is t1 200
  get t2 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/ -H "Authorization: token s3cret"  # keyword: any case
  status_is t2 200
  check blosc "$tmp/t2.body" "$tmp/vol.h5" coll/exp/image 0 0 8 0 8 0 1
  get t3 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/ -H "Authorization: Token wrong"
  status_is t3 401
  check json "$tmp/t3.body" 'd == {"detail": "Invalid token."}'
  error t4 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/ 403 3001
  check json "$tmp/t4.body" 'd["message"] == "This user does not have the required permissions"'
  error t5 /v1/collection/ 403 3001 -H "Authorization: Token public"
  get t6 /ping/
  status_is t6 200
  kill -TERM "$pid"
  wait "$pid" || fail "token server: exit $?"
fi

# ============================================================ fault servers
start faults --fault-5xx-first 2 --fault-truncate-first 1 --fault-wrongsize-first 1 --access-log "$tmp/faults.log"
if [ -n "$base" ]; then
  u=/v1/cutout/coll/exp/image/0/0:200/0:100/0:4/
  for attempt in 1 2; do
    get f$attempt "$u"
    status_is f$attempt 503
    check error "$tmp/f$attempt.body" 503 5000
  done
  get f3 "$u"   # truncated: the full Content-Length declared, half sent, connection closed
  [ "$(cat "$tmp/f3.rc")" -eq 18 ] || fail "truncated body: curl exit $(cat "$tmp/f3.rc") ($(cat "$tmp/f3.curlerr")), wanted 18 (partial file)"
  declared=$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' "$tmp/f3.headers")
  got=$(stat -c %s "$tmp/f3.body")
  [ -n "$declared" ] && [ "$got" -eq $((declared / 2)) ] || fail "truncated body: $got of $declared bytes"
  get f4 "$u"   # wrong size: a valid frame of half the voxels
  status_is f4 200
  check blosc-size "$tmp/f4.body" $((200 * 100 * 4 / 2))
  get f5 "$u"
  status_is f5 200
  check blosc "$tmp/f5.body" "$tmp/vol.h5" coll/exp/image 0 0 200 0 100 0 4
  get f6 "$u?access-mode=no-cache"   # same URL path: still fine
  status_is f6 200
  get f7 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/   # another URL starts over
  status_is f7 503
  get f8 /v1/collection/coll   # metadata never faults
  status_is f8 200
  get f9 /v1/cutout/coll/exp/image/0/0:8/0:8/0:99/  # invalid requests are not faulted
  status_is f9 400
  kill -TERM "$pid"
  wait "$pid" || fail "fault server: exit $?"
fi

start rate --fault-5xx-rate 0.5 --fault-seed 7 --fault-delay-ms 200 --access-log /dev/null
if [ -n "$base" ]; then
  n503=0
  for i in $(seq 1 30); do
    get rr "/v1/cutout/coll/exp/image/0/0:8/0:8/0:1/"
    [ "$(cat "$tmp/rr.status")" = 503 ] && n503=$((n503 + 1))
  done
  [ "$n503" -ge 5 ] && [ "$n503" -le 25 ] || fail "--fault-5xx-rate 0.5: $n503 of 30 answered 503"
  t0=$(date +%s%N)
  get rd /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/
  t1=$(date +%s%N)
  get rm /v1/collection/coll
  t2=$(date +%s%N)
  [ $(((t1 - t0) / 1000000)) -ge 200 ] || fail "--fault-delay-ms 200: a cutout took $(((t1 - t0) / 1000000)) ms"
  [ $(((t2 - t1) / 1000000)) -lt 200 ] || fail "--fault-delay-ms delayed metadata too"
  kill -TERM "$pid"
  wait "$pid" || fail "rate server: exit $?"
fi
start always --fault-5xx-rate 1 --access-log /dev/null
if [ -n "$base" ]; then
  get ra /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/
  status_is ra 503
  kill -INT "$pid"
  wait "$pid" || fail "SIGINT: exit $?"
fi

# ============================================================ memory bound
# --threads 1: one cutout at a time between generation and sent. A client that reads
# nothing holds the only permit (its 10.5 MB body cannot all leave the server:
# more than the kernel's socket buffers take); metadata
# is still served (the worker thread is not blocked), another cutout waits until the
# holder goes away, then succeeds.
start permits --threads 1 --access-log "$tmp/permits.log"
if [ -n "$base" ]; then
  $py - "${base#http://}" "$tmp/holder.ready" <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].split(":")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, int(port)))
s.sendall(b"GET /v1/cutout/coll/ann/ids/0/0:256/0:160/0:32/ HTTP/1.1\r\nHost: x\r\n\r\n")
first = s.recv(64)                      # the headers have come: the body exists, the permit is held
open(sys.argv[2], "w").write(first.decode("latin-1"))
time.sleep(4)
s.close()
EOF
  holder=$!
  pids+=("$holder")
  for _ in $(seq 100); do [ -s "$tmp/holder.ready" ] && break; sleep 0.05; done
  grep -q "^HTTP/1.1 200" "$tmp/holder.ready" || fail "the permit holder got no 200: $(cat "$tmp/holder.ready" 2>/dev/null)"
  get pm1 /v1/collection/coll --max-time 2
  status_is pm1 200
  get pm2 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/ --max-time 1.5
  [ "$(cat "$tmp/pm2.rc")" -eq 28 ] || fail "a second cutout did not wait for the only permit: curl exit $(cat "$tmp/pm2.rc"), HTTP $(cat "$tmp/pm2.status")"
  wait "$holder"
  get pm3 /v1/cutout/coll/exp/image/0/0:8/0:8/0:1/ --max-time 10
  status_is pm3 200
  check blosc "$tmp/pm3.body" "$tmp/vol.h5" coll/exp/image 0 0 8 0 8 0 1
  kill -TERM "$pid"
  wait "$pid" || fail "permit server: exit $?"
fi

# ============================================================ other volumes
# defaults (no root attributes), fixed-length string attributes, few levels when small
$py - "$tmp/small.h5" <<'EOF' || fail "cannot make small.h5"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["c1/e1/img"] = np.arange(2 * 3 * 5, dtype=np.uint16).reshape(2, 3, 5)
    d = f.create_dataset("c1/e1/lab", data=np.ones((2, 3, 5), np.uint64))
    d.attrs["type"] = np.bytes_("annotation")        # fixed-length string
    f.attrs["voxel_unit"] = np.bytes_("nanometers")
    f["c1/e1/deeper/ignored"] = np.zeros(3, np.uint8)  # not a channel: skipped with a warning
EOF
vol=$tmp/small.h5
"$bin" serve --volume "$vol" --port 0 >"$tmp/small.out" 2>"$tmp/small.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 200); do grep -q '^serving ' "$tmp/small.out" 2>/dev/null && break; sleep 0.05; done
line=$(head -n 1 "$tmp/small.out")
base="http://127.0.0.1:${line##*:}"
get sm1 /v1/collection/c1/experiment/e1
check json "$tmp/sm1.body" 'd["coord_frame"] == "c1_e1" and d["num_hierarchy_levels"] == 2 and d["channels"] == ["img", "lab"]'
get sm2 /v1/coord/c1_e1
check json "$tmp/sm2.body" '(d["x_stop"], d["y_stop"], d["z_stop"]) == (5, 3, 2) and d["x_voxel_size"] == 1.0 and type(d["x_voxel_size"]) is float and d["voxel_unit"] == "nanometers"'
get sm3 /v1/collection/c1/experiment/e1/channel/lab
check json "$tmp/sm3.body" 'd["type"] == "annotation" and d["datatype"] == "uint64"'
cutout sm4 blosc c1/e1/img 1 0 2 0 1 0 2
grep -q 'ignoring "deeper"' "$tmp/small.err" || fail "no warning about the dataset that is not a channel: $(cat "$tmp/small.err")"
kill -TERM "$pid"
wait "$pid" || fail "small-volume server: exit $?"

# volumes refused, with a message naming the file and what is wrong
bad_volume() {
  local want=$1 code=$2
  $py -c "import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'w')
$code" "$tmp/badvol.h5" || { fail "cannot make a bad volume: $code"; return; }
  timeout 20 "$bin" serve --volume "$tmp/badvol.h5" --port 0 >"$tmp/bv.out" 2>"$tmp/bv.err"
  local got=$?
  [ "$got" -eq 3 ] || fail "bad volume ($code): exit $got, wanted 3: $(head -c 300 "$tmp/bv.err")"
  grep -qF -- "$want" "$tmp/bv.err" || fail "bad volume ($code): message lacks \"$want\": $(head -c 300 "$tmp/bv.err")"
}
bad_volume "expected uint8, uint16 or uint64" 'f["c/e/x"] = np.zeros((2, 2, 2), np.int16)'
bad_volume "expected a 3-D (z, y, x) dataset" 'f["c/e/x"] = np.zeros((2, 2), np.uint8)'
bad_volume "differs from the other channels" 'f["c/e/x"] = np.zeros((2, 2, 2), np.uint8); f["c/e/y"] = np.zeros((2, 2, 3), np.uint8)'
bad_volume "no channels" 'f["c/x"] = np.zeros((2, 2, 2), np.uint8)'
bad_volume "voxel_unit" 'f["c/e/x"] = np.zeros((2, 2, 2), np.uint8); f.attrs["voxel_unit"] = "furlongs"'
bad_volume "voxel_size" 'f["c/e/x"] = np.zeros((2, 2, 2), np.uint8); f.attrs["voxel_size"] = [1.0, -1.0, 2.0]'
bad_volume 'type: expected "image" or "annotation"' 'f["c/e/x"] = np.zeros((2, 2, 2), np.uint8); f["c/e/x"].attrs["type"] = "labels"'
bad_volume "not allowed in a BossDB name" 'f["c/e e/x"] = np.zeros((2, 2, 2), np.uint8)'

# ============================================================ command line
expect_exit() {
  local want=$1 word=$2
  shift 2
  timeout 20 "$bin" serve "$@" >"$tmp/cl.out" 2>"$tmp/cl.err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "serve $*: exit $got, wanted $want: $(head -c 300 "$tmp/cl.err")"
  grep -qF -- "$word" "$tmp/cl.err" || fail "serve $*: message lacks \"$word\": $(head -c 300 "$tmp/cl.err")"
}
expect_exit 2 "--port" --volume "$tmp/vol.h5" --port 70000
expect_exit 2 "--port" --volume "$tmp/vol.h5" --port abc
expect_exit 2 "--threads" --volume "$tmp/vol.h5" --threads 0
expect_exit 2 "--fault-5xx-rate" --volume "$tmp/vol.h5" --fault-5xx-rate 1.5
expect_exit 2 "--max-cutout-mb" --volume "$tmp/vol.h5" --max-cutout-mb 0
expect_exit 2 "--bogus" --volume "$tmp/vol.h5" --bogus
expect_exit 2 "--volume" --volume
expect_exit 2 "exclude" --phantom --volume "$tmp/vol.h5"
expect_exit 2 "unexpected argument" --volume "$tmp/vol.h5" extra
expect_exit 4 "$tmp/missing.h5" --volume "$tmp/missing.h5"
printf 'not hdf5' >"$tmp/bad.h5"
expect_exit 4 "not an HDF5 file" --volume "$tmp/bad.h5"
"$bin" serve --help >"$tmp/help.out" || fail "serve --help: exit $?"
grep -q "^usage: mtneuro serve" "$tmp/help.out" && grep -q -- "--fault-truncate-first" "$tmp/help.out" \
  || fail "serve --help lacks the usage or the fault options"

finish serve
