"""A graph compiled into a batched PyTorch program over B independent networks.

Each network has its own weights and its own input. Dense layers are batched
matrix products, convolutions are one grouped convolution (``groups=B``, which
is what ``torch.func.vmap`` of ``conv2d`` becomes), pooling acts per network.
Weights never require grad: only input gradients are needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

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
from theorycheck.sampler._triton_conv import conv_eligible, triton_conv2d

__all__ = ["ACTIVATION_FNS", "GROUPED", "ConvSetup", "Op", "Program", "all_ops", "compile_program", "draw_weight"]

ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
}
#: ``F.pad`` mode of each DSL padding (the trainer's examples-axis program reads it too)
PAD_MODE = {"zero": "constant", "valid": "constant", "circular": "circular", "reflect": "reflect"}


@dataclass(frozen=True)
class ConvSetup:
    """How the convolutions of a program run.

    ``kernel``: ``grouped`` (one cuDNN/oneDNN grouped convolution, ``groups=B``) or ``triton``
    (the implicit-GEMM kernel of :mod:`theorycheck.sampler._triton_conv` for stride-1
    zero/valid/circular convolutions; the others stay grouped).
    ``channels_last`` runs the grouped convolutions in NHWC (measured slower than NCHW on
    the CPU and on an H100: benchmarks/RESULTS.md); ``tf32`` lets the Triton kernel use TF32.
    """

    kernel: str = "grouped"
    channels_last: bool = False
    tf32: bool = False


GROUPED = ConvSetup()


@dataclass
class Op:
    """One node at one place of the graph; ``index`` is its pre-order number (from 1)."""

    node: Node
    index: int
    in_shape: Shape
    out_shape: Shape
    branches: list[list[Op]] = field(default_factory=list)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Shape of one network's weight tensor (weighted ops only)."""
        node = self.node
        if isinstance(node, Dense):
            return (node.out, self.in_shape[0])
        if isinstance(node, Conv):
            return (node.out, self.in_shape[0], node.kernel, node.kernel)
        raise TypeError(f"{node.kind} has no weights")

    @property
    def fan_in(self) -> int:
        """Nominal fan-in: the product of the weight shape without the output axis."""
        return math.prod(self.weight_shape[1:])


