"""Power-law regressions: ``E[y] ∝ x^b``, fitted on per-network values.

Primary: a GLM with Gamma family and log link, ``log E[y] = a + b log x``, on
one value per network (the unit of replication), with heteroscedasticity-robust
(HC1) standard errors. When some values are exactly 0 (e.g. a saturated softmax
makes a loss gradient vanish), the Gamma likelihood does not exist; the same
log-linear mean is then fitted by Poisson pseudo-maximum likelihood (Santos
Silva & Tenreyro 2006), also with HC1 errors, and the diagnostics say so.
Cross-check: weighted least squares of the log of each level's mean on ``log x``, weighted by the delta-method variance
``Var[log ȳ] ≈ se(ȳ)² / ȳ²``. Both estimate the exponent of the *mean*.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm
from numpy.typing import ArrayLike
from scipy import stats as sps

__all__ = ["PowerLawFit", "fit_power_law", "fit_ratio_power_law", "log_ratio"]


@dataclass(frozen=True)
class PowerLawFit:
    """Slope (exponent), its CI, the intercept and diagnostics of one fit."""

    method: str
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    intercept: float
    n_obs: int
    n_levels: int
    diagnostics: dict[str, float] = field(default_factory=dict)
    cross_check: PowerLawFit | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "slope": self.slope,
            "slope_se": self.slope_se,
            "slope_ci": list(self.slope_ci),
            "intercept": self.intercept,
            "n_obs": self.n_obs,
            "n_levels": self.n_levels,
            "diagnostics": self.diagnostics,
        }
        if self.cross_check is not None:
            out["cross_check"] = self.cross_check.to_dict()
        return out


def _z(level: float) -> float:
    return float(sps.norm.ppf(0.5 + level / 2))


def _wls_log_means(x: np.ndarray, y: np.ndarray, level: float) -> PowerLawFit:
    levels = np.unique(x)
    means = np.array([y[x == v].mean() for v in levels])
    ses = np.array([y[x == v].std(ddof=1) / math.sqrt((x == v).sum()) for v in levels])
    var_log = (ses / means) ** 2
    design = sm.add_constant(np.log(levels))
    res = sm.WLS(np.log(means), design, weights=1.0 / var_log).fit()
    # the weights are known variances: use them as such (scale 1), not re-estimated
    cov = np.linalg.inv(design.T @ (design / var_log[:, None]))
    se = float(math.sqrt(cov[1, 1]))
    z = _z(level)
    chi2 = float(np.sum(res.resid**2 / var_log))
    dof = max(1, len(levels) - 2)
    return PowerLawFit(
        "WLS of log level-means (delta-method weights)",
        float(res.params[1]),
        se,
        (float(res.params[1]) - z * se, float(res.params[1]) + z * se),
        float(res.params[0]),
        int(y.size),
        len(levels),
        {"chi2": chi2, "dof": float(dof), "lack_of_fit_p": float(sps.chi2.sf(chi2, dof)) if len(levels) > 2 else 1.0},
    )


def fit_power_law(x: ArrayLike, y: ArrayLike, *, level: float = 0.95, groups: ArrayLike | None = None) -> PowerLawFit:
    """Fit ``E[y] = exp(a) x^b`` to per-network values ``y`` observed at levels ``x``.

    ``groups`` (one label per value) clusters the standard errors: values with one label come from one network
    measured at several levels (a trained network at several steps), so they are not independent; the slope's
    SE is then the cluster-robust sandwich (Liang & Zeger 1986) instead of HC1, and the WLS cross-check, which
    assumes independent levels, is left out."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError("x and y must have the same length")
    if (ya < 0).any() or not np.isfinite(ya).all():
        raise ValueError("a power-law fit needs non-negative finite values")
    if np.unique(xa).size < 2:
        raise ValueError("a power-law fit needs at least two levels")
    design = sm.add_constant(np.log(xa))
    zeros = int((ya == 0).sum())
    family = (
        sm.families.Poisson(link=sm.families.links.Log()) if zeros else sm.families.Gamma(link=sm.families.links.Log())
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GLM(ya / ya.mean(), design, family=family)
        if groups is None:
            res = model.fit(cov_type="HC1")
        else:
            labels = np.unique(np.asarray(groups).ravel(), return_inverse=True)[1]
            res = model.fit(cov_type="cluster", cov_kwds={"groups": labels})
    slope, se = float(res.params[1]), float(res.bse[1])
    z = _z(level)
    diag = {
        "zeros": float(zeros),
        "deviance": float(res.deviance),
        "pseudo_r2": float(1 - res.deviance / res.null_deviance) if res.null_deviance > 0 else float("nan"),
        "scale": float(res.scale),
    }
    levels_positive = all(ya[xa == v].mean() > 0 for v in np.unique(xa))
    cross = _wls_log_means(xa, ya, level) if levels_positive and groups is None else None
    robust = "HC1 robust SE" if groups is None else "SE clustered by network"
    method = (
        f"GLM Poisson pseudo-likelihood (zeros present), log link, {robust}"
        if zeros
        else f"GLM Gamma, log link, {robust}"
    )
    return PowerLawFit(
        method,
        slope,
        se,
        (slope - z * se, slope + z * se),
        float(res.params[0]) + math.log(ya.mean()),
        int(ya.size),
        int(np.unique(xa).size),
        diag,
        cross,
    )


def log_ratio(a: ArrayLike, b: ArrayLike) -> tuple[float, float]:
    """``log(ā / b̄)`` of two independent samples and its delta-method standard error."""
    aa = np.asarray(a, dtype=np.float64)
    bb = np.asarray(b, dtype=np.float64)
    value = math.log(aa.mean() / bb.mean())
    se = math.sqrt(aa.var(ddof=1) / aa.size / aa.mean() ** 2 + bb.var(ddof=1) / bb.size / bb.mean() ** 2)
    return value, se


def fit_ratio_power_law(
    levels: ArrayLike, treated: list[np.ndarray], reference: list[np.ndarray], *, level: float = 0.95
) -> PowerLawFit:
    """Exponent b of ``E[treated]/E[reference] ∝ n^b`` across levels ``n`` (two independent arms per level).

    Primary: GLM Gamma/log on all per-network values with a free intercept per
    level, and for the treated arm an intercept plus ``log n`` as the slope
    regressor, so ``log ratio = c + b log n`` as in the cross-check (HC1 SE).
    Cross-check: WLS of the per-level log ratios (delta-method SE) on ``log n``.
    """
    lv = np.asarray(levels, dtype=np.float64)
    ys, cols = [], []
    for i, (t, r) in enumerate(zip(treated, reference, strict=True)):
        for arr, is_t in ((t, 1.0), (r, 0.0)):
            arr = np.asarray(arr, dtype=np.float64)
            onehot = np.zeros((arr.size, lv.size))
            onehot[:, i] = 1.0
            ys.append(arr)
            cols.append(np.column_stack([onehot, np.full(arr.size, is_t), np.full(arr.size, is_t * math.log(lv[i]))]))
    y = np.concatenate(ys)
    design = np.vstack(cols)
    family = (
        sm.families.Poisson(link=sm.families.links.Log())
        if (y == 0).any()
        else sm.families.Gamma(link=sm.families.links.Log())
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y / y.mean(), design, family=family).fit(cov_type="HC1")
    slope, se = float(res.params[-1]), float(res.bse[-1])
    z = _z(level)
    ratios = [log_ratio(t, r) for t, r in zip(treated, reference, strict=True)]
    lr = np.array([v for v, _ in ratios])
    lse = np.array([s for _, s in ratios])
    xd = sm.add_constant(np.log(lv))
    cov = np.linalg.inv(xd.T @ (xd / lse[:, None] ** 2))
    wls = sm.WLS(lr, xd, weights=1.0 / lse**2).fit()
    w_se = float(math.sqrt(cov[1, 1]))
    cross = PowerLawFit(
        "WLS of per-level log ratios (delta-method weights)",
        float(wls.params[1]),
        w_se,
        (float(wls.params[1]) - z * w_se, float(wls.params[1]) + z * w_se),
        float(wls.params[0]),
        int(y.size),
        int(lv.size),
        {"log_ratios": float(len(lr))},
    )
    return PowerLawFit(
        "GLM Gamma, log link, per-level intercepts, HC1 robust SE",
        slope,
        se,
        (slope - z * se, slope + z * se),
        float(res.params[-2]),
        int(y.size),
        int(lv.size),
        {"deviance": float(res.deviance)},
        cross,
    )
