"""Biases against the plain-torch oracle (``test_kernel_oracle.monte_carlo_sq_norm``, its own N(0, v) biases).

The kernel level adds each layer's bias variance to its kernel; (H) keeps its gate probability ½ (a centred bias
keeps the pre-activation symmetric). The sampler draws the biases itself: at a fixed input, its E‖∂ₓf‖² must match
the oracle's networks of the same width (two independent samples, no finite-width question). Each comparison has a
planted counterpart that the same check rejects: the kernel level without its bias term, the sampler without its
biases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.statistical.test_kernel_oracle import SEED, Z, monte_carlo_sq_norm
from theorycheck.sampler import sample
from theorycheck.theory import kernel_predict, predict

X = np.random.default_rng(SEED).standard_normal(6)
IMAGE = np.random.default_rng(SEED).standard_normal((2, 5, 5))
NETWORKS = 2000
TANH = "dense(128,bias=2) tanh dense(128,bias=0.5) tanh dense(1,bias=1)"
CASES = [
    (TANH, X),  # issue 27: a tanh MLP with biases
    ("dense(128,bias=0.5) relu dense(128,bias=1) relu dense(1)", X),
    (
        "conv(32,3,padding=circular,bias=0.5) relu conv(32,3,padding=circular,bias=0.5) relu globalavgpool dense(1)",
        IMAGE,
    ),
]


def _kernel_against_oracle(arch: str, x: np.ndarray) -> tuple[float, float, float]:
    k = kernel_predict(arch, "x".join(map(str, x.shape)), x)
    assert k.covered and k.grad_sq_norm is not None, k.reason
    mean, se = monte_carlo_sq_norm(arch, x, networks=NETWORKS, seed=SEED)
    print(f"{arch}: kernel {k.grad_sq_norm:.5f}, wide nets {mean:.5f} ± {Z * se:.5f}")
    return k.grad_sq_norm, mean, se


@pytest.mark.statistical
@pytest.mark.parametrize(("arch", "x"), CASES, ids=["tanh MLP", "ReLU MLP", "ReLU CNN"])
def test_the_kernel_level_with_biases_matches_wide_networks(arch: str, x: np.ndarray) -> None:
    predicted, mean, se = _kernel_against_oracle(arch, x)
    assert abs(mean - predicted) <= Z * se


@pytest.mark.statistical
def test_h_with_biases_on_a_dense_relu_stack_matches_wide_networks() -> None:
    arch = CASES[1][0]
    h = predict(arch, "6")
    assert h.covered and not h.notes and h.grad_sq_norm is not None
    mean, se = monte_carlo_sq_norm(arch, X, networks=NETWORKS, seed=SEED + 1)
    print(f"{arch}: (H) {h.grad_sq_norm:.5f}, wide nets {mean:.5f} ± {Z * se:.5f}")
    assert abs(mean - h.grad_sq_norm) <= Z * se


@pytest.mark.statistical
def test_a_kernel_level_that_ignores_biases_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from theorycheck.theory import _kernel

    monkeypatch.setattr(_kernel, "_biased", lambda state, variance: state)
    wrong, mean, se = _kernel_against_oracle(TANH, X)
    assert abs(mean - wrong) > Z * se


def _sampler_against_oracle(arch: str) -> float:
    """Welch z of the sampler's mean ‖∂ₓf₀‖² at the fixed input X against the oracle's, same width."""
    rows = sample(arch, "6", networks=NETWORKS, seed=SEED, inputs=X, targets=("logit",))
    ours = rows.column("logit", "sq_norm")
    mean, se = monte_carlo_sq_norm(arch, X, networks=NETWORKS, seed=SEED + 2)
    z = (ours.mean() - mean) / math.hypot(ours.std(ddof=1) / math.sqrt(ours.size), se)
    print(f"{arch}: sampler {ours.mean():.5f}, oracle {mean:.5f}, z = {z:+.2f}")
    return float(z)


@pytest.mark.statistical
def test_the_sampler_draws_the_biases_of_the_graph() -> None:
    assert abs(_sampler_against_oracle(TANH)) <= Z


@pytest.mark.statistical
def test_a_sampler_without_biases_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from theorycheck.sampler._program import Program

    monkeypatch.setattr(Program, "biased", property(lambda self: []))
    assert abs(_sampler_against_oracle(TANH)) > Z
