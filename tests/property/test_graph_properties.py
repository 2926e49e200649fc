"""Properties over generated architectures (public strategies in theorycheck.strategies)."""

from __future__ import annotations

from hypothesis import given, target

from theorycheck.graph import Architecture, Shape
from theorycheck.graph._text import format_layers
from theorycheck.strategies import architectures, image_shapes
from theorycheck.theory import in_degrees, predict

# Lemma 7 is an exact identity; float64 round-off over a few hundred terms stays far below this.
LEMMA7_ABS_TOL = 1e-12


@given(architectures(max_layers=5))
def test_text_round_trip(case: tuple[Architecture, Shape]) -> None:
    arch, _ = case
    text = arch.to_text()
    again = Architecture.parse(text)
    assert again == arch
    assert again.to_text() == text


@given(architectures(max_layers=5))
def test_shapes_of_parsed_text_match_the_builder(case: tuple[Architecture, Shape]) -> None:
    arch, shape = case
    assert Architecture.parse(arch.to_text()).output_shape(shape) == arch.output_shape(shape)


@given(architectures(max_layers=5, input_shapes=image_shapes(max_side=7)))
def test_lemma7_sum_is_one_on_every_dag(case: tuple[Architecture, Shape]) -> None:
    arch, shape = case
    p = predict(arch, shape)
    # Steer the search toward graphs with many distinct in-degrees (borders, strides, branches).
    distinct = len({int(v) for _, deg in in_degrees(arch, shape) for v in deg.ravel()})
    target(float(distinct), label="distinct in-degrees")
    assert abs(p.lemma7_sum + p.orphan_mass - 1.0) < LEMMA7_ABS_TOL
    if p.orphan_mass == 0.0:
        assert abs(p.lemma7_sum - 1.0) < LEMMA7_ABS_TOL


@given(architectures(max_layers=4))
def test_symmetry_implies_lemma8(case: tuple[Architecture, Shape]) -> None:
    arch, shape = case
    p = predict(arch, shape)
    target(float(p.symmetric), label="symmetric")
    if p.symmetric and p.orphan_mass == 0.0:
        assert abs(p.lemma8.min * p.d - 1.0) < LEMMA7_ABS_TOL
        assert abs(p.lemma8.max * p.d - 1.0) < LEMMA7_ABS_TOL


@given(architectures(max_layers=4))
def test_printing_one_node_parses_back(case: tuple[Architecture, Shape]) -> None:
    arch, _ = case
    for node in arch.layers:
        assert Architecture.parse(format_layers((node,))).layers == (node,)
