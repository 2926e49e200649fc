"""The canonical printer of the text form: ``parse_layers(format_layers(layers)) == layers``.

Printing recurses once per nesting level; the nesting limit of the parser and of :class:`Architecture`
(64 levels) bounds the depth.
"""

from __future__ import annotations

from theorycheck.graph._init import HE, Init
from theorycheck.graph._nodes import (
    Activation,
    Add,
    AvgPool,
    Branches,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    Node,
    Sequence,
)

__all__ = ["format_layers"]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _bias_args(node: Dense | Conv) -> list[str]:
    return [f"bias={_num(node.bias)}"] if node.bias else []


def _init_args(init: Init) -> list[str]:
    args = []
    if init.gain != HE.gain:
        args.append(f"gain={_num(init.gain)}")
    if init.dist != HE.dist:
        args.append(f"init={init.dist}")
    if init.scaling != HE.scaling:
        args.append(f"scaling={init.scaling}")
    return args


def _format_node(node: Node) -> str:
    if isinstance(node, Dense):
        return f"dense({','.join([str(node.out), *_init_args(node.init), *_bias_args(node)])})"
    if isinstance(node, Conv):
        args = [str(node.out), str(node.kernel)]
        if node.stride != 1:
            args.append(f"stride={node.stride}")
        if node.dilation != 1:
            args.append(f"dilation={node.dilation}")
        if node.padding != "zero":
            args.append(f"padding={node.padding}")
        return f"conv({','.join(args + _init_args(node.init) + _bias_args(node))})"
    if isinstance(node, (AvgPool, MaxPool)):
        stride = "" if node.step == node.kernel else f",stride={node.step}"
        return f"{node.kind}({node.kernel}{stride})"
    if isinstance(node, Activation):
        return node.fn
    if isinstance(node, (Flatten, GlobalAvgPool, GlobalMaxPool)):
        return node.kind
    if isinstance(node, Branches):
        if isinstance(node, Add) and len(node.branches) == 2 and node.branches[1] == () and node.branches[0]:
            return f"residual{{{format_layers(node.branches[0])}}}"
        inner = " | ".join(format_layers(b) or "identity" for b in node.branches)
        return f"{node.kind}{{{inner}}}"
    raise TypeError(f"cannot format {node!r}")


def format_layers(layers: Sequence) -> str:
    """Canonical text of a layer sequence; ``parse_layers`` inverts it."""
    return " ".join(_format_node(n) for n in layers)
