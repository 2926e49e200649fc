"""What a trained network is measured on and how, at each checkpoint.

One row per network and one column per statistic and checkpoint, ``s{step}/{name}``:

* ``loss.{stat}`` and ``logit.{stat}`` for the gradient of the per-example loss and of logit 0 with respect to the
  input, averaged over the examples: ``coord_var`` ‖g‖²/d, ``sq_norm`` ‖g‖², ``l1`` ‖g‖₁, ``l2`` ‖g‖₂ and
  ``linf`` ‖g‖_∞ (the sampler's column names, so the claim language's statistics read them);
* ``accuracy``, ``loss`` (the training loss on the held-out examples) and ``vulnerability``: the increase of the
  0-1 loss under FGSM at ε∞ = ``attack_epsilon`` (Simon-Gabriel et al. 2019, Section 4); with ``pgd_steps > 0``
  also ``pgd_vulnerability``, the same under ℓ∞ PGD (:mod:`._config` states the attack and the inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from theorycheck.sampler import RNG_BLOCK
from theorycheck.sampler._rng import STREAM_CLASS, STREAM_INPUT, block_generator
from theorycheck.sampler._rows import Reducer, user_rows
from theorycheck.training._config import TrainConfig
from theorycheck.training._data import Dataset

__all__ = ["STATISTICS", "Run", "Weights", "eval_inputs", "measure", "per_example_loss", "pgd_attack"]

#: per-network statistics of an input gradient ``g`` (B, n, d) → (B, n)
STATISTICS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "coord_var": lambda g: g.pow(2).sum(-1) / g.shape[-1],
    "sq_norm": lambda g: g.pow(2).sum(-1),
    "l1": lambda g: g.abs().sum(-1),
    "l2": lambda g: g.pow(2).sum(-1).sqrt(),
    "linf": lambda g: g.abs().amax(-1),
}

#: a window's stacked parameters, ``(B, *shape)`` each: the DSL's ``{op.index: …}`` or a module's ``{name: …}``
Weights = dict[Any, torch.Tensor]
#: runs a window's B networks: ``run(weights, x (B, m, *shape)) -> logits (B, m, K)``, network b on ``x[b]``
Run = Callable[[Weights, torch.Tensor], torch.Tensor]


def per_example_loss(config: TrainConfig, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(B, m)`` losses of ``(B, m, K)`` logits against ``(B, m)`` labels."""
    b, m, k = logits.shape
    if config.loss == "cross_entropy":
        return F.cross_entropy(logits.reshape(b * m, k), y.reshape(-1), reduction="none").reshape(b, m)
    onehot = F.one_hot(y, k).to(logits.dtype)
    return (logits - onehot).pow(2).sum(-1)


def measure(
    run: Run,
    weights: Weights,
    config: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    reducers: Mapping[str, Reducer],
) -> dict[str, torch.Tensor]:
    """Per-network statistics on the held-out examples ``x (B, n, *shape)``, ``y (B, n)``; a user's statistic
    ``fn(grad, logits, x) -> (B·n,)`` (the sampler's reducers) is averaged over the examples as the others are."""
    x = x.detach().clone().requires_grad_(True)
    logits = run(weights, x)
    losses = per_example_loss(config, logits, y)
    g_loss = torch.autograd.grad(losses.sum(), x, retain_graph=True)[0].flatten(2)
    g_logit = torch.autograd.grad(logits[..., 0].sum(), x)[0].flatten(2)
    out: dict[str, torch.Tensor] = {}
    b, n = x.shape[:2]
    flat_x, flat_logits = x.detach().reshape(b * n, *x.shape[2:]), logits.detach().reshape(b * n, -1)
    for target, g in (("loss", g_loss), ("logit", g_logit)):
        for name, fn in STATISTICS.items():
            out[f"{target}.{name}"] = fn(g).mean(1)
        for name, reducer in reducers.items():
            grad = g.reshape(b * n, *x.shape[2:]).to(torch.float64)
            values = user_rows(name, reducer, grad, flat_logits.to(torch.float64), flat_x.to(torch.float64))
            out[f"{target}.{name}"] = values.reshape(b, n).mean(1)
    with torch.no_grad():
        wrong = logits.argmax(-1) != y
        x_adv = (x.detach().flatten(2) + config.attack_epsilon * g_loss.sign()).reshape(x.shape)
        wrong_adv = run(weights, x_adv).argmax(-1) != y
    if config.pgd_steps:
        wrong_pgd = run(weights, pgd_attack(run, weights, config, x, y)).argmax(-1) != y
        out["pgd_vulnerability"] = wrong_pgd.to(x.dtype).mean(1) - wrong.to(x.dtype).mean(1)
    out["accuracy"] = 1.0 - wrong.to(x.dtype).mean(1)
    out["loss"] = losses.detach().mean(1)
    out["vulnerability"] = wrong_adv.to(x.dtype).mean(1) - wrong.to(x.dtype).mean(1)
    return {k: v.detach() for k, v in out.items()}


def pgd_attack(run: Run, weights: Weights, config: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ℓ∞ PGD from the clean inputs ``x (B, n, *shape)``: ``pgd_steps`` signed-gradient steps of size α, each
    projected onto the box ``|x_adv − x| ≤ attack_epsilon`` (Madry et al. 2018; no random start)."""
    eps = config.attack_epsilon
    alpha = config.pgd_step or 2.5 * eps / config.pgd_steps
    clean = x.detach()
    adv = clean.clone()
    for _ in range(config.pgd_steps):
        adv.requires_grad_(True)
        loss = per_example_loss(config, run(weights, adv), y).sum()
        (g,) = torch.autograd.grad(loss, adv)
        adv = torch.minimum(torch.maximum(adv.detach() + alpha * g.sign(), clean - eps), clean + eps)
    return adv.detach()


def eval_inputs(
    run: Run,
    weights: Weights,
    data: Dataset,
    config: TrainConfig,
    seed: int,
    indices: list[int],
    *,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What the checkpoints measure on: ``x (B, m, *shape)`` and labels ``(B, m)`` (:mod:`._config`)."""
    b = len(indices)
    if config.eval_inputs == "gaussian":  # the sampler's: network i's input and random class, from its streams
        block = indices[0] // RNG_BLOCK
        gen = block_generator(seed, STREAM_INPUT, block, device)
        x = torch.randn((RNG_BLOCK, *data.shape), generator=gen, device=device).to(dtype)[:, None]
        with torch.no_grad():
            k = run(weights, x[:, :, ...]).shape[-1]
        gen = block_generator(seed, STREAM_CLASS, block, device)
        y = torch.randint(0, k, (RNG_BLOCK,), generator=gen, device=device)[:, None]
        return x, y
    n = min(config.eval_examples, len(data.y_test))
    return data.x_test[:n].to(device=device, dtype=dtype).expand(b, n, *data.shape), data.y_test[:n].to(device).expand(
        b, n
    )
