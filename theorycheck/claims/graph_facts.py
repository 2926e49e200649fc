"""Graph facts, decided exactly from the architecture: Lemma 7, Lemma 8 and the symmetry assumption (S) of
Simon-Gabriel et al. (2019), and the graph cell kind that computes them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims._archs import ID_EXACT
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import (
    Param,
    arch_specs,
    int_range,
    network_count,
    positive_int,
    split_spec,
)
from theorycheck.claims._parts import (
    CONSTANT,
    exact_part,
    fixed_verdict_part,
    sample_cell,
)
from theorycheck.graph import parse_input_shape
from theorycheck.stats import decide
from theorycheck.theory import predict

__all__ = ["graph_row", "lemma7", "lemma8", "symmetry", "symmetry_judgement", "symmetry_part"]


# -- graph claims: sg.lemma7, sg.lemma8, sg.symmetry -----------------------------------------
GRAPH_ARCHS = [
    "dense(8) relu dense(8) relu dense(3) @ 20",
    "conv(4,3) relu conv(4,3) relu flatten dense(3) @ 3x8x8",
    "conv(4,3,padding=circular) relu avgpool(2) conv(4,3,padding=reflect) relu globalavgpool dense(3) @ 2x8x8",
    "conv(4,3,stride=2) relu conv(4,2,dilation=2) relu flatten dense(3) @ 3x9x9",
    "conv(4,3) relu residual{conv(4,3) relu conv(4,3)} relu maxpool(2) flatten dense(3) @ 2x8x8",
    "conv(3,1) concat{conv(2,3,padding=circular) | conv(2,3,padding=reflect) conv(2,3,dilation=2,padding=circular) "
    "| identity} relu avgpool(3,stride=1) globalmaxpool dense(3) @ 2x6x6",
    "conv(4,2,dilation=3) relu flatten dense(2) @ 1x2x2",
]


def _graph_cells(claim: str, key: str) -> Any:
    def make(p: dict[str, Any]) -> list[Cell]:
        return [
            Cell(claim, f"graph/{i}", "graph", {"arch": split_spec(s)[0], "input": split_spec(s)[1]})
            for i, s in enumerate(p[key])
        ]

    return make


def _graph_rows(p: dict[str, Any], data: CellData, key: str) -> list[dict[str, Any]]:
    rows = []
    for i, spec in enumerate(p[key]):
        row = data[f"graph/{i}"].iloc[0].to_dict()
        rows.append({"architecture": spec, **{k: v for k, v in row.items() if not isinstance(v, (list, np.ndarray))}})
    return rows


def _lemma7_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    rows = _graph_rows(p, data, "architectures")
    col = "lemma7_sum" if role == "main" else "lemma7_nominal"
    errs = [abs(r[col] + (r["orphan_mass"] if role == "main" else 0.0) - 1.0) for r in rows]
    worst_i = int(np.argmax(errs))
    what = "real in-degrees" if role == "main" else "nominal in-degrees (padding counted as edges: the mutant)"
    return [
        exact_part(
            f"Σ_x Σ_p Π 1/d_p = 1 on every DAG ({what})",
            "computed by propagation on each architecture; mass stopping at neurons without inputs "
            "(orphan_mass) is counted as the walk's end",
            max(errs) <= ID_EXACT,
            rows[worst_i][col],
            1.0,
            f"largest |sum − 1| = {max(errs):.3g} on {rows[worst_i]['architecture']}",
            [{"architecture": r["architecture"], "sum": r[col], "orphan_mass": r["orphan_mass"]} for r in rows],
        )
    ]


def _lemma8_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    rows = _graph_rows(p, data, "architectures")
    chosen = [r for r in rows if bool(r["symmetric"]) == (role == "main") and r["orphan_mass"] == 0]
    if not chosen:
        return [fixed_verdict_part("Lemma 8", "no architecture in this role", "not covered", "none")]
    errs = [max(abs(r["lemma8_min"] * r["d"] - 1), abs(r["lemma8_max"] * r["d"] - 1)) for r in chosen]
    worst_i = int(np.argmax(errs))
    what = "architectures where (S) holds" if role == "main" else "architectures where (S) fails (the mutant use)"
    return [
        exact_part(
            f"each input's sum = 1/d ({what})",
            "per-input Lemma 8 sums times d, min and max",
            max(errs) <= ID_EXACT,
            max(errs),
            0.0,
            f"largest |d·sum − 1| = {max(errs):.3g} on {chosen[worst_i]['architecture']}",
            [
                {
                    "architecture": r["architecture"],
                    "symmetric": bool(r["symmetric"]),
                    "d·min": r["lemma8_min"] * r["d"],
                    "d·max": r["lemma8_max"] * r["d"],
                }
                for r in chosen
            ],
        )
    ]


SYMMETRY_CASES = {
    "fully connected": ("dense(16) relu dense(16) relu dense(3)", "vector", "exact"),
    "CNN, zero padding": ("conv(4,3) relu conv(4,3) relu flatten dense(3)", "image", "almost"),
    "CNN, circular padding": (
        "conv(4,3,padding=circular) relu conv(4,3,padding=circular) relu flatten dense(3)",
        "image",
        "exact",
    ),
    "CNN, mirror padding": (
        "conv(4,3,padding=reflect) relu conv(4,3,padding=reflect) relu flatten dense(3)",
        "image",
        "alleviated",
    ),
    "strided, kernel = stride": ("conv(4,2,stride=2,padding=circular) relu flatten dense(3)", "image", "exact"),
    "strided, kernel 3, stride 2": ("conv(4,3,stride=2,padding=circular) relu flatten dense(3)", "image", "exact"),
}


def _symmetry_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    out = []
    for name, (arch, kind, _) in SYMMETRY_CASES.items():
        shape = str(3 * r * r) if kind == "vector" else f"3x{r}x{r}"
        out.append(Cell("sg.symmetry", f"graph/{name}", "graph", {"arch": arch, "input": shape}))
    per_batch = max(4, p["map_networks"] // p["map_batches"])
    for b in range(p["map_batches"]):
        out.append(
            sample_cell(
                "sg.symmetry",
                "mc",
                f"zero/b{b}",
                SYMMETRY_CASES["CNN, zero padding"][0],
                f"3x{r}x{r}",
                per_batch,
                targets=["logit"],
                maps=True,
            )
        )
    return out


def _border_ratio(m: np.ndarray, width: int = 2) -> float:
    """Mean of a (C, H, W) map within ``width`` of an edge, over its mean in the interior."""
    mask = np.zeros(m.shape[1:], dtype=bool)
    mask[:width, :] = mask[-width:, :] = mask[:, :width] = mask[:, -width:] = True
    return float(m[:, mask].mean() / m[:, ~mask].mean())


def _map_part(p: dict[str, Any], data: CellData, role: str) -> Part:
    """Monte Carlo E[(∂f/∂x_i)²] map of the zero-padded CNN against the graph's predicted map."""
    r = p["resolution"]
    arch = SYMMETRY_CASES["CNN, zero padding"][0]
    predicted = predict(arch, f"3x{r}x{r}").coord_var_map
    assert predicted is not None
    # the mutant use: predict a uniform map (what circular padding gives) for the zero-padded net
    reference = predicted if role == "main" else np.full_like(predicted, predicted.mean())
    batches, total, count = [], np.zeros_like(predicted), 0
    for b in range(p["map_batches"]):
        n = len(data[f"mc/zero/b{b}"])
        m = data.maps(f"mc/zero/b{b}")["logit"] / n
        batches.append(_border_ratio(m))
        total += m * n
        count += n
    ratios = np.array(batches)
    est = float(ratios.mean())
    se = float(ratios.std(ddof=1) / math.sqrt(len(ratios)))
    decision = decide(est, se, _border_ratio(reference), CONSTANT)
    which = "the graph's (H) map" if role == "main" else "a uniform map (the mutant: (S) assumed)"
    part = Part(
        "zero padding: Monte Carlo border/interior ratio of E[(∂f/∂x_i)²]",
        f"mean squared gradient within 2 pixels of the border over the interior, {count} networks in "
        f"{len(ratios)} independent batches, against {which}",
        decision,
        [{"batch ratio": float(x)} for x in ratios],
        method="batch-means",
    )
    part.maps = {
        "shape": list(predicted.shape[1:]),
        "predicted": predicted[0].ravel().tolist(),
        "measured": (total / count)[0].ravel().tolist(),
    }
    return part


