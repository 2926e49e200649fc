"""The claim catalogue: every claim of ``CLAIMS.md``, under its ID."""

from __future__ import annotations

# importing the catalogue registers its cell kinds (sample and module here; the others next to their claims)
from theorycheck.claims import _sampling, attacks, beyond_h, peck, properties, robustness, simon_gabriel  # noqa: F401
from theorycheck.claims._base import Cell as Cell
from theorycheck.claims._base import CellData as CellData
from theorycheck.claims._base import Claim as Claim
from theorycheck.claims._base import ClaimResult as ClaimResult
from theorycheck.claims._base import Part as Part
from theorycheck.claims.forms import (
    Family,
    property_claim,
    ratio,
    register,
    registered,
    scaling,
    statistic,
    value,
)
from theorycheck.errors import TheorycheckError, suggest

__all__ = [
    "CATALOGUE",
    "Cell",
    "CellData",
    "Claim",
    "ClaimResult",
    "Family",
    "Part",
    "get_claim",
    "property_claim",
    "ratio",
    "register",
    "registered",
    "scaling",
    "statistic",
    "value",
]

_IMPLEMENTED_ELSEWHERE = {c.id for c in [*properties.CLAIMS, *attacks.CLAIMS, *robustness.CLAIMS]}
CATALOGUE: dict[str, Claim] = {
    c.id: c
    for c in [
        *(c for c in simon_gabriel.CLAIMS if c.id not in _IMPLEMENTED_ELSEWHERE),
        *(c for c in peck.CLAIMS if c.id not in _IMPLEMENTED_ELSEWHERE),
        *properties.CLAIMS,
        *attacks.CLAIMS,
        *robustness.CLAIMS,
        *beyond_h.CLAIMS,
    ]
}


def get_claim(claim_id: str) -> Claim:
    """The catalogue's or a registered claim under ``claim_id``, or an error with the closest ID."""
    known = {**CATALOGUE, **registered()}
    try:
        return known[claim_id]
    except KeyError:
        raise TheorycheckError(f"unknown claim '{claim_id}'{suggest(claim_id, known)}") from None
