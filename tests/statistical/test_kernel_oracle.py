"""An oracle for the kernel level that shares no code with it: wide networks in plain float64 torch.

The oracle reads only the layer list of an architecture, draws every network's weights itself
(``torch.randn · √(gain/fan_in)``), runs the network with plain tensor operations and takes the input
gradient with autograd. It never calls the sampler or the theory engine. On generated dense nets with
branches (residual sums before and after activations, concatenations of ReLU and linear groups, a ReLU on a
ReLU), the kernel level must either agree with it or refuse. The planted bug, the Gaussian ReLU formula
applied to a merged input ``relu(u) + b``, is caught by the same comparison.

Widths are large and ReLU nets with centred pre-activations have width-independent gradient moments, so
the test has no finite-width allowance: the interval is the Monte Carlo's own (z = 3.29, two-sided 0.1%,
for up to ten generated architectures).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theorycheck.graph import Activation, Add, Architecture, Concat, Dense, Node
from theorycheck.theory import kernel_predict

SEED = 20261202
WIDTH = 128
NETWORKS = 3000
CHUNK = 500
Z = 3.29
D = 6


def _forward(layers: tuple[Node, ...], h: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``h``: (B, n) values of B networks; fresh weights for every network."""
    for node in layers:
        if isinstance(node, Dense):
            fan = h.shape[1]
            w = torch.randn(h.shape[0], node.out, fan, generator=gen, dtype=torch.float64)
            h = torch.einsum("boi,bi->bo", w * math.sqrt(node.init.gain / fan), h)
        elif isinstance(node, Activation):
            h = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[node.fn](h)
        elif isinstance(node, Add):
            outs = [_forward(b, h, gen) for b in node.branches]
            h = torch.stack(outs).sum(dim=0)
        elif isinstance(node, Concat):
            h = torch.cat([_forward(b, h, gen) for b in node.branches], dim=1)
        else:  # pragma: no cover - the strategy below draws only these nodes
            raise TypeError(node.kind)
    return h


def monte_carlo_sq_norm(arch: str, x: np.ndarray, *, networks: int, seed: int) -> tuple[float, float]:
    """Mean and standard error of ‖∂ₓf₀‖₂² over ``networks`` independent networks at the fixed input ``x``."""
    layers = Architecture.parse(arch).layers
    gen = torch.Generator().manual_seed(seed)
    values = []
    for lo in range(0, networks, CHUNK):
        b = min(CHUNK, networks - lo)
        xs = torch.tensor(x, dtype=torch.float64).expand(b, -1).clone().requires_grad_(True)
        out = _forward(layers, xs, gen)[:, 0]
        (grad,) = torch.autograd.grad(out.sum(), xs)
        values.append((grad**2).sum(dim=1))
    v = torch.cat(values).numpy()
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def _x() -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal(D)


W, H = WIDTH, WIDTH // 2
#: blocks that map a centred value of width W to a value of width W (some end non-negative, some signed)
_BLOCKS = [
    "relu dense(W)",
    "relu relu dense(W)",
    "residual{relu dense(W) relu dense(W)}",  # pre-activation: a sum of two centred Gaussians
    "relu residual{dense(W) relu dense(W)}",  # post-activation: relu(u) + b, refused if an activation follows
    "relu concat{dense(H) relu | dense(H)}",  # a non-negative and a centred group
    "concat{relu dense(H) relu | dense(H)}",
    "relu concat{dense(H) relu | dense(H) relu}",
]


@st.composite
def branch_nets(draw: Any) -> str:
    blocks = draw(st.lists(st.sampled_from(_BLOCKS), min_size=1, max_size=3))
    tail = draw(st.sampled_from(["relu dense(1)", "dense(1)", "relu relu dense(1)"]))
    text = " ".join(["dense(W)", *blocks, tail])
    return text.replace("(W)", f"({W})").replace("(H)", f"({H})")


@pytest.mark.statistical
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(branch_nets())
def test_kernel_level_agrees_with_wide_networks_or_refuses(arch: str) -> None:
    x = _x()
    k = kernel_predict(arch, str(D), x)
    if not k.covered:
        assert k.reason is not None and "not covered at kernel level" in k.reason
        return
    assert k.grad_sq_norm is not None
    mean, se = monte_carlo_sq_norm(arch, x, networks=NETWORKS, seed=SEED)
    print(f"{arch}: kernel {k.grad_sq_norm:.5f}, wide nets {mean:.5f} ± {Z * se:.5f}")
    assert abs(mean - k.grad_sq_norm) <= Z * se


RESIDUAL = f"dense({W}) relu residual{{dense({W}) relu dense({W})}} relu dense(1)"
CONCAT = f"dense({W}) relu concat{{dense({H}) relu | dense({H})}} relu dense(1)"


@pytest.mark.statistical
def test_planted_gaussian_relu_on_merged_inputs_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the old bugs back (a ReLU on any input takes the Gaussian formula, groups are never non-negative):
    the kernel level then answers on the residual net and on the concat net, and the oracle rejects both."""
    from theorycheck.theory import _kernel

    x = _x()
    monkeypatch.setattr(_kernel, "_activation_uncovered", lambda fr: None)
    monkeypatch.setattr(_kernel, "_passes_through", lambda fn, law: False)
    for arch in (RESIDUAL, CONCAT):
        wrong = kernel_predict(arch, str(D), x)
        assert wrong.covered and wrong.grad_sq_norm is not None
        mean, se = monte_carlo_sq_norm(arch, x, networks=NETWORKS, seed=SEED)
        print(f"planted bug on {arch}: kernel {wrong.grad_sq_norm:.5f}, wide nets {mean:.5f} ± {Z * se:.5f}")
        assert abs(mean - wrong.grad_sq_norm) > Z * se
