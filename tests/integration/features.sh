#!/usr/bin/env bash
# features.sh — `mtneuro features` (Task 3 semantic features) on REAL label maps: the
# xray-thc mask crops (ctx, str, trn, zi: 32 x 128 x 128 each, from the Prasad 2020
# pixel annotations; committed under tests/data/xray-thc, and checked against the
# originals under $MTN_SHARED_DIR/reference/mtneuro-data (default ../shared) when
# that folder is there), converted to MTNeuro's label values, against tests/ref/features_oracle.py (scipy's
# ndimage.label with 6-connectivity and cKDTree k=2): cell counts exactly, the other
# columns within 1e-9 relative, NaN in the same places. Cases: each crop set per slice
# and per quadrant; all four stacked (128 slices); the trn crops with each slice
# doubled (cells spanning slices) and cut to odd sizes (127 x 125: uneven quadrants);
# a random smoothed volume whose 3D cells split into several 2D pieces. Also the
# output's attributes, integer types other than uint8, and broken input: missing
# file, not HDF5, no /labels, wrong rank, a label value 7 (and -1), float labels, an
# unwritable output, bad options — each with its exit code and a message naming the
# file, and no output (nor temporary file) left behind.
# The crop files' convention (Prasad's notebook: 1 axon, 2 vessel, 3 cell) is not
# MTNeuro's (1 vessel, 2 cell, 3 axon); the data agree: value 3 forms compact round
# blobs of steady size (cells), value 2 elongated pieces from 1 to 1500 pixels
# (vessels), value 1 fills 57% of trn (axon tracts) and is absent from ctx and zi.
# usage: features.sh MTNEURO MPIEXEC   (from the repository root)
source "$(dirname "$0")/../lib.sh"
bin=$1
py=/usr/bin/python3
oracle=tests/ref/features_oracle.py
masks=tests/data/xray-thc
originals=${MTN_SHARED_DIR:-../shared}/reference/mtneuro-data/xray-thc/masks
if [ -d "$originals" ]; then # the committed copies hold the same arrays
  $py - "$masks" "$originals" <<'EOF' || fail "tests/data/xray-thc differs from $originals"
import sys, numpy as np
for r in ("ctx", "str", "trn", "zi"):
    a, b = (np.load("%s/masks_%s.npz" % (d, r))["arr_0"] for d in sys.argv[1:3])
    assert a.dtype == b.dtype and np.array_equal(a, b), r
EOF
else
  echo "note: $originals is absent; the committed copies are used unchecked"
fi

# ------------------------------------------------ inputs in MTNeuro's label values
$py - "$masks" "$tmp" <<'EOF' || fail "cannot convert the crops"
import sys, h5py, numpy as np
from scipy import ndimage as ndi
masks, t = sys.argv[1], sys.argv[2]
to_mtneuro = np.array([0, 3, 1, 2], np.uint8)  # Prasad: 1 axon, 2 vessel, 3 cell
def put(name, labels):
    with h5py.File("%s/%s.h5" % (t, name), "w") as f:
        f["labels"] = labels
crops = {}
for r in ("ctx", "str", "trn", "zi"):
    raw = np.load("%s/masks_%s.npz" % (masks, r))["arr_0"]
    assert raw.shape == (32, 128, 128) and raw.min() >= 0 and raw.max() <= 3, (r, raw.shape)
    crops[r] = to_mtneuro[raw]
    put(r, crops[r])
put("all", np.concatenate([crops[r] for r in ("ctx", "str", "trn", "zi")]))
put("doubled", np.repeat(crops["trn"], 2, axis=0))
put("odd", crops["trn"][:, :127, :125])
put("int16", crops["zi"].astype(np.int16))
put("int64", crops["zi"].astype(np.int64))
# random blobs: 3D cells that split into several pieces in one slice or quadrant
rng = np.random.default_rng(7)
noise = ndi.gaussian_filter(rng.standard_normal((12, 64, 72)), 1.5)
rand = np.zeros(noise.shape, np.uint8)
rand[noise > 0.12] = 2
rand[noise < -0.25] = 1
rand[(noise > -0.05) & (noise < 0.0)] = 3
put("random", rand)
EOF

for name in ctx str trn zi all doubled odd random; do
  for q in "" --quadrants; do
    expect 0 "$bin" features --input "$tmp/$name.h5" -o "$tmp/$name$q.out.h5" $q
    $py $oracle "$tmp/$name.h5" "$tmp/$name$q.out.h5" $q || fail "$name $q: disagrees with the oracle"
  done
done
ls "$tmp" | grep -q "\.tmp\." && fail "temporary files left behind"

# cells spanning slices: the doubled stack has fewer 3D cells than footprints, and
# each slice pair gives identical rows; pieces of one 3D cell count once
$py - "$tmp" <<'EOF' || fail "doubled or random volume: unexpected structure"
import sys, h5py, numpy as np
from scipy import ndimage as ndi
t = sys.argv[1]
six = ndi.generate_binary_structure(3, 1)
lab = h5py.File(t + "/doubled.h5", "r")["labels"][()]
_, n3 = ndi.label(lab == 2, structure=six)
f = h5py.File(t + "/doubled.out.h5", "r")["features"][()]
assert np.array_equal(f[0::2], f[1::2], equal_nan=True), "slice pairs differ"
assert 0 < n3 <= f[:, 2].sum() / 2, (n3, f[:, 2].sum())
rand = h5py.File(t + "/random.h5", "r")["labels"][()]
cells, _ = ndi.label(rand == 2, structure=six)
pieces = sum(ndi.label(cells[s] == i)[1] > 1 for s in range(rand.shape[0]) for i in np.unique(cells[s]) if i)
assert pieces > 0, "no 3D cell splits into pieces within a slice"
print("  doubled: %d 3D cells, %d footprints; random: %d cells split within a slice" %
      (n3, int(f[:, 2].sum()), pieces))
