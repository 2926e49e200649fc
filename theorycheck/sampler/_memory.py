"""Chunk sizes from the memory available, and recognising out-of-memory errors."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from theorycheck._memory import require_memory
from theorycheck.errors import TheorycheckError
from theorycheck.sampler._program import Program, all_ops
from theorycheck.sampler._rng import RNG_BLOCK

__all__ = [
    "MAX_ELEMENTS",
    "MIN_WINDOW",
    "available_bytes",
    "cpu_window",
    "is_out_of_memory",
    "plan_chunk",
    "smaller_window",
    "windows",
]

#: no tensor may reach 2**31 elements (known conv and indexing bugs beyond it)
MAX_ELEMENTS = 2**31 - 1
#: CPU chunks beyond this buy no speed and cost memory
CPU_BUDGET = 1 << 30
#: on CUDA every step computes a whole window of one chunk (bit-identical splits), so a run of
#: n networks computes up to one chunk more than n; 1024 networks already fill an H100
CUDA_MAX_CHUNK = 1024
#: the smallest compute window: batches of one or two networks take other CPU kernel paths
MIN_WINDOW = 4
#: CPU compute windows hold at most this many bytes: a constant, so that the window (and with it every kernel's
#: batch shape, hence the rounding) depends on the program alone, never on the memory free at the time
CPU_WINDOW_BYTES = 256 << 20


def available_bytes(device: torch.device) -> int:
    """Free memory usable by one run on ``device``."""
    if device.type == "cuda":  # the card's total, not what is free now: the chunk sets the bits on CUDA
        return int(torch.cuda.get_device_properties(device).total_memory * 0.5)
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
        return min(int(info["MemAvailable"] * 0.25), CPU_BUDGET)
    except (OSError, KeyError, ValueError):  # pragma: no cover - non-Linux
        return CPU_BUDGET


def per_network_footprint(program: Program, *, explicit: bool, n_targets: int) -> tuple[int, int]:
    """(elements held per network, largest single tensor per network, in elements)."""
    ops = all_ops(program.ops)
    acts = [math.prod(op.out_shape) for op in ops] + [program.d]
    largest = max(acts)
    total = 3 * sum(acts) + program.d * (n_targets + 1)
    if explicit:
        weights = [math.prod(op.weight_shape) for op in ops if op.node.weighted]
        total += sum(weights)
        largest = max([largest, *weights])
        # padded conv inputs
        largest = max([largest, *(math.prod(op.in_shape) * 4 for op in ops if op.node.kind == "conv")])
    return total, largest


def plan_chunk(program: Program, device: torch.device, itemsize: int, *, explicit: bool, n_targets: int) -> int:
    """Networks per step: a multiple of :data:`RNG_BLOCK` (or a divisor of it), within memory and size limits."""
    total, largest = per_network_footprint(program, explicit=explicit, n_targets=n_targets)
    by_memory = available_bytes(device) // max(1, total * itemsize)
    by_size = MAX_ELEMENTS // max(1, largest)
    if by_memory < 1 and device.type == "cpu":
        require_memory(total * itemsize, "one network of this architecture", share=1.0)
    if by_size < 1:
        raise TheorycheckError(
            f"one network of this architecture holds a tensor of {largest:.3g} elements, more than the "
            f"{MAX_ELEMENTS} that PyTorch's kernels index safely; use a smaller input, width or number of channels"
        )
    limit = max(1, min(by_memory, by_size, CUDA_MAX_CHUNK if device.type == "cuda" else 8192))
    if limit >= RNG_BLOCK:
        return (limit // RNG_BLOCK) * RNG_BLOCK
    return 1 << (limit.bit_length() - 1)


def cpu_window(program: Program, itemsize: int, *, explicit: bool, n_targets: int) -> int:
    """Networks computed together on the CPU: the largest of 32, 16, 8, 4 whose tensors fit in
    :data:`CPU_WINDOW_BYTES` (4 when even that does not). A function of the program, the precision and the
    targets only, so rows are bit-identical whatever the chunk, start offset, worker split or resumption."""
    total, largest = per_network_footprint(program, explicit=explicit, n_targets=n_targets)
    window = RNG_BLOCK
    while window > MIN_WINDOW and (window * total * itemsize > CPU_WINDOW_BYTES or window * largest > MAX_ELEMENTS):
        window //= 2
    return window


def windows(lo: int, hi: int, window: int) -> Iterator[tuple[int, int]]:
    """The aligned windows ``[first, first + window)`` that cover networks ``[lo, hi)``."""
    first = lo // window * window
    while first < hi:
        yield first, first + window
        first += window


def smaller_window(window: int) -> int | None:
    """The next window after an out-of-memory error at ``window`` (None below :data:`MIN_WINDOW`)."""
    return window // 2 if window // 2 >= MIN_WINDOW else None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA and CPU allocation failures."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
