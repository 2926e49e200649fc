"""Study files: every malformed file gets one error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from theorycheck.errors import TheorycheckError
from theorycheck.study import load_study

GOOD = """
[study]
name = "t"
seed = 3
claims = ["sg.sec3_1", "sg.lemma7"]

[claims."sg.sec3_1"]
dims = [16, 64]
networks = 100
"""

CASES = [
    ("[study\nseed = 1", "malformed TOML"),
    ('[study]\nseed = 1\nclaims = ["sg.sec3_1"\n', "malformed TOML"),
    ("[claims]\n", "missing [study] table"),
    ("[study]\nseed = 1\n[setup]\nx = 1\n", "unknown table [setup]"),
    ('[study]\nsead = 1\nclaims = "all"\n', "study.sead: unknown field; did you mean 'seed'?"),
    ("[study]\nseed = -1\n", "study.seed: must be an integer from 0 to 2^63-1"),
    ('[study]\nseed = "one"\n', "study.seed: must be an integer from 0 to 2^63-1"),
    ('[study]\ndevice = "gpu"\n', "study.device: must be auto, cpu or cuda"),
    ('[study]\nprecision = "fp16"\n', "study.precision: must be one of"),
    ('[study]\nconv_kernel = "cudnn"\n', "study.conv_kernel: must be grouped or triton, got 'cudnn'"),
    ("[study]\nmax_networks = -3\n", "study.max_networks"),
    ('[study]\nclaims = ["sg.thm33"]\n', "unknown claim 'sg.thm33'; did you mean 'sg.thm3'?"),
    ('[study]\nclaims = ["sg.thm3", "sg.thm3"]\n', "listed twice"),
    ("[study]\nclaims = 5\n", 'study.claims: must be "all" or a non-empty list'),
    (
        '[study]\nclaims = ["sg.thm3"]\n[claims."sg.thm3"]\ndimz = [1]\n',
        "dimz: unknown parameter of sg.thm3; did you mean 'dims'?",
    ),
    (
        '[study]\nclaims = ["sg.thm3"]\n[claims."sg.thm3"]\ndims = [0, 4]\n',
        "dims must be a non-empty list of positive integers",
    ),
    (
        '[study]\nclaims = ["sg.thm3"]\n[claims."sg.thm3"]\nnetworks = -5\n',
        "networks must be an integer from 2 to 10000000",
    ),
    ('[study]\nclaims = ["sg.thm3"]\n[claims."sg.eq8"]\nnetworks = 5\n', "does not select"),
    ('[study]\nclaims = ["sg.thm3"]\n[claims."sg.thm9"]\nnetworks = 5\n', "unknown claim; did you mean"),
    (
        '[study]\nclaims = ["sg.lemma7"]\n[claims."sg.lemma7"]\narchitectures = ["conv(4,3) relu @ 3x8x8"]\n',
        "claims.\"sg.lemma7\".architectures item 0 ('conv(4,3) relu @ 3x8x8') is not a valid architecture on its "
        "shape: missing output layer",
    ),
    ('[study]\nclaims = ["sg.lemma7"]\n[claims."sg.lemma7"]\narchitectures = ["dense(4) @ 3x"]\n', "input shape '3x'"),
]


@pytest.mark.parametrize(("text", "fragment"), CASES, ids=[c[1][:40] for c in CASES])
def test_malformed_study_gets_a_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "study.toml"
    path.write_text(text)
    with pytest.raises(TheorycheckError) as info:
        load_study(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_good_study_resolves_defaults(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text(GOOD)
    spec = load_study(path)
    assert spec.seed == 3 and spec.name == "t"
    assert spec.claims["sg.sec3_1"] == {"dims": [16, 64], "networks": 100}
    assert "architectures" in spec.claims["sg.lemma7"]


def test_missing_file() -> None:
    with pytest.raises(TheorycheckError, match="not found"):
        load_study("/nonexistent/study.toml")


def test_shipped_studies_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "studies"
    files = sorted(root.glob("*.toml"))
    assert any(f.name == "quick.toml" for f in files) and any(f.name == "paper.toml" for f in files)
    for f in files:
        load_study(f)
