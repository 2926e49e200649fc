"""``to_module``: an architecture graph as a plain ``nn.Module``, the user's way to run the same network.

``to_module(arch, input_shape)`` builds ``nn.Linear``/``nn.Conv2d`` layers (padding done by
``F.pad`` with the DSL's (floor, ceil) split, then a convolution without padding), pools, activations, and
residual sums / concatenations for the branches. ``reset_parameters(generator)`` draws a fresh network from the
graph's distribution (each layer's ``Init``: Var[w] = gain/fan_in, normal, uniform or Rademacher).
``load_weights(ws)`` takes one network's weights in the sampler's order (dense and conv layers in pre-order,
shapes ``(out, in)`` and ``(out, in, k, k)``, then the biases of the layers with ``bias > 0``), so that the module
computes exactly the sampler's network. Layers with ``bias=v`` get ``bias=True`` and draw their biases from
``N(0, v)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from theorycheck.graph._architecture import Architecture
from theorycheck.graph._nodes import (
    Activation,
    AvgPool,
    Branches,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    Node,
)
from theorycheck.graph._shapes import Shape, node_output_shape, parse_input_shape

__all__ = ["GraphModule", "to_module"]

_PAD = {"zero": "constant", "circular": "circular", "reflect": "reflect"}


class _Padded(nn.Module):
    """``F.pad`` with the DSL's (floor, ceil) split of dilation·(k−1), then ``nn.Conv2d`` without padding."""

    def __init__(self, node: Conv, in_channels: int) -> None:
        super().__init__()
        self.pad, self.mode = node.pad, _PAD.get(node.padding, "constant")
        self.conv = nn.Conv2d(in_channels, node.out, node.kernel, node.stride, 0, node.dilation, bias=node.bias > 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = self.pad
        if before or after:
            x = F.pad(x, (before, after, before, after), mode=self.mode)
        return self.conv(x)


class _Branches(nn.Module):
    def __init__(self, branches: list[nn.Sequential], concat: bool) -> None:
        super().__init__()
        self.branches, self.concat = nn.ModuleList(branches), concat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        if self.concat:
            return torch.cat(outs, dim=1)
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return total


def _plain(node: Node) -> list[nn.Module]:
    """The torch modules of a layer without weights."""
    if isinstance(node, Activation):
        return [{"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus}[node.fn]()]
    if isinstance(node, AvgPool):
        return [nn.AvgPool2d(node.kernel, node.step)]
    if isinstance(node, MaxPool):
        return [nn.MaxPool2d(node.kernel, node.step)]
    if isinstance(node, GlobalAvgPool):
        return [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if isinstance(node, GlobalMaxPool):
        return [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
    return [nn.Flatten()]


class GraphModule(nn.Sequential):
    """The network of an architecture graph; ``weighted`` lists its Linear/Conv2d layers in pre-order."""

    def __init__(self, arch: Architecture, input_shape: Shape) -> None:
        layers, self.weighted_nodes = _layers(arch.layers, input_shape)
        super().__init__(*layers)
        self.architecture, self.input_shape = arch, input_shape

    @property
    def weighted(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, nn.Linear | nn.Conv2d)]

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """A fresh network from the graph's distribution: Var[w] = gain/fan_in (or gain without fan-in scaling)."""
        for module, node in zip(self.weighted, self.weighted_nodes, strict=True):
            w: torch.Tensor = module.weight  # type: ignore[assignment]
            std = math.sqrt(node.init.variance(math.prod(w.shape[1:])))
            if node.init.dist == "normal":
                w.copy_(torch.randn(w.shape, generator=generator, dtype=w.dtype) * std)
            elif node.init.dist == "uniform":
                w.copy_((torch.rand(w.shape, generator=generator, dtype=w.dtype) * 2 - 1) * std * math.sqrt(3.0))
            else:
                signs = torch.randint(0, 2, w.shape, generator=generator).to(w.dtype) * 2 - 1
                w.copy_(signs * std)
        for module, node in self._biased():
            b: torch.Tensor = module.bias  # type: ignore[assignment]
            b.copy_(torch.randn(b.shape, generator=generator, dtype=b.dtype) * math.sqrt(node.bias))

    def _biased(self) -> list[tuple[nn.Module, Any]]:
        return [(m, n) for m, n in zip(self.weighted, self.weighted_nodes, strict=True) if n.bias > 0]

    @torch.no_grad()
    def load_weights(self, weights: list[torch.Tensor]) -> None:
        """One network's parameters in the sampler's order: the weights of the dense and conv layers in pre-order,
        then the biases of the biased ones in pre-order (shapes ``(out,)``)."""
        biased = self._biased()
        if len(weights) != len(self.weighted) + len(biased):
            raise ValueError(
                f"load_weights: {len(weights)} tensors for {len(self.weighted)} weights and {len(biased)} biases"
            )
        for module, w in zip(self.weighted, weights, strict=False):
            target: torch.Tensor = module.weight  # type: ignore[assignment]
            target.copy_(w.reshape(target.shape))
        for (module, _), b in zip(biased, weights[len(self.weighted) :], strict=True):
            bias: torch.Tensor = module.bias  # type: ignore[assignment]
            bias.copy_(b.reshape(bias.shape))


def _layers(seq: tuple[Node, ...], shape: Shape) -> tuple[list[nn.Module], list[Any]]:
    out: list[nn.Module] = []
    weighted: list[Any] = []
    for node in seq:
        if isinstance(node, Dense):
            out.append(nn.Linear(shape[0], node.out, bias=node.bias > 0))
            weighted.append(node)
        elif isinstance(node, Conv):
            out.append(_Padded(node, shape[0]))
            weighted.append(node)
        elif isinstance(node, Branches):
            branches = []
            for branch in node.branches:
                inner, w = _layers(branch, shape)
                branches.append(nn.Sequential(*inner))
                weighted += w
            out.append(_Branches(branches, isinstance(node, Concat)))
        elif isinstance(node, Activation | AvgPool | MaxPool | GlobalAvgPool | GlobalMaxPool | Flatten):
            out += _plain(node)
        else:  # pragma: no cover - every node kind is handled above
            raise TypeError(f"no module for {node.kind}")
        shape = node_output_shape(node, shape)
    return out, weighted


def to_module(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> GraphModule:
    """A plain ``nn.Module`` computing ``arch`` on inputs of ``input_shape``, freshly initialised from the graph's
    distribution (``generator`` seeds it)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    arch.output_shape(shape)
    module = GraphModule(arch, shape).to(dtype=dtype)
    module.reset_parameters(generator)
    return module
