"""Each theorem about families is one definition: the catalogue's claim on its built-in families and the same
theorem on one of those families written as a user's study table give the same parts on the same rows.

For every theorem of ``theorems.THEOREMS`` and every family of the catalogue's (``families.BUILT_IN_FAMILIES``),
the family's fields become a ``[claims."<id>"]`` table (``on_family``, as a study builds it); each cell of the
user's claim gets the rows of the catalogue's cell with the same role, architecture and input. Every counted
decision of the user's claim (verdict, estimate and standard error, main and control) must then be one of the
catalogue's, and the user's claim must judge as many parts per family as the catalogue does. A planted drift (a
user-family statement with another slope) must be caught.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from theorycheck.claims import CATALOGUE
from theorycheck.claims.families import BUILT_IN_FAMILIES
from theorycheck.claims.framework import CellData, Part
from theorycheck.claims.theorems import THEOREMS, on_family

from .catalogue_synthetic import synthetic_data

NETWORKS = 300
ROUND_OFF = 1e-9  # relative: the same float64 fit of the same rows

CASES = [
    (cid, i)
    for cid, families in BUILT_IN_FAMILIES.items()
    for i in range(len(families(CATALOGUE[cid].resolve({"networks": NETWORKS}, cid))))
]


def test_every_theorem_has_built_in_families() -> None:
    assert set(BUILT_IN_FAMILIES) == set(THEOREMS)


def _key(cell: Any) -> tuple[str, str, str]:
    return cell.name.split("/")[0], cell.params["arch"], cell.params["input"]


def _decisions(parts: list[Part]) -> list[tuple[str, float, float]]:
    return [(p.decision.verdict, p.decision.estimate, p.decision.se) for p in parts if p.counts and p.decision.se]


@pytest.mark.parametrize(("cid", "index"), CASES, ids=[f"{c}[{i}]" for c, i in CASES])
def test_the_theorem_on_a_built_in_family_as_a_user_family_gives_the_catalogues_parts(cid: str, index: int) -> None:
    builtin = CATALOGUE[cid]
    params = builtin.resolve({"networks": NETWORKS}, cid)
    cells = builtin.cells(params)
    data = synthetic_data(cells)
    families = BUILT_IN_FAMILIES[cid](params)
    spec, n_families = families[index], len(families)
    table = {**spec.fields, "networks": NETWORKS, **({"control": spec.control} if spec.control else {})}
    user, user_params = on_family(builtin, table, where=f'claims."{cid}"', source="test")
    user_params = user.resolve(user_params, cid)
    by_key = {_key(c): data[c.name] for c in cells if c.kind == "sample"}
    user_data = CellData({c.name: by_key[_key(c)] for c in user.cells(user_params) if c.kind == "sample"})
    mine, theirs = user.evaluate(user_params, user_data), builtin.evaluate(params, data)
    for role_mine, role_theirs in ((mine.parts, theirs.parts), (mine.control_parts, theirs.control_parts)):
        ours, catalogue = _decisions(role_mine), _decisions(role_theirs)
        assert ours, f"{cid}: the user family judged nothing"
        assert len(ours) * n_families == len(catalogue) or (n_families == 1 and len(ours) == len(catalogue))
        for verdict, estimate, se in ours:
            assert any(
                v == verdict and math.isclose(e, estimate, rel_tol=ROUND_OFF) and math.isclose(s, se, rel_tol=ROUND_OFF)
                for v, e, s in catalogue
            ), f"{cid}: the user family's {verdict} {estimate} ± {se} is none of the catalogue's {catalogue}"


def test_a_drifted_copy_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second definition that drifted (the user family's statement with slope −0.4) is not the catalogue's."""
    from dataclasses import replace

    cid = "sg.thm4_coord"
    theorem = THEOREMS[cid]
    drifted = replace(theorem.statements[0], fields={**theorem.statements[0].fields, "slope": -0.4})
    monkeypatch.setitem(THEOREMS, cid, replace(theorem, statements=(drifted, *theorem.statements[1:])))
    with pytest.raises(AssertionError, match="none of the catalogue's"):
        test_the_theorem_on_a_built_in_family_as_a_user_family_gives_the_catalogues_parts(cid, 0)
