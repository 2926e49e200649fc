"""The PDF report, built from a small results directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typst
from matplotlib import image
from pypdf import PdfReader

from theorycheck.errors import TheorycheckError
from theorycheck.report import build_report, report_source
from theorycheck.study import run_study

STUDY = """
[study]
name = "report-fixture"
seed = 4
claims = ["sg.sec3_1", "sg.lemma7", "sg.symmetry", "sg.thm6", "sg.eq9_var", "sg.fig3"]

[claims."sg.sec3_1"]
dims = [16, 64, 256]
networks = 300

[claims."sg.symmetry"]
resolution = 12
map_networks = 400

[claims."sg.thm6"]
pools = [4, 9]
resolution = 6
channels = 2
networks = 200

[claims."sg.eq9_var"]
dims = [32]
width = 16
networks = 300

[claims."sg.fig3"]
resolution = 8
channels = 2
networks = 200
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    study = root / "study.toml"
    study.write_text(STUDY)
    run_study(study, root / "out")
    return root / "out"


def test_report_contains_every_claim_and_verdict(results: Path, tmp_path: Path) -> None:
    pdf = build_report(results, tmp_path / "r.pdf")
    reader = PdfReader(pdf)
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    verdicts = json.loads((results / "verdicts.json").read_text())
    for v in verdicts:
        assert v["claim"] in flat
        assert v["verdict"] in flat
    for word in ("Summary", "Negative control", "Prediction", "theorycheck report", "git"):
        assert word in flat
    assert len(reader.pages) >= 4


def test_rendered_pages_are_not_blank(results: Path, tmp_path: Path) -> None:
    source = report_source(results, tmp_path)
    typst.compile(str(source), output=str(tmp_path / "page-{p}.png"), format="png", ppi=40, root=str(tmp_path))
    pages = sorted(tmp_path.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))  # numeric page order
    assert len(pages) >= 4
    for page in pages[:3]:  # title page, summary, first claim
        pixels = image.imread(page)[..., :3]
        assert float(np.std(pixels)) > 0.02, f"{page.name} looks blank"
        assert float((pixels < 0.5).mean()) > 0.001, f"{page.name} has almost no ink"


def test_figures_are_vector(results: Path, tmp_path: Path) -> None:
    report_source(results, tmp_path)
    figures = list((tmp_path / "figures").glob("*.svg"))
    assert figures
    kinds = {f.stem.split("-")[-1] for f in figures}
    assert {"scaling", "maps", "ratios", "variants"} <= kinds


def test_a_failed_typeset_leaves_no_pdf(results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated typst failure")

    monkeypatch.setattr(typst, "compile", broken)
    target = tmp_path / "out.pdf"
    with pytest.raises(TheorycheckError, match="typst could not typeset"):
        build_report(results, target)
    assert not target.exists()
    assert target.with_suffix(".typ").exists()


def test_missing_results_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TheorycheckError, match="study output directory"):
        build_report(tmp_path / "nothing", tmp_path / "r.pdf")


def test_every_claim_formula_typesets(tmp_path: Path) -> None:
    from theorycheck.claims import CATALOGUE

    formulas = [c.formula for c in CATALOGUE.values() if c.formula]
    assert len(formulas) >= 18
    src = tmp_path / "f.typ"
    src.write_text("\n\n".join(f"$ {f} $" for f in formulas))
    typst.compile(str(src), output=str(tmp_path / "f.pdf"))
