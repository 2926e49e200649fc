"""``from_module``: a PyTorch ``nn.Module`` as an architecture graph, traced with ``torch.fx``.

The trace is not limited to ``nn.Sequential``: a module whose ``forward`` adds a residual (``x + body(x)``) or
concatenates branches (``torch.cat([a, b], 1)``) becomes the DSL's ``add{…}`` / ``concat{…}``. The graph is
decomposed series-parallel: a merge's branches start at its immediate dominator (the last value every path from
the input to the merge passes through), computed on the traced DAG (Cooper, Harvey & Kennedy 2001).

Mapped: ``Linear`` and ``Conv2d`` without bias (zeros, circular or reflect padding, "same" or none; stride,
dilation; ``F.pad`` before a ``Conv2d(padding=0)``), ``ReLU``, ``Tanh``, ``Sigmoid``, ``Softplus`` (modules or
functions), ``AvgPool2d``, ``MaxPool2d`` (no padding), ``Flatten``/``torch.flatten(x, 1)``,
``AdaptiveAvgPool2d(1)``/``AdaptiveMaxPool2d(1)`` (the global pools), ``nn.Identity``, ``+`` and ``torch.cat``
along channels. Anything else is one error naming the module's qualified name, its type and what it would need.
The weights are not read: theorycheck samples its own, from ``init`` (He by default).
"""

from __future__ import annotations

import operator
from typing import Any

from theorycheck.errors import TheorycheckError
from theorycheck.graph._architecture import Architecture
from theorycheck.graph._init import HE, Init
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
)
from theorycheck.graph._shapes import Shape, parse_input_shape

__all__ = ["from_module"]

_MEASURE = "measure it as a module family instead"


def _fail(where: str, what: str, need: str) -> TheorycheckError:
    return TheorycheckError(f"{where} ({what}): {need}")


def _tables() -> tuple[dict[type, str], dict[Any, str]]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    modules = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softplus: "softplus"}
    functions: dict[Any, str] = {
        F.relu: "relu",
        torch.relu: "relu",
        torch.tanh: "tanh",
        F.tanh: "tanh",
        torch.sigmoid: "sigmoid",
        F.sigmoid: "sigmoid",
        F.softplus: "softplus",
    }
    return modules, functions


