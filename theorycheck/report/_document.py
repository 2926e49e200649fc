"""The typst source of a report, built from a study's ``results.json`` and ``study.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from theorycheck.calibration import MEASURED_COVERAGE
from theorycheck.claims import CATALOGUE
from theorycheck.report import _figures as fig
from theorycheck.report._tables import (
    VERDICT_COLOURS,
    cells,
    explanations,
    grid_table,
    levels_table,
    num,
    parts_table,
    text,
    verdict_badge,
)
from theorycheck.stats import MIN_TAIL_INDEX

__all__ = ["VERDICT_COLOURS", "document"]

_ORDER = {"error": 0, "refuted": 1, "inconclusive": 2, "approximate": 3, "verified": 4, "not covered": 5}


def _title_page(study: dict[str, Any], verdicts: list[dict[str, Any]]) -> str:
    prov = study.get("provenance", {})
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
    rows = [
        ("date", prov.get("date")),
        ("study file", study.get("source")),
        ("study hash", study.get("spec_hash")),
        ("theorycheck", f"{prov.get('theorycheck')} (git {str(prov.get('git_revision'))[:12]})"),
        ("torch / numpy / scipy", f"{prov.get('torch')} / {prov.get('numpy')} / {prov.get('scipy')}"),
        ("statsmodels", prov.get("statsmodels")),
        ("python", prov.get("python")),
        ("device", prov.get("device_name")),
        ("precision", study.get("precision")),
        ("seed", study.get("seed")),
        ("budget per cell stream", study.get("max_networks")),
        ("compute time (all cells)", f"{prov.get('compute_seconds', 0):.1f} s"),
        ("wall time of the last run", f"{prov.get('runtime_seconds', 0):.1f} s (complete cells are reused)"),
    ]
    table = ",\n".join(cells(text(k), text(v)) for k, v in rows)
    summary = ", ".join(f"{verdict_badge(v)} {counts[v]}" for v in sorted(counts, key=lambda v: _ORDER.get(v, 9)))
    return f"""
#align(center)[
  #v(3cm)
  #text(size: 22pt, weight: "bold")[theorycheck report]
  #v(4pt)
  #text(size: 15pt)[{text(study.get("name"))}]
  #v(6pt)
  #text(size: 10pt, style: "italic")[{text(study.get("description") or "")}]
  #v(1cm)
  {summary}
  #v(1cm)
]
#table(columns: (auto, 1fr), stroke: 0.4pt + luma(180), inset: 5pt,
{table})
#v(8pt)
#text(size: 8.5pt)[Verdicts: #text(weight: "bold")[verified] = equivalent to the prediction within the claim's margin
(two one-sided tests); #text(weight: "bold")[approximate] = the CI excludes the prediction but stays in the declared band;
#text(weight: "bold")[refuted] = outside the band, or a counterexample; #text(weight: "bold")[inconclusive] = the CI is
too wide. Every Monte Carlo check runs next to a negative control (a mutant that breaks the claim), which must come out
refuted. Confidence intervals are clustered by network: one value per sampled network. Each claim's
*Guarantee* says what backs its verdict: exact (graph facts, identities in float64), search-based, attack-based, or
interval-based with the coverage the calibration measured for its setting class ({text(MEASURED_COVERAGE)}), or
"coverage not measured for this setting". "k of n parts": the verdict rests on the parts the theory covers. A sample
that cannot support an interval (fewer than 28 + 25γ₁² networks for the theory's exact skewness γ₁ of a dense/ReLU
chain, else a tail index below {MIN_TAIL_INDEX:g}) gives *inconclusive*, never refuted; α is split over each claim's
planned looks (Bonferroni α-spending).]
#pagebreak()
"""


def _summary(verdicts: list[dict[str, Any]]) -> str:
    rows = []
    for v in sorted(verdicts, key=lambda v: (_ORDER.get(v["verdict"], 9), v["claim"])):
        dev = v.get("rel_dev")
        dev_text = "–" if dev is None else (f"{dev:+.2%}" if v.get("deviation_kind") == "relative" else f"{dev:+.4g}")
        control = v.get("negative_control") or "–"
        if v.get("control_unable_to_fail"):
            control += " (unable to fail!)"
        badge = verdict_badge(v["verdict"])
        if v.get("partial"):
            share = f"{v['judged']} of {v['parts_counted']} parts"
            badge += f" #text(size: 7pt)[{text(share)}]"
        rows.append(
            cells(
                f"#link(<{_label(v['claim'])}>)[{text(v['claim'])}]",
                text(v.get("kind") or "?"),
                badge,
                num(v.get("predicted")),
                num(v.get("measured")),
                dev_text,
                text(control),
                text(_short_source(v.get("source") or "")),
            )
        )
    body = ",\n".join(rows)
    return f"""
