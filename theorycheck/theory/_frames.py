"""Forward annotation of a graph: shapes, positions and the law of every channel.

The theory passes run backward over these frames. Each frame records, per
channel of its input and output (the first axis: channels of an image,
features of a vector), which of three laws the value has over the weight draw:

* :data:`CENTRED`: a centred Gaussian at infinite width (the output of a
  weighted layer with zero-mean weights, then only average pooling, flatten,
  and sums of such values);
* :data:`NONNEG`: non-negative for every input and weight draw (the output of
  a ReLU, sigmoid or softplus, and averages, maxima and sums of such values);
* :data:`OTHER`: neither (the network input, a tanh's output, a max-pool of a
  signed value, a sum of a non-negative and a signed branch).

The law is tracked per channel because a concatenation joins groups of
different laws: in ``concat{conv relu | conv} relu`` the ReLU is the identity
on the first group and a gate on the second. Every node of the DSL acts on
channels separately, so one law per channel is exact (no spatial variation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from theorycheck._memory import require_memory
from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    AvgPool,
    Branches,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    Node,
    Sequence,
    Shape,
    format_shape,
    node_output_shape,
)
from theorycheck.graph._text import format_layers

__all__ = ["CENTRED", "NONNEG", "OTHER", "Frame", "annotate", "law_name", "merge_laws"]

CENTRED, NONNEG, OTHER = 0, 1, 2
_LAW_NAMES = {CENTRED: "a centred Gaussian", NONNEG: "non-negative", OTHER: "neither centred Gaussian nor non-negative"}

#: per-channel law of a value (int8, one entry per channel or feature)
Laws = NDArray[np.int8]


def law_name(law: int) -> str:
    """Words for a law, for messages."""
    return _LAW_NAMES[law]


@dataclass
class Frame:
    """One node applied at one place of the graph.

    ``where`` names the place: ``"<index path> <layer text>"``, e.g. ``"3.1.0 conv(16,3)"``
    for the first node of branch 1 of top-level node 3 (the labels of :func:`in_degrees`).
    ``in_law`` and ``out_law`` hold one law per input and output channel.
    """

    node: Node
    in_shape: Shape
    out_shape: Shape
    in_law: Laws
    out_law: Laws
    where: str = ""
    branches: list[list[Frame]] = field(default_factory=list)

    @property
    def in_nonneg(self) -> bool:
        """The whole input is non-negative."""
        return bool((self.in_law == NONNEG).all())

    @property
    def out_nonneg(self) -> bool:
        """The whole output is non-negative."""
        return bool((self.out_law == NONNEG).all())


def merge_laws(laws: list[Laws]) -> Laws:
    """Law of a channel-wise sum: non-negative (all are), centred Gaussian (all are), else other."""
    stacked = np.stack(laws)
    out = np.full(stacked.shape[1], OTHER, dtype=np.int8)
    out[(stacked == NONNEG).all(axis=0)] = NONNEG
    out[(stacked == CENTRED).all(axis=0)] = CENTRED
    return out


def _out_law(node: Node, in_shape: Shape, out_shape: Shape, law: Laws, branch_laws: list[Laws]) -> Laws:
    n_out = out_shape[0]
    if isinstance(node, (Dense, Conv)):
        return np.full(n_out, CENTRED, dtype=np.int8)
    if isinstance(node, Activation):
        value = NONNEG if node.fn in ("relu", "sigmoid", "softplus") else OTHER
        return np.full(n_out, value, dtype=np.int8)
    if isinstance(node, Add):
        return merge_laws(branch_laws)
    if isinstance(node, Concat):
        return np.concatenate(branch_laws).astype(np.int8)
    if isinstance(node, Flatten):
        return np.repeat(law, int(np.prod(in_shape[1:]))).astype(np.int8)
    if isinstance(node, (AvgPool, GlobalAvgPool)):
        return law.copy()
    # max-pooling keeps non-negativity, but the maximum of centred values is not centred
    return np.where(law == NONNEG, NONNEG, OTHER).astype(np.int8)


def annotate_sequence(layers: Sequence, shape: Shape, law: Laws, prefix: str = "") -> tuple[list[Frame], Shape, Laws]:
    """Frames for ``layers`` applied to a value of ``shape`` whose channels have laws ``law``."""
    frames: list[Frame] = []
    for i, node in enumerate(layers):
        label = f"{prefix}{i}"
        out_shape = node_output_shape(node, shape)
        _check_size(out_shape, f"{label} {format_layers((node,))}")
        sub: list[list[Frame]] = []
        sub_laws: list[Laws] = []
        if isinstance(node, Branches):
            for j, branch in enumerate(node.branches):
                fr, _, branch_law = annotate_sequence(branch, shape, law, f"{label}.{j}.")
                sub.append(fr)
                sub_laws.append(branch_law)
        out_law = _out_law(node, shape, out_shape, law, sub_laws)
        text = "add" if isinstance(node, Add) else "concat" if isinstance(node, Concat) else format_layers((node,))
        frames.append(Frame(node, shape, out_shape, law, out_law, f"{label} {text}", sub))
        shape, law = out_shape, out_law
    return frames, shape, law


#: bytes the theory passes hold per number of the largest value (float64 and int64 arrays with temporaries)
BYTES_PER_NEURON = 128


def _check_size(shape: Shape, where: str) -> None:
    """Refuse before allocating when one value of ``shape`` would not fit in memory (the theory passes hold
    several arrays of each value's size; the sampler holds a few per network)."""
    n = int(np.prod(shape, dtype=object))
    require_memory(BYTES_PER_NEURON * n, f"{where}: a value of {format_shape(shape)} ({n:.3g} numbers)")


def annotate(arch: Architecture, input_shape: Shape) -> list[Frame]:
    """Validate ``arch`` on ``input_shape`` and annotate it (the inputs are arbitrary: law OTHER).

    Refuses, before allocating, a graph whose largest value would not fit in memory."""
    arch.shapes(input_shape)  # raises a located ArchitectureError when invalid
    _check_size(input_shape, "the input")
    return annotate_sequence(arch.layers, input_shape, np.full(input_shape[0], OTHER, dtype=np.int8))[0]