def symmetry_judgement(row: Any, expect: str, *, zero_spread: float | None = None) -> tuple[str, str]:
    """The verdict of Section 3.2's statement on one graph (a ``graph`` cell's row): (S) holds ``"exact"``ly,
    ``"almost"`` (fails at the borders only, the interior uniform), or the boundary effect is ``"alleviated"``
    (a Lemma 8 spread below zero padding's, ``zero_spread``)."""
    spread = float(row["lemma8_spread"])
    cv = row["coord_var_spread"]
    facts = f"(S) {'holds' if row['symmetric'] else 'fails'}; Lemma 8 relative spread (max−min)/mean = {spread:.3g}" + (
        "" if cv is None or cv != cv else f", predicted E[(∂f/∂x_i)²] map spread = {cv:.3g}"
    )
    if expect == "exact":
        verdict = "verified" if row["symmetric"] else "refuted"
        return verdict, facts + ("" if row["symmetric"] else " — a counterexample to exact symmetry")
    if expect == "almost":
        interior = bool(row["interior_uniform"])
        verdict = (
            "approximate" if (not row["symmetric"] and interior) else ("verified" if row["symmetric"] else "refuted")
        )
        return verdict, facts + f"; interior (away from the borders) uniform: {interior}"
    assert zero_spread is not None
    verdict = "verified" if (row["symmetric"] or spread < zero_spread) else "refuted"
    tail = "" if verdict == "verified" else ": the boundary effect is larger, not alleviated"
    return verdict, facts + f"; zero padding's Lemma 8 spread is {zero_spread:.3g}" + tail


