"""The theorems of Simon-Gabriel et al. (2019) about families of networks, each defined once, on any family.

A :class:`Theorem` is its statements in the public forms (scaling, value, ratio: :mod:`theorycheck.claims.forms`)
and the assumptions under which they hold, checked on every grid point's graph (``forms._assumptions``): outside
them the verdict is "not covered" and names the assumption, next to what was measured and the (H) engine's own
prediction. :func:`theorem_claim` builds the claim on a list of families: the catalogue gives the papers' built-in
families (:mod:`theorycheck.claims.families`), a study gives the user's (``[claims."sg.thm4_l2"]`` with ``arch``,
``input`` and ``sweep``: :func:`on_family`). Both are the same definition; a test builds both and compares them.

The graph theorems (Lemma 7, Lemma 8, the path sum) take a family as their list of architectures, and Section
3.2's (S) on a family is decided at every grid point by the same judgement as the catalogue's cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from theorycheck.claims._archs import ID_EXACT
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part
from theorycheck.claims._params import Param, network_count
from theorycheck.claims._parts import exact_part
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._composite import composite_claim
from theorycheck.claims.forms._define import build
from theorycheck.claims.forms._family import Family
from theorycheck.errors import TheorycheckError, suggest

__all__ = ["THEOREMS", "FamilySpec", "Statement", "Theorem", "family_theorems", "on_family", "theorem_claim"]


@dataclass(frozen=True)
class Statement:
    """One statement of a theorem: a public form and its fields (statistic, target, slope or predicted, scale);
    ``title`` may say ``{family}``, the family's name in parentheses (empty for a user's family)."""

    form: str
    fields: dict[str, Any]
    title: str = ""


@dataclass(frozen=True)
class FamilySpec:
    """A family a theorem is checked on: the family fields (``arch``, ``input``, ``sweep``, ``zip``, ``label``; for
    a ratio theorem ``baseline`` and ``against``), its negative control (or None: the automatic one) and a name."""

    fields: dict[str, Any]
    control: dict[str, Any] | None = None
    name: str = ""


@dataclass(frozen=True)
class Theorem:
    """A theorem about families: statements, assumptions, and exact facts every family adds."""

    statements: tuple[Statement, ...]
    assumptions: tuple[str, ...]
    #: ``extra(members, data, role)``: parts decided exactly for the family (e.g. the (H) ratio of Theorem 6's proof)
    extra: Callable[[list[UserClaim], CellData, str], list[Part]] | None = None
    #: the claim whose cell streams the members sample (Theorem 6's proof reads the statement's networks)
    cells_of: str | None = None
    #: a ratio theorem's arms, as its cells and tables name them
    arms: tuple[str, str] = ("treated", "baseline")

    @property
    def ratio(self) -> bool:
        return self.statements[0].form == "ratio"


#: the (H) theorems' assumptions (Theorem 3, 4, Corollary 5); (S) is added where the statement needs it
_H = ("relu", "fan_in", "no_avgpool", "no_maxpool", "H")
_THM6 = ("relu", "fan_in", "no_maxpool", "H")
_LOSS = {"target": "loss", "loss_class": "random"}


def _h_ratio_is_one_over_n(members: list[UserClaim], data: CellData, role: str) -> list[Part]:
    """Theorem 6's proof under (H): the variance ratio of the two arms is exactly 1/against at every point."""
    from theorycheck.theory import predict

    if role != "main":
        return []
    claim = members[0]
    assert claim.baseline is not None
    ns: list[float] = []
    ratios: list[float] = []
    for point, base in zip(claim.family.points(), claim.baseline.points(), strict=True):
        a, b = predict(point.arch, point.input), predict(base.arch, base.input)
        ns.append(claim.against(point.scope))
        ratios.append(math.nan if a.grad_sq_norm is None or b.grad_sq_norm is None else a.grad_sq_norm / b.grad_sq_norm)
    exact = all(abs(r * n - 1) < ID_EXACT for r, n in zip(ratios, ns, strict=True))
    table = [{"n": n, "(H) variance ratio": r} for n, r in zip(ns, ratios, strict=True)]
    return [
        exact_part(
            "(H) prediction: variance ratio = 1/n exactly",
            "from the graph (Theorem 6's proof)",
            exact,
            ratios[0],
            1 / ns[0],
            "graph ratios: " + ", ".join(f"n={n:g}: {r:.6g}" for n, r in zip(ns, ratios, strict=True)),
            table,
        )
    ]


