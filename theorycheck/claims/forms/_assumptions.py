"""The assumptions of Simon-Gabriel et al.'s theorems, checked on a graph.

=============== ===========================================================================================
name            holds when
=============== ===========================================================================================
``relu``        every activation is a ReLU (the theorems are about ReLU networks)
``fan_in``      every weighted layer has Var[w] = gain/fan_in (He et al. 2015 is gain 2; hypothesis H3)
``no_avgpool``  no average pooling: its weights 1/n are deterministic, not He-scaled random weights
``no_maxpool``  no max pooling: a max gate is not a ReLU gate and no theorem of the paper covers it
``H``           the (H) engine finds hypothesis (H) plausible (no ReLU on an input that is neither centred nor
                non-negative, see ``theorycheck predict``'s notes)
``S``           the symmetry assumption (S) holds, decided exactly from the path degrees (Section 3.2)
=============== ===========================================================================================

A theorem applied to a family outside its assumptions is "not covered": the verdict names the assumption and
where it fails, next to what was measured and the engine's own prediction for that family.
"""

from __future__ import annotations

from collections.abc import Iterator

from theorycheck.claims.forms._family import Point
from theorycheck.errors import TheorycheckError
from theorycheck.graph._nodes import Node

__all__ = ["ASSUMPTIONS", "Assumption", "check_assumptions"]

Assumption = str
ASSUMPTIONS: dict[str, str] = {
    "relu": "every activation is a ReLU",
    "fan_in": "every weighted layer has Var[w] = gain/fan_in (He scaling)",
    "no_avgpool": "no average pooling (deterministic weights 1/n are not He-scaled)",
    "no_maxpool": "no max pooling",
    "H": "hypothesis (H) is plausible on the graph",
    "S": "the symmetry assumption (S) holds",
}


def _walk(layers: tuple[Node, ...], prefix: str = "") -> Iterator[tuple[str, Node]]:
    from theorycheck.graph._nodes import Branches

    for i, node in enumerate(layers, start=1):
        where = f"{prefix}{i}"
        yield where, node
        if isinstance(node, Branches):
            for j, branch in enumerate(node.branches):
                yield from _walk(branch, f"{where}.{j}.")


def _graph_violations(point: Point, names: tuple[Assumption, ...]) -> list[str]:
    from theorycheck.graph import Architecture
    from theorycheck.graph._format import format_layers
    from theorycheck.graph._nodes import Activation, AvgPool, Conv, Dense, GlobalAvgPool, GlobalMaxPool, MaxPool

    out = []
    for where, node in _walk(Architecture.parse(point.arch).layers):
        text = format_layers((node,)) if not hasattr(node, "branches") else getattr(node, "kind", "")
        if "relu" in names and isinstance(node, Activation) and node.fn != "relu":
            out.append(f"relu: layer {where} is {text}, not a ReLU")
        if "fan_in" in names and isinstance(node, Dense | Conv) and node.init.scaling != "fan_in":
            out.append(f"fan_in: layer {where} {text} has Var[w] = {node.init.gain:g}, not gain/fan_in")
        if "no_avgpool" in names and isinstance(node, AvgPool | GlobalAvgPool):
            out.append(f"no_avgpool: layer {where} {text} has deterministic weights 1/n, not He-scaled")
        if "no_maxpool" in names and isinstance(node, MaxPool | GlobalMaxPool):
            out.append(f"no_maxpool: layer {where} {text} is a max pooling")
    return out


def check_assumptions(names: tuple[Assumption, ...], points: list[Point]) -> list[str]:
    """Every violated assumption, with the grid point and the layer (first point where it fails, per message)."""
    from theorycheck.theory import predict

    unknown = [n for n in names if n not in ASSUMPTIONS]
    if unknown:
        raise TheorycheckError(f"unknown assumption {unknown[0]!r}; known: {', '.join(ASSUMPTIONS)}")
    seen: dict[str, str] = {}
    for point in points:
        found = _graph_violations(point, names)
        if "H" in names or "S" in names:
            pred = predict(point.arch, point.input)
            if "H" in names and pred.notes:
                found.append(f"H: {pred.notes[0]}")
            if "S" in names and not pred.symmetric:
                found.append("S: the symmetry assumption (S) fails (inputs have different path-degree sums)")
        for message in found:
            seen.setdefault(message, point.label)
    return [f"{message} (at {label} on {_input_of(points, label)})" for message, label in seen.items()]


def _input_of(points: list[Point], label: str) -> str:
    return next(p.input for p in points if p.label == label)
