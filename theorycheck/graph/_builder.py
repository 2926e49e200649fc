"""Python builder API: the same graphs as the text form.

>>> from theorycheck.graph import serial, conv, relu, globalavgpool, dense, repeat
>>> net = serial(repeat(8, conv(64, 3, dilation=2), relu()), globalavgpool(), dense(12))
"""

from __future__ import annotations

from theorycheck.graph._architecture import Architecture
from theorycheck.graph._init import Init
from theorycheck.graph._nodes import (
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
    Node,
    Padding,
    Sequence,
)

__all__ = [
    "add",
    "avgpool",
    "concat",
    "conv",
    "dense",
    "flatten",
    "globalavgpool",
    "globalmaxpool",
    "identity",
    "maxpool",
    "relu",
    "repeat",
    "residual",
    "serial",
    "sigmoid",
    "softplus",
    "tanh",
]

Part = Node | Sequence | Architecture


def _flat(parts: tuple[Part, ...]) -> Sequence:
    out: list[Node] = []
    for p in parts:
        if isinstance(p, Node):
            out.append(p)
        elif isinstance(p, Architecture):
            out.extend(p.layers)
        else:
            out.extend(_flat(tuple(p)))
    return tuple(out)


def serial(*parts: Part) -> Architecture:
    """Compose layers (nodes, tuples of nodes or architectures) in order."""
    return Architecture(_flat(parts))


def repeat(n: int, *parts: Part) -> Sequence:
    """``[parts]*n`` of the text form."""
    if not isinstance(n, int) or n <= 0:
        from theorycheck.errors import ArchitectureError

        raise ArchitectureError(f"repeat: the count must be a positive integer, got {n!r}")
    return _flat(parts) * n


def identity() -> Sequence:
    """The empty sequence, e.g. the skip branch of a residual block."""
    return ()


def dense(out: int, *, gain: float = 2.0, init: str = "normal", scaling: str = "fan_in", bias: float = 0.0) -> Dense:
    """Fully connected layer with ``Var[w] = gain/fan_in`` (He by default) and Gaussian biases of variance ``bias``
    (none by default)."""
    return Dense(out, init=Init(dist=init, gain=gain, scaling=scaling), bias=bias)  # type: ignore[arg-type]


def conv(
    out: int,
    kernel: int,
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: Padding = "zero",
    gain: float = 2.0,
    init: str = "normal",
    scaling: str = "fan_in",
    bias: float = 0.0,
) -> Conv:
    """2-D convolution, fan-in ``C_in * kernel²``, He by default; one Gaussian bias of variance ``bias`` per output
    channel (none by default)."""
    return Conv(
        out,
        kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        init=Init(dist=init, gain=gain, scaling=scaling),  # type: ignore[arg-type]
        bias=bias,
    )


def avgpool(kernel: int, stride: int | None = None) -> AvgPool:
    """Average pooling over ``kernel×kernel`` windows (stride defaults to ``kernel``)."""
    return AvgPool(kernel, stride)


def maxpool(kernel: int, stride: int | None = None) -> MaxPool:
    """Max pooling over ``kernel×kernel`` windows (stride defaults to ``kernel``)."""
    return MaxPool(kernel, stride)


def relu() -> Activation:
    """``max(x, 0)``."""
    return Activation("relu")


def tanh() -> Activation:
    """``tanh(x)``."""
    return Activation("tanh")


def sigmoid() -> Activation:
    """``1 / (1 + e^{-x})``."""
    return Activation("sigmoid")


def softplus() -> Activation:
    """``log(1 + e^x)``."""
    return Activation("softplus")


def flatten() -> Flatten:
    """``CxHxW`` → ``C*H*W``."""
    return Flatten()


def globalavgpool() -> GlobalAvgPool:
    """Spatial mean: ``CxHxW`` → ``C``."""
    return GlobalAvgPool()


def globalmaxpool() -> GlobalMaxPool:
    """Spatial max: ``CxHxW`` → ``C``."""
    return GlobalMaxPool()


def add(*branches: Part) -> Add:
    """Sum of parallel branches; pass ``identity()`` for a skip connection."""
    return Add(tuple(_flat((b,)) for b in branches))


def concat(*branches: Part) -> Concat:
    """Concatenation of parallel branches along channels/features."""
    return Concat(tuple(_flat((b,)) for b in branches))


def residual(*body: Part) -> Add:
    """``x + body(x)``: ``add(body, identity())``."""
    return Add((_flat(body), ()))
