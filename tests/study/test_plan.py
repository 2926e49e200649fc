"""Budgets sized by power: the plan's formula against the decision rule it plans for, and networks = "auto".

The formula (``needed_networks``) is checked by simulation against ``stats.decide`` itself: estimates drawn
N(δ, s(n)) with s(n) = s₁·√(n₁/n) at the planned n come out decisive (not inconclusive) in at least 95% of
20,000 draws (binomial SE 0.15%), and at a quarter of the planned n they do not (the plan is not padded).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from theorycheck.cli import main
from theorycheck.stats import Margins, decide, looks
from theorycheck.study import load_results, parse_study, run_study
from theorycheck.study._plan import needed_networks

DRAWS = 20_000
PILOT = 200


@pytest.mark.parametrize(
    ("kind", "dev", "s1", "n_looks"),
    [
        ("absolute", 0.0, 0.05, 1),  # a true exponent: verified
        ("absolute", 0.02, 0.05, 4),  # within the margin, α split over 4 looks
        ("absolute", 0.3, 0.2, 1),  # beyond the band: refuted
        ("relative", 0.12, 0.06, 1),  # between margin and band: approximate
    ],
)
def test_the_planned_budget_is_decisive_with_95_percent(kind: str, dev: float, s1: float, n_looks: int) -> None:
    margins = Margins("absolute", 0.05, 0.15) if kind == "absolute" else Margins("relative", 0.05, 0.20)
    pred = 1.0
    truth = pred + dev if kind == "absolute" else pred * (1 + dev)
    scale = 1.0 if kind == "absolute" else pred
    with looks(1):
        pilot = decide(truth, s1 * scale, pred, margins).to_dict()
    n, why = needed_networks(pilot, PILOT, looks=n_looks)
    assert n is not None, why
    rng = np.random.default_rng(0)

    def decisive(networks: float) -> float:
        se = s1 * scale * np.sqrt(PILOT / networks)
        with looks(n_looks):
            verdicts = [decide(float(e), se, pred, margins).verdict for e in rng.normal(truth, se, DRAWS // 10)]
        return float(np.mean([v != "inconclusive" for v in verdicts]))

    assert decisive(n) >= 0.95 - 3 * 0.005, (n, why)
    assert decisive(n / 4) < 0.95, "a quarter of the plan is as decisive: the formula overshoots"


def test_a_deviation_on_a_boundary_cannot_be_planned() -> None:
    pilot = decide(1.15, 0.01, 1.0, Margins("absolute", 0.05, 0.15)).to_dict()  # exactly on the band
    n, why = needed_networks(pilot, PILOT)
    assert n is None and "sits on a boundary" in why


def test_networks_auto_sizes_the_budget_from_a_pilot(tmp_path: Path) -> None:
    study = {
        "study": {"seed": 1, "claims": ["sg.sec3_1"], "max_networks": 4000},
        "claims": {"sg.sec3_1": {"networks": "auto", "dims": [64, 256, 1024]}},
    }
    res = run_study(parse_study(study), tmp_path / "run")
    plan = json.loads((tmp_path / "run" / "study.json").read_text())["plan"]
    assert [row["claim"] for row in plan] == ["sg.sec3_1"]
    planned = plan[0]["networks"]
    assert planned is not None and 200 <= planned <= 4000
    assert res.results["sg.sec3_1"]["n_networks"] == 2 * 3 * min(planned, 4000) // 2  # main cells: 3 dims
    assert res.verdict("sg.sec3_1") == "verified"
    again = run_study(parse_study(study), tmp_path / "run")  # resumed: the same plan from the stored pilot
    assert json.loads((tmp_path / "run" / "study.json").read_text())["plan"] == plan
    assert again.verdicts == load_results(tmp_path / "run").verdicts


def test_plan_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[study]\nseed = 0\nclaims = ["sg.sec3_1", "sg.lemma7"]\n[claims."sg.sec3_1"]\ndims = [64, 256]\n')
    assert main(["plan", str(path), "--pilot", "100", "--json"]) == 0
    rows = {r["claim"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["sg.lemma7"]["networks"] is None and "no network budget" in rows["sg.lemma7"]["reason"]
    assert rows["sg.sec3_1"]["networks"] >= 100 and rows["sg.sec3_1"]["seconds"] is not None


def test_claims_sharing_cells_share_their_planned_budget(tmp_path: Path) -> None:
    """sg.thm6 and sg.thm6_proof read the same cells: "auto" gives both the larger of their two plans."""
    study = {
        "study": {"seed": 1, "claims": ["sg.thm6", "sg.thm6_proof"], "max_networks": 300},
        "claims": {
            c: {"networks": "auto", "pools": [4, 9], "resolution": 6, "channels": 4}
            for c in ("sg.thm6", "sg.thm6_proof")
        },
    }
    res = run_study(parse_study(study), tmp_path / "run")
    assert res.results["sg.thm6"]["n_networks"] == res.results["sg.thm6_proof"]["n_networks"]
    assert res.verdict("sg.thm6") != "error" and res.verdict("sg.thm6_proof") != "error"


def test_a_tail_the_theory_predicts_sets_the_floor_of_the_plan() -> None:
    """A pilot of [dense(16) relu]*4 (γ₁ = 6.28 from the graph) that would verify is inconclusive by Cochran's rule;
    the plan asks at least the rule's 1,013 networks, not the few that its narrow interval alone would need."""
    from theorycheck.claims._parts import CONSTANT, supported_decision
    from theorycheck.theory import gradient_tail

    gamma = gradient_tail("[dense(16) relu]*4 dense(1)", "8").skewness
    values = np.random.default_rng(1).gamma(50.0, 2.0 / 50.0, size=PILOT)
    with looks(1):
        raw = decide(float(values.mean()), float(values.std(ddof=1) / np.sqrt(PILOT)), 2.0, CONSTANT)
    assert raw.verdict == "verified"
    gated = supported_decision(raw, [values], skewness=[gamma]).to_dict()
    n, why = needed_networks(gated, PILOT)
    assert n == 1013 and "heavy tail (needs 1013)" in why
