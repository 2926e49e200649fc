"""Claims about trained networks: the public forms judged after training, at every checkpoint.

A claim with a ``train`` table (``[claims."X".train]``: ``data`` and the settings of
:func:`theorycheck.training.train_config`) is about the family's networks trained on ``data``. Its cells are of
kind ``trained`` (registered here, next to the claims that own it): each trains one aligned window of networks at a
time (:func:`theorycheck.training.train_networks`) and stores one row per network with every statistic at every
checkpoint. The claim is judged once per checkpoint (a member per step, on the same cells); the worst decides.

What changes after training, said where it matters:

* the theory engine predicts networks at initialisation, so ``slope = "H"`` and ``predicted = "H"``/``"kernel"``
  are refused: state the law after training as a number or an expression;
* the tail theory (Cochran's rule with the exact skewness) is for Gaussian networks at initialisation, so trained
  samples are gated by Hill's index of the sample, as other graphs are;
* the automatic control that rescales the logit layer is exact only at initialisation (training undoes a rescaling),
  so a trained claim without its own control gets the control that moves the prediction, which the report names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import pandas as pd

from theorycheck.claims._kinds import CellContext, CellOutput, cell_kind
from theorycheck.claims.forms._family import Family, Point, placeholders
from theorycheck.claims.forms._statistics import load_reducer
from theorycheck.errors import TheorycheckError
from theorycheck.training import Dataset, TrainConfig, load_dataset, train_config, train_networks

__all__ = [
    "Training",
    "checkpoint_members",
    "fitted_steps",
    "parse_training",
    "step_regressor",
    "trained_params",
    "trained_rows",
]


@dataclass(frozen=True)
class Training:
    """How a claim's networks are trained: a dataset template (``"digits:{r}"``) and the recipe."""

    data: str
    config: TrainConfig

    def data_at(self, point: Point) -> str:
        """The dataset of one grid point (the template filled with its variables)."""
        return self.data.format(**point.variables)


@lru_cache(maxsize=64)
def _dataset(spec: str) -> Dataset:
    return load_dataset(spec)


def parse_training(where: str, table: Any, family: Family, *, target: str, theory_field: str | None = None) -> Training:
    """The ``train`` table, checked now: the recipe's fields, and at every grid point a dataset whose inputs have the
    point's shape. ``theory_field``: the claim's field that asks the theory engine for a prediction (``slope = "H"``
    or ``predicted = "H"``/``"kernel"``), refused: the engine predicts networks at initialisation."""
    if not isinstance(table, dict):
        raise TheorycheckError(f"{where}.train: must be a table with data and training settings, got {table!r}")
    if "data" not in table:
        raise TheorycheckError(f"{where}.train.data: missing: name the dataset, e.g. data = 'digits:{{r}}'")
    data = table["data"]
    if not isinstance(data, str):
        raise TheorycheckError(f"{where}.train.data: must be a dataset name or template, got {data!r}")
    if target == "logits":
        raise TheorycheckError(f"{where}.target: trained networks are measured on the loss or logit 0, not 'logits'")
    for name, pos in placeholders(data):
        if name not in family.sweep:
            raise TheorycheckError(f"{where}.train.data: placeholder {{{name}}} at position {pos} is not in the sweep")
    config = train_config({k: v for k, v in table.items() if k != "data"}, where=f"{where}.train")
    training = Training(data, config)
    for point in family.points():
        spec = training.data_at(point)
        dataset = _dataset(spec)
        shape = "x".join(str(n) for n in dataset.shape)
        if shape != point.input:
            raise TheorycheckError(
                f"{where}.train.data: at {point.label} the dataset {spec} has inputs of shape {shape}, but input is "
                f"{point.input}; make them agree (e.g. data = 'digits:{{r}}' with input = '1x{{r}}x{{r}}')"
            )
        if config.batch > len(dataset.y_train):
            raise TheorycheckError(
                f"{where}.train.batch: {config.batch} is more than the {len(dataset.y_train)} training examples of "
                f"{spec}"
            )
        if dataset.classes > point.outputs:
            raise TheorycheckError(
                f"{where}.train.data: {spec} has {dataset.classes} classes, but the architecture has "
                f"{point.outputs} logits at {point.label}"
            )
    if theory_field is not None:
        raise TheorycheckError(
            f"{where}.{theory_field}: the theory engine predicts networks at initialisation; after training state the "
            "law as a number or an expression"
        )
    return training


