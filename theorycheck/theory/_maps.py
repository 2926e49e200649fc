"""Structural maps: the neuron-level connectivity of each node, exactly.

For a node that creates neurons (dense, conv, pools, global pools) the map is
the integer matrix ``A`` with ``A[j, i]`` = number of edges from input neuron
``i`` to output neuron ``j`` (padding positions are not neurons, so zero
padding removes edges at borders; circular padding can add parallel edges).
Spatial connectivity is separable, ``S = S_h ⊗ S_w``, and channels are fully
connected (conv, dense) or kept apart (pools).

Every method works on float64 arrays and on int64 arrays holding residues
modulo :data:`PRIME` (then results are reduced modulo it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theorycheck.graph import Conv, Dense, GlobalAvgPool, GlobalMaxPool, Node, Pool, Shape

__all__ = ["PRIME", "StructuralMap", "axis_matrix", "offset_index", "structural_map"]

PRIME = 2**31 - 1  # Mersenne prime: residues multiply without int64 overflow


def _reduce(a: NDArray) -> NDArray:
    return a % PRIME if a.dtype.kind == "i" else a


def axis_matrix(
    n_in: int, n_out: int, kernel: int, stride: int, dilation: int, before: int, padding: str
) -> NDArray[np.int64]:
    """Edge counts along one spatial axis: ``M[o, i]`` = #offsets of output ``o`` landing on ``i``.

    Offset ``a`` of output ``o`` reads padded position ``o*stride + a*dilation``,
    i.e. input ``p = o*stride + a*dilation - before``; ``zero`` drops ``p``
    outside ``[0, n_in)``, ``circular`` wraps it, ``reflect`` mirrors it
    without repeating the edge (PyTorch's ``reflect``).
    """
    m = np.zeros((n_out, n_in), dtype=np.int64)
    for o, row in enumerate(offset_index(n_in, n_out, kernel, stride, dilation, before, padding)):
        for p in row[row >= 0]:
            m[o, p] += 1
    return m


def offset_index(
    n_in: int, n_out: int, kernel: int, stride: int, dilation: int, before: int, padding: str
) -> NDArray[np.int64]:
    """``idx[o, a]``: the input position read by offset ``a`` of output ``o`` along one axis, −1 where it
    falls in zero padding (see ``axis_matrix`` for the padding modes)."""
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


@dataclass(frozen=True)
class StructuralMap:
    """``A = K ⊗ (S_h ⊗ S_w)`` with channel coupling ``K`` all-ones (``mixing``) or identity.

    Vectors are treated as ``(D, 1, 1)`` images, so dense is ``K = ones(out, in)``.
    """

    in_shape: Shape
    out_shape: Shape
    s_h: NDArray[np.int64]
    s_w: NDArray[np.int64]
    mixing: bool

    def _img(self, shape: Shape) -> tuple[int, int, int]:
        return (shape[0], shape[1], shape[2]) if len(shape) == 3 else (shape[0], 1, 1)

    def indegree(self) -> NDArray[np.int64]:
        """In-degree of every output neuron (real edges only), shape ``out_shape``."""
        c_in = self._img(self.in_shape)[0]
        spatial = np.outer(self.s_h.sum(1), self.s_w.sum(1))
        per_channel = spatial * (c_in if self.mixing else 1)
        c_out = self._img(self.out_shape)[0]
        return np.broadcast_to(per_channel, (c_out, *per_channel.shape)).reshape(self.out_shape).copy()

    def adjoint(self, u: NDArray) -> NDArray:
        """``Aᵀ u``: for each input neuron, the sum over its outgoing edges of ``u``."""
        c_in, _, _ = self._img(self.in_shape)
        c_out, h_out, w_out = self._img(self.out_shape)
        u3 = u.reshape(c_out, h_out, w_out)
        sh, sw = self.s_h.astype(u.dtype), self.s_w.astype(u.dtype)
        if self.mixing:
            s = _reduce(u3.sum(axis=0))
            t = _reduce(_reduce(sh.T @ s) @ sw)
            out = np.broadcast_to(t, (c_in, *t.shape))
        else:
            if u.dtype.kind == "f":
                out = np.einsum("ai,cab,bj->cij", sh, u3, sw)
            else:
                out = _reduce(_reduce(np.einsum("ai,cab->cib", sh, u3)) @ sw)
        return np.ascontiguousarray(out).reshape(self.in_shape)

    def forward_matrix_per_channel(self) -> NDArray[np.int64]:
        """Spatial edge-count matrix ``S_h ⊗ S_w`` (small sizes only)."""
        return np.kron(self.s_h, self.s_w)


def structural_map(node: Node, in_shape: Shape, out_shape: Shape) -> StructuralMap:
    """The structural map of a neuron-creating node."""
    if isinstance(node, Dense):
        one = np.ones((1, 1), dtype=np.int64)
        return StructuralMap(in_shape, out_shape, one, one, mixing=True)
    if isinstance(node, (Conv, Pool)):
        if isinstance(node, Conv):
            kernel, stride, dilation, before, padding = (
                node.kernel,
                node.stride,
                node.dilation,
                node.pad[0],
                node.padding,
            )
        else:
            kernel, stride, dilation, before, padding = node.kernel, node.step, 1, 0, "valid"
        s_h = axis_matrix(in_shape[1], out_shape[1], kernel, stride, dilation, before, padding)
        s_w = axis_matrix(in_shape[2], out_shape[2], kernel, stride, dilation, before, padding)
        return StructuralMap(in_shape, out_shape, s_h, s_w, mixing=isinstance(node, Conv))
    if isinstance(node, (GlobalAvgPool, GlobalMaxPool)):
        return StructuralMap(
            in_shape,
            out_shape,
            np.ones((1, in_shape[1]), dtype=np.int64),
            np.ones((1, in_shape[2]), dtype=np.int64),
            mixing=False,
        )
    raise TypeError(f"{node.kind} creates no neurons")
