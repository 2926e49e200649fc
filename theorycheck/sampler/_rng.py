"""Reproducible random streams: network ``i`` depends only on ``(seed, i)``.

Networks are grouped in blocks of :data:`RNG_BLOCK`. Block ``b`` draws all its
tensors from one generator seeded by ``SeedSequence((seed, stream, b))``, in a
fixed order and with fixed shapes, so network ``i``'s weights and input are the
same whatever the chunk size, the number of workers, or which networks are
computed together. There is no global RNG state.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["RNG_BLOCK", "STREAM_INPUT", "STREAM_WEIGHTS", "block_generator", "blocks_for"]

RNG_BLOCK = 32
STREAM_WEIGHTS = 0
STREAM_INPUT = 1
STREAM_FIXED_INPUT = 2
STREAM_CLASS = 3


def block_generator(seed: int, stream: int, block: int, device: torch.device) -> torch.Generator:
    """A fresh generator for ``block`` of ``stream`` under ``seed``."""
    entropy = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, stream, block]).generate_state(2, np.uint64)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(entropy[0] >> np.uint64(1)))
    return gen


def blocks_for(start: int, stop: int) -> range:
    """Indices of the RNG blocks covering networks ``[start, stop)``."""
    return range(start // RNG_BLOCK, (stop + RNG_BLOCK - 1) // RNG_BLOCK)
