"""Which entries of ``A_i`` and ``M_i`` the kernel level stores, for a chunk of inputs i.

``K(x,p; x′,q)`` depends on ``x`` only through the receptive field of ``p``, so
``A_i(p,q) = ∂_{x_i}K(x,p; x′,q)`` vanishes on every row ``p`` outside the
*support* of ``x_i`` (the positions whose receptive field contains it) and
``M_i`` on such rows and columns. Rows are therefore stored on the support only
(a forward pass over boolean masks). Columns are stored only where a later
layer reads them (a backward pass): an activation reads ``A_i(p,q)`` on the
support rows and the columns its own output must provide, plus the diagonal; a
conv or a pool reads the columns its offsets map the needed output columns to;
flatten + dense reads the diagonal; global pooling reads every column. The
last two read nothing when no later activation needs their output's ``A``
(the logits never do: ``M`` alone gives the answer).

For a 2-layer 3×3 conv net on 3×32×32 this stores 25 × 49 entries per input
instead of 1024 × 1024.
"""

from __future__ import annotations

import numpy as np
import torch

from theorycheck.graph import Activation, Add, AvgPool, Concat, Conv, Dense, Flatten, GlobalAvgPool
from theorycheck.theory._frames import Frame
from theorycheck.theory._maps import offset_index

__all__ = ["Index", "conv_gathers", "needs", "pool_gathers", "supports"]


def conv_gathers(node: Conv, h: int, w: int, ho: int, wo: int) -> list[torch.Tensor]:
    """For each 2-D offset, the flat input position of every flat output position (−1: padding)."""
    before = node.pad[0]
    ih = offset_index(h, ho, node.kernel, node.stride, node.dilation, before, node.padding)
    iw = offset_index(w, wo, node.kernel, node.stride, node.dilation, before, node.padding)
    out = []
    for a in range(node.kernel):
        for b in range(node.kernel):
            rows, cols = ih[:, a][:, None], iw[:, b][None, :]
            out.append(torch.as_tensor(np.where((rows >= 0) & (cols >= 0), rows * w + cols, -1).ravel()))
    return out


def pool_gathers(node: AvgPool, h: int, w: int, ho: int, wo: int) -> list[torch.Tensor]:
    """For each window offset, the flat input position of every flat output position."""
    ih = offset_index(h, ho, node.kernel, node.step, 1, 0, "valid")
    iw = offset_index(w, wo, node.kernel, node.step, 1, 0, "valid")
    return [
        torch.as_tensor((ih[:, a][:, None] * w + iw[:, b][None, :]).ravel())
        for a in range(node.kernel)
        for b in range(node.kernel)
    ]


def out_hw(fr: Frame) -> tuple[int, int]:
    return (fr.out_shape[1], fr.out_shape[2]) if len(fr.out_shape) == 3 else (1, 1)


def in_hw(fr: Frame) -> tuple[int, int]:
    return (fr.in_shape[1], fr.in_shape[2]) if len(fr.in_shape) == 3 else (1, 1)


def _gathers(fr: Frame) -> list[torch.Tensor]:
    (h, w), (ho, wo) = in_hw(fr), out_hw(fr)
    node = fr.node
    if isinstance(node, Conv):
        return conv_gathers(node, h, w, ho, wo)
    assert isinstance(node, AvgPool)
    return pool_gathers(node, h, w, ho, wo)


class Index:
    """Padded per-input position lists ``pos`` (I, N) with ``valid`` (I, N), from a mask (I, P)."""

    def __init__(self, mask: torch.Tensor) -> None:
        self.positions = mask.shape[1]
        counts = mask.sum(dim=1)
        n = max(int(counts.max()) if counts.numel() else 1, 1)
        row, col = mask.nonzero(as_tuple=True)  # row-major: each row's positions in increasing order
        slot = torch.arange(row.numel()) - (torch.cumsum(counts, 0) - counts)[row]
        self.pos = torch.zeros(mask.shape[0], n, dtype=torch.long)
        self.pos[row, slot] = col
        self.valid = torch.arange(n)[None, :] < counts[:, None]
        self._loc: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return self.pos.shape[1]

    def locate(self) -> torch.Tensor:
        """``loc[i, p] = slot`` where ``pos[i, slot] = p``; the pad slot ``N`` off the list (I, P)."""
        if self._loc is None:
            n_in, n = self.pos.shape
            loc = torch.full((n_in, self.positions + 1), n, dtype=torch.long)
            target = torch.where(self.valid, self.pos, self.positions)
            loc.scatter_(1, target, torch.arange(n).expand(n_in, n).contiguous())
            loc[:, self.positions] = n
            self._loc = loc[:, : self.positions]
        return self._loc

    def slots(self, positions: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        """Slots of ``positions`` (I, N′) where ``ok`` and on the list, else the pad slot ``N``."""
        return torch.where(ok, self.locate().gather(1, torch.where(ok, positions, 0)), self.size)


def supports(frames: list[Frame], mask: torch.Tensor, out: dict[int, torch.Tensor]) -> torch.Tensor:
    """Forward pass: ``out[id(frame)]`` = the support mask (I, P) of each frame's output; returns the last."""
    for fr in frames:
        node = fr.node
        if isinstance(node, (Conv, AvgPool)):
            new = torch.zeros(mask.shape[0], out_hw(fr)[0] * out_hw(fr)[1], dtype=torch.bool)
            for g in _gathers(fr):
                new |= mask[:, g.clamp_min(0)] & (g >= 0)
            mask = new
        elif isinstance(node, (Dense, GlobalAvgPool)):
            mask = torch.ones(mask.shape[0], 1, dtype=torch.bool)
        elif isinstance(node, (Add, Concat)):
            parts = [supports(branch, mask, out) for branch in fr.branches]
            mask = parts[0]
            for part in parts[1:]:
                mask = mask | part
        out[id(fr)] = mask
    return mask


def needs(
    frames: list[Frame],
    need: torch.Tensor,
    mask_in: torch.Tensor,
    sup: dict[int, torch.Tensor],
    out: dict[int, torch.Tensor],
) -> torch.Tensor:
    """Backward pass: ``out[id(frame)]`` = the columns (I, P) of ``A`` each frame's output must provide, given
    ``need`` at the end of ``frames``; returns the columns needed at their input (support ``mask_in``)."""
    for k in range(len(frames) - 1, -1, -1):
        fr = frames[k]
        node = fr.node
        out[id(fr)] = need
        s_in = sup[id(frames[k - 1])] if k > 0 else mask_in
        (h, w) = in_hw(fr)
        if isinstance(node, Activation):
            need = need | s_in
        elif isinstance(node, (Conv, AvgPool)):
            count = torch.zeros(need.shape[0], h * w, dtype=torch.int32)
            for g in _gathers(fr):
                ok = g >= 0
                count.index_add_(1, g[ok], need[:, ok].to(torch.int32))
            need = count > 0
        elif isinstance(node, GlobalAvgPool):
            need = need.any(dim=1, keepdim=True).expand(-1, h * w).clone()
        elif isinstance(node, Dense):  # reads the diagonal A(p, p), when its own output A is needed at all
            need = s_in & need.any(dim=1, keepdim=True)
        elif isinstance(node, (Add, Concat)):
            parts = [needs(branch, need, s_in, sup, out) for branch in fr.branches]
            need = parts[0]
            for part in parts[1:]:
                need = need | part
        elif not isinstance(node, Flatten):  # pragma: no cover - uncovered() refuses every other node
            raise TypeError(node.kind)
    return need
