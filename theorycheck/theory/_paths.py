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
from theorycheck.graph._neurons import Edge, iter_paths, neuron_graph
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
    indegree = {dst: sum(e.count for e in edges) for dst, edges in table.items()}
    d = graph.n_inputs
    n_paths = np.zeros(d)
    lemma8 = np.zeros(d)
    var = np.zeros(d)
    multisets: list[Counter[tuple[int, ...]]] = [Counter() for _ in range(d)]
    for x, edges in iter_paths(graph, output, limit=MAX_PATHS):
        mult = math.prod(e.count for e in edges)
        degrees = tuple(sorted(indegree[e.dst] for e in edges if e.real))
        n_paths[x] += mult
        lemma8[x] += mult * math.prod(1.0 / g for g in degrees)
        var[x] += mult * math.prod(_edge_variance(e) for e in edges)
        multisets[x][degrees] += mult
    return PathSums(n_paths, lemma8, var, multisets)
