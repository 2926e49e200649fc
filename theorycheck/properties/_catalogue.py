"""The identity and inequality claims of both papers, as properties (float64, torch).

Each entry maps a claim part to a :class:`Property` and, for its negative
control, a mutant that must be found false. Citations are to the appendix of
Peck et al. (2017) and to Simon-Gabriel et al. (2019).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from theorycheck.attacks._bounds import ACTIVATION_BOUNDS, algorithm_a1, softmax_kappa
from theorycheck.properties._search import Property, Raw

__all__ = ["PROPERTIES", "PropertyClaim", "planted_false_inequality"]

TINY = 1e-300


def _rel(excess: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Largest ``excess / scale`` (a relative violation of ``lhs ≤ rhs`` written as ``excess = lhs − rhs``)."""
    return (excess / (scale.abs() + TINY)).max()


def _conv(w: torch.Tensor, r: torch.Tensor, stride: int) -> torch.Tensor:
    """Peck's ``W ⋆_s R`` (eq. of Lemma B.1.2): a valid, strided cross-correlation."""
    return F.conv2d(r.unsqueeze(0), w, stride=stride)[0]


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
    return _rel(sign * (lhs - rhs), a.abs() + b.abs())


def _b1_linear(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    w, x, r, s = raw["w"], raw["x"], raw["r"], struct["stride"]
    lhs = _conv(w, x + r, s)
    rhs = _conv(w, x, s) + _conv(w, r, s)
    if struct.get("mutant"):  # the mutant: a conv with a ReLU inside is not linear
        lhs = F.relu(lhs)
        rhs = F.relu(_conv(w, x, s)) + F.relu(_conv(w, r, s))
    scale = _conv(w.abs(), x.abs() + r.abs(), s)
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
        torch.linalg.norm(_conv(w, r, struct["stride"])) / (factor * torch.linalg.norm(w) * torch.linalg.norm(r) + TINY)
        - 1.0
    )


