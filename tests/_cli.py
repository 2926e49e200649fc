"""Run the command line in-process, as a user's shell would, without paying a Python start-up per call.

``python -m theorycheck`` spends about 4 s importing torch before it parses an argument (measured 2026-12-02 on
2 cores); in-process the import is paid once per test session. ``tests/cli/test_predict_cli.py`` keeps one
real subprocess call for the module entry point itself.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from theorycheck.cli import main


@dataclass(frozen=True)
class CliResult:
    """What a subprocess would give: the exit status and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """``theorycheck ARGS…`` in-process; argparse's own exits (``--help``, usage errors) give their status."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return CliResult(code, out.getvalue(), err.getvalue())
