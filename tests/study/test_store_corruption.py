"""Any single file of a finished store replaced by garbage: the next run recomputes what it must and gives the
same verdicts (hypothesis chooses the file and the garbage: bytes, JSON of the wrong shape, an empty file, a
directory, or a file in place of a cell directory; stray temporary files are removed at start)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theorycheck.study import run_study

STUDY = """
[study]
seed = 11
claims = ["sg.sec3_1", "sg.lemma7"]

[claims."sg.sec3_1"]
dims = [16, 64]
networks = 100

[claims."sg.lemma7"]
architectures = ["dense(4) relu dense(2) @ 3", "conv(2,3) relu flatten dense(2) @ 1x4x4"]
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("store")
    study = root / "s.toml"
    study.write_text(STUDY)
    verdicts = run_study(study, root / "out").verdicts
    return study, root / "out", verdicts


def _files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


GARBAGE = st.sampled_from(["bytes", "json list", "json number", "empty", "directory", "cell is a file", "tmp"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=GARBAGE)
def test_one_garbage_file_is_recomputed_with_identical_verdicts(
    finished: tuple[Path, Path, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory, data: Any, kind: str
) -> None:
    study, reference, verdicts = finished
    out = tmp_path_factory.mktemp("corrupt") / "out"
    shutil.copytree(reference, out)
    target = out / data.draw(st.sampled_from(_files(out)), label="file")
    if kind == "bytes":
        target.write_bytes(data.draw(st.binary(min_size=1, max_size=64), label="bytes"))
    elif kind == "json list":
        target.write_text(json.dumps([1, 2, 3]))
    elif kind == "json number":
        target.write_text("3")
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "directory":
        target.unlink()
        target.mkdir()
        (target / "inside").write_text("x")
    elif kind == "cell is a file":
        cell = target.parent if target.parent.parent.name == "cells" else out / "cells"
        shutil.rmtree(cell)
        cell.write_text("not a directory")
    else:  # an interrupted write's temporary file beside the target
        (target.parent / f".{target.name}.abc123.tmp").write_bytes(b"half")
    again = run_study(study, out).verdicts
    assert again == verdicts
    assert not list(out.rglob("*.tmp")), "temporary files must be cleaned up"
    assert _files(out) == _files(reference)
