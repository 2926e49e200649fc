"""Public hypothesis strategies for theorycheck objects.

Write your own property tests with them::

    from hypothesis import given
    from theorycheck.strategies import architectures

    @given(architectures(max_layers=4))
    def test_lemma7(case):
        arch, shape = case
        ...

Every strategy takes keyword-only bounds, validated eagerly (a bad bound raises
``InvalidArgument`` when the strategy is built, not when it is drawn).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from theorycheck.errors import TheorycheckError
from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    AvgPool,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Init,
    MaxPool,
    Node,
    Sequence,
    Shape,
    node_output_shape,
)

__all__ = ["architectures", "families", "image_shapes", "inits", "sweeps", "vector_shapes"]


def _check_bound(name: str, value: int, low: int) -> None:
    if not isinstance(value, int) or value < low:
        raise InvalidArgument(f"{name} must be an integer >= {low}, got {value!r}")


def vector_shapes(*, min_dim: int = 1, max_dim: int = 8) -> st.SearchStrategy[Shape]:
    """Input shapes ``(D,)`` with ``min_dim <= D <= max_dim``."""
    _check_bound("min_dim", min_dim, 1)
    _check_bound("max_dim", max_dim, min_dim)
    return st.integers(min_dim, max_dim).map(lambda d: (d,))


def image_shapes(
    *, max_channels: int = 3, min_side: int = 1, max_side: int = 6, square: bool = False
) -> st.SearchStrategy[Shape]:
    """Input shapes ``(C, H, W)``."""
    _check_bound("max_channels", max_channels, 1)
    _check_bound("min_side", min_side, 1)
    _check_bound("max_side", max_side, min_side)
    sides = st.integers(min_side, max_side)
    if square:
        return st.tuples(st.integers(1, max_channels), sides).map(lambda t: (t[0], t[1], t[1]))
    return st.tuples(st.integers(1, max_channels), sides, sides)


def inits(*, distributions: tuple[str, ...] = ("normal", "uniform", "rademacher")) -> st.SearchStrategy[Init]:
    """Weight initialisations with gains in [0.5, 4] and both scalings."""
    if not distributions:
        raise InvalidArgument("distributions must not be empty")
    return st.builds(
        Init,
        dist=st.sampled_from(distributions),
        gain=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
        scaling=st.sampled_from(["fan_in", "none"]),
    )


def _fits(node: Node, shape: Shape) -> Shape | None:
    """The node's output shape on ``shape``, or None when the toolkit refuses it there. Only the toolkit's own
    refusals are caught: any other exception is a bug in a shape rule, and fails the test that drew it."""
    try:
        return node_output_shape(node, shape)
    except TheorycheckError:
        return None


@st.composite
def _layer(draw: Any, shape: Shape, opts: dict[str, Any], depth: int, preserve: bool) -> Node:
    """One layer valid on ``shape``; with ``preserve`` it keeps the shape (for add branches)."""
    width = opts["max_width"]
    acts = ["relu", "tanh", "sigmoid", "softplus"] if opts["smooth"] else ["relu"]
    init = draw(inits()) if opts["vary_init"] else Init()
    choices: list[Node] = [Activation(draw(st.sampled_from(acts)))]
    if len(shape) == 1:
        choices.append(Dense(shape[0] if preserve else draw(st.integers(1, width)), init=init))
    else:
        c = shape[0]
        k = draw(st.integers(1, 3))
        dil = draw(st.integers(1, 2))
        pad = draw(
            st.sampled_from(["zero", "circular", "reflect"] if preserve else ["zero", "circular", "reflect", "valid"])
        )
        stride = 1 if preserve else draw(st.integers(1, 2))
        out = c if preserve else draw(st.integers(1, width))
        choices.append(Conv(out, k, stride=stride, dilation=dil, padding=pad, init=init))
        if not preserve:
            pk = draw(st.integers(1, 2))
            ps = draw(st.integers(1, pk))
            choices.append(AvgPool(pk, ps))
            if opts["maxpool"]:
                choices.append(MaxPool(pk, ps))
    if opts["branches"] and depth < opts["max_depth"]:
        n = draw(st.integers(2, 3))
        if draw(st.booleans()) or preserve:
            branches = tuple(draw(_sequence(shape, opts, depth + 1, preserve=True)) for _ in range(n))
            choices.append(Add(branches))
        elif len(shape) == 3:
            branches = tuple(draw(_concat_branch(shape, opts, depth + 1)) for _ in range(n))
            choices.append(Concat(branches))
    valid = [
        (node, out) for node in choices if (out := _fits(node, shape)) is not None and (not preserve or out == shape)
    ]
    return draw(st.sampled_from([n for n, _ in valid]))


@st.composite
def _sequence(draw: Any, shape: Shape, opts: dict[str, Any], depth: int, preserve: bool) -> Sequence:
    layers: list[Node] = []
    for _ in range(draw(st.integers(0, 2))):
        node = draw(_layer(shape, opts, depth, preserve))
        layers.append(node)
        shape = node_output_shape(node, shape)
    return tuple(layers)


@st.composite
def _concat_branch(draw: Any, shape: Shape, opts: dict[str, Any], depth: int) -> Sequence:
    """A branch keeping the spatial size (channels may change), for ``concat``."""
    k = draw(st.sampled_from([1, 3]))
    out = draw(st.integers(1, opts["max_width"]))
    pad = draw(st.sampled_from(["zero", "circular"]))
    node = Conv(out, k, padding=pad)
    if _fits(node, shape) is None:
        return ()
    rest = draw(_sequence((out, *shape[1:]), opts, depth, preserve=True))
    return (node, *rest)


@st.composite
def _architectures(
    draw: Any, input_shapes: st.SearchStrategy[Shape], opts: dict[str, Any]
) -> tuple[Architecture, Shape]:
    in_shape = draw(input_shapes)
    shape = in_shape
    layers: list[Node] = []
    for _ in range(draw(st.integers(opts["min_layers"], opts["max_layers"]))):
        node = draw(_layer(shape, opts, 0, preserve=False))
        layers.append(node)
        shape = node_output_shape(node, shape)
    if len(shape) == 3:
        head: Node = draw(
            st.sampled_from([Flatten(), GlobalAvgPool(), *([GlobalMaxPool()] if opts["maxpool"] else [])])
        )
        layers.append(head)
        shape = node_output_shape(head, shape)
    layers.append(Dense(draw(st.integers(1, opts["max_width"])), init=draw(inits()) if opts["vary_init"] else Init()))
    return Architecture(tuple(layers)), in_shape


def architectures(
    *,
    input_shapes: st.SearchStrategy[Shape] | None = None,
    min_layers: int = 0,
    max_layers: int = 4,
    max_width: int = 4,
    max_depth: int = 2,
    branches: bool = True,
    smooth: bool = True,
    maxpool: bool = True,
    vary_init: bool = True,
) -> st.SearchStrategy[tuple[Architecture, Shape]]:
    """Valid ``(architecture, input_shape)`` pairs ending in a dense logit layer.

    Args:
        input_shapes: strategy for the input shape; default: small vectors or images.
        min_layers, max_layers: number of top-level layers before the output head.
        max_width: largest dense width / number of channels.
        max_depth: nesting depth of ``add``/``concat`` branches.
        branches, smooth, maxpool: allow branches, smooth activations, max-pooling.
        vary_init: draw non-default initialisations.
    """
    _check_bound("min_layers", min_layers, 0)
    _check_bound("max_layers", max_layers, min_layers)
    _check_bound("max_width", max_width, 1)
    _check_bound("max_depth", max_depth, 0)
    if input_shapes is None:
        input_shapes = st.one_of(vector_shapes(max_dim=6), image_shapes(max_side=5))
    opts = dict(
        min_layers=min_layers,
        max_layers=max_layers,
        max_width=max_width,
        max_depth=max_depth,
        branches=branches,
        smooth=smooth,
        maxpool=maxpool,
        vary_init=vary_init,
    )
    return _architectures(input_shapes, opts)


def sweeps(
    names: tuple[str, ...], *, values: st.SearchStrategy[int] | None = None, max_points: int = 4
) -> st.SearchStrategy[dict[str, Any]]:
    """Sweep tables over ``names``: each name an axis of 2 to ``max_points`` distinct values, or one fixed value.

    Args:
        values: strategy for the values (default: integers 1 to 64).
        max_points: the longest axis.
    """
    if not isinstance(names, tuple) or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise InvalidArgument(f"names must be a tuple of identifiers, got {names!r}")
    _check_bound("max_points", max_points, 2)
    vals = st.integers(1, 64) if values is None else values
    entry = st.one_of(vals, st.lists(vals, min_size=2, max_size=max_points, unique=True))
    return st.fixed_dictionaries({n: entry for n in names})


@st.composite
def _families(draw: Any, kinds: tuple[str, ...], max_points: int, max_width: int) -> Any:
    from theorycheck.claims.forms import Family

    kind = draw(st.sampled_from(kinds))
    widths = st.integers(1, max_width)
    depth = draw(st.integers(1, 3))
    if kind == "mlp":
        arch = " ".join(["dense({w}) relu"] * depth) + f" dense({draw(st.integers(1, 4))})"
        dims = st.lists(st.integers(1, 256), min_size=2, max_size=max_points, unique=True)
        return Family(arch, "{d}", {"d": draw(dims), "w": draw(widths)})
    padding = draw(st.sampled_from(["circular", "reflect", "zero"]))
    pool = draw(st.sampled_from(["", " avgpool(2)", " maxpool(2)"]))
    head = draw(st.sampled_from(["flatten", "globalavgpool", "globalmaxpool"]))
    arch = " ".join([f"conv({{c}},3,padding={padding}) relu"] * depth) + f"{pool} {head} dense(3)"
    sides = st.lists(st.integers(2, 12).map(lambda h: 2 * h), min_size=2, max_size=max_points, unique=True)
    return Family(arch, "{k}x{r}x{r}", {"r": draw(sides), "c": draw(widths), "k": draw(st.integers(1, 3))})


def families(
    *, kinds: tuple[str, ...] = ("mlp", "cnn"), max_points: int = 4, max_width: int = 8
) -> st.SearchStrategy[Any]:
    """:class:`~theorycheck.claims.Family` values: ReLU MLPs swept over ``d``, or conv nets (circular, reflect or
    zero padding, optional pooling, a global or flattening head) swept over the resolution ``r``.

    Args:
        kinds: ``"mlp"`` and/or ``"cnn"``.
        max_points: the most grid points (at least 2: every family can carry a slope).
        max_width: the largest width or channel count.
    """
    if not kinds or any(k not in ("mlp", "cnn") for k in kinds):
        raise InvalidArgument(f"kinds must be a non-empty tuple of 'mlp' and 'cnn', got {kinds!r}")
    _check_bound("max_points", max_points, 2)
    _check_bound("max_width", max_width, 1)
    return _families(tuple(kinds), max_points, max_width)
