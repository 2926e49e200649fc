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
    from theorycheck.claims import _parts
    from theorycheck.stats import Estimate, mean_ci

    def narrow(values: np.ndarray, **_: object) -> Estimate:  # z = 1.0 instead of t(0.975)
        est = mean_ci(values)
        return Estimate(est.mean, (est.mean - est.se, est.mean + est.se), est.se, est.n)

    monkeypatch.setattr(_parts, "mean_ci", narrow)
    setting = _claim_setting("value claim E[coord_var] = 2/d, [dense(32) relu]*3 dense(1), n=200")
    (row,) = claim_coverage(setting, replicates=REPLICATES)
    assert row.coverage < FLOOR


def _table_rows() -> list[tuple[str, str, float | None]]:
    """(setting, method, coverage) of every row of the committed table."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "benchmarks" / "CALIBRATION.md").read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2].endswith("%"):
            rows.append((cells[0], cells[1], float(cells[2].rstrip("%")) / 100))
    return rows


def test_the_coverage_the_guarantees_quote_is_the_committed_tables() -> None:
    """Every (method, setting class) range in ``calibration._measured`` is the min–max of the table's rows of that
    method on settings of that class, so no guarantee quotes a number the table does not hold."""
    from theorycheck.calibration import CLAIM_SETTINGS
    from theorycheck.calibration._measured import MEASURED, TABLE_METHODS, setting_class
    from theorycheck.claims.forms._define import build

    classes: dict[str, str | None] = {s.name: setting_class(s.arch)[0] for s in SETTINGS}
    for s in CLAIM_SETTINGS:
        claim = build("calibration.x", s.form, "calibration", **s.fields)
        found = {setting_class(p.arch)[0] for p in claim.family.points()}
        assert len(found) == 1, (s.name, found)
        classes[s.name] = found.pop()
    spans: dict[tuple[str, str], list[float]] = {}
    for setting, method, cov in _table_rows():
        name = next(n for n in classes if setting == n or setting.startswith(n + ": "))
        part_method, cls = TABLE_METHODS.get(method), classes[name]
        if part_method is not None and cls is not None and cov is not None:
            spans.setdefault((part_method, cls), []).append(cov)
    assert set(spans) == set(MEASURED), (sorted(spans), sorted(MEASURED))
    for key, values in spans.items():
        assert (round(min(values), 3), round(max(values), 3)) == (MEASURED[key].low, MEASURED[key].high), key
