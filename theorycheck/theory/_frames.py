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
  signed value, a sum of a non-negative and a signed branch);
* :data:`NONGAUSS`: centred but not Gaussian even at infinite width: the output
  of a layer with uniform or Rademacher weights whose fan-in is finite (it
  reads only the network input's channels), so its pre-activation is a finite
  sum of non-Gaussian terms (the central limit theorem needs infinite fan-in).

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

__all__ = [
    "CENTRED",
    "NONGAUSS",
    "NONNEG",
    "OTHER",
    "Frame",
    "annotate",
    "centred_branch",
    "ends_in_gate",
    "law_name",
    "merge_laws",
]

CENTRED, NONNEG, OTHER, NONGAUSS = 0, 1, 2, 3
_LAW_NAMES = {
    CENTRED: "a centred Gaussian",
    NONNEG: "non-negative",
    OTHER: "neither centred Gaussian nor non-negative",
    NONGAUSS: "centred but not Gaussian (a finite sum of non-Gaussian terms)",
}

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


def centred_branch(frames: list[Frame]) -> bool:
    """True when the branch ends in a weighted layer followed only by linear weightless ops (or in a concat of
    such branches): its output is linear in zero-mean weights that no other branch uses."""
    for fr in reversed(frames):
        if isinstance(fr.node, (Dense, Conv)):
            return True
        if isinstance(fr.node, Concat):
            return all(centred_branch(b) for b in fr.branches)
        if not isinstance(fr.node, (AvgPool, GlobalAvgPool, Flatten)):
            return False
    return False  # the identity


def ends_in_gate(frames: list[Frame]) -> bool:
    """True when a gate acts after the branch's last weighted layer: an activation that is not the identity (a
    ReLU on a channel that may be negative, any other activation) or a max-pool, possibly inside a nested
    ``add`` or ``concat``. Average pooling, flatten and a ReLU on non-negative channels are not gates."""
    for fr in reversed(frames):
        node = fr.node
        if isinstance(node, (Dense, Conv)):
            return False
        if isinstance(node, (Add, Concat)):
            return any(ends_in_gate(b) for b in fr.branches)
        if isinstance(node, Activation):
            if node.fn != "relu" or not fr.in_nonneg:
                return True
            continue
        if not isinstance(node, (AvgPool, GlobalAvgPool, Flatten)):
            return True  # max-pooling routes through an argmax
    return False


def merge_laws(laws: list[Laws]) -> Laws:
    """Law of a channel-wise sum: non-negative (all are), centred Gaussian (all are), centred non-Gaussian (all
    are centred, some not Gaussian), else other."""
    stacked = np.stack(laws)
    out = np.full(stacked.shape[1], OTHER, dtype=np.int8)
    out[(stacked == NONNEG).all(axis=0)] = NONNEG
    centred = ((stacked == CENTRED) | (stacked == NONGAUSS)).all(axis=0)
    out[centred] = np.where((stacked == NONGAUSS).any(axis=0), NONGAUSS, CENTRED)[centred]
    return out


def _out_law(
    node: Node, in_shape: Shape, out_shape: Shape, law: Laws, branch_laws: list[Laws], finite_fan_in: bool
) -> Laws:
    """Per-channel law of ``node``'s output; ``finite_fan_in``: every input channel is a network-input channel."""
    n_out = out_shape[0]
    if isinstance(node, (Dense, Conv)):
        gaussian = node.init.dist == "normal" or not finite_fan_in
        return np.full(n_out, CENTRED if gaussian else NONGAUSS, dtype=np.int8)
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


#: per-channel flag: the channel is a channel of the network input (finitely many at infinite width)
Finite = NDArray[np.bool_]


def _out_finite(node: Node, in_shape: Shape, out_shape: Shape, finite: Finite, branch_finite: list[Finite]) -> Finite:
    """Which output channels are still network-input channels (only weightless ops since the input)."""
    if isinstance(node, (Dense, Conv)):
        return np.zeros(out_shape[0], dtype=bool)
    if isinstance(node, Add):
        return np.logical_and.reduce(branch_finite)
    if isinstance(node, Concat):
        return np.concatenate(branch_finite)
    if isinstance(node, Flatten):
        return np.repeat(finite, int(np.prod(in_shape[1:])))
    return finite.copy()


def annotate_sequence(
    layers: Sequence, shape: Shape, law: Laws, prefix: str = "", finite: Finite | None = None
) -> tuple[list[Frame], Shape, Laws, Finite]:
    """Frames for ``layers`` applied to a value of ``shape`` whose channels have laws ``law`` (``finite``: which
    channels are network-input channels; none by default)."""
    frames: list[Frame] = []
    finite = np.zeros(shape[0], dtype=bool) if finite is None else finite
    for i, node in enumerate(layers):
        label = f"{prefix}{i}"
        out_shape = node_output_shape(node, shape)
        _check_size(out_shape, f"{label} {format_layers((node,))}")
        sub: list[list[Frame]] = []
        sub_laws: list[Laws] = []
        sub_finite: list[Finite] = []
        if isinstance(node, Branches):
            for j, branch in enumerate(node.branches):
                fr, _, branch_law, branch_finite = annotate_sequence(branch, shape, law, f"{label}.{j}.", finite)
                sub.append(fr)
                sub_laws.append(branch_law)
                sub_finite.append(branch_finite)
        out_law = _out_law(node, shape, out_shape, law, sub_laws, bool(finite.all()))
        text = "add" if isinstance(node, Add) else "concat" if isinstance(node, Concat) else format_layers((node,))
        frames.append(Frame(node, shape, out_shape, law, out_law, f"{label} {text}", sub))
        shape, law, finite = out_shape, out_law, _out_finite(node, shape, out_shape, finite, sub_finite)
    return frames, shape, law, finite


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
    channels = input_shape[0]
    return annotate_sequence(
        arch.layers, input_shape, np.full(channels, OTHER, dtype=np.int8), finite=np.ones(channels, dtype=bool)
    )[0]
