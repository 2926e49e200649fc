"""The public claim language: families of architectures, the scaling/value/ratio forms, property claims,
user statistics and registration. Re-exported by :mod:`theorycheck.claims`."""

from theorycheck.claims.forms._assumptions import ASSUMPTIONS as ASSUMPTIONS
from theorycheck.claims.forms._claim import UserClaim as UserClaim
from theorycheck.claims.forms._define import FIELDS as FIELDS
from theorycheck.claims.forms._define import from_table as from_table
from theorycheck.claims.forms._define import ratio as ratio
from theorycheck.claims.forms._define import scaling as scaling
from theorycheck.claims.forms._define import value as value
from theorycheck.claims.forms._expr import Expression as Expression
from theorycheck.claims.forms._family import Family as Family
from theorycheck.claims.forms._family import Point as Point
from theorycheck.claims.forms._property import property_claim as property_claim
from theorycheck.claims.forms._registry import ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
from theorycheck.claims.forms._registry import load_entry_points as load_entry_points
from theorycheck.claims.forms._registry import load_plugins as load_plugins
from theorycheck.claims.forms._registry import register as register
from theorycheck.claims.forms._registry import registered as registered
from theorycheck.claims.forms._statistics import BUILTIN as STATISTICS
from theorycheck.claims.forms._statistics import statistic as statistic
from theorycheck.claims.forms._training import Training as Training

__all__ = [
    "ASSUMPTIONS",
    "ENTRY_POINT_GROUP",
    "FIELDS",
    "STATISTICS",
    "Expression",
    "Family",
    "Point",
    "Training",
    "UserClaim",
    "from_table",
    "load_entry_points",
    "load_plugins",
    "property_claim",
    "ratio",
    "register",
    "registered",
    "scaling",
    "statistic",
    "value",
]
