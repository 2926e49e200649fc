"""Peck et al. (2017), appendix A: linear classifiers (Lemma A.1, Theorems A.3 and A.4), as properties."""

from __future__ import annotations

import math
from typing import Any

import torch

from theorycheck.properties._base import TINY, PropertyClaim, Raw, mutated, prop

__all__ = ["LINEAR", "exact_min_perturbation"]


# -- linear classifiers: Lemma A.1, Theorems A.3 and A.4 --------------------------------------
def _min_norm_polyhedron(a: Any, off: Any) -> float:
    """min ‖r‖ s.t. a r + off ≥ 0, exactly, by enumerating active sets (few constraints): for each subset S,
    the least-norm r with a_S r = −off_S; the optimum is the feasible candidate with KKT multipliers ≥ 0."""
    import itertools

    import numpy as np

    if (off >= 0).all():
        return 0.0
    best = math.inf
    m = a.shape[0]
    for size in range(1, m + 1):
        for subset in itertools.combinations(range(m), size):
            a_s, o_s = a[list(subset)], off[list(subset)]
            gram = a_s @ a_s.T
            if abs(np.linalg.det(gram)) < 1e-14 * max(1.0, float(np.abs(gram).max()) ** size):
                continue
            lam = np.linalg.solve(gram, -o_s)  # r = a_Sᵀ λ solves a_S r = −off_S with least norm
            r = a_s.T @ lam
            if (lam >= -1e-12).all() and (a @ r + off >= -1e-9 * (1 + np.abs(off).max())).all():
                best = min(best, float(np.linalg.norm(r)))
    return best


def exact_min_perturbation(w: Any, b: Any, x: Any) -> float:
    """Δadv(x; f) for f(x) = argmax (Wx + b): the smallest ℓ2 distance from x to a region where another class
    c′ wins: min over c′ of the convex QP ``min ‖r‖ s.t. (w_c′ − w_j)·(x+r) + b_c′ − b_j ≥ 0 ∀ j ≠ c′``,
    solved exactly by active-set enumeration."""
    import numpy as np

    c = int(np.argmax(w @ x + b))
    best = math.inf
    for cp in range(len(b)):
        if cp == c:
            continue
        others = [j for j in range(len(b)) if j != cp]
        a = np.stack([w[cp] - w[j] for j in others])
        off = np.array([b[cp] - b[j] for j in others]) + a @ x
        best = min(best, _min_norm_polyhedron(a, off))
    return best


def _linear_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    k, n = struct["classes"], struct["dim"]
    return {"w": (k, n), "b": (k,), "x": (n,), "q": (n,)}


def _lemma_a1(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """α of eq. 7 lies in (0, 1) and equalises the scores of c and c′ (vacuous unless f(x+q) ≠ f(x))."""
    w, b, x, q = raw["w"], raw["b"], raw["x"], raw["q"]
    c, cp = int(torch.argmax(w @ x + b)), int(torch.argmax(w @ (x + q) + b))
    if c == cp:
        return torch.full((), -1.0, dtype=x.dtype)
    alpha = ((w[cp] - w[c]) @ x + b[cp] - b[c]) / ((w[c] - w[cp]) @ q)
    if struct.get("mutant"):  # a sign error in eq. 7
        alpha = -alpha
    point = x + alpha * q
    # relative to the round-off scale of the terms summed (x and αq separately): at a point that cancels to ~0,
    # |point| alone would turn an ε-sized residue into a relative gap of 1 (found by hypothesis, 2026-12-02)
    gap = ((w[c] - w[cp]) @ point + b[c] - b[cp]).abs() / (
        (w[c] - w[cp]).abs() @ (x.abs() + (alpha * q).abs()) + (b[c] - b[cp]).abs() + TINY
    )
    return torch.maximum(torch.maximum(-alpha, alpha - 1), gap - 1e-12)


def _thm_a3(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """Theorem A.3: Δadv ≥ min_c′ |(w_c′−w_c)·x + b_c′−b_c| / ‖w_c′−w_c‖ (exact Δadv by QP; not differentiable)."""
    import numpy as np

    w, b, x = (raw[k].detach().numpy() for k in ("w", "b", "x"))
    c = int(np.argmax(w @ x + b))
    bound = min(
        abs((w[j] - w[c]) @ x + b[j] - b[c]) / (np.linalg.norm(w[j] - w[c]) + TINY) for j in range(len(b)) if j != c
    )
    exact = exact_min_perturbation(w, b, x)
    if struct.get("mutant"):
        bound = 2 * bound
    if not math.isfinite(exact) or exact < 1e-9:
        return torch.full((), -1.0, dtype=torch.float64)
    return torch.tensor(bound / exact - 1.0 - 1e-9, dtype=torch.float64)  # 1e-9: the active-set solve's precision


def _thm_a4(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """f(x) = argmax x: the bound of A.3 is tight (= exact Δadv), and the stated value is min |x_c′ − x_c|."""
    import numpy as np

    x = raw["x"].detach().numpy()
    n = len(x)
    c = int(np.argmax(x))
    exact = exact_min_perturbation(np.eye(n), np.zeros(n), x)
    bound = min(abs(x[j] - x[c]) / math.sqrt(2) for j in range(n) if j != c)  # ‖e_c′ − e_c‖ = √2
    stated = min(abs(x[j] - x[c]) for j in range(n) if j != c)  # the paper's simplification
    if not math.isfinite(exact) or exact < 1e-9:
        return torch.full((), -1.0, dtype=torch.float64)
    target = stated if struct.get("stated") else bound
    return torch.tensor(abs(exact - target) / exact - 1e-9, dtype=torch.float64)  # 1e-9: the solve's precision


_LINEAR = [{"classes": k, "dim": n} for k in (3, 4) for n in (2, 3)]
_A1 = prop(
    "eq. 7: α ∈ (0, 1) and w_c·(x+αq) + b_c = w_c′·(x+αq) + b_c′", "Lemma A.1", _LINEAR, _linear_shapes, _lemma_a1
)
_A3 = prop(
    "Δadv(x; f) ≥ min_c′ |(w_c′−w_c)·x + b_c′−b_c| / ‖w_c′−w_c‖",
    "Theorem A.3 against the exact minimal perturbation (active-set QP)",
    _LINEAR,
    _linear_shapes,
    _thm_a3,
)
_A4_TIGHT = prop(
    "f = argmax x: Δadv equals the bound of A.3, min_c′ |x_c′ − x_c|/√2",
    "Theorem A.4 (tightness)",
    [{"dim": n} for n in (2, 3, 4)],
    lambda s: {"x": (s["dim"],)},
    _thm_a4,
)
_A4_STATED = prop(
    "f = argmax x: Δadv(x; f) = min_c′ |x_c′ − x_c| (as stated)",
    "Theorem A.4's proof, as written",
    [{"dim": n, "stated": True} for n in (2, 3, 4)],
    lambda s: {"x": (s["dim"],)},
    _thm_a4,
)

LINEAR: dict[str, PropertyClaim] = {
    "pk.lemmaA1": PropertyClaim([_A1], [mutated(_A1, "eq. 7 with a sign error (mutant)", "", mutant=True)]),
    "pk.thmA3": PropertyClaim([_A3], [mutated(_A3, "the bound doubled (mutant)", "", mutant=True)]),
    "pk.thmA4": PropertyClaim(
        [_A4_TIGHT, _A4_STATED],
        [mutated(_A4_TIGHT, "tightness against the stated value (mutant)", "", stated=True)],
    ),
}
