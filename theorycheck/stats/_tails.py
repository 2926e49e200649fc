"""Can this sample support an interval? A tail diagnostic for per-network values.

Every interval the verdicts use (Student-t over networks, BCa bootstrap, HC1 errors of a GLM fit, delta-method
ratios) rests on the central limit theorem for the mean over networks, which needs a finite variance and, at a
given n, a tail that the sample has actually explored. Per-network squared Jacobians of deep narrow ReLU nets
are close to log-normal with log-variance ≈ 5 Σ 1/width (Hanin & Nica 2019): at width 4 and depth 10 a few
networks carry most of the total, and the 95% t-interval of E[(∂f/∂x_i)²] covers the exact value in about
a third of the seeds (measured, ``benchmarks/CALIBRATION.md``).

The diagnostic is Hill's (1975) estimator of the tail index from the ``k = max(10, ⌈√n⌉)`` largest absolute
values,

    α̂ = 1 / mean_{i<k} log(x_(i) / x_(k)),

(x_(1) ≥ x_(2) ≥ … the order statistics). A tail with index α has moments of order < α only, so α̂ < 2 says
the sample behaves as if the variance did not exist, and no interval built from it is trusted: the verdict is
*inconclusive*, never *refuted*. The report also gives the share of the total carried by those k networks and
the effective sample size ``n_eff = (Σ|x|)² / Σx²`` (Kong 1992); ``networks_needed`` extrapolates
``n_eff ∝ n`` (which holds for a finite variance) to the ``n_eff`` that the threshold needs, as a lower bound.

When the theory engine predicts the values' skewness ``γ₁`` exactly (:func:`theorycheck.theory.gradient_tail`:
Gaussian dense/ReLU chains), the sample is not asked to reveal its own tail: a sample can miss the rare large
networks and look light-tailed (the calibration measured 88% coverage among the replicates that Hill's index let
through at 200 networks of ``[dense(16) relu]*4``). The rule is then Cochran's, as refined by Sugden, Smith &
Jones (2000, *J. R. Statist. Soc. B* 62, 787–793): a normal interval for a mean needs

    n > 28 + 25 γ₁²

(Cochran 1977, *Sampling Techniques*, §2.15: so that a 95% statement is wrong at most about 6% of the time).
Hill's index stays the diagnostic wherever the theory gives no skewness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["MIN_TAIL_INDEX", "SkewnessRule", "TailDiagnostic", "cochran_networks", "skewness_rule", "tail_diagnostic"]

#: Hill's α̂ below which the sample cannot support an interval (the variance would not exist)
MIN_TAIL_INDEX = 2.0
#: effective sample size asked of a heavy sample before more networks are likely to help (a lower bound)
TARGET_N_EFF = 400


@dataclass(frozen=True)
class TailDiagnostic:
    """Whether a sample of per-network values supports an interval, and why."""

    n: int
    k: int
    tail_index: float
    top_share: float
    n_eff: float
    supported: bool
    networks_needed: int | None

    def reason(self) -> str:
        """One sentence for a verdict's explanation."""
        if self.supported:
            return f"tail index α̂ = {self.tail_index:.3g} ≥ {MIN_TAIL_INDEX:g} (Hill, top {self.k} of {self.n})"
        more = f"; at least {self.networks_needed} networks would be needed" if self.networks_needed else ""
        return (
            f"heavy tail: the largest {self.k} of {self.n} networks carry {self.top_share:.0%} of the total and the "
            f"tail index is α̂ = {self.tail_index:.3g} < {MIN_TAIL_INDEX:g} (Hill), effective sample size "
            f"{self.n_eff:.3g}: the sample cannot support an interval{more}"
        )

    def to_dict(self) -> dict[str, float | int | bool | None]:
        return {
            "n": self.n,
            "k": self.k,
            "tail_index": self.tail_index,
            "top_share": self.top_share,
            "n_eff": self.n_eff,
            "supported": self.supported,
            "networks_needed": self.networks_needed,
        }


def tail_diagnostic(values: ArrayLike) -> TailDiagnostic:
    """Hill's tail index of ``|values|`` from the ``max(10, ⌈√n⌉)`` largest, and the effective sample size.

    Samples of fewer than 20 values, or whose top ``k`` are all equal (a bounded or discrete tail), are
    reported as supported with α̂ = ∞.
    """
    x = np.abs(np.asarray(values, dtype=np.float64).ravel())
    n = int(x.size)
    total, squares = float(x.sum()), float((x**2).sum())
    n_eff = total**2 / squares if squares > 0 else float(n)
    k = max(10, math.ceil(math.sqrt(n)))
    if n < 2 * k:
        return TailDiagnostic(n, k, math.inf, 1.0 if n else 0.0, n_eff, True, None)
    top = np.sort(x)[::-1][: k + 1]
    share = float(top[:k].sum() / total) if total > 0 else 0.0
    if top[k] <= 0 or top[0] == top[k]:
        return TailDiagnostic(n, k, math.inf, share, n_eff, True, None)
    alpha = float(1.0 / np.mean(np.log(top[:k] / top[k])))
    supported = alpha >= MIN_TAIL_INDEX
    needed = None if supported else max(2 * n, math.ceil(n * TARGET_N_EFF / max(n_eff, 1e-9)))
    return TailDiagnostic(n, k, alpha, share, n_eff, supported, needed)


def cochran_networks(skewness: float) -> int:
    """The smallest ``n`` with ``n > 28 + 25 γ₁²`` (Sugden, Smith & Jones 2000)."""
    return math.floor(28 + 25 * skewness**2) + 1


@dataclass(frozen=True)
class SkewnessRule:
    """Whether ``n`` values whose skewness the theory predicts exactly support a normal interval."""

    n: int
    skewness: float
    supported: bool
    networks_needed: int | None

    def reason(self) -> str:
        if self.supported:
            need = cochran_networks(self.skewness)
            return f"predicted skewness γ₁ = {self.skewness:.3g}: n = {self.n} ≥ {need} (Cochran's rule)"
        if self.networks_needed is None:
            return (
                f"heavy tail predicted by the theory: the per-network values have skewness γ₁ = {self.skewness:.3g}, "
                "so no finite number of networks supports a normal interval"
            )
        return (
            f"heavy tail predicted by the theory: the per-network values have skewness γ₁ = {self.skewness:.3g} "
            f"(exact, from the graph), and a normal interval needs n > 28 + 25γ₁² (Cochran's rule, Sugden et al. "
            f"2000) but the sample has {self.n}; at least {self.networks_needed} networks would be needed"
        )

    def to_dict(self) -> dict[str, float | int | bool | str | None]:
        return {
            "n": self.n,
            "skewness": self.skewness,
            "supported": self.supported,
            "networks_needed": self.networks_needed,
            "rule": "n > 28 + 25 γ₁² (Cochran; Sugden, Smith & Jones 2000)",
        }


def skewness_rule(n: int, skewness: float) -> SkewnessRule:
    """Cochran's rule for ``n`` values of exactly known skewness ``γ₁``."""
    need = cochran_networks(skewness) if math.isfinite(skewness) else None
    supported = need is not None and n >= need
    return SkewnessRule(n, skewness, supported, None if supported else need)
