"""Defining a claim changes nothing until it is registered, and a taken ID is refused before anything changes.

Planted defect: ``property_claim()`` used to write its properties into the catalogue's table when it was built, so
a user claim named ``pk.lemmaB3`` (or a second user claim under a taken ID) silently replaced what the catalogue,
or the first claim, evaluated.
"""

from __future__ import annotations

import pytest
import torch

import theorycheck.claims as tc
from theorycheck.claims import CATALOGUE, get_claim
from theorycheck.claims.forms._registry import unregister
from theorycheck.errors import TheorycheckError
from theorycheck.properties import PROPERTIES
from theorycheck.testing import check


def _always_holds(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return -raw["x"].abs().sum() - 1.0


def _never_holds(struct: dict, raw: dict[str, torch.Tensor]) -> torch.Tensor:
    return raw["x"].abs().sum() + 1.0


def _claim(claim_id: str, violation) -> tc.Claim:  # type: ignore[no-untyped-def]
    return tc.property_claim(
        claim_id, statement="planted", violation=violation, structures=[{}], shapes=lambda s: {"x": (2,)}
    )


def test_a_claim_under_a_catalogue_id_changes_nothing_and_is_refused() -> None:
    before = PROPERTIES["pk.lemmaB3"]
    impostor = _claim("pk.lemmaB3", _always_holds)  # building it: no side effect
    assert PROPERTIES["pk.lemmaB3"] is before
    with pytest.raises(TheorycheckError, match="taken by the catalogue"):
        tc.register(impostor)
    assert get_claim("pk.lemmaB3") is CATALOGUE["pk.lemmaB3"]
    outcome = check(CATALOGUE["pk.lemmaB3"])  # the catalogue's own search (300 evaluations), still false
    assert outcome.verdict == "refuted", outcome.table()


def test_a_duplicate_user_id_is_refused_and_the_first_claim_stands() -> None:
    first = _claim("mine.registered_once", _never_holds)
    tc.register(first)
    try:
        second = _claim("mine.registered_once", _always_holds)
        with pytest.raises(TheorycheckError, match="duplicate claim ID"):
            tc.register(second)
        assert get_claim("mine.registered_once") is first
        assert check(get_claim("mine.registered_once")).verdict == "refuted"
    finally:
        unregister("mine.registered_once")


def test_the_catalogue_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PROPERTIES["pk.lemmaB3"] = PROPERTIES["pk.lemmaB2"]  # type: ignore[index]
