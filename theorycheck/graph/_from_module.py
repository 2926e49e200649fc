"""``from_module``: a PyTorch ``nn.Module`` as an architecture graph, traced with ``torch.fx``.

The trace is not limited to ``nn.Sequential``: a module whose ``forward`` adds a residual (``x + body(x)``) or
concatenates branches (``torch.cat([a, b], 1)``) becomes the DSL's ``add{…}`` / ``concat{…}``. The graph is
decomposed series-parallel: a merge's branches start at its immediate dominator (the last value every path from
the input to the merge passes through), computed on the traced DAG (Cooper, Harvey & Kennedy 2001).

Every value's shape comes from torch itself: the traced graph runs once on a batch of two fake examples
(``FakeTensorMode``: shapes only, nothing allocated), so a ``view`` or ``squeeze`` is read from what it does.
Which layers are read, and the refusals, are :mod:`._module_layers`'. A module that cannot be converted gets one
error listing every node that blocks it, in forward order. Nodes that compute the identity at evaluation
(``nn.Dropout*``, ``nn.Identity``) are dropped and named in the conversion's notes. The weights are not read:
theorycheck samples its own, from ``init`` (He by default).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

from theorycheck.errors import TheorycheckError
from theorycheck.graph._architecture import Architecture
from theorycheck.graph._init import HE, Init
from theorycheck.graph._module_layers import (
    IDENTITY_METHODS,
    MEASURE,
    RESHAPE_METHODS,
    Blocked,
    conv_layer,
    function_layer,
    inert_module,
    is_global_pool,
    module_layer,
    padding_step,
    reshape_layer,
)
from theorycheck.graph._nodes import Add, Concat, Conv, Dense, GlobalAvgPool, Node
from theorycheck.graph._shapes import Shape, format_shape, parse_input_shape

__all__ = ["Conversion", "convert_module", "from_module"]


@dataclass(frozen=True)
class Conversion:
    """A module's graph, and what the conversion dropped or assumed (one line each)."""

    architecture: Architecture
    notes: tuple[str, ...] = ()


def _trace(module: Any) -> Any:
    import torch.fx

    try:
        return torch.fx.symbolic_trace(module)
    except Exception as exc:
        raise TheorycheckError(
            f"torch.fx cannot trace {type(module).__name__} ({type(exc).__name__}: {exc}); the conversion needs "
            f"a forward without data-dependent control flow, or {MEASURE}"
        ) from None


