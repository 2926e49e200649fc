"""Propagation (theory engine) against explicit path enumeration (the oracle).

The oracle builds the neuron DAG by applying each op to basis inputs in
PyTorch and enumerates every path; the engine never enumerates. They must agree
to 1e-12 on every tiny graph, and (S) must be decided identically.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, target

from theorycheck.graph import Architecture, Shape
from theorycheck.strategies import architectures, image_shapes, vector_shapes
from theorycheck.theory import _propagate, predict
from theorycheck.theory._paths import MAX_PATHS, enumerate_path_sums

RTOL = 1e-12

TINY = architectures(
    max_layers=3,
    max_width=3,
    max_depth=1,
    input_shapes=image_shapes(max_channels=2, max_side=4) | vector_shapes(max_dim=4),
)


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(float(np.abs(b).max()), 1e-300)
    return float(np.abs(a - b).max() / scale)


def compare(arch: Architecture, shape: Shape) -> dict[str, float | bool]:
    """Max relative errors of the engine against enumeration, and (S) from both."""
    p = predict(arch, shape)
    e = enumerate_path_sums(arch, shape)
    out: dict[str, float | bool] = {
        "lemma8": _rel_err(p.lemma8_map.ravel(), e.lemma8),
        "paths": abs(10 ** (p.log10_paths or 0.0) - e.n_paths.sum()) / max(e.n_paths.sum(), 1.0),
        "symmetric_engine": p.symmetric,
        "symmetric_oracle": e.symmetric,
    }
    if p.coord_var_map is not None:
        out["coord_var"] = _rel_err(p.coord_var_map.ravel(), e.coord_var)
    return out


@given(TINY)
def test_engine_equals_enumeration(case: tuple[Architecture, Shape]) -> None:
    arch, shape = case
    p = predict(arch, shape)
    assume(p.log10_paths is not None and 10**p.log10_paths <= MAX_PATHS)
    r = compare(arch, shape)
    target(float(p.log10_paths or 0.0), label="log10 paths")
    assert r["lemma8"] < RTOL
    assert r["paths"] < RTOL
    assert r["symmetric_engine"] == r["symmetric_oracle"]
    if "coord_var" in r:
        assert r["coord_var"] < RTOL


@pytest.mark.parametrize(
    ("arch", "shape"),
    [
        (
            "conv(2,3,padding=reflect) relu avgpool(2) conv(2,2,dilation=2,padding=circular) relu "
            "globalavgpool dense(2)",
            "1x6x6",
        ),
        (
            "conv(2,2,padding=circular) relu residual{conv(2,3,padding=reflect) relu} concat{conv(1,1) | identity} "
            "relu flatten dense(2)",
            "1x3x3",
        ),
        ("conv(2,3) relu conv(2,3,stride=2) relu flatten dense(2)", "1x5x5"),
        ("conv(2,3,stride=2,padding=circular) relu flatten dense(2)", "2x4x4"),
        ("conv(3,3,dilation=2,padding=circular) relu flatten dense(2)", "1x3x3"),  # wrap-around parallel edges
    ],
)
def test_engine_equals_enumeration_on_hand_picked_borders(arch: str, shape: str) -> None:
    a = Architecture.parse(arch)
    from theorycheck.graph import parse_input_shape

    r = compare(a, parse_input_shape(shape))
    assert r["lemma8"] < RTOL and r["paths"] < RTOL and r["coord_var"] < RTOL
    assert r["symmetric_engine"] == r["symmetric_oracle"]


def test_the_comparison_catches_a_wrong_degree_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a Lemma 7 rule off by one in the degree must be caught."""
    original = _propagate.Lemma7Rule.neurons

    def off_by_one(self: _propagate.Lemma7Rule, frame, indegree, u):  # type: ignore[no-untyped-def]
        return original(self, frame, indegree + 1, u)

    monkeypatch.setattr(_propagate.Lemma7Rule, "neurons", off_by_one)
    r = compare(Architecture.parse("conv(2,3) relu flatten dense(2)"), (1, 4, 4))
    assert r["lemma8"] > 1e-3


def test_the_comparison_catches_wrong_padding_semantics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: treating reflect padding as zero padding must be caught."""
    from theorycheck.theory import _maps

    original = _maps.axis_matrix

    def reflect_as_zero(n_in, n_out, kernel, stride, dilation, before, padding):  # type: ignore[no-untyped-def]
        return original(n_in, n_out, kernel, stride, dilation, before, "zero" if padding == "reflect" else padding)

    monkeypatch.setattr(_maps, "axis_matrix", reflect_as_zero)
    r = compare(Architecture.parse("conv(2,3,padding=reflect) relu flatten dense(2)"), (1, 4, 4))
    assert r["lemma8"] > 1e-3