= Summary
#text(size: 8pt)[
#table(columns: (auto, auto, auto, auto, auto, auto, auto, 1fr), stroke: 0.4pt + luma(180), inset: 4pt,
  table.header({
        cells("*claim*", "*kind*", "*verdict*", "*predicted*", "*measured*", "*deviation*", "*control*", "*source*")
    }),
{body})
]
Predicted and measured refer to the claim's headline part (the part that decides its verdict); every part is in the
claim's section. "k of n parts": the verdict rests on the k parts the theory covers; the section lists why the others
are not covered. Refuted and inconclusive claims come first.
#pagebreak()
"""


def _short_source(source: str) -> str:
    return source.split(",")[0] if source else ""


def _label(claim_id: str) -> str:
    return "claim-" + claim_id.replace(".", "-").replace("_", "-")


def _training_rows(parts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Table rows of trained networks (they carry ``step``, ``series`` and ``quantity``), per quantity. Empty unless
    some quantity was measured at two steps or more."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        for row in p["table"] or []:
            if {"step", "series", "quantity"} <= row.keys() and row.get("ci"):
                out.setdefault(str(row["quantity"]), []).append(row)
    return {t: rows for t, rows in out.items() if len({r["step"] for r in rows}) >= 2}


def _figures_for(claim_id: str, parts: list[dict[str, Any]], write: Any) -> list[str]:
    out = []
    scaling = [p for p in parts if p.get("fit") and p["table"] and "level" in p["table"][0] and "mean" in p["table"][0]]
    ratios = [p for p in parts if p.get("fit") and p["table"] and "ratio" in p["table"][0] and "level" in p["table"][0]]
    means = [p for p in parts if not p.get("fit") and p.get("convergence") and p["decision"].get("deviation_ci")]
    if scaling:
        out.append(
            (
                write(f"{claim_id}-scaling", fig.scaling_figure(scaling)),
                "Log-log scaling: measured means (95% CI), fitted power law, predicted slope.",
            )
        )
    if ratios:
        out.append(
            (
                write(f"{claim_id}-ratios", fig.ratio_figure(ratios)),
                "Pooling comparison: ratio pooled / strided against the pool size n, with the predicted law.",
            )
        )
    if means:
        out.append(
            (
                write(f"{claim_id}-deviations", fig.deviation_figure(means)),
                "Deviation of each estimate from its prediction, with the equivalence margin and the band.",
            )
        )
    trained = _training_rows(parts)
    if trained:
        out.append(
            (
                write(f"{claim_id}-training", fig.training_figure(trained)),
                "Against the training step: each measured mean (95% CI band), one line per grid point.",
            )
        )
    width = [p for p in parts if p["table"] and "width" in p["table"][0] and len(p.get("convergence") or []) >= 2]
    if width:
        out.append(
            (
                write(f"{claim_id}-width", fig.convergence_figure(width, xlabel="width (channels)")),
                "Measurement against the width, with the kernel (infinite-width) prediction as the dashed line.",
            )
        )
    conv = [p for p in (scaling + means) if len(p.get("convergence") or []) >= 2][:4]
    if conv:
        out.append(
            (
                write(f"{claim_id}-convergence", fig.convergence_figure(conv)),
                "Convergence of the estimates as the number of networks grows.",
            )
        )
    for p in parts:
        if p.get("maps"):
            out.append(
                (
                    write(f"{claim_id}-maps", fig.maps_figure(p)),
                    "Per-input E[(∂f/∂x_i)²] under zero padding: the graph's (H) map, the Monte Carlo map "
                    "and their ratio (boundary effects).",
                )
            )
        if p["table"] and "variant" in p["table"][0]:
            out.append(
                (
                    write(f"{claim_id}-variants", fig.variants_figure(p["table"], "E‖∂L‖₁")),
                    "E‖∂ₓL‖₁ per pooling variant (95% CI).",
                )
            )
    hist = [p for p in parts if p.get("histogram")]
    if hist:
        out.append(
            (
                write(f"{claim_id}-histograms", fig.histogram_figure(hist)),
                "Per input: the lower bound divided by the smallest verified perturbation found (log scale); "
                "the bound holds left of the dashed line at 1.",
            )
        )
    return [f'#figure(image("{path}", width: 100%), caption: [{text(caption)}])' for path, caption in out]


def _scope(result: dict[str, Any]) -> str:
    """How much of the claim the verdict rests on, and every reason a part is not covered."""
    reasons = result.get("not_covered") or []
    if not reasons:
        return ""
    if result.get("partial"):
        head = f"*Scope.* Judged on {result['judged']} of {result['parts_counted']} parts; not covered:"
    else:
        head = "*Scope.* No part is covered by the theory:"
    return head + "\n" + "\n".join(f"- {text(r)}" for r in reasons) + "\n"


def _claim_section(result: dict[str, Any], write: Any) -> str:
    cid = result["claim"]
    claim = CATALOGUE.get(cid)
    # catalogue formulas are typst math; a user claim's (or a theorem on a user family) is plain text
    math_formula = claim.formula if claim and result.get("source") == claim.source else ""
    plain_formula = "" if math_formula else str(result.get("prediction_formula") or "")
    control = result.get("negative_control") or "–"
    control_line = f"The negative control came out *{text(control)}*" + (
        " — the check is *unable to fail* and cannot be trusted."
        if result.get("control_unable_to_fail")
        else ", as it must: the check can fail."
        if control == "refuted"
        else "; the claim itself was refuted, which shows that the check can fail."
    )
    what_ran = sorted({p.get("description") or "" for p in result.get("control_parts") or []} - {""})
    if len(what_ran) == 1 and what_ran[0].startswith("control: "):  # a form's automatic or family control
        control_line += f" {text(what_ran[0].removeprefix('control: ').capitalize())}."
    counter = ""
    if result["verdict"] == "refuted":
        refuted = [p for p in result["parts"] if p["decision"]["verdict"] == "refuted"]
        counter = "== Evidence against the claim\n" + "\n".join(
            f"- {text(p['name'])}: {text(p['decision']['explanation'])}" for p in refuted
        )
    notes = "\n".join(f"- {text(n)}" for n in result.get("notes", []))
    figures = "\n".join(_figures_for(cid, result["parts"], write))
    head = result.get("headline_part")
    explanation = next((p["decision"]["explanation"] for p in result["parts"] if p["name"] == head), "")
    control_parts = result.get("control_parts") or []
    control_table = parts_table(control_parts) if control_parts else ""
    guarantee = (result.get("guarantee") or {}).get("text") or "not recorded (a study run before guarantees were)"
    scope = _scope(result)
    return f"""
