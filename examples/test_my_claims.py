"""Claims about your own networks, inside your own pytest suite (CI runs this file).

``assert_holds`` runs a claim through the study runner with its negative control and fails with the verdict
table unless the claim is verified and its control refuted. Budgets: 1000 networks per grid point make the
slope's 95% interval about ±0.01 wide for these MLPs, far inside the ±0.05 margin.
"""

from __future__ import annotations

import pytest

from examples.my_claims import L4_SCALING, POWER_MEAN
from theorycheck.claims import scaling, value
from theorycheck.testing import assert_holds, check

MLP = "dense({w}) relu dense({w}) relu dense(10)"


def test_mlp_coordinates_scale_as_one_over_d() -> None:
    assert_holds(
        scaling("mine.mlp", arch=MLP, input="{d}", sweep={"d": [64, 256, 1024], "w": 128}, slope=-1), networks=1000
    )


def test_the_he_constant_is_two_over_d() -> None:
    assert_holds(
        value("mine.he", arch=MLP, input="{d}", sweep={"d": [32, 128], "w": 64}, predicted="2/d"), networks=1000
    )


def test_a_false_claim_is_refuted_with_its_numbers() -> None:
    """'The coordinates scale as 1/sqrt(d)' (a slope of -1/2 for their variance) is false; the message says so."""
    false = scaling("mine.false", arch=MLP, input="{d}", sweep={"d": [64, 256, 1024], "w": 128}, slope=-0.5)
    with pytest.raises(AssertionError, match=r"refuted.*deviation"):
        assert_holds(false, networks=1000)


def test_a_registered_statistic_claim() -> None:
    assert_holds(L4_SCALING, networks=1000)


def test_a_property_claim() -> None:
    outcome = check(POWER_MEAN)
    assert outcome.verdict == "verified", outcome.table()
    assert outcome.negative_control == "refuted", outcome.table()  # the tightened inequality is found
