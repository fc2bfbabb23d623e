#!/usr/bin/python3
"""make_fixtures.py — regenerates every PyTorch reference fixture in tests/ref/fixtures/.

    /usr/bin/python3 tests/ref/make_fixtures.py [--list] [--only NAME ...] [--out DIR]

One small HDF5 file per case. Every case is a function registered with @layer_case or
@model_case in CASES; adding a case is adding one function. Runs are deterministic:
float32, one thread, deterministic algorithms, and each case draws its numbers from its
own generator seeded with a CRC of its name (so adding a case changes no other file).
Values come from explicit torch.randn calls, never from module initialisers.

Layer fixture (root attribute kind = "layer"):
    attributes  format = "mtneuro-torch-fixture", format_version = 1, kind, case,
                layer (our name: conv, convt, bn, relu, dropout, add, maxpool, avgpool,
                linear, concat, xent, xent_soft, cosine, mixup, sgd, adam, ema),
                torch_module (e.g.
                "Conv3d"), torch_version, seed, and the layer's hyper-parameters as
                PyTorch names them (in_channels, out_channels, kernel_size, stride,
                padding as int64 arrays of one value per spatial dim, bias 0/1,
                num_features, eps, momentum, training 0/1, p, reduction, ...).
    /inputs/<name>      the tensors fed to the layer: x (or a, b; logits, target; p, z)
    /params/<name>      parameters and buffers BEFORE the call, PyTorch names (weight,
                        bias, running_mean, running_var, num_batches_tracked as int64)
    /outputs/<name>     y (forward output), loss (0-d float32), indices (max-pool
                        argmax as PyTorch returns it: flat index in each (n, c) plane);
                        optimisers: param and their state after each step (S, n)
    /upstream/dy        the fixed upstream gradient dL/dy (absent for losses: dL = 1)
    /grads/<name>       dL/d(every input and parameter), named like the input/param
    /buffers_after/<name>  buffers after the call (BN training: running stats, count)
Shapes are PyTorch's (NCHW / NCDHW; weights OIHW, transposed convs IOHW).

Model fixture (root attribute kind = "model_formula"; see write_formula_fixture):
    no weights are stored (a ResNet-18 state_dict is 45 MB): both sides compute the
    initial weights from formula_weights. The model trains 5 steps of cross-entropy
    (SGD or Adam) on /steps/x, /steps/target; the fixture keeps the per-step losses
    (/steps/loss), the first step's logits (/steps/logits0), eval-mode logits after
    training for /eval/x (/eval/logits), and for every state_dict key a summary (sum,
    sum of squares, max |x|, 16 entries) of step 0's gradient (/grads0/KEY) and of
    the final value (/final/KEY). The same run in float64 is stored beside it
    (steps/loss_f64, steps/logits0_f64, eval/logits_f64, grads0_f64, final_f64), and
    so are perturbed_runs float32 runs from weights nudged by one ulp (suffixes _p1,
    _p2, ...): the C test measures its own and these runs' distances to float64.
"""
import argparse
import copy
import os
import sys
import zlib

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # so model cases can `import torch_models` (ResNet-18, U-Nets)

FORMAT = "mtneuro-torch-fixture"
FORMAT_VERSION = 1
CASES = {}  # name -> (kind, function)


def case(kind, name):
    """Registers fn(gen) as fixture `name` of `kind`: "layer" (fn returns a Fixture),
    "model" (a FormulaFixture) or "infer" (model, attrs, x, warm-up batches)."""
    def register(fn):
        assert name not in CASES, name
        CASES[name] = (kind, fn)
        return fn
    return register


def layer_case(name):
    return case("layer", name)


def model_case(name):
    return case("model", name)


def infer_case(name):
    return case("infer", name)


# ------------------------------------------------------------------ helpers ---

def randn(gen, *shape, scale=1.0):
    return torch.randn(*shape, generator=gen, dtype=torch.float32) * scale


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class Fixture:
    """What one layer case produces; groups map names to tensors/arrays."""

    def __init__(self, layer, module, **attrs):
        self.attrs = dict(layer=layer, torch_module=module, **attrs)
        self.groups = {g: {} for g in ("inputs", "params", "outputs", "upstream", "grads", "buffers_after")}

    def put(self, group, name, value):
        self.groups[group][name] = value


def as_array(v):
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    v = np.asarray(v)
    if v.dtype == np.float64:
        v = v.astype(np.float32)
    return np.array(v, order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)


