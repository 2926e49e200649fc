"""The Monte Carlo cell kinds every claim about sampled networks uses: ``sample`` (a DSL architecture, the batched
sampler) and ``module`` (a module family, ``torch.func``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from theorycheck.claims._base import Cell
from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind

__all__ = ["module_rows", "sample_rows"]


def _reducers(refs: list[list[str]]) -> dict[str, Any] | None:
    """User statistics of a cell, ``[[name, "module:qualname"], ...]``, imported where the cell runs."""
    from theorycheck.claims.forms._statistics import load_reducer

    return {name: load_reducer(ref) for name, ref in refs} or None


@cell_kind("sample", device=True, doubling=True, per_network=True)
def sample_rows(cell: Cell, context: CellContext) -> CellOutput:
    """Networks of a DSL architecture from the batched sampler (:func:`theorycheck.sampler.sample`)."""
    params = cell.params
    from theorycheck.sampler import sample

    res = sample(
        params["arch"],
        params["input"],
        networks=cell.networks,
        start=cell.start,
        seed=context.seed,
        targets=tuple(params.get("targets", ["logit"])),
        output=params.get("output", 0),
        loss_class=params.get("loss_class", "argmax"),
        method=params.get("method", "auto"),
        fgsm=params.get("fgsm"),
        device=context.device,
        precision=context.precision,
        maps=bool(params.get("maps", False)),
        inputs=params.get("inputs", "gaussian"),
        input_seed=params.get("input_seed"),
        conv_kernel=context.conv_kernel,
        q=params.get("q"),
        reducers=_reducers(params.get("reducers", [])),
    )
    return pd.DataFrame(res.rows), res.provenance, res.maps


@cell_kind("module", device=True, doubling=True, per_network=True)
def module_rows(cell: Cell, context: CellContext) -> CellOutput:
    """Networks of a module family (:func:`theorycheck.sampler.sample_module`)."""
    params = cell.params
    from theorycheck._imports import import_object
    from theorycheck.sampler import he_init, sample_module

    res = sample_module(
        import_object(params["module"], what="module"),
        params["input"],
        networks=cell.networks,
        start=cell.start,
        seed=context.seed,
        variables=params.get("variables", {}),
        targets=tuple(params.get("targets", ["logit"])),
        loss_class=params.get("loss_class", "argmax"),
        init=he_init if params.get("init") == "he" else None,
        device=context.device,
        precision=context.precision,
        q=params.get("q"),
        reducers=_reducers(params.get("reducers", [])),
        output_scale=float(params.get("output_scale", 1.0)),
    )
    return pd.DataFrame(res.rows), res.provenance, {}
