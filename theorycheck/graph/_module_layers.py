"""One traced ``torch.fx`` node as one DSL layer: what ``from_module`` reads, and why it refuses the rest.

Each function here looks at one node (a module call, a function call or a method call) and returns the DSL node
it computes (``None`` for a node that computes the identity at evaluation: ``nn.Identity``, ``nn.Dropout*``,
``.contiguous()``), or raises :class:`Blocked` with the node's qualified name, its type, why and what to do. The
graph structure (branches, merges) is :mod:`._from_module`'s.

Read as the DSL reads them:

* ``Linear`` and ``Conv2d`` (``groups=1``; a bias is read as zero, its value at He initialisation, or as Gaussian of
  the variance ``bias`` that ``convert_module(…, bias=v)`` states, and named in the
  conversion's notes; zeros, circular or reflect padding, "same" or none;
  stride, dilation). A ``Conv2d(padding=0)`` may follow a padding step: ``F.pad`` or the modules ``ZeroPad2d``,
  ``ConstantPad2d(…, 0)``, ``ReflectionPad2d``, ``CircularPad2d``, padding (floor, ceil) of dilation·(k−1) per
  axis. ``ReplicationPad2d`` has no DSL counterpart and is refused by name.
* ``ReLU``, ``Tanh``, ``Sigmoid``, ``Softplus()`` (modules, functions or methods), ``AvgPool2d``, ``MaxPool2d``
  (no padding), ``AdaptiveAvgPool2d(1)``, ``AdaptiveMaxPool2d(1)``.
* Reshapes (``nn.Flatten``, ``torch.flatten``, ``x.flatten(1)``, ``x.view(…)``, ``x.reshape(…)``,
  ``x.squeeze()``) are read from the shapes torch itself computes on a batch of two examples: one that maps each
  example ``(C, H, W)`` to ``(C·H·W,)`` is ``flatten``, one that keeps the shape is the identity, anything else
  (mixing examples, splitting channels) is refused with both shapes.
"""

from __future__ import annotations

import math
from typing import Any

from theorycheck.graph._init import Init
from theorycheck.graph._nodes import (
    Activation,
    AvgPool,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    Node,
)

__all__ = ["MEASURE", "Blocked", "function_layer", "module_layer", "padding_step", "reshape_layer"]

MEASURE = "measure it as a module family instead"

#: (l, r, t, b) amounts and the DSL padding mode of a padding step before a Conv2d(padding=0)
Padding = tuple[tuple[int, ...], str]


class Blocked(Exception):
    """One node the DSL cannot express: ``where (what): need``."""

    def __init__(self, where: str, what: str, need: str) -> None:
        super().__init__(f"{where} ({what}): {need}")
        self.where, self.what, self.need = where, what, need


def _activations() -> tuple[dict[type, str], dict[Any, str]]:
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


def inert_module(mod: Any) -> bool:
    """The identity at evaluation: ``nn.Identity`` and every dropout (the theory is about eval mode)."""
    from torch import nn

    dropouts = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
    return isinstance(mod, (nn.Identity, *dropouts))