def _symmetric_family(members: list[UserClaim], data: CellData, role: str) -> list[Part]:
    """Theorem 4's (S) for the family, decided exactly at every grid point (shown; (S) is also an assumption)."""
    from theorycheck.claims.graph_facts import graph_row, symmetry_part

    if role != "main":
        return []
    points = members[0].family.points()
    part = symmetry_part("every grid point", [(p.label, graph_row(p.arch, p.input)) for p in points])
    part.name, part.counts = "(S) holds for the family (graph)", False
    return [part]


THEOREMS: dict[str, Theorem] = {
    "sg.sec3_1": Theorem(
        (
            Statement("scaling", {"statistic": "coord_abs", "slope": -0.5}, "coordinates ∝ d^-1/2"),
            Statement("scaling", {"statistic": "grad_l1", "slope": 0.5}, "ε∞‖∂ₓo‖₁ ∝ d^1/2"),
        ),
        ("fan_in",),
    ),
    "sg.eq8": Theorem(
        (Statement("value", {"statistic": "coord_var", "scale": "d", "predicted": "H"}, "d·E[(∂f_k/∂x_i)²]"),),
        _H,
    ),
    "sg.thm3": Theorem(
        (
            Statement("scaling", {"statistic": "coord_abs", "slope": -0.5}, "coordinates of ∂ₓf_k ∝ d^-1/2"),
            Statement("scaling", {"statistic": "grad_l1", **_LOSS, "slope": 0.5}, "‖∂ₓL‖₁ ∝ d^1/2 (q = 1)"),
            Statement("scaling", {"statistic": "grad_l2", **_LOSS, "slope": 0.0}, "‖∂ₓL‖₂ ∝ d^0 (q = 2)"),
            Statement(
                "scaling",
                {"statistic": "grad_linf", **_LOSS, "slope": -0.5, "scale": "1/sqrt(2*log(2*d))"},
                "‖∂ₓL‖∞ / √(2 ln 2d) ∝ d^-1/2 (q = ∞; the max of d coordinates carries √(2 ln 2d))",
            ),
        ),
        (*_H, "S"),
    ),
    "sg.thm4_l2": Theorem(
        (
            Statement("scaling", {"statistic": "grad_sq_norm", "slope": 0.0}, "E‖∂ₓf_k‖₂² independent of d{family}"),
            Statement("value", {"statistic": "grad_sq_norm", "predicted": "H"}, "E‖∂ₓf_k‖₂²{family}"),
        ),
        _H,
    ),
    "sg.thm4_coord": Theorem(
        (
            Statement("scaling", {"statistic": "coord_abs", "slope": -0.5}, "coordinates ∝ d^-1/2{family}"),
            Statement("scaling", {"statistic": "grad_l1", **_LOSS, "slope": 0.5}, "‖∂ₓL‖₁ ∝ d^1/2{family}"),
        ),
        (*_H, "S"),
        extra=_symmetric_family,
    ),
    "sg.cor5": Theorem(
        (
            Statement("scaling", {"statistic": "coord_abs", "slope": -0.5}, "coordinates ∝ d^-1/2{family}"),
            Statement("scaling", {"statistic": "grad_l1", **_LOSS, "slope": 0.5}, "‖∂ₓL‖₁ ∝ d^1/2{family}"),
        ),
        _H,
    ),
    "sg.thm6": Theorem(
        (
            Statement("ratio", {"statistic": "grad_l1", "slope": -1.0}, "output gradients divided by n"),
            Statement("ratio", {"statistic": "grad_l1", **_LOSS, "slope": -1.0}, "loss gradients divided by n"),
        ),
        _THM6,
        arms=("pooled", "strided"),
    ),
    "sg.thm6_proof": Theorem(
        (
            Statement("ratio", {"statistic": "coord_var", "slope": -1.0}, "gradient variance × 1/n"),
            Statement("ratio", {"statistic": "grad_l1", "slope": -0.5}, "coordinate size × 1/√n"),
            Statement("ratio", {"statistic": "coord_var", **_LOSS, "slope": -1.0}, "loss-gradient variance × 1/n"),
        ),
        _THM6,
        extra=_h_ratio_is_one_over_n,
        cells_of="sg.thm6",
        arms=("pooled", "strided"),
    ),
    "sg.thm6_res": Theorem(
        (Statement("scaling", {"statistic": "grad_l1", **_LOSS, "slope": 0.0}, "ε∞‖∂ₓL‖₁ independent of resolution"),),
        _THM6,
    ),
}


