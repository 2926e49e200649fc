"""Exact (H)-level predictions for an architecture, from its graph alone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, Shape, format_shape, parse_input_shape
from theorycheck.theory._frames import Frame, annotate
from theorycheck.theory._gaussian import expected_l1, expected_linf
from theorycheck.theory._maps import structural_map
from theorycheck.theory._propagate import (
    CREATES_NEURONS,
    HashRule,
    Lemma7Rule,
    NominalLemma7Rule,
    PathCountRule,
    VarianceRule,
    backward,
)
from theorycheck.theory._routes import shared_route_reasons

__all__ = ["Prediction", "Summary", "as_architecture", "in_degrees", "lemma7_sum", "predict"]

_HASH_SALTS = (0x5EED_0001, 0x5EED_0002)


@dataclass(frozen=True)
class Summary:
    """Minimum, mean and maximum of a per-input map."""

    min: float
    mean: float
    max: float

    @classmethod
    def of(cls, values: NDArray[np.float64]) -> Summary:
        return cls(float(values.min()), float(values.mean()), float(values.max()))


@dataclass(frozen=True)
class Prediction:
    """What the (H) theory predicts for ``∂ₓ f_k`` of one architecture.

    Attributes:
        d: number of inputs.
        log10_paths: log10 of the number of input→output paths (None on overflow).
        lemma7_sum: ``Σ_x Σ_{p∈P(x,o)} Π 1/d_p`` (Lemma 7: 1 for every DAG).
        orphan_mass: the part of Lemma 7's walk ending at non-input neurons without
            incoming edges (0 unless padding leaves some neuron with no input).
        lemma8_map: each input's own sum (Lemma 8: ``1/d`` under (S)).
        symmetric: whether (S) holds, decided exactly (path-degree polynomials).
        coord_var_map: predicted ``E[(∂f_k/∂x_i)²]`` for every input (eq. 13), or None.
        grad_sq_norm: ``E‖∂ₓf_k‖₂² = Σ_i coord_var_map[i]`` (Theorem 4).
        grad_l1, grad_linf: ``E‖∂ₓf_k‖₁`` and ``E‖∂ₓf_k‖_∞`` for independent
            Gaussian coordinates with these variances (an approximation).
        covered: False when the theory makes no prediction; ``reason`` says why.
        notes: places where the prediction follows the paper's hypothesis (H) although
            H1 is implausible there (a ReLU on an input that is not centred, e.g.
            ``relu(u) + b`` after a residual block).
    """

    architecture: str
    input_shape: Shape
    output: int
    d: int
    log10_paths: float | None
    lemma7_sum: float
    orphan_mass: float
    lemma8_map: NDArray[np.float64]
    symmetric: bool
    coord_var_map: NDArray[np.float64] | None
    grad_sq_norm: float | None
    grad_l1: float | None
    grad_linf: float | None
    covered: bool
    reason: str | None
    notes: tuple[str, ...] = ()

    @property
    def coord_var(self) -> Summary | None:
        """min/mean/max over inputs of the predicted ``E[(∂f_k/∂x_i)²]``."""
        return None if self.coord_var_map is None else Summary.of(self.coord_var_map)

    @property
    def lemma8(self) -> Summary:
        """min/mean/max over inputs of Lemma 8's per-input sum."""
        return Summary.of(self.lemma8_map)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the keys of ``theorycheck predict --json``)."""
        cv = self.coord_var
        l8 = self.lemma8
        return {
            "architecture": self.architecture,
            "input": format_shape(self.input_shape),
            "output": self.output,
            "level": "H",
            "d": self.d,
            "log10_paths": self.log10_paths,
            "lemma7_sum": self.lemma7_sum,
            "orphan_mass": self.orphan_mass,
            "lemma8": {"min": l8.min, "mean": l8.mean, "max": l8.max},
            "symmetric": self.symmetric,
            "coord_var": None if cv is None else {"min": cv.min, "mean": cv.mean, "max": cv.max},
            "grad_sq_norm": self.grad_sq_norm,
            "grad_l1": self.grad_l1,
            "grad_linf": self.grad_linf,
            "covered": self.covered,
            "reason": self.reason,
            "notes": list(self.notes),
        }


def as_architecture(arch: Architecture | str) -> Architecture:
    """Accept an :class:`Architecture` or its text form."""
    return Architecture.parse(arch) if isinstance(arch, str) else arch


def _one_hot(shape: Shape, k: int, dtype: type) -> NDArray:
    u: NDArray = np.zeros(shape, dtype=dtype)
    u[k] = 1
    return u


def predict(arch: Architecture | str, input_shape: Shape | str | int, *, output: int = 0) -> Prediction:
    """Compute the (H) predictions for logit ``output`` of ``arch`` on inputs of ``input_shape``.

    Each quantity is one backward pass over the graph (:mod:`._propagate`), in
    float64; no path is enumerated.
    """
    arch = as_architecture(arch)
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    frames = annotate(arch, shape)
    n_out = frames[-1].out_shape[0]
    if not 0 <= output < n_out:
        raise TheorycheckError(f"output {output} is out of range: the network has {n_out} logits (0..{n_out - 1})")
    out_shape = frames[-1].out_shape
    d = int(np.prod(shape))

    lemma = Lemma7Rule()
    lemma8_map = backward(frames, _one_hot(out_shape, output, np.float64), lemma)
    with np.errstate(over="ignore"):
        n_paths = float(backward(frames, _one_hot(out_shape, output, np.float64), PathCountRule()).sum())
    hashes = [backward(frames, _one_hot(out_shape, output, np.int64), HashRule(s)) for s in _HASH_SALTS]
    symmetric = all(bool((h == h.flat[0]).all()) for h in hashes)
    if symmetric and not np.allclose(lemma8_map, lemma8_map.flat[0], rtol=1e-9, atol=0.0):
        raise AssertionError("internal error: (S) holds but the Lemma 8 sums differ")  # pragma: no cover

    var_rule = VarianceRule()
    coord_var_map: NDArray[np.float64] | None = backward(frames, _one_hot(out_shape, output, np.float64), var_rule)
    reasons = list(var_rule.reasons) + shared_route_reasons(frames)
    covered = not reasons
    if not covered:
        coord_var_map = None
    return Prediction(
        architecture=arch.to_text(),
        input_shape=shape,
        output=output,
        d=d,
        log10_paths=math.log10(n_paths) if math.isfinite(n_paths) and n_paths > 0 else None,
        lemma7_sum=float(lemma8_map.sum()),
        orphan_mass=lemma.orphan_mass,
        lemma8_map=lemma8_map,
        symmetric=symmetric,
        coord_var_map=coord_var_map,
        grad_sq_norm=None if coord_var_map is None else float(coord_var_map.sum()),
        grad_l1=None if coord_var_map is None else expected_l1(coord_var_map),
        grad_linf=None if coord_var_map is None else expected_linf(coord_var_map),
        covered=covered,
        reason="; ".join(reasons) if reasons else None,
        notes=tuple(var_rule.notes) if covered else (),
    )


def lemma7_sum(
    arch: Architecture | str, input_shape: Shape | str | int, *, output: int = 0, degrees: str = "real"
) -> float:
    """Lemma 7's sum ``Σ_x Σ_p Π 1/d_p``; ``degrees="nominal"`` counts padding positions as edges
    (a wrong rule, the negative control of claim ``sg.lemma7``)."""
    arch = as_architecture(arch)
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    frames = annotate(arch, shape)
    rule = Lemma7Rule() if degrees == "real" else NominalLemma7Rule()
    return float(backward(frames, _one_hot(frames[-1].out_shape, output, np.float64), rule).sum())


def in_degrees(arch: Architecture | str, input_shape: Shape | str | int) -> list[tuple[str, NDArray[np.int64]]]:
    """In-degree map of every neuron-creating node (real edges), in forward order.

    Names are ``"<index path> <layer text>"``, e.g. ``"3.1.0 conv(16,3)"`` for
    the first node of branch 1 of top-level node 3. Add nodes have in-degree
    equal to their number of branches.
    """
    arch = as_architecture(arch)
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    out: list[tuple[str, NDArray[np.int64]]] = []

    def visit(frames: list[Frame], prefix: str) -> None:
        from theorycheck.graph import Add
        from theorycheck.graph._text import format_layers

        for i, fr in enumerate(frames):
            label = f"{prefix}{i}"
            if isinstance(fr.node, CREATES_NEURONS):
                deg = structural_map(fr.node, fr.in_shape, fr.out_shape).indegree()
                out.append((f"{label} {format_layers((fr.node,))}", deg))
            for j, branch in enumerate(fr.branches):
                visit(branch, f"{label}.{j}.")
            if isinstance(fr.node, Add):
                out.append((f"{label} add", np.full(fr.out_shape, len(fr.branches), dtype=np.int64)))

    visit(annotate(arch, shape), "")
    return out
