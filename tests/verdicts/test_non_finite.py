"""Non-finite values are errors or violations, never a pass (issue: verdicts that never overstate).

Planted defects: a property whose check gives NaN, or +inf, exactly where its counterexamples are (the old search
turned both into -inf, so the property was "verified"); and Monte Carlo rows with NaN in them (a mean over them is
NaN, which the old decision turned into "inconclusive" with no word of why).
"""

from __future__ import annotations

import math

import pytest
import torch

import theorycheck.claims as tc
from theorycheck.properties import Property, search
from theorycheck.testing import check

BUDGET = 200
SEED = 20261204


def _planted(value: float) -> Property:
    """x ≤ 1 for x = raw: false for x > 1, where the check returns ``value`` instead of the violation."""

    def violation(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        x = raw["x"].max()
        return torch.where(x > 1, torch.full_like(x, value), x - 1 - 1e-3)

    return Property(f"x <= 1, check {value} where false", "planted", [{}], lambda s: {"x": (3,)}, violation)


@pytest.mark.parametrize("phase", [0, 1, 2], ids=["random", "hypothesis", "gradient"])
def test_nan_where_the_counterexamples_are_is_an_error_with_its_input(phase: int) -> None:
    result = search(_planted(math.nan), budget=BUDGET, seed=SEED)[phase]
    assert not result.found
    assert result.nan_evaluations > 0 and result.error is not None
    assert max(result.error["inputs"]["x"]) > 1  # the input that produced it


@pytest.mark.parametrize("phase", [0, 1, 2], ids=["random", "hypothesis", "gradient"])
def test_plus_infinity_is_a_violation(phase: int) -> None:
    result = search(_planted(math.inf), budget=BUDGET, seed=SEED)[phase]
    assert result.found and result.counterexample is not None
    assert result.counterexample["violation"] == math.inf


def _claim(claim_id: str, value: float) -> tc.Claim:
    prop = _planted(value)
    return tc.property_claim(
        claim_id, statement=prop.id, violation=prop.violation, structures=[{}], shapes=lambda s: {"x": (3,)}
    )


def test_a_property_claim_that_gives_nan_is_an_error_never_verified() -> None:
    outcome = check(_claim("mine.nan_check", math.nan))
    assert outcome.verdict == "error", outcome.table()
    explanation = outcome.result["parts"][0]["decision"]["explanation"]
    assert "NaN" in explanation and "inputs x = (" in explanation


def test_a_property_claim_that_overflows_where_it_fails_is_refuted() -> None:
    outcome = check(_claim("mine.inf_check", math.inf))
    assert outcome.verdict == "refuted", outcome.table()


@tc.statistic("nan_for_large_logits")
def nan_for_large_logits(grad: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """‖g‖², undefined (NaN) where the logit is above 1: a statistic that is not defined on every network."""
    value = grad.flatten(1).pow(2).sum(1)
    return torch.where(logits[:, 0] > 1, torch.full_like(value, math.nan), value)


def test_a_nan_row_is_an_error_naming_the_network_and_its_seed() -> None:
    claim = tc.value(
        "mine.nan_rows", arch="dense(16) relu dense(1)", input="8", predicted="2", statistic="nan_for_large_logits"
    )
    outcome = check(claim, networks=64)
    assert outcome.verdict == "error"
    note = " ".join(outcome.result["notes"])
    assert "stream seed" in note and "network" in note and "logit.nan_for_large_logits = nan" in note
