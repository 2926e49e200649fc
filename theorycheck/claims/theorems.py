"""Catalogue theorems on a user's family: ``[claims."sg.thm4_l2"]`` with ``arch``, ``input`` and ``sweep``.

Each theorem is written in the public forms (:mod:`theorycheck.claims.forms`) with its assumptions, checked on
every grid point's graph: where one fails, the verdict is "not covered" and names the assumption and the layer,
next to what was measured and the (H) engine's own prediction for that family. The graph theorems (Lemma 7,
Lemma 8, the path sum) take the family's architectures as their list of architectures.
"""

from __future__ import annotations

from typing import Any

from theorycheck.claims._base import Cell, CellData, Claim, Part
from theorycheck.claims._common import fixed_verdict_part
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._composite import combine
from theorycheck.claims.forms._define import build
from theorycheck.claims.forms._family import Family
from theorycheck.errors import TheorycheckError, suggest

__all__ = ["FAMILY_THEOREMS", "on_family"]

#: the (H) theorems' assumptions (Theorem 3, 4, Corollary 5); (S) is added where the statement needs it
_H = ("relu", "fan_in", "no_avgpool", "no_maxpool", "H")
_FAMILY_FIELDS = ("arch", "input", "sweep", "zip", "networks", "margin", "band", "control")

Statement = tuple[str, dict[str, Any]]
#: per catalogue ID: the statements (form, fields) a family is checked against, and the assumptions
FAMILY_THEOREMS: dict[str, tuple[list[Statement], tuple[str, ...]]] = {
    "sg.thm3": (
        [
            ("scaling", {"statistic": "coord_abs", "slope": -0.5}),
            ("scaling", {"statistic": "grad_l1", "target": "loss", "slope": 0.5}),
            ("scaling", {"statistic": "grad_l2", "target": "loss", "slope": 0.0}),
            ("scaling", {"statistic": "grad_linf", "target": "loss", "slope": -0.5, "scale": "1/sqrt(2*log(2*d))"}),
        ],
        (*_H, "S"),
    ),
    "sg.eq8": ([("value", {"statistic": "coord_var", "predicted": "H"})], _H),
    "sg.thm4_l2": ([("scaling", {"statistic": "grad_sq_norm", "slope": 0.0})], _H),
    "sg.thm4_coord": (
        [
            ("scaling", {"statistic": "coord_abs", "slope": -0.5}),
            ("scaling", {"statistic": "grad_l1", "target": "loss", "slope": 0.5}),
        ],
        (*_H, "S"),
    ),
    "sg.cor5": (
        [
            ("scaling", {"statistic": "coord_abs", "slope": -0.5}),
            ("scaling", {"statistic": "grad_l1", "target": "loss", "slope": 0.5}),
        ],
        _H,
    ),
    "sg.thm6_res": (
        [("scaling", {"statistic": "grad_l1", "target": "loss", "slope": 0.0})],
        ("relu", "fan_in", "no_maxpool", "H"),
    ),
    "sg.thm6": ([("ratio", {"statistic": "grad_l1", "slope": -1.0})], ("relu", "fan_in", "no_maxpool", "H")),
    "sg.thm6_proof": (
        [("ratio", {"statistic": "coord_var", "slope": -1.0}), ("ratio", {"statistic": "coord_abs", "slope": -0.5})],
        ("relu", "fan_in", "no_maxpool", "H"),
    ),
}
#: graph theorems: the family's architectures become the claim's ``architectures`` list
GRAPH_THEOREMS = ("sg.lemma7", "sg.lemma8", "sg.pathsum")


def _graph_variant(claim: Claim, table: dict[str, Any], where: str) -> tuple[Claim, dict[str, Any]]:
    fam = Family(table["arch"], table.get("input", ""), table.get("sweep") or {}, bool(table.get("zip")), where)
    rest = {k: v for k, v in table.items() if k not in ("arch", "input", "sweep", "zip")}
    return claim, {**rest, "architectures": [f"{p.arch} @ {p.input}" for p in fam.points()]}


#: the negative control of (S) on a family: a graph where (S) fails (zero padding, 5x5), which the check must flag
ASYMMETRIC = ("conv(2,3) relu flatten dense(2)", "1x5x5")


