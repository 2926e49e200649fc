"""Batched Monte Carlo sampling of random networks and their input gradients."""

from theorycheck.sampler._modules import he_init as he_init
from theorycheck.sampler._modules import sample_module as sample_module
from theorycheck.sampler._precision import PRECISIONS as PRECISIONS
from theorycheck.sampler._precision import precision_mode as precision_mode
from theorycheck.sampler._program import Program as Program
from theorycheck.sampler._program import compile_program as compile_program
from theorycheck.sampler._provenance import resolve_device as resolve_device
from theorycheck.sampler._rng import RNG_BLOCK as RNG_BLOCK
from theorycheck.sampler._sample import STATISTICS as STATISTICS
from theorycheck.sampler._sample import SampleResult as SampleResult
from theorycheck.sampler._sample import sample as sample

__all__ = [
    "PRECISIONS",
    "RNG_BLOCK",
    "STATISTICS",
    "Program",
    "SampleResult",
    "compile_program",
    "he_init",
    "precision_mode",
    "resolve_device",
    "sample",
    "sample_module",
]
