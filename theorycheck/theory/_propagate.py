"""One backward pass over the graph, parametrised by a rule.

Every quantity of the (H) theory is a sum over paths from an input to the
output ``o`` of a product of per-node factors, so it is computed by one
transposed pass ``u_in = Aᵀ (c ⊙ u_out)`` per neuron-creating node, where ``A``
is the node's edge-count matrix (:mod:`._maps`) and ``c`` the rule's factor for
the node's output neurons. Elementwise nodes multiply by a gate factor; flatten
and concat only relabel neurons; ``add`` creates neurons of in-degree = number
of branches, with deterministic weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from theorycheck.graph import (
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
    format_shape,
)
from theorycheck.theory._frames import NONNEG, OTHER, Frame, centred_branch, ends_in_gate
from theorycheck.theory._maps import PRIME, structural_map

__all__ = [
    "CREATES_NEURONS",
    "HashRule",
    "Lemma7Rule",
    "NominalLemma7Rule",
    "PathCountRule",
    "Rule",
    "VarianceRule",
    "backward",
    "channel_gates",
    "fan_in",
]

CREATES_NEURONS = (Dense, Conv, AvgPool, MaxPool, GlobalAvgPool, GlobalMaxPool)


def fan_in(node: Node, in_shape: tuple[int, ...]) -> int:
    """Nominal fan-in of a weighted node: ``in`` (dense), ``C_in·k²`` (conv)."""
    if isinstance(node, Dense):
        return in_shape[0]
    if isinstance(node, Conv):
        return in_shape[0] * node.kernel**2
    raise TypeError(f"{node.kind} has no weights")


class Rule(Protocol):
    """Per-node factors of one path-sum quantity."""

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray: ...

    def activation(self, frame: Frame, u: NDArray) -> NDArray: ...

    def add(self, frame: Frame, n_branches: int, u: NDArray) -> NDArray: ...

    def combine(self, a: NDArray, b: NDArray) -> NDArray: ...


def backward(frames: list[Frame], u: NDArray, rule: Rule) -> NDArray:
    """Propagate ``u`` (a quantity on the output neurons) back to the inputs."""
    for fr in reversed(frames):
        node = fr.node
        if isinstance(node, CREATES_NEURONS):
            smap = structural_map(node, fr.in_shape, fr.out_shape)
            u = smap.adjoint(rule.neurons(fr, smap.indegree(), u))
        elif isinstance(node, Activation):
            u = rule.activation(fr, u)
        elif isinstance(node, Flatten):
            u = u.reshape(fr.in_shape)
        elif isinstance(node, Add):
            v = rule.add(fr, len(node.branches), u)
            parts = [backward(branch, v, rule) for branch in fr.branches]
            u = parts[0]
            for p in parts[1:]:
                u = rule.combine(u, p)
        elif isinstance(node, Concat):
            sizes = [b[-1].out_shape[0] if b else fr.in_shape[0] for b in fr.branches]
            pieces = np.split(u, np.cumsum(sizes)[:-1], axis=0)
            parts = [backward(b, piece, rule) for b, piece in zip(fr.branches, pieces, strict=True)]
            u = parts[0]
            for p in parts[1:]:
                u = rule.combine(u, p)
        else:  # pragma: no cover - every node type is handled above
            raise TypeError(f"no backward rule for {node.kind}")
    return u


class _FloatSum:
    def combine(self, a: NDArray, b: NDArray) -> NDArray:
        return a + b


@dataclass
class VarianceRule(_FloatSum):
    """E[(∂o/∂neuron)²] under (H): eq. 13 of Simon-Gabriel et al. (2019), appendix A.1.

    ``Σ_paths Π_{p∈p̃} E[w_p²] E[σ_p²]``: a weighted node contributes its weight
    variance (its init, not the in-degree), average-pooling its deterministic
    weight squared ``(1/n)²`` (Theorem 6 / Lemma 10), a ReLU ``E[σ²] = ½`` (H1)
    or 1 on a non-negative channel (decided per channel: a concat may join a
    non-negative group and a signed one). Max-pooling and smooth activations are
    outside the theory: they make the result "not covered" (NaN), with reasons.
    """

    reasons: list[str] = field(default_factory=list)
    #: places where the prediction follows (H) although H1 is implausible there
    notes: list[str] = field(default_factory=list)

    def _not_covered(self, reason: str, u: NDArray) -> NDArray:
        if reason not in self.reasons:
            self.reasons.append(reason)
        return np.full_like(u, np.nan)

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray:
        node = frame.node
        if isinstance(node, (Dense, Conv)):
            return u * node.init.variance(fan_in(node, frame.in_shape))
        if isinstance(node, AvgPool):
            return u / float(node.kernel**2) ** 2
        if isinstance(node, GlobalAvgPool):
            return u / float(frame.in_shape[1] * frame.in_shape[2]) ** 2
        return self._not_covered(
            f"{node.kind} is outside the (H) theory: its gradient routes through the argmax, "
            "which depends on the weights (H1 and Lemma 9 do not apply)",
            u,
        )

    def activation(self, frame: Frame, u: NDArray) -> NDArray:
        fn = frame.node.fn  # type: ignore[attr-defined]
        if fn != "relu":
            return self._not_covered(f"{fn} is outside the (H) theory, which assumes ReLU gates (H1)", u)
        if (frame.in_law == OTHER).any():
            note = (
                f"{frame.where} on {format_shape(frame.in_shape)}: its input is neither non-negative nor centred "
                "(a sum of a non-negative and a signed branch, a max-pool, or the raw input), so H1's gate "
                "probability ½ is implausible; "
                "the prediction still follows the paper's hypothesis"
            )
            if note not in self.notes:
                self.notes.append(note)
        return u * channel_gates(frame.in_law, u.ndim)

    def add(self, frame: Frame, n_branches: int, u: NDArray) -> NDArray:
        """A branch that ends in a gate, summed with another branch that does not end in a weighted layer: the
        two paths share the add's input, the gate depends on the branch's own weights, and the cross term H1
        drops, ``E[w · 1(w·h > 0)] ≠ 0``, does not vanish even at infinite width (``dense(256) relu
        residual{dense(256) relu} dense(1)`` on input 2: (H) 4.0, wide networks 4.62 ± 0.08). Noted, not
        changed: (H) is the paper's hypothesis."""
        open_branches = sum(not centred_branch(b) for b in frame.branches)
        if open_branches > 1 and any(ends_in_gate(b) for b in frame.branches):
            note = (
                f"{frame.where} on {format_shape(frame.in_shape)}: a branch ending in a ReLU gate is summed with "
                "another path that shares its input, so the gate depends on weights that only one of the two "
                "paths carries and the cross terms H1 drops do not vanish (wide networks measure more than (H)); "
                "the prediction still follows the paper's hypothesis"
            )
            if note not in self.notes:
                self.notes.append(note)
        return u


