"""The cells of the claims about trained networks: one recipe, one cell builder, the parameters they share.

Every trained claim (:mod:`.trained`, :mod:`.training_methods`) trains its networks with :func:`recipe`'s settings
(SGD with momentum 0.9, batch 32, measured at step 0 and at the end on 256 held-out images) in cells of kind
``trained`` (:mod:`theorycheck.claims.forms._training`).
"""

from __future__ import annotations

from typing import Any

from theorycheck.claims._archs import pooling_block
from theorycheck.claims._base import Cell
from theorycheck.claims._params import Param, int_range, network_count, positive_float, positive_int, sweep

__all__ = [
    "BASE",
    "builtin_data",
    "common_params",
    "data_param",
    "dataset",
    "learning_rate",
    "multiples_of_base",
    "pooling_net",
    "recipe",
    "trained_cell",
]

#: the resolution every control network pools the image down to
BASE = 8


def dataset(p: dict[str, Any], r: int) -> str:
    return f"{p['data']}:{r}"


def recipe(p: dict[str, Any], regularizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The training settings every cell of these claims uses (``theorycheck.training.TrainConfig`` fields), with a
    ``regularizer`` (``{"regularizer": ..., "epsilon": ..., "p": ...}``) where the claim compares training methods."""
    from theorycheck.training import train_config

    table = {
        **(regularizer or {}),
        "steps": p["steps"],
        "batch": 32,
        "lr": p["lr"],
        "momentum": 0.9,
        "checkpoints": [0, p["steps"]],
        "eval_examples": 256,
        "attack_epsilon": p["epsilon"],
    }
    return train_config(table, where="train").to_dict()


def trained_cell(
    claim: str,
    name: str,
    arch: str,
    data: str,
    shape: str,
    p: dict[str, Any],
    regularizer: dict[str, Any] | None = None,
) -> Cell:
    params = {"arch": arch, "input": shape, "data": data, "train": recipe(p, regularizer), "targets": ["loss"]}
    return Cell(claim, name, "trained", params, p["networks"])


def builtin_data(value: Any) -> str | None:
    from theorycheck.training import BUILTIN

    return None if value in BUILTIN else f"must be one of {', '.join(BUILTIN)}"


def multiples_of_base(value: Any) -> str | None:
    problem = sweep(2)(value)
    if problem is None and any(r % BASE for r in value):
        return f"must be multiples of {BASE} (the control pools each image to {BASE}×{BASE})"
    return problem


def learning_rate(value: Any) -> str | None:
    problem = positive_float(value)
    return problem or (None if value <= 10 else "must be at most 10")


def data_param() -> Param:
    return Param("digits", "built-in dataset: digits (upsampled 8×8) or gratings (detail grows with R)", builtin_data)


def common_params(networks: int, steps: int) -> dict[str, Param]:
    return {
        "data": data_param(),
        "channels": Param(8, "channels (paper: 64)", positive_int),
        "steps": Param(steps, "SGD steps (momentum 0.9, batch 32)", int_range(1, 1_000_000)),
        "lr": Param(0.02, "learning rate (0 to 10)", learning_rate),
        "epsilon": Param(0.1, "FGSM ε∞ of the measured vulnerability (inputs are standardised)", positive_float),
        "networks": Param(networks, "networks per cell (a window is 32)", network_count),
    }


def pooling_net(c: int, variant: str) -> str:
    """Figure 3's network: two pooling blocks of ``variant`` (avg, max or strided), a flattened head."""
    return (
        f"[{pooling_block(c, variant)}]*2 flatten dense(10)"  # a flattened head learns the digits to ~88% in 60 steps
    )
