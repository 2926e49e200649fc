"""The result store: a directory of cells (Parquet rows + JSON metadata) and verdicts.

    OUT/study.json                       the resolved study, its hash, provenance
    OUT/cells/<cell>/rows.parquet        one row per network (or per architecture)
    OUT/cells/<cell>/meta.json           written last: spec hash, seed, rows hash, provenance, timing
    OUT/verdicts.json                    one object per claim
    OUT/results.json                     every part of every claim (for the report)

Every write goes to a temporary file in the same directory, is flushed to disk,
then renamed over the target, so a reader never sees half a file. A cell is
complete only when its ``meta.json`` exists, parses, matches the cell's spec
hash and the hash of its rows; anything else is recomputed. No pickle: Parquet
and JSON only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from theorycheck.claims.framework import Cell
from theorycheck.errors import TheorycheckError

__all__ = ["STUDY_FILES", "ResultStore", "atomic_write_bytes", "atomic_write_json"]

#: the study-level files of a store, rewritten by every run
STUDY_FILES = ("study.json", "verdicts.json", "results.json")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n").encode())


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _safe(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9=.@_-]+", "_", name.replace("/", "__"))[:80]
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class ResultStore:
    """A study's output directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- cells -------------------------------------------------------------------------------
    def cell_dir(self, cell: Cell) -> Path:
        return self.root / "cells" / _safe(cell.id)

    def rows_path(self, cell: Cell) -> Path:
        return self.cell_dir(cell) / "rows.parquet"

    def cell_key(
        self, cell: Cell, *, study_seed: int, device: str, precision: str, conv_kernel: str = "grouped"
    ) -> str:
        """Everything that determines the rows: cell spec, study seed, device type, precision and, when it is not
        the default grouped convolution, the sampler's convolution kernel (keys of existing stores stay valid)."""
        dev = "cuda" if device.startswith("cuda") else device
        blob = f"{cell.spec_hash()}/{study_seed}/{dev}/{precision}"
        if conv_kernel != "grouped":
            blob += f"/{conv_kernel}"
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def is_complete(self, cell: Cell, key: str) -> bool:
        """Whether the cell's rows are present, whole and made for this spec."""
        meta_path = self.cell_dir(cell) / "meta.json"
        rows_path = self.rows_path(cell)
        try:
            meta = json.loads(meta_path.read_text())
            data = rows_path.read_bytes()
        except (OSError, ValueError):
            return False
        if not isinstance(meta, dict):  # valid JSON of the wrong shape: a corrupt cell
            return False
        if "maps_sha256" in meta:
            try:
                maps = (self.cell_dir(cell) / "maps.parquet").read_bytes()
            except OSError:
                return False
            if hashlib.sha256(maps).hexdigest() != meta["maps_sha256"]:
                return False
        return (
            meta.get("key") == key
            and meta.get("rows_sha256") == hashlib.sha256(data).hexdigest()
            and meta.get("cell_id") == cell.id
        )

    def write_cell(
        self, cell: Cell, key: str, rows: pd.DataFrame, meta: dict[str, Any], maps: dict[str, Any] | None = None
    ) -> None:
        """Store rows (and per-input maps) then metadata (the completeness marker), each atomically."""
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        directory = self.cell_dir(cell)
        (directory / "meta.json").unlink(missing_ok=True)  # a stale marker must not outlive new rows
        if maps:
            map_buffer = io.BytesIO()
            pd.DataFrame({k: v.ravel() for k, v in maps.items()}).to_parquet(map_buffer, index=False)
            atomic_write_bytes(directory / "maps.parquet", map_buffer.getvalue())
            meta = {
                **meta,
                "map_shape": list(next(iter(maps.values())).shape),
                "maps_sha256": hashlib.sha256(map_buffer.getvalue()).hexdigest(),
            }
        atomic_write_bytes(directory / "rows.parquet", data)
        atomic_write_json(
            directory / "meta.json",
            {
                "cell_id": cell.id,
                "key": key,
                "kind": cell.kind,
                "params": cell.params,
                "networks": cell.networks,
                "start": cell.start,
                "n_rows": len(rows),
                "rows_sha256": hashlib.sha256(data).hexdigest(),
                **meta,
            },
        )

    def discard(self, cell: Cell) -> None:
        """Remove a partial or corrupt cell (a file in place of its directory too)."""
        _remove(self.cell_dir(cell))

    def clean(self) -> int:
        """Prepare the store for a run: remove temporary files that an interrupted write left behind, and
        anything malformed in place of the cells directory. Returns the number of files removed."""
        cells = self.root / "cells"
        if cells.exists() and not cells.is_dir():
            _remove(cells)
        for name in STUDY_FILES:  # rewritten at the end of every run; a directory in their place would block that
            if (self.root / name).is_dir():
                _remove(self.root / name)
        removed = 0
        for folder in [self.root, *(p for p in (cells.iterdir() if cells.is_dir() else []) if p.is_dir())]:
            for tmp in folder.glob(".*.tmp"):
                _remove(tmp)
                removed += 1
        return removed

    def read_rows(self, cell: Cell) -> pd.DataFrame:
        return pd.read_parquet(self.rows_path(cell))

    def read_maps(self, cell: Cell) -> dict[str, Any]:
        """Per-input maps of a cell (``{}`` if it stored none)."""
        meta = self.read_meta(cell)
        if "map_shape" not in meta:
            return {}
        frame = pd.read_parquet(self.cell_dir(cell) / "maps.parquet")
        return {k: frame[k].to_numpy().reshape(meta["map_shape"]) for k in frame.columns}

    def read_meta(self, cell: Cell) -> dict[str, Any]:
        meta = json.loads((self.cell_dir(cell) / "meta.json").read_text())
        if not isinstance(meta, dict):
            raise TheorycheckError(f"{self.cell_dir(cell) / 'meta.json'} is not a JSON object: the cell is corrupt")
        return meta

    # -- study-level files -------------------------------------------------------------------
    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.root / name, obj)

    def read_json(self, name: str) -> Any:
        path = self.root / name
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise TheorycheckError(f"{path} not found: is {self.root} a study output directory?") from None
        except ValueError as exc:
            raise TheorycheckError(f"{path} is not valid JSON: {exc}") from None


def _remove(path: Path) -> None:
    """Remove a file, link or directory tree; missing is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
