"""Path-products of sampled networks (tiny nets, float64).

``∂ₓo = Σ_{p∈P(x,o)} ω_p σ_p`` (Simon-Gabriel et al. 2019, proof of Theorem 3,
after Balduzzi et al. 2016): ``ω_p`` is the product of the weights along the
path (average-pooling contributes ``1/n``, ``add`` and relabellings 1) and
``σ_p`` the product of the activation derivatives at the path's neurons (1 or 0
for ReLU; the routing indicator for max-pooling). Enumerating paths gives the
claim ``sg.pathsum`` and the statistics of Lemma 9 and Lemma 10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    AvgPool,
    Conv,
    Dense,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    Shape,
    parse_input_shape,
)
from theorycheck.graph._neurons import Edge, NeuronGraph, iter_paths, neuron_graph
from theorycheck.sampler._program import Program, compile_program
from theorycheck.sampler._rng import RNG_BLOCK, STREAM_INPUT, STREAM_WEIGHTS, block_generator

__all__ = ["MAX_PATHS", "PathProducts", "PathSum", "lemma9_rows", "path_products", "path_sum"]

MAX_PATHS = 100_000


@dataclass(frozen=True)
class PathSum:
    """One network: the path sum next to the autograd gradient (float64)."""

    by_paths: NDArray[np.float64]
    autograd: NDArray[np.float64]
    n_paths: int
    #: Σ_p |ω_p σ_p| per input: the scale of the round-off in the path sum
    abs_sum: NDArray[np.float64]
    #: longest path, in edges
    depth: int

    @property
    def max_abs_error(self) -> float:
        """``max_x |Σ_p ω_p σ_p − ∂ₓo|``."""
        return float(np.abs(self.by_paths - self.autograd).max())

    def tolerance(self) -> NDArray[np.float64]:
        """Round-off bound per input: ``(n_paths + depth) · ε · Σ_p |ω_p σ_p|`` (recursive summation
        of n terms, each a product of ``depth`` factors; Higham, *Accuracy and Stability*, §4.2)."""
        return (self.n_paths + self.depth) * np.finfo(np.float64).eps * np.maximum(self.abs_sum, np.abs(self.autograd))

    @property
    def holds(self) -> bool:
        """Whether the identity holds within the round-off bound at every input."""
        return bool((np.abs(self.by_paths - self.autograd) <= self.tolerance()).all())


@dataclass(frozen=True)
class PathProducts:
    """Path-products ``ω_p`` of M networks (M, P), with ``Π E[w²]`` per path."""

    inputs: NDArray[np.int64]
    omega: NDArray[np.float64]
    expected_sq: NDArray[np.float64]
    multiplicity: NDArray[np.int64]


def _layer_weights(program: Program, network: int, seed: int, dtype: torch.dtype) -> dict[int, torch.Tensor]:
    block, pos = divmod(network, RNG_BLOCK)
    gen = block_generator(seed, STREAM_WEIGHTS, block, torch.device("cpu"))
    return {k: v[pos].to(dtype) for k, v in program.draw_block(block, gen, RNG_BLOCK).items()}


def _weight_factor(e: Edge, weights: dict[int, NDArray[np.float64]]) -> float | NDArray[np.float64]:
    """The edge's weight: one value per network (weighted nodes) or a constant."""
    node = e.node
    if isinstance(node, (Dense, Conv)):
        w: Any = weights[e.layer]
        return w[(Ellipsis, *e.index)]
    if isinstance(node, AvgPool):
        return e.count / node.kernel**2
    if isinstance(node, GlobalAvgPool):
        return 1.0 / (e.in_shape[1] * e.in_shape[2])
    return float(e.count) if isinstance(node, Add) else 1.0


def _gate(e: Edge, values: dict[int, NDArray[np.float64]], graph: NeuronGraph) -> float:
    """σ factor of one edge, from the recorded input of its layer."""
    node = e.node
    if isinstance(node, Activation):
        ids = graph.layer_inputs[e.layer].ravel()
        pre = values[e.layer][int(np.searchsorted(ids, e.src))]
        if node.fn == "relu":
            return 1.0 if pre > 0 else 0.0
        if node.fn == "tanh":
            return 1.0 - math.tanh(pre) ** 2
        sig = 1.0 / (1.0 + math.exp(-pre))
        return sig * (1.0 - sig) if node.fn == "sigmoid" else sig
    if isinstance(node, (MaxPool, GlobalMaxPool)):
        ids = graph.layer_inputs[e.layer].ravel()
        table = graph.incoming()[e.dst]
        srcs = [t.src for t in table]
        vals = values[e.layer][np.searchsorted(ids, srcs)]
        winner = srcs[int(np.argmax(vals))]  # PyTorch routes the gradient to one maximum
        return 1.0 if e.src == winner else 0.0
    return 1.0


