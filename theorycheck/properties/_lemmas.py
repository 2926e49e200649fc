"""The identity and inequality claims of both papers, as properties (float64, torch).

Each entry maps a claim part to a :class:`Property` and, for its negative
control, a mutant that must be found false. Citations are to the appendix of
Peck et al. (2017) and to Simon-Gabriel et al. (2019).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from theorycheck.properties._base import TINY, PropertyClaim, Raw, mutated, prop, relative_excess, strided_conv

__all__ = ["LEMMAS"]


def _lp_pool(x: torch.Tensor, q: int, p: float) -> torch.Tensor:
    patches = F.unfold(x.unsqueeze(0), q, stride=q)[0]  # (C·q², outputs)
    c = x.shape[0]
    patches = patches.reshape(c, q * q, -1)
    return (patches.abs() ** p).sum(dim=1) ** (1.0 / p)


def _pool(kind: str, x: torch.Tensor, q: int, p: float = 2.0) -> torch.Tensor:
    if kind == "max":
        return F.max_pool2d(x.unsqueeze(0), q)[0]
    if kind == "avg":
        return F.avg_pool2d(x.unsqueeze(0), q)[0]
    return _lp_pool(x, q, p)


# -- Lemma B.1 ---------------------------------------------------------------------------------
def _b1_relu(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    a, b = raw["a"], raw["b"]
    lhs, rhs = F.relu(a + b), F.relu(a) + F.relu(b)
    sign = -1.0 if struct.get("reversed") else 1.0  # the mutant claims the reverse inequality
    return relative_excess(sign * (lhs - rhs), a.abs() + b.abs())


def _b1_linear(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    w, x, r, s = raw["w"], raw["x"], raw["r"], struct["stride"]
    lhs = strided_conv(w, x + r, s)
    rhs = strided_conv(w, x, s) + strided_conv(w, r, s)
    if struct.get("mutant"):  # the mutant: a conv with a ReLU inside is not linear
        lhs = F.relu(lhs)
        rhs = F.relu(strided_conv(w, x, s)) + F.relu(strided_conv(w, r, s))
    scale = strided_conv(w.abs(), x.abs() + r.abs(), s)
    return ((lhs - rhs).abs() / (scale + TINY)).max()


def _b1_norm(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    x = raw["x"]
    factor = 0.5 if struct.get("mutant") else 1.0
    return torch.linalg.norm(F.relu(x)) / (factor * torch.linalg.norm(x) + TINY) - 1.0


# -- Lemma B.2, B.3 ------------------------------------------------------------------------------
def _b2(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    a, b = (raw["a"], raw["b"]) if struct.get("mutant") else (raw["a"] ** 2, raw["b"] ** 2)
    lhs = (a * b).sum()
    rhs = a.sum() * b.sum()
    return (lhs - rhs) / (a.abs().sum() * b.abs().sum() + TINY)


def _b3(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    w, r = raw["w"], raw["r"]
    factor = 0.5 if struct.get("mutant") else 1.0
    return (
        torch.linalg.norm(strided_conv(w, r, struct["stride"]))
        / (factor * torch.linalg.norm(w) * torch.linalg.norm(r) + TINY)
        - 1.0
    )


def _conv_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    k, c = struct["kernel"], struct.get("channels", 1)
    return {"w": (struct.get("out", 1), c, k, k), "r": (c, struct["size"], struct["size"])}


def _conv_bound(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """‖R‖_F ≥ κ/‖W‖_F for κ = ‖ReLU(W ⋆ R)‖_F (the layer rule of A.3): violation κ/(‖W‖‖R‖) − 1."""
    w, r = raw["w"], raw["r"]
    kappa = torch.linalg.norm(F.relu(strided_conv(w, r, struct["stride"])))
    factor = 0.5 if struct.get("mutant") else 1.0
    return kappa / (factor * torch.linalg.norm(w) * torch.linalg.norm(r) + TINY) - 1.0


# -- pooling: Lemmas B.4-B.6 and the bounds of A.4 -------------------------------------------
def _subadditive(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    x, r = raw["x"], raw["r"]
    kind, q, p = struct["pool"], struct["q"], struct.get("p", 2.0)
    z = lambda t: _pool(kind, t, q, p)  # noqa: E731
    excess = z(x + r) - z(x) - z(r)
    return relative_excess(excess, z(x).abs() + z(r).abs() + z(x + r).abs())


def _additive(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    x, r = raw["x"], raw["r"]
    z = lambda t: _pool(struct["pool"], t, struct["q"])  # noqa: E731
    return ((z(x + r) - z(x) - z(r)).abs() / (z(x.abs()) + z(r.abs()) + TINY)).max()


def _pool_bound(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """Any R with ‖Z(R)‖_F = κ has ‖R‖_F ≥ κ/t (max, average) or κ/(t q^{2/p}) (L_p), t = √(#outputs)."""
    r = raw["r"]
    kind, q, p = struct["pool"], struct["q"], struct.get("p", 2.0)
    z = _pool(kind, r, q, p)
    kappa = torch.linalg.norm(z)
    t = math.sqrt(z.numel())
    bound = kappa / t if kind in ("max", "avg") else kappa / (t * q ** (2.0 / p))
    if struct.get("mutant"):  # multiplying by t instead of dividing
        bound = bound * t * t
    return bound / (torch.linalg.norm(r) + TINY) - 1.0


def _pool_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    shape = (struct.get("channels", 2), struct["size"], struct["size"])
    return {"x": shape, "r": shape}


# -- eq. 8 of Peck et al. -------------------------------------------------------------------------
def _eq8(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    x = raw["x"] * 3.0
    ident = (torch.sigmoid(x) - (0.5 * torch.tanh(x / 2) + 0.5)).abs().max()
    t = torch.tanh(x)
    d1 = 1 - t**2
    d2 = -2 * t * d1
    bound = 0.5 if struct.get("mutant") else 1.0
    return torch.maximum(ident / 1.0 - 1e-15, torch.maximum(d1.abs().max(), d2.abs().max()) / bound - 1.0)


# -- Simon-Gabriel et al.: eq. 9, eq. 16, eq. 5 / eq. 17 --------------------------------------
def _tiny_net(raw: Raw) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and their input Jacobian (K × d) of a 2-layer ReLU net, float64."""
    with torch.enable_grad():
        x = raw["x"].detach().clone().requires_grad_(True)
        f = raw["w2"] @ F.relu(raw["w1"] @ x)
        jac = torch.stack(
            [torch.autograd.grad(f[k], x, retain_graph=True, create_graph=True)[0] for k in range(f.numel())]
        )
    return f, jac


def _eq9(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    f, jac = _tiny_net(raw)
    c = struct["c"]
    q = torch.softmax(f, 0)
    grad_l = (q.unsqueeze(1) * jac).sum(0) - jac[c]  # ∂L = Σ_k q_k ∂f_k − ∂f_c, the definition
    form9 = (1 - q[c]) * jac[c] - sum(q[k] * jac[k] for k in range(len(q)) if k != c)
    form10 = sum(q[k] * (jac[c] - jac[k]) for k in range(len(q)))
    if struct.get("mutant"):  # a sign error in eq. 9
        form9 = (1 - q[c]) * jac[c] + sum(q[k] * jac[k] for k in range(len(q)) if k != c)
    scale = jac.abs().sum(0).max() + TINY
    # ∂ₓL = −(eq. 9) for L = −log q_c: eq. 9 of the paper is the gradient of −L's logit combination
    err9 = (form9 + grad_l).abs().max() / scale
    err10 = (form10 + grad_l).abs().max() / scale
    return torch.maximum(err9, err10)


def _eq16(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    f, jac = _tiny_net(raw)
    c = struct["c"]
    q = torch.softmax(f, 0)
    grad_l = (q.unsqueeze(1) * jac).sum(0) - jac[c]
    diffs = jac[c].unsqueeze(0) - jac  # rows: ∂f_c − ∂f_k
    rhs = (q.unsqueeze(1) * q.unsqueeze(0) * (diffs @ diffs.T)).sum()
    if struct.get("mutant"):
        rhs = (q**2 * (diffs**2).sum(1)).sum()  # cross terms dropped
    lhs = grad_l.pow(2).sum()
    # round-off of ∂ₓL computed from its definition: q_c − 1 loses everything below ε, so each coordinate
    # carries an absolute error up to s = ε Σ_k ‖∂ₓf_k‖_∞; ‖∂ₓL‖² then errs by up to 2‖∂ₓL‖ s √d + d s²
    s = torch.finfo(torch.float64).eps * jac.abs().amax(dim=1).sum()
    d = jac.shape[1]
    slack = 16 * (2 * lhs.sqrt() * s * math.sqrt(d) + d * s**2)
    return ((lhs - rhs).abs() - slack) / (rhs.abs() + lhs + TINY)


def _net_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {"x": (4,), "w1": (6, 4), "w2": (struct["classes"], 6)}


def _eq5(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """ε_p = ε‖x‖₂ d^{1/p−1/2} (eq. 17) gives the ℓp sign-perturbation δ an ℓ2 norm ε‖x‖₂ (fixed SNR), and
    ε_p = ε_∞ d^{1/p} (eq. 5) with ε_∞ = ε‖x‖₂/√d."""
    x, u = raw["x"], raw["u"]
    d, p, eps = x.numel(), struct["p"], 0.1
    eps_p = eps * torch.linalg.norm(x) * d ** (1 / p - 0.5)
    if float(torch.linalg.norm(x.detach())) < 1e-150:  # x = 0: every quantity is 0 and the identities hold trivially
        return torch.zeros((), dtype=x.dtype)
    signs = torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u))  # a sign vector (no zero coordinates)
    delta = eps_p * d ** (-1 / p) * signs  # on the ℓp sphere of radius ε_p, maximal in every coordinate
    exponent = 0.5 if struct.get("mutant") else 1 / p - 0.5
    eps_p_claimed = eps * torch.linalg.norm(x) * d**exponent
    err_norm = (torch.linalg.norm(delta, ord=p) - eps_p).abs() / eps_p
    err_snr = (torch.linalg.norm(delta) - eps * torch.linalg.norm(x)).abs() / (eps * torch.linalg.norm(x))
    eps_inf = eps * torch.linalg.norm(x) / math.sqrt(d)
    err_eq5 = (eps_inf * d ** (1 / p) - eps_p_claimed).abs() / eps_p_claimed
    return torch.maximum(torch.maximum(err_norm, err_snr), err_eq5)


_B1_RELU = prop(
    "ReLU(a+b) ≤ ReLU(a) + ReLU(b)", "Lemma B.1.1, elementwise", [{}], lambda s: {"a": (8,), "b": (8,)}, _b1_relu
)
_B1_LIN = prop(
    "W ⋆_s (X+R) = W ⋆_s X + W ⋆_s R",
    "Lemma B.1.2, strided convolution is linear",
    [{"stride": s, "kernel": k} for s in (1, 2) for k in (2, 3)],
    lambda s: {"w": (1, 1, s["kernel"], s["kernel"]), "x": (1, 6, 6), "r": (1, 6, 6)},
    _b1_linear,
)
_B1_NORM = prop("‖ReLU(X)‖_F ≤ ‖X‖_F", "Lemma B.1.3", [{}], lambda s: {"x": (3, 4, 4)}, _b1_norm)
_B2 = prop("a, b ≥ 0 ⇒ Σ a_i b_i ≤ (Σ a_i)(Σ b_i)", "Lemma B.2", [{}], lambda s: {"a": (6,), "b": (6,)}, _b2)
_CONV_STRUCTS = [
    {"kernel": k, "stride": s, "size": 6, "channels": c, "out": o}
    for k in (2, 3)
    for s in (1, 2, 3)
    for c in (1, 2)
    for o in (1, 2)
]
_B3 = prop("‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F", "Lemma B.3, any kernel and stride", _CONV_STRUCTS, _conv_shapes, _b3)
_B3_DISJOINT = prop(
    "‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F when stride ≥ kernel",
    "Lemma B.3 restricted to non-overlapping windows",
    [s for s in _CONV_STRUCTS if s["stride"] >= s["kernel"]],
    _conv_shapes,
    _b3,
)
_CONV_BOUND = prop(
    "‖R‖_F ≥ κ/‖W‖_F (conv layer rule)", "Appendix A.3: κ = ‖ReLU(W ⋆ R)‖_F", _CONV_STRUCTS, _conv_shapes, _conv_bound
)
_B4 = prop(
    "max-pooling: z(X+R) ≤ z(X) + z(R)",
    "Lemma B.4",
    [{"pool": "max", "q": q, "size": 4} for q in (2, 4)],
    _pool_shapes,
    _subadditive,
)
_B5 = prop(
    "L_p pooling: z(X+R) ≤ z(X) + z(R), p ≥ 1",
    "Lemma B.5",
    [{"pool": "lp", "q": 2, "size": 4, "p": p} for p in (1.0, 1.5, 2.0, 3.0, 8.0)],
    _pool_shapes,
    _subadditive,
)
_B6 = prop(
    "average pooling: z(X+R) = z(X) + z(R)",
    "Lemma B.6",
    [{"pool": "avg", "q": q, "size": 4} for q in (2, 4)],
    _pool_shapes,
    _additive,
)
_POOL_BOUNDS = prop(
    "pooling layer rules ‖R‖_F ≥ κ/t, κ/(t q^{2/p})",
    "Appendix A.4 with t = √(number of pooled outputs)",
    [{"pool": k, "q": 2, "size": 4, "p": p} for k, p in (("max", 2.0), ("avg", 2.0), ("lp", 2.0), ("lp", 3.0))],
    lambda s: {"r": (2, 4, 4)},
    _pool_bound,
)
_EQ8 = prop(
    "sigm(x) = ½ tanh(x/2) + ½; |tanh′|, |tanh″| ≤ 1", "eq. 8 of Peck et al.", [{}], lambda s: {"x": (16,)}, _eq8
)
_EQ9 = prop(
    "∂ₓL = (1−q_c)∂ₓf_c − Σ_{k≠c} q_k ∂ₓf_k = Σ_k q_k(∂ₓf_c − ∂ₓf_k)",
    "eq. 9 and eq. 10 (signs: ∂ₓ(−L))",
    [{"c": c, "classes": 3} for c in range(3)],
    _net_shapes,
    _eq9,
)
_EQ16 = prop(
    "‖∂ₓL‖₂² = Σ_{k,h} q_k q_h (∂ₓf_c − ∂ₓf_k)·(∂ₓf_c − ∂ₓf_h)",
    "eq. 16",
    [{"c": c, "classes": 3} for c in range(3)],
    _net_shapes,
    _eq16,
)
_EQ5 = prop(
    "ε_p = ε_∞ d^{1/p}; ε_p = ε‖x‖₂ d^{1/p−1/2} fixes ‖δ‖₂ = ε‖x‖₂",
    "eq. 5 and eq. 17",
    [{"p": p} for p in (1.0, 1.5, 2.0, 4.0)],
    lambda s: {"x": (9,), "u": (9,)},
    _eq5,
)

LEMMAS: dict[str, PropertyClaim] = {
    "pk.lemmaB1": PropertyClaim(
        [_B1_RELU, _B1_LIN, _B1_NORM],
        [
            mutated(_B1_RELU, "ReLU(a+b) ≥ ReLU(a) + ReLU(b) (mutant)", "the reversed inequality", reversed=True),
            mutated(
                _B1_LIN, "ReLU(W ⋆ (X+R)) = ReLU(W ⋆ X) + ReLU(W ⋆ R) (mutant)", "a ReLU breaks linearity", mutant=True
            ),
            mutated(_B1_NORM, "‖ReLU(X)‖_F ≤ ½‖X‖_F (mutant)", "a factor 2 too tight", mutant=True),
        ],
    ),
    "pk.lemmaB2": PropertyClaim([_B2], [mutated(_B2, "B.2 without a, b ≥ 0 (mutant)", "signs allowed", mutant=True)]),
    "pk.lemmaB3": PropertyClaim(
        [_B3, _B3_DISJOINT], [mutated(_B3, "‖W ⋆ R‖_F ≤ ½‖W‖_F‖R‖_F (mutant)", "a factor 2 too tight", mutant=True)]
    ),
    "pk.conv_bound": PropertyClaim(
        [
            _CONV_BOUND,
            prop(
                "‖R‖_F ≥ κ/‖W‖_F when stride ≥ kernel",
                "Appendix A.3 with non-overlapping windows",
                [s for s in _CONV_STRUCTS if s["stride"] >= s["kernel"]],
                _conv_shapes,
                _conv_bound,
            ),
        ],
        [mutated(_CONV_BOUND, "‖R‖_F ≥ 2κ/‖W‖_F (mutant)", "a factor 2 too strong", mutant=True)],
    ),
    "pk.lemmaB4": PropertyClaim([_B4], [mutated(_B4, "min-pooling subadditive (mutant)", "", pool="lp", p=0.5)]),
    "pk.lemmaB5": PropertyClaim(
        [_B5],
        [mutated(_B5, "L_p pooling subadditive with p = 0.5 (mutant)", "Minkowski's inequality needs p ≥ 1", p=0.5)],
    ),
    "pk.lemmaB6": PropertyClaim([_B6], [mutated(_B6, "max-pooling additive (mutant)", "", pool="max")]),
    "pk.pool_bounds": PropertyClaim(
        [_POOL_BOUNDS], [mutated(_POOL_BOUNDS, "κ·t in place of κ/t (mutant)", "", mutant=True)]
    ),
    "pk.eq8": PropertyClaim([_EQ8], [mutated(_EQ8, "|tanh′| ≤ ½ (mutant)", "", mutant=True)]),
    "sg.eq9": PropertyClaim([_EQ9], [mutated(_EQ9, "eq. 9 with a sign error (mutant)", "", mutant=True)]),
    "sg.eq16": PropertyClaim([_EQ16], [mutated(_EQ16, "eq. 16 without cross terms (mutant)", "", mutant=True)]),
    "sg.eq5": PropertyClaim([_EQ5], [mutated(_EQ5, "ε_p with exponent ½ (mutant)", "", mutant=True)]),
}
