"""The claim catalogue covers CLAIMS.md, and every implemented claim is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from theorycheck.claims import CATALOGUE, get_claim
from theorycheck.claims.catalogue import AFTER_TRAINING
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
    # theorycheck's own claims, and the papers' conclusions after training (issue 26: Section 4's "after training")
    assert all(c.startswith("tc.") or c in AFTER_TRAINING for c in set(CATALOGUE) - EXPECTED_IDS)
    if SHARED.exists():  # the planning repository's list, when checked out beside this one
        listed = set(re.findall(r"^\| ((?:sg|pk)\.[A-Za-z0-9_]+) \|", SHARED.read_text(), flags=re.M))
        assert listed == EXPECTED_IDS


def test_kinds_match_the_catalogue() -> None:
    kinds = {"identity", "inequality", "graph", "mc", "scaling", "attack"}
    assert all(c.kind in kinds for c in CATALOGUE.values())
    assert CATALOGUE["sg.lemma7"].kind == "graph" and CATALOGUE["sg.eq8"].kind == "mc"


@pytest.mark.parametrize("claim_id", sorted(CATALOGUE))
def test_every_claim_has_cells_and_a_negative_control(claim_id: str) -> None:
    claim = CATALOGUE[claim_id]
    params = claim.resolve({}, claim_id)
    cells = claim.cells(params)
    assert cells
    assert len({c.id for c in cells}) == len(cells)
    assert claim.formula and claim.statement and claim.source
    roles = {c.name.split("/")[0] for c in cells}
    # Monte Carlo claims sample a mutant next to the claim (fig3, fig2d, fig2e and graph claims evaluate a mutant
    # use of the same cells instead: a moved prediction, a statistic that is not scale-free, the reversed inequality)
    if claim.kind in ("mc", "scaling") and claim_id not in (
        "sg.fig3",
        "sg.fig3_trained",
        "sg.fig2d",
        "sg.fig2e",
        "tc.kernel_width",
        "tc.post_activation",
    ):
        assert "control" in roles, claim_id


def test_unknown_claim_suggests() -> None:
    with pytest.raises(TheorycheckError, match=r"did you mean 'sg\.thm3'"):
        get_claim("sg.thm33")


def test_epsilon_scaling_claims_detect_the_rounding_floor() -> None:
    """The fit window stops where float64 rounding of ΔL dominates, and the slopes come out as 1 and 2."""
    import numpy as np

    from theorycheck.claims.first_order import scan_rows

    rows = scan_rows(
        "dense(16) relu dense(16) relu dense(5)", "8", networks=40, seed=3, start=0, eps_max=1e-3, mutant=False
    )
    assert np.nanmedian(rows["lemma1_slope_inf"]) == pytest.approx(1.0, abs=0.01)
    assert np.nanmedian(rows["prop2_slope_2"]) == pytest.approx(2.0, abs=0.01)
    # the floor is detected well above 1e-10, the bottom of the scan: rounding would otherwise flatten the fit
    assert np.nanmedian(rows["floor_eps_inf"]) > 1e-10
    mutant = scan_rows(
        "dense(16) relu dense(16) relu dense(5)", "8", networks=40, seed=3, start=0, eps_max=1e-3, mutant=True
    )
    assert abs(np.nanmedian(mutant["lemma1_slope_inf"])) < 0.1  # a random direction: no first-order agreement


#: values no parameter of the catalogue accepts: wrong types, out-of-range numbers, non-finite floats
WRONG_VALUES = [None, "x", True, -1, 0.5, float("nan"), float("inf"), [], {"a": 1}, 2**70]


@pytest.mark.parametrize("claim_id", sorted(CATALOGUE))
def test_every_parameter_has_a_validator_that_refuses_wrong_values(claim_id: str) -> None:
    """Walk the catalogue: each parameter's validator accepts its default and refuses values of the wrong kind,
    so a study is fully validated before its first cell runs."""
    claim = CATALOGUE[claim_id]
    for key, param in claim.params.items():
        assert callable(param.check), f"{claim_id}.{key} has no validator"
        assert param.check(param.default) is None, f"{claim_id}.{key}: the default fails its own validator"
        accepted = [v for v in WRONG_VALUES if param.check(v) is None and not _plausible(key, v)]
        assert not accepted, f"{claim_id}.{key} accepts {accepted!r}"


def _plausible(key: str, value: object) -> bool:
    """A positive finite number is right for the real-valued parameters (ε sizes); 0.5 is a learning rate."""
    return (key in ("eps_max", "epsilon") and value in (0.5, 2**70)) or (key == "lr" and value == 0.5)


def test_the_registry_refuses_a_parameter_without_a_validator() -> None:
    from theorycheck.claims._params import Param

    with pytest.raises(TypeError, match="no validator"):
        Param(3, "a parameter", None)  # type: ignore[arg-type]
