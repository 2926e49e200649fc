"""The :class:`Architecture` value: a validated sequence of nodes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from theorycheck.errors import ArchitectureError
from theorycheck.graph._nodes import Branches, Node, Sequence
from theorycheck.graph._shapes import Shape, format_shape, node_output_shape, parse_input_shape
from theorycheck.graph._text import MAX_LAYERS, MAX_NESTING, count_layers, format_layers, parse_layers

__all__ = ["Architecture"]


@dataclass(frozen=True)
class Architecture:
    """A feed-forward architecture: layers applied in order, branches nested.

    Build it from text (``Architecture.parse("dense(256) relu dense(10)")``) or
    with the builder (``serial(dense(256), relu(), dense(10))``). Both give equal
    values, and ``Architecture.parse(a.to_text()) == a``.
    """

    layers: Sequence
    text: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        """The text parser's limits hold for graphs built in Python too (no deep recursion later)."""
        if nesting_depth(self.layers) > MAX_NESTING:
            raise ArchitectureError(f"nesting deeper than {MAX_NESTING} levels of add, concat or residual")
        total = count_layers(self.layers)
        if total > MAX_LAYERS:
            raise ArchitectureError(f"the architecture has {total} layers, more than the limit of {MAX_LAYERS}")

    @classmethod
    def parse(cls, text: str) -> Architecture:
        """Parse the text form (see :mod:`theorycheck.graph._text`)."""
        return cls(parse_layers(text), text=text)

    def to_text(self) -> str:
        """Canonical text form."""
        return format_layers(self.layers)

    def __str__(self) -> str:
        return self.to_text()

    def __iter__(self) -> Iterator[Node]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def _located(self, exc: ArchitectureError, node: Node) -> ArchitectureError:
        if self.text is not None and node.span is not None:
            start, end = node.span
            return ArchitectureError(exc.message, text=self.text, position=start, length=end - start)
        return ArchitectureError(f"{exc.message} (layer {node.kind})")

    def shapes(self, input_shape: Shape | str | int) -> list[tuple[Node, Shape, Shape]]:
        """Validate against ``input_shape``; return ``(node, in, out)`` for each top-level node.

        Raises :class:`ArchitectureError` naming the first invalid layer, or a
        missing output layer when the network does not end in a vector.
        """
        shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
        if not self.layers:
            raise ArchitectureError("empty architecture: give at least an output layer, e.g. dense(10)")
        trace = []
        for node in self.layers:
            try:
                out = node_output_shape(node, shape)
            except ArchitectureError as exc:
                raise self._locate_deep(exc, node, shape) from None
            trace.append((node, shape, out))
            shape = out
        if len(shape) != 1:
            last = self.layers[-1]
            missing = ArchitectureError(
                f"missing output layer: the network ends with an image {format_shape(shape)}, "
                "but logits must be a vector; end with e.g. 'flatten dense(10)' or 'globalavgpool dense(10)'"
            )
            raise self._located(missing, last) from None
        return trace

    def _locate_deep(self, exc: ArchitectureError, node: Node, shape: Shape) -> ArchitectureError:
        """Find the innermost node inside branches that raised, to point at it."""
        if isinstance(node, Branches):
            for branch in node.branches:
                s = shape
                for inner in branch:
                    try:
                        s = node_output_shape(inner, s)
                    except ArchitectureError as inner_exc:
                        return self._locate_deep(inner_exc, inner, s)
        return self._located(exc, node)

    def output_shape(self, input_shape: Shape | str | int) -> Shape:
        """Validated output shape (a vector of logits)."""
        return self.shapes(input_shape)[-1][2]

    @property
    def n_weighted(self) -> int:
        """Number of weighted (dense or conv) layers, branches included."""

        def count(layers: Sequence) -> int:
            total = 0
            for n in layers:
                total += n.weighted
                if isinstance(n, Branches):
                    total += sum(count(b) for b in n.branches)
            return total

        return count(self.layers)


def nesting_depth(layers: Sequence) -> int:
    """Deepest nesting of branches (iterative: no recursion limit)."""
    deepest, stack = 0, [(layers, 0)]
    while stack:
        seq, depth = stack.pop()
        deepest = max(deepest, depth)
        for node in seq:
            if isinstance(node, Branches):
                stack.extend((b, depth + 1) for b in node.branches)
    return deepest
