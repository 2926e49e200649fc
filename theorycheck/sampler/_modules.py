"""Module families measured in batches: B networks of a user's ``nn.Module``, with ``torch.func``.

``sample_module(make, input_shape, networks=B, seed=s)`` builds the module ``make(**variables)`` once per network,
re-initialises it (its own ``reset_parameters``, or ``init(module, generator)``), stacks the B parameter sets with
``torch.func.stack_module_state`` and runs them as one ``vmap`` of ``functional_call``: network ``b`` sees its own
input. Input gradients come from one backward pass per target (networks are independent, so the gradient of the
summed target is each network's own).

Reproducibility: network ``i``'s parameters come from a generator seeded by ``(seed, i)`` (the global RNG is
forked and seeded around ``reset_parameters``, which takes no generator), its input and loss class from the DSL
sampler's streams, and every vmap computes a whole aligned window of :data:`MODULE_WINDOW` networks; so rows do
not depend on the chunk, the start or the split, bit for bit (an out-of-memory back-off below one window halves
the window, which is recorded). Modules run in eval mode by default: at initialisation a
BatchNorm then normalises with its running statistics (mean 0, variance 1), and there is no dropout.
The rows are the DSL sampler's (``sampler._rows``): the same statistics, targets and user reducers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Shape, parse_input_shape
from theorycheck.sampler._memory import MIN_WINDOW, is_out_of_memory, windows
from theorycheck.sampler._precision import compute_dtype, precision_mode
from theorycheck.sampler._provenance import provenance, resolve_device
from theorycheck.sampler._rng import RNG_BLOCK, STREAM_CLASS, STREAM_INPUT, block_generator, blocks_for
from theorycheck.sampler._rows import Reducer, reduce_rows

__all__ = ["STREAM_MODULE", "he_init", "reset_network", "sample_module"]

#: the stream of per-network parameters of a module family
STREAM_MODULE = 5
#: networks computed together (one vmap): a constant, so that every kernel call has the same batch shape whatever
#: the chunk, start or split (oneDNN and cuDNN choose kernels, and so the rounding, by batch shape)
MODULE_WINDOW = 32
Init = Callable[[nn.Module, torch.Generator], None]


@torch.no_grad()
def he_init(module: nn.Module, generator: torch.Generator, *, gain: float = 2.0) -> None:
    """He et al. (2015): every Linear/Conv2d weight N(0, gain/fan_in), biases 0, norm layers' scale 1 and shift 0.

    PyTorch's own ``reset_parameters`` draws Var[w] = 1/(3·fan_in) (Kaiming-uniform with a = √5), not He; use this
    as ``init`` to sample the distribution the theory assumes (and the DSL sampler draws)."""
    for sub in module.modules():
        weight = getattr(sub, "weight", None)
        bias = getattr(sub, "bias", None)
        if isinstance(sub, nn.Linear | nn.Conv2d):
            fan_in = weight[0].numel()  # type: ignore[index]
            weight.copy_(torch.randn(weight.shape, generator=generator) * (gain / fan_in) ** 0.5)  # type: ignore[union-attr]
        elif isinstance(sub, nn.BatchNorm2d | nn.BatchNorm1d | nn.LayerNorm | nn.GroupNorm) and weight is not None:
            weight.fill_(1.0)
        if isinstance(bias, torch.Tensor):
            bias.zero_()


def reset_network(module: nn.Module, seed: int, index: int, init: Init | None) -> None:
    """Network ``index``'s parameters: ``init(module, generator)``, or every submodule's ``reset_parameters``."""
    gen = block_generator(seed, STREAM_MODULE, index, torch.device("cpu"))
    if init is not None:
        init(module, gen)
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        found = False
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
                found = True
    if not found and any(True for _ in module.parameters()):
        raise TheorycheckError(
            f"{type(module).__name__} has parameters but no reset_parameters; pass init(module, generator)"
        )


def _inputs(seed: int, shape: Shape, lo: int, hi: int) -> torch.Tensor:
    """The DSL sampler's Gaussian inputs of networks ``[lo, hi)`` (stream ``STREAM_INPUT``)."""
    blocks = blocks_for(lo, hi)
    parts = [
        torch.randn((RNG_BLOCK, *shape), generator=block_generator(seed, STREAM_INPUT, b, torch.device("cpu")))
        for b in blocks
    ]
    off = lo - blocks.start * RNG_BLOCK
    return torch.cat(parts)[off : off + hi - lo]


