"""Estimators with confidence intervals clustered by network.

The unit of replication is one sampled network: its d gradient coordinates are
not independent samples, so every statistic is first reduced to one value per
network and the interval is a Student-t interval over networks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

__all__ = ["Estimate", "mean_ci", "relative_deviation", "running_means"]


@dataclass(frozen=True)
class Estimate:
    """A mean over networks with its confidence interval."""

    mean: float
    ci: tuple[float, float]
    se: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.ci[1] - self.ci[0]) / 2

    @property
    def interval_se(self) -> float:
        """The standard error with which a normal interval at this level is this interval: ``half_width / z``.
        A decision (:func:`theorycheck.stats.decide`, normal quantiles) given it reproduces the Student-t
        interval exactly; ``se`` itself is the plain ``s/√n``."""
        return self.half_width / float(sps.norm.ppf(0.5 + self.level / 2))


def mean_ci(values: ArrayLike, *, level: float = 0.95) -> Estimate:
    """Mean of per-network values with a Student-t interval: ``x̄ ± t_{n−1} s/√n``."""
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if n < 2:
        raise ValueError("a confidence interval needs at least two networks")
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n))
    t = float(sps.t.ppf(0.5 + level / 2, df=n - 1))
    return Estimate(mean, (mean - t * se, mean + t * se), se, n, level)


def relative_deviation(est: Estimate, predicted: float | None) -> tuple[float, tuple[float, float]] | None:
    """``(mean − predicted)/predicted`` and its interval; None without a (non-zero) prediction."""
    if predicted is None or predicted == 0 or not math.isfinite(predicted):
        return None
    rel = (est.mean - predicted) / predicted
    lo, hi = sorted(((est.ci[0] - predicted) / predicted, (est.ci[1] - predicted) / predicted))
    return rel, (lo, hi)


def running_means(values: ArrayLike, sizes: Sequence[int], *, level: float = 0.95) -> Iterator[tuple[int, Estimate]]:
    """The estimate after the first ``n`` networks, for each ``n`` in ``sizes`` (convergence plots)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    for n in sizes:
        if 2 <= n <= x.size:
            yield n, mean_ci(x[:n], level=level)


#: bootstrap resamples drawn per batch (memory: batch × n indices)
_BOOTSTRAP_BATCH = 200


def bootstrap_mean_ci(values: ArrayLike, *, level: float = 0.95, seed: int = 0, resamples: int = 2000) -> Estimate:
    """BCa bootstrap interval of the mean over networks, for heavy-tailed statistics (Efron 1987, JASA 82:171).

    The same algorithm and resampling stream as ``scipy.stats.bootstrap(..., method="BCa")`` (the tests check
    agreement), with the jackknife of the mean in closed form, ``θ₍ᵢ₎ = (Σx − xᵢ)/(n − 1)``: O(n) instead of
    scipy's O(n²) leave-one-out samples (25 s for 32,000 networks).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if n < 2:
        raise ValueError("a confidence interval needs at least two networks")
    rng = np.random.default_rng(seed)
    means = np.concatenate(
        [
            x[rng.integers(0, n, (min(_BOOTSTRAP_BATCH, resamples - b), n))].mean(axis=-1)
            for b in range(0, resamples, _BOOTSTRAP_BATCH)
        ]
    )
    theta = float(x.mean())
    z0 = sps.norm.ppf(((means < theta).sum() + (means <= theta).sum()) / (2 * resamples))
    jack = (x.sum() - x) / (n - 1)
    dev = jack.mean() - jack
    spread = float((dev**2).sum())
    accel = float((dev**3).sum()) / (6 * spread**1.5) if spread > 0 else 0.0
    z_lo, z_hi = sps.norm.ppf((1 - level) / 2), sps.norm.ppf((1 + level) / 2)
    q_lo = sps.norm.cdf(z0 + (z0 + z_lo) / (1 - accel * (z0 + z_lo)))
    q_hi = sps.norm.cdf(z0 + (z0 + z_hi) / (1 - accel * (z0 + z_hi)))
    lo, hi = np.percentile(means, [100 * q_lo, 100 * q_hi])
    return Estimate(theta, (float(lo), float(hi)), float(means.std(ddof=1)), n, level)
