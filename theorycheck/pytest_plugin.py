"""The pytest plugin (entry point ``pytest11``, loaded by pytest when theorycheck is installed).

It registers the ``theorycheck`` marker, so a suite run with ``--strict-markers`` accepts
``@pytest.mark.theorycheck`` on tests that check claims (select them with ``-m theorycheck``, or leave them out of a
quick run with ``-m "not theorycheck"``), and adds the ``theorycheck_seed`` fixture (``--theorycheck-seed``, 0 by
default) for the seed of those checks. A failing :func:`theorycheck.testing.assert_holds` shows the verdict table
as the failure's message, without the toolkit's own frames (they set ``__tracebackhide__``).

Importing it costs nothing: pytest loads it at every start, and the toolkit loads only when a test runs a check.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pytest_addoption", "pytest_configure", "theorycheck_seed"]

import pytest


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("theorycheck")
    group.addoption(
        "--theorycheck-seed",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the theorycheck_seed fixture, for claims checked in this run (default 0)",
    )


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "theorycheck: a test that checks a theorycheck claim (Monte Carlo: select or skip with -m)"
    )


@pytest.fixture
def theorycheck_seed(request: Any) -> int:
    """The study seed for this run's claim checks: ``check(claim, seed=theorycheck_seed)``."""
    return int(request.config.getoption("--theorycheck-seed"))