def path_sum(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    seed: int,
    network: int = 0,
    output: int = 0,
    ignore_gates: bool = False,
) -> PathSum:
    """``Σ_p ω_p σ_p`` per input for network ``network`` of ``seed``, and the autograd gradient (float64).

    ``ignore_gates`` sets every ``σ_p`` to 1: a deliberately wrong sum (the negative control of ``sg.pathsum``).
    """
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    program = compile_program(arch, shape)
    weights = _layer_weights(program, network, seed, torch.float64)
    block, pos = divmod(network, RNG_BLOCK)
    x = torch.randn((RNG_BLOCK, *shape), generator=block_generator(seed, STREAM_INPUT, block, torch.device("cpu")))
    x = x[pos : pos + 1].to(torch.float64).requires_grad_(True)
    record: dict[int, torch.Tensor] = {}
    logits = program.forward(x, {k: v.unsqueeze(0) for k, v in weights.items()}, record)
    (grad,) = torch.autograd.grad(logits[0, output], x)
    values = {k: v.detach()[0].numpy().ravel() for k, v in record.items()}
    np_weights = {k: v.numpy() for k, v in weights.items()}
    graph = neuron_graph(arch, shape)
    total = np.zeros(graph.n_inputs)
    abs_sum = np.zeros(graph.n_inputs)
    count = depth = 0
    for x_idx, edges in iter_paths(graph, output, limit=MAX_PATHS):
        omega, sigma = 1.0, 1.0
        for e in edges:
            omega *= float(_weight_factor(e, np_weights))
            sigma *= 1.0 if ignore_gates else _gate(e, values, graph)
        total[x_idx] += omega * sigma
        abs_sum[x_idx] += abs(omega * sigma)
        count += math.prod(e.count for e in edges)
        depth = max(depth, len(edges))
    return PathSum(total, grad[0].numpy().ravel(), count, abs_sum, depth)


def path_products(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    networks: int,
    seed: int,
    output: int = 0,
    start: int = 0,
) -> PathProducts:
    """``ω_p`` for every path to logit ``output`` in networks ``start…start+networks-1`` (float64)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    program = compile_program(arch, shape)
    blocks = range(start // RNG_BLOCK, (start + networks + RNG_BLOCK - 1) // RNG_BLOCK)
    offset = start - blocks.start * RNG_BLOCK
    drawn: dict[int, list[torch.Tensor]] = {}
    for b in blocks:
        gen = block_generator(seed, STREAM_WEIGHTS, b, torch.device("cpu"))
        for k, v in program.draw_block(b, gen, RNG_BLOCK).items():
            drawn.setdefault(k, []).append(v)
    weights = {k: torch.cat(v)[offset : offset + networks].to(torch.float64).numpy() for k, v in drawn.items()}
    variances = {op.index: op.node.init.variance(op.fan_in) for op in program.weighted}  # type: ignore[attr-defined]
    graph = neuron_graph(arch, shape)
    inputs, omegas, expected, mult = [], [], [], []
    for x_idx, edges in iter_paths(graph, output, limit=MAX_PATHS):
        omega = np.ones(networks)
        e_sq = 1.0
        for e in edges:
            factor = _weight_factor(e, weights)
            omega = omega * factor
            if e.node.weighted:
                e_sq *= variances[e.layer]
            elif isinstance(factor, float):
                e_sq *= factor**2
        inputs.append(x_idx)
        omegas.append(omega)
        expected.append(e_sq)
        mult.append(math.prod(e.count for e in edges))
    return PathProducts(np.array(inputs), np.stack(omegas, axis=1), np.array(expected), np.array(mult))


def lemma9_rows(pp: PathProducts) -> dict[str, NDArray[np.float64]]:
    """Per-network statistics of Lemma 9/10 (one value per network, so CIs cluster by network).

    * ``mean_z``: mean over paths of ``ω_p / sqrt(Π E[w²])`` (Lemma 9: E = 0);
    * ``sq_ratio``: mean over paths of ``ω_p² / Π E[w²]`` (Lemma 9: E = 1);
    * ``sum_ratio``: ``Σ_x (Σ_{p∈P(x,o)} ω_p)² / Σ_p Π E[w²]``: the cross terms of eq. 13 vanish
      in expectation iff distinct path-products are uncorrelated (E = 1; duplicates push it up).
    """
    scale = np.sqrt(pp.expected_sq)
    mean_z = (pp.omega / scale).mean(axis=1)
    sq_ratio = (pp.omega**2 / pp.expected_sq).mean(axis=1)
    n_inputs = int(pp.inputs.max()) + 1
    per_input = np.zeros((pp.omega.shape[0], n_inputs))
    np.add.at(per_input.T, pp.inputs, pp.omega.T)
    sum_ratio = (per_input**2).sum(axis=1) / pp.expected_sq.sum()
    return {"mean_z": mean_z, "sq_ratio": sq_ratio, "sum_ratio": sum_ratio}
