#!/usr/bin/python3
"""state_dict_h5.py — moves a PyTorch state_dict to and from mtneuro's checkpoint layout
(design §5): float32 datasets at the file's root named exactly like the state_dict
keys, with PyTorch's shapes; BatchNorm's num_batches_tracked as int64; root attributes
model, in_channels, classes. Groups (such as mtneuro's /train_state) are ignored on
the way back.

    state_dict_h5.py to_h5 MODEL.pt OUT.h5 [--model NAME] [--in-channels N]
                           [--classes K] [--attr KEY=VALUE ...]
    state_dict_h5.py from_h5 IN.h5 OUT.pt
    state_dict_h5.py --selftest

MODEL.pt may hold a state_dict, a whole nn.Module, or a dict with a "state_dict" /
"model_state_dict" / "model" entry. model / in_channels / classes are guessed from the
keys when not given (resnet18: conv1.weight and fc.weight; unet2d/unet3d:
down_blocks.0.conv1.weight and conv_final.weight). Keys are written in state_dict
order (the root tracks creation order), so iterating the file gives them back in that
order, and from_h5 rebuilds the identical OrderedDict.
"""
import argparse
import collections
import os
import sys
import tempfile

import h5py
import numpy as np
import torch


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, torch.nn.Module):
                return inner.state_dict()
            if isinstance(inner, dict):
                return inner
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit("%s: no state_dict found (a state_dict, a module, or a dict with 'state_dict')" % path)


def guess_attrs(sd):
    """model / in_channels / classes from the keys and shapes (None where unknown)."""
    if "conv1.weight" in sd and "fc.weight" in sd:
        return "resnet18", sd["conv1.weight"].shape[1], sd["fc.weight"].shape[0]
    first, last = sd.get("down_blocks.0.conv1.weight"), sd.get("conv_final.weight")
    if first is not None and last is not None:
        return "unet%dd" % (first.dim() - 2), first.shape[1], last.shape[0]
    return None, None, None


def to_h5(sd, out, model=None, in_channels=None, classes=None, extra=None):
    """Writes the state_dict `sd` to `out` in checkpoint layout (via a temporary name,
    renamed when complete)."""
    g_model, g_in, g_classes = guess_attrs(sd)
    attrs = {"model": model or g_model, "in_channels": in_channels or g_in, "classes": classes or g_classes}
    missing = [k for k, v in attrs.items() if v is None]
    if missing:
        raise SystemExit("cannot guess %s from the keys: give --%s" % (", ".join(missing), missing[0].replace("_", "-")))
    tmp = out + ".tmp"
    # the root tracks creation order (keys come back in state_dict order) and no
    # timestamps (the same state_dict gives the same bytes)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    fcpl.set_obj_track_times(False)
    with h5py.File(h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)) as f:
        f.attrs["model"] = np.bytes_(str(attrs["model"]).encode("ascii"))
        f.attrs["in_channels"] = np.int64(attrs["in_channels"])
        f.attrs["classes"] = np.int64(attrs["classes"])
        for k, v in (extra or {}).items():
            f.attrs[k] = v
        for key, t in sd.items():
            if "/" in key:
                raise SystemExit("key %r contains '/', which HDF5 reads as a group" % key)
            t = t.detach().cpu()
            if t.is_floating_point():
                if t.dtype != torch.float32:
                    print("note: %s is %s, written as float32" % (key, t.dtype), file=sys.stderr)
                arr = t.to(torch.float32).numpy()
            elif t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
                arr = t.to(torch.int64).numpy()  # num_batches_tracked
            else:
                raise SystemExit("key %r has unsupported dtype %s" % (key, t.dtype))
            f.create_dataset(key, data=np.array(arr, order="C"), track_times=False)
    os.replace(tmp, out)


def root_names(f):
    """The root's link names in creation order where the file tracks it (h5py's own
    iteration of the root is by name), else by name."""
    names = []
    if f["/"].id.get_create_plist().get_link_creation_order() & h5py.h5p.CRT_ORDER_TRACKED:
        f.id.links.iterate(lambda n: names.append(n.decode()), idx_type=h5py.h5.INDEX_CRT_ORDER)
        return names
    return list(f)


def read_h5(path):
    """(state_dict, attributes) of a checkpoint: every dataset at the root, in the
    file's order (creation order where tracked, else by name)."""
    sd = collections.OrderedDict()
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        for key in root_names(f):
            obj = f[key]
            if not isinstance(obj, h5py.Dataset):
                continue  # /train_state and other groups
            arr = obj[()]
            if arr.dtype.kind == "f" and arr.dtype != np.float32:
                raise SystemExit("%s: %s is %s; checkpoints hold float32" % (path, key, arr.dtype))
            sd[key] = torch.from_numpy(np.array(arr))
    return sd, attrs


