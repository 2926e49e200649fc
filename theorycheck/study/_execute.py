"""Executing one cell: its stream's seed, and its kind's registered executor (:mod:`theorycheck.claims._kinds`)."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from theorycheck.claims._kinds import CellContext, get_cell_kind
from theorycheck.claims.framework import Cell

__all__ = ["cell_seed", "execute_cell"]


def cell_seed(study_seed: int, cell: Cell) -> int:
    """Seed of a cell's stream: a function of the study seed and :attr:`Cell.random_stream` only."""
    digest = hashlib.sha256(f"{study_seed}/{cell.random_stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def execute_cell(
    cell: Cell, *, study_seed: int, device: str, precision: str, conv_kernel: str = "grouped"
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows of ``cell``, its provenance, and per-input maps (``{}`` for kinds without them).

    ``device``, ``precision`` and ``conv_kernel`` are the study's; a kind that does not run on the device ignores
    them."""
    kind = get_cell_kind(cell.kind, module=cell.params.get("kind_module"))
    context = CellContext(cell_seed(study_seed, cell), device, precision, conv_kernel)
    return kind.execute(cell, context)