def attr_value(v):
    """Attributes: str as fixed-length ASCII, bool/int as int64, float as float64,
    tuples/lists as arrays — plain HDF5 types any reader handles."""
    if isinstance(v, str):
        return np.bytes_(v.encode("ascii"))
    if isinstance(v, bool):
        return np.int64(int(v))
    if isinstance(v, int):
        return np.int64(v)
    if isinstance(v, float):
        return np.float64(v)
    if isinstance(v, (tuple, list)):
        return np.asarray(v, dtype=np.float64 if any(isinstance(e, float) for e in v) else np.int64)
    return v


def create_ordered_h5(path):
    """A new HDF5 file whose root tracks link creation order (so the state_dict keys
    iterate in state_dict order) and records no timestamps (so reruns give the same
    bytes; h5py's File(track_order=True) would stamp the root group)."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    fcpl.set_obj_track_times(False)
    return h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl))


def write_dataset(parent, name, value):
    parent.create_dataset(name, data=as_array(value), track_times=False)


def set_attrs(obj, attrs):
    for k in sorted(attrs):
        obj.attrs[k] = attr_value(attrs[k])


def write_layer_fixture(path, name, seed, fx):
    with h5py.File(path, "w") as f:
        set_attrs(f, dict(format=FORMAT, format_version=FORMAT_VERSION, kind="layer", case=name,
                          torch_version=torch.__version__, seed=seed, **fx.attrs))
        for g, members in fx.groups.items():
            if not members:
                continue
            grp = f.create_group(g, track_order=False)
            for k in sorted(members):
                write_dataset(grp, k, members[k])


def run_module(fx, module, inputs, gen, param_names=("weight", "bias"), grad_inputs=None, buffers=()):
    """Runs module(*inputs) with a random upstream gradient and records everything:
    params before, output, dy, grads of inputs and params, buffers after."""
    for k, v in module.state_dict().items():
        fx.put("params", k, v.clone())
    xs = []
    for k, v in inputs:
        t = v.clone().requires_grad_(grad_inputs is None or k in grad_inputs)
        fx.put("inputs", k, v)
        xs.append((k, t))
    y = module(*[t for _, t in xs])
    dy = randn(gen, *y.shape)
    y.backward(dy)
    fx.put("outputs", "y", y)
    fx.put("upstream", "dy", dy)
    for k, t in xs:
        if t.grad is not None:
            fx.put("grads", k, t.grad.clone())
    for k in param_names:
        p = getattr(module, k, None)
        if isinstance(p, nn.Parameter) and p.grad is not None:
            fx.put("grads", k, p.grad.clone())
    for k in buffers:
        fx.put("buffers_after", k, getattr(module, k).clone())
    return y


def f64_error(fx, forward64):
    """max |float32 torch - float64 torch| / max |float64| over the forward output
    (printed, to show what float32 alone costs; the C tolerances sit above it)."""
    ref = forward64()
    out = torch.as_tensor(fx.groups["outputs"].get("y", fx.groups["outputs"].get("loss"))).double()
    return float((out - ref).abs().max() / ref.abs().max().clamp_min(1e-30))


# ------------------------------------------------------------- convolutions ---

def conv_case(name, dim, n, cin, cout, spatial, k, stride, pad, bias):
    @layer_case(name)
    def make(gen):
        cls = nn.Conv2d if dim == 2 else nn.Conv3d
        m = cls(cin, cout, k, stride, pad, bias=bias)
        with torch.no_grad():
            m.weight.copy_(randn(gen, *m.weight.shape, scale=0.3))
            if bias:
                m.bias.copy_(randn(gen, cout, scale=0.3))
        fx = Fixture("conv", cls.__name__, in_channels=cin, out_channels=cout, kernel_size=m.kernel_size,
                     stride=m.stride, padding=m.padding, bias=bias)
        x = randn(gen, n, cin, *spatial)
        run_module(fx, m, [("x", x)], gen)
        fx.err64 = f64_error(fx, lambda: m.double()(x.double()))
        return fx


conv_case("conv2d_k3_s1_p1_bias", 2, 2, 3, 4, (7, 9), 3, 1, 1, True)
conv_case("conv2d_k3_s2_p1_nobias", 2, 2, 3, 4, (7, 9), 3, 2, 1, False)
conv_case("conv2d_k3_s1_p0_bias", 2, 2, 2, 3, (6, 5), 3, 1, 0, True)
conv_case("conv2d_k1_s1_p0_bias", 2, 2, 5, 4, (4, 6), 1, 1, 0, True)  # the U-Net head
conv_case("conv2d_k1_s2_p0_nobias", 2, 2, 4, 6, (8, 7), 1, 2, 0, False)  # ResNet shortcut
conv_case("conv3d_k3_s1_p1_bias", 3, 2, 2, 3, (4, 5, 6), 3, 1, 1, True)
# the Winograd road: 64 channels and 12 x 12 and more in 2D, 16 channels in 3D (odd
# sizes: partial tiles)
conv_case("conv2d_k3_s1_p1_winograd", 2, 1, 64, 64, (12, 13), 3, 1, 1, True)
conv_case("conv3d_k3_s1_p1_winograd", 3, 1, 16, 16, (5, 6, 7), 3, 1, 1, False)
# (forward and both gradients), and a 3D case with more positions per micro-batch
# than the kernel has rows
conv_case("conv3d_k3_s1_p1_winograd_dw", 3, 1, 16, 16, (6, 8, 9), 3, 1, 1, True)
conv_case("conv3d_k3_s2_p1_nobias", 3, 2, 2, 3, (5, 6, 7), 3, 2, 1, False)
conv_case("conv3d_k1_s1_p0_bias", 3, 2, 3, 4, (3, 4, 5), 1, 1, 0, True)


def convt_case(name, dim, n, cin, cout, spatial):
    @layer_case(name)
    def make(gen):
        cls = nn.ConvTranspose2d if dim == 2 else nn.ConvTranspose3d
        m = cls(cin, cout, 2, 2, bias=True)
        with torch.no_grad():
            m.weight.copy_(randn(gen, *m.weight.shape, scale=0.3))
            m.bias.copy_(randn(gen, cout, scale=0.3))
        fx = Fixture("convt", cls.__name__, in_channels=cin, out_channels=cout, kernel_size=m.kernel_size,
                     stride=m.stride, padding=m.padding, bias=True)
        x = randn(gen, n, cin, *spatial)
        run_module(fx, m, [("x", x)], gen)
        fx.err64 = f64_error(fx, lambda: m.double()(x.double()))
        return fx


convt_case("convt2d_k2_s2_bias", 2, 2, 4, 3, (3, 5))
convt_case("convt3d_k2_s2_bias", 3, 2, 3, 2, (2, 3, 4))


# --------------------------------------------------------------- batch norm ---

def bn_case(name, dim, shape, training, scale=1.0):
    """scale shrinks the input's spread (and the running variance): at scale 0.003
    the variance is comparable to eps, so where eps goes (inside the sqrt) shows."""
    @layer_case(name)
    def make(gen):
        cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dim]
        c = shape[1]
        m = cls(c)
        with torch.no_grad():
            m.weight.copy_(1.0 + randn(gen, c, scale=0.2))
            m.bias.copy_(randn(gen, c, scale=0.2))
            m.running_mean.copy_(randn(gen, c, scale=0.5))
            m.running_var.copy_((0.5 + torch.rand(c, generator=gen)) * scale * scale)
            m.num_batches_tracked.fill_(3)
        m.train(training)
        fx = Fixture("bn", cls.__name__, num_features=c, eps=m.eps, momentum=m.momentum, training=training)
        # non-zero means and unequal scales per channel, as after a ReLU
        x = randn(gen, *shape) * (0.5 + torch.arange(c, dtype=torch.float32).view(1, c, *[1] * (len(shape) - 2)))
        x = x * scale
        x = x + 0.7
        m64 = cls(c).double().train(training)
        m64.load_state_dict(m.state_dict())
        run_module(fx, m, [("x", x)], gen, buffers=("running_mean", "running_var", "num_batches_tracked"))
        fx.err64 = f64_error(fx, lambda: m64(x.double()))
        return fx


bn_case("bn1d_train", 1, (6, 5), True)
bn_case("bn2d_train", 2, (4, 3, 5, 6), True)
bn_case("bn3d_train", 3, (2, 3, 3, 4, 5), True)
bn_case("bn1d_eval", 1, (6, 5), False)
bn_case("bn2d_eval", 2, (4, 3, 5, 6), False)
bn_case("bn3d_eval", 3, (2, 3, 3, 4, 5), False)
bn_case("bn2d_train_eps", 2, (4, 3, 5, 6), True, scale=0.003)
bn_case("bn2d_eval_eps", 2, (4, 3, 5, 6), False, scale=0.003)


# ---------------------------------------------------------- element-wise ---

@layer_case("relu")
def relu_case(gen):
    fx = Fixture("relu", "ReLU")
    x = randn(gen, 2, 3, 4, 5)
    x.view(-1)[::7] = 0.0  # exact zeros: PyTorch's gradient there is 0
    run_module(fx, nn.ReLU(), [("x", x)], gen)
    return fx


@layer_case("dropout_p0_train")
def dropout_p0_case(gen):
    """p = 0 in training mode: the identity (mask all ones, scale 1/(1-0) = 1).
    Other p cannot be compared: torch's RNG is not ours."""
    fx = Fixture("dropout", "Dropout", p=0.0, training=True)
    run_module(fx, nn.Dropout(0.0).train(), [("x", randn(gen, 2, 3, 4, 5))], gen)
    return fx


