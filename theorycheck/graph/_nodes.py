"""Graph nodes: the layers of the architecture DSL.

A node is an immutable value. ``span`` records where the node was written in an
architecture text (for error messages); it takes no part in equality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from theorycheck.errors import ArchitectureError
from theorycheck.graph._init import HE, Init

__all__ = [
    "ACTIVATIONS",
    "PADDINGS",
    "Activation",
    "Add",
    "AvgPool",
    "Branches",
    "Concat",
    "Conv",
    "Dense",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "MaxPool",
    "Node",
    "Pool",
    "Sequence",
]

Padding = Literal["zero", "valid", "circular", "reflect"]
PADDINGS: tuple[str, ...] = ("zero", "valid", "circular", "reflect")
ActivationFn = Literal["relu", "tanh", "sigmoid", "softplus"]
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "softplus")


def _positive(node: str, what: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArchitectureError(f"{node}: {what} must be a positive integer, got {value!r}")


def _bias_variance(node: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ArchitectureError(
            f"{node}: the bias variance must be a finite number >= 0 (0: no bias), got {value!r}; e.g. bias=0.1"
        )


@dataclass(frozen=True)
class Node:
    """Base class of all layers."""

    span: tuple[int, int] | None = field(default=None, compare=False, repr=False, kw_only=True)

    kind: ClassVar[str] = "node"
    #: carries random weights (dense, conv)
    weighted: ClassVar[bool] = False


Sequence = tuple[Node, ...]


@dataclass(frozen=True)
class Dense(Node):
    """Fully connected layer ``y = W x + β`` with ``W`` of shape (out, in) and, when ``bias`` (its variance
    ``Var[β_j]``) is positive, i.i.d. centred Gaussian biases ``β`` of shape (out,); no bias by default."""

    out: int
    init: Init = HE
    bias: float = 0.0
    kind: ClassVar[str] = "dense"
    weighted: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _positive("dense", "the output size", self.out)
        _bias_variance("dense", self.bias)


@dataclass(frozen=True)
class Conv(Node):
    """2-D convolution, ``out`` channels, square ``kernel``; with ``bias > 0`` one centred Gaussian bias of variance
    ``bias`` per output channel (shared by its positions), no bias by default.

    Padding: ``zero`` pads ``dilation*(kernel-1)`` zeros in total (left gets the
    floor half, like PyTorch's ``padding="same"``); ``circular`` and ``reflect``
    pad the same amounts periodically / by mirroring; ``valid`` pads nothing.
    Output size: ``floor((H + pad - dilation*(kernel-1) - 1) / stride) + 1``.
    """

    out: int
    kernel: int
    stride: int = 1
    dilation: int = 1
    padding: Padding = "zero"
    init: Init = HE
    bias: float = 0.0
    kind: ClassVar[str] = "conv"
    weighted: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _bias_variance("conv", self.bias)
        _positive("conv", "the number of output channels", self.out)
        _positive("conv", "the kernel size", self.kernel)
        _positive("conv", "the stride", self.stride)
        _positive("conv", "the dilation", self.dilation)
        if self.padding not in PADDINGS:
            raise ArchitectureError(f"conv: unknown padding {self.padding!r}; use one of {', '.join(PADDINGS)}")

    @property
    def extent(self) -> int:
        """Spatial extent of the dilated kernel, ``dilation*(kernel-1)+1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def pad(self) -> tuple[int, int]:
        """(before, after) padding along each spatial axis."""
        if self.padding == "valid":
            return (0, 0)
        total = self.dilation * (self.kernel - 1)
        return (total // 2, total - total // 2)


@dataclass(frozen=True)
class Pool(Node):
    """Square pooling window ``kernel`` with ``stride`` (default: ``kernel``), no padding."""

    kernel: int
    stride: int | None = None

    def __post_init__(self) -> None:
        _positive(self.kind, "the window size", self.kernel)
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)
        _positive(self.kind, "the stride", self.stride)

    @property
    def step(self) -> int:
        """The stride, resolved."""
        assert self.stride is not None
        return self.stride


@dataclass(frozen=True)
class AvgPool(Pool):
    """Average pooling: each output is the mean of its ``kernel²`` window."""

    kind: ClassVar[str] = "avgpool"


@dataclass(frozen=True)
class MaxPool(Pool):
    """Max pooling over a ``kernel²`` window (outside the (H) theory)."""

    kind: ClassVar[str] = "maxpool"


@dataclass(frozen=True)
class Activation(Node):
    """Elementwise nonlinearity: ``relu``, ``tanh``, ``sigmoid`` or ``softplus``."""

    fn: ActivationFn = "relu"
    kind: ClassVar[str] = "activation"

    def __post_init__(self) -> None:
        if self.fn not in ACTIVATIONS:
            raise ArchitectureError(f"unknown activation {self.fn!r}")


@dataclass(frozen=True)
class Flatten(Node):
    """Reshape ``CxHxW`` to a vector of ``C*H*W`` (channel-major)."""

    kind: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class GlobalAvgPool(Node):
    """Mean over all spatial positions: ``CxHxW`` → ``C``."""

    kind: ClassVar[str] = "globalavgpool"


@dataclass(frozen=True)
class GlobalMaxPool(Node):
    """Max over all spatial positions: ``CxHxW`` → ``C`` (outside the (H) theory)."""

    kind: ClassVar[str] = "globalmaxpool"


@dataclass(frozen=True)
class Branches(Node):
    """Parallel sub-graphs applied to the same input. An empty branch is the identity."""

    branches: tuple[Sequence, ...] = ()

    def __post_init__(self) -> None:
        if len(self.branches) < 2:
            raise ArchitectureError(f"{self.kind}: needs at least two branches, got {len(self.branches)}")


@dataclass(frozen=True)
class Add(Branches):
    """Sum of branch outputs (all of the same shape), e.g. a residual block."""

    kind: ClassVar[str] = "add"


@dataclass(frozen=True)
class Concat(Branches):
    """Concatenation of branch outputs along channels (images) or features (vectors)."""

    kind: ClassVar[str] = "concat"
