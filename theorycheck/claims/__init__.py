"""Claims: the public claim language, and the catalogue written in it.

Your own claims: :func:`scaling`, :func:`value`, :func:`ratio` (families of architectures, :class:`Family`),
:func:`property_claim` (identities and inequalities, searched), :func:`statistic` (your per-network statistic) and
:func:`register` (make a claim known to studies, ``theorycheck claims`` and reports). The catalogue:
:data:`CATALOGUE` (:mod:`theorycheck.claims.catalogue`, one table of every claim of the two papers). The
machinery that claims are built from (cells, parts, cell kinds) is :mod:`theorycheck.claims.framework`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from theorycheck.errors import TheorycheckError, suggest

if TYPE_CHECKING:
    from theorycheck.claims._base import Claim as Claim
    from theorycheck.claims.catalogue import CATALOGUE as CATALOGUE
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

__all__ = [
    "CATALOGUE",
    "Claim",
    "Family",
    "get_claim",
    "property_claim",
    "ratio",
    "register",
    "registered",
    "scaling",
    "statistic",
    "value",
]

#: loaded on first use (PEP 562): ``theorycheck claims`` lists the catalogue without importing its builders
_LAZY = {
    "Claim": "theorycheck.claims._base",
    "CATALOGUE": "theorycheck.claims.catalogue",
    **{
        name: "theorycheck.claims.forms"
        for name in ("Family", "property_claim", "ratio", "register", "registered", "scaling", "statistic", "value")
    },
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'theorycheck.claims' has no attribute {name!r}")


def get_claim(claim_id: str) -> Claim:
    """The catalogue's or a registered claim under ``claim_id``, or an error with the closest ID."""
    from theorycheck.claims.catalogue import CATALOGUE
    from theorycheck.claims.forms import registered

    known = {**CATALOGUE, **registered()}
    try:
        return known[claim_id]
    except KeyError:
        raise TheorycheckError(f"unknown claim '{claim_id}'{suggest(claim_id, known)}") from None