@layer_case("dropout_eval")
def dropout_eval_case(gen):
    """Eval mode: the identity whatever p (mtneuro simply does not call the layer)."""
    fx = Fixture("dropout", "Dropout", p=0.5, training=False)
    run_module(fx, nn.Dropout(0.5).eval(), [("x", randn(gen, 2, 3, 4, 5))], gen)
    return fx


class Add(nn.Module):
    def forward(self, a, b):
        return a + b


@layer_case("add")
def add_case(gen):
    """The residual connection of the ResNet (y = a + b)."""
    fx = Fixture("add", "add")
    run_module(fx, Add(), [("a", randn(gen, 2, 3, 4, 5)), ("b", randn(gen, 2, 3, 4, 5))], gen)
    return fx


class Cat(nn.Module):
    def forward(self, a, b):
        return torch.cat((a, b), 1)


def concat_case(name, n, ca, cb, spatial):
    @layer_case(name)
    def make(gen):
        fx = Fixture("concat", "cat", dim=1)
        run_module(fx, Cat(), [("a", randn(gen, n, ca, *spatial)), ("b", randn(gen, n, cb, *spatial))], gen)
        return fx


concat_case("concat2d", 2, 3, 2, (4, 5))
concat_case("concat3d", 2, 2, 3, (2, 3, 4))


