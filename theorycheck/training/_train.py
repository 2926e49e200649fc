"""Train many small networks at once and measure them at checkpoints.

Networks are trained in aligned windows of :data:`~theorycheck.sampler.RNG_BLOCK` (32): the window of network i
is the sampler's RNG block of network i, so its initial weights are the sampler's (``STREAM_WEIGHTS``, the explicit
method) and a window's computation has the same shapes whatever range of networks a cell asks for. Within a window
the B networks' weights are stacked ``(B, *weight_shape)`` and optimised by ``torch.optim`` itself: the loss is the
sum of the networks' own losses, so each slice receives its own network's gradient, and SGD and Adam act
elementwise, so each network is updated exactly as alone (a test compares with a per-network loop, float64).

At each checkpoint the networks are measured (:mod:`._checkpoints`: the statistics, the attacks, the inputs), one
row per network and one column per statistic and checkpoint, ``s{step}/{name}``.

A non-finite training loss is an error naming the network, its seed and the step, never a dropped network.

Precision: float32 is float32. PyTorch runs cuDNN convolutions in TF32 by default (10-bit mantissas), so training
runs under :func:`~theorycheck.sampler.precision_mode` with TF32 off and deterministic cuDNN, as the sampler does,
and the provenance records it (measured on an H200, 2026-12-04: without it, "fp32" training ran TF32).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from theorycheck._memory import require_memory
from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, parse_input_shape
from theorycheck.sampler import RNG_BLOCK, Program, compile_program, precision_mode
from theorycheck.sampler._rng import STREAM_WEIGHTS, block_generator, blocks_for
from theorycheck.sampler._rows import Reducer
from theorycheck.training._checkpoints import STATISTICS, Run, Weights, eval_inputs, measure, per_example_loss
from theorycheck.training._config import TrainConfig
from theorycheck.training._data import Dataset
from theorycheck.training._forward import forward

__all__ = [
    "STATISTICS",
    "STREAM_TRAIN",
    "Run",
    "TrainResult",
    "Weights",
    "initial_weights",
    "network_seed",
    "train_networks",
    "train_windows",
]

#: the random stream of the minibatch orders (the sampler's streams are 0-5)
STREAM_TRAIN = 7
Progress = Callable[[int, int], None]
#: the networks of RNG block ``block``: their function and initial stacked parameters (on the CPU)
WindowOf = Callable[[int], tuple[Run, Weights]]


@dataclass
class TrainResult:
    """One row per network (``network`` and ``s{step}/{name}`` columns) and how it was computed."""

    rows: dict[str, np.ndarray]
    provenance: dict[str, Any]


def network_seed(seed: int, index: int) -> int:
    """The seed of network ``index``'s minibatch order: a function of (study seed, index) only."""
    entropy = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, STREAM_TRAIN, int(index)]).generate_state(1)
    return int(entropy[0])


def initial_weights(program: Program, seed: int, block: int, device: torch.device) -> dict[int, torch.Tensor]:
    """The sampler's weights of RNG block ``block`` (``RNG_BLOCK`` networks): ``{op.index: (32, *shape)}``."""
    return program.draw_block(block, block_generator(seed, STREAM_WEIGHTS, block, device), RNG_BLOCK)


def _eps_p(config: TrainConfig, d: int) -> float:
    """ε_p = ε∞ d^{1/p} (eq. 5)."""
    return config.epsilon if math.isinf(config.p) else config.epsilon * d ** (1 / config.p)


