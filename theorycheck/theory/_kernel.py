"""Infinite-width (NNGP) predictions for input-gradient statistics.

For random networks the output is, as the widths grow, a Gaussian process with
covariance ``K(x, x′)`` (the NNGP kernel), and ``E[∂f/∂x_i ∂f/∂x′_j]`` is the
mixed derivative ``∂²K/∂x_i∂x′_j`` at ``x′ = x``. The kernel follows a
layer-by-layer recursion over pairs of spatial positions ``(p, q)`` (channels are
i.i.d. after the first weighted layer):

* conv: ``K′(p,q) = (gain/k²) Σ_a K(p+a, q+a)`` (same kernel offset ``a``; padding
  as in the graph), dense: ``K′ = gain · mean_p K(p,p)`` (after flatten);
* average pooling: ``K′ = S K Sᵀ / n²``, global average: the mean over all pairs;
* ReLU: the arc-cosine map ``F(a,b,c) = √(ab)/(2π) · J(ρ)``, ``ρ = c/√(ab)``,
  ``J(ρ) = √(1−ρ²) + (π − arccos ρ) ρ`` (Cho & Saul 2009).
* branches: ``add`` sums the branches' kernels. The cross-moments
  ``E[a(x) b(x′)]`` vanish when a branch ends in a weighted layer (then only
  average pooling, flatten or global averaging): its output is linear in
  zero-mean weights independent of the other branch. At most one branch may
  end otherwise (the identity of ``residual{…}``, or a trailing ReLU).
  ``concat`` keeps a mixture of channel groups, each with its own kernel and
  share of the channels; the next weighted layer sums over channels and merges
  them (``K′ ∝ Σ_g share_g K_g``).

Along with ``K`` it propagates ``A_i(p,q) = ∂_{x_i}K(x,p; x′,q)`` and
``M_i(p,q) = ∂_{x_i}∂_{x′_i}K(x,p; x′,q)`` at ``x′ = x`` in closed form (no finite
differences). On the diagonal ``p = q`` the pre-activations are perfectly
correlated (``ρ = 1``) and the arc-cosine map is not differentiable; there the
singular term equals ``(s/2π) J″(ρ) ρ̇ ρ′`` with ``ρ̇ = ρ′ = 0`` (``ρ`` is maximal at
``x′ = x``) and vanishes in the limit, leaving ``M′ = ½ M``, which is (H)'s ½.
Off the diagonal the full second-order chain rule applies; that is where the
kernel level departs from (H) (e.g. average pooling, Theorem 6).

Storage and cost. ``K(x,p; x,q)`` depends on ``x`` only through the receptive
fields of ``p`` and ``q``, so ``A_i`` vanishes on every row ``p`` whose receptive
field misses ``x_i`` and ``M_i`` on such rows and columns. ``A_i`` is kept on its
support rows only (R × P instead of P × P, R the receptive-field footprint of
one input), ``M_i`` on R × R; everything derived from ``K`` alone (the
activation coefficients, pooled and convolved ``K``) is computed once per
input ``x`` and shared by all chunks of inputs i. The cost per layer is
O(d · R · P · k²) instead of O(d · P² · k²): a 2-layer 3×3 net on 3×32×32 takes
seconds, the 8-layer paper CNN on 3×32×32 a few minutes (2 cores); ``K`` itself
keeps all P² pairs, which bounds the image size (``KERNEL_MAX_PAIRS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    AvgPool,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    Shape,
    parse_input_shape,
)
from theorycheck.theory._frames import Frame, annotate

__all__ = ["KERNEL_MAX_PAIRS", "KernelPrediction", "KernelSummary", "kernel_predict", "kernel_summary"]

#: largest P² · (inputs per chunk) held at once, in float64 elements
KERNEL_MAX_PAIRS = 2**26
_TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class KernelPrediction:
    """Kernel-level predictions (infinite width) for one input ``x``."""

    coord_var_map: np.ndarray | None
    grad_sq_norm: float | None
    covered: bool
    reason: str | None


def _offset_index(
    n_in: int, n_out: int, kernel: int, stride: int, dilation: int, before: int, padding: str
) -> np.ndarray:
    """``idx[o, a]``: input position read by offset ``a`` of output ``o`` (−1 for a zero-padding position)."""
    idx = np.full((n_out, kernel), -1, dtype=np.int64)
    for o in range(n_out):
        for a in range(kernel):
            p = o * stride + a * dilation - before
            if padding == "circular":
                p %= n_in
            elif padding == "reflect":
                p = -p if p < 0 else (2 * (n_in - 1) - p if p >= n_in else p)
            if 0 <= p < n_in:
                idx[o, a] = p
    return idx


def _conv_gathers(node: Conv, h: int, w: int, ho: int, wo: int) -> list[np.ndarray]:
    """For each 2-D offset, the flat input position of every flat output position (−1: padding)."""
    before = node.pad[0]
    ih = _offset_index(h, ho, node.kernel, node.stride, node.dilation, before, node.padding)
    iw = _offset_index(w, wo, node.kernel, node.stride, node.dilation, before, node.padding)
    out = []
    for a in range(node.kernel):
        for b in range(node.kernel):
            rows, cols = ih[:, a][:, None], iw[:, b][None, :]
            flat = np.where((rows >= 0) & (cols >= 0), rows * w + cols, -1)
            out.append(flat.ravel())
    return out


def _pool_gathers(node: AvgPool, h: int, w: int, ho: int, wo: int) -> list[np.ndarray]:
    """For each window offset, the flat input position of every flat output position."""
    ih = _offset_index(h, ho, node.kernel, node.step, 1, 0, "valid")
    iw = _offset_index(w, wo, node.kernel, node.step, 1, 0, "valid")
    return [(ih[:, a][:, None] * w + iw[:, b][None, :]).ravel() for a in range(node.kernel) for b in range(node.kernel)]


def _gather_pairs(t: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    """``t[idx[p], idx[q]]`` with zeros where either index is −1."""
    valid = torch.as_tensor(idx >= 0)
    safe = torch.as_tensor(np.where(idx >= 0, idx, 0))
    g = t[safe, :][:, safe]
    mask = (valid[:, None] & valid[None, :]).to(t.dtype)
    return g * mask


class _Context:
    """What one input ``x`` shares across chunks of inputs i: every K-derived quantity (computed once), and
    the largest ``R·P`` of a chunk state seen so far (to size the next chunk)."""

    def __init__(self, full_support: bool) -> None:
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.full_support = full_support
        self.max_rp = 1

    def get(self, key: tuple[Any, ...], compute: Any) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def note(self, mix: list[tuple[float, _State]]) -> None:
        for _, st in mix:
            self.max_rp = max(self.max_rp, st.a.shape[1] * st.a.shape[2])


class _State:
    """One channel group for a chunk of inputs i.

    ``k`` (P, P): ``K(x,p; x,q)`` over spatial position pairs. ``A_i`` and ``M_i`` vanish on every row ``p``
    whose receptive field does not contain ``x_i`` (and ``M_i`` on such columns too), so they are stored on the
    support rows only: ``a`` (I, R, P) holds ``A_i(sup[i,r], q)`` and ``m`` (I, R, R) holds
    ``M_i(sup[i,r], sup[i,s])``; ``valid`` (I, R) marks the real rows of the padded row lists ``sup``.
    """

    def __init__(
        self, k: torch.Tensor, a: torch.Tensor, m: torch.Tensor, sup: torch.Tensor, valid: torch.Tensor, h: int, w: int
    ) -> None:
        self.k, self.a, self.m, self.sup, self.valid, self.h, self.w = k, a, m, sup, valid, h, w

    @property
    def positions(self) -> int:
        return self.h * self.w

    def mask(self) -> torch.Tensor:
        """(I, P) support mask."""
        n, p = self.sup.shape[0], self.positions
        out = torch.zeros(n, p + 1, dtype=torch.bool)
        out.scatter_(1, torch.where(self.valid, self.sup, p), True)
        return out[:, :p]

    def locate(self) -> torch.Tensor:
        """``loc[i, p] = r`` where ``sup[i, r] = p``, −1 off the support (I, P)."""
        n, r = self.sup.shape
        p = self.positions
        loc = torch.full((n, p + 1), -1, dtype=torch.long)
        loc.scatter_(1, torch.where(self.valid, self.sup, p), torch.arange(r).expand(n, r).contiguous())
        loc[:, p] = -1
        return loc[:, :p]


def _rows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded row lists ``(sup, valid)`` (I, R) of a support mask (I, P), in increasing position order."""
    counts = mask.sum(dim=1)
    r = max(int(counts.max()) if counts.numel() else 1, 1)
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :r]
    valid = torch.arange(r)[None, :] < counts[:, None]
    return torch.where(valid, order, 0), valid


