"""Sample B independent He-initialised networks and measure their input gradients."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from theorycheck._memory import require_memory
from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, Shape, parse_input_shape
from theorycheck.sampler._conditional import (
    conditional_backward,
    conditional_forward,
    conditional_noise_shapes,
    supports_conditional,
)
from theorycheck.sampler._memory import (
    MIN_WINDOW,
    cpu_window,
    is_out_of_memory,
    per_network_footprint,
    plan_chunk,
    windows,
)
from theorycheck.sampler._plan import Plan, backward_vectors, draw_classes, draw_inputs, target_names
from theorycheck.sampler._precision import compute_dtype, precision_mode
from theorycheck.sampler._program import ConvSetup, compile_program
from theorycheck.sampler._provenance import provenance, resolve_device
from theorycheck.sampler._rng import (
    RNG_BLOCK,
    STREAM_WEIGHTS,
    block_generator,
)
from theorycheck.sampler._rows import Reducer, reduce_rows
from theorycheck.sampler._triton_conv import ensure_triton

__all__ = ["STATISTICS", "SampleResult", "resolve_device", "sample"]

STREAM_BACKWARD = 4
TargetKind = Literal["logit", "logits", "loss"]
#: per-gradient statistics, one value per network: mean_i g_i², ‖g‖₂², ‖g‖₁, ‖g‖_∞
STATISTICS = ("coord_var", "sq_norm", "l1", "linf")


@dataclass
class SampleResult:
    """Per-network rows (network order) and per-input maps, with provenance.

    ``rows["<grad>.<stat>"]`` holds one value per network for every gradient
    (``logit`` for logit k, ``logit0``… for all logits, ``loss``) and statistic
    (:data:`STATISTICS`, plus ``lq`` when ``q`` is given). ``rows["f<k>"]`` are
    the logits; with the loss target, ``rows["class"]``, ``rows["loss_value"]``,
    ``rows["q_c"]`` and ``rows["eq9_factor"]`` = ``(1−q_c)² + Σ_{k≠c} q_k²``.
    ``maps["<grad>"]`` is ``Σ_networks g_i²`` per input, shape ``input_shape``.
    """

    rows: dict[str, np.ndarray]
    maps: dict[str, np.ndarray]
    n_networks: int
    gradients: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def column(self, gradient: str, statistic: str) -> np.ndarray:
        """One statistic of one gradient, per network."""
        return self.rows[f"{gradient}.{statistic}"]


def _compute(plan: Plan, lo: int, hi: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Rows and map sums for networks ``[lo, hi)``, computed one aligned window at a time.

    Every kernel call sees a batch whose shape does not depend on how the networks were split: the aligned
    window of ``plan.window`` networks that holds them (:func:`~theorycheck.sampler._memory.windows`). cuBLAS,
    cuDNN and oneDNN choose kernels, and so the rounding, by batch shape (oneDNN's AVX2 convolutions differ
    between 64 and 33 networks, measured 2026-12-04 with ``ONEDNN_MAX_CPU_ISA=AVX2``). The per-network
    reductions also run on the whole window (CUDA reductions are ordered by tensor shape); only the requested
    rows are kept.
    """
    assert plan.window is not None
    parts: list[dict[str, torch.Tensor]] = []
    sums: dict[str, torch.Tensor] = {}
    for first, last in windows(lo, hi, plan.window):
        rows, window_sums = _compute_window(plan, first, last, max(lo, first), min(hi, last))
        parts.append(rows)
        for key, val in window_sums.items():
            sums[key] = sums[key] + val if key in sums else val
    if len(parts) == 1:
        return parts[0], sums
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}, sums