# ----------------------------------------------------------------- pooling ---

def maxpool_case(name, dim, shape):
    @layer_case(name)
    def make(gen):
        cls = nn.MaxPool2d if dim == 2 else nn.MaxPool3d
        m = cls(2, 2)
        fx = Fixture("maxpool", cls.__name__, kernel_size=[2] * dim, stride=[2] * dim, padding=[0] * dim)
        x = randn(gen, *shape)  # continuous values: no ties inside a window
        run_module(fx, m, [("x", x)], gen)
        _, idx = (F.max_pool2d if dim == 2 else F.max_pool3d)(x, 2, 2, return_indices=True)
        fx.put("outputs", "indices", idx)
        return fx


maxpool_case("maxpool2d_k2", 2, (2, 3, 6, 8))
maxpool_case("maxpool2d_k2_odd", 2, (2, 2, 7, 5))  # floor mode: the last row/column is dropped
maxpool_case("maxpool3d_k2", 3, (2, 2, 4, 6, 4))


def avgpool_case(name, dim, shape):
    @layer_case(name)
    def make(gen):
        cls = nn.AdaptiveAvgPool2d if dim == 2 else nn.AdaptiveAvgPool3d
        fx = Fixture("avgpool", cls.__name__, output_size=[1] * dim)
        x = randn(gen, *shape)
        run_module(fx, cls(1), [("x", x)], gen)
        fx.err64 = f64_error(fx, lambda: cls(1)(x.double()))
        return fx


avgpool_case("avgpool2d", 2, (3, 4, 5, 7))
avgpool_case("avgpool3d", 3, (2, 3, 3, 4, 5))


# ------------------------------------------------------------------ linear ---

def linear_case(name, n, fin, fout):
    @layer_case(name)
    def make(gen):
        m = nn.Linear(fin, fout)
        with torch.no_grad():
            m.weight.copy_(randn(gen, fout, fin, scale=0.3))
            m.bias.copy_(randn(gen, fout, scale=0.3))
        fx = Fixture("linear", "Linear", in_features=fin, out_features=fout, bias=True)
        x = randn(gen, n, fin)
        run_module(fx, m, [("x", x)], gen)
        fx.err64 = f64_error(fx, lambda: m.double()(x.double()))
        return fx


linear_case("linear", 4, 10, 3)
linear_case("linear_wide", 6, 40, 12)


# ------------------------------------------------------------------ losses ---

def loss_fixture(fx, logits, target, loss_fn):
    lt = logits.clone().requires_grad_(True)
    loss = loss_fn(lt, target)
    loss.backward()
    fx.put("inputs", "logits", logits)
    fx.put("inputs", "target", target)
    fx.put("outputs", "loss", loss)
    fx.put("grads", "logits", lt.grad)
    fx.err64 = abs(float(loss) - float(loss_fn(logits.double(), target.double() if target.is_floating_point()
                                                 else target))) / abs(float(loss))


