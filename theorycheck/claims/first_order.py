"""First-order attack statements checked as scaling laws in ε, per network: Lemma 1 and Proposition 2 of
Simon-Gabriel et al. (2019).

Per network (float64), over ε from 1e-1 to 1e-10: the first-order error of an
ℓp attack, ``e(ε) = |ΔL(ε)/(ε‖∂ₓL‖_q) − 1|``, must shrink like ε (Lemma 1), and
the gap between the adversarially augmented and the penalised loss,
``|½(L(x)+L(x+εδ)) − (L + (ε/2)‖∂ₓL‖_q)| = ½|ΔL − ε‖∂ₓL‖_q|``, like ε²
(Proposition 2). Below some ε, float64 rounding of ``L(x+εδ) − L(x)``
dominates and the curve turns up: per network and ε the rounding bound
``8 ε_mach (|L(x)| + |L(x+εδ)|)`` is computed and the fit uses only points at
least ten times above it (the floor is detected, not fitted into), and ε at
most ``eps_max`` (beyond it the attack crosses ReLU kinks, outside the
first-order regime the statements are about).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import Param, arch_specs, network_count, positive_float, split_spec
from theorycheck.claims._parts import EXPONENT, mean_part

__all__ = ["lemma1", "prop2", "scan_rows"]

FLOOR_FACTOR = 10.0
MIN_POINTS = 4


def _slope(eps: np.ndarray, values: np.ndarray, rounding: np.ndarray, eps_max: float) -> tuple[float, float, int]:
    """OLS slope of log |values| on log ε where |values| is ≥ 10× its rounding bound and ε ≤ eps_max.

    Returns (slope, smallest ε used, points used).
    """
    v = np.abs(values)
    keep = (v >= FLOOR_FACTOR * rounding) & (eps <= eps_max) & (v > 0)
    if keep.sum() < MIN_POINTS:
        return math.nan, math.nan, int(keep.sum())
    slope = float(np.polyfit(np.log(eps[keep]), np.log(v[keep]), 1)[0])
    return slope, float(eps[keep].min()), int(keep.sum())


def scan_rows(
    arch: str, shape: str, *, networks: int, seed: int, start: int, eps_max: float, mutant: bool
) -> dict[str, np.ndarray]:
    """Per-network slopes for p = ∞ and p = 2 (with ``mutant``: a random direction / the wrong dual norm)."""
    from theorycheck.attacks import first_order_scan

    out: dict[str, list[float]] = {}
    for name, p in (("inf", math.inf), ("2", 2.0)):
        scan = first_order_scan(
            arch, shape, networks=networks, seed=seed, start=start, p=p, direction="random" if mutant else "attack"
        )
        first = scan.first_order
        if mutant and math.isinf(p):  # Proposition 2 with the wrong dual norm: ‖g‖₂ in place of ‖g‖₁
            other = first_order_scan(arch, shape, networks=networks, seed=seed, start=start, p=2.0)
            first_gap = other.first_order
        else:
            first_gap = first
        # rounding of L(x+εδ) − L(x) in float64: about 8 ε_mach (|L(x)| + |L(x+εδ)|), absolute
        absolute = 8 * np.finfo(np.float64).eps * (2 * np.abs(scan.loss)[:, None] + np.abs(scan.delta_loss))
        for i in range(networks):
            s1, f1, n1 = _slope(scan.epsilons, scan.delta_loss[i] / first[i] - 1.0, absolute[i] / first[i], eps_max)
            s2, _, _ = _slope(scan.epsilons, 0.5 * (scan.delta_loss[i] - first_gap[i]), 0.5 * absolute[i], eps_max)
            valid = scan.epsilons >= f1 if math.isfinite(f1) else scan.epsilons > 0
            ratio = scan.delta_loss[i][valid][-1] / first[i][valid][-1] if valid.any() else math.nan
            for key, val in (
                (f"lemma1_slope_{name}", s1),
                (f"prop2_slope_{name}", s2),
                (f"floor_eps_{name}", f1),
                (f"ratio_{name}", ratio),
                (f"points_{name}", n1),
            ):
                out.setdefault(key, []).append(val)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _cells(claim: str) -> Any:
    def make(p: dict[str, Any]) -> list[Cell]:
        return [
            Cell(
                "sg.lemma1",
                f"{role}/{i}",
                "epsilon",
                {
                    "arch": split_spec(spec)[0],
                    "input": split_spec(spec)[1],
                    "eps_max": p["eps_max"],
                    "mutant": role == "control",
                },
                p["networks"],
            )
            for role in ("main", "control")
            for i, spec in enumerate(p["architectures"])
        ]

    return make


def _parts(which: str) -> Any:
    def evaluate(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        parts = []
        target = 1.0 if which == "lemma1" else 2.0
        for i, spec in enumerate(p["architectures"]):
            df = data[f"{role}/{i}"]
            for name, label in (("inf", "p = ∞ (FGSM, q = 1)"), ("2", "p = 2 (q = 2)")):
                slopes = df[f"{which}_slope_{name}"].to_numpy()
                ok = np.isfinite(slopes)
                what = (
                    "first-order error |ΔL/(ε‖∂ₓL‖_q) − 1|"
                    if which == "lemma1"
                    else "gap between augmented and penalised loss"
                )
                mutant = (
                    ""
                    if role == "main"
                    else (
                        " — mutant: a random direction"
                        if which == "lemma1" or name == "2"
                        else " — mutant: the penalty with ‖∂ₓL‖₂ instead of ‖∂ₓL‖₁"
                    )
                )
                part = mean_part(
                    f"{what} ∝ ε^{target:g}, {label}, {spec}{mutant}",
                    f"per-network slope of log {what} on log ε, fitted from ε ≤ {p['eps_max']:g} down to "
                    f"the point where the values fall to {FLOOR_FACTOR:g}× their float64 rounding bound "
                    f"(median smallest ε used {np.nanmedian(df[f'floor_eps_{name}']):.2g}); "
                    f"{int(ok.sum())} of {len(slopes)} networks had enough points",
                    slopes[ok],
                    target,
                    EXPONENT,
                )
                parts.append(part)
            if which == "lemma1" and role == "main":
                r = df["ratio_inf"].to_numpy()
                r = r[np.isfinite(r)]
                parts.append(
                    mean_part(
                        f"ΔL/(ε‖∂ₓL‖₁) → 1 at the smallest valid ε, p = ∞, {spec}",
                        "ratio of the actual loss increase to its first-order prediction",
                        r,
                        1.0,
                        EXPONENT,
                    )
                )
        return parts

    return evaluate


_ARCHS = Param(
    [
        "dense(32) relu dense(32) relu dense(10) @ 16",
        "conv(4,3) relu conv(4,3,stride=2) relu flatten dense(10) @ 1x8x8",
    ],
    "architectures 'ARCH @ SHAPE'",
    arch_specs,
)
_PARAMS = {
    "architectures": _ARCHS,
    "networks": Param(100, "networks per architecture", network_count),
    # at 1e-2 about 10% of networks cross a ReLU kink within the window (per-network slopes up to
    # 1.45, mean 1.02-1.05); both statements are about ε → 0
    "eps_max": Param(1e-3, "largest ε in the fit (the first-order regime)", positive_float),
}


def lemma1(entry: Entry) -> Claim:
    """Lemma 1: the first-order loss increase of the worst ε-sized ℓp attack, per network, as ε → 0."""
    return make_claim(entry, params=dict(_PARAMS), make_cells=_cells(entry.id), evaluate_parts=_parts("lemma1"))


def prop2(entry: Entry) -> Claim:
    """Proposition 2: the augmented and the penalised loss agree to O(ε²), per network."""
    return make_claim(entry, params=dict(_PARAMS), make_cells=_cells(entry.id), evaluate_parts=_parts("prop2"))


@cell_kind("epsilon")
def epsilon_rows(cell: Cell, context: CellContext) -> CellOutput:
    """First-order ε scans per network (Lemma 1, Proposition 2)."""
    params = cell.params
    from theorycheck.claims.first_order import scan_rows

    rows = scan_rows(
        params["arch"],
        params["input"],
        networks=cell.networks,
        seed=context.seed,
        start=cell.start,
        eps_max=float(params["eps_max"]),
        mutant=bool(params["mutant"]),
    )
    frame = pd.DataFrame({"network": np.arange(cell.start, cell.start + cell.networks), **rows})
    return frame, {"seed": context.seed, "precision": "fp64"}, {}
