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

Model fixture (root attribute kind = "model"; see write_model_fixture):
    the root holds the INITIAL state_dict exactly as a mtneuro checkpoint (design §5):
    float32 datasets named like the state_dict keys, num_batches_tracked int64,
    attributes model / in_channels / classes, so the file loads as a checkpoint. Plus
    attributes steps, loss, optimizer (sgd|adam) and its hyper-parameters (lr,
    momentum, weight_decay, nesterov, dampening | betas, eps), and
    /steps/x         (S, N, C, ...) the input batch of each step
    /steps/target    (S, N) or (S, N, ...) int64 class targets
    /steps/loss      (S,) the loss of each step, before its update
    /steps/logits0   (N, K, ...) the first step's forward output
    /grads0/<key>    step 0's gradient of every parameter (state_dict key names)
    /final/<key>     the whole state_dict after the S optimizer steps
"""
import argparse
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


def layer_case(name):
    """Registers fn(gen) -> Fixture as the layer fixture `name`."""
    def register(fn):
        assert name not in CASES, name
        CASES[name] = ("layer", fn)
        return fn
    return register


def model_case(name):
    """Registers fn(gen) -> ModelFixture as the whole-model fixture `name`."""
    def register(fn):
        assert name not in CASES, name
        CASES[name] = ("model", fn)
        return fn
    return register


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


# ------------------------------------------------------------ whole models ---

class ModelFixture:
    """A model, its optimiser and S steps of data; see write_model_fixture."""

    def __init__(self, model, name, in_channels, classes, optimizer, opt_attrs, xs, targets):
        self.model, self.name = model, name
        self.in_channels, self.classes = in_channels, classes
        self.optimizer, self.opt_attrs = optimizer, opt_attrs
        self.xs, self.targets = xs, targets


def write_model_fixture(path, case, seed, mf):
    """Trains mf.model in training mode for len(mf.xs) steps of cross-entropy and
    writes the initial state_dict (as a checkpoint), the per-step data and losses,
    step 0's logits and gradients, and the final state_dict."""
    model = mf.model
    init = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    if mf.optimizer == "sgd":
        opt = torch.optim.SGD(params, **mf.opt_attrs)
    elif mf.optimizer == "adam":
        opt = torch.optim.Adam(params, **mf.opt_attrs)
    else:
        raise ValueError(mf.optimizer)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    losses, grads0, logits0 = [], None, None
    names = dict((id(p), k) for k, p in model.named_parameters())
    for s in range(len(mf.xs)):
        opt.zero_grad()
        logits = model(mf.xs[s])
        loss = loss_fn(logits, mf.targets[s])
        loss.backward()
        if s == 0:
            logits0 = logits.detach().clone()
            grads0 = {names[id(p)]: p.grad.clone() for p in params}
        losses.append(float(loss))
        opt.step()
    with create_ordered_h5(path) as f:  # root keys in state_dict order
        attrs = dict(format=FORMAT, format_version=FORMAT_VERSION, kind="model", case=case, model=mf.name,
                     in_channels=mf.in_channels, classes=mf.classes, torch_version=torch.__version__, seed=seed,
                     steps=len(mf.xs), loss="cross_entropy", optimizer=mf.optimizer)
        for k, v in mf.opt_attrs.items():
            attrs[k] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        set_attrs(f, attrs)
        for k in init:  # state_dict order, exactly PyTorch's keys
            write_dataset(f, k, init[k])
        steps = f.create_group("steps")
        write_dataset(steps, "x", torch.stack(mf.xs))
        write_dataset(steps, "target", torch.stack(mf.targets))
        write_dataset(steps, "loss", np.asarray(losses, dtype=np.float32))
        write_dataset(steps, "logits0", logits0)
        g = f.create_group("grads0")
        for k in sorted(grads0):
            write_dataset(g, k, grads0[k])
        g = f.create_group("final")
        for k, v in model.state_dict().items():
            write_dataset(g, k, v)
    return losses


class TinyCNN(nn.Module):
    """A few-hundred-parameter net that exercises the model-fixture format: conv ->
    BN -> ReLU -> avg pool -> Linear. The lead's ResNet18 / U-Net cases replace it."""

    def __init__(self, in_channels=1, classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 4, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.relu(self.bn1(self.conv1(x)))), 1))


def randomize(model, gen, scale=0.3):
    """Overwrites every float parameter with seeded normals (module initialisers use
    the global RNG; this keeps each case self-contained)."""
    with torch.no_grad():
        for k, p in model.named_parameters():
            if k.endswith("bn1.weight") or ".norm" in k and k.endswith("weight"):
                p.copy_(1.0 + randn(gen, *p.shape, scale=0.1))
            else:
                p.copy_(randn(gen, *p.shape, scale=scale))


@model_case("model_tinycnn_sgd")
def tinycnn_sgd_case(gen):
    model = TinyCNN(1, 3)
    randomize(model, gen)
    xs = [randn(gen, 4, 1, 6, 6) for _ in range(3)]
    ts = [torch.randint(0, 3, (4,), generator=gen) for _ in range(3)]
    return ModelFixture(model, "tinycnn", 1, 3, "sgd", dict(lr=0.1, momentum=0.9, weight_decay=5e-4), xs, ts)


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
    else:
        losses = write_model_fixture(tmp, name, seed, fn(gen))
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
            if f.endswith(".h5") and f[:-3] not in CASES:
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
