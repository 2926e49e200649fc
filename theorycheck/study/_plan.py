"""Budgets sized by power: a pilot per claim, then the networks each needs for a decisive verdict.

For a part judged against its margins with deviation δ (the pilot's estimate) and standard error s(n) = s₁·√(n₁/n)
(the pilot's, scaled), a verdict is decisive with probability 1 − β when the interval, of half-width z_{α/J}·s(n),
clears the boundary it must clear with room z_β·s(n) to spare (a one-sided normal power calculation):

* |δ| < margin (equivalence, *verified*): s(n) ≤ (margin − |δ|) / (z_{α/J} + z_β);
* |δ| > band (*refuted*): s(n) ≤ (|δ| − band) / (z_{α/J} + z_β);
* margin ≤ |δ| ≤ band (*approximate*): s(n) ≤ min(|δ|, band − |δ|) / (z_{α/J} + z_β).

So n = n₁·(s₁ / s(n))², with α/J the share of α each of the J planned looks spends (α-spending, see
:mod:`theorycheck.stats._verdict`) and β = 0.05. A claim needs the most any of its parts needs. The plan rests on the
pilot's point estimate of δ: a deviation near a margin or band needs a budget that grows without bound, and the plan
says so instead of promising a verdict. Time: the pilot's seconds per network, scaled.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scipy import stats as sps

from theorycheck.claims._params import MAX_NETWORKS
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import resolve_device
from theorycheck.study._executor import Executor, Progress
from theorycheck.study._loop import compute, planned_looks
from theorycheck.study._spec import StudySpec
from theorycheck.study._store import ResultStore

__all__ = ["PILOT", "POWER", "PlanRow", "needed_networks", "plan_study", "sized"]

#: networks per cell in the pilot
PILOT = 200
#: probability of a decisive verdict the plan aims for
POWER = 0.95
ALPHA = 0.05
_TAIL = re.compile(r"at least (\d+) networks would be needed")


@dataclass
class PlanRow:
    """The plan of one claim."""

    claim: str
    pilot_networks: int
    pilot_verdict: str
    networks: int | None
    seconds: float | None
    configured: int | None
    reason: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    #: whether the plan promises a decisive verdict at the study's power within its budget
    promised: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def needed_networks(
    decision: dict[str, Any], pilot: int, *, looks: int = 1, power: float = POWER
) -> tuple[float | None, str]:
    """Networks for a decisive verdict on one part, from its pilot decision (``Decision.to_dict()``)."""
    dev, ci, margin, band, level = (decision.get(k) for k in ("deviation", "deviation_ci", "margin", "band", "level"))
    tail = _TAIL.search(decision.get("explanation") or "")
    if decision.get("verdict") == "inconclusive" and "heavy tail" in (decision.get("explanation") or ""):
        if tail is None:
            return None, "a heavy tail: the pilot cannot support an interval; run a larger pilot"
        floor = float(tail.group(1))
        inner, why = needed_networks({**decision, "verdict": "", "explanation": ""}, pilot, looks=looks, power=power)
        return (max(floor, inner) if inner is not None else None), f"heavy tail (needs {floor:.0f}); {why}"
    if dev is None or ci is None or margin is None or band is None or level is None:
        return None, "no estimate against margins (a fact decided exactly, or not covered)"
    z_pilot = float(sps.norm.ppf(0.5 + level / 2))
    s1 = (ci[1] - ci[0]) / (2 * z_pilot)
    if s1 <= 0:
        return float(pilot), "no spread: the pilot decides"
    z = float(sps.norm.ppf(1 - ALPHA / (2 * looks))) + float(sps.norm.ppf(power))
    a = abs(dev)
    if a < margin:
        room, what = margin - a, "verified"
    elif a > band:
        room, what = a - band, "refuted"
    else:
        room, what = min(a, band - a), "approximate"
    n = math.inf if room <= 0 else pilot * (s1 * z / room) ** 2
    if n > MAX_NETWORKS:
        return None, (
            f"the pilot's deviation {dev:+.4g} sits on a boundary (margin ±{margin:g}, band ±{band:g}): more than "
            f"{MAX_NETWORKS:.0e} networks would be needed for a decisive verdict"
        )
    return n, f"{what} (deviation {dev:+.3g}, margin ±{margin:g}, band ±{band:g})"


def _claim_seconds(spec: StudySpec, store: ResultStore, cid: str) -> float:
    return sum(float(store.read_meta(c).get("seconds", 0.0)) for c in spec.claim(cid).cells(spec.claims[cid]))


def plan_study(
    spec: StudySpec, *, pilot: int = PILOT, out: str | Path | None = None, progress: Progress | None = None
) -> list[PlanRow]:
    """Run a pilot of ``pilot`` networks per cell for every claim with a network budget, and plan each claim for a
    decisive verdict with probability ``spec.power``."""
    if not isinstance(pilot, int) or pilot < 10:
        raise TheorycheckError(f"--pilot must be an integer of at least 10, got {pilot!r}")
    budgets = {cid: p for cid, p in spec.claims.items() if isinstance(p.get("networks"), int)}
    sizes = {cid: min(pilot, p["networks"]) for cid, p in budgets.items()}  # a budget below the pilot is its own
    params = {cid: {**p, "networks": sizes[cid]} for cid, p in budgets.items()}
    pilot_spec = replace(spec, claims=params, max_networks=0, registry={c: spec.claim(c) for c in params}, auto=())
    with tempfile.TemporaryDirectory(prefix="theorycheck-pilot-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        store = ResultStore(folder)
        store.root.mkdir(parents=True, exist_ok=True)
        store.clean()
        executor = Executor(None, None, None, str(resolve_device(spec.device)))
        _, results = compute(pilot_spec, store, executor, progress)
        rows = []
        for cid in spec.claims:
            configured = spec.claims[cid].get("networks")
            if cid not in budgets:
                rows.append(PlanRow(cid, 0, "-", None, None, None, "no network budget (exact, or searched)"))
                continue
            seconds = _claim_seconds(pilot_spec, store, cid)
            judged = results[cid].to_dict(pilot_spec.claim(cid))
            rows.append(_plan_claim(spec, cid, judged, sizes[cid], seconds, configured))
    return rows


def _plan_claim(
    spec: StudySpec, cid: str, result: dict[str, Any], pilot: int, seconds: float, configured: Any
) -> PlanRow:
    needs: list[tuple[float | None, str, str]] = []
    looks = 1
    for _ in range(2):  # the looks depend on the budget, the budget on the looks' α: one refinement
        needs = [
            (*needed_networks(p["decision"], pilot, looks=looks, power=spec.power), p["name"])
            for p in result["parts"]
            if p.get("counts", True)
        ]
        finite = [n for n, _, _ in needs if n is not None]
        if not finite or not spec.max_networks:
            break
        looks = planned_looks(max(pilot, math.ceil(max(finite))), spec.max_networks)
    parts: list[dict[str, Any]] = [
        {"part": name, "networks": None if n is None else math.ceil(n), "why": why} for n, why, name in needs
    ]
    blocked = [str(p["why"]) for p in parts if p["networks"] is None and "boundary" in p["why"]]
    counts = [int(p["networks"]) for p in parts if p["networks"] is not None]
    if blocked:
        return PlanRow(cid, pilot, result["verdict"], None, None, configured, blocked[0], parts)
    if not counts:
        return PlanRow(cid, pilot, result["verdict"], pilot, seconds, configured, "the pilot decides", parts)
    n = max(pilot, 100 * math.ceil(max(counts) / 100))
    reason = f"largest need: {max(parts, key=lambda p: p['networks'] or 0)['part']}"
    within = not spec.max_networks or n <= spec.max_networks
    if not within:
        reason += f"; beyond max_networks = {spec.max_networks}"
    # a part the plan cannot size, or sizes from a heavy-tailed pilot (whose deviation is no estimate to plan on:
    # sg.lemma9's pilot said +0.11 where 31,000 networks said +0.025); parts decided exactly need no networks
    undecided = any(
        str(p["why"]).startswith("heavy tail")
        or (p["networks"] is None and not str(p["why"]).startswith("no estimate"))
        for p in parts
    )
    return PlanRow(
        cid, pilot, result["verdict"], n, seconds * n / pilot, configured, reason, parts, within and not undecided
    )


def sized(spec: StudySpec, pilot_dir: Path, progress: Progress | None) -> tuple[StudySpec, list[dict[str, Any]]]:
    """``networks = "auto"``: each such claim's budget from a pilot (kept in ``OUT/pilot``, so a resumed run plans
    the same), capped by ``max_networks``; a claim the pilot cannot plan keeps its default and says why."""
    rows = plan_study(replace(spec, claims={c: spec.claims[c] for c in spec.auto}), out=pilot_dir, progress=progress)
    claims = dict(spec.claims)
    for row in rows:
        n = row.networks if row.networks is not None else claims[row.claim]["networks"]
        if spec.max_networks:
            n = min(n, spec.max_networks)
        claims[row.claim] = {**claims[row.claim], "networks": int(n)}
    # claims that share cell streams (sg.thm6 and sg.thm6_proof) must share a budget: the larger one
    streams = {cid: {c.stream for c in spec.claim(cid).cells(claims[cid])} for cid in spec.auto}
    changed = True
    while changed:  # until every group of claims joined by shared streams has one budget
        changed = False
        for a in spec.auto:
            for b in spec.auto:
                if streams[a] & streams[b] and claims[a]["networks"] < claims[b]["networks"]:
                    claims[a] = {**claims[a], "networks": claims[b]["networks"]}
                    changed = True
    return replace(spec, claims=claims, auto=()), [r.to_dict() for r in rows]
