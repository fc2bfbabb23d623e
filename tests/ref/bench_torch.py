#!/usr/bin/python3
"""bench_torch.py — the PyTorch side of `mtneuro bench`: training-step throughput
(forward + backward + SGD step on cross-entropy) and peak memory of the MTNeuro
networks, one fresh process per model so each peak is that model's alone.

    bench_torch.py [--model NAME] [--size S] [--depth D] [--batch B] [--threads T]
                   [--steps N] [--warmup W] [--verbose]

Without --model it runs the standard shapes: resnet18 at 64 and 128 (batch 8),
unet2d at 256 (batch 8), unet3d at depth 8 x 128 x 128 (batch 1). The options and
defaults are those of `mtneuro bench`: --size S (S x S; also DxHxW), --depth D for
unet3d (default 8), --threads 2, --warmup 2, --steps 5; each step is forward,
cross-entropy, backward and torch.optim.SGD(lr 0.01, momentum 0.9). One line per
model, in mtneuro's bench format:

    model=<name> size=<s> depth=<d> batch=<b> threads=<t> samples_per_s=<float> gflops=<float> peak_mb=<float> step_s=<float> base_mb=<float>

samples_per_s = batch * steps / seconds over the timed steps (after W warm-up steps);
gflops = training_flops() * steps / seconds / 1e9; peak_mb = the process's RSS
high-water mark (getrusage ru_maxrss, KiB / 1024), which includes the Python and torch
runtime; base_mb is that runtime alone (the high-water mark before the model exists,
about 230 MB), so peak_mb - base_mb is what the model and its training step cost.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

STANDARD = [("resnet18", "64", 8), ("resnet18", "128", 8), ("unet2d", "256", 8), ("unet3d", "128", 1)]
DEFAULT_BATCH = {"resnet18": 8, "unet2d": 8, "unet3d": 1}
CLASSES = 4


def parse_size(model, size, depth):
    """'64' -> (64, 64) for 2D models; '128' -> (depth, 128, 128) or 'DxHxW' for unet3d."""
    dims = tuple(int(v) for v in size.lower().split("x"))
    want = 3 if model == "unet3d" else 2
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) == 2 and want == 3:
        dims = (depth,) + dims
    if len(dims) != want:
        raise SystemExit("--size %s: %s wants %s" % (size, model, "DxHxW" if want == 3 else "S or HxW"))
    if model.startswith("unet") and any(v % 8 for v in dims):
        raise SystemExit("%s: every dimension must be a multiple of 8 (3 max-pools), found %s" % (
            model, "x".join(map(str, dims))))
    return dims


def training_flops(model, x):
    """FLOPs of one training step of `model` on input `x`, counted the way mtneuro
    counts them: 3 x the forward FLOPs of the convolutions, transposed convolutions
    and linear layers (forward 1x; backward 2x: the input gradient and the weight
    gradient are each a product of the forward's size), where one multiply-add is 2
    FLOPs:
        Conv          2 * N * out_positions * Cout * (Cin / groups) * prod(kernel)
        ConvTranspose 2 * N * in_positions  * Cin * (Cout / groups) * prod(kernel)
        Linear        2 * N * in_features * out_features
    Biases, BatchNorm, ReLU, pooling, concatenation and the loss are not counted
    (they are O(activations), not O(activations x channels)); the first layer's
    input gradient, which is not needed, is counted anyway, as is customary."""
    import torch
    from torch import nn

    total = [0]

    def hook(mod, inputs, out):
        if isinstance(mod, (nn.Conv2d, nn.Conv3d)):
            k = 1
            for v in mod.kernel_size:
                k *= v
            total[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, (nn.ConvTranspose2d, nn.ConvTranspose3d)):
            k = 1
            for v in mod.kernel_size:
                k *= v
            total[0] += 2 * inputs[0].numel() * (mod.out_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            total[0] += 2 * inputs[0].numel() * mod.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return 3 * total[0]


def run_one(args):
    """Benchmarks one model in this process and prints its line."""
    import torch
    from torch import nn

    sys.path.insert(0, HERE)
    import torch_models

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dims = parse_size(args.model, args.size, args.depth)
    batch = args.batch or DEFAULT_BATCH[args.model]
    model = torch_models.build(args.model, in_channels=1, classes=CLASSES)
    x = torch.rand(batch, 1, *dims)
    if args.model == "resnet18":
        target = torch.randint(0, CLASSES, (batch,))
    else:
        target = torch.randint(0, CLASSES, (batch, *dims))
    flops = training_flops(model, x)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)  # as mtneuro bench
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    hw = dims[-2:]
    size = str(hw[0]) if hw[0] == hw[1] else "%dx%d" % hw
    depth = dims[0] if len(dims) == 3 else 1
    print("model=%s size=%s depth=%d batch=%d threads=%d samples_per_s=%.4f gflops=%.3f peak_mb=%.1f step_s=%.4f "
          "base_mb=%.1f" % (args.model, size, depth, batch, args.threads, batch * args.steps / seconds,
                            flops * args.steps / seconds / 1e9, peak_mb, seconds / args.steps, base_mb), flush=True)
    if args.verbose:
        print("# %s: %.3f s/step, %.2f GFLOP/step (training), runtime before the model %.1f MB, torch %s" % (
            args.model, seconds / args.steps, flops / 1e9, base_mb, torch.__version__), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(DEFAULT_BATCH), help="one model (default: the standard set)")
    ap.add_argument("--size", help="S (S x S), or DxHxW for unet3d; default: the standard shapes")
    ap.add_argument("--depth", type=int, default=8, help="unet3d depth with a plain --size (default 8)")
    ap.add_argument("--batch", type=int, help="default: 8 for 2D models, 1 for unet3d")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--verbose", action="store_true", help="seconds per step and FLOPs on stderr")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup < 0 or (args.batch is not None and args.batch < 1):
        ap.error("threads, steps and batch must be >= 1, warmup >= 0")
    if args.in_process:
        run_one(args)
        return 0
    if args.model and args.size:
        shapes = [(args.model, args.size, args.batch)]
    else:
        shapes = [(m, s, args.batch or b) for m, s, b in STANDARD if args.model in (None, m)]
    if args.size and not args.model:
        ap.error("--size needs --model")
    status = 0
    for model, size, batch in shapes:  # a fresh process each: peak memory is per model
        cmd = [sys.executable, os.path.abspath(__file__), "--in-process", "--model", model, "--size", size,
               "--depth", str(args.depth), "--threads", str(args.threads), "--steps", str(args.steps),
               "--warmup", str(args.warmup)]
        if batch:
            cmd += ["--batch", str(batch)]
        if args.verbose:
            cmd.append("--verbose")
        rc = subprocess.call(cmd)
        if rc != 0:
            print("bench_torch: %s %s failed (exit %d)" % (model, size, rc), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
