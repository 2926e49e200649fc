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
from theorycheck.theory._maps import axis_matrix

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


def _gather_pairs(t: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    """``t[..., idx[p], idx[q]]`` with zeros where either index is −1."""
    valid = torch.as_tensor(idx >= 0)
    safe = torch.as_tensor(np.where(idx >= 0, idx, 0))
    g = t[..., safe, :][..., :, safe]
    mask = (valid[:, None] & valid[None, :]).to(t.dtype)
    return g * mask


class _State:
    """K (P, P), A and M (I, P, P) over spatial position pairs; ``h, w`` the spatial shape."""

    def __init__(self, k: torch.Tensor, a: torch.Tensor, m: torch.Tensor, h: int, w: int) -> None:
        self.k, self.a, self.m, self.h, self.w = k, a, m, h, w


def _first_layer(node: Conv | Dense, x: torch.Tensor, shape: Shape, gain_var: float, chunk: range) -> _State:
    """K, A, M after the first weighted layer, from the input itself (channels not yet i.i.d.)."""
    d = x.numel()
    n_in = len(chunk)
    if isinstance(node, Dense):
        k = (gain_var * (x @ x)).reshape(1, 1)
        sel = torch.zeros(n_in, d, dtype=x.dtype)
        sel[torch.arange(n_in), torch.as_tensor(list(chunk))] = 1.0
        a = (gain_var * (sel @ x)).reshape(n_in, 1, 1)
        m = torch.full((n_in, 1, 1), gain_var, dtype=x.dtype)
        return _State(k, a, m, 1, 1)
    c, h, w = shape
    ho, wo = (h + sum(node.pad) - node.extent) // node.stride + 1, (w + sum(node.pad) - node.extent) // node.stride + 1
    img = x.reshape(c, h * w)
    k = torch.zeros(ho * wo, ho * wo, dtype=x.dtype)
    a = torch.zeros(n_in, ho * wo, ho * wo, dtype=x.dtype)
    m = torch.zeros(n_in, ho * wo, ho * wo, dtype=x.dtype)
    inputs = torch.as_tensor(list(chunk))
    ch, pos = inputs // (h * w), inputs % (h * w)
    for idx in _conv_gathers(node, h, w, ho, wo):
        valid = torch.as_tensor(idx >= 0)
        safe = torch.as_tensor(np.where(idx >= 0, idx, 0))
        patch = img[:, safe] * valid.to(x.dtype)  # (C, P_out): x_c(m_a(p))
        k += patch.T @ patch
        # A_i(p, q) = [i = (c, m_a(p))] x_c(m_a(q));  M_i(p, q) = [i = (c, m_a(p))][i = (c, m_a(q))]
        hit = ((safe[None, :] == pos[:, None]) & valid[None, :]).to(x.dtype)  # (I, P_out)
        a += hit[:, :, None] * patch[ch][:, None, :]
        m += hit[:, :, None] * hit[:, None, :]
    return _State(gain_var * k, gain_var * a, gain_var * m, ho, wo)


def _relu(s: _State) -> _State:
    """The arc-cosine map and its first and mixed second derivatives (see the module docstring)."""
    k, a_, m_ = s.k, s.a, s.m
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
    da = 2 * torch.diagonal(a_, dim1=1, dim2=2)  # ∂_i K(x,p;x,p) = 2 A_i(p,p)
    a_dot, b_prime = da[:, :, None], da[:, None, :]
    c_dot, c_prime = a_, a_.transpose(1, 2)  # ∂'_i K(x,p;x′,q) = A_i(q,p)
    a_post = f_a * a_dot + f_c * c_dot
    m_post = (
        f_ab * a_dot * b_prime + f_bc * c_dot * b_prime + f_ac * a_dot * c_prime + f_cc * c_dot * c_prime + f_c * m_
    )
    return _State(k_post, a_post, m_post, s.h, s.w)


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


def _smooth(s: _State, fn: str) -> _State:
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
    diag = torch.diagonal(s.k)
    a, b, c = diag[:, None, None], diag[None, :, None], s.k[:, :, None]
    sa = torch.sqrt(a.clamp_min(0.0))
    u = sa * z1
    slope = c / sa.clamp_min(1e-300)
    v = slope * z1 + torch.sqrt((b - slope**2).clamp_min(0.0)) * z2
    pu, pu1, pu2, pu3 = _derivatives(fn, u)
    pv, pv1, pv2, pv3 = _derivatives(fn, v)

    def expect(x: torch.Tensor) -> torch.Tensor:
        return (x * w2).sum(dim=-1)

    k_post = expect(pu * pv)
    f_c = expect(pu1 * pv1)
    f_a = 0.5 * expect(pu2 * pv)
    f_cc = expect(pu2 * pv2)
    f_ac = 0.5 * expect(pu3 * pv1)
    f_bc = 0.5 * expect(pu1 * pv3)
    f_ab = 0.25 * expect(pu2 * pv2)
    da = 2 * torch.diagonal(s.a, dim1=1, dim2=2)
    a_dot, b_prime = da[:, :, None], da[:, None, :]
    c_dot, c_prime = s.a, s.a.transpose(1, 2)
    a_post = f_a * a_dot + f_c * c_dot
    m_post = (
        f_ab * a_dot * b_prime + f_bc * c_dot * b_prime + f_ac * a_dot * c_prime + f_cc * c_dot * c_prime + f_c * s.m
    )
    return _State(k_post, a_post, m_post, s.h, s.w)


def _conv(node: Conv, s: _State, scale: float) -> _State:
    """``K′(p,q) = σ² C_in Σ_a K(m_a(p), m_a(q))`` with ``σ² C_in = gain/k²``; same for A and M."""
    ho = (s.h + sum(node.pad) - node.extent) // node.stride + 1
    wo = (s.w + sum(node.pad) - node.extent) // node.stride + 1
    gathers = _conv_gathers(node, s.h, s.w, ho, wo)
    k, a, m = torch.zeros(len(gathers[0]), len(gathers[0]), dtype=s.k.dtype), 0 * s.a[:, :1, :1], 0 * s.m[:, :1, :1]
    for idx in gathers:
        k = k + _gather_pairs(s.k, idx)
        a = a + _gather_pairs(s.a, idx)
        m = m + _gather_pairs(s.m, idx)
    return _State(scale * k, scale * a, scale * m, ho, wo)


def _avgpool(node: AvgPool, s: _State) -> _State:
    ho, wo = (s.h - node.kernel) // node.step + 1, (s.w - node.kernel) // node.step + 1
    sh = axis_matrix(s.h, ho, node.kernel, node.step, 1, 0, "valid")
    sw = axis_matrix(s.w, wo, node.kernel, node.step, 1, 0, "valid")
    pool = torch.as_tensor(np.kron(sh, sw), dtype=s.k.dtype) / node.kernel**2
    return _State(pool @ s.k @ pool.T, pool @ s.a @ pool.T, pool @ s.m @ pool.T, ho, wo)


def _global(s: _State) -> _State:
    return _State(
        s.k.mean().reshape(1, 1), s.a.mean(dim=(1, 2)).reshape(-1, 1, 1), s.m.mean(dim=(1, 2)).reshape(-1, 1, 1), 1, 1
    )


def _dense_after(s: _State, gain_var_times_fan: float) -> _State:
    """Dense layer on i.i.d. features: ``K′ = gain · mean_p K(p,p)`` (over positions and channels)."""
    take = torch.diagonal
    return _State(
        (gain_var_times_fan * take(s.k).mean()).reshape(1, 1),
        (gain_var_times_fan * take(s.a, dim1=1, dim2=2).mean(dim=1)).reshape(-1, 1, 1),
        (gain_var_times_fan * take(s.m, dim1=1, dim2=2).mean(dim=1)).reshape(-1, 1, 1),
        1,
        1,
    )


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


def _merge(mix: _Mix, fn: Any) -> _State:
    """Apply a linear map ``fn`` to every group and sum with the groups' shares (a weighted layer)."""
    parts = [(share, fn(st)) for share, st in mix]
    h, w = parts[0][1].h, parts[0][1].w
    k = sum(sh * t.k for sh, t in parts)
    a = sum(sh * t.a for sh, t in parts)
    m = sum(sh * t.m for sh, t in parts)
    return _State(k, a, m, h, w)


def _add(parts: list[_Mix]) -> _Mix:
    """Channel-wise sum of branch outputs (at most one branch may be a multi-group mixture)."""
    multi = [m for m in parts if len(m) > 1]
    base = multi[0] if multi else parts[0]
    out: _Mix = []
    for share, st in base:
        k, a, m = st.k, st.a, st.m
        for other in parts:
            if other is base:
                continue
            ((_, o),) = other
            k, a, m = k + o.k, a + o.a, m + o.m
        out.append((share, _State(k, a, m, st.h, st.w)))
    return out


def _apply(frames: list[Frame], mix: _Mix) -> _Mix:
    """Propagate a mixture through ``frames`` (the first weighted layer excluded)."""
    for fr in frames:
        node = fr.node
        if isinstance(node, Activation):
            mix = [(sh, _relu(st) if node.fn == "relu" else _smooth(st, node.fn)) for sh, st in mix]
        elif isinstance(node, Conv):
            scale = node.init.variance(fr.in_shape[0] * node.kernel**2) * fr.in_shape[0]
            mix = [(1.0, _merge(mix, lambda st, node=node, scale=scale: _conv(node, st, scale)))]
        elif isinstance(node, AvgPool):
            mix = [(sh, _avgpool(node, st)) for sh, st in mix]
        elif isinstance(node, GlobalAvgPool):
            mix = [(sh, _global(st)) for sh, st in mix]
        elif isinstance(node, Flatten):
            continue
        elif isinstance(node, Dense):
            fan = fr.in_shape[0]
            mix = [(1.0, _merge(mix, lambda st, node=node, fan=fan: _dense_after(st, node.init.variance(fan) * fan)))]
        elif isinstance(node, Add):
            outs = [_apply(branch, mix) for branch in fr.branches]
            if sum(len(o) > 1 for o in outs) > 1:
                raise _NotCovered("add{…} of two concatenations is not covered at kernel level")
            mix = _add(outs)
        elif isinstance(node, Concat):  # each branch's groups keep their shares, scaled by its channel share
            total = fr.out_shape[0]
            mix = [
                (sh * (branch[-1].out_shape[0] if branch else fr.in_shape[0]) / total, st)
                for branch in fr.branches
                for sh, st in _apply(branch, mix)
            ]
    return mix


class _NotCovered(Exception):
    pass


def kernel_predict(
    arch: Architecture | str, input_shape: Shape | str | int, x: np.ndarray | torch.Tensor
) -> KernelPrediction:
    """``E[(∂f/∂x_i)²]`` for every input ``i`` at input ``x``, in the infinite-width limit (float64)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    frames = annotate(arch, shape)
    nodes = [f.node for f in frames]
    why = _uncovered(frames)
    if why:
        return KernelPrediction(None, None, False, why)
    if not isinstance(nodes[0], (Dense, Conv)):
        return KernelPrediction(None, None, False, "the kernel level needs a weighted first layer")
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64)).reshape(-1)
    d = xt.numel()
    max_p = max(int(np.prod(f.out_shape[1:])) if len(f.out_shape) == 3 else 1 for f in _all_frames(frames))
    chunk_size = max(1, KERNEL_MAX_PAIRS // max(1, max_p**2))
    if max_p**2 > KERNEL_MAX_PAIRS:
        return KernelPrediction(
            None, None, False, f"too large for the kernel level: {max_p} spatial positions need {max_p**2:.3g} pairs"
        )
    result = np.zeros(d)
    for lo in range(0, d, chunk_size):
        chunk = range(lo, min(d, lo + chunk_size))
        first = frames[0]
        head = first.node
        assert isinstance(head, (Dense, Conv))
        fan = first.in_shape[0] if isinstance(head, Dense) else first.in_shape[0] * head.kernel**2
        state = _first_layer(head, xt, shape, head.init.variance(fan), chunk)
        try:
            mix = _apply(frames[1:], [(1.0, state)])
        except _NotCovered as exc:
            return KernelPrediction(None, None, False, str(exc))
        ((_, state),) = mix  # the logits layer is dense: one group
        result[lo : chunk.stop] = state.m.reshape(len(chunk)).numpy()
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
