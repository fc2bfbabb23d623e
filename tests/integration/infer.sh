#!/usr/bin/env bash
# infer.sh — `mtneuro infer` on checkpoints exported from PyTorch with
# tests/ref/state_dict_h5.py (fixtures infer_unet2d / infer_unet3d: PyTorch's own
# initialisation, BN running statistics moved by training passes, non-square inputs):
#  - /y equals PyTorch's eval-mode logits within 1e-5 of their scale (float32 sums in
#    another order; measured 1e-7), with the shape and attributes of design §6;
#  - --batch 1, 2, 8 and --threads 1, 2 give identical bits (3 samples: a short last batch);
#  - integer-typed /x is accepted; a checkpoint written by h5py (NULL-padded strings);
#  - broken input: missing files, no /x, wrong rank, wrong channels, U-Net sizes not
#    a multiple of 8, an empty or non-numeric /x, --embedding on a U-Net, a checkpoint
#    with a missing tensor or a wrong shape, an unwritable output, bad options: each
#    with its exit code and a message naming the file and what was expected, and no
#    output file left behind.
# usage: infer.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
py=/usr/bin/python3
fx=tests/ref/fixtures

# close A.h5 B.h5 TOL: /y of A equals /y of B within TOL of B's scale, same shape
close() {
  $py - "$@" <<'EOF' || fail "close $*"
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "r")["y"][()]
b = h5py.File(sys.argv[2], "r")["y"][()]
assert a.dtype == np.float32, a.dtype
assert a.shape == b.shape, (a.shape, b.shape)
err = float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())
assert err <= float(sys.argv[3]), err
print("  %s: max error %.1e of scale" % (sys.argv[1].rsplit("/", 1)[-1], err))
EOF
}
same_bits() { $py -c 'import sys,h5py,numpy as np; a,b=(h5py.File(p,"r")["y"][()] for p in sys.argv[1:]); sys.exit(0 if a.tobytes()==b.tobytes() else 1)' "$1" "$2" || fail "$1 and $2 differ"; }

for m in unet2d unet3d; do
  ck=$fx/infer_$m.ckpt.h5
  expect 0 "$bin" infer --checkpoint "$ck" --input "$fx/infer_$m.h5" -o "$tmp/$m.h5"
  close "$tmp/$m.h5" "$fx/infer_$m.h5" 1e-5
  $py - "$tmp/$m.h5" "$m" <<'EOF' || fail "$m: attributes of the output"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
assert a["model"] == sys.argv[2] and a["output"] == "logits", a
assert a["checkpoint"].endswith(".ckpt.h5") and a["input"].endswith(".h5"), a
assert list(f) == ["y"], list(f)
EOF
  for opt in "--batch 1" "--batch 2" "--batch 8 --threads 1" "--threads 2"; do
    expect 0 "$bin" infer --checkpoint "$ck" --input "$fx/infer_$m.h5" -o "$tmp/$m.b.h5" $opt
    same_bits "$tmp/$m.h5" "$tmp/$m.b.h5"
  done
done
ls "$tmp" | grep -q "\.tmp\." && fail "temporary files left behind"

# ---------------------------------------------------------------- broken inputs
ck=$fx/infer_unet2d.ckpt.h5
$py - "$tmp" "$ck" <<'EOF' || fail "cannot make the broken inputs"
import sys, h5py, numpy as np
t, ck = sys.argv[1], sys.argv[2]
def x(name, data, key="x"):
    with h5py.File("%s/%s.h5" % (t, name), "w") as f:
        f[key] = data
x("ints", np.arange(2 * 32 * 48, dtype=np.int16).reshape(2, 1, 32, 48) % 7)
x("nox", np.zeros((1, 1, 32, 48), np.float32), key="images")
x("rank3", np.zeros((1, 32, 48), np.float32))
x("chan2", np.zeros((1, 2, 32, 48), np.float32))
x("size36", np.zeros((1, 1, 36, 48), np.float32))
x("empty", np.zeros((0, 1, 32, 48), np.float32))
x("strings", np.array([b"a", b"b"]))
open("%s/noth5.h5" % t, "w").write("not an HDF5 file\n")
src = h5py.File(ck, "r")
for name, change in (("missing", "drop"), ("shape", "reshape")):
    with h5py.File("%s/ck_%s.h5" % (t, name), "w") as f:
        for k, v in src.attrs.items():
            f.attrs[k] = v
        for k in src:
            if k == "conv_final.weight":
                if change == "drop":
                    continue
                f[k] = np.zeros((3, 4, 3, 3), np.float32)
            else:
                f[k] = src[k][()]
