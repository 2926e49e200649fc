"""Judging one form on one set of cells: the scaling fit, the per-point values, the per-point ratios.

Each function returns a :class:`~theorycheck.claims.Part` whose table is the grid (variables, d, the
regressor, the estimate with its CI, the prediction), so reports print the grid and draw the fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from theorycheck.claims._base import Part
from theorycheck.claims._common import mean_convergence, slope_convergence, supported_decision
from theorycheck.claims.forms._controls import shifted
from theorycheck.claims.forms._family import Point
from theorycheck.stats import Decision, Margins, decide, fit_power_law, fit_ratio_power_law, robust_mean_ci

__all__ = ["Sample", "not_covered", "ratio_parts", "scaling_part", "value_parts"]


@dataclass(frozen=True)
class Sample:
    """Per-network values of one grid point, the regressor there, the theory's prediction (or None), and the
    theory's exact skewness of the values (or None: the tail is then judged from the sample)."""

    point: Point
    values: np.ndarray
    x: float = math.nan
    predicted: float | None = None
    skewness: float | None = None
    #: where the prediction comes from, or why there is none at this point
    why: str = ""


def _slope_not_covered(fit: Any, margins: Margins, why: str) -> Decision:
    """No predicted exponent: the fitted slope with its interval, and why the theory gives none."""
    lo, hi = fit.slope_ci
    text = f"{why}; measured slope {fit.slope:.4g} [{lo:.4g}, {hi:.4g}]"
    return Decision("not covered", fit.slope, fit.slope_se, fit.slope_ci, None, None, None, None, margins, text)


def not_covered(name: str, description: str, reason: str, table: list[dict[str, Any]] | None = None) -> Part:
    """A part the theory makes no prediction for, with the reason."""
    return Part(
        name, description, Decision("not covered", None, None, None, None, None, None, None, None, reason), table or []
    )


def _row(s: Sample, estimate: float, ci: Sequence[float], n: int, **extra: Any) -> dict[str, Any]:
    return {
        **s.point.variables,
        "d": s.point.d,
        "estimate": estimate,
        "ci": list(ci),
        "n": n,
        "predicted": s.predicted,
        **extra,
    }


def scaling_part(
    name: str,
    description: str,
    samples: list[Sample],
    slope: float | None,
    margins: Margins,
    *,
    why: str = "",
    control: bool = False,
) -> Part:
    """``E[value] ∝ x^slope`` fitted over the grid (Gamma GLM, HC1) and judged by TOST against ``slope``."""
    xs = [np.full(s.values.size, s.x) for s in samples]
    ys = [s.values for s in samples]
    table = []
    for s in samples:
        est = robust_mean_ci(s.values)
        table.append({**_row(s, est.mean, est.ci, est.n), "level": s.x, "mean": est.mean})
    fit = fit_power_law(np.concatenate(xs), np.concatenate(ys))
    if slope is None:
        decision = _slope_not_covered(fit, margins, why)
    else:
        if control:
            slope = shifted(slope, margins, fit.slope)
            name = f"{name}: against {slope:.4g} (automatic control)"
        decision = supported_decision(
            decide(fit.slope, fit.slope_se, slope, margins), ys, skewness=[s.skewness for s in samples]
        )
    return Part(name, description, decision, table, fit.to_dict(), slope_convergence(xs, ys), method="slope")


def value_parts(
    name: Callable[[Sample], str],
    description: str,
    samples: list[Sample],
    margins: Margins,
    *,
    why: str = "",
    control: bool = False,
) -> list[Part]:
    """One part per grid point: the mean of the values judged against the point's prediction."""
    parts = []
    for s in samples:
        est = robust_mean_ci(s.values)
        table = [_row(s, est.mean, est.ci, est.n)]
        if s.predicted is None:
            parts.append(
                not_covered(
                    name(s),
                    description,
                    f"{s.why or why}; measured {est.mean:.6g} [{est.ci[0]:.6g}, {est.ci[1]:.6g}]",
                    table,
                )
            )
            continue
        se = (est.ci[1] - est.ci[0]) / (2 * 1.959963984540054)
        target = shifted(s.predicted, margins, est.mean) if control else s.predicted
        label = f"{name(s)}: against {target:.6g} (automatic control)" if control else name(s)
        decision = supported_decision(decide(est.mean, se, target, margins), [s.values], skewness=[s.skewness])
        parts.append(Part(label, description, decision, table, None, mean_convergence(s.values), method="mean"))
    return parts


def _log_ratio(t: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """log(mean t / mean b) and its delta-method standard error (independent samples)."""
    lr = math.log(t.mean() / b.mean())
    se = math.sqrt(t.var(ddof=1) / t.size / t.mean() ** 2 + b.var(ddof=1) / b.size / b.mean() ** 2)
    return lr, se


def ratio_parts(
    name: Callable[[Sample], str],
    description: str,
    treated: list[Sample],
    baseline: list[Sample],
    margins: Margins,
    *,
    slope: float | None = None,
    slope_name: str = "",
    why: str = "",
    control: bool = False,
) -> list[Part]:
    """Per point ``E[treated]/E[baseline] = predicted``; or, with ``slope``, the ratio ∝ x^slope over the grid."""
    table = []
    for t, b in zip(treated, baseline, strict=True):
        lr, se = _log_ratio(t.values, b.values)
        table.append(
            {
                **_row(
                    t,
                    math.exp(lr),
                    [math.exp(lr - 1.96 * se), math.exp(lr + 1.96 * se)],
                    int(t.values.size + b.values.size),
                ),
                "level": t.x,
                "ratio": math.exp(lr),
            }
        )
    if slope is not None or slope_name:
        fit = fit_ratio_power_law([t.x for t in treated], [t.values for t in treated], [b.values for b in baseline])
        if slope is None:
            decision = _slope_not_covered(fit, margins, why)
        else:
            if control:
                slope = shifted(slope, margins, fit.slope)
                slope_name = f"{slope_name}: against {slope:.4g} (automatic control)"
            decision = supported_decision(
                decide(fit.slope, fit.slope_se, slope, margins),
                [*(t.values for t in treated), *(b.values for b in baseline)],
                skewness=[*(t.skewness for t in treated), *(b.skewness for b in baseline)],
            )
        return [Part(slope_name, description, decision, table, fit.to_dict(), method="ratio-slope")]
    parts = []
    for row, t, b in zip(table, treated, baseline, strict=True):
        if t.predicted is None:
            parts.append(
                not_covered(name(t), description, f"{t.why or why}; measured ratio {row['estimate']:.6g}", [row])
            )
            continue
        lr, se = _log_ratio(t.values, b.values)
        ratio = math.exp(lr)
        target = shifted(t.predicted, margins, ratio) if control else t.predicted
        label = f"{name(t)}: against {target:.6g} (automatic control)" if control else name(t)
        decision = supported_decision(
            decide(ratio, ratio * se, target, margins), [t.values, b.values], skewness=[t.skewness, b.skewness]
        )
        parts.append(Part(label, description, decision, [row], method="ratio"))
    return parts
