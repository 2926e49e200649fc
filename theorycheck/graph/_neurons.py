"""The explicit neuron-level DAG of an architecture (small networks only).

Edges are found by applying each node, with unit weights, to every basis
input in PyTorch (float64): this uses PyTorch's own padding, stride and
dilation semantics, independently of the index arithmetic of
:mod:`theorycheck.theory._maps`, so it serves as a test oracle, and as the
skeleton for enumerating paths of sampled networks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from theorycheck.graph._architecture import Architecture
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
    Sequence,
)
from theorycheck.graph._shapes import Shape, node_output_shape

__all__ = ["Edge", "NeuronGraph", "iter_paths", "neuron_graph"]

MAX_NEURONS = 20_000


@dataclass(frozen=True)
class Edge:
    """``count`` parallel edges ``src → dst`` created by ``node``.

    ``real`` is True when ``dst`` is a neuron of the paper's DAG (created by a
    dense, conv, pooling or add node) and False for relabelling steps
    (activations, flatten, concat), which carry a gate but add no node.
    ``layer`` identifies the node occurrence; ``in_nonneg`` says whether the
    source neuron is non-negative for every weight draw (tracked neuron by
    neuron, independently of the theory's per-channel laws), ``in_shape`` is
    the shape of the node's input. ``index`` locates the edge's weight for
    weighted nodes: ``(out_channel, in_channel, ky, kx)`` for conv (one edge
    per kernel entry), ``(out, in)`` for dense.
    """

    src: int
    dst: int
    count: int
    node: Node
    layer: int
    real: bool
    in_nonneg: bool
    in_shape: Shape
    index: tuple[int, ...] = ()


@dataclass
class NeuronGraph:
    """Neuron ids per value and the edges between them."""

    n_inputs: int
    outputs: NDArray[np.int64]
    edges: list[Edge] = field(default_factory=list)
    n_neurons: int = 0
    #: neuron ids of each layer occurrence's input, in the layout of that input tensor
    layer_inputs: dict[int, NDArray[np.int64]] = field(default_factory=dict)

    def incoming(self) -> dict[int, list[Edge]]:
        """Edges grouped by destination."""
        table: dict[int, list[Edge]] = {}
        for e in self.edges:
            table.setdefault(e.dst, []).append(e)
        return table

    def indegree(self, dst: int, table: dict[int, list[Edge]]) -> int:
        """In-degree of a real neuron (parallel edges counted)."""
        return sum(e.count for e in table.get(dst, []))


def _unit_counts(node: Node, in_shape: Shape) -> NDArray[np.float64]:
    """``A[j, i]`` = number of edges from input ``i`` to output ``j``, via PyTorch."""
    n_in = int(np.prod(in_shape))
    basis = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *in_shape)
    if isinstance(node, Dense):
        out = basis.reshape(n_in, -1) @ torch.ones(in_shape[0], node.out, dtype=torch.float64)
    elif isinstance(node, Conv):
        before, after = node.pad
        mode = {"zero": "constant", "valid": "constant", "circular": "circular", "reflect": "reflect"}[node.padding]
        padded = F.pad(basis, (before, after, before, after), mode=mode)
        weight = torch.ones(node.out, in_shape[0], node.kernel, node.kernel, dtype=torch.float64)
        out = F.conv2d(padded, weight, stride=node.stride, dilation=node.dilation)
    elif isinstance(node, (AvgPool, MaxPool)):
        out = F.avg_pool2d(basis, node.kernel, node.step) * node.kernel**2
    elif isinstance(node, (GlobalAvgPool, GlobalMaxPool)):
        out = basis.sum(dim=(2, 3))
    else:
        raise TypeError(node.kind)
    return out.reshape(n_in, -1).T.numpy()


class _Builder:
    def __init__(self) -> None:
        self.edges: list[Edge] = []
        self.next_id = 0
        self.layer = 0
        self.layer_inputs: dict[int, NDArray[np.int64]] = {}

    def fresh(self, shape: Shape) -> NDArray[np.int64]:
        n = int(np.prod(shape))
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64).reshape(shape)
        self.next_id += n
        if self.next_id > MAX_NEURONS:
            raise ValueError(f"network too large for explicit enumeration (> {MAX_NEURONS} neurons)")
        return ids

    def relabel(self, src: NDArray[np.int64], dst: NDArray[np.int64], node: Node, nonneg: NDArray[np.bool_]) -> None:
        for s, t, nn in zip(src.ravel(), dst.ravel(), nonneg.ravel(), strict=True):
            self.edges.append(Edge(int(s), int(t), 1, node, self.layer, False, bool(nn), tuple(src.shape)))

    def sequence(
        self, layers: Sequence, ids: NDArray[np.int64], nonneg: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        for node in layers:
            ids, nonneg = self.node(node, ids, nonneg)
        return ids, nonneg

    def node(
        self, node: Node, ids: NDArray[np.int64], nonneg: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Edges of ``node``; ``nonneg`` marks the input neurons that are non-negative for every draw."""
        in_shape = tuple(ids.shape)
        out_shape = node_output_shape(node, in_shape)
        self.layer += 1
        layer = self.layer
        self.layer_inputs[layer] = ids
        if isinstance(node, (Dense, Conv, AvgPool, MaxPool, GlobalAvgPool, GlobalMaxPool)):
            out = self.fresh(out_shape)
            if isinstance(node, Conv):
                self._conv_edges(node, ids, out, nonneg, layer)
            else:
                counts = _unit_counts(node, in_shape)
                src_flat, dst_flat = ids.ravel(), out.ravel()
                for j, i in zip(*np.nonzero(counts), strict=True):
                    index = (int(j), int(i)) if isinstance(node, Dense) else ()
                    self.edges.append(
                        Edge(
                            int(src_flat[i]),
                            int(dst_flat[j]),
                            round(float(counts[j, i])),
                            node,
                            layer,
                            True,
                            bool(nonneg.ravel()[i]),
                            in_shape,
                            index,
                        )
                    )
            if node.weighted:
                return out, np.zeros(out_shape, dtype=bool)
            # an output neuron of a pool is non-negative when every neuron of its window is
            window_neg = counts @ (~nonneg).ravel().astype(np.float64)
            return out, (window_neg == 0).reshape(out_shape)
        if isinstance(node, Activation):
            out = self.fresh(out_shape)
            self.relabel(ids, out, node, nonneg)
            return out, np.full(out_shape, node.fn in ("relu", "sigmoid", "softplus"))
        if isinstance(node, Flatten):
            out = self.fresh(out_shape)
            self.relabel(ids, out, node, nonneg)
            return out, nonneg.reshape(out_shape)
        if isinstance(node, Add):
            results = [self.sequence(b, ids, nonneg) for b in node.branches]
            out = self.fresh(out_shape)
            for branch_ids, branch_nonneg in results:
                for s, t, nn in zip(branch_ids.ravel(), out.ravel(), branch_nonneg.ravel(), strict=True):
                    self.edges.append(Edge(int(s), int(t), 1, node, layer, True, bool(nn), in_shape))
            return out, np.logical_and.reduce([nn for _, nn in results])
        if isinstance(node, Concat):
            results = [self.sequence(b, ids, nonneg) for b in node.branches]
            joined = np.concatenate([r for r, _ in results], axis=0)
            joined_nonneg = np.concatenate([nn for _, nn in results], axis=0)
            out = self.fresh(out_shape)
            self.relabel(joined, out, node, joined_nonneg)
            return out, joined_nonneg
        raise TypeError(node.kind)

    def _conv_edges(
        self, node: Conv, ids: NDArray[np.int64], out: NDArray[np.int64], nonneg: NDArray[np.bool_], layer: int
    ) -> None:
        """One edge per kernel entry: probe each offset with a one-hot kernel in PyTorch."""
        c_in = ids.shape[0]
        single = Conv(1, node.kernel, stride=node.stride, dilation=node.dilation, padding=node.padding)
        n_sp = ids.shape[1] * ids.shape[2]
        basis = torch.eye(n_sp, dtype=torch.float64).reshape(n_sp, 1, ids.shape[1], ids.shape[2])
        before, after = single.pad
        mode = {"zero": "constant", "valid": "constant", "circular": "circular", "reflect": "reflect"}[node.padding]
        padded = F.pad(basis, (before, after, before, after), mode=mode)
        for ky in range(node.kernel):
            for kx in range(node.kernel):
                w = torch.zeros(1, 1, node.kernel, node.kernel, dtype=torch.float64)
                w[0, 0, ky, kx] = 1.0
                hit = F.conv2d(padded, w, stride=node.stride, dilation=node.dilation).reshape(n_sp, -1).T.numpy()
                for j, i in zip(*np.nonzero(hit), strict=True):
                    for co in range(out.shape[0]):
                        for ci in range(c_in):
                            src = int(ids[ci].ravel()[i])
                            dst = int(out[co].ravel()[j])
                            self.edges.append(
                                Edge(
                                    src,
                                    dst,
                                    round(float(hit[j, i])),
                                    node,
                                    layer,
                                    True,
                                    bool(nonneg[ci].ravel()[i]),
                                    tuple(ids.shape),
                                    (co, ci, ky, kx),
                                )
                            )


def neuron_graph(arch: Architecture, input_shape: Shape) -> NeuronGraph:
    """Build the explicit neuron DAG of ``arch`` (at most 20,000 neurons)."""
    arch.shapes(input_shape)
    builder = _Builder()
    inputs = builder.fresh(input_shape)
    outputs, _ = builder.sequence(arch.layers, inputs, np.zeros(input_shape, dtype=bool))
    return NeuronGraph(int(np.prod(input_shape)), outputs.ravel(), builder.edges, builder.next_id, builder.layer_inputs)


def iter_paths(graph: NeuronGraph, output: int, *, limit: int) -> Iterator[tuple[int, tuple[Edge, ...]]]:
    """Every path from an input to output neuron ``output``: ``(input index, edges from input to output)``.

    Parallel edges (``count > 1``) stand for ``count`` paths; raises ``ValueError``
    beyond ``limit`` paths.
    """
    table = graph.incoming()
    total = 0
    stack: list[tuple[int, tuple[Edge, ...]]] = [(int(graph.outputs[output]), ())]
    while stack:
        neuron, suffix = stack.pop()
        if neuron < graph.n_inputs:
            total += math.prod(e.count for e in suffix)
            if total > limit:
                raise ValueError(f"more than {limit} paths: too large to enumerate")
            yield neuron, suffix
            continue
        for e in table.get(neuron, []):
            stack.append((e.src, (e, *suffix)))
