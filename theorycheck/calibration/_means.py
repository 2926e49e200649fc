"""Measured coverage of the intervals behind the verdicts, where the truth is known exactly.

A verdict is worth what its error rates are. For each *setting* (an architecture, a statistic, a number of
networks per replicate and the exact value of its expectation) this draws ``R × n`` networks once, splits them
into ``R`` independent replicates of ``n`` networks, builds each interval method on each replicate, and reports
the fraction of 95% intervals that contain the truth, with its own Clopper–Pearson 95% interval. Replicates
whose sample fails the verdicts' tail diagnostic are counted apart (Cochran's rule with the theory's exact skewness
where :func:`theorycheck.theory.gradient_tail` covers the graph, else Hill's index,
:func:`theorycheck.stats.tail_diagnostic`): the verdicts never use their intervals, so coverage is reported over the
replicates that pass, next to the share that passed.

Exact truths (He init, ReLU, no pooling, so eq. 13 holds exactly at any width; Simon-Gabriel et al. 2019):
``E‖∂ₓf‖₂² = 2`` for an FC net whose logit layer has gain 2 (``= 1`` with gain 1), and the exponent −1 of
``E[(∂f/∂x_i)²]`` against ``d``. The deep narrow nets are the heavy-tailed cases.

Run ``theorycheck calibrate`` (full table, R = 500) or ``--replicates 200 --quick`` (CI-sized).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from theorycheck.calibration._rows import CoverageRow
from theorycheck.claims._parts import predicted_skewness
from theorycheck.sampler import sample
from theorycheck.stats import (
    SkewnessRule,
    bootstrap_mean_ci,
    fit_power_law,
    mean_ci,
    skewness_rule,
    tail_diagnostic,
)

__all__ = ["METHODS", "SETTINGS", "SLOPE_METHODS", "Setting", "coverage", "run_calibration"]

#: an interval method for a mean: values → (lo, hi)
MeanInterval = Callable[[np.ndarray], tuple[float, float]]


def _t(x: np.ndarray) -> tuple[float, float]:
    return mean_ci(x).ci


def _bca(x: np.ndarray) -> tuple[float, float]:
    return bootstrap_mean_ci(x, resamples=1000).ci


#: the interval methods for a mean: the verdicts' (Student-t) and the BCa bootstrap they used above an excess
#: kurtosis of 20 until its coverage was measured here (at or below the t-interval's everywhere)
METHODS: dict[str, MeanInterval] = {"student-t (verdicts)": _t, "BCa bootstrap (not used)": _bca}
#: the interval methods for an exponent: the verdicts' GLM and its cross-check
SLOPE_METHODS = ("GLM Gamma/log, HC1 (slope)", "WLS of log level-means (slope)")


@dataclass(frozen=True)
class Setting:
    """An architecture family with an exactly known expectation.

    ``dims`` with one entry: the mean of ``sq_norm`` (truth ``truth``); with several: the exponent of
    ``E[coord_var]`` against ``d`` (truth ``truth``), by the GLM (HC1) and its WLS cross-check.
    """

    name: str
    arch: str
    dims: tuple[int, ...]
    truth: float
    networks: int
    quick: bool = True


SETTINGS: list[Setting] = [
    Setting("FC He constant, n=200", "dense(64) relu dense(64) relu dense(1)", (16,), 2.0, 200),
    Setting("FC He constant, n=2000", "dense(64) relu dense(64) relu dense(1)", (16,), 2.0, 2000, quick=False),
    Setting("FC gain-1 logits, n=200", "dense(64) relu dense(64) relu dense(1,gain=1)", (50,), 1.0, 200),
    Setting("FC slope in d, n=200 per d", "dense(64) relu dense(64) relu dense(1)", (16, 64, 256), -1.0, 200),
    Setting(
        "FC slope in d, n=2000 per d", "dense(64) relu dense(64) relu dense(1)", (16, 64, 256), -1.0, 2000, quick=False
    ),
    Setting("moderate tail [dense(16) relu]*4, n=200", "[dense(16) relu]*4 dense(1)", (8,), 2.0, 200, quick=False),
    Setting("moderate tail [dense(16) relu]*4, n=2000", "[dense(16) relu]*4 dense(1)", (8,), 2.0, 2000, quick=False),
    Setting("Cochran boundary [dense(32) relu]*3, n=300", "[dense(32) relu]*3 dense(1)", (8,), 2.0, 300, quick=False),
    Setting("deep narrow [dense(4) relu]*10, n=200", "[dense(4) relu]*10 dense(1)", (8,), 2.0, 200),
    Setting("deep narrow [dense(4) relu]*10, n=2000", "[dense(4) relu]*10 dense(1)", (8,), 2.0, 2000, quick=False),
]


def _replicates(setting: Setting, d: int, replicates: int, seed: int) -> np.ndarray:
    """(R, n) per-network values: ‖∂f‖₂² for a constant, coord_var for a slope."""
    res = sample(setting.arch, str(d), networks=replicates * setting.networks, seed=seed, method="explicit")
    column = "sq_norm" if len(setting.dims) == 1 else "coord_var"
    return res.column("logit", column).reshape(replicates, setting.networks)


def _predicted_rule(setting: Setting, d: int) -> SkewnessRule | None:
    """Cochran's rule with the theory's exact skewness (the verdicts' diagnostic where the theory covers the graph),
    or None: Hill's index of each replicate decides."""
    gamma = predicted_skewness(setting.arch, str(d))
    return None if gamma is None else skewness_rule(setting.networks, gamma)


def coverage(
    setting: Setting,
    *,
    replicates: int,
    seed: int = 20261202,
    methods: dict[str, MeanInterval] | None = None,
) -> list[CoverageRow]:
    """Coverage of each method over ``replicates`` independent replicates of ``setting``."""
    rules = [_predicted_rule(setting, d) for d in setting.dims]
    if any(r is not None and not r.supported for r in rules):  # the theory stops every replicate: nothing to draw
        names = list((methods or METHODS) if len(setting.dims) == 1 else SLOPE_METHODS)
        return [CoverageRow(setting.name, name, replicates, 0, 0, 0.0) for name in names]
    data = [_replicates(setting, d, replicates, seed + i) for i, d in enumerate(setting.dims)]
    passed = np.array(
        [
            all(
                rule is not None or tail_diagnostic(block[r]).supported for block, rule in zip(data, rules, strict=True)
            )
            for r in range(replicates)
        ],
        dtype=bool,
    )
    rows = []
    if len(setting.dims) == 1:
        for name, method in (methods or METHODS).items():
            t0 = time.perf_counter()
            hits = [lo <= setting.truth <= hi for lo, hi in (method(data[0][r]) for r in np.flatnonzero(passed))]
            rows.append(
                CoverageRow(setting.name, name, replicates, int(passed.sum()), sum(hits), time.perf_counter() - t0)
            )
        return rows
    hits_glm, hits_wls = [], []
    t0 = time.perf_counter()
    for r in np.flatnonzero(passed):
        xs = np.concatenate([np.full(setting.networks, float(d)) for d in setting.dims])
        ys = np.concatenate([block[r] for block in data])
        fit = fit_power_law(xs, ys)
        hits_glm.append(fit.slope_ci[0] <= setting.truth <= fit.slope_ci[1])
        cross = fit.cross_check
        if cross is not None:
            hits_wls.append(cross.slope_ci[0] <= setting.truth <= cross.slope_ci[1])
    seconds = time.perf_counter() - t0
    n_passed = int(passed.sum())
    glm, wls = SLOPE_METHODS
    rows.append(CoverageRow(setting.name, glm, replicates, n_passed, sum(hits_glm), seconds))
    rows.append(CoverageRow(setting.name, wls, replicates, len(hits_wls), sum(hits_wls), 0))
    return rows


def run_calibration(
    *, replicates: int, quick: bool = False, progress: Callable[[str], None] | None = None
) -> list[CoverageRow]:
    """Every setting (the quick ones only with ``quick``)."""
    rows: list[CoverageRow] = []
    for setting in SETTINGS:
        if quick and not setting.quick:
            continue
        if progress:
            progress(setting.name)
        rows.extend(coverage(setting, replicates=replicates))
    return rows
