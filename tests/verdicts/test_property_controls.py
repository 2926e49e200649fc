"""The automatic control of a property claim fails for the right reason (issue: controls that prove something).

Planted defect: the old automatic control was the violation plus 0.01, which is "found" at any input where the
property is an equality; for a property whose only equality case is the all-zero input, hypothesis finds that input
at once, and the claim looked able to fail although the search never came near a boundary. The new control is
the property tightened relative to the terms' scale, with inputs where every term vanishes excluded.
"""

from __future__ import annotations

import torch

import theorycheck.claims as tc
from theorycheck.testing import check

BUDGET = 150


def _abs(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return raw["x"].abs()


def _twice_abs(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return 2 * raw["x"].abs()


def _loose_violation(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    """‖x‖₁ ≤ 2‖x‖₁, relative: an equality only at x = 0 (the ℓ1 norm, whose sum of |x_i| does not underflow at the
    tiny entries hypothesis tries, as a Euclidean norm's squares of 1e-200 do)."""
    n = raw["x"].abs().sum()
    return (n - 2 * n) / (3 * n + 1e-300)


def _shapes(struct: dict) -> dict[str, tuple[int, ...]]:
    return {"x": (3,)}


def test_a_control_found_only_where_every_term_vanishes_is_unable_to_fail() -> None:
    """|x| ≤ 2|x| is an equality only at x = 0, which the control must not count."""
    claim = tc.property_claim(
        "mine.loose_terms",
        statement="|x| <= 2|x|",
        lhs=_abs,
        rhs=_twice_abs,
        structures=[{}],
        shapes=_shapes,
        max_examples=BUDGET,
    )
    outcome = check(claim)
    assert outcome.verdict == "verified"
    assert outcome.negative_control == "verified" and outcome.control_unable_to_fail


def test_the_bare_violation_form_excludes_the_all_zero_input() -> None:
    """A bare violation knows only the all-zero input as degenerate (an entrywise max hides zero entries: the terms
    form, above, excludes those)."""
    claim = tc.property_claim(
        "mine.loose_violation",
        statement="‖x‖₁ <= 2‖x‖₁",
        violation=_loose_violation,
        structures=[{}],
        shapes=_shapes,
        max_examples=BUDGET,
    )
    assert check(claim).control_unable_to_fail


def test_a_scale_function_marks_the_degenerate_inputs_of_a_bare_violation() -> None:
    claim = tc.property_claim(
        "mine.loose_scaled",
        statement="‖x‖₁ <= 2‖x‖₁",
        violation=_loose_violation,
        scale=lambda s, r: r["x"].abs().sum(),
        structures=[{}],
        shapes=_shapes,
        max_examples=BUDGET,
    )
    outcome = check(claim)
    assert outcome.control_unable_to_fail
    assert "inputs where scale() is 0 excluded" in outcome.result["control_parts"][0]["description"]


def _relu_sum(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.relu(raw["a"] + raw["b"])


def _sum_relu(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.relu(raw["a"]) + torch.relu(raw["b"])


def test_a_property_with_a_real_boundary_has_a_control_that_is_found_and_says_where() -> None:
    """ReLU(a+b) ≤ ReLU(a) + ReLU(b) is an equality wherever a, b ≥ 0 (terms nonzero): the tightened control is
    found there, and the report names the phases that found it."""
    claim = tc.property_claim(
        "mine.relu_subadditive",
        statement="ReLU(a+b) <= ReLU(a) + ReLU(b)",
        lhs=_relu_sum,
        rhs=_sum_relu,
        structures=[{}],
        shapes=lambda s: {"a": (4,), "b": (4,)},
        max_examples=BUDGET,
    )
    outcome = check(claim)
    assert outcome.verdict == "verified" and outcome.negative_control == "refuted"
    control = outcome.result["control_parts"][0]
    assert "counterexample found by" in control["decision"]["explanation"]
    assert "entries where every term vanishes excluded" in control["description"]
    found = [row for row in control["table"] if row["counterexample"]]
    assert found and all(row["method"] in ("random", "hypothesis target()", "gradient ascent") for row in found)


def test_an_identity_control_is_the_identity_off_by_the_tightening() -> None:
    claim = tc.property_claim(
        "mine.double_is_sum",
        statement="2x = x + x",
        lhs=lambda s, r: 2 * r["x"],
        rhs=lambda s, r: r["x"] + r["x"],
        relation="==",
        structures=[{}],
        shapes=_shapes,
        max_examples=BUDGET,
    )
    outcome = check(claim)
    assert outcome.verdict == "verified" and outcome.negative_control == "refuted"