def _classes(seed: int, k: int, lo: int, hi: int) -> torch.Tensor:
    blocks = blocks_for(lo, hi)
    parts = [
        torch.randint(0, k, (RNG_BLOCK,), generator=block_generator(seed, STREAM_CLASS, b, torch.device("cpu")))
        for b in blocks
    ]
    off = lo - blocks.start * RNG_BLOCK
    return torch.cat(parts)[off : off + hi - lo]


def _batched_logits(modules: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Logits ``(B, K)``: network b on input b, one vmap over the stacked parameters."""
    from torch.func import functional_call, stack_module_state, vmap

    params, buffers = stack_module_state(modules)
    base = modules[0]

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p, b), (xi.unsqueeze(0),)).squeeze(0)

    return vmap(one)(params, buffers, x)


@dataclass(frozen=True)
class _Settings:
    """What every network of one run shares besides its index."""

    variables: Mapping[str, Any] | None
    init: Init | None
    train: bool
    q: float | None
    reducers: Mapping[str, Reducer] | None
    #: every logit multiplied by this (a negative control: the gradients scale by it exactly)
    output_scale: float = 1.0


def _chunk_rows(
    make: Callable[..., nn.Module],
    settings: _Settings,
    seed: int,
    shape: Shape,
    names: list[tuple[str, str, int]],
    loss_class: str | int,
    dev: torch.device,
    dtype: torch.dtype,
    lo: int,
    hi: int,
) -> dict[str, torch.Tensor]:
    """Rows of networks ``[lo, hi)``: build and re-initialise each, one vmapped forward, one backward per target."""
    modules = []
    for i in range(lo, hi):
        m = make(**(settings.variables or {}))
        reset_network(m, seed, i, settings.init)
        modules.append(m.to(dev, dtype).train(settings.train))
    x = _inputs(seed, shape, lo, hi).to(dev, dtype).requires_grad_(True)
    logits = _batched_logits(modules, x)
    if settings.output_scale != 1.0:
        logits = logits * settings.output_scale
    classes = None
    if any(kind == "loss" for _, kind, _ in names):
        if loss_class == "argmax":
            classes = logits.detach().argmax(1)
        elif loss_class == "random":
            classes = _classes(seed, logits.shape[1], lo, hi).to(dev)
        else:
            classes = torch.full((hi - lo,), int(loss_class), device=dev, dtype=torch.long)
    grads = []
    for t, (_, kind, idx) in enumerate(names):
        if kind == "logit":
            target = logits[:, idx].sum()
        else:
            assert classes is not None
            target = -torch.log_softmax(logits, 1)[torch.arange(hi - lo), classes].sum()
        (g,) = torch.autograd.grad(target, x, retain_graph=t < len(names) - 1)
        grads.append(g.reshape(hi - lo, -1))
    stacked = torch.stack(grads, 1)
    keep = slice(0, hi - lo)
    out, _ = reduce_rows(
        names, stacked, logits.detach(), classes, x.detach(), keep, q=settings.q, reducers=settings.reducers
    )
    return out


def sample_module(
    make: Callable[..., nn.Module],
    input_shape: Shape | str | int,
    *,
    networks: int,
    seed: int,
    variables: Mapping[str, Any] | None = None,
    targets: Sequence[str] = ("logit",),
    output: int = 0,
    loss_class: str | int = "argmax",
    init: Init | None = None,
    train: bool = False,
    device: str | torch.device = "auto",
    precision: str = "fp32",
    chunk: int = 64,
    start: int = 0,
    q: float | None = None,
    reducers: Mapping[str, Reducer] | None = None,
    progress: Callable[[int], None] | None = None,
    output_scale: float = 1.0,
) -> Any:
    """Sample ``networks`` networks ``make(**variables)`` (indices ``start…``) and measure their input gradients.

    Returns a :class:`~theorycheck.sampler.SampleResult` with the DSL sampler's rows. ``train=True`` runs the
    modules in training mode (a BatchNorm then normalises each network's single input by its own statistics).
    ``output_scale`` multiplies every logit (the automatic negative control of a claim changes the networks so).
    """
    from theorycheck.sampler._plan import target_names
    from theorycheck.sampler._sample import SampleResult

    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    if not isinstance(networks, int) or networks <= 0:
        raise TheorycheckError(f"networks must be a positive integer, got {networks!r}")
    dev, dtype = resolve_device(device), compute_dtype(precision)
    try:
        template = make(**(variables or {}))
    except Exception as exc:
        raise TheorycheckError(f"the module factory failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(template, nn.Module):
        raise TheorycheckError(f"the factory must return an nn.Module, got {type(template).__name__}")
    try:
        with torch.no_grad():
            probe = template.to(dev, dtype).train(train)(torch.zeros((1, *shape), device=dev, dtype=dtype))
    except Exception as exc:
        raise TheorycheckError(
            f"the module fails on inputs of shape (1, *{shape}): {type(exc).__name__}: {exc}; check the input shape"
        ) from None
    if probe.ndim != 2 or probe.shape[0] != 1:
        raise TheorycheckError(f"the module must map (1, *{shape}) to (1, K) logits, gives {tuple(probe.shape)}")
    names = target_names(targets, output, probe.shape[1])
    t0 = time.perf_counter()
    rows: dict[str, list[np.ndarray]] = {}
    done = 0
    backoffs: list[int] = []
    window_backoffs: list[int] = []
    window = MODULE_WINDOW
    settings = _Settings(variables, init, train, q, reducers, output_scale)
    with precision_mode(precision):
        lo, stop = start, start + networks
        while lo < stop:
            hi = min(stop, lo + chunk)
            try:
                parts = []
                for first, last in windows(lo, hi, window):  # whole aligned windows: one batch shape
                    out = _chunk_rows(make, settings, seed, shape, names, loss_class, dev, dtype, first, last)
                    keep = slice(max(lo, first) - first, min(hi, last) - first)
                    parts.append({k: v[keep] for k, v in out.items()})
            except Exception as exc:
                if not is_out_of_memory(exc) or min(chunk, window) <= MIN_WINDOW:
                    raise
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                if chunk > window:  # fewer windows per step: the same rows
                    chunk = max(window, chunk // 2)
                    backoffs.append(chunk)
                else:  # a smaller window is another batch shape: the rows change at round-off (recorded)
                    window //= 2
                    chunk = window
                    window_backoffs.append(window)
                continue
            for part in parts:
                for key, val in part.items():
                    rows.setdefault(key, []).append(val.cpu().numpy())
            done += hi - lo
            lo = hi
            if progress is not None:
                progress(done)
    result = {"network": np.arange(start, start + networks), **{k: np.concatenate(v) for k, v in rows.items()}}
    prov = provenance(
        dev,
        precision,
        seed,
        chunk_backoffs=backoffs,
        window=window,
        window_backoffs=window_backoffs,
        sampler="module family (torch.func vmap)",
        networks=networks,
        start=start,
        seconds=time.perf_counter() - t0,
        module=getattr(make, "__qualname__", str(make)),
        variables=dict(variables or {}),
        train=train,
        input_shape=list(shape),
        targets=list(targets),
    )
    return SampleResult(result, {}, networks, tuple(n for n, _, _ in names), prov)
