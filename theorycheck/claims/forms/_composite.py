"""Several public-form claims on the same family, judged as one claim (a theorem with several statements).

The members share their sampler cells: one cell per grid point computes every target the members need, so a
theorem about the logit and the loss gradient samples each network once.
"""

from __future__ import annotations

from typing import Any

from theorycheck.claims._base import Cell, CellData, Claim, Part
from theorycheck.claims._params import Param, network_count
from theorycheck.claims.forms._forms import UserClaim

__all__ = ["combine"]


def _merged_cells(members: list[UserClaim], networks: int) -> list[Cell]:
    cells: dict[str, Cell] = {}
    for member in members:
        for cell in member.cells(networks):
            known = cells.get(cell.name)
            if known is None:
                cells[cell.name] = cell
                continue
            params: dict[str, Any] = dict(known.params)
            params["targets"] = sorted(set(known.params["targets"]) | set(cell.params["targets"]))
            for key in ("loss_class", "q"):
                if key in cell.params:
                    params[key] = cell.params[key]
            refs = {tuple(r) for r in known.params.get("reducers", [])} | {
                tuple(r) for r in cell.params.get("reducers", [])
            }
            if refs:
                params["reducers"] = sorted(list(r) for r in refs)
            cells[cell.name] = Cell(cell.claim, cell.name, cell.kind, params, networks)
    return list(cells.values())


def combine(
    claim_id: str,
    members: list[UserClaim],
    *,
    statement: str,
    source: str,
    kind: str = "scaling",
    networks: int = 2000,
    formula: str = "",
    definition: dict[str, Any] | None = None,
) -> Claim:
    """One claim whose parts are every member's parts (the worst decides), on shared cells."""

    def evaluate(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
        return [part for m in members for part in m.evaluate(data, role)]

    def grid(p: dict[str, Any], data: CellData) -> list[dict[str, Any]]:
        return members[0].grid(data)

    return Claim(
        claim_id,
        source,
        kind,
        statement,
        formula or "; ".join(m.summary() for m in members),
        True,
        {"networks": Param(networks, "networks per grid point and arm", network_count)},
        lambda p: _merged_cells(members, p["networks"]),
        evaluate,
        grid=grid,
        definition=definition or {},
    )