def is_global_pool(mod: Any) -> bool:
    from torch import nn

    size = getattr(mod, "output_size", None)
    return isinstance(mod, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and size in (1, (1, 1))


def module_layer(mod: Any, where: str, init: Init, bias: float = 0.0) -> Node | None:
    """The DSL layer of a module that takes one tensor (convolutions: :func:`conv_layer`); a biased layer gets the
    bias variance ``bias``."""
    from torch import nn

    kind = type(mod).__name__
    if isinstance(mod, nn.Linear):
        return Dense(mod.out_features, init=init, bias=bias if mod.bias is not None else 0.0)
    modules, _ = _activations()
    if type(mod) in modules:
        if isinstance(mod, nn.Softplus) and (mod.beta != 1 or mod.threshold != 20):
            raise Blocked(where, kind, "only Softplus(beta=1, threshold=20) is the DSL's softplus")
        return Activation(modules[type(mod)])  # type: ignore[arg-type]
    if isinstance(mod, nn.AvgPool2d | nn.MaxPool2d):
        return _pool(where, mod)
    if is_global_pool(mod):
        return GlobalAvgPool() if isinstance(mod, nn.AdaptiveAvgPool2d) else GlobalMaxPool()
    if inert_module(mod):
        return None
    if isinstance(mod, nn.ReplicationPad2d):
        raise Blocked(where, kind, "replicate padding has no DSL counterpart (zero, circular or reflect); " + MEASURE)
    if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
        raise Blocked(where, kind, "normalisation layers are not in the theory; remove it, or " + MEASURE)
    raise Blocked(where, kind, f"not expressible in the graph DSL; {MEASURE}")


def function_layer(target: Any, where: str) -> Node | None:
    """The DSL layer of a function call on one tensor (reshapes: :func:`reshape_layer`)."""
    import torch
    import torch.nn.functional as F

    _, functions = _activations()
    if target in functions:
        return Activation(functions[target])  # type: ignore[arg-type]
    if target is F.adaptive_avg_pool2d:
        return GlobalAvgPool()
    if target in (F.dropout, F.dropout2d, torch.dropout, F.alpha_dropout):
        return None
    name = getattr(target, "__name__", str(target))
    raise Blocked(where, name, f"not expressible in the graph DSL; {MEASURE}")


#: methods that compute the identity on a tensor's values
IDENTITY_METHODS = ("contiguous", "clone", "detach")
#: methods and functions that reshape (read from the shapes)
RESHAPE_METHODS = ("view", "reshape", "flatten", "squeeze")


def reshape_layer(where: str, what: str, before: tuple[int, ...], after: tuple[int, ...]) -> Node | None:
    """A reshape from ``before`` to ``after`` (both with the batch of two examples first): ``flatten`` when each
    example becomes a vector of all its values, nothing when the shape stays, else refused with both shapes."""
    if after == before:
        return None
    if len(before) >= 2 and after == (before[0], math.prod(before[1:])):
        return Flatten() if len(before) > 2 else None
    raise Blocked(
        where,
        what,
        f"reshapes {before} to {after} (a batch of two examples); only flattening each example to "
        f"({before[0]}, {math.prod(before[1:])}) is expressible; {MEASURE}",
    )


def _pool(where: str, mod: Any) -> Node:
    def square(v: Any, name: str) -> int:
        if isinstance(v, tuple):
            if len(set(v)) != 1:
                raise Blocked(where, type(mod).__name__, f"{name} {v} is not square")
            v = v[0]
        return int(v)

    if square(mod.padding, "padding") != 0 or mod.ceil_mode or square(getattr(mod, "dilation", 1), "dilation") != 1:
        raise Blocked(where, type(mod).__name__, "only pooling without padding, dilation or ceil_mode is expressible")
    kernel = square(mod.kernel_size, "kernel")
    stride = square(mod.stride if mod.stride is not None else kernel, "stride")
    cls = AvgPool if type(mod).__name__ == "AvgPool2d" else MaxPool
    return cls(kernel, None if stride == kernel else stride)


_MODES = {"zeros": "zero", "circular": "circular", "reflect": "reflect", "constant": "zero"}


def padding_step(node: Any, modules: dict[str, Any]) -> Padding | None:
    """The amounts and mode of a padding step (``F.pad`` or a padding module), or None when ``node`` is none.

    Raises :class:`Blocked` for a padding the DSL lacks (replicate, a non-zero constant)."""
    import torch.nn.functional as F
    from torch import nn

    if node.op == "call_function" and node.target is F.pad:
        amounts = tuple(node.args[1])
        mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
        value = node.args[3] if len(node.args) > 3 else node.kwargs.get("value", None)
        if mode not in _MODES or (value or 0) != 0:
            raise Blocked(node.name, "F.pad", f"mode {mode!r} (value {value}); the DSL pads zeros, circular or reflect")
        return amounts, _MODES[mode]
    mod = modules.get(node.target) if node.op == "call_module" else None
    pads = {nn.ZeroPad2d: "zero", nn.ConstantPad2d: "zero", nn.ReflectionPad2d: "reflect", nn.CircularPad2d: "circular"}
    if type(mod) not in pads:
        return None
    if isinstance(mod, nn.ConstantPad2d) and mod.value != 0:
        raise Blocked(str(node.target), "ConstantPad2d", f"pads the constant {mod.value}; the DSL pads zeros")
    return tuple(mod.padding), pads[type(mod)]  # type: ignore[union-attr]


def conv_layer(mod: Any, where: str, init: Init, step: Padding | None, step_where: str, bias: float = 0.0) -> Conv:
    """The DSL conv of a ``Conv2d``; ``step``: the padding step right before it (then its own padding is 0)."""
    kind = "Conv2d"
    if mod.groups != 1:
        raise Blocked(
            where,
            kind,
            f"groups={mod.groups} (a grouped or depthwise convolution); the DSL's conv is dense (groups=1); " + MEASURE,
        )
    sizes = {"kernel": mod.kernel_size, "stride": mod.stride, "dilation": mod.dilation}
    for name, v in sizes.items():
        if v[0] != v[1]:
            raise Blocked(where, kind, f"{name} {v} is not square")
    k, s, dil = mod.kernel_size[0], mod.stride[0], mod.dilation[0]
    total = dil * (k - 1)
    pad = mod.padding
    if pad == "same" or (isinstance(pad, tuple) and pad[0] == pad[1] and 2 * pad[0] == total and total > 0):
        if mod.padding_mode not in _MODES:
            raise Blocked(where, kind, f"padding_mode {mod.padding_mode!r}; use zeros, circular or reflect")
        padding = _MODES[mod.padding_mode]
    elif pad in ("valid", (0, 0)):
        padding = "valid"
        if step is not None:
            amounts, padding = step
            if amounts != (total // 2, total - total // 2) * 2:
                raise Blocked(
                    step_where,
                    "padding",
                    f"pads {amounts} before {where}; the DSL pads (floor, ceil) of dilation·(k−1) = {total} per axis",
                )
    else:
        raise Blocked(where, kind, f"padding {pad} is neither 0 nor 'same' (dilation·(k−1)/2 = {total / 2:g})")
    variance = bias if mod.bias is not None else 0.0
    return Conv(mod.out_channels, k, s, dil, padding, init=init, bias=variance)  # type: ignore[arg-type]
