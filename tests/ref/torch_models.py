"""torch_models.py — the MTNeuro networks written by hand in PyTorch (torchvision is
not installed), with PyTorch's module names, so their state_dict keys are the ones
mtneuro's checkpoints use (design §5). Used by bench_torch.py and, later, by the
whole-model fixtures of make_fixtures.py.

  resnet18(in_channels=1, classes=4)   MTNeuro's ResNet-18 variant: torchvision's
        resnet18 layout (conv1, bn1, layer1..layer4 of BasicBlocks, fc) with a 3x3
        stride-1 first conv without bias, no max-pool, adaptive average pool to a
        512-d feature, Linear(512, classes).
  UNet(dim, in_channels=1, classes=4)  the reference U-Net (models/unet.py of the
        MTNeuro code, after johschmidt42's tutorial): 4 levels of 32-64-128-256
        filters; block = conv3x3 -> ReLU -> BN -> conv3x3 -> ReLU -> BN; max-pool 2
        after the first three; up block = ConvTranspose(k2, s2) -> ReLU -> BN ->
        cat(up, skip) -> block; final 1x1 conv. Module names down_blocks.i.conv1 ...,
        up_blocks.i.up / conv0 / conv1 / conv2 / norm0..2, conv_final as in the
        reference (conv0 exists there but is only used by non-transposed up modes).
"""
import torch
from torch import nn


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, + shortcut, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


class ResNet18(nn.Module):
    def __init__(self, in_channels=1, classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        widths = [64, 128, 256, 512]
        cin = 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, "layer%d" % (i + 1), nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def features(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)  # (N, 512)

    def forward(self, x):
        return self.fc(self.features(x))


def resnet18(in_channels=1, classes=4):
    return ResNet18(in_channels, classes)


def _conv(dim, cin, cout, k, padding):
    return (nn.Conv2d if dim == 2 else nn.Conv3d)(cin, cout, k, 1, padding, bias=True)


def _bn(dim, c):
    return (nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d)(c)


class DownBlock(nn.Module):
    def __init__(self, dim, cin, cout, pooling):
        super().__init__()
        self.conv1 = _conv(dim, cin, cout, 3, 1)
        self.conv2 = _conv(dim, cout, cout, 3, 1)
        self.pool = (nn.MaxPool2d if dim == 2 else nn.MaxPool3d)(2, 2) if pooling else None
        self.act1 = nn.ReLU()
        self.act2 = nn.ReLU()
        self.norm1 = _bn(dim, cout)
        self.norm2 = _bn(dim, cout)

    def forward(self, x):
        y = self.norm1(self.act1(self.conv1(x)))
        y = self.norm2(self.act2(self.conv2(y)))
        skip = y
        if self.pool is not None:
            y = self.pool(y)
        return y, skip


class UpBlock(nn.Module):
    def __init__(self, dim, cin, cout):
        super().__init__()
        self.up = (nn.ConvTranspose2d if dim == 2 else nn.ConvTranspose3d)(cin, cout, 2, 2)
        self.conv0 = _conv(dim, cin, cout, 1, 0)  # unused with transposed up-sampling, kept for the keys
        self.conv1 = _conv(dim, 2 * cout, cout, 3, 1)
        self.conv2 = _conv(dim, cout, cout, 3, 1)
        self.act0 = nn.ReLU()
        self.act1 = nn.ReLU()
        self.act2 = nn.ReLU()
        self.norm0 = _bn(dim, cout)
        self.norm1 = _bn(dim, cout)
        self.norm2 = _bn(dim, cout)

    def forward(self, skip, x):
        up = self.norm0(self.act0(self.up(x)))
        y = torch.cat((up, skip), 1)  # the reference concatenates (up, skip) in that order
        y = self.norm1(self.act1(self.conv1(y)))
        return self.norm2(self.act2(self.conv2(y)))


class UNet(nn.Module):
    def __init__(self, dim=2, in_channels=1, classes=4, n_blocks=4, start_filters=32):
        super().__init__()
        down, up = [], []
        cout = in_channels
        for i in range(n_blocks):
            cin, cout = cout, start_filters * 2 ** i
            down.append(DownBlock(dim, cin, cout, i < n_blocks - 1))
        for i in range(n_blocks - 1):
            cin, cout = cout, cout // 2
            up.append(UpBlock(dim, cin, cout))
        self.down_blocks = nn.ModuleList(down)
        self.up_blocks = nn.ModuleList(up)
        self.conv_final = _conv(dim, cout, classes, 1, 0)

    def forward(self, x):
        skips = []
        for block in self.down_blocks:
            x, skip = block(x)
            skips.append(skip)
        for i, block in enumerate(self.up_blocks):
            x = block(skips[-(i + 2)], x)
        return self.conv_final(x)


class MLP3(nn.Module):
    """The projector / predictor of MTNeuro's BYOL and MYOW: Linear (bias) -> BatchNorm1d
    -> ReLU -> Linear (no bias), module names net.0 / net.1 / net.3."""

    def __init__(self, cin, hidden, cout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cin, hidden, bias=True), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, cout, bias=False))

    def forward(self, x):
        return self.net(x)


MODELS = {
    "resnet18": lambda in_channels=1, classes=4: ResNet18(in_channels, classes),
    "unet2d": lambda in_channels=1, classes=4: UNet(2, in_channels, classes),
    "unet3d": lambda in_channels=1, classes=4: UNet(3, in_channels, classes),
}


def build(name, in_channels=1, classes=4):
    """A model of MODELS by mtneuro's name (the checkpoint attribute `model`)."""
    return MODELS[name](in_channels=in_channels, classes=classes)
