"""The verdicts' 95% intervals cover exact truths, measured (CI-sized version of `theorycheck calibrate`).

R = 200 replicates of n = 200 networks: the FC He constant E‖∂f‖₂² = 2 (Student-t, the verdicts' interval)
and the exponent −1 of E[(∂f/∂x_i)²] in d (GLM HC1 and WLS). A method fails below 90% coverage; at R = 200 a
well-calibrated 95% interval falls below 90% with probability < 0.5% (binomial). A planted miscalibrated
interval (normal quantile 1.0 instead of 1.96) must fail the same check, and the deep narrow net's samples must
all be stopped by the tail diagnostic (Cochran's rule with the theory's skewness: no network is drawn).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorycheck.calibration import SETTINGS, Setting, coverage

REPLICATES = 200
FLOOR = 0.90


def _setting(name: str) -> Setting:
    return next(s for s in SETTINGS if s.name == name)


@pytest.fixture(scope="module")
def fc_rows() -> dict[str, float]:
    rows = coverage(_setting("FC He constant, n=200"), replicates=REPLICATES)
    rows += coverage(_setting("FC slope in d, n=200 per d"), replicates=REPLICATES)
    for row in rows:
        print(f"{row.setting} / {row.method}: {row.coverage:.3f} of {row.passed}")
    return {row.method: row.coverage for row in rows if row.passed == REPLICATES}


@pytest.mark.statistical
@pytest.mark.parametrize(
    "method", ["student-t (verdicts)", "GLM Gamma/log, HC1 (slope)", "WLS of log level-means (slope)"]
)
def test_interval_covers_the_exact_truth(fc_rows: dict[str, float], method: str) -> None:
    assert fc_rows[method] >= FLOOR


@pytest.mark.statistical
def test_a_planted_miscalibrated_interval_fails_the_same_check() -> None:
    def narrow(x: np.ndarray) -> tuple[float, float]:  # z = 1.0 instead of 1.96
        half = 1.0 * x.std(ddof=1) / math.sqrt(x.size)
        return (x.mean() - half, x.mean() + half)

    (row,) = coverage(_setting("FC He constant, n=200"), replicates=REPLICATES, methods={"z = 1.0": narrow})
    assert row.coverage < FLOOR


@pytest.mark.statistical
def test_the_tail_diagnostic_stops_every_deep_narrow_sample() -> None:
    rows = coverage(_setting("deep narrow [dense(4) relu]*10, n=200"), replicates=REPLICATES)
    assert all(row.passed == 0 for row in rows)


STOPPING_REPLICATES = 4000


@pytest.mark.statistical
def test_alpha_spending_keeps_false_verified_below_alpha_over_all_looks() -> None:
    """True value exactly on the margin, up to 4 looks: the old design (α at every look) verifies it more often
    than α, the runner's Bonferroni spending (α/4 per look) less often (binomial 95% bounds)."""
    from theorycheck.calibration import optional_stopping

    naive, n = optional_stopping(spending="naive", replicates=STOPPING_REPLICATES)
    spent, _ = optional_stopping(spending="bonferroni", replicates=STOPPING_REPLICATES)
    se = math.sqrt(0.05 * 0.95 / n)
    print(f"false verified: naive {naive:.4f}, Bonferroni spending {spent:.4f} (n = {n})")
    assert naive - 1.96 * se > 0.05
    assert spent + 1.96 * se < 0.05


def _claim_setting(quick_name: str):  # type: ignore[no-untyped-def]
    from theorycheck.calibration import CLAIM_SETTINGS

    return next(s for s in CLAIM_SETTINGS if s.name.startswith(quick_name))


@pytest.mark.statistical
def test_a_value_claims_printed_interval_covers_the_truth() -> None:
    """Through the claim path: the interval a value claim's verdict prints, judged by the public forms."""
    from theorycheck.calibration import claim_coverage

    setting = _claim_setting("value claim E[coord_var] = 2/d, [dense(32) relu]*3 dense(1), n=200")
    (row,) = claim_coverage(setting, replicates=REPLICATES)
    print(f"{row.setting}: {row.coverage:.3f} of {row.passed}")
    assert row.passed == REPLICATES and row.coverage >= FLOOR


@pytest.mark.statistical
def test_a_value_claim_with_a_planted_narrow_interval_fails_the_same_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from theorycheck.calibration import claim_coverage
    from theorycheck.claims.forms import _judge
    from theorycheck.stats import Estimate, mean_ci

    def narrow(values: np.ndarray, **_: object) -> Estimate:  # z = 1.0 instead of t(0.975)
        est = mean_ci(values)
        return Estimate(est.mean, (est.mean - est.se, est.mean + est.se), est.se, est.n)

    monkeypatch.setattr(_judge, "robust_mean_ci", narrow)
    setting = _claim_setting("value claim E[coord_var] = 2/d, [dense(32) relu]*3 dense(1), n=200")
    (row,) = claim_coverage(setting, replicates=REPLICATES)
    assert row.coverage < FLOOR
