"""Identities and inequalities as properties, searched adversarially for counterexamples.

:data:`PROPERTIES` is the catalogue's table (claim ID → parts and mutants), read-only: a user's property claim
carries its own properties (``theorycheck.claims.property_claim``) and never changes this table.
"""

from types import MappingProxyType

from theorycheck.properties._base import TOLERANCE as TOLERANCE
from theorycheck.properties._base import Property as Property
from theorycheck.properties._base import PropertyClaim as PropertyClaim
from theorycheck.properties._base import planted_false_inequality as planted_false_inequality
from theorycheck.properties._lemmas import LEMMAS
from theorycheck.properties._linear import LINEAR
from theorycheck.properties._linear import exact_min_perturbation as exact_min_perturbation
from theorycheck.properties._search import SearchResult as SearchResult
from theorycheck.properties._search import search as search
from theorycheck.properties._smooth import SMOOTH

#: the catalogue's properties, by claim ID (read-only)
PROPERTIES = MappingProxyType({**LEMMAS, **LINEAR, **SMOOTH})

__all__ = [
    "PROPERTIES",
    "TOLERANCE",
    "Property",
    "PropertyClaim",
    "SearchResult",
    "exact_min_perturbation",
    "planted_false_inequality",
    "search",
]