EOF

# attributes and layout; integer types other than uint8 give the same features
$py - "$tmp" <<'EOF' || fail "attributes of the output"
import sys, h5py, numpy as np
t = sys.argv[1]
f = h5py.File(t + "/zi--quadrants.out.h5", "r")
assert list(f) == ["features"], list(f)
d = f["features"]
assert d.shape == (128, 5) and d.dtype == np.float64, (d.shape, d.dtype)
a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in d.attrs.items()}
assert a["columns"] == "vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px", a
assert a["rows"].startswith("quadrants: row 4*slice + corner"), a
for k in ("units", "definitions", "missing", "labels"):
    assert k in a, k
assert "1.17 um" in a["units"], a["units"]
assert "self-distances excluded" in a["definitions"], a["definitions"]
assert f.attrs["input"] in (t + "/zi.h5", (t + "/zi.h5").encode()), dict(f.attrs)
g = h5py.File(t + "/zi.out.h5", "r")["features"]
assert g.shape == (32, 5) and g.attrs["rows"] in (b"slices: row = slice", "slices: row = slice")
EOF
for ty in int16 int64; do
  expect 0 "$bin" features --input "$tmp/$ty.h5" -o "$tmp/$ty.out.h5"
  cmp -s <($py -c 'import sys,h5py; sys.stdout.buffer.write(h5py.File(sys.argv[1],"r")["features"][()].tobytes())' "$tmp/$ty.out.h5") \
         <($py -c 'import sys,h5py; sys.stdout.buffer.write(h5py.File(sys.argv[1],"r")["features"][()].tobytes())' "$tmp/zi.out.h5") ||
    fail "$ty labels give other features than uint8"
done

# ---------------------------------------------------------------- broken inputs
$py - "$tmp" <<'EOF' || fail "cannot make the broken inputs"
import sys, h5py, numpy as np
t = sys.argv[1]
def x(name, data, key="labels"):
    with h5py.File("%s/%s.h5" % (t, name), "w") as f:
        f[key] = data
good = np.zeros((2, 8, 8), np.uint8)
x("nolabels", good, key="images")
x("rank2", np.zeros((8, 8), np.uint8))
seven = good.copy(); seven[1, 2, 5] = 7
x("seven", seven)
neg = good.astype(np.int16); neg[0, 7, 3] = -1
x("negative", neg)
x("floats", good.astype(np.float32))
x("empty", np.zeros((0, 8, 8), np.uint8))
x("thin", np.zeros((2, 1, 8), np.uint8))
x("good", good)
open("%s/noth5.h5" % t, "w").write("not an HDF5 file\n")
EOF
# bad CODE INPUT TEXT [OPTIONS]: fails with CODE naming TEXT, leaves no output
bad() {
  local code=$1 input=$2 text=$3; shift 3
  rm -f "$tmp/bad.out.h5"
  expect "$code" "$bin" features --input "$input" -o "$tmp/bad.out.h5" "$@"
  contains "$tmp/err" "$text"
  [ -e "$tmp/bad.out.h5" ] && fail "output left behind for $input $*"
  ls "$tmp" | grep -q "bad.out.h5.tmp" && fail "temporary output left behind for $input $*"
}
bad 4 "$tmp/nothere.h5" "$tmp/nothere.h5: cannot open the input"
bad 4 "$tmp/noth5.h5" "$tmp/noth5.h5: cannot open the input"
bad 3 "$tmp/nolabels.h5" "$tmp/nolabels.h5: no dataset /labels"
bad 3 "$tmp/rank2.h5" "$tmp/rank2.h5: /labels: expected 3 dimensions (Z, H, W), found 2"
bad 3 "$tmp/seven.h5" "$tmp/seven.h5: /labels: label value 7 at (z, y, x) = (1, 2, 5); expected 0 background, 1 vessel, 2 cell or 3 axon"
bad 3 "$tmp/negative.h5" "$tmp/negative.h5: /labels: label value -1 at (z, y, x) = (0, 7, 3)"
bad 3 "$tmp/floats.h5" "$tmp/floats.h5: /labels: expected integer labels"
bad 3 "$tmp/empty.h5" "$tmp/empty.h5: /labels: dimension 0 is 0"
bad 3 "$tmp/thin.h5" "$tmp/thin.h5: features: labels of 2 x 1 x 8 (Z, H, W); expected Z >= 1 and H, W >= 2 for quadrants" --quadrants
bad 2 "$tmp/good.h5" "features: unknown or incomplete option" --frobnicate
bad 2 "$tmp/good.h5" "features: unexpected argument \"extra\"" extra
expect 2 "$bin" features --input "$tmp/good.h5"
contains "$tmp/err" "features: expected --input L.h5 -o F.h5"
expect 0 "$bin" features --input "$tmp/thin.h5" -o "$tmp/thin.out.h5" # one row per image is fine
expect 4 "$bin" features --input "$tmp/good.h5" -o "$tmp/no/such/dir/f.h5"
contains "$tmp/err" "$tmp/no/such/dir/f.h5: cannot create the output file"
mkdir "$tmp/ro" && chmod 500 "$tmp/ro"
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
  expect 4 "$bin" features --input "$tmp/good.h5" -o "$tmp/ro/f.h5"
  contains "$tmp/err" "$tmp/ro/f.h5: cannot create the output file"
fi
[ -z "$(ls -A "$tmp/ro")" ] || fail "something left in the read-only folder"
expect 0 "$bin" features --help
contains "$tmp/out" "usage: mtneuro features --input L.h5 -o F.h5 [--quadrants]"

finish features
