"""Catalogue graph theorems on user families, the store's reuse for edited claims, and counterexample printing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from theorycheck.claims.searches import format_counterexample
from theorycheck.study import parse_study, run_study

CNN = "conv(4,3,padding={p}) relu conv(4,3,padding={p}) relu flatten dense(3)"


def _run(tmp: Path, claims: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    spec = parse_study({"study": {"seed": 0, "claims": list(claims)}, "claims": claims})
    return run_study(spec, tmp, progress=progress).results


def test_symmetry_lemma7_lemma8_on_a_family(tmp_path: Path) -> None:
    fam = {"arch": CNN, "input": "2x{r}x{r}", "sweep": {"r": [6, 8], "p": "circular"}}
    res = _run(tmp_path / "a", {"sg.symmetry": fam, "sg.lemma7": fam, "sg.lemma8": fam})
    assert res["sg.symmetry"]["verdict"] == "verified"  # stride 1, circular padding: (S) exactly
    assert res["sg.symmetry"]["negative_control"] == "refuted"  # the planted zero-padded graph is flagged
    assert res["sg.lemma7"]["verdict"] == "verified" and res["sg.lemma8"]["verdict"] == "verified"
    zero = {**fam, "sweep": {"r": [6, 8], "p": "zero"}}
    res = _run(tmp_path / "b", {"sg.symmetry": zero})
    assert res["sg.symmetry"]["verdict"] == "refuted"
    assert "(S) fails at r=6, r=8" in res["sg.symmetry"]["parts"][0]["decision"]["explanation"]


def test_an_edited_claim_recomputes_only_what_changed(tmp_path: Path) -> None:
    """Cells are keyed by the instantiated architecture: a new grid point is computed, the others reused."""
    claim = {"form": "scaling", "arch": "dense({w}) relu dense(2)", "input": "{d}", "slope": -1, "networks": 100}
    seen: list[str] = []

    def progress(cell: str, done: int, total: int) -> None:
        if cell:
            seen.append(cell)

    def points(cells: list[str]) -> list[str]:  # main cells, and the control's changed networks moved up, down
        return sorted(c.removeprefix("mine.edit/").replace("/slope-b0.15-h2", "") for c in cells)

    _run(tmp_path, {"mine.edit": {**claim, "sweep": {"d": [8, 16], "w": 4}}}, progress)
    first = list(seen)
    seen.clear()
    _run(tmp_path, {"mine.edit": {**claim, "sweep": {"d": [8, 16, 32], "w": 4}}}, progress)
    assert points(first) == [
        "control/down/d=16@0-50",
        "control/down/d=8@0-50",
        "control/up/d=16@0-50",
        "control/up/d=8@0-50",
        "main/d=16@0-100",
        "main/d=8@0-100",
    ]
    assert points(seen) == ["control/down/d=32@0-50", "control/up/d=32@0-50", "main/d=32@0-100"]
    seen.clear()
    _run(tmp_path, {"mine.edit": {**claim, "sweep": {"d": [8, 16, 32], "w": 5}}}, progress)
    assert len(seen) == 9  # a new width is a new architecture at every point, for the control too


@pytest.mark.parametrize(
    ("ce", "expected"),
    [
        ({"structure": {"p": 1, "q": 2}, "inputs": {"v": [0.5, -2.0]}}, "structure p = 1, q = 2; inputs v = (0.5, -2)"),
        ({"structure": {}, "inputs": {"W": [[1.0, 2.0], [3.0, 4.0]]}}, "structure none; inputs W = [1 2; 3 4]"),
        ({"structure": {"k": 3}, "inputs": {"x": 1.23456789}}, "inputs x = 1.235"),
        ({"structure": {}, "inputs": {"T": [[[1.0]], [[2.0]]]}}, "T = {[1], [2]}"),
        ({"structure": {}, "inputs": {"K": [[[[1.0, 0.5], [0.0, 2.0]]]]}}, "K = [1 0.5; 0 2]"),
        ({"structure": {}, "inputs": {"T": [[[0.0]]] * 5}}, "T = a tensor of shape 5×1×1 (in results.json)"),
        ({"structure": {}, "inputs": {"v": list(range(20))}}, "v = (0, 1, 2, 3, 4, 5, 6, 7, …)"),
    ],
)
def test_counterexamples_read_as_a_theorist_writes_them(ce: dict, expected: str) -> None:
    assert expected in format_counterexample(ce)
