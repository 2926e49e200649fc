"""The part builders: how one sub-claim is judged, for the catalogue and the public forms alike.

Each builder returns a :class:`~theorycheck.claims.Part` with its decision, the table reports print, the data
figures draw, and the method that backs it (``Part.method``). A Monte Carlo sample is a :class:`Sample`: the
per-network values at one grid point, the regressor there, the prediction, and the theory's exact skewness of the
values where it is known (the tail gate then uses Cochran's rule, :func:`supported_decision`).

=================== ===============================================================================================
builder             decides
=================== ===============================================================================================
:func:`scaling_part` ``E[value] ∝ x^slope`` over samples: GLM (Gamma, log link), HC1 errors, TOST on the slope
:func:`value_parts`  per sample, the mean (Student-t interval) against its prediction
:func:`ratio_parts`  per grid point ``E[treated]/E[baseline]`` (delta-method log ratio), or its slope (GLM)
:func:`paired_ratio_part` ``E[u]/E[v]`` of values paired per network (delta method with their covariance)
:func:`less_than_part`    ``E[a] < E[b]`` from a log ratio and its standard error
:func:`exact_part`        a fact decided exactly (float64, or from the graph)
=================== ===============================================================================================
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from theorycheck.claims._base import Cell, Part
from theorycheck.stats import (
    Decision,
    Margins,
    SkewnessRule,
    TailDiagnostic,
    alpha_share,
    decide,
    fit_power_law,
    fit_ratio_power_law,
    log_ratio,
    mean_ci,
    mean_convergence,
    skewness_rule,
    slope_convergence,
    tail_diagnostic,
)

__all__ = [
    "CONSTANT",
    "EXPONENT",
    "Sample",
    "exact_part",
    "fixed_verdict_part",
    "less_than_part",
    "mean_part",
    "not_covered",
    "paired_ratio_part",
    "predicted_skewness",
    "ratio_parts",
    "sample_cell",
    "scaling_part",
    "supported_decision",
    "value_parts",
]

#: default tolerance for exponents (absolute) and constants (relative)
EXPONENT = Margins("absolute", margin=0.05, band=0.15)
CONSTANT = Margins("relative", margin=0.05, band=0.20)
#: the 97.5% normal quantile of the tables' 95% intervals
_Z95 = float(sps.norm.ppf(0.975))


@dataclass(frozen=True)
class Sample:
    """Per-network values of one grid point, and what they are judged against.

    ``row`` names the point in tables (its variables and ``d``); ``label`` in part names; ``x`` is the regressor
    of a slope; ``predicted`` the prediction (None: not covered, ``why`` says why); ``skewness`` the theory's exact
    skewness of the values (None: the tail is judged from the sample)."""

    values: np.ndarray
    x: float = math.nan
    predicted: float | None = None
    skewness: float | None = None
    why: str = ""
    label: str = ""
    row: dict[str, Any] = field(default_factory=dict)


def sample_cell(claim: str, role: str, label: str, arch: str, shape: str, networks: int, **kwargs: Any) -> Cell:
    """A sampler cell named ``role/label``."""
    return Cell(claim, f"{role}/{label}", "sample", {"arch": arch, "input": shape, **kwargs}, networks)


# -- the tail gate -----------------------------------------------------------------------------------------------
def predicted_skewness(arch: str, shape: str) -> float | None:
    """The exact skewness of one logit's per-network ``‖∂f/∂x‖²`` (and of ``coord_var``, a multiple of it), from
    the graph (:func:`theorycheck.theory.gradient_tail`), or None where the theory does not cover the graph."""
    return _skewness(str(arch), str(shape))


@functools.lru_cache(maxsize=1024)
def _skewness(arch: str, shape: str) -> float | None:
    from theorycheck.theory._tails import gradient_tail

    tail = gradient_tail(arch, shape)
    return tail.skewness if tail.covered else None


def supported_decision(
    decision: Decision, samples: Sequence[np.ndarray], *, skewness: Sequence[float | None] | None = None
) -> Decision:
    """``decision``, or *inconclusive* with the reason when a sample cannot support an interval (heavy tail,
    :mod:`theorycheck.stats._tails`): a verdict is never drawn from an interval the data cannot back.

    ``skewness`` (aligned with ``samples``) gives the theory's exact skewness of a sample's per-network values
    where it has one (:func:`predicted_skewness`): that sample is judged by Cochran's rule ``n > 28 + 25γ₁²``
    instead of by its own tail, which a sample that missed the rare large networks cannot show. Otherwise the
    diagnostic is Hill's index of non-negative per-network magnitudes (squared norms, coordinate variances,
    norms, ratios), whose mean rare large networks can dominate; signed samples (per-network slopes, log ratios)
    are not gated: Hill's index of |x| near a centre of 0 measures the spread around it, not a tail."""
    known = list(skewness) if skewness is not None else [None] * len(samples)
    if len(known) != len(samples):
        raise ValueError(f"{len(known)} skewness entries for {len(samples)} samples")
    checks: list[TailDiagnostic | SkewnessRule] = []
    for x, gamma in zip(samples, known, strict=True):
        x = np.asarray(x)
        if gamma is not None:
            checks.append(skewness_rule(int(x.size), gamma))
        elif x.size and (x >= 0).all():
            checks.append(tail_diagnostic(x))
    bad = [c for c in checks if not c.supported]
    if not bad or decision.verdict in ("not covered", "error"):
        return decision
    worst_tail = max(bad, key=lambda c: c.networks_needed or math.inf)
    return Decision(
        "inconclusive",
        decision.estimate,
        decision.se,
        decision.ci,
        decision.predicted,
        decision.deviation,
        decision.deviation_ci,
        decision.tost_p,
        decision.margins,
        f"{worst_tail.reason()} (would have been {decision.verdict}: {decision.explanation})",
    )


