"""The batched program of B networks on a minibatch each: inputs ``(B, m, *shape)``, logits ``(B, m, K)``.

The sampler's program (:class:`theorycheck.sampler.Program`) runs one input per network; training needs m. The
ops and weights are the sampler's (``program.ops``, ``{op.index: (B, *weight_shape)}``), so network i at step 0 is
the sampler's network i; only the examples axis is new. Dense layers are one batched matrix product
``(B, m, in) @ (B, in, out)``; a convolution is one grouped convolution with the m examples as its batch
``(m, B·C, H, W) ⋆ (B·out, C, k, k)``, groups = B; everything else runs on ``(B·m, …)``. Weights may require grad:
the sum of the B networks' losses has each network's own gradient in its slice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from theorycheck.graph import (
    Activation,
    Add,
    AvgPool,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
)
from theorycheck.sampler._program import ACTIVATION_FNS, PAD_MODE, Op, Program

__all__ = ["forward"]


def forward(program: Program, x: torch.Tensor, weights: dict[int, torch.Tensor]) -> torch.Tensor:
    """Logits ``(B, m, K)`` of B networks, network b on its own examples ``x[b]`` (``x``: ``(B, m, *shape)``)."""
    return _run(program.ops, x, weights)


def _run(ops: list[Op], x: torch.Tensor, weights: dict[int, torch.Tensor]) -> torch.Tensor:
    for op in ops:
        x = _apply(op, x, weights)
    return x


def _per_example(fn: object, x: torch.Tensor) -> torch.Tensor:
    b, m = x.shape[:2]
    y = fn(x.reshape(b * m, *x.shape[2:]))  # type: ignore[operator]
    return y.reshape(b, m, *y.shape[1:])


def _apply(op: Op, x: torch.Tensor, weights: dict[int, torch.Tensor]) -> torch.Tensor:
    y = _unbiased(op, x, weights)
    if -op.index in weights:  # the layer's biases (B, out): one per network, shared by its examples
        bias = weights[-op.index]
        y = y + (bias[:, None, :] if y.ndim == 3 else bias[:, None, :, None, None])
    return y


def _unbiased(op: Op, x: torch.Tensor, weights: dict[int, torch.Tensor]) -> torch.Tensor:
    node = op.node
    b, m = x.shape[:2]
    if isinstance(node, Dense):
        return torch.bmm(x, weights[op.index].transpose(1, 2))
    if isinstance(node, Conv):
        before, after = node.pad
        if before or after:
            x = _per_example(lambda t: F.pad(t, (before, after, before, after), mode=PAD_MODE[node.padding]), x)
        c, h, w = x.shape[2:]
        y = F.conv2d(
            x.transpose(0, 1).reshape(m, b * c, h, w),
            weights[op.index].reshape(b * node.out, c, node.kernel, node.kernel),
            stride=node.stride,
            dilation=node.dilation,
            groups=b,
        )
        return y.reshape(m, b, node.out, y.shape[-2], y.shape[-1]).transpose(0, 1)
    if isinstance(node, AvgPool):
        return _per_example(lambda t: F.avg_pool2d(t, node.kernel, node.step), x)
    if isinstance(node, MaxPool):
        return _per_example(lambda t: F.max_pool2d(t, node.kernel, node.step), x)
    if isinstance(node, GlobalAvgPool):
        return x.mean(dim=(-2, -1))
    if isinstance(node, GlobalMaxPool):
        return x.amax(dim=(-2, -1))
    if isinstance(node, Flatten):
        return x.reshape(b, m, -1)
    if isinstance(node, Activation):
        return ACTIVATION_FNS[node.fn](x)
    if isinstance(node, Add):
        outs = [_run(branch, x, weights) for branch in op.branches]
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return total
    if isinstance(node, Concat):
        return torch.cat([_run(branch, x, weights) for branch in op.branches], dim=2)
    raise TypeError(f"no batched training rule for {node.kind}")
