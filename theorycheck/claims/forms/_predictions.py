"""What the theory, or the claim's expression, predicts for a user claim at each grid point.

Exact or not covered: the (H) engine and the kernel level predict second moments of logit gradients
(:func:`~theorycheck.claims.forms._statistics.theory_value`); anything else is "not covered" with the reason, and
an expression is the user's own prediction.
"""

from __future__ import annotations

import math

import numpy as np

from theorycheck.claims._parts import predicted_skewness
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._expr import Expression
from theorycheck.claims.forms._family import Point
from theorycheck.claims.forms._statistics import theory_value

__all__ = ["claimed_slope", "point_prediction", "scale_at", "skewness_at", "theory_at", "theory_slope"]


def scale_at(claim: UserClaim, point: Point) -> float:
    """The claim's ``scale`` expression at ``point`` (1 without one)."""
    return 1.0 if claim.scale is None else claim.scale(point.scope)


def theory_at(claim: UserClaim, level: str, point: Point) -> tuple[float | None, str]:
    """E[statistic] (times the scale) at ``point`` by the theory engine at ``level``, or None and why."""
    if point.module is not None and not point.arch:
        return None, f"{point.module} at {point.label} does not convert to a graph: {point.unconverted}"
    if point.module is not None and claim.init != "he":
        return None, (
            f"the theory engine predicts He-initialised networks with zero biases, and {point.module} is initialised "
            "by its own reset_parameters (PyTorch's default: Var[w] = 1/(3·fan_in), non-zero biases); set "
            'init = "he" to compare them'
        )
    value, why = theory_value(claim.statistic, level, point, target=claim.target, n_logits=point.outputs)
    return (None, why) if value is None else (value * scale_at(claim, point), why)


def point_prediction(claim: UserClaim, point: Point, baseline: Point | None) -> tuple[float | None, str]:
    """The claimed value (a ratio against ``baseline``'s when given) at ``point``, or None and why."""
    if isinstance(claim.predicted, Expression):
        return claim.predicted(point.scope), f"predicted = {claim.predicted.text}"
    level = str(claim.predicted)
    value, why = theory_at(claim, level, point)
    if value is None or baseline is None:
        return value, why
    base, why_base = theory_at(claim, level, baseline)
    return (None, why_base) if base is None else (value / base, why)


def theory_slope(claim: UserClaim) -> tuple[float | None, str]:
    """The exponent of the (H) predictions against ``against`` on this grid, when they are an exact power law."""
    points = claim.family.points()
    bases = claim.baseline.points() if claim.baseline is not None else [None] * len(points)
    xs, ys = [], []
    for p, b in zip(points, bases, strict=True):
        value, why = theory_at(claim, "H", p)
        if value is None:
            return None, why
        if b is not None:
            base, why = theory_at(claim, "H", b)
            if base is None:
                return None, why
            value /= base
        if value <= 0:
            return None, f"the (H) value at {p.label} is {value:g}, not positive: no exponent"
        xs.append(math.log(claim.against(p.scope)))
        ys.append(math.log(value))
    design = np.column_stack([np.ones(len(xs)), xs])
    coef, *_ = np.linalg.lstsq(design, np.asarray(ys), rcond=None)
    residual = float(np.abs(design @ coef - ys).max())
    if residual > 1e-9:
        local = np.diff(ys) / np.diff(xs)
        return None, (
            f"the (H) predictions are not a power law of {claim.against.text} on this grid (local exponents "
            f"{', '.join(f'{v:.4g}' for v in local)})"
        )
    return float(coef[1]), f"(H) engine: exponent {coef[1]:.6g} on this grid (exact power law)"


def claimed_slope(claim: UserClaim) -> tuple[float | None, str]:
    """The exponent the claim states (the engine's for ``"H"``), or None and why there is none."""
    if claim.slope == "H":
        return theory_slope(claim)
    return (None if claim.slope is None else float(claim.slope)), ""


def skewness_at(claim: UserClaim, point: Point) -> float | None:
    """The theory's exact skewness of the per-network values at ``point`` (a positive multiple of one logit's
    ‖∂f/∂x‖² of a DSL graph), or None: the tail is then judged from the sample."""
    if claim.target != "logit" or claim.statistic.moment is None or point.module is not None or not point.arch:
        return None
    if claim.training is not None:  # the tail theory is for networks at initialisation
        return None
    return predicted_skewness(point.arch, point.input)
