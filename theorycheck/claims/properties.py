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

from theorycheck.claims._base import PK, SG, Cell, CellData, Claim, Part
from theorycheck.claims._common import fixed_verdict_part
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import Param, int_range
from theorycheck.properties import PROPERTIES, TOLERANCE, PropertyClaim

__all__ = ["CLAIMS"]

_KIND = {
    "pk.lemmaB1": "inequality",
    "pk.lemmaB2": "inequality",
    "pk.lemmaB3": "inequality",
    "pk.conv_bound": "attack",
    "pk.lemmaB4": "inequality",
    "pk.lemmaB5": "inequality",
    "pk.lemmaB6": "identity",
    "pk.pool_bounds": "inequality",
    "pk.eq8": "identity",
    "sg.eq9": "identity",
    "sg.eq16": "identity",
    "sg.eq5": "identity",
    "pk.lemmaA1": "identity",
    "pk.thmA3": "inequality",
    "pk.thmA4": "identity",
    "pk.thmA5": "inequality",
}


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
                    f"(largest relative violation per search: {searched})"
                )
                verdict = "verified"
            part = fixed_verdict_part(prop.id, prop.description, verdict, text, table, method="search")
            part.counterexample = counterexample
            parts.append(part)
        return parts

    return evaluate


def _claim(claim_id: str, statement: str, formula: str) -> Claim:
    source = PK if claim_id.startswith("pk.") else SG
    return Claim(
        claim_id,
        source,
        _KIND[claim_id],
        statement,
        formula,
        True,
        {"max_examples": Param(300, "evaluations per search (random, hypothesis, gradient)", int_range(1, 1_000_000))},
        property_cells(claim_id, PROPERTIES[claim_id]),
        property_parts(PROPERTIES[claim_id]),
    )


