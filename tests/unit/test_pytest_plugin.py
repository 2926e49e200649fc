"""The pytest plugin, as a user's suite sees it: a pytest run in a fresh directory (subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_TEST = """
import pytest
from theorycheck.claims import value
from theorycheck.testing import assert_holds

@pytest.mark.theorycheck
def test_a_false_value(theorycheck_seed):
    assert theorycheck_seed == 7
    assert_holds(value("mine.false_value", arch="dense(32) relu dense(1)", input="{d}", sweep={"d": [8]},
                       statistic="grad_sq_norm", predicted="2 * 1.5"), networks=200, seed=theorycheck_seed)
"""


def test_the_plugin_registers_the_marker_and_shows_the_verdict_table_without_toolkit_frames(tmp_path: Path) -> None:
    """Issue 24: ``--strict-markers`` accepts ``@pytest.mark.theorycheck``; ``--theorycheck-seed`` reaches the
    fixture; the failure shows the user's line and the verdict table (E‖∂f‖² = 2 at He init, not 3: refuted),
    and no frame of theorycheck's own code."""
    (tmp_path / "test_user.py").write_text(USER_TEST)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "--theorycheck-seed", "7"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "mine.false_value: refuted" in out and "negative control" in out and "grid:" in out
    assert "theorycheck/testing.py" not in out and "theorycheck/study" not in out, out
    assert "assert_holds(value(" in out  # the user's own line is the one shown
