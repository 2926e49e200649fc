"""Identity and inequality claims of both papers, checked by adversarial property search.

Each part is a property (:mod:`theorycheck.properties`) searched three ways with
the same budget: typical random inputs, hypothesis steered by ``target()``, and
gradient ascent on the violation (float64). A part is verified when no search
finds a violation beyond the tolerance, refuted with the shrunk counterexample
otherwise. The negative controls are mutants of each property that must be
refuted.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import Param, int_range
from theorycheck.claims._parts import fixed_verdict_part
from theorycheck.properties import PROPERTIES, TOLERANCE, PropertyClaim

__all__ = ["format_counterexample", "property_cells", "property_parts", "search"]


def property_cells(claim_id: str, pc: PropertyClaim, *, extra: dict[str, Any] | None = None) -> Any:
    """``cells(params)``: one search cell per part and per mutant of ``pc``, each carrying its property."""

    def make(p: dict[str, Any]) -> list[Cell]:
        return [
            Cell(
                claim_id,
                f"{role}/{i}",
                "property",
                {"claim": claim_id, "role": role, "index": i, "budget": p["max_examples"], **(extra or {})},
                payload=prop,
            )
            for role, props in (("main", pc.parts), ("control", pc.controls))
            for i, prop in enumerate(props)
        ]

    return make


def _matrix(value: Any, digits: int = 4) -> str:
    """A nested list as a theorist writes it: scalars plain, vectors (a, b, …), matrices [a b; c d] (leading axes
    of length 1 dropped), a stack of up to 4 matrices as {[…], […]}, larger tensors by their shape; at most 8
    entries per row and 8 rows shown."""
    array = np.asarray(value, dtype=np.float64)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]

    def scalar(x: Any) -> str:
        x = float(x)
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.{digits}g}"

    def row(xs: np.ndarray) -> str:
        return " ".join(scalar(x) for x in xs[:8]) + (" …" if xs.size > 8 else "")

    def matrix(m: np.ndarray) -> str:
        rows = [row(r) for r in m[:8]] + (["…"] if m.shape[0] > 8 else [])
        return "[" + "; ".join(rows) + "]"

    if array.ndim == 0:
        return scalar(array)
    if array.ndim == 1:
        return "(" + ", ".join(scalar(x) for x in array[:8]) + (", …" if array.size > 8 else "") + ")"
    if array.ndim == 2:
        return matrix(array)
    if array.ndim == 3 and array.shape[0] <= 4:
        return "{" + ", ".join(matrix(m) for m in array) + "}"
    return f"a tensor of shape {'×'.join(map(str, array.shape))} (in results.json)"


def format_counterexample(ce: dict[str, Any]) -> str:
    """``structure p = 1, q = 2; inputs v = (0.1, -2, …), W = [1 2; 3 4]``, each entry with the significant digits
    the counterexample needs (``ce["digits"]``; 4 for an input that was not shrunk), so that what is printed reads
    back as the input that was evaluated."""
    digits = int(ce.get("digits", 4))
    structure = ", ".join(f"{k} = {v}" for k, v in ce.get("structure", {}).items()) or "none"
    inputs = ", ".join(f"{k} = {_matrix(v, digits)}" for k, v in ce.get("inputs", {}).items())
    return f"structure {structure}; inputs {inputs}"


def _simplicity(ce: dict[str, Any]) -> tuple[int, int, int]:
    """Smaller is simpler: entries, non-zero entries, digits."""
    flat = [float(x) for v in ce["inputs"].values() for x in np.ravel(np.asarray(v, dtype=np.float64))]
    return len(flat), sum(1 for x in flat if x != 0), int(ce.get("digits", 17))


def property_parts(pc: PropertyClaim) -> Any:
    """The evaluation of a property claim's cells: verified unless a search found a counterexample."""

    def evaluate(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        props = pc.parts if role == "main" else pc.controls
        parts = []
        for i, prop in enumerate(props):
            df = data[f"{role}/{i}"]
            table = [
                {
                    "method": r.method,
                    "evaluations": int(r.evaluations),
                    "max violation": float(r.max_violation),
                    "counterexample": bool(r.found),
                }
                for r in df.itertuples()
            ]
            found = [r for r in df.itertuples() if r.found]
            searched = ", ".join(f"{r.method} {r.max_violation:+.3g}" for r in df.itertuples())
            nans = [r for r in df.itertuples() if getattr(r, "nan_evaluations", 0)]
            nan_text = ""
            if nans:
                first = json.loads(nans[0].error)
                count = sum(int(r.nan_evaluations) for r in nans)
                nan_text = (
                    f"the violation was NaN in {count} evaluations ({', '.join(r.method for r in nans)}), e.g. at "
                    f"{format_counterexample(first)}"
                )
            counterexample = None
            if found:
                best = max(found, key=lambda r: r.max_violation)
                shown, ce = min(((r, json.loads(r.counterexample)) for r in found), key=lambda rc: _simplicity(rc[1]))
                text = (
                    f"counterexample found by {', '.join(r.method for r in found)}; largest violation "
                    f"{best.max_violation:.4g} (tolerance {TOLERANCE:g}); the simplest, from {shown.method}"
                    f"{', shrunk' if ce.get('shrunk') else ''}, has violation {ce['violation']:.4g} at the input as "
                    f"printed: {format_counterexample(ce)}"
                ) + (f"; also, {nan_text}" if nan_text else "")
                verdict = "refuted"
                counterexample = {**ce, "method": shown.method, "text": format_counterexample(ce)}
            elif nans:
                text = f"the check could not be evaluated: {nan_text}; no finite violation beyond {TOLERANCE:g}"
                verdict = "error"
            else:
                text = (
                    f"no violation beyond {TOLERANCE:g} in {int(df['evaluations'].sum())} evaluations "
                    f"(largest {'relative violation' if prop.relative else 'violation'} per search: {searched})"
                )
                verdict = "verified"
            part = fixed_verdict_part(prop.id, prop.description, verdict, text, table, method="search")
            part.counterexample = counterexample
            parts.append(part)
        return parts

    return evaluate


def search(entry: Entry) -> Claim:
    """A catalogue identity or inequality: its properties (``theorycheck.properties.PROPERTIES``) searched."""
    pc = PROPERTIES[entry.id]
    params = {
        "max_examples": Param(300, "evaluations per search (random, hypothesis, gradient)", int_range(1, 1_000_000))
    }
    return make_claim(entry, params=params, make_cells=property_cells(entry.id, pc), evaluate_parts=property_parts(pc))


@cell_kind("property")
def property_rows(cell: Cell, context: CellContext) -> CellOutput:
    """The three counterexample searches of the cell's property."""
    params = cell.params
    import json as _json

    from theorycheck.properties import Property, search

    prop = cell.payload
    if not isinstance(prop, Property):
        raise TypeError(f"property cell {cell.id} carries no property (payload {prop!r})")
    results = search(prop, budget=int(params["budget"]), seed=context.seed % 2**32)
    table = [
        {
            "method": r.method,
            "evaluations": r.evaluations,
            "max_violation": r.max_violation,
            "found": r.found,
            "counterexample": _json.dumps(r.counterexample),
            "nan_evaluations": r.nan_evaluations,
            "error": _json.dumps(r.error),
        }
        for r in results
    ]
    return pd.DataFrame(table), {"seed": context.seed, "precision": "fp64"}, {}
