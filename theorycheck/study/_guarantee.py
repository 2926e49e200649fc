"""The guarantee a claim's verdict carries, per claim: what backs it, from how its parts were decided.

* **exact**: graph facts and identities evaluated in float64 (no sampling error);
* **search-based**: the phases, their evaluations, and that the same engine finds a planted false inequality;
* **attack-based**: bounds against the smallest perturbation a verified minimal-norm attack finds;
* **interval-based**: the intervals used, with the coverage measured for the claim's setting class
  (:mod:`theorycheck.calibration._measured`), or "coverage not measured for this setting" and why.

The sequential design (α split over the planned looks) is added to every interval-based guarantee.
"""

from __future__ import annotations

from typing import Any

from theorycheck.calibration._measured import CLASSES, MEASURED, setting_class
from theorycheck.claims._base import METHODS
from theorycheck.claims.framework import Cell, ClaimResult
from theorycheck.stats import MIN_TAIL_INDEX

__all__ = ["guarantee"]

_INTERVALS = ("mean", "slope", "ratio", "ratio-slope", "paired-ratio", "less-than", "batch-means", "extrapolation")
#: the planted false inequality of tests/property/test_counterexample_search.py
_PLANTED = (
    "the same engine finds the planted false inequality Σx_i ≤ 7.9 on [−1, 1]⁸ (violated on 1e-13 of the cube) by "
    "hypothesis and gradient ascent, which random sampling misses (tests/property)"
)


def _setting(cells: list[Cell]) -> tuple[str | None, str]:
    """The class of the claim's main Monte Carlo cells, or None and why they are outside every measured one."""
    classes, reasons = set(), []
    for cell in cells:
        if not cell.name.startswith("main/") or cell.kind not in ("sample", "module"):
            continue
        if cell.kind == "module":
            reasons.append("a module family")
            continue
        if "loss" in cell.params.get("targets", []):
            reasons.append("loss gradients (the table measures logit gradients)")
            continue
        found, why = setting_class(cell.params["arch"])
        if found is None:
            reasons.append(why)
        classes.add(found)
    if reasons or len(classes) != 1 or None in classes:
        return None, "; ".join(dict.fromkeys(reasons)) or "architectures of several classes"
    return classes.pop(), ""


def _searched(result: ClaimResult) -> str:
    evaluations = sum(int(row.get("evaluations", 0)) for p in result.parts for row in p.table)
    phases = sorted({str(row["method"]) for p in result.parts for row in p.table if "method" in row})
    mutant = result.control_verdict
    found = f"the claim's mutant came out {mutant}" if mutant else "the claim has no mutant"
    return f"search-based: {', '.join(phases)}, {evaluations} evaluations in all; {found}; {_PLANTED}"


def _intervals(methods: list[str], cells: list[Cell], sequential: dict[str, Any]) -> str:
    cls, why = _setting(cells)
    used = "; ".join(METHODS[m] for m in methods)
    gate = (
        "used only when the sample supports it (n > 28 + 25γ₁² for the theory's exact skewness γ₁ of a Gaussian "
        f"dense/ReLU chain, Cochran's rule; elsewhere a tail index of at least {MIN_TAIL_INDEX:g}, Hill)"
    )
    measured = []
    for m in methods:
        known = MEASURED.get((m, cls)) if cls is not None else None
        if known is not None:
            measured.append(f"{m}: coverage {known.text()} for {CLASSES[cls]}")  # type: ignore[index]
        else:
            where = f"{CLASSES[cls]}: not in the table for this method" if cls is not None else why
            measured.append(f"{m}: coverage not measured for this setting ({where})")
    looks = (
        f"Bonferroni α-spending over {sequential['planned_looks']} planned look(s), {sequential['looks']} taken, "
        f"α spent {sequential['alpha_spent']:.3g} of 0.05; intervals at level 1 − α/J"
        if sequential
        else "one look"
    )
    return f"interval-based: {used}, {gate}; {'; '.join(measured)}; {looks}"


def guarantee(result: ClaimResult, cells: list[Cell]) -> dict[str, Any]:
    """``{"kinds": [...], "text": ...}``: what backs the verdict of ``result``, whose cells are ``cells``."""
    methods = list(dict.fromkeys(p.method for p in result.parts if p.counts and p.decision.verdict != "not covered"))
    texts, kinds = [], []
    if "exact" in methods:
        kinds.append("exact")
        texts.append("exact: " + METHODS["exact"])
    if "search" in methods:
        kinds.append("search")
        texts.append(_searched(result))
    if "attack" in methods:
        kinds.append("attack")
        texts.append("attack-based: " + METHODS["attack"] + "; an input whose attack fails is counted, never passed")
    intervals = [m for m in methods if m in _INTERVALS]
    if intervals:
        kinds.append("interval")
        texts.append(_intervals(intervals, cells, result.sequential))
    if not texts:
        texts.append("none: no part of the claim was judged")
    return {"kinds": kinds, "methods": methods, "text": ". ".join(t[0].upper() + t[1:] for t in texts) + "."}