def _pick_rows(s: _State, rows: torch.Tensor, ok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``A`` rows and ``M`` rows × columns at row slots ``rows`` (I, R′) where ``ok``, zero elsewhere."""
    bi = torch.arange(rows.shape[0])[:, None]
    rs = torch.where(ok, rows, 0)
    okf = ok.to(s.a.dtype)
    a = s.a[bi, rs] * okf[:, :, None]
    m = s.m[bi[:, :, None], rs[:, :, None], rs[:, None, :]] * (okf[:, :, None] * okf[:, None, :])
    return a, m


def _first_layer(
    node: Conv | Dense, x: torch.Tensor, shape: Shape, gain_var: float, chunk: range, ctx: _Context, key: Any
) -> _State:
    """K, A, M after the first weighted layer, from the input itself (channels not yet i.i.d.)."""
    n_in = len(chunk)
    inputs = torch.as_tensor(list(chunk))
    one = torch.ones(n_in, 1, dtype=torch.bool)
    zero = torch.zeros(n_in, 1, dtype=torch.long)
    if isinstance(node, Dense):
        k = (gain_var * (x @ x)).reshape(1, 1)
        a = (gain_var * x[inputs]).reshape(n_in, 1, 1)
        m = torch.full((n_in, 1, 1), gain_var, dtype=x.dtype)
        return _State(k, a, m, zero, one, 1, 1)
    c, h, w = shape
    ho, wo = (h + sum(node.pad) - node.extent) // node.stride + 1, (w + sum(node.pad) - node.extent) // node.stride + 1
    img = x.reshape(c, h * w)
    gathers = [torch.as_tensor(g) for g in _conv_gathers(node, h, w, ho, wo)]
    patches = [img[:, g.clamp_min(0)] * (g >= 0).to(x.dtype) for g in gathers]  # x_c(m_a(p)), (C, P_out)
    k = ctx.get((key, "K"), lambda: gain_var * sum(pt.T @ pt for pt in patches))
    ch, pos = inputs // (h * w), inputs % (h * w)
    if ctx.full_support:
        mask = torch.ones(n_in, ho * wo, dtype=torch.bool)
    else:
        mask = torch.zeros(n_in, ho * wo, dtype=torch.bool)
        for g in gathers:
            mask |= g[None, :] == pos[:, None]
    sup, valid = _rows(mask)
    # A_i(p, q) = Σ_a [i = (c, m_a(p))] x_c(m_a(q));  M_i(p, q) = Σ_a [i = (c, m_a(p))][i = (c, m_a(q))]
    hits = torch.stack([((g[sup] == pos[:, None]) & valid).to(x.dtype) for g in gathers], dim=2)  # (I, R, offsets)
    values = torch.stack(patches, dim=1)[ch]  # (I, offsets, P_out)
    a = torch.bmm(hits, values)
    m = torch.bmm(hits, hits.transpose(1, 2))
    return _State(k, gain_var * a, gain_var * m, sup, valid, ho, wo)


#: ``(K′, F_a, F_c, F_ab, F_bc, F_ac, F_cc)`` over position pairs, for ``F(a, b, c) = E[φ(u)φ(v)]`` with
#: ``a = K(p,p)``, ``b = K(q,q)``, ``c = K(p,q)``
_Coefficients = tuple[torch.Tensor, ...]


def _relu_coefficients(k: torch.Tensor) -> _Coefficients:
    """The arc-cosine map and its derivatives (see the module docstring)."""
    diag = torch.diagonal(k)
    aa, bb = diag[:, None], diag[None, :]
    root = torch.sqrt(aa * bb).clamp_min(1e-300)
    rho = (k / root).clamp(-1.0, 1.0)
    on = (1.0 - rho) < 1e-12  # perfectly correlated pairs (the diagonal): the singular limit
    sq = torch.sqrt((1.0 - rho**2).clamp_min(0.0))
    theta = torch.arccos(rho)
    j = sq + (math.pi - theta) * rho
    k_post = root * j / _TWO_PI
    f_c = (math.pi - theta) / _TWO_PI
    f_a = root * sq / (2 * _TWO_PI * aa)
    inv_sq = torch.where(on, torch.zeros_like(sq), 1.0 / sq.clamp_min(1e-300))  # J''(ρ), dropped where ρ = 1
    f_cc = inv_sq / (_TWO_PI * root)
    f_ac = -inv_sq * rho / (2 * _TWO_PI * aa)
    f_bc = -inv_sq * rho / (2 * _TWO_PI * bb)
    f_ab = torch.where(on, torch.zeros_like(sq), (sq / (4 * root) + root * rho**2 * inv_sq / (4 * aa * bb)) / _TWO_PI)
    return k_post, f_a, f_c, f_ab, f_bc, f_ac, f_cc


#: Gauss-Hermite nodes per dimension for the smooth activations (exact for polynomials of degree < 2·40)
QUADRATURE_NODES = 40


def _derivatives(fn: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """φ, φ′, φ″, φ‴ of a smooth activation."""
    if fn == "tanh":
        t = torch.tanh(x)
        d1 = 1 - t**2
        return t, d1, -2 * t * d1, -2 * d1 * (1 - 3 * t**2)
    sig = torch.sigmoid(x)
    s1 = sig * (1 - sig)
    s2 = s1 * (1 - 2 * sig)
    s3 = s1 * (1 - 6 * sig + 6 * sig**2)
    if fn == "sigmoid":
        return sig, s1, s2, s3
    return torch.nn.functional.softplus(x), sig, s1, s2  # softplus


def _smooth_coefficients(k: torch.Tensor, fn: str) -> _Coefficients:
    """A smooth activation by 2-D Gauss-Hermite quadrature; derivatives by Price's theorem.

    For ``(u, v)`` centred Gaussian with covariance ``[[a, c], [c, b]]`` and ``F = E[φ(u)φ(v)]``:
    ``F_c = E[φ′φ′]``, ``F_a = ½E[φ″(u)φ(v)]``, ``F_cc = E[φ″φ″]``, ``F_ac = ½E[φ‴(u)φ′(v)]``,
    ``F_ab = ¼E[φ″φ″]``. All are regular at ``ρ = 1`` for smooth φ, so no limit is needed.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    z = torch.as_tensor(nodes)
    w = torch.as_tensor(weights / math.sqrt(2 * math.pi))
    w2 = (w[:, None] * w[None, :]).reshape(-1)
    z1 = z[:, None].expand(-1, len(z)).reshape(-1)
    z2 = z[None, :].expand(len(z), -1).reshape(-1)
    diag = torch.diagonal(k)
    a, b, c = diag[:, None, None], diag[None, :, None], k[:, :, None]
    sa = torch.sqrt(a.clamp_min(0.0))
    u = sa * z1
    slope = c / sa.clamp_min(1e-300)
    v = slope * z1 + torch.sqrt((b - slope**2).clamp_min(0.0)) * z2
    pu, pu1, pu2, pu3 = _derivatives(fn, u)
    pv, pv1, pv2, pv3 = _derivatives(fn, v)

    def expect(t: torch.Tensor) -> torch.Tensor:
        return (t * w2).sum(dim=-1)

    f_cc = expect(pu2 * pv2)
    return (
        expect(pu * pv),
        0.5 * expect(pu2 * pv),
        expect(pu1 * pv1),
        0.25 * f_cc,
        0.5 * expect(pu1 * pv3),
        0.5 * expect(pu3 * pv1),
        f_cc,
    )


def _activation(s: _State, coefficients: _Coefficients) -> _State:
    """First and mixed second derivatives through ``F``: with ``ȧ = ∂_i K(x,p;x,p) = 2A_i(p,p)``, ``ċ = A_i(p,q)``
    and ``c′ = A_i(q,p)``: ``A′ = F_a ȧ + F_c ċ`` and
    ``M′ = F_ab ȧ ḃ′ + F_bc ċ ḃ′ + F_ac ȧ c′ + F_cc ċ c′ + F_c M`` (all on the support rows)."""
    k_post, f_a, f_c, f_ab, f_bc, f_ac, f_cc = coefficients
    sup, valid = s.sup, s.valid
    n, r = sup.shape
    vf = valid.to(s.a.dtype)
    pair_mask = vf[:, :, None] * vf[:, None, :]
    a_dot = 2 * s.a.gather(2, sup[:, :, None]).squeeze(2) * vf  # (I, R)
    a_pq = s.a.gather(2, sup[:, None, :].expand(n, r, r)) * pair_mask  # A_i(p_r, p_s)
    rows, cols = sup[:, :, None], sup[:, None, :]

    def pair(f: torch.Tensor) -> torch.Tensor:
        return f[rows, cols]

    a_post = f_a[sup] * a_dot[:, :, None] + f_c[sup] * s.a
    ad, bd = a_dot[:, :, None], a_dot[:, None, :]
    a_qp = a_pq.transpose(1, 2)
    m_post = pair(f_ab) * ad * bd + pair(f_bc) * a_pq * bd + pair(f_ac) * ad * a_qp + pair(f_cc) * a_pq * a_qp
    m_post = m_post + pair(f_c) * s.m
    return _State(k_post, a_post, m_post, sup, valid, s.h, s.w)


def _conv(node: Conv, s: _State, scale: float, ctx: _Context, key: Any) -> _State:
    """``K′(p,q) = σ² C_in Σ_a K(m_a(p), m_a(q))`` with ``σ² C_in = gain/k²``; same for A and M (same offset a)."""
    ho = (s.h + sum(node.pad) - node.extent) // node.stride + 1
    wo = (s.w + sum(node.pad) - node.extent) // node.stride + 1
    gathers = _conv_gathers(node, s.h, s.w, ho, wo)
    k = ctx.get((key, "K"), lambda: scale * sum(_gather_pairs(s.k, g) for g in gathers))
    idx = [torch.as_tensor(g) for g in gathers]
    old = s.mask()
    mask = torch.zeros(old.shape[0], ho * wo, dtype=torch.bool)
    for g in idx:
        mask |= old[:, g.clamp_min(0)] & (g >= 0)
    sup, valid = _rows(mask)
    loc = s.locate()
    n, r = sup.shape
    r_old, p_in = s.a.shape[1], s.a.shape[2]
    padded_a = torch.nn.functional.pad(s.a, (0, 1, 0, 1))  # a zero row r_old and a zero column p_in
    padded_m = torch.nn.functional.pad(s.m, (0, 1, 0, 1))
    a = torch.zeros(n, r, ho * wo, dtype=s.a.dtype)
    m = torch.zeros(n, r, r, dtype=s.a.dtype)
    for g in idx:
        rows = loc.gather(1, g.clamp_min(0)[sup])
        rows = torch.where(valid & (g[sup] >= 0) & (rows >= 0), rows, r_old)  # (I, R′) row slots
        cols = padded_a.index_select(2, torch.where(g >= 0, g, p_in))  # (I, R_old + 1, P′)
        a += cols.gather(1, rows[:, :, None].expand(n, r, ho * wo))
        m += padded_m.gather(1, rows[:, :, None].expand(n, r, r_old + 1)).gather(2, rows[:, None, :].expand(n, r, r))
    return _State(k, scale * a, scale * m, sup, valid, ho, wo)


def _avgpool(node: AvgPool, s: _State, ctx: _Context, key: Any) -> _State:
    """``K′ = S K Sᵀ`` with ``S`` the window average; A and M likewise (rows and columns pooled separately)."""
    ho, wo = (s.h - node.kernel) // node.step + 1, (s.w - node.kernel) // node.step + 1
    share = 1.0 / node.kernel**2
    gathers = [torch.as_tensor(g) for g in _pool_gathers(node, s.h, s.w, ho, wo)]

    def pooled_k() -> torch.Tensor:
        pool = torch.zeros(ho * wo, s.positions, dtype=s.k.dtype)
        for g in gathers:
            pool[torch.arange(ho * wo), g] += share
        return pool @ s.k @ pool.T

    k = ctx.get((key, "K"), pooled_k)
    old = s.mask()
    mask = torch.zeros(old.shape[0], ho * wo, dtype=torch.bool)
    for g in gathers:
        mask |= old[:, g]
    sup, valid = _rows(mask)
    loc = s.locate()
    n, r = sup.shape
    bi = torch.arange(n)[:, None]
    cols_a = torch.stack([s.a[:, :, g] for g in gathers]).sum(dim=0)  # A pooled over columns, (I, R_old, P′)
    a = torch.zeros(n, r, ho * wo, dtype=s.a.dtype)
    m_rows = torch.zeros(n, r, s.m.shape[2], dtype=s.a.dtype)  # M pooled over rows, (I, R, R_old)
    slots = []
    for g in gathers:
        rows = loc.gather(1, g[sup])
        ok = valid & (rows >= 0)
        rs = torch.where(ok, rows, 0)
        okf = ok.to(s.a.dtype)[:, :, None]
        slots.append((rs, okf))
        a += cols_a[bi, rs] * okf
        m_rows += s.m[bi, rs] * okf
    m = torch.zeros(n, r, r, dtype=s.a.dtype)
    for rs, okf in slots:
        m += m_rows.gather(2, rs[:, None, :].expand(n, r, r)) * okf.transpose(1, 2)
    return _State(k, share * share * a, share * share * m, sup, valid, ho, wo)


def _single(s: _State, k: torch.Tensor, a: torch.Tensor, m: torch.Tensor) -> _State:
    """A state with one position (after global pooling or a dense layer); its support is that position."""
    n = a.shape[0]
    return _State(
        k.reshape(1, 1),
        a.reshape(n, 1, 1),
        m.reshape(n, 1, 1),
        torch.zeros(n, 1, dtype=torch.long),
        torch.ones(n, 1, dtype=torch.bool),
        1,
        1,
    )


def _global(s: _State) -> _State:
    """Global averaging: the mean over all position pairs (off-support entries are zero)."""
    pairs = s.positions**2
    return _single(s, s.k.mean(), s.a.sum(dim=(1, 2)) / pairs, s.m.sum(dim=(1, 2)) / pairs)


def _dense_after(s: _State, gain_var_times_fan: float) -> _State:
    """Dense layer on i.i.d. features: ``K′ = gain · mean_p K(p,p)`` (over positions and channels)."""
    vf = s.valid.to(s.a.dtype)
    diag_a = s.a.gather(2, s.sup[:, :, None]).squeeze(2) * vf
    diag_m = torch.diagonal(s.m, dim1=1, dim2=2) * vf
    g, p = gain_var_times_fan, s.positions
    return _single(s, g * torch.diagonal(s.k).mean(), g * diag_a.sum(dim=1) / p, g * diag_m.sum(dim=1) / p)


#: a channel-group mixture: (share of the channels, state of that group); shares sum to 1
_Mix = list[tuple[float, _State]]


def _centred(frames: list[Frame]) -> bool:
    """True when the branch ends in a weighted layer followed only by linear weightless ops."""
    for fr in reversed(frames):
        if isinstance(fr.node, (Dense, Conv)):
            return True
        if not isinstance(fr.node, (AvgPool, GlobalAvgPool, Flatten)):
            return False
    return False  # the identity


def _uncovered(frames: list[Frame]) -> str | None:
    """Why ``frames`` (recursively) are outside the kernel level, or None."""
    for fr in frames:
        node = fr.node
        if isinstance(node, (Add, Concat)):
            for branch in fr.branches:
                why = _uncovered(branch)
                if why:
                    return why
            if isinstance(node, Add) and sum(not _centred(b) for b in fr.branches) > 1:
                return (
                    "add{…} of two branches that do not end in a weighted layer is not covered at kernel level "
                    "(their cross-moments E[a(x)b(x′)] do not vanish)"
                )
            continue
        if not isinstance(node, (Dense, Conv, Activation, AvgPool, Flatten, GlobalAvgPool)):
            return f"{node.kind} is not covered at kernel level" + (
                " (no closed-form kernel)" if "max" in node.kind else ""
            )
        if isinstance(node, Activation) and fr.in_nonneg:
            return (
                "an activation on a non-negative input is not supported at kernel level "
                "(its input is not a centred Gaussian)"
            )
    return None


def _weighted_sum(parts: list[tuple[float, _State]]) -> _State:
    """``Σ w · state`` over states of one spatial shape, on the union of their supports."""
    first = parts[0][1]
    mask = parts[0][1].mask()
    for _, st in parts[1:]:
        mask = mask | st.mask()
    sup, valid = _rows(mask)
    k = sum(wt * st.k for wt, st in parts)
    a = torch.zeros(sup.shape[0], sup.shape[1], first.positions, dtype=first.a.dtype)
    m = torch.zeros(sup.shape[0], sup.shape[1], sup.shape[1], dtype=first.a.dtype)
    for wt, st in parts:
        rows = st.locate().gather(1, sup)
        part_a, part_m = _pick_rows(st, rows, valid & (rows >= 0))
        a, m = a + wt * part_a, m + wt * part_m
    return _State(torch.as_tensor(k), a, m, sup, valid, first.h, first.w)


def _merge(mix: _Mix, fn: Any) -> _State:
    """Apply a linear map ``fn(group index, state)`` to every group and sum with the groups' shares."""
    parts = [(share, fn(gi, st)) for gi, (share, st) in enumerate(mix)]
    return parts[0][1] if len(parts) == 1 and parts[0][0] == 1.0 else _weighted_sum(parts)


def _add(parts: list[_Mix]) -> _Mix:
    """Channel-wise sum of branch outputs (at most one branch may be a multi-group mixture)."""
    multi = [m for m in parts if len(m) > 1]
    base = multi[0] if multi else parts[0]
    singles = [other[0][1] for other in parts if other is not base]
    return [(share, _weighted_sum([(1.0, st)] + [(1.0, o) for o in singles])) for share, st in base]


def _apply(frames: list[Frame], mix: _Mix, ctx: _Context) -> _Mix:
    """Propagate a mixture through ``frames`` (the first weighted layer excluded)."""
    for fr in frames:
        node = fr.node
        key = id(fr)
        if isinstance(node, Activation):
            fn = node.fn
            mix = [
                (
                    sh,
                    _activation(
                        st,
                        ctx.get(
                            (key, gi),
                            lambda st=st, fn=fn: (
                                _relu_coefficients(st.k) if fn == "relu" else _smooth_coefficients(st.k, fn)
                            ),
                        ),
                    ),
                )
                for gi, (sh, st) in enumerate(mix)
            ]
        elif isinstance(node, Conv):
            scale = node.init.variance(fr.in_shape[0] * node.kernel**2) * fr.in_shape[0]
            mix = [
                (
                    1.0,
                    _merge(mix, lambda gi, st, node=node, scale=scale, key=key: _conv(node, st, scale, ctx, (key, gi))),
                )
            ]
        elif isinstance(node, AvgPool):
            mix = [(sh, _avgpool(node, st, ctx, (key, gi))) for gi, (sh, st) in enumerate(mix)]
        elif isinstance(node, GlobalAvgPool):
            mix = [(sh, _global(st)) for sh, st in mix]
        elif isinstance(node, Flatten):
            continue
        elif isinstance(node, Dense):
            fan = fr.in_shape[0]
            gain = node.init.variance(fan) * fan
            mix = [(1.0, _merge(mix, lambda gi, st, gain=gain: _dense_after(st, gain)))]
        elif isinstance(node, Add):
            outs = [_apply(branch, mix, ctx) for branch in fr.branches]
            if sum(len(o) > 1 for o in outs) > 1:
                raise _NotCovered("add{…} of two concatenations is not covered at kernel level")
            mix = _add(outs)
        elif isinstance(node, Concat):  # each branch's groups keep their shares, scaled by its channel share
            total = fr.out_shape[0]
            mix = [
                (sh * (branch[-1].out_shape[0] if branch else fr.in_shape[0]) / total, st)
                for branch in fr.branches
                for sh, st in _apply(branch, mix, ctx)
            ]
        ctx.note(mix)
    return mix


class _NotCovered(Exception):
    pass


#: float64 elements of the largest per-chunk state ``A`` (I · R · P); chunks of inputs are sized to it
KERNEL_CHUNK_ELEMENTS = 2**24
#: inputs in the first chunk, which measures the support sizes ``R`` that size the later chunks
_PROBE_INPUTS = 16


def kernel_predict(
    arch: Architecture | str, input_shape: Shape | str | int, x: np.ndarray | torch.Tensor
) -> KernelPrediction:
    """``E[(∂f/∂x_i)²]`` for every input ``i`` at input ``x``, in the infinite-width limit (float64)."""
    return _kernel_predict(arch, input_shape, x, full_support=False)


def _kernel_predict(
    arch: Architecture | str, input_shape: Shape | str | int, x: np.ndarray | torch.Tensor, *, full_support: bool
) -> KernelPrediction:
    """``full_support=True`` stores ``A_i`` and ``M_i`` on every position (the dense reference for tests)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    frames = annotate(arch, shape)
    nodes = [f.node for f in frames]
    why = _uncovered(frames)
    if why:
        return KernelPrediction(None, None, False, why)
    if not isinstance(nodes[0], (Dense, Conv)):
        return KernelPrediction(None, None, False, "the kernel level needs a weighted first layer")
    max_p = max(int(np.prod(f.out_shape[1:])) if len(f.out_shape) == 3 else 1 for f in _all_frames(frames))
    if max_p**2 > KERNEL_MAX_PAIRS:
        return KernelPrediction(
            None,
            None,
            False,
            f"too large for the kernel level: {max_p} spatial positions need {max_p**2:.3g} position pairs "
            f"(at most {KERNEL_MAX_PAIRS:.3g}; the kernel level keeps K over all pairs)",
        )
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64)).reshape(-1)
    d = xt.numel()
    first = frames[0]
    head = first.node
    assert isinstance(head, (Dense, Conv))
    fan = first.in_shape[0] if isinstance(head, Dense) else first.in_shape[0] * head.kernel**2
    ctx = _Context(full_support)
    result = np.zeros(d)
    lo = 0
    while lo < d:
        size = _PROBE_INPUTS if lo == 0 else max(1, KERNEL_CHUNK_ELEMENTS // ctx.max_rp)
        chunk = range(lo, min(d, lo + size))
        state = _first_layer(head, xt, shape, head.init.variance(fan), chunk, ctx, id(first))
        ctx.note([(1.0, state)])
        try:
            mix = _apply(frames[1:], [(1.0, state)], ctx)
        except _NotCovered as exc:
            return KernelPrediction(None, None, False, str(exc))
        ((_, state),) = mix  # the logits layer is dense: one group
        result[lo : chunk.stop] = state.m.reshape(len(chunk)).numpy()
        lo = chunk.stop
    cmap = result.reshape(shape)
    return KernelPrediction(cmap, float(result.sum()), True, None)


def _all_frames(frames: list[Frame]) -> list[Frame]:
    out = []
    for fr in frames:
        out.append(fr)
        for branch in fr.branches:
            out.extend(_all_frames(branch))
    return out


@dataclass(frozen=True)
class KernelSummary:
    """Kernel-level predictions averaged over ``inputs`` random standard Gaussian inputs."""

    architecture: str
    input_shape: Shape
    inputs: int
    seed: int
    coord_var_map: np.ndarray | None
    grad_sq_norm: float | None
    grad_l1: float | None
    grad_linf: float | None
    covered: bool
    reason: str | None

    def to_dict(self) -> dict[str, object]:
        from theorycheck.graph import format_shape

        m = self.coord_var_map
        return {
            "architecture": self.architecture,
            "input": format_shape(self.input_shape),
            "level": "kernel",
            "inputs": self.inputs,
            "seed": self.seed,
            "d": int(np.prod(self.input_shape)),
            "coord_var": None if m is None else {"min": float(m.min()), "mean": float(m.mean()), "max": float(m.max())},
            "grad_sq_norm": self.grad_sq_norm,
            "grad_l1": self.grad_l1,
            "grad_linf": self.grad_linf,
            "covered": self.covered,
            "reason": self.reason,
        }


def kernel_summary(
    arch: Architecture | str, input_shape: Shape | str | int, *, inputs: int = 3, seed: int = 0
) -> KernelSummary:
    """Kernel-level ``E[(∂f/∂x_i)²]`` map averaged over ``inputs`` standard Gaussian inputs (seeded)."""
    from theorycheck.theory._gaussian import expected_l1, expected_linf

    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    rng = np.random.default_rng(seed)
    maps = []
    for _ in range(inputs):
        kp = kernel_predict(arch, shape, rng.standard_normal(int(np.prod(shape))))
        if not kp.covered:
            return KernelSummary(arch.to_text(), shape, inputs, seed, None, None, None, None, False, kp.reason)
        assert kp.coord_var_map is not None
        maps.append(kp.coord_var_map)
    mean = np.mean(maps, axis=0)
    return KernelSummary(
        arch.to_text(), shape, inputs, seed, mean, float(mean.sum()), expected_l1(mean), expected_linf(mean), True, None
    )