def _objective(run: Run, weights: Weights, config: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each network's training objective on its minibatch, ``(B,)``."""
    if config.regularizer == "none":
        return per_example_loss(config, run(weights, x), y).mean(1)
    x = x.detach().requires_grad_(True)
    losses = per_example_loss(config, run(weights, x), y)
    d = math.prod(x.shape[2:])
    eps = _eps_p(config, d)
    if config.regularizer == "penalty":
        (g,) = torch.autograd.grad(losses.sum(), x, create_graph=True)
        return losses.mean(1) + eps * g.flatten(2).norm(p=config.q, dim=-1).mean(1)
    (g,) = torch.autograd.grad(losses.sum(), x, retain_graph=True)  # the clean loss is trained on too
    flat = g.flatten(2)
    if math.isinf(config.p):
        delta = flat.sign()
    else:
        delta = flat / flat.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(flat.dtype).tiny)
    x_adv = (x.detach().flatten(2) + eps * delta).reshape(x.shape)
    adv = per_example_loss(config, run(weights, x_adv), y)
    return 0.5 * (losses.mean(1) + adv.mean(1))


def _optimizer(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, nesterov=config.nesterov
        )
    return torch.optim.Adam(params, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)


class _Batches:
    """Network-wise minibatch indices: each network's own permutation per epoch, last short batch dropped."""

    def __init__(self, seeds: list[int], n: int, batch: int) -> None:
        if batch > n:
            raise TheorycheckError(f"train.batch: {batch} is more than the {n} training examples")
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]
        self.n, self.batch = n, batch
        self.perms = [torch.randperm(n, generator=g) for g in self.gens]
        self.at = 0

    def next(self) -> torch.Tensor:
        if self.at + self.batch > self.n:
            self.perms = [torch.randperm(self.n, generator=g) for g in self.gens]
            self.at = 0
        out = torch.stack([p[self.at : self.at + self.batch] for p in self.perms])
        self.at += self.batch
        return out


def _train_window(
    run: Run,
    data: Dataset,
    config: TrainConfig,
    seed: int,
    indices: list[int],
    weights: Weights,
    *,
    dtype: torch.dtype,
    device: torch.device,
    tick: Callable[[int], None],
    reducers: Mapping[str, Reducer],
) -> dict[str, np.ndarray]:
    params = {k: w.to(device=device, dtype=dtype).clone().requires_grad_(True) for k, w in weights.items()}
    opt = _optimizer(list(params.values()), config)
    sched = torch.optim.lr_scheduler.StepLR(opt, config.step_size, config.gamma) if config.step_size else None
    batches = _Batches([network_seed(seed, i) for i in indices], len(data.y_train), config.batch)
    x_eval, y_eval = eval_inputs(run, params, data, config, seed, indices, dtype=dtype, device=device)
    x_train, y_train = data.x_train.to(device=device, dtype=dtype), data.y_train.to(device)
    columns: dict[str, np.ndarray] = {}

    def checkpoint(step: int) -> None:
        for name, value in measure(run, params, config, x_eval, y_eval, reducers).items():
            columns[f"s{step}/{name}"] = value.cpu().numpy().astype(np.float64)

    if 0 in config.checkpoints:
        checkpoint(0)
    for step in range(1, config.steps + 1):
        idx = batches.next().to(device)
        objective = _objective(run, params, config, x_train[idx], y_train[idx])
        bad = ~torch.isfinite(objective.detach())
        if bad.any():
            i = indices[int(bad.nonzero()[0, 0])]
            raise TheorycheckError(
                f"network {i} (study seed {seed}, minibatch seed {network_seed(seed, i)}): the training loss is "
                f"{float(objective.detach()[bad][0])} at step {step}; lower train.lr, or check the data"
            )
        opt.zero_grad(set_to_none=True)
        objective.sum().backward()
        opt.step()
        if sched is not None:
            sched.step()
        if step in config.checkpoints:
            checkpoint(step)
        tick(1)
    return columns