def xent_case(name, shape):
    @layer_case(name)
    def make(gen):
        n, k, spatial = shape[0], shape[1], shape[2:]
        fx = Fixture("xent", "CrossEntropyLoss", reduction="mean", num_classes=k)
        logits = randn(gen, *shape, scale=2.0)
        target = torch.randint(0, k, (n, *spatial), generator=gen, dtype=torch.int64)
        loss_fixture(fx, logits, target, nn.CrossEntropyLoss())
        return fx


xent_case("xent_image", (6, 4))
xent_case("xent_pixel2d", (2, 4, 5, 7))
xent_case("xent_pixel3d", (2, 3, 3, 4, 5))


@layer_case("xent_soft")
def xent_soft_case(gen):
    """Probability targets (mixup): lam * onehot(a) + (1 - lam) * onehot(b)."""
    n, k, lam = 6, 4, 0.7
    fx = Fixture("xent_soft", "CrossEntropyLoss", reduction="mean", num_classes=k, lam=lam)
    logits = randn(gen, n, k, scale=2.0)
    a = torch.randint(0, k, (n,), generator=gen)
    b = torch.randint(0, k, (n,), generator=gen)
    target = lam * F.one_hot(a, k).float() + (1 - lam) * F.one_hot(b, k).float()
    loss_fixture(fx, logits, target, nn.CrossEntropyLoss())
    return fx


def byol_loss(p, z):
    """BYOL: 2 - 2 cos(p, z.detach()), averaged over the batch (z is the target)."""
    p = F.normalize(p, dim=1)
    z = F.normalize(z.detach(), dim=1)
    return (2 - 2 * (p * z).sum(dim=1)).mean()


@layer_case("cosine")
def cosine_case(gen):
    n, d = 5, 16
    fx = Fixture("cosine", "byol_loss", reduction="mean")
    p = randn(gen, n, d)
    z = randn(gen, n, d) + 0.5 * p  # correlated, so the cosines are not all near 0
    pt = p.clone().requires_grad_(True)
    loss = byol_loss(pt, z)
    loss.backward()
    fx.put("inputs", "p", p)
    fx.put("inputs", "z", z)
    fx.put("outputs", "loss", loss)
    fx.put("grads", "p", pt.grad)
    fx.err64 = abs(float(loss) - float(byol_loss(p.double(), z.double()))) / abs(float(loss))
    return fx


@layer_case("mixup")
def mixup_case(gen):
    """out = lam * x + (1 - lam) * x[perm]; soft target likewise from one-hot labels."""
    n, k, lam = 4, 4, 0.3
    fx = Fixture("mixup", "mixup", lam=lam, num_classes=k)
    x = randn(gen, n, 1, 3, 5)
    target = torch.randint(0, k, (n,), generator=gen)
    perm = torch.randperm(n, generator=gen)
    out = lam * x + (1 - lam) * x[perm]
    onehot = F.one_hot(target, k).float()
    soft = lam * onehot + (1 - lam) * onehot[perm]
    fx.put("inputs", "x", x)
    fx.put("inputs", "target", target)
    fx.put("inputs", "perm", perm)
    fx.put("outputs", "y", out)
    fx.put("outputs", "soft_target", soft)
    return fx


# -------------------------------------------------------------- optimizers ---

def optimizer_case(name, kind, steps, n, **hyper):
    """S steps of torch.optim.SGD / Adam on one float32 vector with fixed gradients:
    /params/param (before), /inputs/grads (S, n), /outputs/param (S, n) after each
    step, and the optimiser state after each step (momentum_buffer | exp_avg,
    exp_avg_sq), named as in torch's optimizer.state."""
    @layer_case(name)
    def make(gen):
        fx = Fixture(kind, "SGD" if kind == "sgd" else "Adam", steps=steps, **hyper)
        p = nn.Parameter(randn(gen, n))
        grads = randn(gen, steps, n, scale=0.5)
        fx.put("params", "param", p.detach().clone())
        fx.put("inputs", "grads", grads)
        if kind == "sgd":
            opt = torch.optim.SGD([p], foreach=False, **hyper)
            state_names = ["momentum_buffer"] if hyper.get("momentum", 0) else []
        else:
            h = dict(hyper)
            h["betas"] = (h.pop("beta1"), h.pop("beta2"))
            opt = torch.optim.Adam([p], foreach=False, **h)
            state_names = ["exp_avg", "exp_avg_sq"]
        trace = {k: [] for k in ["param"] + state_names}
        for s in range(steps):
            p.grad = grads[s].clone()
            opt.step()
            trace["param"].append(p.detach().clone())
            for k in state_names:
                trace[k].append(opt.state[p][k].clone())
        for k, v in trace.items():
            fx.put("outputs", k, torch.stack(v))
        return fx