def _members(
    entry: Entry,
    theorem: Theorem,
    families: list[FamilySpec],
    networks: int,
    source: str,
    where: str,
    *,
    paired: bool,
) -> list[UserClaim]:
    out = []
    for fam in families:
        for statement in theorem.statements:
            fields = {**fam.fields, **statement.fields, "networks": networks, "control": fam.control}
            if theorem.ratio:
                fields["arms"] = list(theorem.arms)
            title = statement.title.replace("{family}", f" ({fam.name})" if fam.name else "")
            member = build(theorem.cells_of or entry.id, statement.form, where, source=source, title=title, **fields)
            out.append(replace(member, assumptions=theorem.assumptions, paired=paired))
    return out


def theorem_claim(
    entry: Entry,
    families: Callable[[dict[str, Any]], list[FamilySpec]],
    params: dict[str, Param],
    *,
    source: str | None = None,
    statement: str | None = None,
    extra: Callable[[dict[str, Any], CellData, str], list[Part]] | None = None,
    definition: dict[str, Any] | None = None,
    where: str = "",
) -> Claim:
    """The theorem ``entry.id`` checked on ``families(params)``; ``extra`` adds parts of this use only (the
    catalogue's check of the paper's own normalisation)."""
    theorem = THEOREMS[entry.id]
    cache: dict[str, list[UserClaim]] = {}

    def members(p: dict[str, Any]) -> list[UserClaim]:
        key = repr(sorted(p.items()))
        if key not in cache:
            cache[key] = _members(
                entry,
                theorem,
                families(p),
                p["networks"],
                source or entry.source,
                where or f"{entry.id} (catalogue)",
                paired=source is not None,  # the catalogue's own streams stay claim/cell
            )
        return cache[key]

    def extra_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        own = theorem.extra(members(p)[: len(theorem.statements)], data, role) if theorem.extra is not None else []
        return own + (extra(p, data, role) if extra is not None else [])

    return composite_claim(
        entry.id,
        statement=statement or entry.statement,
        source=source or entry.source,
        members=members,
        params=params,
        kind=entry.kind,
        formula=entry.formula,
        extra_parts=extra_parts,
        definition=definition,
    )


# -- a user's family in a study file ----------------------------------------------------------------------------
_FAMILY_FIELDS = ("arch", "input", "sweep", "zip", "label", "networks", "margin", "band", "control")
#: graph theorems: the family's architectures become the claim's ``architectures`` list
GRAPH_THEOREMS = ("sg.lemma7", "sg.lemma8", "sg.pathsum")
#: the negative control of (S) on a family: a graph where (S) fails (zero padding, 5x5), which the check must flag
ASYMMETRIC = ("conv(2,3) relu flatten dense(2)", "1x5x5")


def _family(table: dict[str, Any], where: str) -> Family:
    return Family(table["arch"], table.get("input", ""), table.get("sweep") or {}, bool(table.get("zip")), where)


def _graph_variant(claim: Claim, table: dict[str, Any], where: str) -> tuple[Claim, dict[str, Any]]:
    rest = {k: v for k, v in table.items() if k not in ("arch", "input", "sweep", "zip")}
    return claim, {**rest, "architectures": [f"{p.arch} @ {p.input}" for p in _family(table, where).points()]}


