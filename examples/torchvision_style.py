"""A ResNet and a VGG written the way torchvision writes them, at a size a CPU measures in seconds.

Both follow torchvision's source (``torchvision/models/resnet.py``: ``BasicBlock``, ``conv3x3`` without bias,
``BatchNorm2d``, ``ReLU(inplace=True)``, a 1×1 downsample, ``AdaptiveAvgPool2d((1, 1))``, ``torch.flatten(x, 1)``,
a biased ``fc``; ``torchvision/models/vgg.py``: biased 3×3 convolutions, ``MaxPool2d(2, 2)``, a classifier with
``Dropout`` and ``x.view``-style flattening), with fewer channels and blocks. What converts and what does not:

* ``resnet(norm=True)``, the torchvision original: one error lists every BatchNorm
  (``theorycheck predict --module examples.torchvision_style:resnet --input 3x32x32``); it is measured as a
  module family (``examples/real_models.toml``).
* ``vgg(bias=True)`` and ``resnet(norm=False)`` / ``vgg(bias=False)``: convert on the first try (Dropout,
  ``inplace`` ReLUs, the flatten written as ``view`` are read; biases are read as zero, their value at He
  initialisation, and named in the notes), so (H) and the kernel level predict them.

The post-activation residual ``relu(x + f(x))`` of ``BasicBlock`` converts, and (H) notes where H1 is
implausible on it (a ReLU of ``relu(u) + b``); the kernel level refuses it (issue 27).
"""

from __future__ import annotations

import torch
from torch import nn


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """torchvision's ``conv3x3``: 3×3, padding 1, no bias."""
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))``."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, *, norm: bool = True) -> None:
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm else (lambda c: nn.Identity())
        self.conv1 = conv3x3(c_in, c_out, stride)
        self.bn1 = norm_layer(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(c_out, c_out)
        self.bn2 = norm_layer(c_out)
        self.downsample: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), norm_layer(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision's ``ResNet`` with two stages of one ``BasicBlock`` each and a 3×3 stem (CIFAR-style)."""

    def __init__(self, width: int = 8, classes: int = 10, *, norm: bool = True) -> None:
        super().__init__()
        self.conv1 = conv3x3(3, width)
        self.bn1 = nn.BatchNorm2d(width) if norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(width, width, norm=norm)
        self.layer2 = BasicBlock(width, 2 * width, stride=2, norm=norm)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width, classes, bias=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class VGG(nn.Module):
    """torchvision's ``VGG``: 3×3 convolutions with ReLU, 2×2 max-pooling, a classifier with Dropout."""

    def __init__(self, cfg: tuple[int | str, ...] = (8, "M", 16, "M"), r: int = 16, *, bias: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                r //= 2
            else:
                layers += [nn.Conv2d(c, int(v), kernel_size=3, padding=1, bias=bias), nn.ReLU(inplace=True)]
                c = int(v)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(c * r * r, 32, bias=bias),
            nn.ReLU(True),
            nn.Dropout(p=0.5),
            nn.Linear(32, 10, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


def resnet(r: int | None = None, width: int = 8, norm: bool = True) -> nn.Module:
    """The torchvision-style ResNet (``norm=False``: no BatchNorm, no bias; converts). ``r`` is the sweep's
    resolution, which the network does not depend on (global average pooling)."""
    return ResNet(width, norm=norm)


def plain_resnet(r: int | None = None, width: int = 8) -> nn.Module:
    return ResNet(width, norm=False)


def vgg(r: int = 16, bias: bool = True) -> nn.Module:
    """The torchvision-style VGG for inputs of 3×r×r (its classifier's fan-in depends on r)."""
    return VGG(r=r, bias=bias)


def plain_vgg(r: int = 16) -> nn.Module:
    return VGG(r=r, bias=False)
