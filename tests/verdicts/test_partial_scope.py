"""A claim judged on part of its scope says so, everywhere a verdict is read (issue: verdicts that never overstate).

The planted defect is the old combination rule: "not covered" ranked below "verified", so a claim verified on the
points the theory covers and not covered on the rest was headlined "verified", and nothing downstream could tell.
The family below is covered by (H) at its ReLU points and not at its tanh points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import theorycheck.claims as tc
from tests._cli import run_cli
from theorycheck.stats import combine
from theorycheck.testing import assert_holds, check

NETWORKS = 3000  # a relative standard error of 1% at the ReLU points: verified within ±5% with power > 0.99
FAMILY = {"arch": "dense(32) {a} dense(1)", "input": "{d}", "sweep": {"a": ["relu", "tanh"], "d": [16, 64]}}


@pytest.fixture(scope="module")
def partial() -> object:
    claim = tc.value("mine.partial", predicted="H", statistic="grad_sq_norm", **FAMILY)  # type: ignore[arg-type]
    return claim, check(claim, networks=NETWORKS)


def test_combining_parts_never_counts_a_part_that_was_not_judged() -> None:
    assert combine(["verified", "not covered", "not covered", "not covered"]).scope() == "judged on 1 of 4 parts"
    assert combine(["not covered", "not covered"]).verdict == "not covered"
    assert combine(["verified", "error"]).verdict == "error"
    assert not combine(["verified", "approximate"]).partial


def test_the_verdict_states_how_much_of_the_claim_it_rests_on(partial: tuple) -> None:
    _, outcome = partial
    r = outcome.result
    assert outcome.verdict == "verified", outcome.table()
    assert r["partial"] and (r["judged"], r["parts_counted"]) == (2, 4)
    assert outcome.scope == "judged on 2 of 4 parts" and "judged on 2 of 4 parts" in outcome.table()
    # every uncovered point gives its own reason (they used to repeat the first point's)
    assert len(r["not_covered"]) == 2
    assert all("tanh" in why for why in r["not_covered"])
    assert any("on 16:" in why for why in r["not_covered"]) and any("on 64:" in why for why in r["not_covered"])


def test_assert_holds_fails_on_part_of_the_scope_unless_allowed(partial: tuple) -> None:
    claim, _ = partial
    with pytest.raises(AssertionError, match="judged on 2 of 4 parts"):
        assert_holds(claim, networks=NETWORKS)
    assert assert_holds(claim, networks=NETWORKS, allow_partial=True).partial


def test_a_claim_with_no_covered_part_stays_not_covered_with_every_reason() -> None:
    claim = tc.value(
        "mine.uncovered",
        arch="dense(8) {a} dense(1)",
        input="4",
        sweep={"a": ["tanh", "sigmoid"]},
        predicted="H",
        statistic="grad_sq_norm",
    )
    outcome = check(claim, networks=50)
    assert outcome.verdict == "not covered" and not outcome.partial
    reasons = outcome.result["not_covered"]
    assert len(reasons) == 2 and "tanh" in reasons[0] and "sigmoid" in reasons[1]


def test_check_json_and_strict_carry_the_scope() -> None:
    args = ["check", FAMILY["arch"], "--input", "{d}", "--sweep", "a=relu,tanh", "--sweep", "d=16,64"]
    args += ["--predicted", "H", "--statistic", "grad_sq_norm", "--networks", str(NETWORKS)]
    done = run_cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["verdict"] == "verified" and out["scope"] == "judged on 2 of 4 parts" and len(out["not_covered"]) == 2
    strict = run_cli(*args, "--strict")
    assert strict.returncode == 1 and "judged on 2 of 4 parts" in strict.stderr
    assert "verified (judged on 2 of 4 parts)" in strict.stdout
    assert run_cli(*args, "--strict", "--allow-partial").returncode == 0


def _study(tmp_path: Path, allow: str) -> Path:
    path = tmp_path / "partial.toml"
    path.write_text(
        f"""[study]
name = "partial"
claims = ["mine.partial"]
[claims."mine.partial"]
form = "value"
arch = "dense(32) {{a}} dense(1)"
input = "{{d}}"
sweep = {{ a = ["relu", "tanh"], d = [16, 64] }}
predicted = "H"
statistic = "grad_sq_norm"
networks = {NETWORKS}
{allow}
"""
    )
    return path


def test_a_study_table_opts_in_to_partial_verdicts_under_strict(tmp_path: Path) -> None:
    refused = run_cli("run", str(_study(tmp_path, "")), "--out", str(tmp_path / "a"), "--strict")
    assert refused.returncode == 1 and "allow_partial = true" in refused.stderr
    assert "verified (2/4 parts)" in refused.stdout
    verdict = json.loads((tmp_path / "a" / "verdicts.json").read_text())[0]
    assert verdict["partial"] and verdict["scope"] == "judged on 2 of 4 parts" and not verdict["allow_partial"]
    allowed = run_cli("run", str(_study(tmp_path, "allow_partial = true")), "--out", str(tmp_path / "b"), "--strict")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads((tmp_path / "b" / "verdicts.json").read_text())[0]["allow_partial"]


def test_allow_partial_must_be_a_boolean(tmp_path: Path) -> None:
    done = run_cli("run", str(_study(tmp_path, 'allow_partial = "yes"')), "--out", str(tmp_path / "c"))
    assert done.returncode == 2 and "allow_partial: must be true or false" in done.stderr
    assert not (tmp_path / "c").exists()