def _symmetry_variant(claim: Claim, table: dict[str, Any], where: str, source: str) -> tuple[Claim, dict[str, Any]]:
    """Section 3.2 on a family: does (S) hold at every grid point? Decided exactly from the path degrees."""
    from theorycheck.claims.graph_facts import symmetry_part

    extra = sorted(set(table) - {"arch", "input", "sweep", "zip"})
    if extra:
        raise TheorycheckError(f"{where}.{extra[0]}: sg.symmetry on your family takes arch, input, sweep, zip")
    points = _family(table, where).points()

    def cells(p: dict[str, Any]) -> list[Cell]:
        main = [Cell(claim.id, f"graph/{q.label}", "graph", {"arch": q.arch, "input": q.input}) for q in points]
        return [*main, Cell(claim.id, "control/asymmetric", "graph", {"arch": ASYMMETRIC[0], "input": ASYMMETRIC[1]})]

    def parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        if role == "main":
            return [
                symmetry_part(
                    "every grid point of the family", [(q.label, data[f"graph/{q.label}"].iloc[0]) for q in points]
                )
            ]
        what = f"{ASYMMETRIC[0]} on {ASYMMETRIC[1]}"
        return [symmetry_part(what, [("asymmetric", data["control/asymmetric"].iloc[0])])]

    variant = Claim(
        claim.id,
        f"{claim.source}; on a user family ({source})",
        "graph",
        "The symmetry assumption (S) holds on every graph of the family (Section 3.2).",
        claim.formula,
        make_cells=cells,
        evaluate_parts=parts,
        definition=dict(table),
    )
    return variant, {}


def on_family(claim: Claim, table: dict[str, Any], *, where: str, source: str) -> tuple[Claim, dict[str, Any]]:
    """The catalogue ``claim`` checked on the family in ``table``; returns the claim and its remaining parameters."""
    if claim.id in GRAPH_THEOREMS:
        return _graph_variant(claim, table, where)
    if claim.id == "sg.symmetry":
        return _symmetry_variant(claim, table, where, source)
    if claim.id not in THEOREMS:
        raise TheorycheckError(
            f"{where}.arch: {claim.id} does not take a user family; these do: {', '.join(family_theorems())}"
        )
    theorem = THEOREMS[claim.id]
    allowed = (*_FAMILY_FIELDS, "against", "baseline") if theorem.ratio else _FAMILY_FIELDS
    for key in table:
        if key not in allowed:
            raise TheorycheckError(
                f"{where}.{key}: {claim.id} on your family takes {', '.join(allowed)}{suggest(key, allowed)}"
                f"{'; ' + key + ' belongs to the built-in family' if key in claim.params else ''}"
            )
    if theorem.ratio and ("baseline" not in table or "against" not in table):
        raise TheorycheckError(
            f"{where}: {claim.id} on your family needs baseline = {{ arch = ... }} (the strided arm) and against "
            "(the pool size n, an expression of the sweep)"
        )
    fields = {k: v for k, v in table.items() if k not in ("networks", "control")}
    spec = FamilySpec(fields, table.get("control"))
    networks = table.get("networks", claim.params["networks"].default)
    entry = Entry(claim.id, claim.source, claim.kind, claim.statement, claim.formula)
    combined = theorem_claim(
        entry,
        lambda p: [spec],
        {"networks": Param(networks, "networks per grid point and arm", network_count)},
        source=f"{claim.source}; on a user family ({source})",
        statement=claim.statement + " (on a user family)",
        definition=dict(table),
        where=where,
    )
    _validate(combined, where)
    return combined, {"networks": networks} if "networks" in table else {}


def _validate(claim: Claim, where: str) -> None:
    """Build the members now, so a bad family fails at once, naming the field."""
    claim.cells({"networks": claim.params["networks"].default})


def family_theorems() -> list[str]:
    """IDs of the catalogue claims that take a user family."""
    return [*THEOREMS, *GRAPH_THEOREMS, "sg.symmetry"]
