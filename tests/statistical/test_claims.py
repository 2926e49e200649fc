"""Every implemented claim, at reduced budget, under two seeds.

Done-criteria of the verdict issue: every negative control is refuted, and the verdicts do not depend on the
seed. Every Monte Carlo budget is planned by a pilot (``networks = "auto"``) for a decisive verdict with probability
``POWER`` at the claim's margins (``theorycheck plan``), so no budget encodes what happened to pass on these seeds;
the runner doubles inconclusive claims up to ``MAX_NETWORKS``. A claim whose pilot sits on a margin or band, or
needs more than the budget, is not promised a verdict by its plan, and the stability test does not ask one of it
(it says which). The second seed runs the Monte Carlo claims only: graph facts are exact, and the counterexample
searches' hypothesis phase is derandomized (the seed moves only their random restarts), so a second seed would
repeat them (about 45 s of the suite, measured 2026-12-02).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import binom

from theorycheck.claims import CATALOGUE
from theorycheck.claims.catalogue import AFTER_TRAINING
from theorycheck.study import parse_study, run_study

SEEDS = (11, 12)
MAX_NETWORKS = 8000  # a test-scale budget: a claim that needs more is not promised a verdict (and is not asserted)
#: the probability of a decisive verdict each planned budget is sized for
POWER = 0.99
#: promised claims the stability test must see (else it could pass by asserting nothing)
MIN_PROMISED = 10
#: the stability test's own false-failure rate: more indecisive promised verdicts than a Binomial(2K, 1 − POWER)
#: exceeds with this probability fail it (K promised claims, two seeds)
FALSE_FAILURE = 0.005
#: bound attacks: one minimal-norm attack per network. The mutant's chained bound exceeds its attack on every input
#: measured (it multiplies by each rule's gain), so one network refutes it; 30 keep the sampled-net histogram useful
BOUND_NETWORKS = 30
#: claims about trained networks: checked at small budgets by tests/study/test_trained_claims.py
TRAINED = AFTER_TRAINING


def _study(seed: int, *, monte_carlo_only: bool = False) -> dict:
    """Every network budget planned by a pilot of 200 networks per cell at ``POWER``, as in
    ``studies/quick.toml``; the smaller grids below keep the suite's time (2 cores)."""
    # the trained-network claims (minutes of training each) run in tests/study/test_trained_claims.py
    claims: dict[str, dict] = {
        cid: {"networks": "auto"} for cid, c in CATALOGUE.items() if "networks" in c.params and cid not in TRAINED
    }
    claims["sg.cor5"] = {"networks": "auto", "resolutions": [16, 32, 64]}
    claims["sg.pathsum"] = {"networks": 2}  # exact: the path sum equals autograd in float64 on every network
    claims["tc.kernel_width"] = {"networks": "auto", "widths": [4, 8, 16, 32]}
    for cid, claim in CATALOGUE.items():  # the identity/inequality searches
        if "max_examples" in claim.params:
            claims[cid] = {"max_examples": 200}
    claims["pk.fc_bound"] = {"max_examples": 200, "networks": BOUND_NETWORKS}
    claims["pk.chain"] = {"max_examples": 200, "networks": BOUND_NETWORKS}
    if monte_carlo_only:
        claims = {cid: p for cid, p in claims.items() if "max_examples" not in p and "networks" in p}
        claims = {cid: p for cid, p in claims.items() if not cid.startswith(("sg.lemma7", "sg.lemma8", "sg.pathsum"))}
    selected: Any = list(claims) if monte_carlo_only else [cid for cid in CATALOGUE if cid not in TRAINED]
    return {
        "study": {
            "name": f"claims-{seed}",
            "seed": seed,
            "claims": selected,
            "max_networks": MAX_NETWORKS,
            "power": POWER,
        },
        "claims": claims,
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, dict]]:
    out: dict[int, dict[str, dict]] = {}
    for seed in SEEDS:
        print(f"claims study, seed {seed}")
        study = _study(seed, monte_carlo_only=seed != SEEDS[0])
        folder = Path(tmp_path_factory.mktemp(f"seed{seed}"))
        res = run_study(parse_study(study), folder)
        plan = {row["claim"]: row for row in json.loads((folder / "study.json").read_text())["plan"]}
        out[seed] = {v["claim"]: {**v, "plan": plan.get(v["claim"])} for v in res.verdicts}
    return out


@pytest.mark.statistical
def test_every_negative_control_is_refuted(runs: dict[int, dict[str, dict]]) -> None:
    for seed, verdicts in runs.items():
        unable = {c: v["negative_control"] for c, v in verdicts.items() if v["negative_control"] != "refuted"}
        assert not unable, f"seed {seed}: controls that did not come out refuted: {unable}"


@pytest.mark.statistical
def test_verdicts_are_stable_across_seeds(runs: dict[int, dict[str, dict]]) -> None:
    """Claims whose plan promised a decisive verdict under both seeds get the same verdict under both, and no more of
    them are inconclusive than the plan's power allows (at a stated false-failure rate of the test itself)."""
    a, b = (runs[s] for s in SEEDS)
    assert len(b) >= 15, f"the second seed runs the Monte Carlo claims, got {sorted(b)}"
    promised = [c for c in b if all((r[c]["plan"] or {}).get("promised") for r in (a, b))]
    unpromised = {c: (a[c]["plan"] or {}).get("reason") for c in b if c not in promised}
    print(f"promised {len(promised)} claims; not promised (not asserted): {unpromised}")
    assert len(promised) >= MIN_PROMISED, f"only {len(promised)} claims promised: {unpromised}"
    indecisive = {
        c: (a[c]["verdict"], b[c]["verdict"]) for c in promised if "inconclusive" in (a[c]["verdict"], b[c]["verdict"])
    }
    trials = 2 * len(promised)
    allowed = next(m for m in range(trials + 1) if binom.sf(m, trials, 1 - POWER) <= FALSE_FAILURE)
    print(f"indecisive promised verdicts: {indecisive} (at most {allowed} of {trials} at power {POWER})")
    assert len(indecisive) <= allowed, f"promised a decisive verdict at power {POWER}, got: {indecisive}"
    decisive = [c for c in promised if c not in indecisive]
    differ = {c: (a[c]["verdict"], b[c]["verdict"]) for c in decisive if a[c]["verdict"] != b[c]["verdict"]}
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