def draw_weight(init: Init, fan_in: int, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """Draw float32 weights with mean 0 and variance ``init.variance(fan_in)``."""
    std = math.sqrt(init.variance(fan_in))
    device = gen.device
    if init.dist == "normal":
        return torch.randn(shape, generator=gen, device=device) * std
    if init.dist == "uniform":
        return (torch.rand(shape, generator=gen, device=device) * 2.0 - 1.0) * (std * math.sqrt(3.0))
    signs = torch.randint(0, 2, shape, generator=gen, device=device, dtype=torch.int8).float() * 2.0 - 1.0
    return signs * std


def all_ops(ops: list[Op]) -> list[Op]:
    """Every op of a program in pre-order, branches included."""
    out: list[Op] = []
    for op in ops:
        out.append(op)
        for branch in op.branches:
            out.extend(all_ops(branch))
    return out


def _compile(layers: Sequence, shape: Shape, counter: list[int]) -> tuple[list[Op], Shape]:
    ops: list[Op] = []
    for node in layers:
        counter[0] += 1
        op = Op(node, counter[0], shape, node_output_shape(node, shape))
        if isinstance(node, (Add, Concat)):
            op.branches = [_compile(b, shape, counter)[0] for b in node.branches]
        ops.append(op)
        shape = op.out_shape
    return ops, shape


@dataclass
class Program:
    """The batched program of one architecture on one input shape."""

    architecture: Architecture
    input_shape: Shape
    ops: list[Op]
    n_logits: int

    @property
    def weighted(self) -> list[Op]:
        """Weighted ops in pre-order: the order in which weights are drawn."""
        return [op for op in all_ops(self.ops) if op.node.weighted]

    @property
    def d(self) -> int:
        """Number of inputs."""
        return math.prod(self.input_shape)

    @property
    def biased(self) -> list[Op]:
        """Weighted ops with a bias (``bias > 0``), in pre-order."""
        return [op for op in self.weighted if op.node.bias > 0]  # type: ignore[attr-defined]

    def draw_block(self, block: int, gen: torch.Generator, n: int) -> dict[int, torch.Tensor]:
        """Weights of ``n`` networks drawn from ``gen``: ``{op.index: (n, *weight_shape)}``, then the biases of the
        biased layers, ``{−op.index: (n, out)}`` with ``N(0, bias)`` entries (drawn after every weight, so a graph
        without biases draws the same weights as before biases existed)."""
        drawn = {
            op.index: draw_weight(op.node.init, op.fan_in, (n, *op.weight_shape), gen)  # type: ignore[attr-defined]
            for op in self.weighted
        }
        for op in self.biased:
            std = math.sqrt(op.node.bias)  # type: ignore[attr-defined]
            drawn[-op.index] = torch.randn((n, op.out_shape[0]), generator=gen, device=gen.device) * std
        return drawn

    def network_parameters(self, drawn: dict[int, torch.Tensor], i: int) -> list[torch.Tensor]:
        """Network ``i`` of a drawn block in ``GraphModule.load_weights``'s order: the weights of the weighted ops
        in pre-order, then the biases of the biased ones."""
        return [drawn[op.index][i] for op in self.weighted] + [drawn[-op.index][i] for op in self.biased]

    def forward(
        self,
        x: torch.Tensor,
        weights: dict[int, torch.Tensor],
        record: dict[int, torch.Tensor] | None = None,
        *,
        conv: ConvSetup = GROUPED,
    ) -> torch.Tensor:
        """Logits ``(B, K)`` of B networks on inputs ``x`` of shape ``(B, *input_shape)``.

        With ``record``, the input of every op is stored under its index; ``conv`` says how
        the convolutions run.
        """
        return _run(self.ops, x, weights, record, conv)


def _run(
    ops: list[Op],
    x: torch.Tensor,
    weights: dict[int, torch.Tensor],
    record: dict[int, torch.Tensor] | None,
    conv: ConvSetup,
) -> torch.Tensor:
    for op in ops:
        if record is not None:
            record[op.index] = x
        x = _apply(op, x, weights, record, conv)
    return x


def _apply(
    op: Op,
    x: torch.Tensor,
    weights: dict[int, torch.Tensor],
    record: dict[int, torch.Tensor] | None,
    conv: ConvSetup,
) -> torch.Tensor:
    node = op.node
    if isinstance(node, (Dense, Conv)) and -op.index in weights:
        return _unbiased(op, x, weights, record, conv) + _bias_view(
            weights[-op.index], 2 if isinstance(node, Dense) else 4
        )
    return _unbiased(op, x, weights, record, conv)


def _bias_view(bias: torch.Tensor, ndim: int) -> torch.Tensor:
    """``(B, out)`` biases shaped to add to a ``(B, out)`` or ``(B, out, H, W)`` output."""
    return bias if ndim == 2 else bias[:, :, None, None]


def _unbiased(
    op: Op,
    x: torch.Tensor,
    weights: dict[int, torch.Tensor],
    record: dict[int, torch.Tensor] | None,
    conv: ConvSetup,
) -> torch.Tensor:
    node = op.node
    b = x.shape[0]
    if isinstance(node, Dense):
        return torch.bmm(weights[op.index], x.unsqueeze(-1)).squeeze(-1)
    if isinstance(node, Conv):
        before, after = node.pad
        if conv.kernel == "triton" and conv_eligible(node.stride, node.padding):
            return triton_conv2d(
                x,
                weights[op.index],
                node.pad,
                circular=node.padding == "circular",
                tf32=conv.tf32,
                dilation=node.dilation,
            )
        channels_last = conv.channels_last
        if before or after:
            x = F.pad(x, (before, after, before, after), mode=PAD_MODE[node.padding])
        w = weights[op.index]
        c_in, h, wd = x.shape[1:]
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        # B networks = one grouped convolution (what vmap of conv2d becomes)
        y = F.conv2d(
            x.reshape(1, b * c_in, h, wd).contiguous(memory_format=fmt),
            w.reshape(b * node.out, c_in, node.kernel, node.kernel).contiguous(memory_format=fmt),
            stride=node.stride,
            dilation=node.dilation,
            groups=b,
        )
        if channels_last:  # a strided view, no copy: (1, B·C, H, W) NHWC -> (B, C, H, W)
            return y.unflatten(1, (b, node.out)).squeeze(0)
        return y.reshape(b, node.out, y.shape[-2], y.shape[-1])
    if isinstance(node, AvgPool):
        return F.avg_pool2d(x, node.kernel, node.step)
    if isinstance(node, MaxPool):
        return F.max_pool2d(x, node.kernel, node.step)
    if isinstance(node, GlobalAvgPool):
        return x.mean(dim=(2, 3))
    if isinstance(node, GlobalMaxPool):
        return x.amax(dim=(2, 3))
    if isinstance(node, Flatten):
        return x.reshape(b, -1)
    if isinstance(node, Activation):
        return ACTIVATION_FNS[node.fn](x)
    if isinstance(node, Add):
        outs = [_run(branch, x, weights, record, conv) for branch in op.branches]
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return total
    if isinstance(node, Concat):
        return torch.cat([_run(branch, x, weights, record, conv) for branch in op.branches], dim=1)
    raise TypeError(f"no batched rule for {node.kind}")


def compile_program(arch: Architecture, input_shape: Shape) -> Program:
    """Validate and compile ``arch`` for inputs of ``input_shape``."""
    out_shape = arch.output_shape(input_shape)
    ops, _ = _compile(arch.layers, input_shape, [0])
    return Program(arch, input_shape, ops, out_shape[0])
