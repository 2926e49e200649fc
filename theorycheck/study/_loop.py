"""The loop of a study: compute the missing cells, judge every claim on its cells, double what is inconclusive.

Both the runner (:func:`theorycheck.study.run_study`) and the planner's pilot (:mod:`theorycheck.study._plan`) run
it. Sequential looks: every claim is judged with α split over the looks its doubling streams can take
(:func:`planned_looks`), fixed before the first look.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims._kinds import get_cell_kind
from theorycheck.claims._levels import prediction_levels
from theorycheck.claims.framework import Cell, CellData, ClaimResult
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import resolve_device
from theorycheck.stats import looks
from theorycheck.study._execute import cell_seed
from theorycheck.study._executor import Executor, Progress
from theorycheck.study._guarantee import guarantee
from theorycheck.study._spec import StudySpec
from theorycheck.study._store import ResultStore

__all__ = ["compute", "evaluate_claims", "non_finite", "planned_looks"]


def planned_looks(networks: int, max_networks: int) -> int:
    """Looks of one cell stream under the runner's doubling rule (:func:`_double`): ``n, 2n, 4n, …`` networks
    while the next range fits in ``max_networks``. Fixed before the first look, so α can be split over them."""
    count, total, last = 1, networks, networks
    while total + last <= max_networks:
        last = total
        total += last
        count += 1
    return count


def _claim_looks(spec: StudySpec, cid: str, streams: dict[str, list[Cell]]) -> tuple[int, int]:
    """(planned looks, looks taken so far) of a claim: the most over its doubling cell streams (1 without)."""
    bases = [
        c
        for c in spec.claim(cid).cells(spec.claims[cid])
        if c.name.startswith("main") and get_cell_kind(c.kind).doubling
    ]
    if not bases:
        return 1, 1
    planned = max(planned_looks(c.networks, spec.max_networks) for c in bases)
    return planned, max(len(streams[c.stream]) for c in bases)


def non_finite(frame: pd.DataFrame, cell: Cell, seed: int) -> str | None:
    """What is wrong when per-network rows hold a NaN or an infinity (None when every value is finite): the
    first network, its index and its stream's seed, so that it can be re-run alone, and how many others."""
    numeric = frame.select_dtypes("number")
    bad = ~np.isfinite(numeric.to_numpy(dtype=np.float64))
    if not bad.any():
        return None
    rows, cols = np.nonzero(bad)
    network = int(frame["network"].iloc[rows[0]]) if "network" in frame else int(rows[0])
    column = numeric.columns[cols[0]]
    columns = sorted({str(numeric.columns[c]) for c in cols})
    return (
        f"cell {cell.name} (stream seed {seed}): network {network} gave {column} = {numeric.iloc[rows[0], cols[0]]}; "
        f"{len(set(rows))} network(s) have non-finite values, in {', '.join(columns)}. A non-finite measurement "
        "is an error, never dropped: the network overflowed or the statistic is undefined there"
    )


def evaluate_claims(spec: StudySpec, store: ResultStore, streams: dict[str, list[Cell]]) -> dict[str, ClaimResult]:
    results = {}
    for cid, params in spec.claims.items():
        claim = spec.claim(cid)
        planned, taken = _claim_looks(spec, cid, streams)
        frames, maps = {}, {}
        problems: list[str] = []
        for base in claim.cells(params):
            parts = [store.read_rows(c) for c in streams[base.stream]]
            frames[base.name] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if get_cell_kind(base.kind).per_network:
                problem = non_finite(frames[base.name], base, cell_seed(spec.seed, base))
                if problem:
                    problems.append(problem)
            if base.params.get("maps"):
                sums: dict[str, Any] = {}
                for c in streams[base.stream]:
                    for k, v in store.read_maps(c).items():
                        sums[k] = sums[k] + v if k in sums else v
                maps[base.name] = sums
        try:
            if problems:
                result = ClaimResult(cid, "error", [], [], 0, [], problems)
            else:
                with looks(planned):
                    result = claim.evaluate(params, CellData(frames, maps))
        except Exception as exc:  # a bug in a check must not cost the other claims their verdicts
            result = ClaimResult(cid, "error", [], [], 0, [], [f"the evaluation failed: {type(exc).__name__}: {exc}"])
        result.sequential = {
            "design": "Bonferroni α-spending over the planned looks (α/J per look)",
            "planned_looks": planned,
            "looks": taken,
            "alpha_per_look": 0.05 / planned,
            "alpha_spent": 0.05 * taken / planned,
        }
        result.guarantee = guarantee(result, claim.cells(params))
        try:
            result.levels = prediction_levels(claim, params, frames)
        except Exception as exc:  # the side table must not cost the claim its verdict
            result.notes.append(f"the (H)/kernel/measured table failed: {type(exc).__name__}: {exc}")
        result.evidence = sorted(
            str(store.rows_path(c).relative_to(store.root))
            for base in claim.cells(params)
            for c in streams[base.stream]
        )
        results[cid] = result
    return results


def double_inconclusive(spec: StudySpec, streams: dict[str, list[Cell]], results: dict[str, ClaimResult]) -> bool:
    """Add a range to every stream of an inconclusive claim (or control), within the budget."""
    added = False
    for cid, res in results.items():
        roles = set()
        if res.verdict == "inconclusive":
            roles.add("main")
        if res.control_verdict == "inconclusive":
            roles.add("control")
        for base in spec.claim(cid).cells(spec.claims[cid]):
            if not get_cell_kind(base.kind).doubling or base.name.split("/")[0] not in roles:
                continue
            ranges = streams[base.stream]
            total = sum(c.networks for c in ranges)
            if total + ranges[-1].networks <= spec.max_networks:
                last = ranges[-1]
                ranges.append(last.after(total))
                added = True
    return added


def compute(
    spec: StudySpec, store: ResultStore, executor: Executor, progress: Progress | None
) -> tuple[dict[str, list[Cell]], dict[str, ClaimResult]]:
    """Compute every missing cell, judge every claim, and double the inconclusive ones' streams within the
    study's budget until none can double: the cell streams (ranges in order) and the claims' results."""
    device = str(resolve_device(spec.device))
    streams: dict[str, list[Cell]] = {}
    for cid, params in spec.claims.items():
        for cell in spec.claim(cid).cells(params):
            known = streams.get(cell.stream)
            if known is not None and (known[0].params != cell.params or known[0].networks != cell.networks):
                raise TheorycheckError(f"claims disagree on the parameters of the shared cell {cell.stream}")
            streams.setdefault(cell.stream, [cell])
    while True:
        keys = {
            c.id: store.cell_key(
                c, study_seed=spec.seed, device=device, precision=spec.precision, conv_kernel=spec.conv_kernel
            )
            for ranges in streams.values()
            for c in ranges
        }
        pending = [c for ranges in streams.values() for c in ranges if not store.is_complete(c, keys[c.id])]
        if pending:
            common = (str(store.root), spec.seed, device, spec.precision, spec.conv_kernel)
            executor.run(pending, keys, common, progress)
        results = evaluate_claims(spec, store, streams)
        if not double_inconclusive(spec, streams, results):
            return streams, results
