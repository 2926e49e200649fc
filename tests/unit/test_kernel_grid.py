"""The kernel level's grid method (post-activation residuals) against closed forms derived by hand.

``dense(n) relu residual{dense(n) relu dense(n)} relu dense(1)`` on an input of dimension d, at infinite width:
``h ~ N(0, q)`` with ``q = 2‖x‖²/d``, ``s = relu(h)``, the branch ``b ~ N(0, q)`` independent of ``h``,
``y = relu(s + b)``. Along a unit ``u ⊥ x``: ``D_u h ~ N(0, 2/d)`` and ``D_u b ~ N(0, 2/d)``, so
``α = E[(D_u f)²] = 2 · (2/d) · [P(h > 0, s + b > 0) + P(s + b > 0)] = (4/d) · (3/8 + 5/8) = 4/d`` (with
``P(h > 0, h + b > 0) = 1/4 + arcsin(1/√2)/(2π) = 3/8`` and ``P(s + b > 0) = 3/8 + P(h ≤ 0) P(b > 0) = 5/8``).
Along ``x̂``: ``γ = E[f²]/‖x‖² = 2 E[y²]/‖x‖²``, ``E[y²] = q/4 + 2q (3/8 + 1/(4π)) = q (1 + 1/(2π))``, so
``γ = (4/d)(1 + 1/(2π))`` and ``E‖∇f‖² = (d − 1) α + γ = 4 + 2/(π d)``; ``E[(∂_i f)²] = α + (γ − α) x_i²/‖x‖²``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorycheck.graph import Architecture
from theorycheck.theory import kernel_predict
from theorycheck.theory._frames import annotate
from theorycheck.theory._kernel_grid import grid_predict

RESIDUAL = "dense(64) relu residual{dense(64) relu dense(64)} relu dense(1)"


@pytest.mark.parametrize("d", [2, 7, 32])
def test_the_original_resnet_block_has_its_closed_form(d: int) -> None:
    x = np.random.default_rng(d).standard_normal(d)
    k = kernel_predict(RESIDUAL, str(d), x)
    assert k.covered and k.method == "grid"
    assert k.grad_sq_norm is not None and k.quadrature_error is not None and k.coord_var_map is not None
    exact = 4 + 2 / (math.pi * d)
    assert k.quadrature_error < 1e-4
    assert abs(k.grad_sq_norm - exact) <= k.quadrature_error
    alpha, gamma = 4 / d, 4 / d * (1 + 1 / (2 * math.pi))
    expected_map = alpha + (gamma - alpha) * x**2 / (x @ x)
    np.testing.assert_allclose(k.coord_var_map, expected_map, rtol=0, atol=k.quadrature_error)


#: blocks the closed forms cover: the grid method must agree with them there
_COVERED_BLOCKS = [
    "relu dense(N)",
    "residual{relu dense(N) relu dense(N)}",
    "relu relu dense(N)",
    "residual{relu dense(N)}",
]


@st.composite
def covered_nets(draw: st.DrawFn) -> tuple[str, np.ndarray]:
    blocks = draw(st.lists(st.sampled_from(_COVERED_BLOCKS), min_size=1, max_size=5))
    width = draw(st.sampled_from(["8", "64", "64,init=uniform"])) + draw(st.sampled_from(["", ",bias=0.5"]))
    tail = draw(st.sampled_from(["relu dense(1)", "dense(2)"]))
    d = draw(st.integers(1, 9))
    x = np.asarray(draw(st.lists(st.floats(-3, 3), min_size=d, max_size=d)), dtype=np.float64)
    if not (x @ x) > 1e-6:
        x[0] = 1.0
    text = " ".join(["dense(N)", *blocks, tail]).replace("(N)", f"({width})")
    return text.replace("dense(64,init=uniform", "dense(64", 1), x  # the first layer Gaussian


@settings(max_examples=40, deadline=None)
@given(covered_nets())
def test_the_grid_agrees_with_the_closed_forms_where_both_apply(case: tuple[str, np.ndarray]) -> None:
    arch, x = case
    closed = kernel_predict(arch, str(x.size), x)
    assert closed.covered and closed.method == "closed form", closed.reason
    grid = grid_predict(annotate(Architecture.parse(arch), (x.size,)), (x.size,), x)
    assert not isinstance(grid, str), grid
    assert closed.grad_sq_norm is not None and closed.coord_var_map is not None
    bound = grid.quadrature_error + 1e-12 * closed.grad_sq_norm
    assert abs(grid.grad_sq_norm - closed.grad_sq_norm) <= bound
    np.testing.assert_allclose(grid.coord_var_map, closed.coord_var_map, rtol=0, atol=bound)


@pytest.mark.parametrize(
    ("arch", "shape", "why"),
    [
        ("conv(8,3) relu residual{conv(8,3)} relu flatten dense(1)", "1x4x4", "not a dense layer"),
        ("dense(8) relu residual{dense(8) tanh} tanh dense(1)", "3", "the grid carries ReLU only"),
        ("dense(8) relu add{ | relu} relu dense(1)", "3", "two branches without a weighted layer"),
        ("dense(8,init=uniform) relu residual{dense(8)} relu dense(1)", "3", "not Gaussian"),
    ],
)
def test_what_the_grid_does_not_cover_is_refused_with_both_reasons(arch: str, shape: str, why: str) -> None:
    k = kernel_predict(arch, shape, np.ones(int(np.prod([int(s) for s in shape.split("x")]))))
    assert not k.covered and k.reason is not None
    assert "not covered at kernel level" in k.reason and why in k.reason


def test_the_input_zero_is_refused() -> None:
    k = kernel_predict(RESIDUAL, "3", np.zeros(3))
    assert not k.covered and k.reason is not None and "x = 0" in k.reason


POST = [
    "dense(16) relu residual{dense(16) relu dense(16)} relu dense(1)",
    "dense(16) relu add{dense(16) relu | dense(16)} relu residual{dense(16)} relu dense(16) relu dense(2)",
    "dense(16) relu residual{dense(16) relu} relu residual{relu dense(16)} relu dense(1)",
]


@pytest.mark.parametrize("arch", POST)
def test_the_propagated_derivative_along_x_obeys_positive_homogeneity(arch: str) -> None:
    """Without biases ∇f·x = f, so E[(D_x̂ f)²] = E[f²]/‖x‖²: the grid's γ (propagated through the covariances
    Cov(z, D_x̂ z) and the conditional moments) must say so, to its quadrature precision."""
    from theorycheck.theory import _kernel_grid as grid

    x = np.random.default_rng(5).standard_normal(4)
    frames = annotate(Architecture.parse(arch), (4,))
    var, sq = 2 / 4, float(x @ x)
    out = grid._run(frames[1:], grid._Gauss(var * sq, var, var * math.sqrt(sq), var), 0.004, [])
    assert isinstance(out, grid._Gauss)
    assert math.isclose(out.rx, out.q / sq, rel_tol=2e-4), (out.rx, out.q / sq)