def _conv_shapes(struct: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    k, c = struct["kernel"], struct.get("channels", 1)
    return {"w": (struct.get("out", 1), c, k, k), "r": (c, struct["size"], struct["size"])}


def _conv_bound(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    """‖R‖_F ≥ κ/‖W‖_F for κ = ‖ReLU(W ⋆ R)‖_F (the layer rule of A.3): violation κ/(‖W‖‖R‖) − 1."""
    w, r = raw["w"], raw["r"]
    kappa = torch.linalg.norm(F.relu(_conv(w, r, struct["stride"])))
    factor = 0.5 if struct.get("mutant") else 1.0
    return kappa / (factor * torch.linalg.norm(w) * torch.linalg.norm(r) + TINY) - 1.0


# -- pooling: Lemmas B.4-B.6 and the bounds of A.4 -------------------------------------------
def _subadditive(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
    x, r = raw["x"], raw["r"]
    kind, q, p = struct["pool"], struct["q"], struct.get("p", 2.0)
    z = lambda t: _pool(kind, t, q, p)  # noqa: E731
    excess = z(x + r) - z(x) - z(r)
    return _rel(excess, z(x).abs() + z(r).abs() + z(x + r).abs())


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


class PropertyClaim:
    """A claim's parts (properties) and its negative controls (mutants)."""

    def __init__(self, parts: list[Property], controls: list[Property]) -> None:
        self.parts, self.controls = parts, controls


def _mutated(prop: Property, pid: str, description: str, **changes: Any) -> Property:
    return Property(
        pid, description, [{**s, **changes} for s in prop.structures], prop.shapes, prop.violation, prop.tolerance
    )


def _p(
    pid: str,
    description: str,
    structures: list[dict[str, Any]],
    shapes: Callable[[dict[str, Any]], Any],
    violation: Callable[[dict[str, Any], Raw], torch.Tensor],
) -> Property:
    return Property(pid, description, structures, shapes, violation)


_B1_RELU = _p(
    "ReLU(a+b) ≤ ReLU(a) + ReLU(b)", "Lemma B.1.1, elementwise", [{}], lambda s: {"a": (8,), "b": (8,)}, _b1_relu
)
_B1_LIN = _p(
    "W ⋆_s (X+R) = W ⋆_s X + W ⋆_s R",
    "Lemma B.1.2, strided convolution is linear",
    [{"stride": s, "kernel": k} for s in (1, 2) for k in (2, 3)],
    lambda s: {"w": (1, 1, s["kernel"], s["kernel"]), "x": (1, 6, 6), "r": (1, 6, 6)},
    _b1_linear,
)
_B1_NORM = _p("‖ReLU(X)‖_F ≤ ‖X‖_F", "Lemma B.1.3", [{}], lambda s: {"x": (3, 4, 4)}, _b1_norm)
_B2 = _p("a, b ≥ 0 ⇒ Σ a_i b_i ≤ (Σ a_i)(Σ b_i)", "Lemma B.2", [{}], lambda s: {"a": (6,), "b": (6,)}, _b2)
_CONV_STRUCTS = [
    {"kernel": k, "stride": s, "size": 6, "channels": c, "out": o}
    for k in (2, 3)
    for s in (1, 2, 3)
    for c in (1, 2)
    for o in (1, 2)
]
_B3 = _p("‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F", "Lemma B.3, any kernel and stride", _CONV_STRUCTS, _conv_shapes, _b3)
_B3_DISJOINT = _p(
    "‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F when stride ≥ kernel",
    "Lemma B.3 restricted to non-overlapping windows",
    [s for s in _CONV_STRUCTS if s["stride"] >= s["kernel"]],
    _conv_shapes,
    _b3,
)
_CONV_BOUND = _p(
    "‖R‖_F ≥ κ/‖W‖_F (conv layer rule)", "Appendix A.3: κ = ‖ReLU(W ⋆ R)‖_F", _CONV_STRUCTS, _conv_shapes, _conv_bound
)
_B4 = _p(
    "max-pooling: z(X+R) ≤ z(X) + z(R)",
    "Lemma B.4",
    [{"pool": "max", "q": q, "size": 4} for q in (2, 4)],
    _pool_shapes,
    _subadditive,
)
_B5 = _p(
    "L_p pooling: z(X+R) ≤ z(X) + z(R), p ≥ 1",
    "Lemma B.5",
    [{"pool": "lp", "q": 2, "size": 4, "p": p} for p in (1.0, 1.5, 2.0, 3.0, 8.0)],
    _pool_shapes,
    _subadditive,
)
_B6 = _p(
    "average pooling: z(X+R) = z(X) + z(R)",
    "Lemma B.6",
    [{"pool": "avg", "q": q, "size": 4} for q in (2, 4)],
    _pool_shapes,
    _additive,
)
_POOL_BOUNDS = _p(
    "pooling layer rules ‖R‖_F ≥ κ/t, κ/(t q^{2/p})",
    "Appendix A.4 with t = √(number of pooled outputs)",
    [{"pool": k, "q": 2, "size": 4, "p": p} for k, p in (("max", 2.0), ("avg", 2.0), ("lp", 2.0), ("lp", 3.0))],
    lambda s: {"r": (2, 4, 4)},
    _pool_bound,
)
_EQ8 = _p("sigm(x) = ½ tanh(x/2) + ½; |tanh′|, |tanh″| ≤ 1", "eq. 8 of Peck et al.", [{}], lambda s: {"x": (16,)}, _eq8)
_EQ9 = _p(
    "∂ₓL = (1−q_c)∂ₓf_c − Σ_{k≠c} q_k ∂ₓf_k = Σ_k q_k(∂ₓf_c − ∂ₓf_k)",
    "eq. 9 and eq. 10 (signs: ∂ₓ(−L))",
    [{"c": c, "classes": 3} for c in range(3)],
    _net_shapes,
    _eq9,
)
_EQ16 = _p(
    "‖∂ₓL‖₂² = Σ_{k,h} q_k q_h (∂ₓf_c − ∂ₓf_k)·(∂ₓf_c − ∂ₓf_h)",
    "eq. 16",
    [{"c": c, "classes": 3} for c in range(3)],
    _net_shapes,
    _eq16,
)
_EQ5 = _p(
    "ε_p = ε_∞ d^{1/p}; ε_p = ε‖x‖₂ d^{1/p−1/2} fixes ‖δ‖₂ = ε‖x‖₂",
    "eq. 5 and eq. 17",
    [{"p": p} for p in (1.0, 1.5, 2.0, 4.0)],
    lambda s: {"x": (9,), "u": (9,)},
    _eq5,
)

PROPERTIES: dict[str, PropertyClaim] = {
    "pk.lemmaB1": PropertyClaim(
        [_B1_RELU, _B1_LIN, _B1_NORM],
        [
            _mutated(_B1_RELU, "ReLU(a+b) ≥ ReLU(a) + ReLU(b) (mutant)", "the reversed inequality", reversed=True),
            _mutated(
                _B1_LIN, "ReLU(W ⋆ (X+R)) = ReLU(W ⋆ X) + ReLU(W ⋆ R) (mutant)", "a ReLU breaks linearity", mutant=True
            ),
            _mutated(_B1_NORM, "‖ReLU(X)‖_F ≤ ½‖X‖_F (mutant)", "a factor 2 too tight", mutant=True),
        ],
    ),
    "pk.lemmaB2": PropertyClaim([_B2], [_mutated(_B2, "B.2 without a, b ≥ 0 (mutant)", "signs allowed", mutant=True)]),
    "pk.lemmaB3": PropertyClaim(
        [_B3, _B3_DISJOINT], [_mutated(_B3, "‖W ⋆ R‖_F ≤ ½‖W‖_F‖R‖_F (mutant)", "a factor 2 too tight", mutant=True)]
    ),
    "pk.conv_bound": PropertyClaim(
        [
            _CONV_BOUND,
            _p(
                "‖R‖_F ≥ κ/‖W‖_F when stride ≥ kernel",
                "Appendix A.3 with non-overlapping windows",
                [s for s in _CONV_STRUCTS if s["stride"] >= s["kernel"]],
                _conv_shapes,
                _conv_bound,
            ),
        ],
        [_mutated(_CONV_BOUND, "‖R‖_F ≥ 2κ/‖W‖_F (mutant)", "a factor 2 too strong", mutant=True)],
    ),
    "pk.lemmaB4": PropertyClaim([_B4], [_mutated(_B4, "min-pooling subadditive (mutant)", "", pool="lp", p=0.5)]),
    "pk.lemmaB5": PropertyClaim(
        [_B5],
        [_mutated(_B5, "L_p pooling subadditive with p = 0.5 (mutant)", "Minkowski's inequality needs p ≥ 1", p=0.5)],
    ),
    "pk.lemmaB6": PropertyClaim([_B6], [_mutated(_B6, "max-pooling additive (mutant)", "", pool="max")]),
    "pk.pool_bounds": PropertyClaim(
        [_POOL_BOUNDS], [_mutated(_POOL_BOUNDS, "κ·t in place of κ/t (mutant)", "", mutant=True)]
    ),
    "pk.eq8": PropertyClaim([_EQ8], [_mutated(_EQ8, "|tanh′| ≤ ½ (mutant)", "", mutant=True)]),
    "sg.eq9": PropertyClaim([_EQ9], [_mutated(_EQ9, "eq. 9 with a sign error (mutant)", "", mutant=True)]),
    "sg.eq16": PropertyClaim([_EQ16], [_mutated(_EQ16, "eq. 16 without cross terms (mutant)", "", mutant=True)]),
    "sg.eq5": PropertyClaim([_EQ5], [_mutated(_EQ5, "ε_p with exponent ½ (mutant)", "", mutant=True)]),
}


def planted_false_inequality() -> Property:
    """A false inequality whose counterexamples are rare: Σ_{i≤8} x_i ≤ 7.9 on [−1, 1]^8 (x = tanh(raw))."""

    def violation(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
        return torch.tanh(raw["x"]).sum() / 7.9 - 1.0

    return Property("Σ x_i ≤ 7.9 on [−1,1]^8 (planted, false)", "planted", [{}], lambda s: {"x": (8,)}, violation)


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
_A1 = _p("eq. 7: α ∈ (0, 1) and w_c·(x+αq) + b_c = w_c′·(x+αq) + b_c′", "Lemma A.1", _LINEAR, _linear_shapes, _lemma_a1)
_A3 = _p(
    "Δadv(x; f) ≥ min_c′ |(w_c′−w_c)·x + b_c′−b_c| / ‖w_c′−w_c‖",
    "Theorem A.3 against the exact minimal perturbation (active-set QP)",
    _LINEAR,
    _linear_shapes,
    _thm_a3,
)
_A4_TIGHT = _p(
    "f = argmax x: Δadv equals the bound of A.3, min_c′ |x_c′ − x_c|/√2",
    "Theorem A.4 (tightness)",
    [{"dim": n} for n in (2, 3, 4)],
    lambda s: {"x": (s["dim"],)},
    _thm_a4,
)
_A4_STATED = _p(
    "f = argmax x: Δadv(x; f) = min_c′ |x_c′ − x_c| (as stated)",
    "Theorem A.4's proof, as written",
    [{"dim": n, "stated": True} for n in (2, 3, 4)],
    lambda s: {"x": (s["dim"],)},
    _thm_a4,
)

PROPERTIES.update(
    {
        "pk.lemmaA1": PropertyClaim([_A1], [_mutated(_A1, "eq. 7 with a sign error (mutant)", "", mutant=True)]),
        "pk.thmA3": PropertyClaim([_A3], [_mutated(_A3, "the bound doubled (mutant)", "", mutant=True)]),
        "pk.thmA4": PropertyClaim(
            [_A4_TIGHT, _A4_STATED],
            [_mutated(_A4_TIGHT, "tightness against the stated value (mutant)", "", stated=True)],
        ),
    }
)


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


_A5 = _p(
    "Algorithm A.1's M and N bound every second and first partial derivative",
    "Theorem A.5, MLPs",
    [{"act": act, "depth": d} for act in ("tanh", "sigmoid", "softplus") for d in (1, 2, 3)],
    _a5_shapes,
    _thm_a5,
)
PROPERTIES["pk.thmA5"] = PropertyClaim([_A5], [_mutated(_A5, "M computed with B = 0 (mutant)", "", mutant=True)])


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
    if not attack.success or attack.norm < 1e-9 or not math.isfinite(bound):
        return torch.full((), -1.0, dtype=torch.float64)
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
_FC_STATEMENT = _p(
    "‖r‖ ≥ (√(‖J‖² + 2M√n κ) − ‖J‖)/(M√n) with M = sup |∂²h_i/∂x_j∂x_k| (as stated)",
    "Appendix A.2 as stated: M bounds every second-order partial derivative of h",
    [{**s, "m": "entrywise"} for s in _FC_STRUCTS],
    _fc_shapes,
    _fc_bound,
)
_FC_A1 = _p(
    "the same bound with M from Algorithm A.1 (row sums: M bounds rᵀ∇²h_i r / ‖r‖∞²)",
    "Appendix A.2 with Algorithm A.1's M",
    [{**s, "m": "a1"} for s in _FC_STRUCTS],
    _fc_shapes,
    _fc_bound,
)
PROPERTIES["pk.fc_bound"] = PropertyClaim(
    [_FC_STATEMENT, _FC_A1],
    [_mutated(_FC_A1, "the bound with the smallest singular value of J and M = 0 (mutant)", "", m="mutant")],
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
        return w @ _conv(k, inp, s).reshape(-1) + b

    jac = torch.autograd.functional.jacobian(f, x).reshape(len(b), -1)
    feats = _conv(k, x, s).reshape(-1)
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


_CHAIN_NON_OVERLAPPING = _p(
    "chained bound ≤ exact Δadv, conv with stride = kernel (windows do not overlap)",
    "softmax rule (A.3) then the conv rule κ/‖W‖_F (A.3), linear conv nets",
    [{"kernel": kk, "stride": kk, "size": 2 * kk, "out": o, "classes": 3} for kk in (2, 3) for o in (1, 2)],
    _chain_shapes,
    _chain_linear,
)
_CHAIN_OVERLAPPING = _p(
    "chained bound ≤ exact Δadv, conv with stride 1 < kernel (windows overlap)",
    "softmax rule (A.3) then the conv rule κ/‖W‖_F (A.3), linear conv nets",
    [{"kernel": kk, "stride": 1, "size": kk + 2, "out": o, "classes": 3} for kk in (2, 3) for o in (1, 2)],
    _chain_shapes,
    _chain_linear,
)
PROPERTIES["pk.chain"] = PropertyClaim(
    [_CHAIN_NON_OVERLAPPING, _CHAIN_OVERLAPPING],
    [_mutated(_CHAIN_NON_OVERLAPPING, "the conv rule multiplying by ‖W‖_F (mutant)", "", mutant=True)],
)
