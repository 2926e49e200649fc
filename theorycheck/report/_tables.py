"""Typst building blocks of the report: escaped text, numbers, verdict badges and the claim tables."""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "VERDICT_COLOURS",
    "cells",
    "ci_text",
    "explanations",
    "grid_table",
    "levels_table",
    "num",
    "parts_table",
    "text",
    "verdict_badge",
]

VERDICT_COLOURS = {
    "verified": 'rgb("#1b7837")',
    "approximate": 'rgb("#b35806")',
    "refuted": 'rgb("#c51b7d")',
    "inconclusive": 'rgb("#5e3c99")',
    "not covered": 'rgb("#666666")',
    "error": 'rgb("#000000")',
}


def text(value: Any) -> str:
    """A typst string literal (markup characters in the value stay literal)."""
    s = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'#"{s}"'


def num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "–"
        return f"{value:.{digits}g}"
    return str(value)


def ci_text(ci: Any) -> str:
    return "–" if not ci else f"[{num(ci[0])}, {num(ci[1])}]"


def verdict_badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "black")
    return (
        f'#box(fill: {colour}, inset: (x: 3pt, y: 1.5pt), radius: 2pt)[#text(fill: white, weight: "bold")[{verdict}]]'
    )


def cells(*items: str) -> str:
    return ", ".join(f"[{i}]" for i in items)


def grid_table(grid: list[dict[str, Any]]) -> str:
    """The grid of a claim about a family: its variables, d, the estimate with its CI, and the prediction (the
    claim's for value and ratio claims; the (H) engine's value, where it covers the statistic, for scaling)."""
    if not grid:
        return ""
    fixed = ("d", "estimate", "ci", "predicted", "n")
    variables = [k for k in grid[0] if k not in fixed]
    header = cells(*(f"*{text(k)}*" for k in [*variables, "d", "estimate", "95% CI", "prediction", "n"]))
    rows = ",\n".join(
        cells(
            *(text(r.get(k)) for k in variables),
            text(r.get("d")),
            num(r.get("estimate")),
            ci_text(r.get("ci")),
            num(r.get("predicted")),
            text(r.get("n")),
        )
        for r in grid
    )
    columns = ", ".join(["auto"] * (len(variables) + 5))
    return f"""*Grid.*
#text(size: 8pt)[
#table(columns: ({columns}), stroke: 0.4pt + luma(180), inset: 3.5pt,
  table.header({header}),
{rows})
]"""


def parts_table(parts: list[dict[str, Any]]) -> str:
    rows = []
    for p in parts:
        d = p["decision"]
        fit = p.get("fit") or {}
        n = fit.get("n_obs") or (p["convergence"][-1]["n"] if p.get("convergence") else None)
        tost = d.get("tost_p")
        rows.append(
            cells(
                text(p["name"]),
                num(d.get("estimate")),
                ci_text(d.get("ci")),
                num(d.get("predicted")),
                text(d.get("margins") or "–"),
                "–" if not tost else f"{num(tost[0], 2)} / {num(tost[1], 2)}",
                num(n, 6),
                verdict_badge(d["verdict"]),
            )
        )
    body = ",\n".join(rows)
    return f"""#text(size: 7.5pt)[
#table(columns: (1fr, auto, auto, auto, auto, auto, auto, auto), stroke: 0.4pt + luma(180), inset: 3.5pt,
  table.header({
        cells("*part*", "*estimate*", "*CI (1 − α/J)*", "*predicted*", "*margins*", "*TOST p*", "*n*", "*verdict*")
    }),
{body})
]"""


def levels_table(levels: list[dict[str, Any]]) -> str:
    """(H), kernel and measured E[(∂f/∂x_i)²] per Monte Carlo cell (issue: three numbers side by side)."""
    if not levels:
        return ""
    rows = [
        cells(
            text(lv["cell"].removeprefix("main/")),
            text(lv["input"]),
            num(lv["h"]),
            num(lv["kernel"]) if lv["kernel"] is not None else text("–"),
            num(lv["measured"]),
            ci_text(lv["ci"]),
            num(lv["n"], 6),
        )
        for lv in levels
    ]
    skipped = sorted({lv["note"] for lv in levels if lv["kernel"] is None})
    note = ("; ".join(skipped) + ".") if skipped else ""
    body = ",\n".join(rows)
    return f"""*Three levels of prediction.* E[(∂f/∂x_i)²] averaged over the inputs, per cell: the (H) graph
prediction the claim is judged against, the infinite-width kernel prediction (at one Gaussian input)
and the Monte Carlo measurement. {text(note)}
#text(size: 7.5pt)[
#table(columns: (1fr, auto, auto, auto, auto, auto, auto), stroke: 0.4pt + luma(180), inset: 3.5pt,
  table.header({cells("*cell*", "*input*", "*(H)*", "*kernel*", "*measured*", "*95% CI*", "*n*")}),
{body})
]"""


def explanations(parts: list[dict[str, Any]]) -> str:
    items = []
    for p in parts:
        d = p["decision"]
        items.append(f"- *{text(p['name'])}* ({text(d['verdict'])}): {text(d['explanation'])}")
    return "\n".join(items)
