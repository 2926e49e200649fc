"""Property claims: an identity or inequality searched for counterexamples by the catalogue's engine.

A property is ``violation(structure, inputs) ≤ tolerance`` for every input: ``structure`` is one of a list of
discrete configurations (a dict), ``inputs`` are float64 tensors of the shapes ``shapes(structure)`` gives.
Three searches share the budget (:mod:`theorycheck.properties._search`): typical random inputs, hypothesis
steered by ``target()``, and gradient ascent on the violation. Write the violation relative (e.g.
``(lhs − rhs) / |rhs|``) so that one tolerance fits every scale.

The negative control is the user's ``control`` violation (a mutant that is false), or else the property
tightened by ``tighten``: ``violation + tighten`` (for a relative violation, the inequality with its right-hand
side scaled by 1 − tighten). A search that cannot find a violation of the tightened property never came near
the boundary, and the claim is flagged *unable to fail*.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from theorycheck.claims._base import Claim
from theorycheck.claims._params import Param, int_range
from theorycheck.errors import TheorycheckError

__all__ = ["property_claim"]

Violation = Callable[[dict[str, Any], dict[str, torch.Tensor]], torch.Tensor]


def property_claim(
    claim_id: str,
    *,
    statement: str,
    violation: Violation,
    structures: list[dict[str, Any]],
    shapes: Callable[[dict[str, Any]], dict[str, tuple[int, ...]]],
    control: Violation | None = None,
    tighten: float = 0.01,
    tolerance: float | None = None,
    max_examples: int = 300,
    source: str = "user claim (Python)",
) -> Claim:
    """A property claim searched like the catalogue's inequalities (random, hypothesis ``target()``, gradient).

    Args:
        violation: ``violation(structure, inputs) -> scalar tensor``; > ``tolerance`` means the claim fails there.
            Differentiable in the inputs for the gradient search (piecewise is fine).
        structures: the discrete configurations searched (at least one dict).
        shapes: ``shapes(structure) -> {name: shape}`` of the float64 inputs.
        control: a mutant violation that must be found (default: the property tightened by ``tighten``).
        tolerance: default :data:`theorycheck.properties.TOLERANCE` (1e-10, far above float64 round-off).
        max_examples: evaluations per search.
    """
    from theorycheck.properties import TOLERANCE, Property, PropertyClaim

    where = f"claim {claim_id!r}"
    if not callable(violation) or not callable(shapes):
        raise TheorycheckError(f"{where}: violation and shapes must be functions")
    if not isinstance(structures, list) or not structures or not all(isinstance(s, dict) for s in structures):
        raise TheorycheckError(f"{where}.structures: must be a non-empty list of dicts, got {structures!r}")
    for s in structures:  # eager: the shapes must be valid for every structure
        got = shapes(s)
        if not isinstance(got, dict) or not all(
            isinstance(v, tuple) and all(isinstance(n, int) and 0 < n <= 10_000 for n in v) for v in got.values()
        ):
            raise TheorycheckError(f"{where}.shapes: shapes({s}) must be {{name: tuple of positive ints}}, got {got!r}")
    if not (math.isfinite(tighten) and tighten > 0):
        raise TheorycheckError(f"{where}.tighten: must be a positive number, got {tighten!r}")
    tol = TOLERANCE if tolerance is None else tolerance
    main = Property(claim_id, statement, structures, shapes, violation, tol)
    if control is None:

        def tightened(struct: dict[str, Any], raw: dict[str, torch.Tensor]) -> torch.Tensor:
            return violation(struct, raw) + tighten

        mutant = Property(
            f"{claim_id} (tightened by {tighten:g})", "automatic control", structures, shapes, tightened, tol
        )
    else:
        mutant = Property(f"{claim_id} (control)", "the user's mutant", structures, shapes, control, tol)
    pc = PropertyClaim([main], [mutant])  # carried by the claim's cells: building a claim changes no table
    module = getattr(violation, "__module__", None) or ""

    from theorycheck.claims.properties import property_cells, property_parts

    return Claim(
        claim_id,
        source,
        "inequality",
        statement,
        "",
        True,
        {
            "max_examples": Param(
                max_examples, "evaluations per search (random, hypothesis, gradient)", int_range(1, 1_000_000)
            )
        },
        property_cells(claim_id, pc, extra={"module": module}),
        property_parts(pc),
    )
