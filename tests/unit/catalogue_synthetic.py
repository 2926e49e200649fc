"""Synthetic per-network rows for the catalogue claims that moved onto the public claim forms.

``tests/data/catalogue_forms_reference.json`` holds what the claims' code *before* the move (commit d59c3f2,
``theorycheck/claims/simon_gabriel.py``) made of these rows: its cells (names and spec hashes, which fix the
sampled networks) and every decision. The rows come from numpy's PCG64, which is the same on every machine, so
the comparison does not depend on the CPU.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims.framework import Cell, CellData

#: per claim, the parameters the reference was computed with
REFERENCE_PARAMS: dict[str, dict[str, Any]] = {
    "sg.sec3_1": {"networks": 300},
    "sg.thm3": {"networks": 300, "dims": [64, 256, 1024]},
    "sg.thm4_l2": {"networks": 300},
    "sg.thm4_coord": {"networks": 300},
    "sg.cor5": {"networks": 300},
    "sg.thm6_res": {"networks": 300},
    # recorded 2026-12-04 from sg_core.py, before eq. 8 and Theorem 6 moved onto the public forms
    "sg.eq8": {"networks": 300},
    "sg.thm6": {"networks": 300},
    "sg.thm6_proof": {"networks": 300},
}
_COLUMNS = ("coord_var", "sq_norm", "l1", "linf")
_SLOPES = {"coord_var": -1.0, "sq_norm": 0.0, "l1": 0.5, "linf": -0.5}


def synthetic_data(cells: list[Cell]) -> CellData:
    """Gamma-distributed rows per sample cell, with a mean ∝ d^slope per statistic (slopes near the claims')."""
    frames = {}
    for cell in cells:
        if cell.kind != "sample":
            continue
        seed = int.from_bytes(hashlib.sha256(cell.name.encode()).digest()[:8], "little")
        rng = np.random.Generator(np.random.PCG64(seed))
        shape = cell.params["input"]
        d = int(np.prod([int(x) for x in shape.split("x")]))
        rows: dict[str, Any] = {"network": np.arange(cell.networks)}
        for grad in cell.params.get("targets", ["logit"]):
            for stat in _COLUMNS:
                mean = d ** _SLOPES[stat] * (0.7 if cell.name.startswith("control") else 1.0)
                rows[f"{grad}.{stat}"] = rng.gamma(6.0, mean / 6.0, size=cell.networks)
        frames[cell.name] = pd.DataFrame(rows)
    return CellData(frames)
