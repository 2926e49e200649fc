"""Counterexamples a user can read and reproduce (issue: verdicts that never overstate).

Planted defect: gradient ascent's counterexample used to be printed as it was found (a dense matrix of 4-digit
renderings of 17-digit floats), an input that, as printed, need not violate the claim at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tests._cli import run_cli
from theorycheck.claims.searches import format_counterexample
from theorycheck.properties import PROPERTIES, TOLERANCE, planted_false_inequality, search
from theorycheck.properties._shrink import round_significant

BUDGET = 200
SEED = 20261123


def _violation_as_printed(prop, ce: dict) -> float:  # type: ignore[no-untyped-def]
    """The violation at the input read back from its printed digits."""
    raw = {k: torch.as_tensor(round_significant(np.asarray(v), ce["digits"])) for k, v in ce["inputs"].items()}
    for k, v in ce["inputs"].items():  # what is stored is exactly what is printed
        assert np.array_equal(raw[k].numpy(), np.asarray(v, dtype=np.float64)), k
    return float(prop.violation(ce["structure"], raw))


def test_every_phase_prints_a_shrunk_counterexample_that_itself_violates() -> None:
    prop = PROPERTIES["pk.lemmaB3"].parts[0]  # false for overlapping windows
    found = [r for r in search(prop, budget=BUDGET, seed=SEED) if r.found]
    assert "gradient ascent" in [r.method for r in found]
    for r in found:
        ce = r.counterexample
        assert ce is not None and ce["shrunk"] and ce["digits"] <= 4
        assert _violation_as_printed(prop, ce) == ce["violation"] > TOLERANCE
        dense = np.count_nonzero(np.concatenate([np.ravel(v) for v in r.extra["found"]["inputs"].values()]))
        sparse = np.count_nonzero(np.concatenate([np.ravel(v) for v in ce["inputs"].values()]))
        assert sparse <= dense, r.method
        if r.method == "gradient ascent":  # dense by construction: entries were zeroed while the violation held
            assert sparse < dense


def test_a_counterexample_that_needs_its_digits_keeps_them() -> None:
    """Σ tanh(x_i) ≤ 7.9 is violated only where every x_i is large: nothing can be zeroed, and the entries that
    remain are the fewest digits that still violate."""
    prop = planted_false_inequality()
    hypo = search(prop, budget=BUDGET, seed=SEED)[1]
    ce = hypo.counterexample
    assert ce is not None and all(v != 0 for v in ce["inputs"]["x"])
    assert _violation_as_printed(prop, ce) > TOLERANCE
    printed = format_counterexample(ce).split("x = (")[1].split(")")[0]
    x = torch.tensor([float(v) for v in printed.split(", ")], dtype=torch.float64)  # read back from the text
    assert float(prop.violation({}, {"x": x})) > TOLERANCE


def test_the_counterexample_is_in_the_verdicts_and_in_the_run_output(tmp_path: Path) -> None:
    study = tmp_path / "b3.toml"
    study.write_text('[study]\nname = "b3"\nclaims = ["pk.lemmaB3"]\n[claims."pk.lemmaB3"]\nmax_examples = 200\n')
    done = run_cli("run", str(study), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    verdict = json.loads((tmp_path / "out" / "verdicts.json").read_text())[0]
    ce = verdict["counterexample"]
    assert verdict["verdict"] == "refuted" and ce["method"] in ("random", "hypothesis target()", "gradient ascent")
    assert f"pk.lemmaB3: counterexample ({ce['method']}): {ce['text']}" in done.stdout
    assert _violation_as_printed(PROPERTIES["pk.lemmaB3"].parts[0], ce) > TOLERANCE


def test_relative_violation_is_said_only_where_the_violation_is_relative() -> None:
    """Issue 24: an lhs/rhs claim's violation is relative (an excess over |lhs| + |rhs|); a user's own violation
    function is in its own units, and the verified text says "violation", not "relative violation"."""
    from theorycheck.claims import property_claim
    from theorycheck.testing import check

    shapes = {"structures": [{}], "shapes": lambda s: {"x": (3,)}}
    terms = property_claim(
        "mine.abs_terms",
        statement="|sum x| <= sum |x|",
        lhs=lambda s, r: r["x"].sum().abs(),
        rhs=lambda s, r: r["x"].abs().sum(),
        **shapes,
    )
    own = property_claim(
        "mine.abs_own",
        statement="|sum x| - sum |x| <= 0",
        violation=lambda s, r: r["x"].sum().abs() - r["x"].abs().sum(),
        **shapes,
    )
    for claim, words in ((terms, "largest relative violation per search"), (own, "largest violation per search")):
        result = check(claim, networks=200)
        assert result.verdict == "verified", result.table()
        assert words in result.result["parts"][0]["decision"]["explanation"]
