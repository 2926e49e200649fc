"""Modules that ``from_module`` must refuse, for the bad-input table (``--module tests.cli._bad_modules:NAME``)."""

from __future__ import annotations

import torch
from torch import nn


def bn_and_layernorm() -> nn.Module:
    """Three blocking parts of two kinds: two BatchNorm2d and a LayerNorm (the biases convert, read as zero)."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Flatten(),
        nn.LayerNorm(4 * 8 * 8),
        nn.Linear(4 * 8 * 8, 2),
    )


def replicate_pad() -> nn.Module:
    return nn.Sequential(nn.ReplicationPad2d(1), nn.Conv2d(3, 4, 3, bias=False), nn.Flatten(), nn.Linear(256, 1))


def grouped() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 6, 3, groups=3, bias=False), nn.Flatten(), nn.Linear(216, 1, bias=False))


def pad_before_relu() -> nn.Module:
    return nn.Sequential(nn.ZeroPad2d(1), nn.ReLU(), nn.Conv2d(3, 4, 3, bias=False), nn.Flatten(), nn.Linear(256, 1))


class _MixesExamples(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.fc = nn.Linear(128, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).view(-1, 128))


def mixes_examples() -> nn.Module:
    return _MixesExamples()


def tutorial() -> nn.Module:
    """Converts (for the wrong-shape row): a 3x8x8 CNN with a view to flatten."""
    return nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(3, 4, 3, bias=False), nn.Flatten(), nn.Linear(256, 1, bias=False)
    )