optimizer_case("sgd_plain", "sgd", 3, 37, lr=0.01)  # the U-Net trainer: no momentum, no decay
optimizer_case("sgd_momentum_wd", "sgd", 4, 37, lr=0.1, momentum=0.9, weight_decay=5e-4)  # BYOL's
optimizer_case("adam", "adam", 4, 37, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
optimizer_case("adam_wd", "adam", 4, 37, lr=3e-3, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=1e-2)


@layer_case("ema")
def ema_case(gen):
    """BYOL's target update, as its PyTorch code writes it: t = t * tau + o * (1 - tau)."""
    tau = 0.996
    fx = Fixture("ema", "ema", tau=tau)
    t, o = randn(gen, 37), randn(gen, 37)
    fx.put("params", "target", t)
    fx.put("inputs", "online", o)
    fx.put("outputs", "target", t * tau + o * (1.0 - tau))
    return fx


# ------------------------------------------- whole models with formula weights ---
#
# A full ResNet-18 state_dict is 45 MB: too big to commit. So these fixtures store
# no weights at all. Both sides compute the initial weights from a formula over
# integers and doubles that C and numpy evaluate to the same bits (formula_weights),
# and the fixture keeps, per state_dict key, a few numbers of step 0's gradient and
# of the final weights: sum, sum of squares, max |x| and 16 entries at fixed
# positions. Root attributes: kind = "model_formula", model, in_channels, classes,
# n_blocks, start_filters, mlp_in/hidden/out, weight_seed, steps, optimizer and its
# hyper-parameters. Datasets: /steps/{x,target,loss,logits0}, /eval/{x,logits}
# (eval mode after the steps), /grads0/<key> and /final/<key>, each (3 + 16,).

def formula_weights(model, seed):
    """Initial weights by formula: for key k and element i, h = (i * 2654435761 +
    crc32(k) + seed) mod 2^32, u = h / 2^32, w = (2u - 1) * bound in double, rounded to
    float32. bound = 1/sqrt(fan_in) for conv and linear weights, 0.1 for biases; BN
    weight 1 + (2u - 1) / 10, BN bias (2u - 1) / 10; running stats stay 0 and 1."""
    sd = model.state_dict()
    with torch.no_grad():
        for k, v in sd.items():
            if v.dtype != torch.float32 or k.endswith("running_mean") or k.endswith("running_var"):
                continue
            i = np.arange(v.numel(), dtype=np.uint64)
            h = (i * np.uint64(2654435761) + np.uint64(zlib.crc32(k.encode()) + seed)) & np.uint64(0xFFFFFFFF)
            u = h.astype(np.float64) / 4294967296.0
            is_bn = k.endswith(".weight") and (k[:-len("weight")] + "running_mean") in sd
            is_bn_bias = k.endswith(".bias") and (k[:-len("bias")] + "running_mean") in sd
            if is_bn:
                w = 1.0 + (2.0 * u - 1.0) / 10.0
            elif is_bn_bias or k.endswith(".bias"):
                w = (2.0 * u - 1.0) / 10.0
            else:
                fan_in = v.shape[1] * int(np.prod(v.shape[2:])) if v.dim() > 1 else v.shape[0]
                if "up_blocks" in k and ".up." in k:  # transposed conv weights (Cin, Cout, k...)
                    fan_in = v.shape[1] * int(np.prod(v.shape[2:]))
                w = (2.0 * u - 1.0) * (1.0 / np.sqrt(float(fan_in)))
            v.copy_(torch.from_numpy(w.astype(np.float32).reshape(v.shape)))


def summary(t):
    """sum, sum of squares, max |x| (in double) and 16 entries at fixed positions."""
    a = t.detach().reshape(-1).double().numpy()
    pos = (np.arange(16) * a.size) // 16
    return np.concatenate([[a.sum(), (a * a).sum(), np.abs(a).max()], a[pos]]).astype(np.float64)


class FormulaFixture:
    def __init__(self, model, attrs, optimizer, opt_attrs, xs, targets, eval_x):
        self.model, self.attrs = model, attrs
        self.optimizer, self.opt_attrs = optimizer, opt_attrs
        self.xs, self.targets, self.eval_x = xs, targets, eval_x


def train_formula(ff, model, dtype):
    """Trains `model` (formula weights already set) on ff's steps in `dtype`; returns
    the losses, step 0's logits and gradients, the final state_dict and eval logits."""
    model = model.to(dtype)
    params = list(model.parameters())
    opt = (torch.optim.SGD if ff.optimizer == "sgd" else torch.optim.Adam)(params, **ff.opt_attrs)
    names = dict((id(p), k) for k, p in model.named_parameters())
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    out = dict(losses=[])
    for s in range(len(ff.xs)):
        opt.zero_grad()
        logits = model(ff.xs[s].to(dtype))
        loss = loss_fn(logits, ff.targets[s])
        loss.backward()
        if s == 0:
            out["logits0"] = logits.detach().float()
            out["grads0"] = {names[id(p)]: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                             for p in params}
        out["losses"].append(float(loss))
        opt.step()
    model.eval()
    with torch.no_grad():
        out["eval"] = model(ff.eval_x.to(dtype)).float()
    out["final"] = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    return out


PERTURBED_RUNS = 3


def nudged(model, seed):
    """A copy of model with every weight moved by at most one ulp (down, not, or up, at
    random): another float32 implementation's rounding, as far as training can tell."""
    m = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            direction = (torch.randint(0, 3, p.shape, generator=gen) - 1).to(p.dtype)
            p.copy_(torch.nextafter(p, p + direction * torch.finfo(p.dtype).max))
    return m


def write_formula_fixture(path, case, seed, ff):
    """The float32 run is the reference; the same run in float64 (groups *_f64) stands
    for exact arithmetic, and PERTURBED_RUNS float32 runs from weights nudged by an ulp
    (groups *_p1, *_p2, ...) show how far rounding alone carries each value on this
    model and data: the C test allows itself a multiple of the largest such distance."""
    formula_weights(ff.model, seed)
    run64 = train_formula(ff, copy.deepcopy(ff.model), torch.float64)
    perturbed = [train_formula(ff, nudged(ff.model, k), torch.float32) for k in range(1, PERTURBED_RUNS + 1)]
    run32 = train_formula(ff, ff.model, torch.float32)
    with create_ordered_h5(path) as f:
        attrs = dict(format=FORMAT, format_version=FORMAT_VERSION, kind="model_formula", case=case,
                     torch_version=torch.__version__, weight_seed=seed, steps=len(ff.xs), loss="cross_entropy",
                     optimizer=ff.optimizer, **ff.attrs)
        for k, v in ff.opt_attrs.items():
            attrs[k] = np.asarray(v, dtype=np.float64) if isinstance(v, tuple) else float(v)
        set_attrs(f, attrs)
        steps = f.create_group("steps")
        write_dataset(steps, "x", torch.stack(ff.xs))
        write_dataset(steps, "target", torch.stack(ff.targets))
        ev = f.create_group("eval")
        write_dataset(ev, "x", ff.eval_x)
        runs = [("", run32), ("_f64", run64)] + [("_p%d" % (k + 1), r) for k, r in enumerate(perturbed)]
        f.attrs["perturbed_runs"] = np.int64(PERTURBED_RUNS)
        for suffix, run in runs:
            write_dataset(steps, "loss" + suffix, np.asarray(run["losses"], dtype=np.float64))
            write_dataset(steps, "logits0" + suffix, run["logits0"])
            write_dataset(ev, "logits" + suffix, run["eval"])
            for group in ("grads0", "final"):
                g = f.create_group(group + suffix)
                for k in sorted(run[group]):
                    write_dataset(g, k, summary(run[group][k]))
    return run32["losses"]


def formula_case(name, build, attrs, optimizer, opt_attrs, x_shape, classes, target_shape, steps=5):
    @model_case(name)
    def make(gen):
        xs = [torch.rand(*x_shape, generator=gen) for _ in range(steps)]
        ts = [torch.randint(0, classes, target_shape, generator=gen) for _ in range(steps)]
        return FormulaFixture(build(), attrs, optimizer, opt_attrs, xs, ts, torch.rand(*x_shape, generator=gen))
    return make


import torch_models  # noqa: E402  (sys.path set above)

SGD = dict(lr=0.003, momentum=0.9, weight_decay=5e-4)
ADAM = dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
R18 = dict(model="resnet18", in_channels=1, classes=4)
formula_case("model_resnet18_sgd", lambda: torch_models.ResNet18(1, 4), R18, "sgd", SGD, (4, 1, 32, 32), 4, (4,))
formula_case("model_resnet18_adam", lambda: torch_models.ResNet18(1, 4), R18, "adam", ADAM, (4, 1, 32, 32), 4, (4,))
U2 = dict(model="unet2d", in_channels=1, classes=3, n_blocks=4, start_filters=4)
formula_case("model_unet2d_sgd", lambda: torch_models.UNet(2, 1, 3, 4, 4), U2, "sgd", SGD, (2, 1, 32, 32), 3,
             (2, 32, 32))
formula_case("model_unet2d_adam", lambda: torch_models.UNet(2, 1, 3, 4, 4), U2, "adam", ADAM, (2, 1, 32, 32), 3,
             (2, 32, 32))
U3 = dict(model="unet3d", in_channels=1, classes=4, n_blocks=4, start_filters=2)
formula_case("model_unet3d_adam", lambda: torch_models.UNet(3, 1, 4, 4, 2), U3, "adam", ADAM, (1, 1, 8, 16, 16), 4,
             (1, 8, 16, 16))
MLP = dict(model="mlp", in_channels=1, classes=16, mlp_in=32, mlp_hidden=64, mlp_out=16)
formula_case("model_mlp_sgd", lambda: torch_models.MLP3(32, 64, 16), MLP, "sgd", SGD, (8, 32), 16, (8,))


# --------------------------------------------------------------- inference ---

def write_infer_fixture(path, case, seed, fx):
    """A PyTorch model (its own initialisation, BN running statistics moved by three
    training-mode passes) exported with state_dict_h5.to_h5 to <case>.ckpt.h5, and
    <case>.h5 holding /x and PyTorch's eval-mode output /y (mtneuro infer's layout)."""
    import state_dict_h5
    model, attrs, x, warm = fx
    model.train()
    with torch.no_grad():
        for w in warm:
            model(w)
    model.eval()
    with torch.no_grad():
        y = model(x)
    ckpt = path[:-len(".h5.tmp")] + ".ckpt.h5"  # path is <case>.h5.tmp
    state_dict_h5.to_h5(model.state_dict(), ckpt, model=attrs["model"], in_channels=attrs["in_channels"],
                        classes=attrs["classes"],
                        extra={k: np.int64(v) for k, v in attrs.items() if k in ("n_blocks", "start_filters")})
    with create_ordered_h5(path) as f:
        set_attrs(f, dict(format=FORMAT, format_version=FORMAT_VERSION, kind="infer", case=case,
                          torch_version=torch.__version__, seed=seed, checkpoint=os.path.basename(ckpt), **attrs))
        write_dataset(f, "x", x)
        write_dataset(f, "y", y)


@infer_case("infer_unet2d")
def infer_unet2d(gen):
    torch.manual_seed(seed_of("infer_unet2d"))
    model = torch_models.UNet(2, 1, 3, 4, 4)
    warm = [torch.rand(2, 1, 32, 48, generator=gen) for _ in range(3)]
    attrs = dict(model="unet2d", in_channels=1, classes=3, n_blocks=4, start_filters=4)
    return model, attrs, torch.rand(3, 1, 32, 48, generator=gen), warm


@infer_case("infer_unet3d")
def infer_unet3d(gen):
    torch.manual_seed(seed_of("infer_unet3d"))
    model = torch_models.UNet(3, 1, 4, 4, 2)
    warm = [torch.rand(2, 1, 8, 16, 8, generator=gen) for _ in range(3)]
    attrs = dict(model="unet3d", in_channels=1, classes=4, n_blocks=4, start_filters=2)
    return model, attrs, torch.rand(3, 1, 8, 16, 8, generator=gen), warm


# -------------------------------------------------------------------- main ---

def generate(name, out_dir):
    kind, fn = CASES[name]
    seed = seed_of(name)
    torch.manual_seed(seed)  # for anything that would still touch the global RNG
    gen = torch.Generator().manual_seed(seed)
    path = os.path.join(out_dir, name + ".h5")
    tmp = path + ".tmp"
    if kind == "layer":
        fx = fn(gen)
        write_layer_fixture(tmp, name, seed, fx)
        note = "f32-vs-f64 rel err %.1e" % fx.err64 if hasattr(fx, "err64") else ""
    elif kind == "infer":
        write_infer_fixture(tmp, name, seed, fn(gen))
        note = "with %s.ckpt.h5" % name
    else:
        losses = write_formula_fixture(tmp, name, seed, fn(gen))
        note = "losses " + " ".join("%.4f" % v for v in losses)
    os.replace(tmp, path)
    return path, note


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--only", nargs="*", help="generate only these cases")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args()
    if args.list:
        for k, (kind, _) in CASES.items():
            print(kind, k)
        return
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    os.makedirs(args.out, exist_ok=True)
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit("unknown case(s): %s (see --list)" % ", ".join(unknown))
    if not args.only:  # a full run leaves no stale fixture behind
        for f in os.listdir(args.out):
            if f.endswith(".h5") and f.split(".")[0] not in CASES:
                os.remove(os.path.join(args.out, f))
    total = 0
    for name in names:
        path, note = generate(name, args.out)
        size = os.path.getsize(path)
        total += size
        print("%-26s %6d bytes  %s" % (name, size, note))
    print("%d fixtures, %d bytes, in %s" % (len(names), total, args.out))


if __name__ == "__main__":
    main()
