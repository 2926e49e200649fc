"""Module families trained in batches: B copies of a user's ``nn.Module``, with ``torch.func``.

Network i is ``make()`` initialised as the module sampler initialises it (:func:`theorycheck.sampler.he_init`, or
the module's own ``reset_parameters``, from a generator seeded by (seed, i): network i at step 0 is the module
sampler's network i). A window of :data:`~theorycheck.sampler.RNG_BLOCK` networks is stacked with
``torch.func.stack_module_state`` and run as one ``vmap`` of ``functional_call`` over (parameters, examples); the
optimiser steps the stacked parameters, so each network is updated exactly as alone (the sum of the networks'
objectives has each network's own gradient in its slice). Minibatch orders, losses, regularisers and checkpoints
are :func:`theorycheck.training.train_networks`' (:mod:`._config` states them).

Modules train in train mode. BatchNorm (batch statistics and running averages updated in place) and Dropout (random
masks) have no per-network meaning under ``vmap`` that a per-network loop would reproduce; a module containing
them is refused, naming the submodule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import torch
from torch import nn

from theorycheck.errors import TheorycheckError
from theorycheck.sampler import RNG_BLOCK
from theorycheck.sampler._modules import Init, reset_network
from theorycheck.sampler._rows import Reducer
from theorycheck.training._checkpoints import Run, Weights
from theorycheck.training._config import TrainConfig
from theorycheck.training._data import Dataset
from theorycheck.training._train import Progress, TrainResult, train_windows

__all__ = ["train_module_networks"]


def _check(module: nn.Module, where: str) -> None:
    for name, sub in module.named_modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm | nn.modules.dropout._DropoutNd):
            raise TheorycheckError(
                f"{where}: {name or type(module).__name__} ({type(sub).__name__}) cannot be trained in a batch of "
                "networks: its batch statistics or random masks are not per network under torch.func.vmap; remove "
                "it, or train the networks one at a time"
            )


def _window(
    make: Callable[[], nn.Module],
    seed: int,
    block: int,
    init: Init | None,
    dtype: torch.dtype,
    device: torch.device,
    where: str,
) -> tuple[Run, Weights]:
    """Networks ``block·32 … block·32 + 31``: their stacked parameters and one function that runs them all."""
    from torch.func import functional_call, stack_module_state, vmap

    modules = []
    for i in range(block * RNG_BLOCK, (block + 1) * RNG_BLOCK):
        module = make()
        if not isinstance(module, nn.Module):
            raise TheorycheckError(f"{where}: the factory must return an nn.Module, got {type(module).__name__}")
        _check(module, where)
        reset_network(module, seed, i, init)
        modules.append(module.to(device=device, dtype=dtype).train())
    params, buffers = stack_module_state(modules)
    base = copy.deepcopy(modules[0]).to("meta")

    def one(p: Weights, b: Weights, x: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p, b), (x,))

    batched = vmap(one)

    def run(weights: Weights, x: torch.Tensor) -> torch.Tensor:
        return batched(weights, buffers, x)

    return run, {k: v.detach() for k, v in params.items()}


def train_module_networks(
    make: Callable[[], nn.Module],
    data: Dataset,
    config: TrainConfig,
    *,
    networks: int,
    start: int = 0,
    seed: int = 0,
    init: Init | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: Progress | None = None,
    reducers: Mapping[str, Reducer] | None = None,
    where: str = "module",
) -> TrainResult:
    """Train networks ``[start, start + networks)`` of ``make()`` on ``data``: the rows of
    :func:`~theorycheck.training.train_networks` (one per network, every statistic at every checkpoint).

    ``init``: ``init(module, generator)`` (e.g. :func:`theorycheck.sampler.he_init`), or None for each submodule's
    own ``reset_parameters`` (PyTorch's default initialisation)."""
    dev = torch.device(device)
    probe = make()
    if not isinstance(probe, nn.Module):
        raise TheorycheckError(f"{where}: the factory must return an nn.Module, got {type(probe).__name__}")
    try:
        with torch.no_grad():
            logits = probe.eval()(torch.zeros((2, *data.shape)))
    except Exception as exc:
        raise TheorycheckError(
            f"{where}: the module fails on inputs of shape {data.shape} ({type(exc).__name__}: {exc})"
        ) from None
    if logits.ndim != 2 or logits.shape[1] < data.classes:
        raise TheorycheckError(
            f"train.data: {data.name} has {data.classes} classes, but the module returns logits of shape "
            f"{tuple(logits.shape)} for a batch of 2"
        )

    def window_of(block: int) -> tuple[Run, Weights]:
        return _window(make, seed, block, init, dtype, dev, where)

    result = train_windows(
        window_of,
        data,
        config,
        networks=networks,
        start=start,
        seed=seed,
        device=device,
        dtype=dtype,
        progress=progress,
        reducers=reducers,
        conventions="theorycheck.training (torch.func: vmap of functional_call over stacked parameters; "
        "per-network minibatch seeds)",
    )
    result.provenance["init"] = "reset_parameters" if init is None else getattr(init, "__name__", repr(init))
    return result
