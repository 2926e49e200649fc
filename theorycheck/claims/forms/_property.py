"""Property claims: an identity or inequality searched for counterexamples by the catalogue's engine.

A property holds for every input: ``structure`` is one of a list of discrete configurations (a dict), ``inputs``
are float64 tensors of the shapes ``shapes(structure)`` gives. It is stated in one of two ways:

* **terms** (preferred): ``lhs(structure, inputs)`` and ``rhs(structure, inputs)``, tensors of one shape, with
  ``relation`` ``"<="`` (every entry of lhs ≤ the entry of rhs) or ``"=="``. The toolkit writes the relative
  violation itself, ``max_i (lhs_i − rhs_i) / (|lhs_i| + |rhs_i|)`` (``|lhs_i − rhs_i| / …`` for an identity), and
  knows the terms' scale;
* **violation**: ``violation(structure, inputs) -> scalar``, > ``tolerance`` where the claim fails (write it
  relative, so that one tolerance fits every scale), optionally with ``scale(structure, inputs) -> scalar``, the
  size of the terms (0 where every term vanishes).

Three searches share the budget (:mod:`theorycheck.properties._search`): typical random inputs, hypothesis steered
by ``target()``, and gradient ascent on the violation.

The negative control is the user's ``control`` violation (a mutant that is false), or an automatic one: the
property tightened by ``tighten`` relative to the terms' scale (``lhs ≤ rhs − tighten·(|lhs| + |rhs|)``; for an
identity, ``lhs = (1 + tighten)·rhs``), which is false near the property's boundary. Inputs where every term
vanishes are excluded from it: there the tightened property is "false" by a division by zero, not because the
search came near a boundary (a control "found" at ``a = b = 0`` says nothing about the search's power). With a
bare ``violation`` and no ``scale`` the only input known to be degenerate is the one whose tensors are all zero.
A search that finds no violation of the control never came near the boundary, and the claim is flagged *unable
to fail*.
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
#: below this, a term's scale is zero: the input is degenerate for the automatic control
DEGENERATE = 1e-300
RELATIONS = ("<=", "==")


def _from_terms(lhs: Violation, rhs: Violation, relation: str) -> tuple[Violation, Violation]:
    """The relative violation of ``lhs (relation) rhs`` and its scale ``max_i (|lhs_i| + |rhs_i|)``."""

    def violation(struct: dict[str, Any], raw: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b = lhs(struct, raw), rhs(struct, raw)
        size = a.abs() + b.abs()
        excess = a - b if relation == "<=" else (a - b).abs()
        return torch.where(size > DEGENERATE, excess / torch.clamp(size, min=DEGENERATE), 0.0 * excess).max()

    return violation, _terms_scale(lhs, rhs)


def _terms_scale(lhs: Violation, rhs: Violation) -> Violation:
    def scale(struct: dict[str, Any], raw: dict[str, torch.Tensor]) -> torch.Tensor:
        return (lhs(struct, raw).abs() + rhs(struct, raw).abs()).max()

    return scale


def _tightened_terms(lhs: Violation, rhs: Violation, relation: str, t: float) -> Violation:
    """``lhs ≤ rhs − t(|lhs| + |rhs|)`` entrywise (an identity: ``lhs = (1 + t) rhs``), entries where every term
    vanishes excluded (−inf)."""

    def violation(struct: dict[str, Any], raw: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b = lhs(struct, raw), rhs(struct, raw)
        size = a.abs() + b.abs()
        excess = a - b + t * size if relation == "<=" else (a - (1 + t) * b).abs()
        ok = size > DEGENERATE
        if not bool(ok.any()):
            return torch.full((), -math.inf, dtype=excess.dtype)
        return (excess[ok] / size[ok]).max()

    return violation


def _tightened(violation: Violation, scale: Violation | None, t: float) -> Violation:
    """``violation + t`` where the input is not degenerate (the terms' ``scale`` is above :data:`DEGENERATE`;
    without it, where some input entry is: hypothesis draws subnormals such as 5e-324), −inf elsewhere."""

    def tightened(struct: dict[str, Any], raw: dict[str, torch.Tensor]) -> torch.Tensor:
        v = violation(struct, raw)
        degenerate = (
            bool(scale(struct, raw).abs() <= DEGENERATE)
            if scale is not None
            else all(bool((x.abs() <= DEGENERATE).all()) for x in raw.values())
        )
        return torch.full_like(v, -math.inf) if degenerate else v + t

    return tightened


def property_claim(
    claim_id: str,
    *,
    statement: str,
    structures: list[dict[str, Any]],
    shapes: Callable[[dict[str, Any]], dict[str, tuple[int, ...]]],
    violation: Violation | None = None,
    lhs: Violation | None = None,
    rhs: Violation | None = None,
    relation: str = "<=",
    scale: Violation | None = None,
    control: Violation | None = None,
    tighten: float = 0.01,
    tolerance: float | None = None,
    max_examples: int = 300,
    source: str = "user claim (Python)",
) -> Claim:
    """A property claim searched like the catalogue's inequalities (random, hypothesis ``target()``, gradient).

    Args:
        structures: the discrete configurations searched (at least one dict).
        shapes: ``shapes(structure) -> {name: shape}`` of the float64 inputs.
        lhs, rhs, relation: the claim ``lhs(structure, inputs) <= rhs(...)`` entrywise (``relation="=="``: an
            identity); tensors of one shape. Give these, or ``violation``.
        violation: ``violation(structure, inputs) -> scalar tensor``; > ``tolerance`` means the claim fails there.
            Differentiable in the inputs for the gradient search (piecewise is fine).
        scale: with ``violation``: the size of the terms, 0 where the input is degenerate (every term vanishes).
        control: a mutant violation that must be found (default: the property tightened by ``tighten`` relative
            to the terms' scale, degenerate inputs excluded).
        tolerance: default :data:`theorycheck.properties.TOLERANCE` (1e-10, far above float64 round-off).
        max_examples: evaluations per search.
    """
    from theorycheck.properties import TOLERANCE, Property, PropertyClaim

    where = f"claim {claim_id!r}"
    terms = lhs is not None or rhs is not None
    if terms and violation is not None:
        raise TheorycheckError(f"{where}: give violation, or lhs and rhs, not both")
    if terms and not (callable(lhs) and callable(rhs)):
        raise TheorycheckError(f"{where}: lhs and rhs must both be functions (structure, inputs) -> tensor")
    if not terms and not callable(violation):
        raise TheorycheckError(f"{where}: give violation (a function), or lhs and rhs")
    if not callable(shapes):
        raise TheorycheckError(f"{where}: shapes must be a function (structure) -> {{name: shape}}")
    if relation not in RELATIONS:
        raise TheorycheckError(f"{where}.relation: must be '<=' or '==', got {relation!r}")
    if scale is not None and (terms or not callable(scale)):
        raise TheorycheckError(f"{where}.scale: a function, and only with violation (lhs and rhs give their own)")
    if not isinstance(structures, list) or not structures or not all(isinstance(s, dict) for s in structures):
        raise TheorycheckError(f"{where}.structures: must be a non-empty list of dicts, got {structures!r}")
    for s in structures:  # eager: the shapes must be valid for every structure
        got = shapes(s)
        if not isinstance(got, dict) or not all(
            isinstance(v, tuple) and all(isinstance(n, int) and 0 < n <= 10_000 for n in v) for v in got.values()
        ):
            raise TheorycheckError(f"{where}.shapes: shapes({s}) must be {{name: tuple of positive ints}}, got {got!r}")
    if not (math.isfinite(tighten) and 0 < tighten < 1):
        raise TheorycheckError(f"{where}.tighten: must be a number between 0 and 1, got {tighten!r}")
    tol = TOLERANCE if tolerance is None else tolerance
    if terms:
        assert lhs is not None and rhs is not None
        check, _ = _from_terms(lhs, rhs, relation)
        automatic = _tightened_terms(lhs, rhs, relation, tighten)
        how = f"tightened by {tighten:g} of the terms' scale |lhs| + |rhs|; entries where every term vanishes excluded"
    else:
        assert violation is not None
        check = violation
        automatic = _tightened(violation, scale, tighten)
        how = f"violation + {tighten:g}; " + (
            "inputs where scale() is 0 excluded"
            if scale is not None
            else "the all-zero input excluded (give lhs/rhs or scale to exclude every input where the terms vanish)"
        )
    main = Property(claim_id, statement, structures, shapes, check, tol, relative=terms)
    if control is None:
        mutant = Property(f"{claim_id} (automatic control)", how, structures, shapes, automatic, tol, relative=terms)
    else:
        mutant = Property(f"{claim_id} (control)", "the user's mutant", structures, shapes, control, tol, False)
    pc = PropertyClaim([main], [mutant])  # carried by the claim's cells: building a claim changes no table
    module = getattr(lhs if terms else violation, "__module__", None) or ""

    from theorycheck.claims.searches import property_cells, property_parts

    return Claim(
        claim_id,
        source,
        "identity" if relation == "==" else "inequality",
        statement,
        "",
        params={
            "max_examples": Param(
                max_examples, "evaluations per search (random, hypothesis, gradient)", int_range(1, 1_000_000)
            )
        },
        make_cells=property_cells(claim_id, pc, extra={"module": module}),
        evaluate_parts=property_parts(pc),
    )