def symmetry_part(what: str, rows: list[tuple[str, Any]]) -> Part:
    """(S) at every graph of ``rows`` (``(label, graph row)``), decided exactly: one part, refuted where it fails."""
    judged = [(label, *symmetry_judgement(row, "exact")) for label, row in rows]
    broken = [label for label, verdict, _ in judged if verdict == "refuted"]
    table = [
        {"point": label, "symmetric": bool(row["symmetric"]), "lemma8 spread": float(row["lemma8_spread"])}
        for label, row in rows
    ]
    text = f"(S) fails at {', '.join(broken)}" if broken else f"(S) holds at {what}"
    verdict = "refuted" if broken else "verified"
    return fixed_verdict_part(
        f"(S) holds ({what})", "decided exactly from the path degrees (Lemma 8 sums)", verdict, text, table
    )


def _symmetry_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    rows = {name: data[f"graph/{name}"].iloc[0] for name in SYMMETRY_CASES}
    parts = []
    if role == "control":
        # the mutant use: assert exact (S) for a zero-padded CNN
        r = rows["CNN, zero padding"]
        return [
            fixed_verdict_part(
                "exact (S) asserted for a zero-padded CNN",
                "the FC statement applied to a CNN",
                "verified" if r["symmetric"] else "refuted",
                f"(S) {'holds' if r['symmetric'] else 'fails'}; Lemma 8 spread {r['lemma8_spread']:.3g}",
            ),
            _map_part(p, data, role),
        ]
    zero = float(rows["CNN, zero padding"]["lemma8_spread"])
    for name, (arch, _, expect) in SYMMETRY_CASES.items():
        r = rows[name]
        verdict, text = symmetry_judgement(r, expect, zero_spread=zero)
        table = [{"case": name, "symmetric": bool(r["symmetric"]), "spread": float(r["lemma8_spread"])}]
        parts.append(fixed_verdict_part(f"{name}: {expect}", arch, verdict, text, table))
    parts.append(_map_part(p, data, role))
    return parts


