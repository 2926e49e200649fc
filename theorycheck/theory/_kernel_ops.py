"""Layer maps of the kernel level on a chunk of inputs i (see ``_kernel`` for the recursion).

A state holds ``K`` (P, P) over all position pairs, ``A_i`` on the support rows × the needed columns
(I, R, C) and ``M_i`` on the support rows × support rows (I, R, R) (``_kernel_supports``). Each map
takes the target row and column lists of its output and returns exactly those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from theorycheck.graph import AvgPool, Conv, Dense, Shape
from theorycheck.theory._kernel_coefficients import Coefficients
from theorycheck.theory._kernel_supports import Index, conv_gathers, pool_gathers

__all__ = ["State", "activation", "avgpool", "conv", "dense_after", "first_layer", "global_average", "memo", "reindex"]


class State:
    """``k`` (P, P); ``a`` (I, R, C) = ``A_i(rows[r], cols[c])``; ``m`` (I, R, R) = ``M_i(rows[r], rows[s])``."""

    def __init__(
        self, k: torch.Tensor, a: torch.Tensor, m: torch.Tensor, rows: Index, cols: Index, h: int, w: int
    ) -> None:
        self.k, self.a, self.m, self.rows, self.cols, self.h, self.w = k, a, m, rows, cols, h, w

    @property
    def positions(self) -> int:
        return self.h * self.w

    def padded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``a`` and ``m`` with a zero pad row and a zero pad column (the slots of absent positions)."""
        return torch.nn.functional.pad(self.a, (0, 1, 0, 1)), torch.nn.functional.pad(self.m, (0, 1, 0, 1))


