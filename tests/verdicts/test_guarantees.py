"""The guarantee printed is the one that applies (issue: verdicts that never overstate).

Planted defect: the report used to print one fully-connected calibration sentence as every claim's guarantee,
for graph facts, searches, CNNs with pooling and smooth activations alike. Each claim's guarantee now follows from
how its parts were decided and from the setting class of its architectures.
"""

from __future__ import annotations

import pytest

import theorycheck.claims as tc
from theorycheck.claims import CATALOGUE
from theorycheck.testing import check


def _guarantee(claim: tc.Claim, networks: int | None = None) -> str:
    return str(check(claim, networks=networks).result["guarantee"]["text"])


def test_a_graph_fact_is_exact() -> None:
    text = _guarantee(CATALOGUE["sg.lemma7"])
    assert text.startswith("Exact:") and "interval" not in text.lower()


def test_a_search_names_its_phases_evaluations_and_mutant() -> None:
    text = _guarantee(CATALOGUE["pk.lemmaB2"])
    assert text.startswith("Search-based:")
    assert "evaluations in all" in text and "mutant came out refuted" in text and "planted false inequality" in text


def test_a_dense_relu_claim_quotes_the_coverage_measured_for_its_class() -> None:
    claim = tc.value(
        "mine.g_dense",
        arch="dense(32) relu dense(1)",
        input="{d}",
        sweep={"d": [16, 64]},
        predicted="2",
        statistic="grad_sq_norm",
    )
    text = _guarantee(claim, 300)
    assert "mean: coverage 94.2%–96.2%" in text and "Gaussian dense/ReLU chains" in text


@pytest.mark.parametrize(
    ("arch", "why"),
    [
        ("conv(4,3,padding=circular) relu maxpool(2) flatten dense(1)", "maxpool"),
        ("dense(16) tanh dense(1)", "tanh activations"),
        ("conv(4,3) relu flatten dense(1)", "zero padding"),
    ],
)
def test_outside_the_measured_classes_the_coverage_is_not_measured(arch: str, why: str) -> None:
    shape = "1x6x6" if arch.startswith("conv") else "8"
    claim = tc.value("mine.g_other", arch=arch, input=shape, predicted="1", statistic="grad_sq_norm")
    text = _guarantee(claim, 100)
    assert "coverage not measured for this setting" in text and why in text
