"""A tiny study for runner tests: fast claims, small budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = """
[study]
name = "tiny"
seed = {seed}
claims = ["sg.sec3_1", "sg.lemma7", "sg.thm6_proof", "sg.lemma9"]

[claims."sg.sec3_1"]
dims = [16, 64, 256]
networks = 400

[claims."sg.thm6_proof"]
pools = [4, 9]
channels = 2
networks = 200

[claims."sg.lemma9"]
networks = 500
architectures = ["dense(2) relu dense(2) relu dense(2) @ 2"]
"""


@pytest.fixture
def tiny_study(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(seed=5))
    return path