class _Converter:
    def __init__(self, module: Any, init: Init) -> None:
        import torch.fx

        try:
            self.gm = torch.fx.symbolic_trace(module)
        except Exception as exc:
            raise TheorycheckError(
                f"torch.fx cannot trace {type(module).__name__} ({type(exc).__name__}: {exc}); the conversion needs "
                f"a forward without data-dependent control flow, or {_MEASURE}"
            ) from None
        self.init = init
        self.modules = dict(self.gm.named_modules())
        self.act_modules, self.act_functions = _tables()
        self.nodes = list(self.gm.graph.nodes)
        self.order = {n: i for i, n in enumerate(self.nodes)}
        inputs = [n for n in self.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise TheorycheckError(f"{type(module).__name__}: forward must take one input tensor, takes {len(inputs)}")
        self.input = inputs[0]
        calls = [n.target for n in self.nodes if n.op == "call_module"]
        for target in calls:
            if calls.count(target) > 1 and any(True for _ in self.modules[target].parameters()):
                kind = type(self.modules[target]).__name__
                raise _fail(str(target), kind, f"applied twice: shared weights are not expressible; {_MEASURE}")
        self.dom = self._dominators()
        self.used: set[Any] = set()

    # -- structure -------------------------------------------------------------------------------
    def _preds(self, node: Any) -> list[Any]:
        """Tensor inputs in argument order, repeats kept (``x + x`` has two)."""
        import torch

        if node.op == "call_function" and node.target is torch.cat:
            return list(node.args[0])
        if node.op == "call_function" and node.target in (operator.add, torch.add):
            return [a for a in node.args if hasattr(a, "op")]
        return list(node.all_input_nodes)

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
                    "the traced graph is not series-parallel (a value crosses from one branch into another); "
                    f"{_MEASURE}"
                )
            if value in self.used:
                raise _fail(self._where(value), "applied twice", f"shared weights are not expressible; {_MEASURE}")
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
                raise _fail(self._where(value), "add", "only the sum of two tensors (a residual) is expressible")
            return Add
        if value.op == "call_function" and value.target is torch.cat:
            dim = value.args[1] if len(value.args) > 1 else value.kwargs.get("dim", 0)
            if dim != 1:
                raise _fail(self._where(value), "torch.cat", f"concatenation along dim {dim}; only dim 1 (channels)")
            return Concat
        return None

    def _where(self, value: Any) -> str:
        return str(value.target) if value.op == "call_module" else value.name

    # -- single-input layers ----------------------------------------------------------------------
    def _single(self, value: Any) -> tuple[Node | None, Any]:
        import torch
        import torch.nn.functional as F

        preds = self._preds(value)
        if len(preds) != 1:
            raise _fail(self._where(value), str(value.target), f"takes {len(preds)} tensors; {_MEASURE}")
        pred = preds[0]
        if value.op == "call_module":
            return self._module(value, pred)
        target = value.target
        if value.op == "call_function" and target in self.act_functions:
            return Activation(self.act_functions[target]), pred  # type: ignore[arg-type]
        if value.op == "call_method" and target in ("relu", "tanh", "sigmoid"):
            return Activation(target), pred
        if (value.op == "call_function" and target is torch.flatten) or (
            value.op == "call_method" and target == "flatten"
        ):
            start = value.args[1] if len(value.args) > 1 else value.kwargs.get("start_dim", 0)
            if start != 1:
                raise _fail(value.name, "flatten", f"start_dim={start}; only flatten(x, 1) keeps the batch")
            return self._flatten(pred)
        if value.op == "call_function" and target is F.pad:
            raise _fail(value.name, "F.pad", "padding is expressible only right before a Conv2d with padding=0")
        if value.op == "call_function" and target is F.adaptive_avg_pool2d:
            return GlobalAvgPool(), pred
        name = getattr(target, "__name__", str(target))
        raise _fail(value.name, name, f"not expressible in the graph DSL; {_MEASURE}")

    def _flatten(self, pred: Any) -> tuple[Node | None, Any]:
        """A flatten after a global pool is the pool's own (the DSL's global pools end in a vector)."""
        if pred.op == "call_module" and self._is_global_pool(self.modules[pred.target]):
            return None, pred
        if pred.op == "call_function" and pred.target.__name__ == "adaptive_avg_pool2d":
            return None, pred
        return Flatten(), pred

    @staticmethod
    def _is_global_pool(mod: Any) -> bool:
        from torch import nn

        size = getattr(mod, "output_size", None)
        return isinstance(mod, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and size in (1, (1, 1))

    def _module(self, value: Any, pred: Any) -> tuple[Node | None, Any]:
        from torch import nn

        mod = self.modules[value.target]
        where, kind = str(value.target), type(mod).__name__
        if isinstance(mod, nn.Linear):
            if mod.bias is not None:
                raise _fail(where, kind, "has a bias, which the DSL does not have; use bias=False, or " + _MEASURE)
            return Dense(mod.out_features, init=self.init), pred
        if isinstance(mod, nn.Conv2d):
            return self._conv(value, mod, pred)
        if type(mod) in self.act_modules:
            if isinstance(mod, nn.Softplus) and (mod.beta != 1 or mod.threshold != 20):
                raise _fail(where, kind, "only Softplus(beta=1, threshold=20) is the DSL's softplus")
            return Activation(self.act_modules[type(mod)]), pred  # type: ignore[arg-type]
        if isinstance(mod, nn.AvgPool2d | nn.MaxPool2d):
            return self._pool(where, mod), pred
        if self._is_global_pool(mod):
            return (GlobalAvgPool() if isinstance(mod, nn.AdaptiveAvgPool2d) else GlobalMaxPool()), pred
        if isinstance(mod, nn.Flatten):
            if mod.start_dim != 1 or mod.end_dim != -1:
                raise _fail(where, kind, "only Flatten(start_dim=1, end_dim=-1) is expressible")
            return self._flatten(pred)
        if isinstance(mod, nn.Identity):
            return None, pred
        raise _fail(where, kind, f"not expressible in the graph DSL; {_MEASURE}")

    def _pool(self, where: str, mod: Any) -> Node:
        def square(v: Any, name: str) -> int:
            if isinstance(v, tuple):
                if len(set(v)) != 1:
                    raise _fail(where, type(mod).__name__, f"{name} {v} is not square")
                v = v[0]
            return int(v)

        if square(mod.padding, "padding") != 0 or mod.ceil_mode or square(getattr(mod, "dilation", 1), "dilation") != 1:
            raise _fail(where, type(mod).__name__, "only pooling without padding, dilation or ceil_mode is expressible")
        kernel = square(mod.kernel_size, "kernel")
        stride = square(mod.stride if mod.stride is not None else kernel, "stride")
        cls = AvgPool if type(mod).__name__ == "AvgPool2d" else MaxPool
        return cls(kernel, None if stride == kernel else stride)

    def _conv(self, value: Any, mod: Any, pred: Any) -> tuple[Node, Any]:
        import torch.nn.functional as F

        where, kind = str(value.target), "Conv2d"
        if mod.bias is not None:
            raise _fail(where, kind, "has a bias, which the DSL does not have; use bias=False, or " + _MEASURE)
        if mod.groups != 1:
            raise _fail(where, kind, f"groups={mod.groups}; only dense convolutions (groups=1) are expressible")
        sizes = {"kernel": mod.kernel_size, "stride": mod.stride, "dilation": mod.dilation}
        for name, v in sizes.items():
            if v[0] != v[1]:
                raise _fail(where, kind, f"{name} {v} is not square")
        k, s, dil = mod.kernel_size[0], mod.stride[0], mod.dilation[0]
        total = dil * (k - 1)
        modes = {"zeros": "zero", "circular": "circular", "reflect": "reflect", "constant": "zero"}
        pad = mod.padding
        if pad == "same" or (isinstance(pad, tuple) and pad[0] == pad[1] and 2 * pad[0] == total and total > 0):
            if mod.padding_mode not in modes:
                raise _fail(where, kind, f"padding_mode {mod.padding_mode!r}; use zeros, circular or reflect")
            padding = modes[mod.padding_mode]
        elif pad in ("valid", (0, 0)):
            padding = "valid"
            if pred.op == "call_function" and pred.target is F.pad:  # F.pad(x, (l, r, l, r), mode) then the conv
                amounts = tuple(pred.args[1])
                mode = pred.args[2] if len(pred.args) > 2 else pred.kwargs.get("mode", "constant")
                if amounts != (total // 2, total - total // 2) * 2 or mode not in modes:
                    raise _fail(
                        pred.name,
                        "F.pad",
                        f"pads {amounts} ({mode}); the DSL pads (floor, ceil) of "
                        f"dilation·(k−1) = {total} per axis, zeros, circular or reflect",
                    )
                self.used.add(pred)
                padding, pred = modes[mode], self._preds(pred)[0]
        else:
            raise _fail(where, kind, f"padding {pad} is neither 0 nor 'same' (dilation·(k−1)/2 = {total / 2:g})")
        return Conv(mod.out_channels, k, s, dil, padding, init=self.init), pred  # type: ignore[arg-type]

    def weighted_modules(self) -> list[Any]:
        """The Linear/Conv2d modules in the order the DSL's weighted layers come (pre-order)."""
        return [
            self.modules[n.target]
            for n in self.nodes
            if n.op == "call_module" and type(self.modules[n.target]).__name__ in ("Linear", "Conv2d")
        ]


def from_module(module: Any, input_shape: Shape | str | int, *, init: Init = HE) -> Architecture:
    """The architecture of ``module`` (an ``nn.Module``) for inputs of ``input_shape`` (without the batch axis).

    Raises :class:`TheorycheckError` naming the first module the DSL cannot express, e.g.
    ``layer3.0.bn1 (BatchNorm2d): not expressible in the graph DSL; measure it as a module family instead``.
    The weights are theorycheck's own (``init``, He by default), not the module's.
    """
    from torch import nn

    if not isinstance(module, nn.Module):
        raise TheorycheckError(f"from_module needs an nn.Module, got {type(module).__name__}")
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    conv = _Converter(module, init)
    for node in conv.nodes:  # refuse the first module (in forward order) the DSL cannot express
        if node.op == "call_module":
            preds = conv._preds(node)
            conv._module(node, preds[0] if preds else None)
    conv.used.clear()
    out = next(n for n in conv.nodes if n.op == "output")
    result = out.args[0]
    if not hasattr(result, "op"):
        raise TheorycheckError(f"{type(module).__name__}: forward must return one tensor")
    arch = Architecture(tuple(conv.build(result, conv.input)))
    _check_sizes(arch, shape, conv.weighted_modules())
    return arch


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
