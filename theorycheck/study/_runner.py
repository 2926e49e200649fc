"""Running a study: cells → store → claims → verdicts, resumable, in-process or on Dask."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from theorycheck._paths import check_output_dir
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import resolve_device
from theorycheck.sampler._provenance import provenance
from theorycheck.sampler._triton_conv import ensure_triton
from theorycheck.study._executor import Executor, Progress, check_scheduler_address
from theorycheck.study._loop import compute
from theorycheck.study._plan import sized
from theorycheck.study._spec import StudySpec, load_study
from theorycheck.study._store import ResultStore

__all__ = ["StudyResult", "load_results", "run_study"]


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
        spec, plan = sized(spec, store.root / "pilot", progress)
    prov = provenance(resolve_device(spec.device), spec.precision, spec.seed)
    executor = Executor(workers, scheduler, device_cells_in_process, device)
    try:
        streams, results = compute(spec, store, executor, progress)
    finally:
        executor.close()
    elapsed = time.perf_counter() - t0
    cell_seconds = sum(store.read_meta(c).get("seconds", 0.0) for ranges in streams.values() for c in ranges)
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
            "provenance": {**prov, "runtime_seconds": elapsed, "compute_seconds": cell_seconds},
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