def _take(t: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``t[i, rows[i, r], cols[i, c]]`` (I, R′, C′) for ``t`` (I, R, C)."""
    n, r, c = t.shape
    if rows.shape[1] * c <= r * cols.shape[1]:
        return t.gather(1, rows[:, :, None].expand(n, -1, c)).gather(2, cols[:, None, :].expand(n, rows.shape[1], -1))
    return t.gather(2, cols[:, None, :].expand(n, r, -1)).gather(1, rows[:, :, None].expand(n, -1, cols.shape[1]))


def memo(cache: dict[Any, Any], key: Any, compute: Callable[[], Any]) -> Any:
    """``cache[key]``, computed once (K-derived quantities shared by all chunks of inputs)."""
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def first_layer(
    node: Conv | Dense,
    x: torch.Tensor,
    shape: Shape,
    gain_var: float,
    inputs: torch.Tensor,
    rows: Index,
    cols: Index,
    cache: dict[Any, Any],
) -> State:
    """K, A, M after the first weighted layer, from the input itself (channels not yet i.i.d.):
    ``A_i(p,q) = σ² Σ_a [i = (c, m_a(p))] x_c(m_a(q))``, ``M_i(p,q) = σ² Σ_a [i = (c, m_a(p))][i = (c, m_a(q))]``."""
    n = inputs.numel()
    if isinstance(node, Dense):
        k = (gain_var * (x @ x)).reshape(1, 1)
        a = (gain_var * x[inputs]).reshape(n, 1, 1) * cols.valid[:, :1, None]
        m = torch.full((n, 1, 1), gain_var, dtype=x.dtype)
        return State(k, a, m, rows, cols, 1, 1)
    c, h, w = shape
    ho, wo = (h + sum(node.pad) - node.extent) // node.stride + 1, (w + sum(node.pad) - node.extent) // node.stride + 1
    gathers = conv_gathers(node, h, w, ho, wo)
    img = x.reshape(c, h * w)
    patches = torch.stack([img[:, g.clamp_min(0)] * (g >= 0).to(x.dtype) for g in gathers], dim=1)  # (C, off, P)
    k = memo(cache, "first", lambda: gain_var * torch.einsum("cap,caq->pq", patches, patches))
    ch, pos = inputs // (h * w), inputs % (h * w)
    hits = torch.stack([((g[rows.pos] == pos[:, None]) & rows.valid).to(x.dtype) for g in gathers], dim=2)
    offsets = torch.arange(len(gathers))
    values = patches[ch[:, None, None], offsets[None, :, None], cols.pos[:, None, :]]  # (I, off, C)
    a = torch.bmm(hits, values) * cols.valid[:, None, :].to(x.dtype)
    m = torch.bmm(hits, hits.transpose(1, 2))
    return State(k, gain_var * a, gain_var * m, rows, cols, ho, wo)


def activation(s: State, coefficients: Coefficients, cols: Index) -> State:
    """With ``ȧ = ∂_i K(x,p;x,p) = 2A_i(p,p)``, ``ċ = A_i(p,q)`` and ``c′ = A_i(q,p)``: ``A′ = F_a ȧ + F_c ċ``
    and ``M′ = F_ab ȧ ḃ′ + F_bc ċ ḃ′ + F_ac ȧ c′ + F_cc ċ c′ + F_c M`` (support rows; ``cols`` ⊆ the input's)."""
    k_post, f_a, f_c, f_ab, f_bc, f_ac, f_cc = coefficients
    sup, valid = s.rows.pos, s.rows.valid
    dtype = s.a.dtype
    vf = valid.to(dtype)
    diag_slots = s.cols.slots(sup, valid)  # the column slot of each support row's own position
    padded_a, _ = s.padded()
    a_dot = 2 * padded_a.gather(2, diag_slots.unsqueeze(2)).squeeze(2) * vf  # (I, R)
    own_rows = torch.arange(sup.shape[1]).expand_as(sup)
    a_pq = _take(padded_a, own_rows, diag_slots)  # A_i(p_r, p_s)
    a_qp = a_pq.transpose(1, 2)
    tcol, tvalid = cols.pos, cols.valid
    a_kept = _take(padded_a, own_rows, s.cols.slots(tcol, tvalid))
    rows_, cols_ = sup[:, :, None], tcol[:, None, :]
    a_post = f_a[rows_, cols_] * a_dot[:, :, None] + f_c[rows_, cols_] * a_kept
    a_post = a_post * tvalid[:, None, :].to(dtype)
    pr, ps = sup[:, :, None], sup[:, None, :]
    ad, bd = a_dot[:, :, None], a_dot[:, None, :]
    m_post = f_ab[pr, ps] * ad * bd + f_bc[pr, ps] * a_pq * bd + f_ac[pr, ps] * ad * a_qp + f_cc[pr, ps] * a_pq * a_qp
    m_post = (m_post + f_c[pr, ps] * s.m) * (vf[:, :, None] * vf[:, None, :])
    return State(k_post, a_post, m_post, s.rows, cols, s.h, s.w)


def conv(node: Conv, s: State, scale: float, rows: Index, cols: Index, cache: dict[Any, Any], key: Any) -> State:
    """``K′(p,q) = σ² C_in Σ_a K(m_a(p), m_a(q))`` with ``σ² C_in = gain/k²``; same for A and M (same offset a)."""
    ho = (s.h + sum(node.pad) - node.extent) // node.stride + 1
    wo = (s.w + sum(node.pad) - node.extent) // node.stride + 1
    gathers = conv_gathers(node, s.h, s.w, ho, wo)

    def k_conv() -> torch.Tensor:
        out = torch.zeros(ho * wo, ho * wo, dtype=s.k.dtype)
        for g in gathers:
            ok = g >= 0
            safe = g.clamp_min(0)
            out += s.k[safe][:, safe] * (ok[:, None] & ok[None, :]).to(s.k.dtype)
        return scale * out

    k = memo(cache, key, k_conv)
    padded_a, padded_m = s.padded()
    a = torch.zeros(rows.pos.shape[0], rows.size, cols.size, dtype=s.a.dtype)
    m = torch.zeros(rows.pos.shape[0], rows.size, rows.size, dtype=s.a.dtype)
    for g in gathers:
        src_r, src_c = g[rows.pos], g[cols.pos]
        r_slots = s.rows.slots(src_r.clamp_min(0), rows.valid & (src_r >= 0))
        c_slots = s.cols.slots(src_c.clamp_min(0), cols.valid & (src_c >= 0))
        a += _take(padded_a, r_slots, c_slots)
        m += _take(padded_m, r_slots, r_slots)
    return State(k, scale * a, scale * m, rows, cols, ho, wo)


def avgpool(node: AvgPool, s: State, rows: Index, cols: Index, cache: dict[Any, Any], key: Any) -> State:
    """``K′ = S K Sᵀ`` with ``S`` the window average; A and M likewise (rows and columns pooled separately)."""
    ho, wo = (s.h - node.kernel) // node.step + 1, (s.w - node.kernel) // node.step + 1
    share = 1.0 / node.kernel**2
    gathers = pool_gathers(node, s.h, s.w, ho, wo)

    def k_pool() -> torch.Tensor:
        pool = torch.zeros(ho * wo, s.positions, dtype=s.k.dtype)
        for g in gathers:
            pool[torch.arange(ho * wo), g] += share
        return pool @ s.k @ pool.T

    k = memo(cache, key, k_pool)
    padded_a, padded_m = s.padded()
    n = rows.pos.shape[0]
    r_slots = [s.rows.slots(g[rows.pos], rows.valid) for g in gathers]
    c_slots = [s.cols.slots(g[cols.pos], cols.valid) for g in gathers]
    a_rows = sum(padded_a.gather(1, rs[:, :, None].expand(n, -1, padded_a.shape[2])) for rs in r_slots)
    m_rows = sum(padded_m.gather(1, rs[:, :, None].expand(n, -1, padded_m.shape[2])) for rs in r_slots)
    assert isinstance(a_rows, torch.Tensor) and isinstance(m_rows, torch.Tensor)
    a = sum(a_rows.gather(2, cs[:, None, :].expand(n, rows.size, -1)) for cs in c_slots)
    m = sum(m_rows.gather(2, rs[:, None, :].expand(n, rows.size, -1)) for rs in r_slots)
    assert isinstance(a, torch.Tensor) and isinstance(m, torch.Tensor)
    return State(k, share * share * a, share * share * m, rows, cols, ho, wo)


def _single(k: torch.Tensor, a: torch.Tensor, m: torch.Tensor, rows: Index, cols: Index) -> State:
    """A state with one position (after global pooling or a dense layer)."""
    n = a.shape[0]
    return State(k.reshape(1, 1), a.reshape(n, 1, 1) * cols.valid[:, :1, None], m.reshape(n, 1, 1), rows, cols, 1, 1)


def global_average(s: State, rows: Index, cols: Index) -> State:
    """Global averaging: the mean over all position pairs. Unstored entries of ``A`` are zero or unread: when a
    later layer needs the output's ``A``, every column is stored (``_kernel_supports.needs``)."""
    pairs = s.positions**2
    return _single(s.k.mean(), s.a.sum(dim=(1, 2)) / pairs, s.m.sum(dim=(1, 2)) / pairs, rows, cols)


def dense_after(s: State, gain_var_times_fan: float, rows: Index, cols: Index) -> State:
    """Dense layer on i.i.d. features: ``K′ = gain · mean_p K(p,p)`` (over positions and channels)."""
    vf = s.rows.valid.to(s.a.dtype)
    padded_a, _ = s.padded()
    diag_a = padded_a.gather(2, s.cols.slots(s.rows.pos, s.rows.valid)[:, :, None]).squeeze(2) * vf
    diag_m = torch.diagonal(s.m, dim1=1, dim2=2) * vf
    g, p = gain_var_times_fan, s.positions
    return _single(g * torch.diagonal(s.k).mean(), g * diag_a.sum(dim=1) / p, g * diag_m.sum(dim=1) / p, rows, cols)


def reindex(s: State, rows: Index, cols: Index) -> State:
    """The same state on other row and column lists (supersets of where it is non-zero and needed)."""
    padded_a, padded_m = s.padded()
    r_slots, c_slots = s.rows.slots(rows.pos, rows.valid), s.cols.slots(cols.pos, cols.valid)
    return State(s.k, _take(padded_a, r_slots, c_slots), _take(padded_m, r_slots, r_slots), rows, cols, s.h, s.w)