def channel_gates(law: NDArray[np.int8], ndim: int) -> NDArray[np.float64]:
    """E[σ′²] of a ReLU per input channel, broadcastable to a value of ``ndim`` axes:
    1 on a non-negative channel (the ReLU is the identity there), ½ elsewhere (H1)."""
    gates = np.where(law == NONNEG, 1.0, 0.5)
    return gates.reshape(-1, *([1] * (ndim - 1)))


@dataclass
class Lemma7Rule(_FloatSum):
    """``Σ_paths Π_{p∈p̃} 1/d_p`` (Lemma 7 of Simon-Gabriel et al. 2019, eq. 11).

    ``orphan_mass`` collects the walk's mass stopping at non-input neurons with
    no incoming edge (e.g. a zero-padded conv output that sees only padding).
    """

    orphan_mass: float = 0.0

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray:
        orphan = indegree == 0
        self.orphan_mass += float(u[orphan].sum())
        return np.where(orphan, 0.0, u / np.maximum(indegree, 1))

    def activation(self, frame: Frame, u: NDArray) -> NDArray:
        return u

    def add(self, frame: Frame, n_branches: int, u: NDArray) -> NDArray:
        return u / n_branches


@dataclass
class NominalLemma7Rule(Lemma7Rule):
    """Lemma 7's sum with *nominal* in-degrees (padding positions counted as edges).

    A deliberately wrong rule, used as the negative control of claim ``sg.lemma7``:
    with zero padding the walk then loses mass at borders and the sum drops below 1.
    """

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray:
        node = frame.node
        if isinstance(node, Conv):
            nominal = frame.in_shape[0] * node.kernel**2
        elif isinstance(node, (AvgPool, MaxPool)):
            nominal = node.kernel**2
        else:
            return super().neurons(frame, indegree, u)
        return u / nominal


class PathCountRule(_FloatSum):
    """Number of paths from each input to the output (float64)."""

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray:
        return u

    def activation(self, frame: Frame, u: NDArray) -> NDArray:
        return u

    def add(self, frame: Frame, n_branches: int, u: NDArray) -> NDArray:
        return u


def degree_hash(degree: NDArray[np.int64] | int, salt: int) -> NDArray[np.int64]:
    """A pseudo-random residue mod :data:`PRIME` for each in-degree value (splitmix64)."""
    with np.errstate(over="ignore"):
        x = (np.asarray(degree, dtype=np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x % np.uint64(PRIME - 1) + np.uint64(1)).astype(np.int64)


@dataclass
class HashRule:
    """Evaluates the path-degree polynomial ``Σ_paths Π_{p∈p̃} z[d_p]`` modulo a prime.

    Its coefficients count the paths from an input with each multiset of
    in-degrees, so two inputs have equal polynomials iff they have the same
    multiset ``{d_p}`` of path-degrees, the symmetry assumption (S) of
    Section 3.2. Evaluating at a random point ``z`` (Schwartz–Zippel) decides
    equality up to a false-positive probability ≤ depth/PRIME per evaluation.
    """

    salt: int

    def neurons(self, frame: Frame, indegree: NDArray[np.int64], u: NDArray) -> NDArray:
        return (u * degree_hash(indegree, self.salt)) % PRIME

    def activation(self, frame: Frame, u: NDArray) -> NDArray:
        return u

    def add(self, frame: Frame, n_branches: int, u: NDArray) -> NDArray:
        return (u * int(degree_hash(n_branches, self.salt))) % PRIME

    def combine(self, a: NDArray, b: NDArray) -> NDArray:
        return (a + b) % PRIME
