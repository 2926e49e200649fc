"""A plugin module: a claim with a statistic of our own, and a property claim.

A study loads it with ``[study] plugins = ["examples.my_claims"]``; an installed package would declare it under
the entry-point group ``theorycheck.claims`` instead.
"""

from __future__ import annotations

import torch

import theorycheck.claims as tc


@tc.statistic("grad_l4", description="‖∂ₓf‖₄ per network")
def grad_l4(grad: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, *input_shape), (B, K), (B, *input_shape) -> (B,): the l4 norm of each network's input gradient."""
    return grad.flatten(1).abs().pow(4).sum(1).pow(0.25)


# For Gaussian-like coordinates of size d^-1/2, ‖g‖₄ = (Σ g_i⁴)^¼ ∝ (d · d⁻²)^¼ = d^-1/4.
L4_SCALING = tc.scaling(
    "mine.fc_l4",
    statement="The l4 norm of an MLP's input gradient scales as d^(-1/4)",
    arch="dense(256) relu dense(256) relu dense(10)",
    input="{d}",
    sweep={"d": [64, 256, 1024, 4096]},
    statistic="grad_l4",
    slope=-0.25,
    networks=2000,
)


def _normalised(raw: dict[str, torch.Tensor]) -> torch.Tensor:
    """v / max|v_i| (both sides are 1-homogeneous): powers of tiny vectors would underflow otherwise."""
    v = raw["v"]
    top = v.abs().max().detach()
    return v / top if top > 0 else v


def _power_mean_lhs(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return _normalised(raw).abs().pow(struct["p"]).sum().pow(1 / struct["p"])


def _power_mean_rhs(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    v, p, q = _normalised(raw), struct["p"], struct["q"]
    return v.numel() ** (1 / p - 1 / q) * v.abs().pow(q).sum().pow(1 / q)


# stated by its two sides: the toolkit writes the relative violation, and its automatic control (the inequality
# tightened by 1% of |lhs| + |rhs|) is false near the equality case |v_1| = … = |v_n| ≠ 0, never at v = 0
POWER_MEAN = tc.property_claim(
    "mine.power_mean",
    statement="‖v‖_p ≤ n^(1/p − 1/q) ‖v‖_q for 1 ≤ p ≤ q (Hölder)",
    lhs=_power_mean_lhs,
    rhs=_power_mean_rhs,
    structures=[{"p": 1, "q": 2}, {"p": 2, "q": 4}, {"p": 1, "q": 3}],
    shapes=lambda s: {"v": (6,)},
    max_examples=200,
)

tc.register(L4_SCALING, POWER_MEAN)
