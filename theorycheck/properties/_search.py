"""Searching for counterexamples: typical sampling, hypothesis with ``target()``, and gradient ascent.

A property is ``violation(struct, inputs) ≤ tolerance`` for all inputs, where
``struct`` is a discrete configuration (kernel size, stride, pooling exponent, …)
and the inputs are built from unconstrained float64 tensors ("raw"), so that the
same parameterisation serves random sampling, hypothesis and an optimiser.
Violations are relative (e.g. ``(lhs − rhs)/|rhs|``), so one tolerance fits all
scales. The tolerance is far above float64 round-off of the expressions involved
(n·ε ≈ 1e-13 for n ≤ 10³ terms) and far below any real violation.

Non-finite values are never a pass, in any phase: +inf is a violation (a counterexample like any other), NaN is an
error of the check, recorded with the input that produced it (hypothesis shrinks it), and −inf means the inequality
holds with room to spare (e.g. a bound that is 0 where the other side is positive).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

from theorycheck.properties._base import Property, Raw
from theorycheck.properties._shrink import shrink

__all__ = ["SearchResult", "search"]


@dataclass
class SearchResult:
    """The largest violation each method found, and the best counterexample."""

    method: str
    evaluations: int
    max_violation: float
    counterexample: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: evaluations whose violation was NaN, and the first such input (shrunk by hypothesis in its phase)
    nan_evaluations: int = 0
    error: dict[str, Any] | None = None

    @property
    def found(self) -> bool:
        return self.counterexample is not None


def _as_json(struct: dict[str, Any], raw: Raw, violation: float) -> dict[str, Any]:
    return {
        "structure": struct,
        "violation": violation,
        "inputs": {k: v.detach().cpu().numpy().tolist() for k, v in raw.items()},  # exact: JSON floats round-trip
    }


def _evaluate(prop: Property, struct: dict[str, Any], raw: Raw) -> float:
    """The violation at one input, as a float: +inf and NaN are kept (a violation and an error)."""
    with torch.no_grad():
        return float(prop.violation(struct, raw))


class _Tally:
    """The best violation of one phase, its counterexample, and the NaN evaluations."""

    def __init__(self, prop: Property) -> None:
        self.prop = prop
        self.best = -math.inf
        self.counterexample: dict[str, Any] | None = None
        self.nans = 0
        self.error: dict[str, Any] | None = None

    def add(self, struct: dict[str, Any], raw: Raw, v: float, *, replace_error: bool = False) -> None:
        if math.isnan(v):
            self.nans += 1
            if self.error is None or replace_error:
                self.error = _as_json(struct, raw, v)
            return
        if v > self.best:
            self.best = v
            if v > self.prop.tolerance:
                self.counterexample = _as_json(struct, raw, v)

    def result(self, method: str, evaluations: int) -> SearchResult:
        return SearchResult(
            method, evaluations, self.best, self.counterexample, nan_evaluations=self.nans, error=self.error
        )


def random_search(prop: Property, budget: int, rng: np.random.Generator) -> SearchResult:
    """Typical inputs: raw entries N(0, s²) with a random scale s ∈ {0.1, 1, 10}."""
    tally = _Tally(prop)
    for _ in range(budget):
        struct = prop.structures[rng.integers(len(prop.structures))]
        scale = float(rng.choice([0.1, 1.0, 10.0]))
        raw = {k: torch.as_tensor(rng.standard_normal(s) * scale) for k, s in prop.shapes(struct).items()}
        tally.add(struct, raw, _evaluate(prop, struct, raw))
    return tally.result("random", budget)


def hypothesis_search(prop: Property, budget: int, seed: int) -> SearchResult:
    """hypothesis, steered by ``target(violation)``; a failure (a violation, or NaN) is shrunk to a small input."""
    tally = _Tally(prop)
    evals = 0

    @st.composite
    def cases(draw: Any) -> tuple[dict[str, Any], Raw]:
        struct = draw(st.sampled_from(prop.structures))
        raw = {}
        for name, shape in prop.shapes(struct).items():
            n = int(np.prod(shape))
            values = draw(st.lists(st.floats(-10.0, 10.0, allow_nan=False, width=64), min_size=n, max_size=n))
            raw[name] = torch.tensor(values, dtype=torch.float64).reshape(shape)
        return struct, raw

    @settings(
        max_examples=budget,
        database=None,
        deadline=None,
        derandomize=True,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.target, Phase.shrink],
    )
    @given(cases())
    def check(case: tuple[dict[str, Any], Raw]) -> None:
        nonlocal evals
        struct, raw = case
        v = _evaluate(prop, struct, raw)
        evals += 1
        tally.add(struct, raw, v, replace_error=True)  # hypothesis shrinks: the last failure is the smallest
        if math.isnan(v) or v > prop.tolerance:
            if v > prop.tolerance:
                tally.counterexample = _as_json(struct, raw, v)
            raise AssertionError(f"violation {v}")
        target(max(v, -1e6), label="violation")

    del seed  # hypothesis is derandomised: the same property and budget give the same search
    with contextlib.suppress(AssertionError):
        check()  # on failure hypothesis shrinks; the last recorded failure is the shrunk counterexample
    return tally.result("hypothesis target()", evals)


def gradient_search(prop: Property, budget: int, rng: np.random.Generator, steps: int = 100) -> SearchResult:
    """Adam (float64) on the raw inputs, maximising the violation, from several random starts. A start ends where
    the violation is not finite (+inf: a counterexample; NaN: an error), not differentiable, or has a non-finite
    gradient (a step would make the inputs themselves non-finite)."""
    tally = _Tally(prop)
    restarts = max(1, budget // steps)
    for r in range(restarts):
        struct = prop.structures[r % len(prop.structures)]
        raw = {k: torch.as_tensor(rng.standard_normal(s)).requires_grad_(True) for k, s in prop.shapes(struct).items()}
        opt = torch.optim.Adam(list(raw.values()), lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            v = prop.violation(struct, raw)
            tally.add(struct, {k: t.detach().clone() for k, t in raw.items()}, float(v.detach()))
            if not torch.isfinite(v) or not v.requires_grad:
                break
            (-v).backward()
            if not all(bool(torch.isfinite(t.grad).all()) for t in raw.values() if t.grad is not None):
                break  # the violation is finite here but its gradient is not: a step would leave the inputs' domain
            opt.step()
    return tally.result("gradient ascent", restarts * steps)


def search(prop: Property, *, budget: int, seed: int) -> list[SearchResult]:
    """All three searches, each with ``budget`` evaluations; every counterexample shrunk and re-evaluated as it is
    printed (:func:`theorycheck.properties._shrink.shrink`, up to ``budget`` more evaluations each)."""
    rng = np.random.default_rng(seed)
    results = [
        random_search(prop, budget, rng),
        hypothesis_search(prop, budget, seed),
        gradient_search(prop, budget, rng),
    ]
    for r in results:
        if r.counterexample is not None:
            r.extra["found"] = r.counterexample
            r.counterexample = shrink(prop, r.counterexample, budget=budget)
    return results
