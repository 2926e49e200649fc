"""The catalogue claims rewritten on the public claim forms give what their own code gave.

Two facts, against ``tests/data/catalogue_forms_reference.json`` (made by the code before the move, see
``catalogue_synthetic.py``): the cells are the same (names and spec hashes: the same networks are sampled, and
stored results are reused), and on the same rows every decision is the same, estimate and standard error to
float64 round-off. Together: the quick study's verdicts cannot change.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from theorycheck.claims import CATALOGUE

from .catalogue_synthetic import REFERENCE_PARAMS, synthetic_data

REFERENCE = json.loads((Path(__file__).parents[1] / "data" / "catalogue_forms_reference.json").read_text())
ROUND_OFF = 1e-9  # relative: float64 fits of the same rows, summed in another order at most


def _decisions(parts: list) -> list[list]:
    rows = [[p.decision.verdict, p.decision.estimate, p.decision.se] for p in parts if p.counts]
    return sorted(r for r in rows if r[1] is not None)


@pytest.mark.parametrize("claim_id", sorted(REFERENCE_PARAMS))
def test_same_cells_and_decisions(claim_id: str) -> None:
    claim, ref = CATALOGUE[claim_id], REFERENCE[claim_id]
    params = claim.resolve(REFERENCE_PARAMS[claim_id], claim_id)
    cells = claim.cells(params)
    assert sorted([c.name, c.spec_hash()] for c in cells) == ref["cells"]
    result = claim.evaluate(params, synthetic_data(cells))
    assert (result.verdict, result.control_verdict) == (ref["verdict"], ref["control"])
    for mine, theirs in (
        (_decisions(result.parts), ref["parts"]),
        (_decisions(result.control_parts), ref["control_parts"]),
    ):
        assert len(mine) == len(theirs)
        for (v, est, se), (v_ref, est_ref, se_ref) in zip(mine, theirs, strict=True):
            assert v == v_ref
            assert math.isclose(est, est_ref, rel_tol=ROUND_OFF, abs_tol=1e-15)
            assert math.isclose(se, se_ref, rel_tol=ROUND_OFF, abs_tol=1e-15)


def test_the_comparison_sees_a_small_change() -> None:
    """Rows of one cell scaled by 1.001 move the fitted slope beyond round-off: the comparison has power."""
    claim = CATALOGUE["sg.thm6_res"]
    params = claim.resolve(REFERENCE_PARAMS["sg.thm6_res"], "sg.thm6_res")
    cells = claim.cells(params)
    data = synthetic_data(cells)
    frame = data[cells[0].name]
    frame["loss.l1"] *= 1.001
    slope = claim.evaluate(params, data).parts[0].decision.estimate
    reference = next(r[1] for r in REFERENCE["sg.thm6_res"]["parts"])
    assert not math.isclose(slope, reference, rel_tol=ROUND_OFF, abs_tol=1e-15)
