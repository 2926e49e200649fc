"""Building blocks shared by the claims: cells, fits and decisions."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from theorycheck.claims._base import Cell, CellData, Part
from theorycheck.stats import (
    Decision,
    Margins,
    SkewnessRule,
    TailDiagnostic,
    alpha_share,
    decide,
    fit_power_law,
    fit_ratio_power_law,
    mean_ci,
    robust_mean_ci,
    skewness_rule,
    tail_diagnostic,
)
from theorycheck.theory._tails import gradient_tail

__all__ = [
    "CONSTANT",
    "EXPONENT",
    "less_than_part",
    "mean_part",
    "paired_ratio_part",
    "predicted_skewness",
    "ratio_scaling_part",
    "sample_cell",
    "scaling_part",
    "supported_decision",
]

#: default tolerance for exponents (absolute) and constants (relative)
EXPONENT = Margins("absolute", margin=0.05, band=0.15)
CONSTANT = Margins("relative", margin=0.05, band=0.20)


def sample_cell(claim: str, role: str, label: str, arch: str, shape: str, networks: int, **kwargs: Any) -> Cell:
    """A sampler cell named ``role/label``."""
    return Cell(claim, f"{role}/{label}", "sample", {"arch": arch, "input": shape, **kwargs}, networks)


def _sizes(n: int) -> list[int]:
    out, k = [], 50
    while k < n:
        out.append(k)
        k *= 2
    return [*out, n]


def mean_convergence(values: np.ndarray) -> list[dict[str, float]]:
    """Running mean with its 95% CI after 50, 100, 200, … networks."""
    out = []
    for n in _sizes(len(values)):
        est = mean_ci(values[:n]) if n >= 2 else None
        if est is not None:
            out.append({"n": float(n), "estimate": est.mean, "lo": est.ci[0], "hi": est.ci[1]})
    return out


def slope_convergence(xs: list[np.ndarray], ys: list[np.ndarray]) -> list[dict[str, float]]:
    """Slope of log level-means on log level (delta-method WLS) using the first n networks per level."""
    out = []
    smallest = min(len(y) for y in ys)
    for n in _sizes(smallest):
        if n < 10:
            continue
        lv = np.array([x[0] for x in xs], dtype=np.float64)
        means = np.array([y[:n].mean() for y in ys])
        if (means <= 0).any():
            continue
        var = np.array([y[:n].var(ddof=1) / n / y[:n].mean() ** 2 for y in ys])
        design = np.column_stack([np.ones_like(lv), np.log(lv)])
        w = 1.0 / np.maximum(var, 1e-300)
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
        beta = cov @ (design.T @ (w * np.log(means)))
        se = math.sqrt(cov[1, 1])
        out.append(
            {
                "n": float(n),
                "estimate": float(beta[1]),
                "lo": float(beta[1] - 1.96 * se),
                "hi": float(beta[1] + 1.96 * se),
            }
        )
    return out


def predicted_skewness(arch: str, shape: str) -> float | None:
    """The exact skewness of one logit's per-network ``‖∂f/∂x‖²`` (and of ``coord_var``, a multiple of it), from
    the graph (:func:`theorycheck.theory.gradient_tail`), or None where the theory does not cover the graph."""
    return _skewness(str(arch), str(shape))


@functools.lru_cache(maxsize=1024)
def _skewness(arch: str, shape: str) -> float | None:
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


def scaling_part(
    name: str,
    description: str,
    data: CellData,
    cells: Sequence[tuple[float, str]],
    value: Callable[[pd.DataFrame, float], np.ndarray],
    predicted: float,
    margins: Margins = EXPONENT,
) -> Part:
    """Fit ``E[value] ∝ level^slope`` over ``(level, cell name)`` pairs and judge the slope."""
    xs, ys, table = [], [], []
    for level, cell in cells:
        y = np.asarray(value(data[cell], level), dtype=np.float64)
        xs.append(np.full(y.size, level))
        ys.append(y)
        est = robust_mean_ci(y)
        table.append({"level": level, "mean": est.mean, "ci": list(est.ci), "n": est.n, "cell": cell})
    fit = fit_power_law(np.concatenate(xs), np.concatenate(ys))
    decision = supported_decision(decide(fit.slope, fit.slope_se, predicted, margins), ys)
    return Part(name, description, decision, table, fit.to_dict(), slope_convergence(xs, ys), method="slope")


def ratio_scaling_part(
    name: str,
    description: str,
    data: CellData,
    cells: Sequence[tuple[float, str, str]],
    value: Callable[[pd.DataFrame], np.ndarray],
    predicted: float,
    margins: Margins = EXPONENT,
) -> Part:
    """Slope of ``E[treated]/E[reference]`` against the level, over ``(level, treated, reference)`` cells."""
    levels = [lv for lv, _, _ in cells]
    treated = [np.asarray(value(data[t]), dtype=np.float64) for _, t, _ in cells]
    reference = [np.asarray(value(data[r]), dtype=np.float64) for _, _, r in cells]
    fit = fit_ratio_power_law(levels, treated, reference)
    table = []
    for lv, t, r in zip(levels, treated, reference, strict=True):
        lr = math.log(t.mean() / r.mean())
        se = math.sqrt(t.var(ddof=1) / t.size / t.mean() ** 2 + r.var(ddof=1) / r.size / r.mean() ** 2)
        table.append(
            {
                "level": lv,
                "ratio": math.exp(lr),
                "ci": [math.exp(lr - 1.96 * se), math.exp(lr + 1.96 * se)],
                "n": int(t.size + r.size),
            }
        )
    decision = supported_decision(decide(fit.slope, fit.slope_se, predicted, margins), [*treated, *reference])
    return Part(name, description, decision, table, fit.to_dict(), method="ratio-slope")


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
    """Judge the mean over networks of ``values`` against ``predicted`` (``skewness``: the theory's, if known)."""
    values = np.asarray(values, dtype=np.float64)
    est = robust_mean_ci(values)
    se = (est.ci[1] - est.ci[0]) / (2 * 1.959963984540054)
    decision = supported_decision(decide(est.mean, se, predicted, margins), [values], skewness=[skewness])
    return Part(name, description, decision, table or [], None, mean_convergence(values), method="mean")


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


def less_than_part(name: str, description: str, log_ratio: float, se: float, *, alpha: float = 0.05) -> Part:
    """Inequality ``E[a] < E[b]`` from ``log(ā/b̄) ± se``: verified if the whole CI is below 0,
    refuted if the whole CI is at or above 0, else inconclusive."""
    z = float(sps.norm.ppf(1 - alpha * alpha_share() / 2))  # α/J per look inside a study's sequential looks
    lo, hi = log_ratio - z * se, log_ratio + z * se
    if hi < 0:
        verdict, why = "verified", "the whole CI of log(ratio) is below 0"
    elif lo >= 0:
        verdict, why = "refuted", "the whole CI of log(ratio) is at or above 0: the inequality is reversed"
    else:
        verdict, why = "inconclusive", "the CI of log(ratio) contains 0"
    level = 100 * (1 - alpha * alpha_share())
    text = f"{why}; ratio {math.exp(log_ratio):.4g}, {level:.4g}% CI [{math.exp(lo):.4g}, {math.exp(hi):.4g}]"
    decision = Decision(verdict, log_ratio, se, (lo, hi), 0.0, log_ratio, (lo, hi), None, None, text)
    row = {"ratio": math.exp(log_ratio), "ci": [math.exp(lo), math.exp(hi)]}
    return Part(name, description, decision, [row], method="less-than")


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
    verdict = "verified" if ok else "refuted"
    decision = Decision(
        verdict,
        measured,
        0.0,
        (measured, measured),
        predicted,
        measured - predicted,
        (measured - predicted, measured - predicted),
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
