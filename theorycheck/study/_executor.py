"""Computing cells: in this process, on a local Dask cluster, or on an existing one; each cell stored as it ends."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from theorycheck.claims._kinds import get_cell_kind
from theorycheck.claims.framework import Cell
from theorycheck.errors import TheorycheckError
from theorycheck.study._execute import cell_seed, execute_cell
from theorycheck.study._store import ResultStore

__all__ = ["Executor", "Progress", "check_scheduler_address"]

Progress = Callable[[str, int, int], None]


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


class Executor:
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
            (here if self.device_cells_here and get_cell_kind(cell.kind).device else remote).append(cell)
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
