"""Regressions, equivalence tests and verdict rules on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sps

from theorycheck.stats import (
    Margins,
    bootstrap_mean_ci,
    decide,
    fit_power_law,
    fit_ratio_power_law,
    mean_ci,
    worst,
)

SEED = 20261123
EXP = Margins("absolute", 0.05, 0.15)
REL = Margins("relative", 0.05, 0.20)


def _gamma_power_law(
    slope: float, levels: list[int], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    x = np.repeat(levels, n).astype(float)
    return x, x**slope * rng.gamma(3.0, 1 / 3.0, size=x.size)


@pytest.mark.parametrize("slope", [-1.0, -0.5, 0.0, 0.5])
def test_power_law_fit_recovers_the_exponent(slope: float) -> None:
    rng = np.random.default_rng(SEED)
    x, y = _gamma_power_law(slope, [64, 256, 1024, 4096], 2000, rng)
    fit = fit_power_law(x, y)
    assert fit.slope_ci[0] < slope < fit.slope_ci[1]
    assert fit.cross_check is not None
    assert fit.cross_check.slope_ci[0] < slope < fit.cross_check.slope_ci[1]
    assert abs(fit.slope - fit.cross_check.slope) < 3 * fit.slope_se
    assert decide(fit.slope, fit.slope_se, slope, EXP).verdict == "verified"
    # a claim of the wrong exponent is refuted by the same fit
    assert decide(fit.slope, fit.slope_se, slope + 0.5, EXP).verdict == "refuted"


def test_ratio_fit_recovers_the_exponent() -> None:
    rng = np.random.default_rng(SEED)
    levels = [4, 9, 16]
    treated = [rng.gamma(3, 1 / (3 * n), 3000) for n in levels]
    reference = [rng.gamma(3, 1 / 3, 3000) for _ in levels]
    fit = fit_ratio_power_law(levels, treated, reference)
    assert fit.cross_check is not None
    assert fit.slope_ci[0] < -1.0 < fit.slope_ci[1]
    assert fit.cross_check.slope_ci[0] < -1.0 < fit.cross_check.slope_ci[1]
    # a constant factor on the treated arm changes the intercept, not the exponent
    scaled = fit_ratio_power_law(levels, [t * 0.7 for t in treated], reference)
    assert abs(scaled.slope - fit.slope) < 1e-6
    assert abs(scaled.intercept - fit.intercept - np.log(0.7)) < 1e-6


def test_zeros_switch_to_poisson_pseudo_likelihood() -> None:
    rng = np.random.default_rng(SEED)
    x, y = _gamma_power_law(-0.5, [64, 256, 1024], 2000, rng)
    y[::50] = 0.0  # 2% exact zeros, as a saturated softmax gives
    fit = fit_power_law(x, y)
    assert "Poisson" in fit.method and fit.diagnostics["zeros"] > 0
    assert fit.slope_ci[0] < -0.5 < fit.slope_ci[1]


@pytest.mark.parametrize(
    ("estimate", "se", "predicted", "margins", "verdict"),
    [
        (-0.50, 0.005, -0.5, EXP, "verified"),
        (-0.48, 0.005, -0.5, EXP, "verified"),  # excluded by the CI but inside the margin: TOST decides
        (-0.40, 0.005, -0.5, EXP, "approximate"),
        (-0.10, 0.005, -0.5, EXP, "refuted"),
        (-0.50, 0.100, -0.5, EXP, "inconclusive"),
        (-0.36, 0.010, -0.5, EXP, "inconclusive"),  # CI straddles the band edge
        (2.00, 0.01, 2.0, REL, "verified"),
        (2.20, 0.01, 2.0, REL, "approximate"),
        (1.00, 0.01, 2.0, REL, "refuted"),
        (1.00, 0.01, None, REL, "not covered"),
    ],
)
def test_verdict_rules(estimate: float, se: float, predicted: float | None, margins: Margins, verdict: str) -> None:
    assert decide(estimate, se, predicted, margins).verdict == verdict


def test_tost_matches_the_ninety_percent_interval() -> None:
    # verified iff the 90% CI lies inside prediction ± margin (alpha = 0.05 each side)
    for est in np.linspace(-0.6, -0.4, 41):
        d = decide(float(est), 0.01, -0.5, EXP)
        inside = (est - 1.6449 * 0.01 > -0.55) and (est + 1.6449 * 0.01 < -0.45)
        assert (d.verdict == "verified") == inside, est


def test_worst_part_decides() -> None:
    assert worst(["verified", "approximate"]) == "approximate"
    assert worst(["verified", "inconclusive", "refuted"]) == "refuted"
    assert worst([]) == "not covered"


def test_mean_ci_covers_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(SEED)
    trials = 2000
    hits = 0
    for _ in range(trials):
        est = mean_ci(rng.exponential(1.0, 200))
        hits += est.ci[0] < 1.0 < est.ci[1]
    # binomial 99.9% band around 0.95 for 2000 trials: ±0.016; skewed data under-cover slightly
    assert 0.925 < hits / trials < 0.966


def test_a_decision_on_interval_se_reproduces_the_student_t_interval() -> None:
    """The verdicts' mean interval is Student-t (BCa covered at or below it in every calibration setting,
    benchmarks/CALIBRATION.md): a normal decision given ``interval_se`` prints exactly the t-interval."""
    rng = np.random.default_rng(SEED)
    est = mean_ci(rng.exponential(1.0, 40))
    decision = decide(est.mean, est.interval_se, 1.0, Margins("relative", 0.05, 0.2))
    assert decision.ci == pytest.approx(est.ci, rel=1e-12)
    assert est.interval_se > est.se  # t quantile of 39 degrees of freedom above the normal's


@pytest.mark.parametrize("n", [30, 1000, 6000])
def test_bootstrap_matches_scipy_bca(n: int) -> None:
    """The O(n) BCa of the mean equals scipy's generic BCa (O(n²) jackknife) on the same resampling stream."""
    x = np.random.default_rng(n).standard_t(2.5, n) ** 2
    ours = bootstrap_mean_ci(x, seed=7)
    ref = sps.bootstrap((x,), np.mean, n_resamples=2000, method="BCa", rng=np.random.default_rng(7))
    np.testing.assert_allclose(ours.ci, (ref.confidence_interval.low, ref.confidence_interval.high), rtol=1e-12)
    assert ours.se == pytest.approx(ref.standard_error, rel=1e-12)


