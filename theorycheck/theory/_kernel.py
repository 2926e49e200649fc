"""Infinite-width (NNGP) predictions for input-gradient statistics.

For random networks the output is, as the widths grow, a Gaussian process with
covariance ``K(x, x′)`` (the NNGP kernel), and ``E[∂f/∂x_i ∂f/∂x′_j]`` is the
mixed derivative ``∂²K/∂x_i∂x′_j`` at ``x′ = x``. The kernel follows a
layer-by-layer recursion over pairs of spatial positions ``(p, q)`` (channels are
i.i.d. after the first weighted layer):

* conv: ``K′(p,q) = (gain/k²) Σ_a K(p+a, q+a)`` (same kernel offset ``a``; padding
  as in the graph), dense: ``K′ = gain · mean_p K(p,p)`` (after flatten); a layer with biases of variance
  ``v`` adds ``v`` to ``K′`` at every pair (neural-tangents' ``b_std²``), and nothing to its derivatives;
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

Storage and cost (``_kernel_supports``). ``A_i`` vanishes on every row whose
receptive field misses ``x_i``, and a later layer reads only some of its
columns; ``A_i`` is kept on its support rows × the columns read later (R × C
instead of P × P: 25 × 49 instead of 1024 × 1024 for a 2-layer 3×3 net on
3×32×32), ``M_i`` on R × R. Everything derived from ``K`` alone (activation
coefficients, pooled and convolved ``K``) is computed once per input ``x`` and
shared by all chunks of inputs i. The cost per layer is O(d · R · C · k²) plus
O(P² k²) for ``K``: on 2 cores, 0.4 s for a 2-layer net on 3×32×32, 13 s on
3×64×64 (4 GB), 2.3 min for the 8-layer 64-channel paper CNN on 3×32×32 (its
receptive field covers most of the image). ``K`` keeps all P² position pairs,
which bounds the image size (``KERNEL_MAX_PAIRS``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from theorycheck.errors import TheorycheckError
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
from theorycheck.theory._frames import CENTRED, NONNEG, OTHER, Frame, annotate, merge_laws
from theorycheck.theory._kernel_coefficients import QuadratureTooLarge, relu_coefficients, smooth_coefficients
from theorycheck.theory._kernel_coverage import passes_through, uncovered
from theorycheck.theory._kernel_ops import (
    State,
    activation,
    avgpool,
    conv,
    dense_after,
    first_layer,
    global_average,
    memo,
    reindex,
)
from theorycheck.theory._kernel_supports import Index, conv_gathers, needs, supports

__all__ = ["KERNEL_MAX_PAIRS", "KernelPrediction", "kernel_predict"]

#: largest number of position pairs of ``K`` (P² for P positions per channel)
KERNEL_MAX_PAIRS = 2**26
#: float64 elements of the largest per-chunk array (I · R · C); chunks of inputs are sized to it
KERNEL_CHUNK_ELEMENTS = 2**24


@dataclass(frozen=True)
class KernelPrediction:
    """Kernel-level predictions (infinite width) for one input ``x``."""

    coord_var_map: np.ndarray | None
    grad_sq_norm: float | None
    covered: bool
    reason: str | None
    #: ``closed form`` (the recursion above) or ``grid`` (:mod:`._kernel_grid`: non-Gaussian per-neuron laws)
    method: str = "closed form"
    #: bound on the quadrature error of ``grad_sq_norm`` (grid method; None: exact up to round-off)
    quadrature_error: float | None = None


#: a channel-group mixture: (share of the channels, state of that group, law of that group); shares sum to 1
_Mix = list[tuple[float, State, int]]


class _Chunk:
    """Per chunk of inputs: the row and column lists of every frame; shared across chunks: ``cache``."""

    def __init__(self, rows: dict[int, Index], cols: dict[int, Index], cache: dict[Any, Any]) -> None:
        self.rows, self.cols, self.cache = rows, cols, cache


def _sum(parts: list[tuple[float, State]]) -> State:
    """``Σ w · state`` over states on the same row and column lists."""
    first = parts[0][1]
    k = sum(wt * st.k for wt, st in parts)
    a = sum(wt * st.a for wt, st in parts)
    m = sum(wt * st.m for wt, st in parts)
    assert isinstance(k, torch.Tensor) and isinstance(a, torch.Tensor) and isinstance(m, torch.Tensor)
    return State(k, a, m, first.rows, first.cols, first.h, first.w)


def _biased(s: State, variance: float) -> State:
    """A layer's i.i.d. biases of ``variance`` (one per channel, shared by its positions) add ``variance`` to ``K``
    at every position pair; they do not depend on ``x``, so ``A`` and ``M`` are unchanged."""
    if not variance:
        return s
    return State(s.k + variance, s.a, s.m, s.rows, s.cols, s.h, s.w)


def _add(parts: list[_Mix]) -> _Mix:
    """Channel-wise sum of branch outputs (at most one branch may be a multi-group mixture)."""
    multi = [m for m in parts if len(m) > 1]
    base = multi[0] if multi else parts[0]
    singles = [other[0] for other in parts if other is not base]
    return [
        (
            share,
            _sum([(1.0, st)] + [(1.0, o[1]) for o in singles]),
            int(merge_laws([np.array([law], dtype=np.int8)] + [np.array([o[2]], dtype=np.int8) for o in singles])[0]),
        )
        for share, st, law in base
    ]


def _coefficients(fn: str, k: torch.Tensor) -> Any:
    return relu_coefficients(k) if fn == "relu" else smooth_coefficients(k, fn)


def _apply(frames: list[Frame], mix: _Mix, ch: _Chunk) -> _Mix:
    """Propagate a mixture through ``frames`` (the first weighted layer excluded)."""
    for fr in frames:
        node, key = fr.node, id(fr)
        rows, cols = ch.rows[key], ch.cols[key]
        if isinstance(node, Activation):
            out_law = NONNEG if node.fn in ("relu", "sigmoid", "softplus") else OTHER
            mix = [
                (sh, st, law)
                if passes_through(node.fn, law)
                else (
                    sh,
                    activation(st, memo(ch.cache, (key, gi), functools.partial(_coefficients, node.fn, st.k)), cols),
                    out_law,
                )
                for gi, (sh, st, law) in enumerate(mix)
            ]
        elif isinstance(node, Conv):
            scale = node.init.variance(fr.in_shape[0] * node.kernel**2) * fr.in_shape[0]
            parts = [(sh, conv(node, st, scale, rows, cols, ch.cache, (key, gi))) for gi, (sh, st, _) in enumerate(mix)]
            mix = [(1.0, _biased(_sum(parts), node.bias), CENTRED)]
        elif isinstance(node, AvgPool):
            mix = [
                (sh, avgpool(node, st, rows, cols, ch.cache, (key, gi)), law) for gi, (sh, st, law) in enumerate(mix)
            ]
        elif isinstance(node, GlobalAvgPool):
            mix = [(sh, global_average(st, rows, cols), law) for sh, st, law in mix]
        elif isinstance(node, Dense):
            fan = fr.in_shape[0]
            gain = node.init.variance(fan) * fan
            mix = [
                (1.0, _biased(_sum([(sh, dense_after(st, gain, rows, cols)) for sh, st, _ in mix]), node.bias), CENTRED)
            ]
        elif isinstance(node, (Add, Concat)):
            outs = [
                [(sh, reindex(st, rows, cols), law) for sh, st, law in _apply(branch, mix, ch)]
                for branch in fr.branches
            ]
            if isinstance(node, Add):
                if sum(len(o) > 1 for o in outs) > 1:
                    raise _NotCovered("add{…} of two concatenations is not covered at kernel level")
                mix = _add(outs)
            else:  # each branch's groups keep their shares, scaled by its channel share
                total = fr.out_shape[0]
                mix = [
                    (sh * (branch[-1].out_shape[0] if branch else fr.in_shape[0]) / total, st, law)
                    for branch, out in zip(fr.branches, outs, strict=True)
                    for sh, st, law in out
                ]
        elif not isinstance(node, Flatten):  # pragma: no cover - uncovered() refuses every other node
            raise _NotCovered(f"{node.kind} is not covered at kernel level")
    return mix


class _NotCovered(Exception):
    pass


def kernel_predict(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    x: np.ndarray | torch.Tensor,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> KernelPrediction:
    """``E[(∂f/∂x_i)²]`` for every input ``i`` at input ``x``, in the infinite-width limit (float64).

    ``progress(done, d)`` is called after each chunk of inputs i."""
    return _kernel_predict(arch, input_shape, x, full_support=False, progress=progress)


def _chunk_lists(
    frames: list[Frame], shape: Shape, inputs: torch.Tensor, full_support: bool
) -> tuple[dict[int, Index], dict[int, Index]]:
    """Row lists (supports) and column lists (needed columns) of every frame for ``inputs``."""
    first, n = frames[0], inputs.numel()
    if isinstance(first.node, Conv) and not full_support:
        _, h, w = shape
        (ho, wo) = first.out_shape[1:]
        pix = inputs % (h * w)
        mask = torch.zeros(n, ho * wo, dtype=torch.bool)
        for g in conv_gathers(first.node, h, w, ho, wo):
            mask |= g[None, :] == pix[:, None]
    else:
        width = first.out_shape[1] * first.out_shape[2] if len(first.out_shape) == 3 else 1
        mask = torch.ones(n, width, dtype=torch.bool)
    sup: dict[int, torch.Tensor] = {id(first): mask}
    supports(frames[1:], mask, sup)
    need: dict[int, torch.Tensor] = {}
    need[id(first)] = needs(frames[1:], torch.zeros(n, 1, dtype=torch.bool), mask, sup, need)
    if full_support:
        need = {k: torch.ones_like(v) for k, v in sup.items()}
    return {k: Index(v) for k, v in sup.items()}, {k: Index(v) for k, v in need.items()}


def _kernel_predict(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    x: np.ndarray | torch.Tensor,
    *,
    full_support: bool,
    progress: Callable[[int, int], None] | None = None,
) -> KernelPrediction:
    """``full_support=True`` stores ``A_i`` and ``M_i`` on every position pair (the reference layout for tests)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    frames = annotate(arch, shape)
    why = uncovered(frames)
    if why:
        _require_finite(torch.as_tensor(np.asarray(x, dtype=np.float64)))
        return _on_the_grid(frames, shape, x, why)
    head = frames[0].node
    if not isinstance(head, (Dense, Conv)):
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
    _require_finite(xt)
    d = xt.numel()
    fan = shape[0] if isinstance(head, Dense) else shape[0] * head.kernel**2
    cache: dict[Any, Any] = {}
    result = np.zeros(d)
    lo, size = 0, 256
    while lo < d:
        inputs = torch.arange(lo, min(d, lo + size))
        rows, cols = _chunk_lists(frames, shape, inputs, full_support)
        # per input: A (R × C), M (R × R), and the (P,) position lookups of every row and column list
        largest = max(max(rows[k].size * max(rows[k].size, cols[k].size), rows[k].positions) for k in rows)
        if inputs.numel() * largest > KERNEL_CHUNK_ELEMENTS and inputs.numel() > 1:
            size = max(1, KERNEL_CHUNK_ELEMENTS // largest)
            continue
        key = id(frames[0])
        state = _biased(
            first_layer(head, xt, shape, head.init.variance(fan), inputs, rows[key], cols[key], cache), head.bias
        )
        try:
            mix = _apply(frames[1:], [(1.0, state, CENTRED)], _Chunk(rows, cols, cache))
        except (_NotCovered, QuadratureTooLarge) as exc:
            return KernelPrediction(None, None, False, str(exc))
        ((_, state, _),) = mix  # the logits layer is dense: one group
        result[lo : lo + inputs.numel()] = state.m.reshape(-1).numpy()
        lo += inputs.numel()
        size = max(1, KERNEL_CHUNK_ELEMENTS // largest)
        if progress:
            progress(lo, d)
    cmap = result.reshape(shape)
    return KernelPrediction(cmap, float(result.sum()), True, None)


def _require_finite(x: torch.Tensor) -> None:
    if not bool(torch.isfinite(x).all()):
        raise TheorycheckError(f"the input x has {int((~torch.isfinite(x)).sum())} non-finite values")


def _on_the_grid(frames: list[Frame], shape: Shape, x: np.ndarray | torch.Tensor, why: str) -> KernelPrediction:
    """The grid method (:mod:`._kernel_grid`) where the closed forms refuse, or the refusal with both reasons."""
    from theorycheck.theory._kernel_grid import grid_predict, grid_uncovered

    outside = grid_uncovered(frames)
    if outside is None:
        got = grid_predict(frames, shape, np.asarray(x, dtype=np.float64))
        if not isinstance(got, str):
            return KernelPrediction(
                got.coord_var_map, got.grad_sq_norm, True, None, method="grid", quadrature_error=got.quadrature_error
            )
        outside = got
    return KernelPrediction(
        None,
        None,
        False,
        f"{why} (the exact law of non-Gaussian values is propagated for dense ReLU networks only; here: {outside})",
    )


def _all_frames(frames: list[Frame]) -> list[Frame]:
    out = []
    for fr in frames:
        out.append(fr)
        for branch in fr.branches:
            out.extend(_all_frames(branch))
    return out
