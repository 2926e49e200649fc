"""The theory's tail of ‖∂f/∂x‖², against a float64 Monte Carlo that shares no code with it, on generated chains.

``gradient_tail`` gives E[X²]/E[X]² and E[X³]/E[X]³ of the per-network squared gradient exactly. The oracle
draws N Gaussian He networks with numpy (its own forward and backward pass, float64) and compares the sample
moment ratio with a z-test at 5 standard errors, the standard error estimated from the sample (chains with
E[X²]/E[X]² ≤ 4, so that the sample's fourth moment is reliable at N = 40,000). The same test must reject a
plausible wrong formula (1 + 4/n per layer instead of 1 + 5/n, or without the input's 1 + 2/d): the negative
control.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, target
from hypothesis import strategies as st

from theorycheck.claims._parts import CONSTANT, supported_decision
from theorycheck.stats import decide
from theorycheck.theory import gradient_tail

NETWORKS = 40_000
Z = 5.0


def _oracle(d: int, layers: list[tuple[int, bool]], networks: int, seed: int) -> np.ndarray:
    """Per-network ‖∂f/∂x‖² of ``dense(n_1)[relu] … dense(1)`` with N(0, 2/fan_in) weights, by numpy."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((networks, d))
    h, fan, weights, masks = x, d, [], []
    for n, relu in layers:
        w = rng.standard_normal((networks, n, fan)) * math.sqrt(2.0 / fan)
        z = np.einsum("bnf,bf->bn", w, h)
        mask = z > 0 if relu else np.ones_like(z, dtype=bool)
        h, fan = np.where(mask, z, 0.0), n
        weights.append(w)
        masks.append(mask)
    g = rng.standard_normal((networks, fan)) * math.sqrt(2.0 / fan)
    for w, mask in zip(reversed(weights), reversed(masks), strict=True):
        g = np.einsum("bn,bnf->bf", g * mask, w)
    return (g**2).sum(axis=1)


def _arch(layers: list[tuple[int, bool]]) -> str:
    return " ".join(f"dense({n}) relu" if relu else f"dense({n})" for n, relu in layers) + " dense(1)"


def _z(values: np.ndarray, ratio: float) -> float:
    """z of the sample's E[X²]/E[X]² against ``ratio`` (delta method, sample standard error)."""
    m1, m2 = values.mean(), (values**2).mean()
    est = m2 / m1**2
    grad = np.column_stack([np.full(values.size, 1 / m1**2), np.full(values.size, -2 * m2 / m1**3)])
    centred = np.column_stack([values**2 - m2, values - m1])
    se = math.sqrt(float(np.mean(((grad * centred).sum(axis=1)) ** 2)) / values.size)
    return (est - ratio) / se


chains = st.tuples(
    st.integers(1, 12),
    st.lists(st.tuples(st.integers(1, 24), st.booleans()), min_size=1, max_size=4),
)


@pytest.mark.statistical
@settings(max_examples=12, derandomize=True)
@given(chains)
def test_moment_ratio_matches_an_independent_monte_carlo(case: tuple[int, list[tuple[int, bool]]]) -> None:
    d, layers = case
    tail = gradient_tail(_arch(layers), str(d))
    assert tail.covered, tail.reason
    assume(tail.normalised[1] <= 4.0)
    target(tail.normalised[1], label="E[X²]/E[X]² (heavier tails)")
    values = _oracle(d, layers, NETWORKS, seed=d * 1000 + len(layers))
    mean = 2.0 * 2.0 ** sum(not relu for _, relu in layers)  # He gain 2: a ReLU halves it, a linear layer does not
    assert abs(values.mean() - mean) < Z * values.std() / math.sqrt(values.size)
    assert abs(_z(values, tail.normalised[1])) < Z, (tail.normalised, (values**2).mean() / values.mean() ** 2)


@pytest.mark.statistical
def test_the_same_check_rejects_a_wrong_formula() -> None:
    d, layers = 4, [(4, True)]
    values = _oracle(d, layers, 10 * NETWORKS, seed=7)
    right = gradient_tail(_arch(layers), str(d)).normalised[1]
    assert right == pytest.approx((1 + 2 / d) * (1 + 5 / 4), rel=1e-12)
    assert abs(_z(values, right)) < Z
    for wrong in ((1 + 2 / d) * (1 + 4 / 4), 1 + 5 / 4):
        assert abs(_z(values, wrong)) > Z, wrong


def test_third_moment_and_skewness_against_the_monte_carlo() -> None:
    """E[X³]/E[X]³ at a light chain, where the sample's sixth moment is still usable (relative error < 3%)."""
    d, layers = 16, [(32, True), (32, True)]
    values = _oracle(d, layers, NETWORKS, seed=3) / 2.0
    tail = gradient_tail(_arch(layers), str(d))
    assert (values**3).mean() == pytest.approx(tail.normalised[2], rel=0.03)


@pytest.mark.parametrize(
    ("arch", "shape", "why"),
    [
        ("conv(2,3) relu flatten dense(1)", "1x5x5", "layer 1 is conv"),
        ("dense(4) tanh dense(1)", "3", "tanh"),
        ("dense(4,init=uniform) relu dense(1)", "3", "uniform weights"),
        ("residual{dense(3) relu dense(3)} dense(1)", "3", "layer 1 is add"),
        ("relu dense(4) dense(1)", "3", "does not follow a dense layer"),
        ("dense(4) relu dense(1) relu", "3", "the last layer must be a dense layer"),
        ("dense(4) relu relu dense(1)", "3", "does not follow a dense layer"),
    ],
)
def test_graphs_outside_the_derivation_are_not_covered(arch: str, shape: str, why: str) -> None:
    tail = gradient_tail(arch, shape)
    assert not tail.covered and why in tail.reason


def test_a_sample_below_cochrans_n_is_inconclusive_with_the_networks_needed() -> None:
    """[dense(16) relu]*4 at d = 8: γ₁ = 6.28, so Cochran's rule needs n > 28 + 25γ₁² ≈ 1013 networks; 200 values
    that decide *verified* are inconclusive, 1,100 are not. The sample itself is light-tailed (Hill would pass)."""
    gamma = gradient_tail("[dense(16) relu]*4 dense(1)", "8").skewness
    assert 6.2 < gamma < 6.4
    for n, verdict in ((200, "inconclusive"), (1100, "verified")):
        values = np.random.default_rng(0).gamma(50.0, 2.0 / 50.0, size=n)  # mean 2, light-tailed
        decision = decide(float(values.mean()), float(values.std(ddof=1) / math.sqrt(n)), 2.0, CONSTANT)
        assert decision.verdict == "verified"
        judged = supported_decision(decision, [values], skewness=[gamma])
        assert judged.verdict == verdict, judged.explanation
        if verdict == "inconclusive":
            assert "at least 1013 networks would be needed" in judged.explanation
        assert supported_decision(decision, [values]).verdict == "verified"  # Hill alone lets it through


def test_fewer_than_three_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        gradient_tail("dense(4) relu dense(1)", "3", order=2)
