"""Your PyTorch models as theorycheck families (``theorycheck predict --module examples.modules:paper_cnn``).

``paper_cnn`` and ``plain_resnet`` convert to graphs (torch.fx), so the theory engine predicts them;
``bn_resnet`` has BatchNorm, which the DSL cannot express (its biases convert, read as zero): it is measured as a
module family.
"""

from __future__ import annotations

import torch
from torch import nn


def paper_cnn(c: int = 8) -> nn.Module:
    """The paper's CNN: two circular 3x3 convolutions, the second strided, a flattened head (inputs 3x16x16)."""
    return nn.Sequential(
        nn.Conv2d(3, c, 3, padding=1, padding_mode="circular", bias=False),
        nn.ReLU(),
        nn.Conv2d(c, c, 3, stride=2, padding=1, padding_mode="circular", bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c * 8 * 8, 10, bias=False),
    )


class Block(nn.Module):
    """x + conv(relu(conv(relu(x)))), optionally with BatchNorm and biases."""

    def __init__(self, c: int, bn: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, padding_mode="circular", bias=bn)]
        if bn:
            layers.append(nn.BatchNorm2d(c))
        layers += [nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, padding_mode="circular", bias=bn)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet(nn.Module):
    """A small ResNet: a stem, ``blocks`` residual blocks, global average pooling, 10 logits."""

    def __init__(self, c: int = 8, blocks: int = 2, bn: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, padding_mode="circular", bias=bn)
        self.blocks = nn.Sequential(*(Block(c, bn) for _ in range(blocks)))
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10, bias=bn))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def plain_resnet(r: int | None = None, c: int = 8, blocks: int = 2) -> nn.Module:
    """The ResNet without BatchNorm and biases: expressible, so (H) and the kernel level predict it. (A claim's
    factory receives every sweep variable; this network does not depend on the resolution ``r``.)"""
    return ResNet(c, blocks, bn=False)


def bn_resnet(r: int | None = None, c: int = 8, blocks: int = 2) -> nn.Module:
    """The ResNet with BatchNorm and biases: measured only."""
    return ResNet(c, blocks, bn=True)
