"""Several public-form claims on the same family, judged as one claim (a theorem with several statements).

The members share their sampler cells: one cell per grid point computes every target the members need, so a
theorem about the logit and the loss gradient samples each network once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from theorycheck.claims._base import Cell, CellData, Claim, Part
from theorycheck.claims._params import Param, network_count
from theorycheck.claims.forms._cells import NETWORK_KEYS, claim_cells
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._judging import as_claim, judge

__all__ = ["claim_of", "combine", "composite_claim"]


def _merged_cells(members: list[UserClaim], networks: int) -> list[Cell]:
    cells: dict[str, Cell] = {}
    for member in members:
        for cell in claim_cells(member, networks):
            known = cells.get(cell.name)
            if known is None:
                cells[cell.name] = cell
                continue
            differ = [k for k in NETWORK_KEYS if known.params.get(k) != cell.params.get(k)]
            if differ or known.networks != cell.networks:
                raise ValueError(f"members of one claim give cell {cell.name} different networks ({differ})")
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
            cells[cell.name] = replace(cell, params=params)
    return list(cells.values())


def composite_claim(
    claim_id: str,
    *,
    statement: str,
    source: str,
    members: Callable[[dict[str, Any]], list[UserClaim]],
    params: dict[str, Param],
    kind: str = "scaling",
    formula: str = "",
    extra_parts: Callable[[dict[str, Any], CellData, str], list[Part]] | None = None,
    definition: dict[str, Any] | None = None,
) -> Claim:
    """A claim whose parts are every member's parts (the worst decides), on shared cells.

    ``members(params)`` builds the public-form claims from the study parameters (cached per parameters);
    ``extra_parts`` adds parts the forms cannot express (e.g. a graph fact decided exactly)."""
    cache: dict[str, list[UserClaim]] = {}

    def built(p: dict[str, Any]) -> list[UserClaim]:
        key = json.dumps(p, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = members(p)
        return cache[key]

    def evaluate(p: dict[str, Any], data: CellData) -> tuple[list[Part], list[Part]]:
        main: list[Part] = []
        control: list[Part] = []
        for i, member in enumerate(built(p)):
            member_main, member_control = judge(member, data)
            if i > 0:  # the grid table is the first member's (every member is on the same family)
                for part in member_main:
                    part.grid = None
            main += member_main
            control += member_control
        if extra_parts is not None:
            main += extra_parts(p, data, "main")
            control += extra_parts(p, data, "control")
        return main, control

    return Claim(
        claim_id,
        source,
        kind,
        statement,
        formula,
        params=params,
        make_cells=lambda p: _merged_cells(built(p), p["networks"]),
        evaluate_both=evaluate,
        definition=definition or {},
    )


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
    """Fixed ``members`` as one claim (see :func:`composite_claim`)."""
    return composite_claim(
        claim_id,
        statement=statement,
        source=source,
        members=lambda p: members,
        params={"networks": Param(networks, "networks per grid point and arm", network_count)},
        kind=kind,
        formula=formula or "; ".join(m.summary() for m in members),
        definition=definition,
    )


def claim_of(member: UserClaim) -> Claim:
    """One public-form claim as a :class:`~theorycheck.claims.Claim`; a trained one is judged at every checkpoint
    (a member per step on the same cells, :mod:`theorycheck.claims.forms._training`)."""
    if member.training is None or "step" in member.against.names:  # a law in training time: judged once
        return as_claim(member)
    from theorycheck.claims.forms._training import checkpoint_members

    return combine(
        member.id,
        checkpoint_members(member),
        statement=member.statement or member.summary(),
        source=member.source,
        kind=member.form,
        networks=member.networks,
        formula=member.summary() + " after training",
        definition=member.definition,
    )
