"""Forward annotation of a graph: shapes and sign information per node.

The theory passes run backward over these frames. A frame records whether the
node's input is non-negative for every input and weight draw (the output of a
ReLU, sigmoid or softplus, and averages or maxima of such values); a ReLU on a
non-negative input is the identity, so its gate is 1, not ½.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    Branches,
    Concat,
    Conv,
    Dense,
    Node,
    Sequence,
    Shape,
    node_output_shape,
)

__all__ = ["Frame", "annotate"]


@dataclass
class Frame:
    """One node applied at one place of the graph."""

    node: Node
    in_shape: Shape
    out_shape: Shape
    in_nonneg: bool
    out_nonneg: bool
    branches: list[list[Frame]] = field(default_factory=list)


def _out_nonneg(node: Node, in_nonneg: bool, branch_nonneg: list[bool]) -> bool:
    if isinstance(node, (Dense, Conv)):
        return False
    if isinstance(node, Activation):
        return node.fn in ("relu", "sigmoid", "softplus")
    if isinstance(node, (Add, Concat)):
        return all(branch_nonneg)
    return in_nonneg  # pools, global pools, flatten keep the sign


def annotate_sequence(layers: Sequence, shape: Shape, nonneg: bool) -> tuple[list[Frame], Shape, bool]:
    """Frames for ``layers`` applied to a value of ``shape`` (non-negative if ``nonneg``)."""
    frames: list[Frame] = []
    for node in layers:
        out_shape = node_output_shape(node, shape)
        sub: list[list[Frame]] = []
        sub_nonneg: list[bool] = []
        if isinstance(node, Branches):
            for branch in node.branches:
                fr, _, nn = annotate_sequence(branch, shape, nonneg)
                sub.append(fr)
                sub_nonneg.append(nn)
        out_nonneg = _out_nonneg(node, nonneg, sub_nonneg)
        frames.append(Frame(node, shape, out_shape, nonneg, out_nonneg, sub))
        shape, nonneg = out_shape, out_nonneg
    return frames, shape, nonneg


def annotate(arch: Architecture, input_shape: Shape) -> list[Frame]:
    """Validate ``arch`` on ``input_shape`` and annotate it (inputs may be negative)."""
    arch.shapes(input_shape)  # raises a located ArchitectureError when invalid
    return annotate_sequence(arch.layers, input_shape, False)[0]