def _shapes(gm: Any, name: str, shape: Shape) -> dict[Any, tuple[int, ...]]:
    """The shape of every tensor value of the traced graph on a batch of two fake examples of ``shape``."""
    import contextlib
    import io
    import logging

    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

    class _Located(ShapeProp):
        where = "the input"

        def run_node(self, n: Any) -> Any:
            self.where = str(n.target) if n.op == "call_module" else n.name
            return super().run_node(n)

    param = next(gm.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    prop = _Located(gm, fake_mode=mode)
    quiet = logging.getLogger("torch._subclasses.fake_tensor")
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        with mode:
            x = torch.zeros((2, *shape), dtype=dtype)
        with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints the traceback of a failing node
            prop.propagate(x)
    except Exception as exc:
        while exc.__cause__ is not None:
            exc = exc.__cause__  # type: ignore[assignment]
        why = str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__
        raise TheorycheckError(
            f"{name} fails on inputs of shape {format_shape(shape)} at {prop.where} ({why}); check the input "
            "shape, or the in_features of a Linear after a flatten"
        ) from None
    finally:
        quiet.setLevel(level)
    meta = {n: n.meta.get("tensor_meta") for n in gm.graph.nodes}
    return {n: tuple(m.shape) for n, m in meta.items() if isinstance(m, TensorMetadata)}


class _Converter:
    def __init__(self, module: Any, shape: Shape, init: Init, bias: float = 0.0) -> None:
        self.gm = _trace(module)
        self.name, self.init, self.bias = type(module).__name__, init, bias
        self.modules = dict(self.gm.named_modules())
        self.nodes = list(self.gm.graph.nodes)
        self.order = {n: i for i, n in enumerate(self.nodes)}
        inputs = [n for n in self.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise TheorycheckError(f"{self.name}: forward must take one input tensor, takes {len(inputs)}")
        self.input = inputs[0]
        self.shape = _shapes(self.gm, self.name, shape)
        self.dom = self._dominators()
        self.used: set[Any] = set()
        self.inert: dict[str, None] = {}

    # -- what blocks the conversion ----------------------------------------------------------------
    def problems(self) -> list[Blocked]:
        """Every node the DSL cannot express, in forward order."""
        out: list[Blocked] = []
        calls = [n.target for n in self.nodes if n.op == "call_module"]
        for node in self.nodes:
            if node.op in ("placeholder", "output") or node not in self.shape:
                continue  # the input, the output, and values that are not tensors (x.size(0))
            try:
                shared = node.op == "call_module" and calls.count(node.target) > 1
                if shared and any(True for _ in self.modules[node.target].parameters()):
                    kind = type(self.modules[node.target]).__name__
                    raise Blocked(
                        str(node.target), kind, f"applied twice: shared weights are not expressible; {MEASURE}"
                    )
                if self._merge(node) is None and not self._consumed_padding(node):
                    self._single(node)
            except Blocked as exc:
                if all(str(exc) != str(seen) for seen in out):
                    out.append(exc)
        return out

    def _consumed_padding(self, node: Any) -> bool:
        """A padding step whose only user is a Conv2d that pads nothing itself (the conv reads it)."""
        if padding_step(node, self.modules) is None:
            return False
        users = list(node.users)
        if len(users) == 1 and users[0].op == "call_module":
            mod = self.modules[users[0].target]
            if type(mod).__name__ == "Conv2d" and mod.padding in ("valid", (0, 0)):
                return True
        raise Blocked(
            self._where(node), self._kind(node), "padding is expressible only right before a Conv2d(padding=0)"
        )

    # -- structure -------------------------------------------------------------------------------
    def _preds(self, node: Any) -> list[Any]:
        """Tensor inputs in argument order, repeats kept (``x + x`` has two); ``x.size(0)`` is not one."""
        import torch

        if node.op == "call_function" and node.target is torch.cat:
            return list(node.args[0])
        if node.op == "call_function" and node.target in (operator.add, torch.add):
            return [a for a in node.args if hasattr(a, "op")]
        return [n for n in node.all_input_nodes if n in self.shape]

    def _dominators(self) -> dict[Any, set[Any]]:
        dom: dict[Any, set[Any]] = {}
        for node in self.nodes:
            preds = [p for p in self._preds(node) if p in dom]
            if node.op == "placeholder":
                dom[node] = {node}
            elif node.op == "get_attr":
                continue
            else:
                common = set.intersection(*(dom[p] for p in preds)) if preds else set()
                dom[node] = {node} | common
        return dom

    def _idom(self, node: Any) -> Any:
        candidates = self.dom[node] - {node}
        return max(candidates, key=lambda n: self.order[n])

    def build(self, value: Any, stop: Any) -> list[Node]:
        """The layers from ``stop`` (excluded) to ``value`` (included), in order."""
        out: list[Node] = []
        while value is not stop:
            if value.op == "placeholder":
                raise TheorycheckError(
                    f"the traced graph is not series-parallel (a value crosses from one branch into another); {MEASURE}"
                )
            if value in self.used:
                raise TheorycheckError(
                    f"{self._where(value)} (applied twice): shared weights are not expressible; {MEASURE}"
                )
            self.used.add(value)
            merge = self._merge(value)
            if merge is not None:
                fork = self._idom(value)
                branches: list[tuple[Node, ...]] = []
                for p in self._preds(value):
                    branch = tuple(self.build(p, fork))
                    if len(branch) == 1 and type(branch[0]) is merge:  # (a + b) + c is add{a | b | c}
                        branches += branch[0].branches  # type: ignore[attr-defined]
                    else:
                        branches.append(branch)
                out.append(merge(branches=tuple(branches)))
                value = fork
                continue
            node, pred = self._single(value)
            if node is not None:
                out.append(node)
            value = pred
        return out[::-1]

    def _merge(self, value: Any) -> Any:
        import torch

        if value.op == "call_function" and value.target in (operator.add, torch.add):
            if len(value.args) != 2 or not all(hasattr(a, "op") for a in value.args) or value.kwargs:
                raise Blocked(self._where(value), "add", "only the sum of two tensors (a residual) is expressible")
            return Add
        if value.op == "call_function" and value.target is torch.cat:
            dim = value.args[1] if len(value.args) > 1 else value.kwargs.get("dim", 0)
            if dim != 1:
                raise Blocked(self._where(value), "torch.cat", f"concatenation along dim {dim}; only dim 1 (channels)")
            return Concat
        return None

    def _where(self, value: Any) -> str:
        return str(value.target) if value.op == "call_module" else value.name

    def _kind(self, value: Any) -> str:
        if value.op == "call_module":
            return type(self.modules[value.target]).__name__
        return value.target if isinstance(value.target, str) else getattr(value.target, "__name__", str(value.target))

    # -- single-input layers ----------------------------------------------------------------------
    def _single(self, value: Any) -> tuple[Node | None, Any]:
        """The layer ``value`` computes and the value it reads."""
        import torch

        where, kind = self._where(value), self._kind(value)
        preds = self._preds(value)
        if len(preds) != 1:
            raise Blocked(where, kind, f"takes {len(preds)} tensors; {MEASURE}")
        pred = preds[0]
        if value.op == "call_module":
            mod = self.modules[value.target]
            if type(mod).__name__ == "Conv2d":
                step = padding_step(pred, self.modules)
                if step is not None:
                    self.used.add(pred)
                conv = conv_layer(mod, where, self.init, step, self._where(pred), self.bias)
                return conv, (self._preds(pred)[0] if step is not None else pred)
            if type(mod).__name__ == "Flatten":
                return self._reshape(value, where, kind, pred)
            layer = module_layer(mod, where, self.init, self.bias)
            if layer is None and inert_module(mod):
                self.inert[f"{where} ({kind})"] = None
            return layer, pred
        if value.op == "call_method" and value.target in ("relu", "tanh", "sigmoid"):
            return function_layer(getattr(torch, value.target), where), pred
        if value.op == "call_method" and value.target in IDENTITY_METHODS:
            return None, pred
        if value.target in RESHAPE_METHODS or value.target in (torch.flatten, torch.reshape, torch.squeeze):
            return self._reshape(value, where, kind, pred)
        if value.target in ("mean", torch.mean):
            return self._mean(value, where, kind, pred)
        if value.op != "call_function":
            raise Blocked(where, kind, f"not expressible in the graph DSL; {MEASURE}")
        if padding_step(value, self.modules) is not None:
            raise Blocked(where, kind, "padding is expressible only right before a Conv2d(padding=0)")
        layer = function_layer(value.target, where)
        if layer is None:
            self.inert[f"{where} ({kind})"] = None
        return layer, pred

    def _reshape(self, value: Any, where: str, kind: str, pred: Any) -> tuple[Node | None, Any]:
        """A reshape read from its shapes; a flatten right after a global pool is the pool's own (the DSL's global
        pools end in a vector)."""
        before, after = self.shape[pred], self.shape[value]
        if self._after_global_pool(pred) and after == (before[0], math.prod(before[1:])):
            return None, pred
        return reshape_layer(where, kind, before, after), pred

    def _mean(self, value: Any, where: str, kind: str, pred: Any) -> tuple[Node | None, Any]:
        """``x.mean((2, 3))``: the global average pool, when the shapes say so."""
        before, after = self.shape[pred], self.shape[value]
        if len(before) == 4 and after == before[:2]:
            return GlobalAvgPool(), pred
        raise Blocked(where, kind, f"averages {before} to {after}; only the mean over both spatial axes is expressible")

    def _after_global_pool(self, pred: Any) -> bool:
        if pred.op == "call_module" and is_global_pool(self.modules[pred.target]):
            return True
        return pred.op == "call_function" and getattr(pred.target, "__name__", "") == "adaptive_avg_pool2d"

    def weighted_modules(self) -> list[Any]:
        """The Linear/Conv2d modules in the order the DSL's weighted layers come (pre-order)."""
        return [
            self.modules[n.target]
            for n in self.nodes
            if n.op == "call_module" and type(self.modules[n.target]).__name__ in ("Linear", "Conv2d")
        ]


def convert_module(module: Any, input_shape: Shape | str | int, *, init: Init = HE, bias: float = 0.0) -> Conversion:
    """The architecture of ``module`` (an ``nn.Module``) for inputs of ``input_shape`` (without the batch axis),
    with the conversion's notes (the nodes dropped as the identity at evaluation).

    ``bias``: the variance of the biases of biased ``Linear``/``Conv2d`` layers (0: zero biases, their value at He
    initialisation; ``v > 0``: i.i.d. ``N(0, v)``, as the layers' ``bias=v`` in the DSL).

    Raises one :class:`TheorycheckError` naming every node the DSL cannot express, e.g.
    ``layer3.0.bn1 (BatchNorm2d): normalisation layers are not in the theory; …``.
    """
    from torch import nn

    if not isinstance(module, nn.Module):
        raise TheorycheckError(f"from_module needs an nn.Module, got {type(module).__name__}")
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not (math.isfinite(bias) and bias >= 0):
        raise TheorycheckError(f"from_module: bias must be a variance >= 0 (0: zero biases), got {bias!r}")
    conv = _Converter(module, shape, init, float(bias))
    problems = conv.problems()
    if len(problems) == 1:
        raise TheorycheckError(str(problems[0]))
    if problems:  # one line per (type, reason), naming every part it blocks, in forward order
        groups: dict[tuple[str, str], list[str]] = {}
        for p in problems:
            groups.setdefault((p.what, p.need), []).append(p.where)
        listed = "\n".join(f"  {', '.join(where)} ({what}): {need}" for (what, need), where in groups.items())
        raise TheorycheckError(f"{conv.name}: {len(problems)} parts are not expressible in the graph DSL:\n{listed}")
    conv.used.clear()
    out = next(n for n in conv.nodes if n.op == "output")
    result = out.args[0]
    if not hasattr(result, "op"):
        raise TheorycheckError(f"{conv.name}: forward must return one tensor")
    arch = Architecture(tuple(conv.build(result, conv.input)))
    _check_sizes(arch, shape, conv.weighted_modules())
    notes = []
    biased = [
        n.target
        for n in conv.nodes
        if n.op == "call_module"
        and getattr(conv.modules[n.target], "bias", None) is not None
        and type(conv.modules[n.target]).__name__ in ("Linear", "Conv2d")
    ]
    if biased and bias > 0:
        notes.append(f"biases drawn from N(0, {bias:g}) (bias={bias:g}): {', '.join(map(str, biased))}")
    elif biased:
        notes.append(
            f"biases read as zero, their value at He initialisation (theorycheck.sampler.he_init zeroes them): "
            f"{', '.join(map(str, biased))}; the graph is the module at He initialisation, not under PyTorch's "
            "default (non-zero biases)"
        )
    if conv.inert:
        notes.append(
            f"the identity at evaluation, dropped: {', '.join(conv.inert)} (the theory is about the network in "
            "eval mode at initialisation; dropout is off there)"
        )
    return Conversion(arch, tuple(notes))


def from_module(module: Any, input_shape: Shape | str | int, *, init: Init = HE, bias: float = 0.0) -> Architecture:
    """The architecture of ``module`` for inputs of ``input_shape``: :func:`convert_module`'s, without its notes.

    The weights are theorycheck's own (``init``, He by default; biased layers' biases of variance ``bias``), not
    the module's.
    """
    return convert_module(module, input_shape, init=init, bias=bias).architecture


def weight_shapes(layers: tuple[Node, ...], shape: Shape) -> list[tuple[int, ...]]:
    """The weight shape of every dense and conv layer on inputs of ``shape``, in pre-order."""
    from theorycheck.graph._nodes import Branches
    from theorycheck.graph._shapes import node_output_shape

    out: list[tuple[int, ...]] = []
    for node in layers:
        if isinstance(node, Dense):
            out.append((node.out, shape[0]))
        elif isinstance(node, Conv):
            out.append((node.out, shape[0], node.kernel, node.kernel))
        elif isinstance(node, Branches):
            for branch in node.branches:
                out += weight_shapes(branch, shape)
        shape = node_output_shape(node, shape)
    return out


def _check_sizes(arch: Architecture, shape: Shape, modules: list[Any]) -> None:
    """Every Linear/Conv2d's weight has the shape the graph gives it on ``shape`` (in_features included)."""
    arch.output_shape(shape)
    graph = weight_shapes(arch.layers, shape)
    by_shape = sorted(tuple(m.weight.shape) for m in modules)
    if sorted(graph) != by_shape:
        raise TheorycheckError(
            f"the module's weights {by_shape} do not fit inputs of shape {shape} (the graph needs {graph}); check "
            "the input shape, or the in_features of a Linear after a flatten"
        )
