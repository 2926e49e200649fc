"""The machinery claims are built from, for the catalogue and for plugins that go beyond the public forms.

* **Claims and their results**: :class:`Claim` (parameters with validators, ``make_cells``, ``evaluate_parts`` or
  ``evaluate_both``), :class:`Entry` (a catalogue row), :class:`ClaimResult`, :class:`Part`.
* **Cells**: :class:`Cell` (a unit of work: kind, parameters, a range of networks of one stream) and
  :class:`CellData` (their rows when a claim is judged); cell kinds are registered executors
  (:func:`cell_kind`, :class:`CellKind`, :class:`CellContext`): a new kind needs no edit of the study package.
* **Parts**: the builders that judge one sub-claim (:mod:`theorycheck.claims._parts`) and :data:`METHODS`, what
  backs each.
* **Parameters**: :class:`Param` and its validators (:mod:`theorycheck.claims._params`).
"""

from theorycheck.claims._base import METHODS as METHODS
from theorycheck.claims._base import Cell as Cell
from theorycheck.claims._base import CellData as CellData
from theorycheck.claims._base import Claim as Claim
from theorycheck.claims._base import ClaimResult as ClaimResult
from theorycheck.claims._base import Entry as Entry
from theorycheck.claims._base import Part as Part
from theorycheck.claims._base import strict_problems as strict_problems
from theorycheck.claims._kinds import CellContext as CellContext
from theorycheck.claims._kinds import CellKind as CellKind
from theorycheck.claims._kinds import CellOutput as CellOutput
from theorycheck.claims._kinds import cell_kind as cell_kind
from theorycheck.claims._kinds import cell_kinds as cell_kinds
from theorycheck.claims._kinds import get_cell_kind as get_cell_kind
from theorycheck.claims._params import Param as Param
from theorycheck.claims._parts import CONSTANT as CONSTANT
from theorycheck.claims._parts import EXPONENT as EXPONENT
from theorycheck.claims._parts import Sample as Sample
from theorycheck.claims._parts import exact_part as exact_part
from theorycheck.claims._parts import fixed_verdict_part as fixed_verdict_part
from theorycheck.claims._parts import less_than_part as less_than_part
from theorycheck.claims._parts import mean_part as mean_part
from theorycheck.claims._parts import not_covered as not_covered
from theorycheck.claims._parts import paired_ratio_part as paired_ratio_part
from theorycheck.claims._parts import ratio_parts as ratio_parts
from theorycheck.claims._parts import sample_cell as sample_cell
from theorycheck.claims._parts import scaling_part as scaling_part
from theorycheck.claims._parts import supported_decision as supported_decision
from theorycheck.claims._parts import value_parts as value_parts

__all__ = [
    "CONSTANT",
    "EXPONENT",
    "METHODS",
    "Cell",
    "CellContext",
    "CellData",
    "CellKind",
    "CellOutput",
    "Claim",
    "ClaimResult",
    "Entry",
    "Param",
    "Part",
    "Sample",
    "cell_kind",
    "cell_kinds",
    "exact_part",
    "fixed_verdict_part",
    "get_cell_kind",
    "less_than_part",
    "mean_part",
    "not_covered",
    "paired_ratio_part",
    "ratio_parts",
    "sample_cell",
    "scaling_part",
    "strict_problems",
    "supported_decision",
    "value_parts",
]
