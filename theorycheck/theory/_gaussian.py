"""Norms of a Gaussian vector with independent coordinates ``g_i ~ N(0, v_i)``.

Used to turn the predicted map ``v_i = E[g_i²]`` into predictions for
``E‖g‖₁`` and ``E‖g‖_∞`` (Theorem 3, eq. 7 of Simon-Gabriel et al. 2019,
``‖∂ₓL‖_q ∝ d^{1/q-1/2}``). Coordinates are treated as independent Gaussians:
an approximation, stated as such wherever it is reported.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["expected_l1", "expected_linf", "linf_asymptote"]


def expected_l1(v: NDArray[np.float64]) -> float:
    """``E‖g‖₁ = Σ_i sqrt(2 v_i / π)``."""
    return float(np.sqrt(2.0 * np.asarray(v) / math.pi).sum())


def expected_linf(v: NDArray[np.float64]) -> float:
    """``E max_i |g_i| = ∫_0^∞ (1 − Π_i erf(t / sqrt(2 v_i))) dt`` by quadrature.

    For equal variances ``σ²`` it grows like ``σ sqrt(2 ln(2d))``
    (:func:`linf_asymptote`), so ``‖g‖_∞`` does not scale as a pure power of d.
    """
    from scipy import integrate, special  # imported here: `theorycheck predict` starts without scipy

    values, counts = np.unique(np.asarray(v, dtype=np.float64).ravel(), return_counts=True)
    keep = values > 0
    values, counts = values[keep], counts[keep]
    if values.size == 0:
        return 0.0
    sigma = np.sqrt(values)

    def tail(t: float) -> float:
        log_cdf = counts * np.log(np.maximum(special.erf(t / (math.sqrt(2.0) * sigma)), 1e-300))
        return float(-np.expm1(log_cdf.sum()))

    peak = float(sigma.max()) * math.sqrt(2.0 * math.log(2.0 * counts.sum() + 1.0))
    pieces = [(0.0, peak), (peak, 2.0 * peak + 10.0 * float(sigma.max()))]
    total = sum(integrate.quad(tail, a, b, limit=200, epsabs=0.0, epsrel=1e-10)[0] for a, b in pieces)
    return float(total)


def linf_asymptote(sigma: float, d: int) -> float:
    """Leading growth ``σ sqrt(2 ln(2d))`` of the maximum of ``d`` half-normals."""
    return sigma * math.sqrt(2.0 * math.log(2.0 * d))