# -- Monte Carlo parts -------------------------------------------------------------------------------------------
def not_covered(name: str, description: str, reason: str, table: list[dict[str, Any]] | None = None) -> Part:
    """A part the theory makes no prediction for, with the reason."""
    decision = Decision("not covered", None, None, None, None, None, None, None, None, reason)
    return Part(name, description, decision, table or [])


def _row(s: Sample, estimate: float, ci: Sequence[float], n: int, **extra: Any) -> dict[str, Any]:
    return {**s.row, "estimate": estimate, "ci": list(ci), "n": n, "predicted": s.predicted, **extra}


def _slope_not_covered(fit: Any, margins: Margins, why: str) -> Decision:
    """No predicted exponent: the fitted slope with its interval, and why the theory gives none."""
    lo, hi = fit.slope_ci
    text = f"{why}; measured slope {fit.slope:.4g} [{lo:.4g}, {hi:.4g}]"
    return Decision("not covered", fit.slope, fit.slope_se, fit.slope_ci, None, None, None, None, margins, text)


def scaling_part(
    name: str,
    description: str,
    samples: list[Sample],
    slope: float | None,
    margins: Margins = EXPONENT,
    *,
    why: str = "",
    shift: Callable[[float, float], float] | None = None,
    clustered: bool = False,
) -> Part:
    """``E[value] ∝ x^slope`` fitted over the samples (Gamma GLM, HC1) and judged by TOST against ``slope``;
    ``shift(slope, fitted)`` moves the prediction (the fallback negative control). ``clustered``: every sample
    holds the same networks in the same order (one network at several training steps), and the slope's SE is
    clustered by network."""
    xs = [np.full(s.values.size, s.x) for s in samples]
    groups = np.concatenate([np.arange(s.values.size) for s in samples]) if clustered else None
    ys = [s.values for s in samples]
    table = []
    for s in samples:
        est = mean_ci(s.values)
        table.append({**_row(s, est.mean, est.ci, est.n), "level": s.x, "mean": est.mean})
    fit = fit_power_law(np.concatenate(xs), np.concatenate(ys), groups=groups)
    if slope is None:
        decision = _slope_not_covered(fit, margins, why)
    else:
        if shift is not None:
            slope = shift(slope, fit.slope)
            name = f"{name}: against {slope:.4g} (automatic control)"
        decision = supported_decision(
            decide(fit.slope, fit.slope_se, slope, margins), ys, skewness=[s.skewness for s in samples]
        )
    method = "slope-clustered" if clustered else "slope"
    return Part(name, description, decision, table, fit.to_dict(), slope_convergence(xs, ys), method=method)


def value_parts(
    name: Callable[[Sample], str],
    description: str,
    samples: list[Sample],
    margins: Margins = CONSTANT,
    *,
    shift: Callable[[float, float], float] | None = None,
) -> list[Part]:
    """One part per sample: the mean (Student-t interval) judged against the sample's prediction."""
    parts = []
    for s in samples:
        est = mean_ci(s.values)
        table = [_row(s, est.mean, est.ci, est.n)]
        if s.predicted is None:
            text = f"{s.why}; measured {est.mean:.6g} [{est.ci[0]:.6g}, {est.ci[1]:.6g}]"
            parts.append(not_covered(name(s), description, text, table))
            continue
        target = shift(s.predicted, est.mean) if shift is not None else s.predicted
        label = f"{name(s)}: against {target:.6g} (automatic control)" if shift is not None else name(s)
        decision = supported_decision(
            decide(est.mean, est.interval_se, target, margins), [s.values], skewness=[s.skewness]
        )
        parts.append(Part(label, description, decision, table, None, mean_convergence(s.values), method="mean"))
    return parts


