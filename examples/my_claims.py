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


def _power_mean(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    """Power-mean inequality ‖v‖_p ≤ n^(1/p − 1/q) ‖v‖_q for p ≤ q: relative violation (lhs − rhs)/rhs."""
    scale = raw["v"].abs().max()
    if scale == 0:  # 0 <= 0 holds; dividing by the largest entry keeps powers of tiny vectors from underflowing
        return torch.tensor(-1.0, dtype=torch.float64)
    v = raw["v"] / scale.detach()
    p, q = struct["p"], struct["q"]
    n = v.numel()
    lhs = v.abs().pow(p).sum().pow(1 / p)
    rhs = n ** (1 / p - 1 / q) * v.abs().pow(q).sum().pow(1 / q)
    return (lhs - rhs) / rhs.clamp_min(1e-300)


POWER_MEAN = tc.property_claim(
    "mine.power_mean",
    statement="‖v‖_p ≤ n^(1/p − 1/q) ‖v‖_q for 1 ≤ p ≤ q (Hölder)",
    violation=_power_mean,
    structures=[{"p": 1, "q": 2}, {"p": 2, "q": 4}, {"p": 1, "q": 3}],
    shapes=lambda s: {"v": (6,)},
    max_examples=200,
)

tc.register(L4_SCALING, POWER_MEAN)
