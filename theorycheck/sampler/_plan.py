"""The plan of one sampling run, and the draws every step makes from it: inputs, loss classes, and the
backward vectors that turn logits into the requested targets (a logit, every logit, or the cross-entropy)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from theorycheck.errors import TheorycheckError
from theorycheck.sampler._program import GROUPED, ConvSetup, Program
from theorycheck.sampler._rng import (
    RNG_BLOCK,
    STREAM_CLASS,
    STREAM_FIXED_INPUT,
    STREAM_INPUT,
    block_generator,
)
from theorycheck.sampler._rows import Reducer

__all__ = ["Plan", "backward_vectors", "draw_classes", "draw_inputs", "target_names"]


def target_names(targets: Sequence[str], output: int, n_logits: int) -> list[tuple[str, str, int]]:
    """(gradient name, kind, logit index) for each backward vector."""
    names: list[tuple[str, str, int]] = []
    for t in targets:
        if t == "logit":
            names.append(("logit", "logit", output))
        elif t == "logits":
            names.extend((f"logit{k}", "logit", k) for k in range(n_logits))
        elif t == "loss":
            names.append(("loss", "loss", -1))
        else:
            raise TheorycheckError(f"unknown target {t!r}; use logit, logits or loss")
    return names


@dataclass
class Plan:
    program: Program
    device: torch.device
    dtype: torch.dtype
    seed: int
    names: list[tuple[str, str, int]]
    loss_class: str | int
    inputs: str | torch.Tensor
    conditional: bool
    q: float | None
    maps: bool
    conv: ConvSetup = GROUPED
    fgsm: float | None = None
    input_seed: int = 0
    #: CUDA: every step computes the whole aligned window of this many networks (see ``sample``)
    window: int | None = None
    #: user statistics, one row each per gradient (``theorycheck.sampler._rows.Reducer``)
    reducers: Mapping[str, Reducer] | None = None


def draw_inputs(plan: Plan, blocks: range) -> torch.Tensor:
    shape = plan.program.input_shape
    inputs = plan.inputs
    if isinstance(inputs, torch.Tensor):
        if tuple(inputs.shape) == shape:
            x = inputs.expand(len(blocks) * RNG_BLOCK, *shape)
        else:
            lo, hi = blocks.start * RNG_BLOCK, blocks.stop * RNG_BLOCK
            rows = inputs[lo:hi]
            if rows.shape[0] < hi - lo:  # pad the last block; the extra rows are dropped
                rows = torch.cat([rows, rows[-1:].expand(hi - lo - rows.shape[0], *shape)])
            x = rows
        return x.to(plan.device, plan.dtype)
    if inputs == "fixed":
        gen = block_generator(plan.input_seed, STREAM_FIXED_INPUT, 0, plan.device)
        x = torch.randn((1, *shape), generator=gen, device=plan.device).expand(len(blocks) * RNG_BLOCK, *shape)
        return x.to(plan.dtype)
    parts = []
    for b in blocks:
        gen = block_generator(plan.seed, STREAM_INPUT, b, plan.device)
        if inputs == "gaussian":
            parts.append(torch.randn((RNG_BLOCK, *shape), generator=gen, device=plan.device))
        else:
            parts.append((torch.rand((RNG_BLOCK, *shape), generator=gen, device=plan.device) * 2 - 1) * math.sqrt(3))
    return torch.cat(parts).to(plan.dtype)


def draw_classes(plan: Plan, blocks: range, logits: torch.Tensor, sl: slice) -> torch.Tensor:
    if plan.loss_class == "argmax":
        return logits.argmax(dim=1)
    if plan.loss_class == "random":
        k = logits.shape[1]
        parts = [
            torch.randint(
                0,
                k,
                (RNG_BLOCK,),
                generator=block_generator(plan.seed, STREAM_CLASS, b, plan.device),
                device=plan.device,
            )
            for b in blocks
        ]
        return torch.cat(parts)[sl]
    return torch.full((logits.shape[0],), int(plan.loss_class), device=plan.device, dtype=torch.long)


def backward_vectors(plan: Plan, logits: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
    """``C (B, K, T)``: the gradient of target t is ``Σ_k C[:, k, t] ∇f_k``."""
    b, k = logits.shape
    c = torch.zeros(b, k, len(plan.names), device=plan.device, dtype=plan.dtype)
    for t, (_, kind, idx) in enumerate(plan.names):
        if kind == "logit":
            c[:, idx, t] = 1.0
        else:
            assert classes is not None
            q = torch.softmax(logits.detach().to(torch.float64), dim=1)
            q[torch.arange(b), classes] -= 1.0  # ∂L/∂f_k = q_k − δ_kc (eq. 9)
            c[:, :, t] = q.to(plan.dtype)
    return c
