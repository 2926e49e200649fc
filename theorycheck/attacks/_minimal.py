"""Minimal-norm ℓ2 attacks: DeepFool, then a bisection along its direction, self-verified.

DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016, Algorithm 2) linearises the
classifier at the current point and steps to the nearest linearised decision boundary,
``r_i = |f_k − f_c| / ‖∇f_k − ∇f_c‖² · (∇f_k − ∇f_c)`` for the closest class ``k``, until
the label changes. Here every other class is also tried as a *target* (the same step
restricted to that class), and each candidate direction is shortened by bisection on
its scale. A perturbation counts only if the label of ``x + r`` really differs from the
label of ``x`` (checked by a forward pass in float64, with the new class ahead by a relative
margin of 1e-12 so that no other summation order can undo it): the reported norm is therefore
an upper bound on the true minimal perturbation Δadv(x), never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["MinimalPerturbation", "minimal_l2_perturbation"]

Classifier = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class MinimalPerturbation:
    """The smallest verified ℓ2 perturbation found for one input."""

    r: torch.Tensor
    norm: float
    label: int
    adv_label: int
    success: bool
    method: str


#: a label change counts only if the new class leads by this much relative to the logits' scale, so that
#: it survives any other summation order (float64 round-off is ~1e-16 of that scale)
MARGIN = 1e-12


def _label(f: Classifier, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(torch.argmax(f(x)))


def _changed(f: Classifier, x: torch.Tensor, label: int) -> int | None:
    """The new label at ``x`` if it beats ``label`` by :data:`MARGIN` (relative), else None."""
    with torch.no_grad():
        out = f(x)
    adv = int(torch.argmax(out))
    if adv == label or float(out[adv] - out[label]) <= MARGIN * (1.0 + float(out.abs().max())):
        return None
    return adv


def _logits_and_jacobian(f: Classifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        z = x.detach().clone().requires_grad_(True)
        out = f(z)
        jac = torch.stack(
            [torch.autograd.grad(out[k], z, retain_graph=k < out.numel() - 1)[0] for k in range(out.numel())]
        )
    return out.detach(), jac.reshape(out.numel(), -1)


def _deepfool(
    f: Classifier, x: torch.Tensor, label: int, target: int | None, max_iter: int, overshoot: float
) -> torch.Tensor | None:
    """Accumulated DeepFool perturbation (towards ``target``, or the nearest boundary); None if it stalls."""
    r = torch.zeros_like(x)
    for _ in range(max_iter):
        out, jac = _logits_and_jacobian(f, x + (1 + overshoot) * r)
        if int(torch.argmax(out)) != label:
            return (1 + overshoot) * r
        classes = [target] if target is not None else [k for k in range(out.numel()) if k != label]
        best_step, best_dist = None, math.inf
        for k in classes:
            w = jac[k] - jac[label]
            gap = float(out[label] - out[k])
            norm = float(torch.linalg.vector_norm(w))
            if not 0.0 < norm**2 < math.inf:  # no usable linearisation towards k
                continue
            dist = abs(gap) / norm
            if dist < best_dist:
                best_dist, best_step = dist, (abs(gap) + 1e-12) / norm**2 * w
        if best_step is None:
            return None
        r = r + best_step.reshape(x.shape)
        if float(torch.linalg.vector_norm(r)) > 1e6 * (1.0 + float(torch.linalg.vector_norm(x))):
            return None  # diverging: the linearisation points nowhere useful
    out = f(x + (1 + overshoot) * r).detach()
    return (1 + overshoot) * r if int(torch.argmax(out)) != label else None


def _ray(f: Classifier, x: torch.Tensor, label: int, target: int, doublings: int = 60) -> torch.Tensor | None:
    """Fallback where DeepFool stalls: walk along the linearised direction towards ``target``, doubling
    the step from the linear estimate of the boundary until the label changes."""
    out, jac = _logits_and_jacobian(f, x)
    w = jac[target] - jac[label]
    norm = float(torch.linalg.vector_norm(w))
    if not 0.0 < norm**2 < math.inf:
        return None
    u = (w / norm).reshape(x.shape)
    t = max(float(out[label] - out[target]) / norm, 1e-12)
    for _ in range(doublings):
        if _label(f, x + t * u) != label:
            return t * u
        t *= 2.0
    return None


def _bisect(f: Classifier, x: torch.Tensor, r: torch.Tensor, label: int, steps: int) -> torch.Tensor:
    """Shortest ``t·r`` (t ∈ (0, 1]) found by bisection whose label differs from ``label`` (assumes t = 1 does)."""
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if _changed(f, x + mid * r, label) is not None:
            hi = mid
        else:
            lo = mid
    return hi * r


def minimal_l2_perturbation(
    f: Classifier,
    x: torch.Tensor,
    *,
    max_iter: int = 50,
    overshoot: float = 0.02,
    bisection_steps: int = 60,
) -> MinimalPerturbation:
    """The smallest verified ℓ2 perturbation that changes ``argmax f`` at ``x``.

    Candidates: untargeted DeepFool and DeepFool towards each other class (where that stalls,
    a ray along the linearised direction with doubling steps), each shortened by bisection.
    ``f`` maps one input (any shape) to a vector of logits; work in float64. ``success`` is
    False (and ``norm`` infinite) when no candidate changes the label.
    """
    label = _label(f, x)
    n_classes = int(f(x).numel())
    best: tuple[float, torch.Tensor, int, str] | None = None
    for target in [None, *[k for k in range(n_classes) if k != label]]:
        r = _deepfool(f, x, label, target, max_iter, overshoot)
        method = "deepfool" if target is None else f"deepfool→{target}"
        if r is None and target is not None:
            r, method = _ray(f, x, label, target), f"ray→{target}"
        if r is None:
            continue
        if _changed(f, x + r, label) is None:  # DeepFool's end point sits on the boundary: push a little
            r = r * (1 + 1e-6)
            if _changed(f, x + r, label) is None:
                continue
        r = _bisect(f, x, r, label, bisection_steps)
        adv = _changed(f, x + r, label)
        if adv is None:  # pragma: no cover - bisection keeps a label-changing end point
            continue
        norm = float(torch.linalg.vector_norm(r))
        if best is None or norm < best[0]:
            best = (norm, r, adv, method)
    if best is None:
        return MinimalPerturbation(torch.zeros_like(x), math.inf, label, label, False, "none")
    norm, r, adv, method = best
    return MinimalPerturbation(r, norm, label, adv, True, f"{method} + bisection")
