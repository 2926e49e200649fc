"""Checks of claims inside your own pytest suite.

>>> from theorycheck.claims import scaling
>>> from theorycheck.testing import assert_holds
>>> def test_mlp_coordinates():
...     assert_holds(scaling("mine.fc", arch="dense(256) relu dense(10)", input="{d}",
...                          sweep={"d": [64, 256, 1024]}, slope=-1), networks=1000)

:func:`check` returns the typed result; :func:`assert_holds` raises an :class:`AssertionError` whose message is
the verdict table (parts, estimates, intervals and the negative control) unless the verdict is one you accept.
Both run the claim through the study runner, so the verdict is the one a study gives with the same seed and
budget. Hypothesis strategies for families are in :mod:`theorycheck.strategies` (``families``, ``sweeps``).

Install with ``pip install theorycheck[testing]`` (brings pytest). The pytest plugin (:mod:`theorycheck.pytest_plugin`,
loaded automatically) registers the ``theorycheck`` marker and the ``theorycheck_seed`` fixture, and a failing
:func:`assert_holds` shows only your test's line and the verdict table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from theorycheck.claims import Claim
from theorycheck.study._grid import grid_lines

__all__ = ["ClaimCheck", "assert_holds", "check"]


@dataclass(frozen=True)
class ClaimCheck:
    """The outcome of one claim: its verdict, its control's, and the full result (as in ``results.json``)."""

    claim: str
    verdict: str
    negative_control: str | None
    control_unable_to_fail: bool
    result: dict[str, Any]

    @property
    def partial(self) -> bool:
        """True when the verdict rests on some of the claim's parts only (the theory covers the rest not)."""
        return bool(self.result.get("partial"))

    @property
    def scope(self) -> str:
        """``"judged on 1 of 4 parts"``, or ``""`` when every part was judged."""
        return str(self.result.get("scope") or "")

    @property
    def grid(self) -> list[dict[str, Any]]:
        """One row per grid point (variables, d, estimate, CI, prediction)."""
        return list(self.result.get("grid") or [])

    def table(self) -> str:
        """The verdict table: every part and control part with its decision and numbers."""
        scope = f", {self.scope}" if self.partial else ""
        lines = [f"{self.claim}: {self.verdict}{scope} (negative control: {self.negative_control})"]
        for title, key in (("parts", "parts"), ("negative control", "control_parts")):
            lines.append(f"  {title}:")
            for p in self.result.get(key, []):
                d = p["decision"]
                shown = "" if p.get("counts", True) else " [shown, not counted]"
                lines.append(f"    - {p['name']}: {d['verdict']}{shown}: {d['explanation']}")
        if self.grid:
            lines.append("  grid:")
            lines += grid_lines(self.grid, indent="    ")
        return "\n".join(lines)


def check(
    claim: Claim, *, networks: int | None = None, seed: int = 0, device: str = "cpu", max_networks: int | None = None
) -> ClaimCheck:
    """Run ``claim`` with ``networks`` per cell (default: its own) and return the outcome."""
    __tracebackhide__ = True  # pytest shows the caller's line, not the toolkit's frames
    from theorycheck.study._adhoc import run_claims

    res = run_claims([claim], networks=networks, seed=seed, device=device, max_networks=max_networks)
    r = res.results[claim.id]
    return ClaimCheck(claim.id, r["verdict"], r["negative_control"], bool(r["control_unable_to_fail"]), r)


def assert_holds(
    claim: Claim,
    *,
    networks: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    accept: tuple[str, ...] = ("verified",),
    max_networks: int | None = None,
    allow_partial: bool = False,
) -> ClaimCheck:
    """:func:`check`, then raise ``AssertionError(verdict table)`` unless the verdict is in ``accept``, rests on
    every part of the claim (or ``allow_partial``: the parts the theory covers may suffice), and the negative
    control was refuted (a check that cannot fail proves nothing)."""
    __tracebackhide__ = True
    from theorycheck.claims._base import strict_problems

    outcome = check(claim, networks=networks, seed=seed, device=device, max_networks=max_networks)
    problems = strict_problems({**outcome.result, "allow_partial": allow_partial}, accept=accept)
    if problems:
        raise AssertionError(f"{'; '.join(problems)}\n{outcome.table()}")
    return outcome
