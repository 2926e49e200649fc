"""Input shapes and shape inference with validation.

A value is a vector ``(D,)`` or an image ``(C, H, W)``. Every rule here raises
:class:`ArchitectureError` naming the layer (and its text position, if any).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from theorycheck.errors import ArchitectureError, InputShapeError
from theorycheck.graph._nodes import (
    Activation,
    Add,
    Branches,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Node,
    Pool,
    Sequence,
)

__all__ = ["Shape", "format_shape", "node_output_shape", "parse_input_shape", "sequence_output_shape"]

Shape = tuple[int, ...]


def format_shape(shape: Shape) -> str:
    """``(3, 32, 32)`` → ``"3x32x32"``."""
    return "x".join(str(s) for s in shape)


#: largest size of one input dimension
MAX_SIDE = 2**30


def parse_input_shape(spec: str | int | Iterable[int]) -> Shape:
    """Parse ``"1024"`` (a vector) or ``"3x32x32"`` (an image, channels first)."""
    if isinstance(spec, int):
        parts: list[int] = [spec]
    elif isinstance(spec, str):
        text = spec.strip().lower()
        if len(text) > 80 or not re.fullmatch(r"\d+(x\d+)*", text, flags=re.ASCII):
            shown = spec if len(spec) <= 80 else spec[:77] + "..."
            raise InputShapeError(
                f"input shape {shown!r} is not D or CxHxW with ASCII digits (e.g. '1024' or '3x32x32')"
            )
        parts = [int(p) for p in text.split("x")]
        if any(p > MAX_SIDE for p in parts):
            raise InputShapeError(f"input shape {spec!r} has a size larger than the limit of {MAX_SIDE}")
    else:
        parts = [int(p) for p in spec]
    if len(parts) not in (1, 3):
        raise InputShapeError(f"input shape {spec!r} has {len(parts)} dimensions; use D (a vector) or CxHxW (an image)")
    if any(p <= 0 for p in parts):
        raise InputShapeError(f"input shape {spec!r} has a non-positive size")
    return tuple(parts)


def _need_image(node: Node, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ArchitectureError(f"{node.kind} needs an image input CxHxW but receives a vector of {shape[0]}")
    return shape[0], shape[1], shape[2]


def _conv_size(node: Conv, n: int, axis: str) -> int:
    before, after = node.pad
    if node.padding == "circular" and max(before, after) > n:
        raise ArchitectureError(
            f"conv: circular padding of {max(before, after)} exceeds the input {axis} of {n}; "
            "use a smaller kernel or dilation"
        )
    if node.padding == "reflect" and max(before, after) >= n:
        raise ArchitectureError(
            f"conv: reflect padding of {max(before, after)} needs an input {axis} above it, got {n}; "
            "use 'zero' or 'circular' padding, or a smaller kernel or dilation"
        )
    if n + before + after < node.extent:
        raise ArchitectureError(
            f"conv: kernel extent {node.extent} (kernel {node.kernel}, dilation {node.dilation}) is larger "
            f"than the input {axis} of {n} under '{node.padding}' padding; use padding=zero or a smaller kernel"
        )
    return (n + before + after - node.extent) // node.stride + 1


def node_output_shape(node: Node, shape: Shape) -> Shape:
    """Output shape of ``node`` applied to ``shape`` (branches recurse)."""
    if isinstance(node, Dense):
        if len(shape) != 1:
            raise ArchitectureError(
                f"dense needs a vector input but receives an image {format_shape(shape)}; "
                "insert flatten or globalavgpool before it"
            )
        return (node.out,)
    if isinstance(node, Conv):
        _, h, w = _need_image(node, shape)
        return (node.out, _conv_size(node, h, "height"), _conv_size(node, w, "width"))
    if isinstance(node, Pool):
        c, h, w = _need_image(node, shape)
        if node.kernel > h or node.kernel > w:
            raise ArchitectureError(f"{node.kind}: window {node.kernel} is larger than its input {h}x{w}")
        return (c, (h - node.kernel) // node.step + 1, (w - node.kernel) // node.step + 1)
    if isinstance(node, (GlobalAvgPool, GlobalMaxPool)):
        return (_need_image(node, shape)[0],)
    if isinstance(node, Flatten):
        _need_image(node, shape)
        return (shape[0] * shape[1] * shape[2],)
    if isinstance(node, Activation):
        return shape
    if isinstance(node, Branches):
        outs = [sequence_output_shape(b, shape) for b in node.branches]
        if isinstance(node, Add):
            if any(o != outs[0] for o in outs):
                shown = ", ".join(format_shape(o) for o in outs)
                raise ArchitectureError(f"add: branch shapes differ ({shown}); all branches must match")
            return outs[0]
        assert isinstance(node, Concat)
        if any(len(o) != len(outs[0]) or o[1:] != outs[0][1:] for o in outs):
            shown = ", ".join(format_shape(o) for o in outs)
            raise ArchitectureError(
                f"concat: branch shapes ({shown}) can only differ in their first (channel/feature) size"
            )
        return (sum(o[0] for o in outs), *outs[0][1:])
    raise TypeError(f"unknown node {node!r}")


def sequence_output_shape(layers: Sequence, shape: Shape) -> Shape:
    """Fold :func:`node_output_shape` over a sequence."""
    for node in layers:
        shape = node_output_shape(node, shape)
    return shape
