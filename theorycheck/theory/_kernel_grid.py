"""The kernel level where per-neuron values are not Gaussian: dense ReLU networks with post-activation residuals.

In ``relu(x + f(x))`` the ReLU reads ``s + b``: at infinite width ``b`` (the branch, ending in a weighted layer)
is a centred Gaussian independent of the trunk's neuron value ``s``, but ``s`` (a ReLU output, or such a sum
after earlier blocks) is not Gaussian, so the arc-cosine closed forms of :mod:`._kernel` do not apply (neither do
neural-tangents', which raise ``NotImplementedError`` on a FanInSum after a ReLU). Through depth the per-neuron
value is a Markov chain ``s′ = relu(s + b)``; its law is propagated here numerically.

**What is propagated.** For one input ``x`` and one unit direction ``u ⊥ x``, each per-neuron value ``v`` carries
its law and ``E[(D_u v)² | v]`` (``D_u``: the derivative along ``u``), on a uniform grid ``t_k = k·h``: an atom at 0
(where a ReLU is closed, so ``D_u v = 0``), masses ``μ_k`` of the cells ``[t_k − h/2, t_k + h/2)`` and
``ν_k = E[(D_u v)²; v ∈ cell k]``. The maps, for independent pieces (each branch that contains a weighted layer is
independent, per neuron, of every other branch):

* a weighted layer (gain ``g``) reading ``v``: a centred Gaussian ``z`` with ``Var z = g·E[v²]``, and
  ``D_u z ~ N(0, g·E[(D_u v)²])`` independent of ``z`` (their covariance ``g·E[v·D_u v]`` vanishes: the law of the
  network is invariant under the reflection of input space that fixes ``x`` and maps ``u`` to ``−u``);
* ``relu``: the mass below 0 joins the atom (half of the cell at 0: the grid is symmetric about it);
* a sum of independent pieces: the convolution of their masses, ``ν = ν₁ ∗ μ₂ + μ₁ ∗ ν₂`` (the cross term
  ``E[D_u v₁ · D_u v₂]`` vanishes: ``D_u`` of a Gaussian piece is centred and independent of the rest).

Along ``x̂`` the covariance does not vanish: each Gaussian piece also carries ``c = Cov(z, D_x̂ z)`` and
``Var D_x̂ z``, and each grid value ``E[D_x̂ v; cell]`` and ``E[(D_x̂ v)²; cell]``; given ``z = t``,
``D_x̂ z ~ N((c/q) t, Var D_x̂ z − c²/q)``, a weighted layer reads ``Cov(z′, D_x̂ z′) = g·E[v·D_x̂ v]``, and a sum of
independent pieces adds ``2 E[D_x̂ v₁ | v₁] E[D_x̂ v₂ | v₂]``.

**The gradient.** By the same reflection ``E[∇f ∇fᵀ] = α (I − x̂x̂ᵀ) + γ x̂x̂ᵀ`` with ``α = E[(D_u f)²]`` and
``γ = E[(D_x̂ f)²]``, both propagated to the logits. Hence ``E[(∂_i f)²] = α + (γ − α) x_i²/‖x‖²`` and
``E‖∇f‖² = (d − 1) α + γ``. Biases of variance ``v`` add ``v`` to a layer's ``Var z`` and nothing to its
derivatives. (Without biases a ReLU network is positively homogeneous, ``∇f·x = f``, so ``γ = E[f²]/‖x‖²``: a test
checks that the propagated ``γ`` says so.)

**Precision.** The cells carry point masses at their centres: moments are exact for the discrete law and within
``O(h²)`` of the continuous one (the ReLU's threshold is a cell boundary's midpoint, split symmetrically). The
spacing is ``h = σ_min / CELLS_PER_SIGMA`` (``σ_min``: the smallest standard deviation of a Gaussian piece). Each
prediction is computed at ``h`` and ``h/2``; the finer one is returned and ``|P_h − P_{h/2}|`` is stated as its
quadrature error (for an ``O(h²)`` error that bound is about three times the true error).

**Covered:** networks whose first weighted layer is dense with normal weights (after an optional flatten of the
input), and whose other nodes are dense layers, ReLUs, flattens, and ``add``/``residual`` blocks in which at most
one branch has no weighted layer; layers may have biases. Anything else (convolutions: the joint law at pairs of
positions is not propagated; activations other than ReLU: their non-Gaussian laws are not carried; two weight-free
branches of one sum: dependent) is refused with the node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve
from scipy.special import ndtr

from theorycheck.graph import Activation, Add, Dense, Flatten, Node, Shape
from theorycheck.theory._frames import Frame

__all__ = ["GridPrediction", "grid_predict", "grid_uncovered"]

#: grid cells per standard deviation of the narrowest Gaussian piece (the coarse grid; the fine one has twice as many)
CELLS_PER_SIGMA = 64
#: a piece's tails beyond this many of its standard deviations are dropped (mass below 1e-40)
TAIL_SIGMAS = 13.5
#: the largest grid (cells) a law may span before the prediction is refused
MAX_CELLS = 2**22


@dataclass(frozen=True)
class GridPrediction:
    """``coord_var_map`` (the input's shape) and ``E‖∇f‖²`` with the quadrature error bound of the latter."""

    coord_var_map: np.ndarray
    grad_sq_norm: float
    quadrature_error: float


@dataclass(frozen=True)
class _Gauss:
    """A centred Gaussian per-neuron value ``z``: ``Var z = q``; along ``u ⊥ x``, ``D_u z ~ N(0, r)`` independent
    of ``z``; along ``x̂``, ``Cov(z, D_x̂ z) = c`` and ``Var D_x̂ z = rx``."""

    q: float
    r: float
    c: float
    rx: float


@dataclass(frozen=True)
class _Law:
    """A per-neuron value on the grid ``t_k = (lo + k)·h``: ``atom`` at 0 (included in ``mu``, where every
    derivative is 0), cell masses ``mu``, ``nu = E[(D_u v)²; cell]``, ``m1 = E[D_x̂ v; cell]``,
    ``m2 = E[(D_x̂ v)²; cell]``."""

    lo: int
    mu: np.ndarray
    nu: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    atom: float


_Value = _Gauss | _Law


class _TooLarge(Exception):
    pass


def _moments(v: _Value, h: float) -> tuple[float, float, float, float]:
    """``(E[v²], E[(D_u v)²], E[v·D_x̂ v], E[(D_x̂ v)²])``."""
    if isinstance(v, _Gauss):
        return v.q, v.r, v.c, v.rx
    t = (v.lo + np.arange(v.mu.size)) * h
    return float(np.dot(v.mu, t * t)), float(v.nu.sum()), float(np.dot(v.m1, t)), float(v.m2.sum())


def _discretised(g: _Gauss, h: float) -> _Law:
    """Cell masses of ``N(0, q)``; given ``z = t``, ``D_x̂ z ~ N((c/q) t, rx − c²/q)``."""
    sigma = np.sqrt(g.q)
    n = int(np.ceil(TAIL_SIGMAS * sigma / h))
    if 2 * n + 1 > MAX_CELLS:
        raise _TooLarge(f"a Gaussian of standard deviation {sigma:.3g} needs {2 * n + 1} cells of {h:.3g}")
    t = np.arange(-n, n + 1) * h
    mu = ndtr((t + h / 2) / sigma) - ndtr((t - h / 2) / sigma)
    slope = g.c / g.q
    m1 = slope * t * mu
    m2 = (max(g.rx - g.c * slope, 0.0) + (slope * t) ** 2) * mu
    return _Law(-n, mu, g.r * mu, m1, m2, 0.0)


def _as_law(v: _Value, h: float) -> _Law:
    return _discretised(v, h) if isinstance(v, _Gauss) else v


def _relu(v: _Value, h: float) -> _Law:
    law = _as_law(v, h)
    zero = -law.lo  # index of t = 0
    if zero <= 0:  # non-negative already: relu is the identity
        return law
    mu, nu, m1, m2 = (a[zero:].copy() for a in (law.mu, law.nu, law.m1, law.m2))
    continuous = mu[0] - law.atom  # the atom is closed already; the cell's continuous part splits in half
    atom = law.atom + float(law.mu[:zero].sum()) + continuous / 2
    mu[0] = atom + continuous / 2
    nu[0], m1[0], m2[0] = nu[0] / 2, m1[0] / 2, m2[0] / 2
    return _Law(0, mu, nu, m1, m2, atom)


def _trimmed(lo: int, mu: np.ndarray, nu: np.ndarray, m1: np.ndarray, m2: np.ndarray, atom: float) -> _Law:
    """Drop outer cells whose mass and moments are negligible (FFT round-off included); clip round-off negatives
    of the non-negative arrays."""
    mu, nu, m2 = np.clip(mu, 0.0, None), np.clip(nu, 0.0, None), np.clip(m2, 0.0, None)
    big = (mu > 1e-40 * mu.max()) | (nu > 1e-40 * max(nu.max(), 1e-300)) | (m2 > 1e-40 * max(m2.max(), 1e-300))
    keep = np.flatnonzero(big)
    a, b = int(keep[0]), int(keep[-1]) + 1
    if b - a > MAX_CELLS:
        raise _TooLarge(f"a sum spans {b - a} grid cells")
    return _Law(lo + a, mu[a:b], nu[a:b], m1[a:b], m2[a:b], atom)


def _sum(values: list[_Value], h: float) -> _Value:
    """The law of a sum of independent per-neuron values: masses convolve; given the two values, the derivatives
    of independent pieces are independent, so ``E[(DX + DY)²] = E[DX²] + 2 E[DX] E[DY] + E[DY²]``, and along
    ``u ⊥ x`` the middle term vanishes."""
    gauss = [v for v in values if isinstance(v, _Gauss)]
    laws = [v for v in values if isinstance(v, _Law)]
    total: _Gauss | None = None
    if gauss:
        total = _Gauss(*(sum(getattr(g, f) for g in gauss) for f in ("q", "r", "c", "rx")))
    if not laws:
        assert total is not None
        return total
    acc = laws[0]
    for other in laws[1:] + ([_discretised(total, h)] if total is not None and total.q > 0 else []):
        mu = fftconvolve(acc.mu, other.mu)
        nu = fftconvolve(acc.nu, other.mu) + fftconvolve(acc.mu, other.nu)
        m1 = fftconvolve(acc.m1, other.mu) + fftconvolve(acc.mu, other.m1)
        m2 = fftconvolve(acc.m2, other.mu) + 2 * fftconvolve(acc.m1, other.m1) + fftconvolve(acc.mu, other.m2)
        acc = _trimmed(acc.lo + other.lo, mu, nu, m1, m2, acc.atom * other.atom)
    return acc


def _gain(node: Dense, fan: int) -> float:
    return node.init.variance(fan) * fan


def _run(frames: list[Frame], value: _Value, h: float, widths: list[float]) -> _Value:
    """Propagate one per-neuron value through ``frames``; ``widths`` collects every Gaussian's standard deviation."""
    for fr in frames:
        node = fr.node
        if isinstance(node, Dense):
            second, deriv, cross, deriv_x = _moments(value, h)
            g = _gain(node, fr.in_shape[0])
            value = _Gauss(g * second + node.bias, g * deriv, g * cross, g * deriv_x)
            widths.append(float(np.sqrt(value.q)))
        elif isinstance(node, Activation):
            value = _relu(value, h)
        elif isinstance(node, Add):
            value = _sum([_run(branch, value, h, widths) for branch in fr.branches], h)
    return value


def _weighted(frames: list[Frame]) -> bool:
    return any(isinstance(fr.node, Dense) or _weighted_in(fr) for fr in frames)


def _weighted_in(fr: Frame) -> bool:
    return any(_weighted(branch) for branch in fr.branches)


def _node_uncovered(fr: Frame) -> str | None:
    node: Node = fr.node
    if isinstance(node, Activation) and node.fn != "relu":
        return f"{fr.where}: {node.fn} (the grid carries ReLU only)"
    if isinstance(node, Add):
        if sum(not _weighted(b) for b in fr.branches) > 1:
            return f"{fr.where}: two branches without a weighted layer are dependent per neuron"
        for branch in fr.branches:
            why = _walk(branch)
            if why:
                return why
        return None
    if not isinstance(node, (Dense, Activation, Flatten)):
        return f"{fr.where}: {node.kind} (only dense layers, ReLU, flatten and add/residual blocks)"
    return None


def _walk(frames: list[Frame]) -> str | None:
    for fr in frames:
        why = _node_uncovered(fr)
        if why:
            return why
    return None


def grid_uncovered(frames: list[Frame]) -> str | None:
    """Why the grid evaluation does not cover ``frames``, or None."""
    i = 0
    while i < len(frames) and isinstance(frames[i].node, Flatten):
        i += 1
    if i == len(frames) or not isinstance(frames[i].node, Dense):
        return "the first layer after the input is not a dense layer"
    if frames[i].node.init.dist != "normal":  # type: ignore[attr-defined]
        return f"{frames[i].where}: the first layer's weights are not Gaussian"
    return _walk(frames[i + 1 :]) or (None if isinstance(frames[-1].node, Dense) else "the logits are not dense")


def _at(frames: list[Frame], x: np.ndarray, h: float) -> tuple[float, float, list[float]]:
    """``(α, γ, widths)`` on the grid of spacing ``h``: the first layer gives ``h = w·x + β`` with ``Var h = σ²‖x‖² +
    v``, ``D_u h ~ N(0, σ²)`` and ``Cov(h, D_x̂ h) = σ²‖x‖``, ``Var D_x̂ h = σ²``."""
    i = next(j for j, fr in enumerate(frames) if isinstance(fr.node, Dense))
    first = frames[i].node
    assert isinstance(first, Dense)
    var = first.init.variance(x.size)
    sq = float(np.dot(x, x))
    head = _Gauss(var * sq + first.bias, var, var * float(np.sqrt(sq)), var)
    widths = [float(np.sqrt(head.q))]
    out = _run(frames[i + 1 :], head, h, widths)
    assert isinstance(out, _Gauss)  # the logits layer is dense
    return out.r, out.rx, widths


def grid_predict(frames: list[Frame], shape: Shape, x: np.ndarray) -> GridPrediction | str:
    """The exact infinite-width ``E[(∂_i f)²]`` map of a covered network at input ``x`` (module docstring), or why
    it cannot be given."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    sq = float(np.dot(x, x))
    first = next(fr.node for fr in frames if isinstance(fr.node, Dense))
    assert isinstance(first, Dense)
    if not sq > 0 and not first.bias > 0:
        return "the input x = 0 without first-layer biases (every pre-activation is 0; ReLU′(0) is not defined)"
    try:
        # a first pass on a coarse grid finds the narrowest Gaussian piece; then h and h/2
        _, _, widths = _at(frames, x, float(np.sqrt(first.init.variance(x.size) * sq + first.bias)) / 16)
        h = min(widths) / CELLS_PER_SIGMA
        if not h > 0:
            return "a layer's pre-activations vanish (variance 0)"
        coarse = _at(frames, x, h)[:2]
        alpha, gamma = _at(frames, x, h / 2)[:2]
    except _TooLarge as exc:
        return f"too large for the grid ({exc}; at most {MAX_CELLS} cells)"
    d = x.size
    total = (d - 1) * alpha + gamma
    error = abs(total - ((d - 1) * coarse[0] + coarse[1]))
    # at x = 0 every direction is orthogonal to x (γ = α there)
    along = x * x / sq if sq > 0 else np.zeros_like(x)
    cmap = (alpha + (gamma - alpha) * along).reshape(shape)
    return GridPrediction(cmap, float(total), float(error))