def from_h5(path, out):
    sd, attrs = read_h5(path)
    torch.save(sd, out)
    return sd, attrs


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_floating_point():
        return torch.equal(a.view(torch.int32), b.view(torch.int32))
    return torch.equal(a, b)


def selftest():
    """Round-trips a small module with every kind of entry (conv/linear weights and
    biases, BN buffers after a training step, 0-d int64 counters, -0.0, denormals)
    through .pt -> .h5 -> .pt and checks keys, order, dtypes, shapes and bits."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_models

    torch.manual_seed(0)
    net = torch_models.UNet(dim=2, in_channels=1, classes=3, n_blocks=2, start_filters=4)
    net.train()
    net(torch.randn(2, 1, 8, 8)).sum().backward()  # running stats and counters move
    with torch.no_grad():
        w = net.conv_final.weight.view(-1)
        w[0], w[1] = -0.0, 1e-40  # signed zero and a denormal survive too
    sd = net.state_dict()
    with tempfile.TemporaryDirectory() as d:
        pt, h5, back = os.path.join(d, "m.pt"), os.path.join(d, "m.h5"), os.path.join(d, "back.pt")
        torch.save(sd, pt)
        to_h5(load_state_dict(pt), h5, extra={"note": np.bytes_(b"selftest")})
        sd2, attrs = from_h5(h5, back)
        sd3 = torch.load(back)
        ok = True
        if list(sd2) != list(sd) or list(sd3) != list(sd):
            print("FAIL: keys or their order differ"); ok = False
        for k in sd:
            if not (same_bits(sd[k], sd2[k]) and same_bits(sd[k], sd3[k])):
                print("FAIL: %s differs (%s %s vs %s %s)" % (k, sd[k].dtype, tuple(sd[k].shape),
                                                             sd2[k].dtype, tuple(sd2[k].shape))); ok = False
        if (attrs.get("model"), attrs.get("in_channels"), attrs.get("classes")) != ("unet2d", 1, 3):
            print("FAIL: attributes %r" % attrs); ok = False
        with h5py.File(h5, "r") as f:  # the design's one-liner reads it too
            plain = {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}
            if f["down_blocks.0.norm1.num_batches_tracked"].dtype != np.int64 or \
               f["down_blocks.0.norm1.num_batches_tracked"].shape != ():
                print("FAIL: num_batches_tracked is not a 0-d int64"); ok = False
        fresh = torch_models.UNet(dim=2, in_channels=1, classes=3, n_blocks=2, start_filters=4)
        fresh.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in plain.items()})
        x = torch.randn(2, 1, 8, 8)
        net.eval(), fresh.eval()
        if not torch.equal(net(x), fresh(x)):
            print("FAIL: reloaded module computes differently"); ok = False
    print("selftest: %s (%d tensors)" % ("ok" if ok else "FAILED", len(sd)))
    return 0 if ok else 1


def parse_attr(text):
    key, _, value = text.partition("=")
    if not key or not _:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % text)
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, np.bytes_(value.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="round-trip a small module bit-exactly")
    sub = ap.add_subparsers(dest="cmd")
    a = sub.add_parser("to_h5", help="MODEL.pt -> checkpoint .h5")
    a.add_argument("pt")
    a.add_argument("h5")
    a.add_argument("--model", help="resnet18, unet2d, unet3d, ... (guessed from the keys if absent)")
    a.add_argument("--in-channels", type=int)
    a.add_argument("--classes", type=int)
    a.add_argument("--attr", action="append", type=parse_attr, default=[], help="extra root attribute KEY=VALUE")
    b = sub.add_parser("from_h5", help="checkpoint .h5 -> state_dict .pt")
    b.add_argument("h5")
    b.add_argument("pt")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    if args.cmd == "to_h5":
        sd = load_state_dict(args.pt)
        to_h5(sd, args.h5, args.model, args.in_channels, args.classes, dict(args.attr))
        print("%s: %d tensors -> %s" % (args.pt, len(sd), args.h5))
    elif args.cmd == "from_h5":
        sd, attrs = from_h5(args.h5, args.pt)
        print("%s: %d tensors (model=%s in_channels=%s classes=%s) -> %s" % (
            args.h5, len(sd), attrs.get("model"), attrs.get("in_channels"), attrs.get("classes"), args.pt))
    else:
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