def lemma7(entry: Entry) -> Claim:
    """Lemma 7 on every architecture, with the real in-degrees (the mutant: nominal ones)."""
    params = {"architectures": Param(GRAPH_ARCHS, "architectures 'ARCH @ SHAPE'", arch_specs)}
    return make_claim(
        entry, params=params, make_cells=_graph_cells("sg.lemma7", "architectures"), evaluate_parts=_lemma7_parts
    )


def lemma8(entry: Entry) -> Claim:
    """Lemma 8 where (S) holds (the mutant: where it fails); the graph cells are Lemma 7's."""
    params = {"architectures": Param(GRAPH_ARCHS, "architectures 'ARCH @ SHAPE'", arch_specs)}
    return make_claim(
        entry, params=params, make_cells=_graph_cells("sg.lemma7", "architectures"), evaluate_parts=_lemma8_parts
    )


def symmetry(entry: Entry) -> Claim:
    """Section 3.2's statements on (S), case by case, and the Monte Carlo map of the zero-padded CNN."""
    params = {
        "resolution": Param(16, "image resolution (a multiple of 2)", positive_int),
        "map_networks": Param(4000, "networks for the Monte Carlo map of the zero-padded CNN", network_count),
        "map_batches": Param(8, "independent batches (replicates) for the map's CI", int_range(2, 1000)),
    }
    return make_claim(entry, params=params, make_cells=_symmetry_cells, evaluate_parts=_symmetry_parts)


def graph_row(arch: str, shape: str) -> dict[str, Any]:
    from theorycheck.theory import lemma7_sum, predict

    p = predict(arch, shape)
    lemma8 = p.lemma8_map
    spread = float((lemma8.max() - lemma8.min()) / lemma8.mean()) if lemma8.mean() > 0 else float("nan")
    cv = p.coord_var_map
    cv_spread = float((cv.max() - cv.min()) / cv.mean()) if cv is not None and cv.mean() > 0 else None
    interior_uniform = False
    if lemma8.ndim == 3 and lemma8.shape[1] > 8 and lemma8.shape[2] > 8:
        inner = lemma8[:, 4:-4, 4:-4]
        interior_uniform = bool(np.allclose(inner, inner.flat[0], rtol=1e-12, atol=0))
    return {
        "d": p.d,
        "lemma7_sum": p.lemma7_sum,
        "orphan_mass": p.orphan_mass,
        "lemma7_nominal": lemma7_sum(arch, shape, degrees="nominal"),
        "symmetric": p.symmetric,
        "lemma8_min": p.lemma8.min,
        "lemma8_mean": p.lemma8.mean,
        "lemma8_max": p.lemma8.max,
        "lemma8_spread": spread,
        "coord_var_spread": cv_spread,
        "interior_uniform": interior_uniform,
        "log10_paths": p.log10_paths,
        "covered": p.covered,
        "coord_var_mean": None if p.coord_var is None else p.coord_var.mean,
        "lemma8_map": lemma8.ravel().tolist(),
        "map_shape": list(lemma8.shape),
        "coord_var_map": None if p.coord_var_map is None else p.coord_var_map.ravel().tolist(),
    }


@cell_kind("graph")
def graph_cell(cell: Cell, context: CellContext) -> CellOutput:
    """One row of exact graph facts (Lemma 7, Lemma 8, (S), the (H) map)."""
    params = cell.params
    parse_input_shape(params["input"])
    return pd.DataFrame([graph_row(params["arch"], params["input"])]), {"precision": "fp64 (exact)"}, {}
