"""Every implemented claim, at reduced budget, under two seeds.

Done-criteria of the verdict issue: every negative control is refuted, and the
verdicts do not depend on the seed. Monte Carlo budgets are planned by a pilot
(``networks = "auto"``); the runner doubles inconclusive claims up to ``MAX_NETWORKS``. The second seed runs the
Monte Carlo claims only: graph facts are exact, and the counterexample searches'
hypothesis phase is derandomized (the seed moves only their random restarts), so a
second seed would repeat them (about 45 s of the suite, measured 2026-12-02).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from theorycheck.claims import CATALOGUE
from theorycheck.study import parse_study, run_study

SEEDS = (11, 12)
MAX_NETWORKS = 16000
BOUND_NETWORKS = 30  # one minimal-norm attack per network; one bound above its attack refutes the mutant


def _study(seed: int, *, monte_carlo_only: bool = False) -> dict:
    """Monte Carlo budgets sized by power (``networks = "auto"``: a pilot of 200 networks per cell, then the
    networks for a decisive verdict with probability 95% at the claim's margins, doubling while inconclusive up
    to ``MAX_NETWORKS``), as in ``studies/quick.toml``. Two claims keep a fixed budget that was measured decisive
    under both seeds and costs less than their plan (2026-12-02, 2 cores): sg.thm4_l2 (2,000 networks: 6 s a seed
    against 10-35 s planned) and sg.fig1 (1,000: 4-6 s against 8-12 s). sg.cor5 is the other way round: 7 s planned
    against 35-48 s at 2,000 networks."""
    claims: dict[str, dict] = {
        cid: {"networks": "auto"} for cid, c in CATALOGUE.items() if c.implemented and "networks" in c.params
    }
    claims["sg.cor5"] = {"networks": "auto", "resolutions": [16, 32, 64]}
    claims["sg.thm4_l2"] = {"networks": 2000}
    claims["sg.fig1"] = {"networks": 1000}
    # one look at the whole budget: α-spending splits α over the planned looks, and at 8,000 networks and α/2
    # the "uncorrelated" part of seed 11 stayed inconclusive (power, measured 2026-12-02)
    claims["sg.lemma9"] = {"networks": MAX_NETWORKS}
    claims["sg.pathsum"] = {"networks": 2}
    claims["tc.kernel_width"] = {"networks": "auto", "widths": [4, 8, 16, 32]}
    claims["sg.lemma1"] = {"networks": 50}
    claims["sg.prop2"] = {"networks": 50}
    for cid, claim in CATALOGUE.items():  # the identity/inequality searches
        if claim.implemented and "max_examples" in claim.params:
            claims[cid] = {"max_examples": 200}
    claims["pk.fc_bound"] = {"max_examples": 200, "networks": BOUND_NETWORKS}
    claims["pk.chain"] = {"max_examples": 200, "networks": BOUND_NETWORKS}
    if monte_carlo_only:
        claims = {cid: p for cid, p in claims.items() if "max_examples" not in p and "networks" in p}
        claims = {cid: p for cid, p in claims.items() if not cid.startswith(("sg.lemma7", "sg.lemma8", "sg.pathsum"))}
    selected: Any = "all" if not monte_carlo_only else list(claims)
    return {
        "study": {"name": f"claims-{seed}", "seed": seed, "claims": selected, "max_networks": MAX_NETWORKS},
        "claims": claims,
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, dict]]:
    out: dict[int, dict[str, dict]] = {}
    for seed in SEEDS:
        print(f"claims study, seed {seed}")
        study = _study(seed, monte_carlo_only=seed != SEEDS[0])
        res = run_study(parse_study(study), Path(tmp_path_factory.mktemp(f"seed{seed}")))
        out[seed] = {v["claim"]: v for v in res.verdicts}
    return out


@pytest.mark.statistical
def test_every_negative_control_is_refuted(runs: dict[int, dict[str, dict]]) -> None:
    for seed, verdicts in runs.items():
        unable = {c: v["negative_control"] for c, v in verdicts.items() if v["negative_control"] != "refuted"}
        assert not unable, f"seed {seed}: controls that did not come out refuted: {unable}"


@pytest.mark.statistical
def test_verdicts_are_stable_across_seeds(runs: dict[int, dict[str, dict]]) -> None:
    a, b = (runs[s] for s in SEEDS)
    assert len(b) >= 15, f"the second seed runs the Monte Carlo claims, got {sorted(b)}"
    differ = {c: (a[c]["verdict"], b[c]["verdict"]) for c in b if a[c]["verdict"] != b[c]["verdict"]}
    assert not differ, f"verdicts differ between seeds {SEEDS}: {differ}"


@pytest.mark.statistical
def test_no_claim_fails_to_evaluate(runs: dict[int, dict[str, dict]]) -> None:
    for verdicts in runs.values():
        assert all(v["verdict"] != "error" for v in verdicts.values())


@pytest.mark.statistical
def test_known_findings(runs: dict[int, dict[str, dict]]) -> None:
    """Facts of the graph (exact) and findings that are far from any margin."""
    for later in SEEDS[1:]:  # the Monte Carlo findings under every seed
        assert runs[later]["sg.thm6"]["verdict"] == "refuted"
        assert runs[later]["sg.sec3_1"]["verdict"] == "verified"
    verdicts = runs[SEEDS[0]]  # every finding under the first seed (the one that runs every claim)
    assert verdicts["sg.lemma7"]["verdict"] == "verified"
    assert verdicts["sg.lemma8"]["verdict"] == "verified"
    assert verdicts["sg.symmetry"]["verdict"] == "refuted"  # stride 2 with a 3x3 kernel breaks (S)
    assert verdicts["sg.thm6"]["verdict"] == "refuted"  # the statement says 1/n, its proof 1/sqrt(n)
    assert verdicts["pk.fc_bound"]["verdict"] == "refuted"  # M as stated (entrywise) misses a factor d
    assert verdicts["pk.chain"]["verdict"] == "refuted"  # the conv rule fails for overlapping windows
    assert verdicts["sg.sec3_1"]["verdict"] == "verified"