def trained_params(training: Training, point: Point) -> dict[str, Any]:
    """The cell parameters of one grid point's trained networks (part of the cells' identity)."""
    return {"data": training.data_at(point), "train": training.config.to_dict()}


def checkpoint_members(claim: Any) -> list[Any]:
    """One member claim per checkpoint: the same cells, read at ``s{step}/``, titled with the step."""
    assert claim.training is not None
    title = claim.title or claim.summary()
    return [replace(claim, step=s, title=f"{title} at step {s}") for s in claim.training.config.checkpoints]


def fitted_steps(training: Training) -> list[int]:
    """The checkpoints a law in training time is fitted over: every one after step 0."""
    return [s for s in training.config.checkpoints if s > 0]


def step_regressor(where: str, against: Any, form: str, family: Family, training: Training | None) -> list[float]:
    """``against`` (an expression reading ``step``) at every grid point and fitted checkpoint, after checking that
    the claim can be a law in training time: a scaling claim with two checkpoints after step 0."""
    assert training is not None  # `step` is a name only when the claim has a train table
    steps = fitted_steps(training)
    if form != "scaling":
        raise TheorycheckError(f"{where}.against: a law in training time (against = step) is a scaling claim")
    if len(steps) < 2:
        raise TheorycheckError(
            f"{where}.train.checkpoints: a law in training time needs at least two checkpoints after step 0, got "
            f"{list(training.config.checkpoints)}"
        )
    return [against({**p.scope, "step": st}) for p in family.points() for st in steps]


def names_used(training: Training) -> list[str]:
    """The sweep names the dataset template reads."""
    return [name for name, _ in placeholders(training.data)]


#: not doubled when inconclusive: a trained cell costs steps × networks, so its budget is the one the study states
@cell_kind("trained", device=True, doubling=False, per_network=True)
def trained_rows(cell: Any, context: CellContext) -> CellOutput:
    """Networks of a DSL architecture (:func:`theorycheck.training.train_networks`) or of a module family
    (:func:`theorycheck.training.train_module_networks`) trained on a dataset."""
    import sys

    import torch
    from tqdm import tqdm

    params = cell.params
    config = train_config(dict(params["train"]), where="train")
    dtype = torch.float64 if context.precision == "fp64" else torch.float32
    # a second bar under the study's cells: steps of every window, the networks and an ETA (silent off a terminal)
    with tqdm(
        desc=f"train {cell.claim} {cell.name}"[-48:], unit="step", file=sys.stderr, disable=None, leave=False
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.set_postfix_str(f"{cell.networks} networks", refresh=False)
            bar.update(done - bar.n)

        common: dict[str, Any] = {
            "networks": cell.networks,
            "start": cell.start,
            "seed": context.seed,
            "device": context.device,
            "dtype": dtype,
            "progress": progress,
            "reducers": {name: load_reducer(ref) for name, ref in params.get("reducers", [])},
        }
        data = _dataset(params["data"])
        if "module" in params:  # a module family: the factory with the point's variables, trained with torch.func
            from theorycheck._imports import import_object
            from theorycheck.sampler import he_init
            from theorycheck.training import train_module_networks

            factory, variables = import_object(params["module"], what="module"), dict(params.get("variables", {}))
            init = he_init if params.get("init") == "he" else None
            result = train_module_networks(lambda: factory(**variables), data, config, init=init, **common)
        else:
            result = train_networks(params["arch"], data, config, **common)
    return pd.DataFrame(result.rows), result.provenance, {}
