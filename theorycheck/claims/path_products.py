"""Claims checked on the paths of tiny networks, enumerated in float64: path-products (Lemmas 9 and 10 of
Simon-Gabriel et al. 2019) and the path sum of the input gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims._archs import ROLES, networks
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import (
    Param,
    arch_specs,
    split_spec,
)
from theorycheck.claims._parts import (
    CONSTANT,
    EXPONENT,
    exact_part,
    mean_part,
)

__all__ = ["lemma9", "lemma10", "pathsum"]


# -- sg.lemma9 / sg.lemma10: path products ---------------------------------------------------
def _paths_cells(claim: str) -> Any:
    def make(p: dict[str, Any]) -> list[Cell]:
        out = []
        for role, key in (("main", "architectures"), ("control", "control_architectures")):
            for i, spec in enumerate(p[key]):
                arch, shape = split_spec(spec)
                out.append(Cell(claim, f"{role}/{i}", "paths", {"arch": arch, "input": shape}, p["networks"]))
        return out

    return make


def _paths_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    key = "architectures" if role == "main" else "control_architectures"
    parts = []
    for i, spec in enumerate(p[key]):
        df = data[f"{role}/{i}"]
        arch, shape = split_spec(spec)
        label = f"{arch} on {shape}"
        parts += [
            mean_part(
                f"E[ω_p] = 0 ({label})",
                "mean over paths of ω_p/√(Π E[w²]), per network",
                df["mean_z"].to_numpy(),
                0.0,
                EXPONENT,
            ),
            mean_part(
                f"E[ω_p²] = Π E[w²] ({label})",
                "mean over paths of ω_p²/Π E[w²], per network",
                df["sq_ratio"].to_numpy(),
                1.0,
                CONSTANT,
            ),
            mean_part(
                f"distinct path-products uncorrelated ({label})",
                "Σ_x (Σ_{p∈P(x,o)} ω_p)² / Σ_p Π E[w²]: equals 1 in expectation iff the cross terms vanish",
                df["sum_ratio"].to_numpy(),
                1.0,
                CONSTANT,
            ),
        ]
    return parts


# -- sg.pathsum ------------------------------------------------------------------------------
PATHSUM_ARCHS = [
    "dense(3) relu dense(4) relu dense(2) @ 3",
    "conv(2,3) relu conv(2,3,stride=2) relu flatten dense(2) @ 1x5x5",
    "conv(2,3,padding=reflect) relu avgpool(2) conv(2,2,dilation=2,padding=circular) relu globalavgpool dense(2) "
    "@ 1x6x6",
    "conv(2,2,padding=circular) relu residual{conv(2,3,padding=reflect) relu} concat{conv(1,1) | identity} relu "
    "flatten dense(2) @ 1x3x3",
    "conv(2,3) relu maxpool(2) tanh flatten dense(3) sigmoid dense(2) @ 1x4x4",
]


def _pathsum_cells(p: dict[str, Any]) -> list[Cell]:
    return [
        Cell(
            "sg.pathsum",
            f"{role}/{i}",
            "pathsum",
            {"arch": split_spec(s)[0], "input": split_spec(s)[1], "ignore_gates": role == "control"},
            p["networks"],
        )
        for role in ROLES
        for i, s in enumerate(p["architectures"])
    ]


def _pathsum_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    parts = []
    for i, spec in enumerate(p["architectures"]):
        df: pd.DataFrame = data[f"{role}/{i}"]
        ok = bool(df["holds"].all())
        worst_row = df.loc[(df["max_abs_error"] / df["tolerance"].clip(lower=1e-300)).idxmax()]
        parts.append(
            exact_part(
                f"∂ₓo = Σ_p ω_p σ_p ({spec})",
                "path sum against autograd, float64, within the round-off bound (n+depth)·ε·Σ|ω σ|",
                ok,
                float(worst_row["max_abs_error"]),
                0.0,
                f"{int(df['holds'].sum())}/{len(df)} networks within the bound; worst error "
                f"{worst_row['max_abs_error']:.3g} (bound {worst_row['tolerance']:.3g})",
            )
        )
    return parts


def lemma9(entry: Entry) -> Claim:
    """Lemma 9: mean, second moment and correlation of path-products of tiny nets, per network."""
    params = {
        "architectures": Param(
            [
                "dense(3) relu dense(3) relu dense(2) @ 3",
                "conv(2,2) relu conv(2,2,stride=2) relu flatten dense(2) @ 1x4x4",
            ],
            "tiny architectures 'ARCH @ SHAPE'",
            arch_specs,
        ),
        "control_architectures": Param(
            ["dense(3) relu add{identity | identity} dense(2) @ 3"],
            "mutants with duplicated path-products",
            arch_specs,
        ),
        "networks": networks(4000),
    }
    return make_claim(entry, params=params, make_cells=_paths_cells(entry.id), evaluate_parts=_paths_parts)


def lemma10(entry: Entry) -> Claim:
    """Lemma 10: the same with average pooling inserted."""
    params = {
        "architectures": Param(
            [
                "conv(2,2,padding=circular) relu avgpool(2) flatten dense(2) @ 1x4x4",
                "conv(2,3,padding=circular) relu avgpool(2) conv(2,2) relu flatten dense(2) @ 1x4x4",
            ],
            "tiny architectures with average pooling",
            arch_specs,
        ),
        "control_architectures": Param(
            ["conv(2,2,padding=circular) relu avgpool(2,stride=1) globalavgpool dense(2) @ 1x4x4"],
            "mutants: overlapping pools joined again (identical path-products)",
            arch_specs,
        ),
        "networks": networks(4000),
    }
    return make_claim(entry, params=params, make_cells=_paths_cells(entry.id), evaluate_parts=_paths_parts)


def pathsum(entry: Entry) -> Claim:
    """The path sum equals autograd's gradient in float64 on tiny nets."""
    params = {
        "architectures": Param(PATHSUM_ARCHS, "tiny architectures 'ARCH @ SHAPE'", arch_specs),
        "networks": networks(8),
    }
    return make_claim(entry, params=params, make_cells=_pathsum_cells, evaluate_parts=_pathsum_parts)


@cell_kind("paths", doubling=True, per_network=True)
def paths_rows(cell: Cell, context: CellContext) -> CellOutput:
    """Path products of tiny nets, per network (Lemmas 9 and 10)."""
    params = cell.params
    from theorycheck.sampler._paths import lemma9_rows, path_products

    pp = path_products(params["arch"], params["input"], networks=cell.networks, seed=context.seed, start=cell.start)
    rows = {"network": np.arange(cell.start, cell.start + cell.networks), **lemma9_rows(pp)}
    return pd.DataFrame(rows), {"seed": context.seed, "n_paths": int(pp.omega.shape[1]), "precision": "fp64"}, {}


@cell_kind("pathsum")
def pathsum_rows(cell: Cell, context: CellContext) -> CellOutput:
    """The path sum against autograd, per network, in float64."""
    params = cell.params
    from theorycheck.sampler._paths import path_sum

    out = []
    for i in range(cell.start, cell.start + cell.networks):
        r = path_sum(
            params["arch"],
            params["input"],
            seed=context.seed,
            network=i,
            ignore_gates=bool(params.get("ignore_gates", False)),
        )
        out.append(
            {
                "network": i,
                "max_abs_error": r.max_abs_error,
                "tolerance": float(r.tolerance().max()),
                "holds": r.holds,
                "n_paths": r.n_paths,
                "grad_max": float(np.abs(r.autograd).max()),
            }
        )
    return pd.DataFrame(out), {"seed": context.seed, "precision": "fp64"}, {}