CLAIMS: list[Claim] = [
    _claim(
        "pk.lemmaB1",
        "(1) ReLU(a+b) ≤ ReLU(a)+ReLU(b); (2) W ⋆_s (X+R) = W ⋆_s X + W ⋆_s R for strided "
        "convolution; (3) ‖ReLU(X)‖_F ≤ ‖X‖_F (Lemma B.1).",
        '"ReLU"(a+b) <= "ReLU"(a) + "ReLU"(b), quad W star_s (X+R) = W star_s X + W star_s R, quad norm("ReLU"(X))_F <= norm(X)_F',
    ),
    _claim(
        "pk.lemmaB2",
        "a_i, b_i ≥ 0 ⇒ Σ a_i b_i ≤ (Σ a_i)(Σ b_i) (Lemma B.2).",
        "a_i, b_i >= 0 => sum_i a_i b_i <= (sum_i a_i)(sum_i b_i)",
    ),
    _claim("pk.lemmaB3", "‖W ⋆ R‖_F ≤ ‖W‖_F ‖R‖_F (Lemma B.3).", "norm(W star R)_F <= norm(W)_F norm(R)_F"),
    _claim(
        "pk.conv_bound",
        "A conv layer's input perturbation R needs ‖R‖_F ≥ κ/‖W‖_F to move its output by κ "
        "(appendix A.3, which rests on Lemma B.3).",
        "norm(R)_F >= kappa \\/ norm(W)_F",
    ),
    _claim(
        "pk.lemmaB4",
        "Max-pooling is subadditive: z(X+R) ≤ z(X) + z(R) (Lemma B.4, Assumption 4.3).",
        "z(X+R) <= z(X) + z(R)",
    ),
    _claim("pk.lemmaB5", "L_p pooling is subadditive (Lemma B.5).", "norm(v(X+R))_p <= norm(v(X))_p + norm(v(R))_p"),
    _claim(
        "pk.lemmaB6",
        "Average pooling is additive: Assumption 4.3 holds with equality (Lemma B.6).",
        "z(X+R) = z(X) + z(R)",
    ),
    _claim(
        "pk.pool_bounds",
        "Pooling layers need ‖R‖_F ≥ κ/t (max, average) or κ/(t q^{2/p}) (L_p), with t "
        "defined as √(number of pooled outputs), which makes ‖Z‖_F ≥ κ ⇒ some |z| ≥ κ/t true (the paper's main "
        "text, absent from the appendix, defines t).",
        "norm(R)_F >= kappa \\/ t, quad norm(R)_F >= kappa \\/ (t q^(2\\/p))",
    ),
    _claim(
        "pk.eq8",
        "sigm(x) = ½ tanh(x/2) + ½ and |tanh′|, |tanh″| ≤ 1 (eq. 8).",
        '"sigm"(x) = 1/2 tanh(x\\/2) + 1/2, quad abs(tanh prime) <= 1, quad abs(tanh prime prime) <= 1',
    ),
    _claim(
        "sg.eq9",
        "Cross-entropy: ∂ₓL = (1−q_c)∂ₓf_c − Σ_{k≠c} q_k ∂ₓf_k = Σ_k q_k(∂ₓf_c − ∂ₓf_k) (eq. 9 and "
        "eq. 10; both are −∂ₓL for L = −log q_c, the sign the paper's proof uses).",
        "(1-q_c) partial_x f_c - sum_(k != c) q_k partial_x f_k = sum_k q_k (partial_x f_c - partial_x f_k)",
    ),
    _claim(
        "sg.eq16",
        "For p = q = 2: ‖∂ₓL‖₂² = Σ_{k,h} q_k q_h (∂ₓf_c − ∂ₓf_k)·(∂ₓf_c − ∂ₓf_h) (eq. 16).",
        "norm(partial_x cal(L))_2^2 = sum_(k,h) q_k q_h (partial_x f_c - partial_x f_k) dot (partial_x f_c - partial_x f_h)",
    ),
    _claim(
        "pk.lemmaA1",
        "Linear classifier with f(x) = c and f(x+q) = c′ ≠ c: some α ∈ (0, 1), given by eq. 7, makes the scores of c "
        "and c′ equal at x + αq (Lemma A.1).",
        "alpha = ((w_(c prime) - w_c) dot x + b_(c prime) - b_c) \\/ ((w_c - w_(c prime)) dot q) in (0, 1)",
    ),
    _claim(
        "pk.thmA3",
        "Linear classifier: Δadv(x; f) ≥ min_{c′≠c} |(w_c′−w_c)·x + b_c′−b_c| / ‖w_c′−w_c‖, checked against the exact "
        "minimal perturbation (a convex QP per target class, solved exactly) (Theorem A.3).",
        'Delta_"adv"(x; f) >= min_(c prime != c) abs((w_(c prime) - w_c) dot x + b_(c prime) - b_c) \\/ norm(w_(c prime) - w_c)',
    ),
    _claim(
        "pk.thmA4",
        "The bound of A.3 is tight; for f(x) = argmax_i x_i the theorem states Δadv(x; f) = min_{c′≠c} |x_c′ − x_c| "
        "(Theorem A.4). Both the tightness and the stated value are checked.",
        'Delta_"adv"(x; f) = min_(c prime != c) abs(x_(c prime) - x_c)',
    ),
    _claim(
        "pk.thmA5",
        "MLP with activations satisfying |g′| ≤ A, |g″| ≤ B: Algorithm A.1's M (and N) bound every second (and "
        "first) partial derivative of every output (Theorem A.5), checked against torch Hessians and Jacobians for "
        "tanh, sigmoid and softplus MLPs of depth 1-3.",
        "abs(partial^2 h_L^((i)) \\/ partial x_k partial x_l) <= M, quad abs(partial h_L^((i)) \\/ partial x_k) <= N",
    ),
    _claim(
        "sg.eq5",
        "ε_p = ε_∞ d^{1/p}; eq. 17: ε_p = ε‖x‖₂ d^{1/p−1/2} keeps the SNR ‖x‖₂/‖δ‖₂ fixed across p "
        "and d (eq. 5, eq. 17).",
        "epsilon_p = epsilon_oo d^(1\\/p), quad epsilon_p = epsilon norm(x)_2 d^(1\\/p - 1\\/2)",
    ),
]


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
