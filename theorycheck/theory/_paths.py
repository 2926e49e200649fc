"""Explicit path enumeration: the test oracle of the propagation engine.

Enumerates every path of :func:`theorycheck.graph._neurons.neuron_graph` from
the inputs to one output and evaluates, path by path, the sums that
:func:`theorycheck.theory.predict` computes by backward propagation.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theorycheck.graph import (
    Activation,
    Add,
    Architecture,
    AvgPool,
    Conv,
    Dense,
    GlobalAvgPool,
    Shape,
    parse_input_shape,
)
from theorycheck.graph._neurons import Edge, neuron_graph
from theorycheck.theory._propagate import fan_in

__all__ = ["MAX_PATHS", "PathSums", "enumerate_path_sums"]

MAX_PATHS = 100_000


@dataclass(frozen=True)
class PathSums:
    """Per-input sums over explicitly enumerated paths."""

    n_paths: NDArray[np.float64]
    lemma8: NDArray[np.float64]
    coord_var: NDArray[np.float64]
    degree_multisets: list[Counter[tuple[int, ...]]]

    @property
    def symmetric(self) -> bool:
        """(S): every input has the same multiset of path-degree multisets."""
        return all(m == self.degree_multisets[0] for m in self.degree_multisets)


def _edge_variance(e: Edge) -> float:
    node = e.node
    if isinstance(node, (Dense, Conv)):
        return node.init.variance(fan_in(node, e.in_shape))
    if isinstance(node, AvgPool):
        return 1.0 / node.kernel**4
    if isinstance(node, GlobalAvgPool):
        shape = e.in_shape
        return 1.0 / (shape[1] * shape[2]) ** 2
    if isinstance(node, Add):
        return 1.0
    if isinstance(node, Activation):
        if node.fn == "relu":
            return 1.0 if e.in_nonneg else 0.5
        return math.nan
    if e.real:  # max-pooling
        return math.nan
    return 1.0  # flatten, concat


def enumerate_path_sums(arch: Architecture | str, input_shape: Shape | str | int, *, output: int = 0) -> PathSums:
    """Enumerate all paths to logit ``output`` (at most :data:`MAX_PATHS`)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    graph = neuron_graph(arch, shape)
    table = graph.incoming()
    d = graph.n_inputs
    n_paths = np.zeros(d)
    lemma8 = np.zeros(d)
    var = np.zeros(d)
    multisets: list[Counter[tuple[int, ...]]] = [Counter() for _ in range(d)]
    total = 0
    # stack of (neuron, degrees so far, 1/d product, variance product, multiplicity)
    stack: list[tuple[int, tuple[int, ...], float, float, int]] = [(int(graph.outputs[output]), (), 1.0, 1.0, 1)]
    while stack:
        neuron, degrees, inv, v, mult = stack.pop()
        if neuron < d:
            total += mult
            if total > MAX_PATHS:
                raise ValueError(f"more than {MAX_PATHS} paths: too large to enumerate")
            n_paths[neuron] += mult
            lemma8[neuron] += mult * inv
            var[neuron] += mult * v
            multisets[neuron][tuple(sorted(degrees))] += mult
            continue
        edges = table.get(neuron, [])
        deg = sum(e.count for e in edges)
        for e in edges:
            if e.real:
                stack.append((e.src, (*degrees, deg), inv / deg, v * _edge_variance(e), mult * e.count))
            else:
                stack.append((e.src, degrees, inv, v * _edge_variance(e), mult * e.count))
    return PathSums(n_paths, lemma8, var, multisets)
