"""Peck et al. (2017), appendix A: Theorem A.5 and Algorithm A.1 (smooth MLPs), and the chained whole-network
bound, as properties."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from theorycheck.attacks._bounds import ACTIVATION_BOUNDS, algorithm_a1, softmax_kappa
from theorycheck.properties._base import TINY, PropertyClaim, Raw, mutated, prop, strided_conv
from theorycheck.properties._linear import exact_min_perturbation

__all__ = ["SMOOTH"]


# -- Theorem A.5 and Algorithm A.1: bounds on the derivatives of smooth MLPs ---------------------
_ACT: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
}


def _thm_a5(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    act = _ACT[struct["act"]]
    a, b = ACTIVATION_BOUNDS[struct["act"]]
    weights = [raw[f"v{i}"] for i in range(struct["depth"])]
    biases = [raw[f"b{i}"] for i in range(struct["depth"])]

    def net(x: torch.Tensor) -> torch.Tensor:
        for v, c in zip(weights, biases, strict=True):
            x = act(v @ x + c)
        return x

    with torch.enable_grad():
        x = raw["x"].detach().clone().requires_grad_(True) if not raw["x"].requires_grad else raw["x"]
        jac = torch.autograd.functional.jacobian(net, x, create_graph=True)
        outputs = jac.shape[0]
        hess = torch.stack(
            [torch.autograd.functional.hessian(lambda z, i=i: net(z)[i], x, create_graph=True) for i in range(outputs)]
        )
    m, n = algorithm_a1(weights, a, 0.0 if struct.get("mutant") else b)
    ratio = torch.maximum(hess.abs().max() / (m + TINY), jac.abs().max() / (n + TINY))
    return torch.clamp(ratio, max=1e6) - 1.0  # a zero bound on a non-zero derivative reports as 10⁶


def _a5_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    widths = [3, *([4] * (struct["depth"] - 1)), 2]
    shapes: dict[str, tuple[int, ...]] = {"x": (3,)}
    for i in range(struct["depth"]):
        shapes[f"v{i}"] = (widths[i + 1], widths[i])
        shapes[f"b{i}"] = (widths[i + 1],)
    return shapes


_A5 = prop(
    "Algorithm A.1's M and N bound every second and first partial derivative",
    "Theorem A.5, MLPs",
    [{"act": act, "depth": d} for act in ("tanh", "sigmoid", "softplus") for d in (1, 2, 3)],
    _a5_shapes,
    _thm_a5,
)
_THM_A5 = PropertyClaim([_A5], [mutated(_A5, "M computed with B = 0 (mutant)", "", mutant=True)])


# -- Appendix A.2: the Taylor bound for fully-connected layers (pk.fc_bound) ----------------------
def _fc_net(struct: dict[str, Any], raw: Raw) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """One smooth hidden layer h(x) = g(Vx + b₁) and a linear classifier f = W h + b₂ (float64)."""
    g = _ACT[struct["act"]]
    v, b1, w, b2 = raw["v"].detach(), raw["b1"].detach(), raw["w"].detach(), raw["b2"].detach()
    return (lambda x: w @ g(v @ x + b1) + b2), g(v @ raw["x"].detach() + b1)


def _fc_bound(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """bound / (smallest verified perturbation) − 1 for the Taylor bound of A.2.

    ``m``: ``entrywise`` — M as the statement defines it, the supremum of |∂²h_i/∂x_j∂x_k|, which
    for one layer is exactly sup|g″| · max_ij v_ij²; ``a1`` — M from Algorithm A.1, sup|g″| ·
    (max_i Σ_j |v_ij|)²; ``mutant`` — ‖J‖ replaced by its smallest singular value and M = 0.
    """
    from theorycheck.attacks._bounds import taylor_bound
    from theorycheck.attacks._minimal import minimal_l2_perturbation

    f, h = _fc_net(struct, raw)
    x, v, w = raw["x"].detach(), raw["v"].detach(), raw["w"].detach()
    _, kappa = softmax_kappa(w, h, raw["b2"].detach())
    with torch.enable_grad():
        z = (v @ x + raw["b1"].detach()).requires_grad_(True)
        (gp,) = torch.autograd.grad(_ACT[struct["act"]](z).sum(), z)
    jac = gp.unsqueeze(1) * v
    b = ACTIVATION_BOUNDS[struct["act"]][1]
    n = v.shape[0]
    if struct["m"] == "entrywise":
        bound = taylor_bound(float(torch.linalg.matrix_norm(jac, ord=2)), b * float((v**2).max()), n, kappa)
    elif struct["m"] == "a1":
        bound = taylor_bound(
            float(torch.linalg.matrix_norm(jac, ord=2)), b * float(v.abs().sum(1).max()) ** 2, n, kappa
        )
    else:
        bound = taylor_bound(float(torch.linalg.svdvals(jac).min()), 0.0, n, kappa)
    attack = minimal_l2_perturbation(f, x)
    if not attack.success or attack.norm < 1e-9:  # no class change to compare with: the bound is not tested here
        return torch.full((), -1.0, dtype=torch.float64)
    # an infinite bound (M = 0 and a singular J) is a violation, a NaN one an error: never "holds"
    return torch.tensor(bound / attack.norm - 1.0 - 1e-9, dtype=torch.float64)  # 1e-9: the bisection's precision


def _fc_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    d, n, k = struct["dim"], struct["width"], struct["classes"]
    return {"v": (n, d), "b1": (n,), "w": (k, n), "b2": (k,), "x": (d,)}


_FC_STRUCTS = [
    {"act": act, "dim": d, "width": n, "classes": 2}
    for act in ("tanh", "sigmoid", "softplus")
    for d in (1, 4, 8)
    for n in (1, 3)
]
_FC_STATEMENT = prop(
    "‖r‖ ≥ (√(‖J‖² + 2M√n κ) − ‖J‖)/(M√n) with M = sup |∂²h_i/∂x_j∂x_k| (as stated)",
    "Appendix A.2 as stated: M bounds every second-order partial derivative of h",
    [{**s, "m": "entrywise"} for s in _FC_STRUCTS],
    _fc_shapes,
    _fc_bound,
)
_FC_A1 = prop(
    "the same bound with M from Algorithm A.1 (row sums: M bounds rᵀ∇²h_i r / ‖r‖∞²)",
    "Appendix A.2 with Algorithm A.1's M",
    [{**s, "m": "a1"} for s in _FC_STRUCTS],
    _fc_shapes,
    _fc_bound,
)
_FC_BOUND = PropertyClaim(
    [_FC_STATEMENT, _FC_A1],
    [mutated(_FC_A1, "the bound with the smallest singular value of J and M = 0 (mutant)", "", m="mutant")],
)


# -- the chained bound through a convolution (pk.chain) ----------------------------------------
def _chain_linear(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """A linear conv net f = W vec(K ⋆_s x) + b: chained bound κ_A3/‖K‖_F against the exact Δadv.

    Exact Δadv: the network is linear in x, so the active-set QP of Theorem A.3 applies to its
    effective matrix (the input Jacobian). ``mutant``: the conv rule multiplies by ‖K‖_F.
    """
    import numpy as np

    k, x, w, b = raw["k"].detach(), raw["x"].detach(), raw["w"].detach(), raw["b"].detach()
    s = struct["stride"]

    def f(inp: torch.Tensor) -> torch.Tensor:
        return w @ strided_conv(k, inp, s).reshape(-1) + b

    jac = torch.autograd.functional.jacobian(f, x).reshape(len(b), -1)
    feats = strided_conv(k, x, s).reshape(-1)
    scores = w @ feats + b
    _, kappa = softmax_kappa(w, feats, b)
    norm_k = float(torch.linalg.vector_norm(k))
    bound = kappa * norm_k if struct.get("mutant") else kappa / (norm_k + TINY)
    exact = exact_min_perturbation(
        jac.numpy(), np.zeros(len(b)) + (scores - jac @ x.reshape(-1)).numpy(), x.reshape(-1).numpy()
    )
    if not math.isfinite(exact) or exact < 1e-9:
        return torch.full((), -1.0, dtype=torch.float64)
    return torch.tensor(bound / exact - 1.0 - 1e-9, dtype=torch.float64)  # 1e-9: the active-set solve's precision


def _chain_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    kk, size, s, out = struct["kernel"], struct["size"], struct["stride"], struct["out"]
    o = (size - kk) // s + 1
    return {
        "k": (out, 1, kk, kk),
        "x": (1, size, size),
        "w": (struct["classes"], out * o * o),
        "b": (struct["classes"],),
    }


_CHAIN_NON_OVERLAPPING = prop(
    "chained bound ≤ exact Δadv, conv with stride = kernel (windows do not overlap)",
    "softmax rule (A.3) then the conv rule κ/‖W‖_F (A.3), linear conv nets",
    [{"kernel": kk, "stride": kk, "size": 2 * kk, "out": o, "classes": 3} for kk in (2, 3) for o in (1, 2)],
    _chain_shapes,
    _chain_linear,
)
_CHAIN_OVERLAPPING = prop(
    "chained bound ≤ exact Δadv, conv with stride 1 < kernel (windows overlap)",
    "softmax rule (A.3) then the conv rule κ/‖W‖_F (A.3), linear conv nets",
    [{"kernel": kk, "stride": 1, "size": kk + 2, "out": o, "classes": 3} for kk in (2, 3) for o in (1, 2)],
    _chain_shapes,
    _chain_linear,
)
_CHAIN = PropertyClaim(
    [_CHAIN_NON_OVERLAPPING, _CHAIN_OVERLAPPING],
    [mutated(_CHAIN_NON_OVERLAPPING, "the conv rule multiplying by ‖W‖_F (mutant)", "", mutant=True)],
)

SMOOTH: dict[str, PropertyClaim] = {"pk.thmA5": _THM_A5, "pk.fc_bound": _FC_BOUND, "pk.chain": _CHAIN}