def _symmetry_variant(claim: Claim, table: dict[str, Any], where: str, source: str) -> tuple[Claim, dict[str, Any]]:
    """Section 3.2 on a family: does (S) hold at every grid point? Decided exactly from the path degrees."""
    extra = sorted(set(table) - {"arch", "input", "sweep", "zip"})
    if extra:
        raise TheorycheckError(f"{where}.{extra[0]}: sg.symmetry on your family takes arch, input, sweep, zip")
    fam = Family(table["arch"], table.get("input", ""), table.get("sweep") or {}, bool(table.get("zip")), where)
    points = fam.points()

    def cells(p: dict[str, Any]) -> list[Cell]:
        main = [Cell(claim.id, f"graph/{q.label}", "graph", {"arch": q.arch, "input": q.input}) for q in points]
        return [*main, Cell(claim.id, "control/asymmetric", "graph", {"arch": ASYMMETRIC[0], "input": ASYMMETRIC[1]})]

    def parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        names = [f"graph/{q.label}" for q in points] if role == "main" else ["control/asymmetric"]
        rows = [data[n].iloc[0] for n in names]
        table_rows = [
            {"point": n.removeprefix("graph/"), "symmetric": bool(r["symmetric"]), "lemma8 spread": r["lemma8_spread"]}
            for n, r in zip(names, rows, strict=True)
        ]
        broken = [t["point"] for t in table_rows if not t["symmetric"]]
        what = "every grid point of the family" if role == "main" else f"{ASYMMETRIC[0]} on {ASYMMETRIC[1]}"
        text = f"(S) fails at {', '.join(broken)}" if broken else f"(S) holds at {what}"
        return [
            fixed_verdict_part(
                f"(S) holds ({what})",
                "decided exactly from the path degrees (Lemma 8 sums)",
                "refuted" if broken else "verified",
                text,
                table_rows,
            )
        ]

    variant = Claim(
        claim.id,
        f"{claim.source}; on a user family ({source})",
        "graph",
        "The symmetry assumption (S) holds on every graph of the family (Section 3.2).",
        claim.formula,
        True,
        {},
        cells,
        parts,
        definition=dict(table),
    )
    return variant, {}


def on_family(claim: Claim, table: dict[str, Any], *, where: str, source: str) -> tuple[Claim, dict[str, Any]]:
    """The catalogue ``claim`` checked on the family in ``table``; returns the claim and its remaining parameters."""
    if claim.id in GRAPH_THEOREMS:
        return _graph_variant(claim, table, where)
    if claim.id == "sg.symmetry":
        return _symmetry_variant(claim, table, where, source)
    if claim.id not in FAMILY_THEOREMS:
        takes = ", ".join([*FAMILY_THEOREMS, *GRAPH_THEOREMS, "sg.symmetry"])
        raise TheorycheckError(f"{where}.arch: {claim.id} does not take a user family; these do: {takes}")
    statements, assumptions = FAMILY_THEOREMS[claim.id]
    ratio = statements[0][0] == "ratio"
    allowed = (*_FAMILY_FIELDS, "against", "baseline") if ratio else _FAMILY_FIELDS
    for key in table:
        if key not in allowed:
            raise TheorycheckError(
                f"{where}.{key}: {claim.id} on your family takes {', '.join(allowed)}{suggest(key, allowed)}"
                f"{'; ' + key + ' belongs to the built-in family' if key in claim.params else ''}"
            )
    if ratio and ("baseline" not in table or "against" not in table):
        raise TheorycheckError(
            f"{where}: {claim.id} on your family needs baseline = {{ arch = ... }} (the strided arm) and against "
            "(the pool size n, an expression of the sweep)"
        )
    family_fields = {k: v for k, v in table.items() if k != "networks"}
    members: list[UserClaim] = []
    for form, fields in statements:
        members.append(
            _member(claim, form, {**family_fields, **fields}, where=where, source=source, assumptions=assumptions)
        )
    networks = table.get("networks", claim.params["networks"].default if "networks" in claim.params else 2000)
    combined = combine(
        claim.id,
        members,
        statement=claim.statement + " (on a user family)",
        source=f"{claim.source}; on a user family ({source})",
        kind=claim.kind,
        networks=networks,
        formula=claim.formula,
        definition=dict(table),
    )
    return combined, {"networks": networks} if "networks" in table else {}


def _member(
    claim: Claim, form: str, fields: dict[str, Any], *, where: str, source: str, assumptions: tuple[str, ...]
) -> UserClaim:
    from dataclasses import replace

    member = build(claim.id, form, where, source=source, **fields)
    return replace(member, assumptions=assumptions)


def family_theorems() -> list[str]:
    """IDs of the catalogue claims that take a user family."""
    return [*FAMILY_THEOREMS, *GRAPH_THEOREMS, "sg.symmetry"]
