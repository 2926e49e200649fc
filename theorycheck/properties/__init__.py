"""Identities and inequalities as properties, searched adversarially for counterexamples."""

from theorycheck.properties import _linear, _smooth  # noqa: F401  (they add their claims to PROPERTIES)
from theorycheck.properties._catalogue import PROPERTIES as PROPERTIES
from theorycheck.properties._catalogue import PropertyClaim as PropertyClaim
from theorycheck.properties._catalogue import planted_false_inequality as planted_false_inequality
from theorycheck.properties._search import TOLERANCE as TOLERANCE
from theorycheck.properties._search import Property as Property
from theorycheck.properties._search import SearchResult as SearchResult
from theorycheck.properties._search import search as search

__all__ = ["PROPERTIES", "TOLERANCE", "Property", "PropertyClaim", "SearchResult", "planted_false_inequality", "search"]
