"""Attacks and robustness bounds: FGSM (ℓ∞), the normalised-gradient ℓ2 step, a minimal-norm ℓ2 attack
(DeepFool + bisection, self-verified) and Peck et al.'s chained lower bound, in float64.

``first_order_scan`` measures, over a grid of ε, how the actual loss increase
of an attack compares with its first-order prediction ``ε‖∂ₓL‖_q`` (Lemma 1 of
Simon-Gabriel et al. 2019) and with the penalised loss of Proposition 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theorycheck.attacks._bounds import ChainBound, chained_bound
from theorycheck.attacks._minimal import MinimalPerturbation, minimal_l2_perturbation
from theorycheck.attacks._robustness import bound_report, draw_networks
from theorycheck.graph import Architecture, parse_input_shape
from theorycheck.sampler._program import compile_program
from theorycheck.sampler._rng import RNG_BLOCK, STREAM_CLASS, block_generator

__all__ = [
    "EPSILONS",
    "ChainBound",
    "FirstOrderScan",
    "MinimalPerturbation",
    "attack_direction",
    "bound_report",
    "chained_bound",
    "first_order_scan",
    "minimal_l2_perturbation",
]

#: ε from 1e-1 down to 1e-10, three points per decade: far enough to reach float64's rounding floor
EPSILONS = np.logspace(-1, -10, 28)


def attack_direction(grad: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The ℓp-ball maximiser of ``g·δ`` (unit radius) and the dual norm ``‖g‖_q``.

    p = ∞: ``δ = sign(g)`` (FGSM), ``‖g‖₁``; p = 2: ``δ = g/‖g‖₂``, ``‖g‖₂`` (per row).
    """
    if math.isinf(p):
        return torch.sign(grad), grad.abs().sum(dim=1)
    norm = grad.norm(dim=1, keepdim=True)
    return grad / norm.clamp_min(1e-300), norm.squeeze(1)


@dataclass(frozen=True)
class FirstOrderScan:
    """Per network: ``ΔL(ε) = L(x + εδ) − L(x)`` and ``ε‖g‖_q`` over :data:`EPSILONS`."""

    epsilons: np.ndarray
    delta_loss: np.ndarray  # (networks, len(epsilons))
    first_order: np.ndarray  # (networks, len(epsilons))
    loss: np.ndarray  # (networks,)


def first_order_scan(
    arch: Architecture | str,
    input_shape: str,
    *,
    networks: int,
    seed: int,
    start: int = 0,
    p: float = math.inf,
    direction: str = "attack",
) -> FirstOrderScan:
    """Scan ε for networks ``start…`` of ``seed`` (float64, cross-entropy with a random class).

    ``direction="random"`` replaces the attack by a random sign/unit vector (a mutant that is not the
    dual-norm maximiser, used as a negative control).
    """
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape)
    program = compile_program(arch, shape)
    weights, x = draw_networks(program, seed, start, networks)
    x.requires_grad_(True)
    cpu = torch.device("cpu")
    blocks = range(start // RNG_BLOCK, (start + networks + RNG_BLOCK - 1) // RNG_BLOCK)
    sl = slice(start - blocks.start * RNG_BLOCK, start - blocks.start * RNG_BLOCK + networks)
    c = torch.cat(
        [
            torch.randint(0, program.n_logits, (RNG_BLOCK,), generator=block_generator(seed, STREAM_CLASS, b, cpu))
            for b in blocks
        ]
    )[sl]
    rows = torch.arange(networks)

    def loss(inp: torch.Tensor) -> torch.Tensor:
        return -torch.log_softmax(program.forward(inp, weights), dim=1)[rows, c]

    base = loss(x)
    (grad,) = torch.autograd.grad(base.sum(), x)
    g = grad.reshape(networks, -1)
    delta, dual = attack_direction(g, p)
    if direction == "random":
        gen = block_generator(seed, 7, start, cpu)
        noise = torch.randn(g.shape, generator=gen, dtype=torch.float64)
        delta, _ = attack_direction(noise, p)
    base = base.detach()
    out = np.zeros((networks, len(EPSILONS)))
    with torch.no_grad():
        for j, eps in enumerate(EPSILONS):
            out[:, j] = (loss(x.detach() + float(eps) * delta.reshape(x.shape)) - base).numpy()
    first = np.outer(dual.numpy(), EPSILONS)
    return FirstOrderScan(EPSILONS, out, first, base.numpy())
