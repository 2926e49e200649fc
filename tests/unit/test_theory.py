"""Exact (H) predictions on architectures whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorycheck.errors import TheorycheckError
from theorycheck.theory import expected_linf, in_degrees, linf_asymptote, predict

FC = "dense(256) relu dense(256) relu dense(10)"


def test_fc_he_everywhere_gives_two_over_d() -> None:
    p = predict(FC, "1024")
    assert p.coord_var is not None
    assert p.coord_var.mean == pytest.approx(2 / 1024, rel=1e-15)
    assert p.coord_var.min == p.coord_var.max
    assert p.lemma7_sum == pytest.approx(1.0, abs=1e-12)
    assert p.symmetric
    assert p.grad_sq_norm == pytest.approx(2.0, rel=1e-15)
    assert p.log10_paths == pytest.approx(math.log10(1024 * 256 * 256), rel=1e-15)


def test_logit_gain_one_is_the_papers_normalisation() -> None:
    p = predict("dense(256) relu dense(256) relu dense(10,gain=1)", "1024")
    assert p.coord_var is not None
    assert p.coord_var.mean == pytest.approx(1 / 1024, rel=1e-15)


@pytest.mark.parametrize("d", [64, 512, 4096])
def test_fc_constant_does_not_depend_on_d(d: int) -> None:
    p = predict("dense(64) relu dense(32) relu dense(3)", str(d))
    assert p.coord_var is not None
    assert d * p.coord_var.mean == pytest.approx(2.0, rel=1e-12)


def test_no_fan_in_scaling_breaks_the_constant() -> None:
    p = predict("dense(64,scaling=none) relu dense(64) relu dense(3)", "100")
    assert p.coord_var is not None
    # Var[w] = 2 instead of 2/100 on the first layer: 100× larger.
    assert 100 * p.coord_var.mean == pytest.approx(200.0, rel=1e-12)


def test_circular_conv_is_symmetric_and_zero_padding_is_not() -> None:
    circ = predict("conv(8,3,padding=circular) relu conv(8,3,padding=circular) relu flatten dense(10)", "3x16x16")
    zero = predict("conv(8,3) relu conv(8,3) relu flatten dense(10)", "3x16x16")
    assert circ.symmetric
    assert circ.coord_var is not None and zero.coord_var is not None
    assert circ.coord_var.min == pytest.approx(circ.coord_var.max, rel=1e-14)
    assert circ.lemma8.min == pytest.approx(1 / circ.d, rel=1e-14)
    assert not zero.symmetric
    assert zero.coord_var.min < zero.coord_var.max
    # corners see fewer paths than the interior
    m = zero.coord_var_map
    assert m is not None
    assert m[0, 0, 0] < m[0, 8, 8]


def test_strided_conv_symmetry_needs_the_kernel_to_tile_the_stride() -> None:
    # Section 3.2: (S) holds for strided layers "if the layer size is a multiple of the stride".
    tiled = predict("conv(4,2,stride=2,padding=circular) relu flatten dense(3)", "2x8x8")
    overlap = predict("conv(4,3,stride=2,padding=circular) relu flatten dense(3)", "2x8x8")
    assert tiled.symmetric
    assert not overlap.symmetric  # even positions have 1 outgoing edge per axis, odd ones 2
    assert overlap.grad_sq_norm == pytest.approx(2.0, rel=1e-12)  # Theorem 4 needs no (S)


@pytest.mark.parametrize("n", [4, 9, 16])
def test_average_pooling_divides_the_gradient_variance_by_n(n: int) -> None:
    s = math.isqrt(n)
    strided = predict(f"conv(8,{s},stride={s},padding=circular) relu flatten dense(3)", "3x12x12")
    pooled = predict(f"conv(8,{s},padding=circular) relu avgpool({s}) flatten dense(3)", "3x12x12")
    assert strided.grad_sq_norm is not None and pooled.grad_sq_norm is not None
    assert pooled.grad_sq_norm / strided.grad_sq_norm == pytest.approx(1 / n, rel=1e-12)


def test_theorem4_grad_norm_is_independent_of_resolution() -> None:
    norms = [
        predict(
            "conv(4,3,padding=circular) relu conv(4,3,padding=circular) relu flatten dense(2)", f"3x{r}x{r}"
        ).grad_sq_norm
        for r in (4, 8, 16)
    ]
    assert norms == pytest.approx([2.0, 2.0, 2.0], rel=1e-12)


@pytest.mark.parametrize(
    ("arch", "shape", "fragment"),
    [
        ("conv(4,3) relu maxpool(2) flatten dense(2)", "3x8x8", "maxpool is outside the (H) theory"),
        ("conv(4,3) relu globalmaxpool dense(2)", "3x8x8", "globalmaxpool is outside"),
        ("dense(8) tanh dense(2)", "4", "tanh is outside the (H) theory"),
        ("conv(4,3) relu add{identity | identity} flatten dense(2)", "3x8x8", "two branches join"),
        ("conv(4,3) relu avgpool(3,stride=1) globalavgpool dense(2)", "3x8x8", "overlapping pooling windows"),
        ("conv(4,3) relu avgpool(2,stride=1) avgpool(2,stride=1) flatten dense(2)", "3x8x8", "overlapping"),
    ],
)
def test_outside_the_theory_is_not_covered_and_says_why(arch: str, shape: str, fragment: str) -> None:
    p = predict(arch, shape)
    assert not p.covered
    assert p.reason is not None and fragment in p.reason
    assert p.coord_var is None and p.grad_sq_norm is None and p.grad_l1 is None and p.grad_linf is None
    assert p.lemma7_sum == pytest.approx(1.0, abs=1e-12)  # the graph facts are still computed


@pytest.mark.parametrize(
    "arch",
    [
        "conv(4,3) relu avgpool(2) globalavgpool dense(2)",  # non-overlapping windows: single routes
        "conv(4,3) relu residual{conv(4,3) relu conv(4,3)} relu flatten dense(2)",  # one random branch
        "conv(4,3) relu add{avgpool(3,stride=1) conv(4,3,padding=valid) | conv(4,3,padding=valid) "
        "avgpool(3,stride=1)} flatten dense(2)",
    ],
)
def test_single_deterministic_routes_stay_covered(arch: str) -> None:
    p = predict(arch, "3x8x8")
    assert p.covered, p.reason


def test_relu_on_a_nonnegative_input_is_the_identity() -> None:
    once = predict("conv(4,3) relu avgpool(2) flatten dense(2)", "3x8x8")
    twice = predict("conv(4,3) relu avgpool(2) relu flatten dense(2)", "3x8x8")
    assert once.grad_sq_norm == pytest.approx(twice.grad_sq_norm, rel=1e-15)


def test_orphan_neurons_take_mass_from_lemma7() -> None:
    # kernel 2, dilation 3 on a 2x2 input with zero padding: some outputs read only padding.
    p = predict("conv(2,2,dilation=3) flatten dense(1)", "1x2x2")
    assert p.orphan_mass > 0
    assert p.lemma7_sum + p.orphan_mass == pytest.approx(1.0, abs=1e-12)
    degrees = dict(in_degrees("conv(2,2,dilation=3) flatten dense(1)", "1x2x2"))
    assert (degrees["0 conv(2,2,dilation=3)"] == 0).any()


def test_in_degrees_count_real_edges_only() -> None:
    degs = dict(in_degrees("conv(5,3) relu residual{conv(5,3)} globalavgpool dense(2)", "2x6x6"))
    first = degs["0 conv(5,3)"]
    assert first[0, 0, 0] == 2 * 4  # corner: 2x2 of the 3x3 window inside
    assert first[0, 0, 3] == 2 * 6  # edge
    assert first[0, 3, 3] == 2 * 9  # interior
    assert (degs["2 add"] == 2).all()
    assert (degs["3 globalavgpool"] == 36).all()
    assert (degs["4 dense(2)"] == 5).all()


def test_output_index_is_validated() -> None:
    with pytest.raises(TheorycheckError, match="out of range: the network has 10 logits"):
        predict(FC, "1024", output=10)


def test_linf_prediction_grows_like_sqrt_log_d() -> None:
    # E max of d half-normals / sqrt(2 ln 2d) -> 1 slowly; it is not a power law in d.
    ratios = [expected_linf(np.full(d, 1.0)) / linf_asymptote(1.0, d) for d in (10, 1000, 100_000)]
    assert all(0.7 < r < 1.05 for r in ratios)
    assert ratios[0] < ratios[1] < ratios[2]


def test_linf_matches_monte_carlo_of_independent_gaussians() -> None:
    rng = np.random.default_rng(20261123)
    v = rng.uniform(0.5, 2.0, size=200)
    samples = np.abs(rng.standard_normal((20_000, 200)) * np.sqrt(v)).max(axis=1)
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(expected_linf(v) - samples.mean()) < 4 * se