def test_looks_spend_alpha_over_the_planned_looks() -> None:
    """A deviation whose TOST p-value is 0.03 is verified at α = 0.05 in one look, not at α/4 in one of four."""
    from scipy import stats as sps

    from theorycheck.stats import Margins, decide, looks

    margins = Margins("relative", margin=0.05, band=0.20)
    se = 0.01
    estimate = 1.05 - float(sps.norm.isf(0.03)) * se  # p_high = 0.03 at the upper margin
    assert decide(estimate, se, 1.0, margins).verdict == "verified"
    with looks(4) as share:
        assert share == 0.25
        decision = decide(estimate, se, 1.0, margins)
    assert decision.verdict != "verified" and "α/4 per look" in decision.explanation
    assert decide(estimate, se, 1.0, margins).verdict == "verified"  # the scope ends with the block


def test_tail_diagnostic_separates_light_from_heavy_tails() -> None:
    """Hill's index: a chi-square sample passes; a Pareto(1) sample (no mean variance) fails with a reason and
    a number of networks; a bounded sample passes."""
    from theorycheck.stats import tail_diagnostic

    rng = np.random.default_rng(0)
    light = tail_diagnostic(rng.chisquare(1, 2000))
    assert light.supported and light.tail_index > 2
    heavy = tail_diagnostic(rng.pareto(1.0, 2000) + 1)
    assert not heavy.supported and heavy.tail_index < 2
    assert heavy.networks_needed is not None and heavy.networks_needed > 2000
    assert "cannot support an interval" in heavy.reason()
    assert tail_diagnostic(np.ones(500)).supported


def test_slopes_over_training_steps_need_standard_errors_clustered_by_network() -> None:
    """One network measured at several steps gives correlated values. Planted: each network has its own slope
    (s_i ~ N(0, 0.15²) around 0.5, with the lognormal correction that keeps E[y] = x^0.5 exactly). Over 1,000
    replicates (measured 2026-12-04) HC1 intervals covered 0.5 in 79.7% and the clustered ones in 95.0%; with 400
    replicates the thresholds sit 3 binomial SEs from those rates (HC1 at most 0.857, clustered at least 0.917)."""
    from theorycheck.stats import fit_power_law

    rng = np.random.default_rng(20261204)
    x = np.array([2.0, 4.0, 8.0, 16.0])
    n, sig, tau, replicates = 32, 0.15, 0.05, 400
    c = np.log(x) - np.log(x).mean()
    levels, groups = np.tile(x, n), np.repeat(np.arange(n), x.size)
    covered = {"HC1": 0, "clustered": 0}
    for _ in range(replicates):
        s = rng.normal(0, sig, n)
        noise = np.exp(rng.normal(0, tau, (n, x.size)) - tau**2 / 2)
        y = (x**0.5 * np.exp(s[:, None] * c - sig**2 * c**2 / 2) * noise).ravel()
        for name, fit in (("HC1", fit_power_law(levels, y)), ("clustered", fit_power_law(levels, y, groups=groups))):
            covered[name] += fit.slope_ci[0] <= 0.5 <= fit.slope_ci[1]
    assert covered["HC1"] / replicates <= 0.857
    assert covered["clustered"] / replicates >= 0.917
    assert "clustered by network" in fit_power_law(levels, y, groups=groups).method
