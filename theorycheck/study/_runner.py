"""Running a study: cells → store → claims → verdicts, resumable, in-process or on Dask."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from theorycheck._paths import check_output_dir
from theorycheck.claims import Cell, CellData, ClaimResult
from theorycheck.claims._levels import prediction_levels
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import resolve_device
from theorycheck.sampler._provenance import provenance
from theorycheck.sampler._triton_conv import ensure_triton
from theorycheck.stats import looks
from theorycheck.study._execute import cell_seed, execute_cell
from theorycheck.study._spec import StudySpec, load_study
from theorycheck.study._store import ResultStore

__all__ = ["StudyResult", "load_results", "run_study"]

Progress = Callable[[str, int, int], None]


@dataclass
class StudyResult:
    """Verdicts and full results of a study, read from its output directory."""

    out: Path
    study: dict[str, Any]
    verdicts: list[dict[str, Any]]
    results: dict[str, dict[str, Any]]

    def to_frame(self) -> pd.DataFrame:
        """The verdict table, one row per claim."""
        cols = ["claim", "verdict", "predicted", "measured", "ci", "rel_dev", "n_networks", "negative_control"]
        return pd.DataFrame([{k: v.get(k) for k in cols} for v in self.verdicts])

    def rows(self, evidence: str) -> pd.DataFrame:
        """Per-network rows of one evidence path (as listed in a verdict's ``evidence``)."""
        return pd.read_parquet(self.out / evidence)

    def verdict(self, claim: str) -> str:
        return next(v["verdict"] for v in self.verdicts if v["claim"] == claim)


def _run_cell(
    cell: Cell,
    root: str,
    key: str,
    study_seed: int,
    device: str,
    precision: str,
    conv_kernel: str,
    threads: int | None = None,
) -> tuple[str, float]:
    """Compute one cell and store it (runs in-process or on a Dask worker with ``threads`` torch threads)."""
    if threads is not None:  # on a Dask worker
        import warnings

        import torch
        from hypothesis.errors import HypothesisDeprecationWarning

        torch.set_num_threads(threads)
        # The worker's own threads touch the global `random` state while hypothesis watches it during a draw;
        # the property strategies do not use `random` (in-process runs never warn, verdicts are identical).
        warnings.filterwarnings(
            "ignore", message="Do not use the `random` module inside strategies", category=HypothesisDeprecationWarning
        )
    store = ResultStore(root)
    store.discard(cell)
    t0 = time.perf_counter()
    rows, prov, maps = execute_cell(
        cell, study_seed=study_seed, device=device, precision=precision, conv_kernel=conv_kernel
    )
    seconds = time.perf_counter() - t0
    meta = {
        "seed": cell_seed(study_seed, cell),
        "study_seed": study_seed,
        "seconds": seconds,
        "process": os.getpid(),
        "provenance": prov,
    }
    store.write_cell(cell, key, rows, meta, maps)
    return cell.id, seconds


_SCHEDULER = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?[A-Za-z0-9._\-\[\]:]+:\d{1,5}/?|inproc://[\w./:\-]+")


def check_scheduler_address(address: str) -> None:
    """A Dask scheduler address, ``tcp://HOST:PORT`` (or ``tls://``, ``ucx://``, ``HOST:PORT``), checked before any
    work. Only point theorycheck at a scheduler you trust: Dask unpickles what it receives."""
    if not _SCHEDULER.fullmatch(address.strip()):
        raise TheorycheckError(
            f"--scheduler: {address[:80]!r} is not a Dask scheduler address; write tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:8786"
        )


#: cells of these kinds use the study's device; every other kind runs on the CPU
DEVICE_KINDS = frozenset({"sample", "module"})


class _Executor:
    """In-process, on a local Dask cluster (``workers``) or on an existing one (``scheduler``).

    With a local cluster and a CUDA study, the device cells run in this process, one after the other (one
    process owns the card, and chunks are sized to its memory), while the CPU cells (property searches,
    attacks, path enumeration, graph cells) run on the worker processes at the same time.
    """

    def __init__(self, workers: int | None, scheduler: str | None, device_cells_here: bool | None, device: str) -> None:
        self.client: Any = None
        self.cluster: Any = None
        self.threads: int | None = None
        self.device_cells_here = False
        if scheduler or workers:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:  # pragma: no cover - dask is a dependency
                raise TheorycheckError("dask.distributed is needed for --workers/--scheduler") from None
            if scheduler:
                try:
                    self.client = Client(scheduler, timeout=30)
                except OSError as exc:
                    raise TheorycheckError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
            else:
                self.cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
                self.client = Client(self.cluster)
                self.threads = max(1, (os.cpu_count() or 1) // (workers or 1))
                self.device_cells_here = device.startswith("cuda") if device_cells_here is None else device_cells_here

    def run(self, cells: list[Cell], keys: dict[str, str], common: tuple[Any, ...], progress: Progress | None) -> None:
        """Compute and store ``cells``; ``common`` = (root, study seed, device, precision, conv kernel)."""
        root, *rest = common
        total = len(cells)
        if self.client is None:
            for i, cell in enumerate(cells):
                if progress:
                    progress(cell.id, i, total)
                _run_cell(cell, root, keys[cell.id], *rest)
            if progress:
                progress("", total, total)
            return
        from dask.distributed import as_completed

        here: list[Cell] = []
        remote: list[Cell] = []
        for cell in cells:
            (here if self.device_cells_here and cell.kind in DEVICE_KINDS else remote).append(cell)
        futures = [
            self.client.submit(_run_cell, cell, root, keys[cell.id], *rest, self.threads, pure=False) for cell in remote
        ]
        done = 0
        pending = as_completed(futures)
        for cell in here:
            _run_cell(cell, root, keys[cell.id], *rest)
            done += 1
            if progress:
                progress(cell.id, done, total)
            while pending.has_ready():  # CPU cells that finished meanwhile
                cell_id, _ = next(pending).result()
                done += 1
                if progress:
                    progress(cell_id, done, total)
        for fut in pending:
            cell_id, _ = fut.result()
            done += 1
            if progress:
                progress(cell_id, done, total)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


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
    bases = [c for c in spec.claim(cid).cells(spec.claims[cid]) if c.kind in DOUBLING_KINDS]
    if not bases:
        return 1, 1
    planned = max(planned_looks(c.networks, spec.max_networks) for c in bases)
    return planned, max(len(streams[c.stream]) for c in bases)


#: cells whose streams the runner doubles when their claim (or its control) is inconclusive
DOUBLING_KINDS = ("sample", "paths", "module")


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


#: cells whose rows are per-network measurements, which must be finite
PER_NETWORK_KINDS = frozenset({"sample", "module"})


def _evaluate(spec: StudySpec, store: ResultStore, streams: dict[str, list[Cell]]) -> dict[str, ClaimResult]:
    results = {}
    for cid, params in spec.claims.items():
        claim = spec.claim(cid)
        planned, taken = _claim_looks(spec, cid, streams)
        frames, maps = {}, {}
        problems: list[str] = []
        for base in claim.cells(params):
            parts = [store.read_rows(c) for c in streams[base.stream]]
            frames[base.name] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if base.kind in PER_NETWORK_KINDS:
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


def _double(spec: StudySpec, streams: dict[str, list[Cell]], results: dict[str, ClaimResult]) -> bool:
    """Add a range to every stream of an inconclusive claim (or control), within the budget."""
    added = False
    for cid, res in results.items():
        roles = set()
        if res.verdict == "inconclusive":
            roles.add("main")
        if res.control_verdict == "inconclusive":
            roles.add("control")
        for base in spec.claim(cid).cells(spec.claims[cid]):
            if base.kind not in DOUBLING_KINDS or base.name.split("/")[0] not in roles:
                continue
            ranges = streams[base.stream]
            total = sum(c.networks for c in ranges)
            if total + ranges[-1].networks <= spec.max_networks:
                last = ranges[-1]
                ranges.append(last.after(total))
                added = True
    return added


def run_study(
    study: StudySpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    device_cells_in_process: bool | None = None,
) -> StudyResult:
    """Run (or resume) a study into ``out``; complete cells are reused, partial ones recomputed.

    Args:
        study: a :class:`StudySpec` or the path of a TOML study file.
        workers: run cells on a local Dask cluster with this many worker processes.
        scheduler: address of an existing Dask scheduler (``tcp://HOST:PORT``); the
            output directory must be on a filesystem the workers share.
        progress: called with ``(cell id, index, total)`` before/after each cell.
        device_cells_in_process: with ``workers``, compute the device (Monte Carlo) cells in this process while
            the workers compute the CPU cells; default: when the study's device is CUDA.
    """
    spec = study if isinstance(study, StudySpec) else load_study(study)
    if workers is not None and workers <= 0:
        raise TheorycheckError(f"--workers must be a positive integer, got {workers}")
    device = str(resolve_device(spec.device))
    if spec.conv_kernel != "grouped":
        ensure_triton(resolve_device(spec.device), spec.precision)
    store = ResultStore(check_output_dir(out, "output directory"))
    if scheduler is not None:
        check_scheduler_address(scheduler)
    store.root.mkdir(parents=True, exist_ok=True)
    store.clean()
    t0 = time.perf_counter()
    plan: list[dict[str, Any]] = []
    if spec.auto:
        from theorycheck.study._plan import sized

        spec, plan = sized(spec, store.root / "pilot", progress)
    prov = provenance(resolve_device(spec.device), spec.precision, spec.seed)
    streams: dict[str, list[Cell]] = {}
    for cid, params in spec.claims.items():
        for cell in spec.claim(cid).cells(params):
            known = streams.get(cell.stream)
            if known is not None and (known[0].params != cell.params or known[0].networks != cell.networks):
                raise TheorycheckError(f"claims disagree on the parameters of the shared cell {cell.stream}")
            streams.setdefault(cell.stream, [cell])
    executor = _Executor(workers, scheduler, device_cells_in_process, device)
    try:
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
            results = _evaluate(spec, store, streams)
            if not _double(spec, streams, results):
                break
    finally:
        executor.close()
    elapsed = time.perf_counter() - t0
    compute = sum(store.read_meta(c).get("seconds", 0.0) for ranges in streams.values() for c in ranges)
    verdicts = [
        {**results[cid].to_dict(spec.claim(cid)), "allow_partial": cid in spec.allow_partial} for cid in spec.claims
    ]
    compact_keys = (
        "claim",
        "source",
        "kind",
        "verdict",
        "judged",
        "parts_counted",
        "partial",
        "scope",
        "allow_partial",
        "not_covered",
        "counterexample",
        "predicted",
        "measured",
        "ci",
        "rel_dev",
        "deviation_kind",
        "headline_part",
        "n_networks",
        "negative_control",
        "control_unable_to_fail",
        "evidence",
    )
    store.write_json(
        "study.json",
        {
            **spec.to_dict(),
            "spec_hash": spec.spec_hash(),
            "source": spec.source,
            "provenance": {**prov, "runtime_seconds": elapsed, "compute_seconds": compute},
            "plan": plan,
        },
    )
    store.write_json("results.json", {v["claim"]: v for v in verdicts})
    store.write_json("verdicts.json", [{k: v[k] for k in compact_keys} for v in verdicts])
    return load_results(store.root)


def load_results(out: str | Path) -> StudyResult:
    """Read a study's output directory."""
    store = ResultStore(out)
    if not store.root.is_dir():
        raise TheorycheckError(
            f"{store.root} is not a study output directory (not a directory): give the DIR of `theorycheck run`"
        )
    study, verdicts, results = (store.read_json(n) for n in ("study.json", "verdicts.json", "results.json"))
    hint = "rerun the study (`theorycheck run STUDY --out DIR`) to rewrite it"
    if not isinstance(study, dict):
        raise TheorycheckError(f"{store.root / 'study.json'} is not a study description (a JSON object); {hint}")
    if not isinstance(verdicts, list) or not all(isinstance(v, dict) and "claim" in v for v in verdicts):
        raise TheorycheckError(f"{store.root / 'verdicts.json'} is not a list of verdicts; {hint}")
    if not isinstance(results, dict) or not all(isinstance(r, dict) for r in results.values()):
        raise TheorycheckError(f"{store.root / 'results.json'} is not an object of claim results; {hint}")
    return StudyResult(store.root, study, verdicts, results)