def mean_part(
    name: str,
    description: str,
    values: np.ndarray,
    predicted: float | None,
    margins: Margins = CONSTANT,
    table: list[dict[str, Any]] | None = None,
    *,
    skewness: float | None = None,
) -> Part:
    """The mean over networks of ``values`` judged against ``predicted`` (one :func:`value_parts` part)."""
    sample = Sample(np.asarray(values, dtype=np.float64), predicted=predicted, skewness=skewness)
    (part,) = value_parts(lambda s: name, description, [sample], margins)
    part.table = table or []
    return part


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
    shift: Callable[[float, float], float] | None = None,
) -> list[Part]:
    """Per point ``E[treated]/E[baseline] = predicted``; or, with ``slope_name``, the ratio ∝ x^slope over the
    grid (GLM with per-level intercepts; None: not covered, with ``why``)."""
    table = []
    for t, b in zip(treated, baseline, strict=True):
        lr, se = log_ratio(t.values, b.values)
        ci = [math.exp(lr - _Z95 * se), math.exp(lr + _Z95 * se)]
        table.append(
            {**_row(t, math.exp(lr), ci, int(t.values.size + b.values.size)), "level": t.x, "ratio": math.exp(lr)}
        )
    if slope_name:
        fit = fit_ratio_power_law([t.x for t in treated], [t.values for t in treated], [b.values for b in baseline])
        if slope is None:
            decision = _slope_not_covered(fit, margins, why)
        else:
            if shift is not None:
                slope = shift(slope, fit.slope)
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
        lr, se = log_ratio(t.values, b.values)
        ratio = math.exp(lr)
        target = shift(t.predicted, ratio) if shift is not None else t.predicted
        label = f"{name(t)}: against {target:.6g} (automatic control)" if shift is not None else name(t)
        decision = supported_decision(
            decide(ratio, ratio * se, target, margins), [t.values, b.values], skewness=[t.skewness, b.skewness]
        )
        parts.append(Part(label, description, decision, [row], method="ratio"))
    return parts


def paired_ratio_part(
    name: str, description: str, u: np.ndarray, v: np.ndarray, predicted: float, margins: Margins = CONSTANT
) -> Part:
    """Judge ``E[u]/E[v]`` (paired per network) against ``predicted`` (delta method on the log ratio)."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    n = u.size
    ratio = u.mean() / v.mean()
    cov = np.cov(u, v, ddof=1)
    var_log = (cov[0, 0] / u.mean() ** 2 + cov[1, 1] / v.mean() ** 2 - 2 * cov[0, 1] / (u.mean() * v.mean())) / n
    se = ratio * math.sqrt(max(var_log, 0.0))
    table = [{"E[u]": float(u.mean()), "E[v]": float(v.mean()), "n": n}]
    decision = supported_decision(decide(float(ratio), se, predicted, margins), [u, v])
    return Part(name, description, decision, table, method="paired-ratio")


def less_than_part(name: str, description: str, log_ratio_: float, se: float, *, alpha: float = 0.05) -> Part:
    """Inequality ``E[a] < E[b]`` from ``log(ā/b̄) ± se``: verified if the whole CI is below 0,
    refuted if the whole CI is at or above 0, else inconclusive."""
    z = float(sps.norm.ppf(1 - alpha * alpha_share() / 2))  # α/J per look inside a study's sequential looks
    lo, hi = log_ratio_ - z * se, log_ratio_ + z * se
    if hi < 0:
        verdict, why = "verified", "the whole CI of log(ratio) is below 0"
    elif lo >= 0:
        verdict, why = "refuted", "the whole CI of log(ratio) is at or above 0: the inequality is reversed"
    else:
        verdict, why = "inconclusive", "the CI of log(ratio) contains 0"
    level = 100 * (1 - alpha * alpha_share())
    text = f"{why}; ratio {math.exp(log_ratio_):.4g}, {level:.4g}% CI [{math.exp(lo):.4g}, {math.exp(hi):.4g}]"
    decision = Decision(verdict, log_ratio_, se, (lo, hi), 0.0, log_ratio_, (lo, hi), None, None, text)
    row = {"ratio": math.exp(log_ratio_), "ci": [math.exp(lo), math.exp(hi)]}
    return Part(name, description, decision, [row], method="less-than")


# -- facts ---------------------------------------------------------------------------------------------------------
def exact_part(
    name: str,
    description: str,
    ok: bool,
    measured: float,
    predicted: float,
    text: str,
    table: list[dict[str, Any]] | None = None,
) -> Part:
    """A graph/identity fact: verified if it holds exactly (to round-off), else refuted."""
    dev = measured - predicted
    decision = Decision(
        "verified" if ok else "refuted",
        measured,
        0.0,
        (measured, measured),
        predicted,
        dev,
        (dev, dev),
        None,
        None,
        text,
    )
    return Part(name, description, decision, table or [], method="exact")


def fixed_verdict_part(
    name: str,
    description: str,
    verdict: str,
    text: str,
    table: list[dict[str, Any]] | None = None,
    *,
    method: str = "exact",
) -> Part:
    """A part whose verdict follows from a computed fact (e.g. (S) holds or not), a search or an attack."""
    decision = Decision(verdict, None, None, None, None, None, None, None, None, text)
    return Part(name, description, decision, table or [], method=method)
