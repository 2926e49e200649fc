"""Searching for counterexamples: typical sampling, hypothesis with ``target()``, and gradient ascent.

A property is ``violation(struct, inputs) ≤ tolerance`` for all inputs, where
``struct`` is a discrete configuration (kernel size, stride, pooling exponent, …)
and the inputs are built from unconstrained float64 tensors ("raw"), so that the
same parameterisation serves random sampling, hypothesis and an optimiser.
Violations are relative (e.g. ``(lhs − rhs)/|rhs|``), so one tolerance fits all
scales. The tolerance is far above float64 round-off of the expressions involved
(n·ε ≈ 1e-13 for n ≤ 10³ terms) and far below any real violation.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

__all__ = ["TOLERANCE", "Property", "SearchResult", "search"]

TOLERANCE = 1e-10
Raw = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Property:
    """An inequality or identity with its parameterisation.

    ``violation`` returns a scalar tensor: > 0 (beyond the tolerance) means the
    claim fails at these inputs. It must be differentiable in the raw tensors
    for the gradient search (piecewise-differentiable is fine).
    """

    id: str
    description: str
    structures: list[dict[str, Any]]
    shapes: Callable[[dict[str, Any]], dict[str, tuple[int, ...]]]
    violation: Callable[[dict[str, Any], Raw], torch.Tensor]
    tolerance: float = TOLERANCE


@dataclass
class SearchResult:
    """The largest violation each method found, and the best counterexample."""

    method: str
    evaluations: int
    max_violation: float
    counterexample: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.counterexample is not None


def _as_json(struct: dict[str, Any], raw: Raw, violation: float) -> dict[str, Any]:
    return {
        "structure": struct,
        "violation": violation,
        "inputs": {k: v.detach().cpu().numpy().round(12).tolist() for k, v in raw.items()},
    }


def _evaluate(prop: Property, struct: dict[str, Any], raw: Raw) -> float:
    with torch.no_grad():
        v = float(prop.violation(struct, raw))
    return v if math.isfinite(v) else -math.inf


def random_search(prop: Property, budget: int, rng: np.random.Generator) -> SearchResult:
    """Typical inputs: raw entries N(0, s²) with a random scale s ∈ {0.1, 1, 10}."""
    best, best_ce = -math.inf, None
    for _ in range(budget):
        struct = prop.structures[rng.integers(len(prop.structures))]
        scale = float(rng.choice([0.1, 1.0, 10.0]))
        raw = {k: torch.as_tensor(rng.standard_normal(s) * scale) for k, s in prop.shapes(struct).items()}
        v = _evaluate(prop, struct, raw)
        if v > best:
            best = v
            if v > prop.tolerance:
                best_ce = _as_json(struct, raw, v)
    return SearchResult("random", budget, best, best_ce)


def hypothesis_search(prop: Property, budget: int, seed: int) -> SearchResult:
    """hypothesis, steered by ``target(violation)``; a failure is shrunk to a small counterexample."""
    record: dict[str, Any] = {"best": -math.inf, "last_failure": None, "evals": 0}

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
        struct, raw = case
        v = _evaluate(prop, struct, raw)
        record["evals"] += 1
        record["best"] = max(record["best"], v)
        target(max(v, -1e6), label="violation")
        if v > prop.tolerance:
            record["last_failure"] = _as_json(struct, raw, v)
            raise AssertionError(f"violation {v}")

    del seed  # hypothesis is derandomised: the same property and budget give the same search
    with contextlib.suppress(AssertionError):
        check()  # on failure hypothesis shrinks; the last recorded failure is the shrunk counterexample
    return SearchResult("hypothesis target()", record["evals"], record["best"], record["last_failure"])


def gradient_search(prop: Property, budget: int, rng: np.random.Generator, steps: int = 100) -> SearchResult:
    """Adam (float64) on the raw inputs, maximising the violation, from several random starts."""
    best, best_ce = -math.inf, None
    restarts = max(1, budget // steps)
    for r in range(restarts):
        struct = prop.structures[r % len(prop.structures)]
        raw = {k: torch.as_tensor(rng.standard_normal(s)).requires_grad_(True) for k, s in prop.shapes(struct).items()}
        opt = torch.optim.Adam(list(raw.values()), lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            v = prop.violation(struct, raw)
            if not torch.isfinite(v) or not v.requires_grad:  # non-differentiable checks: one evaluation per start
                val = float(v.detach())
                if val > best:
                    best = val
                    if val > prop.tolerance:
                        best_ce = _as_json(struct, {k: t.detach().clone() for k, t in raw.items()}, val)
                break
            (-v).backward()
            opt.step()
            val = float(v.detach())
            if val > best:
                best = val
                if val > prop.tolerance:
                    best_ce = _as_json(struct, {k: t.detach().clone() for k, t in raw.items()}, val)
    return SearchResult("gradient ascent", restarts * steps, best, best_ce)


def search(prop: Property, *, budget: int, seed: int) -> list[SearchResult]:
    """All three searches, each with ``budget`` evaluations."""
    rng = np.random.default_rng(seed)
    return [random_search(prop, budget, rng), hypothesis_search(prop, budget, seed), gradient_search(prop, budget, rng)]
