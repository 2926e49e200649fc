"""Empirical comparisons the theory does not cover: the experiments of Section 4 of Simon-Gabriel et al. (2019) at
initialisation (Figure 1: max-pooling CNNs; Figure 3: pooling variants)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck.claims._archs import networks, pooling_block
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._params import (
    Param,
    positive_float,
    positive_int,
    positive_int_list,
    sweep,
)
from theorycheck.claims._parts import Sample, less_than_part, sample_cell, scaling_part
from theorycheck.stats import log_ratio

__all__ = ["fig1", "fig3"]


# -- sg.fig1 and sg.fig3: the papers' experiments at initialisation -------------------------
def _fig1_arch(c: int, dil: int, pool: str = "max") -> str:
    conv = f"conv({c},3,dilation={dil}) relu" if dil > 1 else f"conv({c},3) relu"
    block = f"{conv} {conv}"
    head = "globalmaxpool" if pool == "max" else "globalavgpool"
    return f"[{block} {pool}pool(2)]*3 {block} {head} dense(12,gain=1)"


def _fig1_cells(p: dict[str, Any]) -> list[Cell]:
    out = []
    for role, pool in (("main", "max"), ("control", "avg")):
        for r, dil in zip(p["resolutions"], p["dilations"], strict=True):
            out.append(
                sample_cell(
                    "sg.fig1",
                    role,
                    f"r={r}",
                    _fig1_arch(p["channels"], dil, pool),
                    f"3x{r}x{r}",
                    p["networks"],
                    targets=["loss"],
                    loss_class="random",
                    fgsm=p["epsilon"],
                )
            )
    return out


def _fig1_samples(p: dict[str, Any], data: CellData, role: str, value: Any) -> list[Sample]:
    out = []
    for r in p["resolutions"]:
        d = 3 * r * r
        values = np.asarray(value(data[f"{role}/r={r}"]), dtype=np.float64)
        out.append(Sample(values, float(d), label=f"r={r}", row={"r": r, "d": d}))
    return out


def _fig1_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    l1 = _fig1_samples(p, data, role, lambda df: df["loss.l1"].to_numpy())
    gain = _fig1_samples(p, data, role, lambda df: np.maximum(df["fgsm_gain"].to_numpy(), 1e-300))
    return [
        scaling_part("E‖∂ₓL‖₁ ∝ √d", "empirical (max-pooling is outside the theory)", l1, 0.5),
        scaling_part(
            f"FGSM vulnerability at ε = {p['epsilon']:g} ∝ √d",
            "loss increase L(x + ε sign ∂ₓL) − L(x), per network",
            gain,
            0.5,
        ),
    ]


def _fig3_arch(c: int, variant: str) -> str:
    return f"[{pooling_block(c, variant)}]*3 globalavgpool dense(10,gain=1)"


def _fig3_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    return [
        sample_cell(
            "sg.fig3",
            "main",
            v,
            _fig3_arch(p["channels"], v),
            f"3x{r}x{r}",
            p["networks"],
            targets=["loss"],
            loss_class="random",
        )
        for v in ("avg", "max", "strided")
    ]


def _fig3_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    l1 = {v: data[f"main/{v}"]["loss.l1"].to_numpy() for v in ("avg", "max", "strided")}
    if role == "control":  # the reversed inequality must be rejected
        lr, se = log_ratio(l1["strided"], l1["avg"])
        return [less_than_part("strided < average (reversed: the mutant)", "E‖∂ₓL‖₁ ratio strided / avg", lr, se)]
    parts = []
    for other in ("strided", "max"):
        lr, se = log_ratio(l1["avg"], l1[other])
        parts.append(less_than_part(f"average-pooling < {other}", f"E‖∂ₓL‖₁ ratio avg / {other}", lr, se))
    parts[0].table = [
        {"variant": v, "mean": float(x.mean()), "se": float(x.std(ddof=1) / math.sqrt(x.size)), "n": int(x.size)}
        for v, x in l1.items()
    ]
    return parts


def fig1(entry: Entry) -> Claim:
    """Figure 1 at initialisation: E‖∂ₓL‖₁ and the FGSM vulnerability against the resolution."""
    params = {
        "resolutions": Param([16, 32, 64], "resolutions (paper: 32, 64, 128, 256)", sweep(2)),
        "dilations": Param([1, 2, 4], "dilation per resolution, ∝ resolution (paper: 1, 2, 4, 8)", positive_int_list),
        "channels": Param(8, "channels (paper: 64)", positive_int),
        "epsilon": Param(0.006, "FGSM step", positive_float),
        "networks": networks(1000),
    }
    return make_claim(entry, params=params, make_cells=_fig1_cells, evaluate_parts=_fig1_parts)


def fig3(entry: Entry) -> Claim:
    """Figure 3 at initialisation: average pooling against strided and max-pooling layers."""
    params = {
        "resolution": Param(16, "resolution (paper: 32)", positive_int),
        "channels": Param(8, "channels (paper: 64)", positive_int),
        "networks": networks(2000),
    }
    return make_claim(entry, params=params, make_cells=_fig3_cells, evaluate_parts=_fig3_parts)