== {text(cid)} #h(6pt) {verdict_badge(result["verdict"])} <{_label(cid)}>
*Source:* {text(result.get("source", ""))}. *Kind:* {text(result.get("kind", ""))}.

*Statement.* {text(result.get("statement", ""))}

*Prediction.* {"$ " + math_formula + " $" if math_formula else (text(plain_formula) or "–")}

*Verdict.* {text(result["verdict"])}: {text(explanation)}
{scope}

*Guarantee.* {text(guarantee)}

{parts_table(result["parts"])}

{grid_table(result.get("grid") or [])}

{explanations(result["parts"])}

{levels_table(result.get("levels") or [])}

{counter}

*Negative control.* {control_line}
{control_table}

{notes}

{figures}
"""


def document(
    out_dir: Path,
    figure_dir: Path,
    results: dict[str, dict[str, Any]],
    study: dict[str, Any],
    verdicts: list[dict[str, Any]],
) -> str:
    """The complete typst source; figures are written into ``figure_dir`` (paths relative to ``out_dir``)."""

    def write(name: str, data: bytes) -> str:
        path = figure_dir / (name.replace(".", "-") + ".svg")
        path.write_bytes(data)
        return str(path.relative_to(out_dir))

    ordered = sorted(results.values(), key=lambda r: (_ORDER.get(r["verdict"], 9), r["claim"]))
    sections = "\n#pagebreak(weak: true)\n".join(_claim_section(r, write) for r in ordered)
    missing = [c for c in CATALOGUE.values() if c.id not in results]
    appendix = "\n".join(f"- {text(c.id)} ({text(c.kind)}): not in this study — {text(c.statement)}" for c in missing)
    return f"""
#set document(title: "theorycheck report")
#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm), numbering: "1 / 1",
  header: context {{ if counter(page).get().first() > 1 [#text(size: 8pt, fill: luma(120))[theorycheck · {text(study.get("name"))}]] }})
#set text(size: 9.5pt)
#set par(justify: true)
#set heading(numbering: none)
#show heading.where(level: 1): set text(size: 15pt)
#show heading.where(level: 2): set text(size: 12pt)
#show figure: set block(breakable: false)
{_title_page(study, verdicts)}
{_summary(verdicts)}
= Claims
{sections}
#pagebreak(weak: true)
= Claims of the catalogue not in this report
{appendix or "All claims of the catalogue are in this report."}
"""