def _window_bytes(architecture: Architecture, shape: tuple[int, ...], config: TrainConfig, dtype: torch.dtype) -> float:
    """A lower bound of a window's working memory: every top-level layer's output for each example of the window,
    kept for the backward pass with its gradient (three times with double backpropagation)."""
    per_example = math.prod(shape) + sum(math.prod(out) for _, _, out in architecture.shapes(shape))
    examples = RNG_BLOCK * max(config.batch * (2 if config.regularizer == "fgsm" else 1), config.eval_examples)
    copies = 3 if config.regularizer == "penalty" else 2
    return float(per_example * examples * copies * torch.finfo(dtype).bits // 8)


def train_networks(
    arch: Architecture | str,
    data: Dataset,
    config: TrainConfig,
    *,
    networks: int,
    start: int = 0,
    seed: int = 0,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: Progress | None = None,
    reducers: Mapping[str, Reducer] | None = None,
) -> TrainResult:
    """Train networks ``[start, start + networks)`` of ``arch`` on ``data`` and measure them at the checkpoints.

    Returns one row per network: ``network`` and ``s{step}/{statistic}`` for every checkpoint (module docstring);
    ``reducers`` adds the user's statistics ``{name: fn(grad, logits, x) -> (B,)}`` of both gradients.
    """
    architecture = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(data.shape)
    program = compile_program(architecture, shape)
    if program.n_logits < data.classes:
        raise TheorycheckError(
            f"train.data: {data.name} has {data.classes} classes, but the architecture has {program.n_logits} logits"
        )
    if torch.device(device).type == "cpu":
        require_memory(
            _window_bytes(architecture, shape, config, dtype),
            f"training a window of {RNG_BLOCK} networks on minibatches of {config.batch}",
            hint="lower train.batch or train.eval_examples, or the width",
        )

    def run(weights: Weights, x: torch.Tensor) -> torch.Tensor:
        return forward(program, x, weights)

    def window_of(block: int) -> tuple[Run, Weights]:
        return run, dict(initial_weights(program, seed, block, torch.device("cpu")))

    conventions = "theorycheck.training (torch.optim on stacked weights; per-network minibatch seeds)"
    return train_windows(
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
        conventions=conventions,
    )


def train_windows(
    window_of: WindowOf,
    data: Dataset,
    config: TrainConfig,
    *,
    networks: int,
    start: int,
    seed: int,
    device: str,
    dtype: torch.dtype,
    progress: Progress | None,
    reducers: Mapping[str, Reducer] | None,
    conventions: str,
) -> TrainResult:
    """Train every aligned window of :data:`RNG_BLOCK` networks that ``[start, start + networks)`` touches (the
    whole window, whichever of its networks are asked for: the same shapes, the same rounding) and keep the rows
    asked for. ``window_of(block)`` gives a window's function and initial parameters."""
    dev = torch.device(device)
    stop = start + networks
    total, done = len(blocks_for(start, stop)) * RNG_BLOCK * config.steps, 0
    t0 = time.perf_counter()

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    parts: list[dict[str, np.ndarray]] = []
    order: list[int] = []
    precision = "fp64" if dtype == torch.float64 else "fp32"
    for block in blocks_for(start, stop):
        lo, hi = max(start, block * RNG_BLOCK), min(stop, (block + 1) * RNG_BLOCK)
        keep = slice(lo - block * RNG_BLOCK, hi - block * RNG_BLOCK)
        run, weights = window_of(block)
        window = list(range(block * RNG_BLOCK, (block + 1) * RNG_BLOCK))
        with precision_mode(precision):  # TF32 off, deterministic cuDNN
            cols = _train_window(
                run, data, config, seed, window, weights, dtype=dtype, device=dev, tick=tick, reducers=reducers or {}
            )
        parts.append({k: v[keep] for k, v in cols.items()})
        order += window[keep]
    rows_out = {"network": np.asarray(order, dtype=np.int64)}
    for key in parts[0]:
        rows_out[key] = np.concatenate([p[key] for p in parts])
    provenance = {
        "train": config.to_dict(),
        "data": data.name,
        "device": str(dev),
        "dtype": str(dtype).removeprefix("torch."),
        "tf32": False,
        "window": RNG_BLOCK,
        "seconds": time.perf_counter() - t0,
        "conventions": conventions,
    }
    return TrainResult(rows_out, provenance)
