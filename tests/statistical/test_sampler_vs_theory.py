"""Monte Carlo estimates against the exact (H) predictions, with negative controls.

Seeded; the seed, sample budget and thresholds are the named constants below.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats as sps

from theorycheck._estimate import estimate
from theorycheck.sampler import sample

SEED = 20261123
N_NETWORKS = 4000
#: the issue's precision target: CI half-width at most 3% of the prediction
MAX_REL_HALF_WIDTH = 0.03
#: two-sample tests: significance level (Bonferroni over the statistics compared)
ALPHA = 1e-3
#: the scale shift the two-sample comparison must be able to detect
DETECTABLE_SHIFT = 0.02
#: networks per sampler: 2((z_{1-α/12} + z_{0.9}) sd(log stat) / log 1.02)² with the largest measured
#: sd(log stat) = 0.77 (loss.coord_var) gives 72k for 90% power; the power is also checked below
N_TWO_SAMPLE = 80_000

FC = "dense(128) relu dense(128) relu dense(10)"
CONV = "conv(16,3,padding=circular) relu conv(16,3,stride=2,padding=circular) relu flatten dense(10)"
CASES = [(FC, "256", "conditional"), (FC, "256", "explicit"), (CONV, "3x16x16", "explicit")]


def setup_module() -> None:
    print(f"statistical tests: seed {SEED}, {N_NETWORKS} networks per estimate")


@pytest.mark.statistical
@pytest.mark.parametrize(("arch", "shape", "method"), CASES)
def test_estimates_agree_with_the_theory(arch: str, shape: str, method: str) -> None:
    rep = estimate(arch, shape, networks=N_NETWORKS, seed=SEED, method=method)
    for key in ("coord_var", "grad_sq_norm"):
        s = rep.statistics[key]
        assert s.predicted is not None
        lo, hi = s.estimate.ci
        assert lo <= s.predicted <= hi, f"{key}: prediction {s.predicted} outside CI [{lo}, {hi}]"
        assert s.estimate.half_width <= MAX_REL_HALF_WIDTH * s.predicted


@pytest.mark.statistical
@pytest.mark.parametrize(("arch", "shape", "method"), CASES)
def test_negative_control_variance_one_over_fan_in_disagrees(arch: str, shape: str, method: str) -> None:
    """The same nets with Var[w] = 1/fan_in, compared with the He prediction, must disagree."""
    he = estimate(arch, shape, networks=N_NETWORKS, seed=SEED, method=method)
    mutant_arch = re.sub(r"\b(dense|conv)\(([^)]*)\)", r"\1(\2,gain=1)", arch)
    mutant = estimate(mutant_arch, shape, networks=N_NETWORKS, seed=SEED, method=method)
    assert "gain=1" in mutant.architecture
    s = mutant.statistics["coord_var"]
    predicted_he = he.statistics["coord_var"].predicted
    assert predicted_he is not None
    lo, hi = s.estimate.ci
    assert not lo <= predicted_he <= hi, "the He prediction must be rejected for the 1/fan_in mutant"
    # and the mutant's own prediction (computed from its graph) is not rejected
    assert s.predicted is not None and s.estimate.ci[0] <= s.predicted <= s.estimate.ci[1]


def _two_sample_p(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(KS p-value for the shape, Welch t p-value on log values for the scale)."""
    ks = float(sps.ks_2samp(a, b).pvalue)
    scale = float(sps.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue)
    return ks, scale


@pytest.mark.statistical
@pytest.mark.parametrize("target", ["logit", "loss"])
def test_conditional_and_explicit_samplers_agree_in_distribution(target: str) -> None:
    arch, shape = "dense(64) relu dense(64) relu dense(64) relu dense(10)", "32"
    kw = dict(networks=N_TWO_SAMPLE, targets=(target,), loss_class="random")
    cond = sample(arch, shape, seed=SEED, method="conditional", **kw)  # type: ignore[arg-type]
    expl = sample(arch, shape, seed=SEED + 1, method="explicit", **kw)  # type: ignore[arg-type]
    stats = ("coord_var", "l1", "linf")
    alpha = ALPHA / (2 * len(stats))
    for stat in stats:
        a, b = cond.column(target, stat), expl.column(target, stat)
        assert (a > 0).all() and (b > 0).all()
        p_ks, p_scale = _two_sample_p(a, b)
        print(f"{target}.{stat}: KS p = {p_ks:.3g}, log-scale p = {p_scale:.3g}")
        assert p_ks > alpha, f"{target}.{stat}: the distributions differ (KS p = {p_ks:.3g})"
        assert p_scale > alpha, f"{target}.{stat}: the scales differ (Welch p = {p_scale:.3g})"
        # power: the smallest log-scale shift detected at level alpha with 90% power
        se = np.sqrt(np.log(a).var(ddof=1) / a.size + np.log(b).var(ddof=1) / b.size)
        detectable = (sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(0.9)) * se
        assert detectable <= np.log1p(DETECTABLE_SHIFT), f"{target}.{stat}: too few networks ({detectable:.4f})"
