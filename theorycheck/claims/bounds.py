"""Robustness lower bounds against the smallest perturbation an attack finds: Peck et al.'s Taylor bound
(pk.fc_bound) and chained bound (pk.chain).

Two kinds of evidence per claim:

* **sampled networks** (cell kind ``bound``): He-initialised networks with Gaussian inputs;
  per input the lower bound, the smallest verified ℓ2 perturbation found (DeepFool towards
  every class, shortened by bisection; the label change is checked), their ratio, and along
  that perturbation every layer rule's ``Δout / L(Δin)``. A ratio above 1 on a verified
  perturbation refutes the bound; a rule ratio above 1 says which layer rule fails even where
  the chain as a whole survives. The report plots the distribution of bound/attack.
* **adversarial search** (cell kind ``property``): small networks whose minimal perturbation
  is known exactly (linear conv nets, by the active-set QP) or verified (one smooth hidden
  layer), searched for a bound above it (random, hypothesis ``target()``, gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from theorycheck.attacks._robustness import rule_columns
from theorycheck.claims import searches as _props
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims._params import Param, arch_specs, int_range, network_count, split_spec
from theorycheck.claims._parts import fixed_verdict_part
from theorycheck.properties import PROPERTIES

__all__ = ["chain", "fc_bound"]

#: relative slack for "bound > attack": the bisection's precision (2⁻⁶⁰) and float64 round-off
RATIO_SLACK = 1e-9


def _cells(claim_id: str, bound: str) -> Any:
    property_cells = _props.property_cells(claim_id, PROPERTIES[claim_id])

    def make(p: dict[str, Any]) -> list[Cell]:
        cells = list(property_cells(p))
        for role in ("main", "control"):
            for i, spec in enumerate(p["architectures"]):
                arch, shape = split_spec(spec)
                params = {"arch": arch, "input": shape, "bound": bound, "mutant": role == "control"}
                cells.append(Cell(claim_id, f"{role}/net{i}", "bound", params, p["networks"]))
        return cells

    return make


def _rule_summary(df: Any) -> tuple[str, list[dict[str, Any]]]:
    """Per layer rule: how often and how far it failed along the attacks."""
    rows, failing = [], []
    for col, (layer, rule) in rule_columns(list(df.columns)).items():
        r = df[col].to_numpy()
        r = r[np.isfinite(r)]
        if not r.size:
            continue
        frac = float((r > 1 + RATIO_SLACK).mean())
        rows.append({"layer": layer, "rule": rule, "max Δout/L(Δin)": float(r.max()), "fails in": f"{frac:.0%}"})
        if frac > 0:
            failing.append(f"{rule} at '{layer}' (max Δout/L(Δin) = {r.max():.3g}, in {frac:.0%} of inputs)")
    text = "; ".join(failing) if failing else "every layer rule held along every attack"
    return text, rows


def _bound_part(spec: str, df: Any, role: str, what: str) -> Part:
    ratio = df["ratio"].to_numpy()
    success = df["success"].to_numpy() > 0
    ok = success & np.isfinite(ratio)
    n, n_ok = len(ratio), int(ok.sum())
    r = ratio[ok]
    mutant = (
        ""
        if role == "main"
        else " — mutant: " + ("every rule multiplies by its gain" if what == "chain" else "σ_min(J) for ‖J‖, M = 0")
    )
    name = f"{'chained' if what == 'chain' else 'Taylor (A.2)'} bound ≤ smallest perturbation, {spec}{mutant}"
    if n_ok == 0:
        return fixed_verdict_part(
            name, "no attack succeeded", "inconclusive", f"0 of {n} attacks changed the label", method="attack"
        )
    worst = int(np.argmax(r))
    above = int((r > 1 + RATIO_SLACK).sum())
    rules_text, table = _rule_summary(df)
    q = np.quantile(r, [0.5, 0.9, 1.0])
    impossible = int((df["unattackable"].to_numpy() > 0).sum()) if "unattackable" in df else 0
    failed = f"; on {n - n_ok} the attack found no class change" if n > n_ok else ""
    if impossible:
        failed += f" ({impossible} provably none: features ≥ 0 and w_c − w_k ≥ 0 entrywise)"
    stats = f"bound/attack over {n_ok} inputs{failed}: median {q[0]:.3g}, 90% {q[1]:.3g}, max {q[2]:.3g}"
    if above:
        ev = df.iloc[np.flatnonzero(ok)[worst]]
        text = (
            f"refuted: on {above} of {n_ok} inputs the bound exceeds a verified class-changing perturbation; "
            f"worst: network {int(ev['network'])}, bound {ev['bound']:.6g} > ‖r‖ = {ev['attack_norm']:.6g} "
            f"(label {int(ev['label'])} → {int(ev['adv_label'])}); {stats}. Rules failing along the attacks: "
            f"{rules_text}"
        )
        verdict = "refuted"
    else:
        text = f"the bound stayed below every verified perturbation; {stats}. Along the attacks: {rules_text}"
        verdict = "verified"
    part = fixed_verdict_part(
        name, "per input: lower bound / smallest verified ℓ2 perturbation", verdict, text, table, method="attack"
    )
    part.histogram = {"values": [float(v) for v in r], "threshold": 1.0, "xlabel": "bound / perturbation found"}
    return part


def _parts(claim_id: str, what: str) -> Any:
    property_parts = _props.property_parts(PROPERTIES[claim_id])

    def evaluate(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        parts = list(property_parts(p, data, role))
        for i, spec in enumerate(p["architectures"]):
            parts.append(_bound_part(spec, data[f"{role}/net{i}"], role, what))
        return parts

    return evaluate


def _params(archs: list[str]) -> dict[str, Param]:
    return {
        "architectures": Param(archs, "sampled architectures 'ARCH @ SHAPE' (He init, Gaussian inputs)", arch_specs),
        "networks": Param(200, "networks (one input each) per architecture", network_count),
        "max_examples": Param(
            200, "evaluations per adversarial search (random, hypothesis, gradient)", int_range(1, 1_000_000)
        ),
    }


def fc_bound(entry: Entry) -> Claim:
    """Appendix A.2's Taylor bound, with M as stated and with Algorithm A.1's M, against minimal-norm attacks."""
    params = _params(["dense(16) tanh dense(16) tanh dense(4) @ 8", "dense(16) softplus dense(4) @ 8"])
    return make_claim(entry, params=params, make_cells=_cells(entry.id, "fc"), evaluate_parts=_parts(entry.id, "fc"))


def chain(entry: Entry) -> Claim:
    """The layer-by-layer chained bound of a whole network against minimal-norm attacks, each rule checked."""
    params = _params(
        [
            "conv(4,2,stride=2) relu conv(8,2,stride=2) relu flatten dense(3) @ 1x8x8",
            "conv(4,3,padding=circular) relu avgpool(2) conv(8,3,padding=circular) relu globalavgpool dense(3) @ 1x8x8",
            "dense(16) tanh dense(16) tanh dense(4) @ 8",
        ]
    )
    return make_claim(
        entry, params=params, make_cells=_cells(entry.id, "chain"), evaluate_parts=_parts(entry.id, "chain")
    )


@cell_kind("bound")
def bound_rows(cell: Cell, context: CellContext) -> CellOutput:
    """Peck et al.'s bounds against a minimal-norm attack, per network."""
    params = cell.params
    from theorycheck.attacks._robustness import bound_attack_rows

    rows = bound_attack_rows(
        params["arch"],
        params["input"],
        networks=cell.networks,
        seed=context.seed,
        start=cell.start,
        bound=params["bound"],
        mutant=bool(params["mutant"]),
    )
    return pd.DataFrame(rows), {"seed": context.seed, "precision": "fp64", "device": "cpu"}, {}
