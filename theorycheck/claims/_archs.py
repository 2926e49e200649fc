"""Shared pieces of the catalogue's claims: the papers' architectures, column readers, common parameters."""

from __future__ import annotations

import math
from typing import Any

from theorycheck.claims._params import Param, network_count, sweep

__all__ = ["DIMS", "ID_EXACT", "RES", "ROLES", "cnn", "col", "coord_size", "fc", "networks", "pooling_block"]

ROLES = ("main", "control")
ID_EXACT = 1e-12  # identities of the graph, in float64


def fc(width: int, depth: int, *, first: str = "", classes: int = 10, logit_gain: str = ",gain=1") -> str:
    """A fully connected ReLU net: ``depth`` hidden layers of ``width``, ``classes`` logits."""
    rest = f" [dense({width}) relu]*{depth - 1}" if depth > 1 else ""
    return f"dense({width}{first}) relu{rest} dense({classes}{logit_gain})"


def cnn(
    channels: int,
    *,
    padding: str = "circular",
    stride2: bool = False,
    head: str = "flatten",
    last: str = ",gain=1",
    layers: int = 2,
) -> str:
    """``layers`` 3×3 conv-ReLU layers (the last strided by 2 with ``stride2``), a head and 10 logits."""
    pad = "" if padding == "zero" else f",padding={padding}"
    convs = [f"conv({channels},3{pad}) relu"] * layers
    if stride2:
        convs[-1] = f"conv({channels},3,stride=2{pad}) relu"
    return f"{' '.join(convs)} {head} dense(10{last})"


def pooling_block(c: int, variant: str) -> str:
    """Figure 3's block: two 3×3 convolutions, the second followed by 2×2 ``avg`` or ``max`` pooling, or itself of
    stride 2 (``strided``): the three ways of halving the resolution that the paper compares."""
    if variant == "strided":
        return f"conv({c},3) relu conv({c},3,stride=2) relu"
    return f"conv({c},3) relu conv({c},3) relu {variant}pool(2)"


def dim(shape: str) -> int:
    return math.prod(int(p) for p in shape.split("x"))


def coord_size(grad: str) -> Any:
    """Mean absolute coordinate ``‖g‖₁ / d`` per network."""
    return lambda df, d: df[f"{grad}.l1"].to_numpy() / d


def col(name: str) -> Any:
    return lambda df, d=None: df[name].to_numpy()


def networks(default: int) -> Param:
    return Param(default, "networks per cell", network_count)


DIMS = Param([64, 256, 1024, 4096], "input dimensions d", sweep(2))
RES = Param([8, 16, 32], "image resolutions r (inputs 3×r×r)", sweep(2))
