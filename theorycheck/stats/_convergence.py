"""Convergence with the number of networks, for the report's figures: the running estimate and its 95% interval
after 50, 100, 200, … networks."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from theorycheck.stats._estimators import running_means

__all__ = ["mean_convergence", "slope_convergence"]

#: the 97.5% normal quantile of the figures' 95% intervals
Z95 = float(sps.norm.ppf(0.975))


def _sizes(n: int) -> list[int]:
    out, k = [], 50
    while k < n:
        out.append(k)
        k *= 2
    return [*out, n]


def mean_convergence(values: np.ndarray) -> list[dict[str, float]]:
    """Running mean with its 95% CI after 50, 100, 200, … networks."""
    return [
        {"n": float(n), "estimate": est.mean, "lo": est.ci[0], "hi": est.ci[1]}
        for n, est in running_means(values, _sizes(len(values)))
    ]


def slope_convergence(xs: list[np.ndarray], ys: list[np.ndarray]) -> list[dict[str, float]]:
    """Slope of log level-means on log level (delta-method WLS) using the first n networks per level."""
    out = []
    for n in _sizes(min(len(y) for y in ys)):
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
                "lo": float(beta[1] - Z95 * se),
                "hi": float(beta[1] + Z95 * se),
            }
        )
    return out
