"""The claim catalogue covers CLAIMS.md, and every implemented claim is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from theorycheck.claims import CATALOGUE, get_claim
from theorycheck.errors import TheorycheckError

EXPECTED_IDS = {
    "sg.lemma1",
    "sg.prop2",
    "sg.eq5",
    "sg.sec3_1",
    "sg.pathsum",
    "sg.lemma9",
    "sg.lemma7",
    "sg.symmetry",
    "sg.lemma8",
    "sg.eq8",
    "sg.thm3",
    "sg.eq9",
    "sg.eq9_var",
    "sg.thm4_l2",
    "sg.thm4_coord",
    "sg.cor5",
    "sg.thm6",
    "sg.thm6_proof",
    "sg.lemma10",
    "sg.thm6_res",
    "sg.eq16",
    "sg.fig1",
    "sg.fig3",
    "pk.lemmaA1",
    "pk.thmA3",
    "pk.thmA4",
    "pk.thmA5",
    "pk.fc_bound",
    "pk.conv_bound",
    "pk.pool_bounds",
    "pk.lemmaB1",
    "pk.lemmaB2",
    "pk.lemmaB3",
    "pk.lemmaB4",
    "pk.lemmaB5",
    "pk.lemmaB6",
    "pk.eq8",
    "pk.chain",
}
SHARED = Path(__file__).resolve().parents[3] / "shared" / "CLAIMS.md"


def test_every_claim_of_the_catalogue_is_registered() -> None:
    assert set(CATALOGUE) >= EXPECTED_IDS
    assert all(c.startswith("tc.") for c in set(CATALOGUE) - EXPECTED_IDS)  # theorycheck's own claims
    if SHARED.exists():  # the planning repository's list, when checked out beside this one
        listed = set(re.findall(r"^\| ((?:sg|pk)\.[A-Za-z0-9_]+) \|", SHARED.read_text(), flags=re.M))
        assert listed == EXPECTED_IDS


def test_kinds_match_the_catalogue() -> None:
    kinds = {"identity", "inequality", "graph", "mc", "scaling", "attack"}
    assert all(c.kind in kinds for c in CATALOGUE.values())
    assert CATALOGUE["sg.lemma7"].kind == "graph" and CATALOGUE["sg.eq8"].kind == "mc"


@pytest.mark.parametrize("claim_id", sorted(c.id for c in CATALOGUE.values() if c.implemented))
def test_implemented_claims_have_cells_and_a_negative_control(claim_id: str) -> None:
    claim = CATALOGUE[claim_id]
    params = claim.resolve({}, claim_id)
    cells = claim.cells(params)
    assert cells
    assert len({c.id for c in cells}) == len(cells)
    assert claim.formula and claim.statement and claim.source
    roles = {c.name.split("/")[0] for c in cells}
    # Monte Carlo claims sample a mutant next to the claim (fig3 and graph claims evaluate a mutant use of
    # the same cells instead)
    if claim.kind in ("mc", "scaling") and claim_id not in ("sg.fig3", "tc.kernel_width"):
        assert "control" in roles, claim_id


def test_unknown_claim_suggests() -> None:
    with pytest.raises(TheorycheckError, match=r"did you mean 'sg\.thm3'"):
        get_claim("sg.thm33")


def test_not_implemented_claims_say_why() -> None:
    claim = CATALOGUE["pk.chain"]
    assert not claim.implemented
    with pytest.raises(TheorycheckError, match="not implemented yet"):
        claim.cells({})