def _compute_window(
    plan: Plan, first: int, last: int, lo: int, hi: int
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Networks ``[first, last)`` computed together; the rows and map sums of ``[lo, hi)`` kept."""
    blocks = range(first // RNG_BLOCK, (last + RNG_BLOCK - 1) // RNG_BLOCK)
    offset = first - blocks.start * RNG_BLOCK
    grads, logits, classes, extra, x = _gradients(plan, blocks, slice(offset, offset + last - first))
    keep = slice(lo - first, hi - first)
    rows, sums = reduce_rows(
        plan.names, grads, logits, classes, x, keep, q=plan.q, maps=plan.maps, reducers=plan.reducers
    )
    return {**rows, **{k: v[keep] for k, v in extra.items()}}, sums


def _gradients(
    plan: Plan, blocks: range, sl: slice
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor], torch.Tensor]:
    """Input gradients ``(B, T, d)``, logits ``(B, K)``, loss classes, extra rows and inputs of networks ``sl``."""
    n = sl.stop - sl.start
    program = plan.program
    x = draw_inputs(plan, blocks)[sl]
    needs_loss = any(kind == "loss" for _, kind, _ in plan.names)
    if plan.conditional:
        fwd, bwd = conditional_noise_shapes(program, len(plan.names))
        zf: list[list[torch.Tensor]] = [[] for _ in fwd]
        zb: list[list[torch.Tensor]] = [[] for _ in bwd]
        for b in blocks:
            gf = block_generator(plan.seed, STREAM_WEIGHTS, b, plan.device)
            gb = block_generator(plan.seed, STREAM_BACKWARD, b, plan.device)
            for i, width in enumerate(fwd):
                zf[i].append(torch.randn((RNG_BLOCK, width), generator=gf, device=plan.device))
            for i, shp in enumerate(bwd):
                zb[i].append(torch.randn((RNG_BLOCK, *shp), generator=gb, device=plan.device))
        z = [torch.cat(p)[sl].to(plan.dtype) for p in zf]
        g = [torch.cat(p)[sl].to(plan.dtype) for p in zb]
        with torch.no_grad():
            logits, state = conditional_forward(program, x, z)
            classes = draw_classes(plan, blocks, logits, sl) if needs_loss else None
            grads = conditional_backward(state, backward_vectors(plan, logits, classes), g)
        return grads, logits, classes, {}, x
    parts: dict[int, list[torch.Tensor]] = {}
    for b in blocks:
        gen = block_generator(plan.seed, STREAM_WEIGHTS, b, plan.device)
        for idx, w in program.draw_block(b, gen, RNG_BLOCK).items():
            parts.setdefault(idx, []).append(w)
    weights = {idx: torch.cat(p)[sl].to(plan.dtype) for idx, p in parts.items()}
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = program.forward(x, weights, conv=plan.conv)
        classes = draw_classes(plan, blocks, logits.detach(), sl) if needs_loss else None
        c = backward_vectors(plan, logits.detach(), classes)
        grads_list = []
        for t in range(c.shape[2]):
            (gx,) = torch.autograd.grad((logits * c[:, :, t]).sum(), x, retain_graph=t < c.shape[2] - 1)
            grads_list.append(gx.reshape(n, -1))
    grads = torch.stack(grads_list, dim=1)
    extra: dict[str, torch.Tensor] = {}
    if plan.fgsm is not None:
        # FGSM (l_inf): the loss increase at x + ε sign(∂ₓL), same weights and class
        t = next(i for i, (_, kind, _) in enumerate(plan.names) if kind == "loss")
        assert classes is not None
        with torch.no_grad():
            x_adv = x.detach() + plan.fgsm * torch.sign(grads[:, t, :]).reshape(x.shape)
            adv = program.forward(x_adv, weights, conv=plan.conv)
            rows = torch.arange(n, device=plan.device)
            before = -torch.log_softmax(logits.detach().to(torch.float64), 1)[rows, classes]
            after = -torch.log_softmax(adv.to(torch.float64), 1)[rows, classes]
            extra["fgsm_gain"] = after - before
    return grads, logits.detach(), classes, extra, x.detach()


def _halve(chunk: int) -> int:
    """Half a chunk, kept a multiple or a divisor of :data:`RNG_BLOCK`."""
    return chunk // 2 if chunk <= RNG_BLOCK else max(RNG_BLOCK, chunk // 2 // RNG_BLOCK * RNG_BLOCK)


def _back_off(step: int, window: int, *, cuda: bool) -> tuple[int, int]:
    """(chunk, window) after an out-of-memory error.

    On the CPU the chunk halves down to the window, which leaves the rows unchanged; only when one window does not
    fit does the window halve, which changes the rows at round-off (recorded as ``window_backoffs``). On CUDA the
    chunk is the window."""
    if not cuda and step > window:
        return max(window, _halve(step)), window
    current = step if cuda else window
    if current <= MIN_WINDOW:
        raise TheorycheckError(
            f"out of memory with {MIN_WINDOW} networks per step: the architecture is too large for this device; "
            "use a smaller input or width"
        )
    smaller = _halve(current) if cuda else window // 2
    return smaller, smaller


def sample(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    networks: int,
    seed: int,
    targets: Sequence[TargetKind] = ("logit",),
    output: int = 0,
    loss_class: str | int = "argmax",
    inputs: str | torch.Tensor = "gaussian",
    device: str | torch.device = "auto",
    precision: str = "fp32",
    method: str = "auto",
    chunk: int | None = None,
    maps: bool = False,
    q: float | None = None,
    fgsm: float | None = None,
    input_seed: int | None = None,
    memory_format: str = "auto",
    conv_kernel: str = "grouped",
    start: int = 0,
    progress: Callable[[int], None] | None = None,
    reducers: Mapping[str, Reducer] | None = None,
) -> SampleResult:
    """Sample ``networks`` He-initialised networks (indices ``start…``) and measure input gradients.

    Network ``i``'s weights and input depend only on ``(seed, i)``. Kernel libraries pick their algorithms,
    and so their rounding, by batch shape, so every kernel call computes a whole aligned *window* of networks
    and keeps the requested rows. On the CPU the window depends only on the program, the precision and the
    targets (:func:`~theorycheck.sampler._memory.cpu_window`): rows are the same bit for bit whatever
    ``chunk``, ``start``, resumption, worker split or out-of-memory back-off (down to one window; below it the
    window halves, recorded in the provenance). On CUDA the window is the ``chunk``: rows are the same bit for
    bit whatever ``start``, ``networks``, resumption or workers, for one ``chunk``; the default ``chunk``
    depends only on the program, the precision and the card's total memory. Two different chunks agree to
    round-off (tests/gpu). cuDNN runs in deterministic mode (``torch.backends.cudnn.deterministic``).

    Args:
        targets: any of ``logit`` (logit ``output``), ``logits`` (all K), ``loss``
            (cross-entropy for class ``loss_class``: ``argmax``, ``random`` or an index).
        inputs: ``gaussian`` (N(0, I)), ``uniform`` (unit variance), ``fixed``
            (one Gaussian input shared by all networks), or a tensor: one input
            of ``input_shape`` shared by all, or one row per network.
        precision: ``fp64``, ``fp32`` (TF32 off), ``tf32`` or ``bf16``.
        method: ``explicit`` (draw every weight), ``conditional`` (exact
            conditional-Gaussian draws, dense stacks only) or ``auto``.
        chunk: networks per step; default from the memory (on CUDA: the card's total
            memory, so that it is the same on every run). On an out-of-memory error the
            chunk is halved and the step retried (recorded in ``chunk_backoffs``).
        maps: also accumulate ``Σ_networks g_i²`` per input.
        q: also record ``‖g‖_q``.
        fgsm: also record ``fgsm_gain = L(x + ε sign ∂ₓL) − L(x)`` for ε = ``fgsm``
            (needs the ``loss`` target and explicit weights).
        input_seed: seed of the shared input for ``inputs="fixed"`` (default: ``seed``), so that
            runs with different seeds can share one input.
        memory_format: layout of the grouped convolutions: ``nchw``, ``nhwc`` or
            ``auto`` (NCHW: NHWC measured slower on the CPU and on an H100,
            benchmarks/RESULTS.md).
        conv_kernel: ``grouped`` (default: one grouped convolution per layer, what ``vmap`` of
            ``conv2d`` becomes) or ``triton`` (implicit-GEMM Triton kernel for stride-1
            zero/valid/circular convolutions, CUDA, fp32 or tf32; other convolutions stay grouped).
        progress: called with the number of networks done after each step.
        reducers: user statistics ``{name: fn}``, ``fn(grad (B, *input_shape), logits (B, K), x (B, *input_shape))
            -> (B,)`` in float64, recorded as ``rows["<gradient>.<name>"]`` for every gradient.
    """
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    if not isinstance(networks, int) or networks <= 0:
        raise TheorycheckError(f"networks must be a positive integer, got {networks!r}")
    if q is not None and not (q >= 1 and math.isfinite(q)):
        raise TheorycheckError(f"q must be a finite number >= 1, got {q!r}")
    program = compile_program(arch, shape)
    dev = resolve_device(device)
    dtype = compute_dtype(precision)
    names = target_names(targets, output, program.n_logits)
    if not 0 <= output < program.n_logits:
        raise TheorycheckError(f"output {output} is out of range: the network has {program.n_logits} logits")
    if isinstance(loss_class, int) and not 0 <= loss_class < program.n_logits:
        raise TheorycheckError(f"loss class {loss_class} is out of range (0..{program.n_logits - 1})")
    if isinstance(loss_class, str) and loss_class not in ("argmax", "random"):
        raise TheorycheckError(f"loss class must be argmax, random or an index, got {loss_class!r}")
    if isinstance(inputs, np.ndarray):  # an array is a tensor of inputs too
        inputs = torch.as_tensor(inputs)
    if isinstance(inputs, str) and inputs not in ("gaussian", "uniform", "fixed"):
        raise TheorycheckError(f"unknown inputs {inputs!r}; use gaussian, uniform, fixed or a tensor")
    if not isinstance(inputs, (str, torch.Tensor)):
        raise TheorycheckError(f"inputs must be gaussian, uniform, fixed or a tensor, got {type(inputs).__name__}")
    if (
        isinstance(inputs, torch.Tensor)
        and tuple(inputs.shape) != shape
        and (tuple(inputs.shape[1:]) != shape or inputs.shape[0] < start + networks)
    ):
        raise TheorycheckError(
            f"input tensor of shape {tuple(inputs.shape)} fits neither {shape} nor ({start + networks}, *{shape})"
        )
    why_not = supports_conditional(program)
    if method == "auto":
        conditional = why_not is None
    elif method == "conditional":
        if why_not is not None:
            raise TheorycheckError(f"method 'conditional' does not apply: {why_not}")
        conditional = True
    elif method == "explicit":
        conditional = False
    else:
        raise TheorycheckError(f"unknown method {method!r}; use auto, explicit or conditional")

    if memory_format not in ("auto", "nchw", "nhwc"):
        raise TheorycheckError(f"unknown memory format {memory_format!r}; use auto, nchw or nhwc")
    if conv_kernel not in ("grouped", "triton"):
        raise TheorycheckError(f"unknown conv kernel {conv_kernel!r}; use grouped or triton")
    if conv_kernel == "triton":
        ensure_triton(dev, precision)
    conv = ConvSetup(conv_kernel, memory_format == "nhwc", precision == "tf32")
    if fgsm is not None:
        if "loss" not in targets:
            raise TheorycheckError("fgsm needs the loss target")
        if not (fgsm > 0 and math.isfinite(fgsm)):
            raise TheorycheckError(f"fgsm must be a positive number, got {fgsm!r}")
        if conditional:
            if method == "conditional":
                raise TheorycheckError("fgsm needs explicit weights; use method 'explicit'")
            conditional = False
    plan = Plan(
        program,
        dev,
        dtype,
        seed,
        names,
        loss_class,
        inputs,
        conditional,
        q,
        maps,
        conv,
        fgsm,
        seed if input_seed is None else input_seed,
        reducers=dict(reducers) if reducers else None,
    )
    step = chunk or plan_chunk(program, dev, dtype.itemsize, explicit=not conditional, n_targets=len(names))
    if step <= 0 or (step % RNG_BLOCK and RNG_BLOCK % step):
        raise TheorycheckError(f"chunk must be a multiple or a divisor of {RNG_BLOCK}, got {step}")
    if chunk is not None and dev.type == "cpu":
        total, _ = per_network_footprint(program, explicit=not conditional, n_targets=len(names))
        require_memory(
            total * dtype.itemsize * chunk,
            f"a chunk of {chunk} networks",
            hint="use a smaller --chunk, or leave it out to let the planner size it",
        )
    if dev.type == "cuda":  # cuBLAS/cuDNN pick kernels by batch size: one chunk is one window
        step = max(step, MIN_WINDOW)
        plan.window = step
    else:
        plan.window = cpu_window(program, dtype.itemsize, explicit=not conditional, n_targets=len(names))
        if conv_kernel == "triton":  # Triton's CPU interpreter (tests) pays per network: the smallest window
            plan.window = MIN_WINDOW
    t0 = time.perf_counter()
    row_parts: dict[str, list[np.ndarray]] = {}
    map_sums: dict[str, torch.Tensor] = {}
    backoffs: list[int] = []
    window_backoffs: list[int] = []
    done = 0
    stop = start + networks
    with precision_mode(precision):
        lo = start
        while lo < stop:
            hi = min(stop, (lo // step + 1) * step)
            try:
                rows, sums = _compute(plan, lo, hi)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                step, window = _back_off(step, plan.window, cuda=dev.type == "cuda")
                if dev.type != "cuda" and window != plan.window:
                    window_backoffs.append(window)
                plan.window = window
                backoffs.append(step)
                continue
            for key, val in rows.items():
                row_parts.setdefault(key, []).append(val.cpu().numpy())
            for key, val in sums.items():
                map_sums[key] = map_sums[key] + val if key in map_sums else val
            done += hi - lo
            if progress is not None:
                progress(done)
            lo = hi
    elapsed = time.perf_counter() - t0
    out_rows = {"network": np.arange(start, stop)}
    out_rows.update({k: np.concatenate(v) for k, v in row_parts.items()})
    out_maps = {k: v.cpu().numpy().reshape(shape) for k, v in map_sums.items()}
    prov = provenance(
        dev,
        precision,
        seed,
        method="conditional" if conditional else "explicit",
        conv_kernel=conv_kernel,
        chunk=step,
        chunk_backoffs=backoffs,
        window=plan.window,
        window_backoffs=window_backoffs,
        networks=networks,
        start=start,
        seconds=elapsed,
        architecture=arch.to_text(),
        input_shape=list(shape),
        targets=list(targets),
        output=output,
        loss_class=loss_class,
        inputs=inputs if isinstance(inputs, str) else "tensor",
    )
    return SampleResult(out_rows, out_maps, networks, tuple(n for n, _, _ in names), prov)
