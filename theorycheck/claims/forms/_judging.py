"""Judging a user claim and its negative control: one function per form, on an *arm* (the cells it reads).

The claim's parts are judged on the main arm. Its negative control (:mod:`~theorycheck.claims.forms._controls`) is
judged on the control family's arm, or on both arms of changed networks (the one moved away from the claim's
measured deviation counts), or, where the effect of a change is not known, on the main arm against a moved
prediction. Every control is judged against the claim's own prediction. The grid table (one row per point) rides
on the first main part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from theorycheck.claims._base import CellData, Claim, Part
from theorycheck.claims._params import Param, network_count
from theorycheck.claims._parts import Sample, not_covered, ratio_parts, scaling_part, value_parts
from theorycheck.claims.forms._assumptions import check_assumptions
from theorycheck.claims.forms._cells import claim_cells, control_prefix, network_control
from theorycheck.claims.forms._claim import UserClaim, power_text
from theorycheck.claims.forms._controls import PREDICTION, shifted
from theorycheck.claims.forms._family import Family
from theorycheck.claims.forms._predictions import (
    claimed_slope,
    point_prediction,
    scale_at,
    skewness_at,
    theory_at,
    theory_slope,
)
from theorycheck.claims.forms._statistics import gradients

__all__ = ["JUDGES", "Arm", "as_claim", "judge"]


@dataclass(frozen=True)
class Arm:
    """Where a judgement reads: the cells' name prefix and the family whose grid points they are, and ``shifted``
    for the fallback control (the claim's data against a moved prediction); a ratio's baseline is always the
    claim's own."""

    prefix: str
    family: Family
    shifted: bool = False


def _describe(claim: UserClaim) -> str:
    stat = claim.statistic.name if claim.scale is None else f"{claim.statistic.name}·({claim.scale.text})"
    return f"{stat} of the {claim.target} gradient ({claim.statistic.description})"


def _samples(
    claim: UserClaim, data: CellData, prefix: str, family: Family, claimed: list[tuple[float | None, str]] | None = None
) -> list[Sample]:
    """Per-network values of every grid point of ``family`` read from cells ``prefix + label``; ``claimed`` gives
    the prediction (and its reason) at each point."""
    out = []
    for i, p in enumerate(family.points()):
        values = claim.statistic.values(
            data[prefix + p.label], gradients(claim.target, p.outputs), p, prefix=claim.column_prefix
        )
        values = np.asarray(values * scale_at(claim, p), dtype=np.float64)
        pred, why = claimed[i] if claimed is not None else (None, "")
        row: dict[str, Any] = {**p.variables, "d": p.d}
        if claim.step is not None:  # a trained claim's checkpoint: the report's curves against the step
            row.update(step=claim.step, series=p.label, quantity=claim.summary())
        out.append(Sample(values, claim.against(p.scope), pred, skewness_at(claim, p), why, p.label, row))
    return out


def _shift(claim: UserClaim, arm: Arm) -> Any:
    """The fallback control's move of the prediction (None on every other arm)."""
    return (lambda predicted, measured: shifted(predicted, claim.margins, measured)) if arm.shifted else None


def _judge_in_training_time(claim: UserClaim, data: CellData, arm: Arm) -> list[Part]:
    """``E[statistic] ∝ against(step)^slope`` at each grid point, over the checkpoints after step 0: the same
    networks at every step, so the slope's SE is clustered by network."""
    from theorycheck.claims.forms._training import fitted_steps

    assert claim.training is not None and isinstance(claim.slope, float | int)
    steps = fitted_steps(claim.training)
    parts = []
    for p in arm.family.points():
        frame = data[arm.prefix + p.label]
        samples = []
        for step in steps:
            values = claim.statistic.values(frame, gradients(claim.target, p.outputs), p, prefix=f"s{step}/")
            values = np.asarray(values * scale_at(claim, p), dtype=np.float64)
            row: dict[str, Any] = {**p.variables, "d": p.d, "step": step, "series": p.label}
            row["quantity"] = claim.summary()
            x = claim.against({**p.scope, "step": step})
            samples.append(Sample(values, x, None, None, "", f"{p.label}, step {step}", row))
        title = claim.title or f"{claim.statistic.name} ∝ {power_text(claim.against.text, claim.slope)}"
        parts.append(
            scaling_part(
                f"{title} ({p.label})",
                f"slope of E[{_describe(claim)}] against {claim.against.text} over the checkpoints "
                f"{', '.join(map(str, steps))} (the same networks: SE clustered by network)",
                samples,
                float(claim.slope),
                claim.margins,
                shift=_shift(claim, arm),
                clustered=True,
            )
        )
    return parts


def judge_scaling(claim: UserClaim, data: CellData, arm: Arm) -> list[Part]:
    """``E[statistic] ∝ against^slope``: the GLM slope over the grid against the claimed exponent (for a law in
    training time, ``against`` reading ``step``: over the checkpoints at each grid point)."""
    if claim.training is not None and "step" in claim.against.names:
        return _judge_in_training_time(claim, data, arm)
    samples = _samples(claim, data, arm.prefix, arm.family)
    slope, why = claimed_slope(claim)
    name = claim.title or f"{claim.statistic.name} ∝ {power_text(claim.against.text, claim.slope)}"
    desc = f"slope of E[{_describe(claim)}] against {claim.against.text} over the grid"
    if slope is not None and claim.slope == "H":
        desc += f"; {why}"
    return [scaling_part(name, desc, samples, slope, claim.margins, why=why, shift=_shift(claim, arm))]


def judge_value(claim: UserClaim, data: CellData, arm: Arm) -> list[Part]:
    """``E[statistic] = predicted`` at every grid point: the mean over networks against the claim's value there."""
    claimed = [point_prediction(claim, p, None) for p in claim.family.points()]
    samples = _samples(claim, data, arm.prefix, arm.family, claimed)
    title = claim.title or f"E[{claim.statistic.name}]"
    return value_parts(
        lambda s: f"{title} = {s.predicted:.6g} ({s.label})" if s.predicted is not None else f"{title} ({s.label})",
        f"mean over networks of {_describe(claim)}",
        samples,
        claim.margins,
        shift=_shift(claim, arm),
    )


def judge_ratio(claim: UserClaim, data: CellData, arm: Arm) -> list[Part]:
    """``E[arch] / E[baseline] = predicted`` per point, or ``∝ against^slope`` over the grid."""
    assert claim.baseline is not None
    treated = _samples(claim, data, arm.prefix, arm.family)
    baseline = _samples(claim, data, claim.baseline_prefix, claim.baseline)
    desc = f"E[{_describe(claim)}] of the {claim.arms[0]} arm over the {claim.arms[1]} arm's"
    if claim.slope is not None:
        slope, why = claimed_slope(claim)
        name = claim.title or f"ratio ∝ {power_text(claim.against.text, claim.slope)}"
        return ratio_parts(
            lambda s: name,
            desc,
            treated,
            baseline,
            claim.margins,
            slope=slope,
            slope_name=name,
            why=why,
            shift=_shift(claim, arm),
        )
    claimed = [
        point_prediction(claim, p, b) for p, b in zip(claim.family.points(), claim.baseline.points(), strict=True)
    ]
    treated = [replace(s, predicted=v, why=why) for s, (v, why) in zip(treated, claimed, strict=True)]
    return ratio_parts(
        lambda s: f"ratio = {s.predicted:.6g} ({s.label})" if s.predicted is not None else f"ratio ({s.label})",
        desc,
        treated,
        baseline,
        claim.margins,
        shift=_shift(claim, arm),
    )


JUDGES: dict[str, Callable[[UserClaim, CellData, Arm], list[Part]]] = {
    "scaling": judge_scaling,
    "value": judge_value,
    "ratio": judge_ratio,
}


def _control(claim: UserClaim, data: CellData, main: list[Part]) -> list[Part]:
    """The negative control's parts, each described by what it is and what it can catch."""
    judge_form = JUDGES[claim.form]
    treated = claim.treated
    if claim.control is not None:
        parts = judge_form(claim, data, Arm(f"control/{treated}", claim.control))
        for part in parts:
            part.description = f"control: the claim's own control family ({claim.control.arch or claim.control.module})"
        return parts
    changed, why = network_control(claim)
    if changed is None:
        parts = judge_form(claim, data, Arm(f"main/{treated}", claim.family, shifted=True))
        for part in parts:
            part.description = PREDICTION.format(why=why)
        return parts
    up = judge_form(claim, data, Arm(control_prefix(claim, "up"), claim.family))
    down = judge_form(claim, data, Arm(control_prefix(claim, "down"), claim.family))
    out: list[Part] = []
    for claimed, moved_up, moved_down in zip(main, up, down, strict=True):
        deviation = claimed.decision.deviation
        away, toward, direction = (
            (moved_up, moved_down, "up") if (deviation or 0.0) >= 0 else (moved_down, moved_up, "down")
        )
        away.description = changed.describe(direction)
        toward.description = changed.describe("down" if direction == "up" else "up")
        toward.name += " (moved toward the measurement: shown, not counted)"
        toward.counts = False
        out += [away, toward]
    return out


def _outside_theorem(claim: UserClaim, parts: list[Part], violations: list[str], data: CellData) -> list[Part]:
    """The theorem does not apply: say which assumption fails and where, next to what was measured and the (H)
    engine's own prediction for this family (shown, not counted)."""
    shown = "; ".join(violations[:3]) + (f"; and {len(violations) - 3} more" if len(violations) > 3 else "")
    measured = parts[0].decision
    text = f"the theorem's assumptions fail: {shown}"
    if measured.estimate is not None:
        text += f". Measured {measured.estimate:.4g}"
        if measured.ci is not None:
            text += f" [{measured.ci[0]:.4g}, {measured.ci[1]:.4g}]"
    engine: list[Part] = []
    if claim.form == "scaling" and claim.statistic.moment is not None and claim.target != "loss":
        slope, why = theory_slope(claim)
        if slope is not None:
            text += f"; the (H) engine predicts slope {slope:.4g} for this family"
            engine = judge_scaling(replace(claim, slope="H", assumptions=()), data, Arm("main/", claim.family))
            for p in engine:
                p.name = f"(H) engine on this family: {p.name}"
                p.counts = False
        else:
            text += f"; the (H) engine: {why}"
    head = parts[0]
    verdict_part = not_covered(head.name, head.description, text, head.table)
    verdict_part.fit, verdict_part.convergence = head.fit, head.convergence
    return [verdict_part, *engine]


def _grid(claim: UserClaim, parts: list[Part]) -> list[dict[str, Any]]:
    """One row per grid point of the main arm (variables, d, estimate, CI, prediction)."""
    rows = []
    for part in parts:
        if part.counts:
            rows += [{k: v for k, v in r.items() if k not in ("level", "mean", "ratio")} for r in part.table]
    if claim.form == "scaling":  # the (H) engine's value per point, where it covers the statistic
        for row, point in zip(rows, claim.family.points(), strict=False):
            row["predicted"] = theory_at(claim, "H", point)[0] if claim.target != "loss" else None
    return rows


def judge(claim: UserClaim, data: CellData) -> tuple[list[Part], list[Part]]:
    """The claim's parts and its negative control's parts (the grid table on the first claim part)."""
    main = JUDGES[claim.form](claim, data, Arm(f"main/{claim.treated}", claim.family))
    control = _control(claim, data, main)
    violations = check_assumptions(claim.assumptions, claim.family.points()) if claim.assumptions else []
    if violations:
        main = _outside_theorem(claim, main, violations, data)
    if main:
        main[0].grid = _grid(claim, main)
    return main, control


def as_claim(claim: UserClaim) -> Claim:
    """``claim`` as a :class:`~theorycheck.claims.Claim` for studies, reports and the CLI."""
    params = {"networks": Param(claim.networks, "networks per grid point and arm", network_count)}
    return Claim(
        claim.id,
        claim.source,
        claim.form,
        claim.statement or claim.summary(),
        claim.summary(),
        params=params,
        make_cells=lambda p: claim_cells(claim, p["networks"]),
        evaluate_both=lambda p, data: judge(claim, data),
        definition=claim.definition,
    )