with h5py.File("%s/ck_nomodel.h5" % t, "w") as f:
    f["conv_final.weight"] = np.zeros((3, 4, 1, 1), np.float32)
EOF
expect 0 "$bin" infer --checkpoint "$ck" --input "$tmp/ints.h5" -o "$tmp/ints.out.h5"
[ -s "$tmp/ints.out.h5" ] || fail "integer /x: no output"

# bad CODE INPUT CHECKPOINT TEXT [OPTIONS]: fails with CODE naming TEXT, leaves no output
bad() {
  local code=$1 input=$2 ckpt=$3 text=$4; shift 4
  rm -f "$tmp/bad.out.h5"
  expect "$code" "$bin" infer --checkpoint "$ckpt" --input "$input" -o "$tmp/bad.out.h5" "$@"
  contains "$tmp/err" "$text"
  [ -e "$tmp/bad.out.h5" ] && fail "output left behind for $input $*"
  ls "$tmp" | grep -q "bad.out.h5.tmp" && fail "temporary output left behind for $input $*"
}
bad 4 "$tmp/nothere.h5" "$ck" "$tmp/nothere.h5: cannot open the input"
bad 4 "$tmp/noth5.h5" "$ck" "$tmp/noth5.h5: cannot open the input"
bad 4 "$fx/infer_unet2d.h5" "$tmp/nothere.h5" "$tmp/nothere.h5: cannot open the checkpoint"
bad 3 "$tmp/nox.h5" "$ck" "$tmp/nox.h5: no dataset x"
bad 3 "$tmp/rank3.h5" "$ck" "/x: expected 4 dimensions (N, C, H, W) for a unet2d checkpoint, found 3"
bad 3 "$tmp/chan2.h5" "$ck" "/x: 2 channels, but the checkpoint $ck expects 1"
bad 3 "$tmp/size36.h5" "$ck" "size 36 of dimension 2 is not a multiple of 8"
bad 3 "$tmp/empty.h5" "$ck" "/x: dimension 0 is 0; expected 1 to"
bad 3 "$tmp/strings.h5" "$ck" "dataset x: expected numbers"
bad 3 "$fx/infer_unet2d.h5" "$tmp/ck_missing.h5" "$tmp/ck_missing.h5: tensor conv_final.weight is missing"
bad 3 "$fx/infer_unet2d.h5" "$tmp/ck_shape.h5" "tensor conv_final.weight: expected shape (3x4x1x1), found (3x4x3x3)"
bad 3 "$fx/infer_unet2d.h5" "$tmp/ck_nomodel.h5" "expected a root attribute \"model\""
bad 2 "$fx/infer_unet2d.h5" "$ck" "--embedding needs a resnet18 checkpoint" --embedding
bad 2 "$fx/infer_unet2d.h5" "$ck" "--batch: expected an integer from 1 to 4096, found \"0\"" --batch 0
bad 2 "$fx/infer_unet2d.h5" "$ck" "unknown or incomplete option" --frobnicate
expect 2 "$bin" infer --checkpoint "$ck" --input "$fx/infer_unet2d.h5"
contains "$tmp/err" "expected --checkpoint CK.h5 --input X.h5 -o Y.h5"
mkdir "$tmp/ro" && chmod 500 "$tmp/ro"
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
  expect 4 "$bin" infer --checkpoint "$ck" --input "$fx/infer_unet2d.h5" -o "$tmp/ro/y.h5"
  contains "$tmp/err" "$tmp/ro/y.h5: cannot create the output file"
fi
expect 4 "$bin" infer --checkpoint "$ck" --input "$fx/infer_unet2d.h5" -o "$tmp/no/such/dir/y.h5"
contains "$tmp/err" "$tmp/no/such/dir/y.h5: cannot create the output file"

finish infer
