"""Explicit numerical precision for sampling.

PyTorch leaves cuDNN convolutions in TF32 by default
(``torch.backends.cudnn.allow_tf32`` is True), so "fp32" is not fp32 unless
you say so. Every run chooses one of these and records it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch

from theorycheck._options import PRECISIONS
from theorycheck.errors import TheorycheckError

__all__ = ["PRECISIONS", "Precision", "compute_dtype", "precision_mode"]

Precision = Literal["fp64", "fp32", "tf32", "bf16"]


def compute_dtype(precision: str) -> torch.dtype:
    """Tensor dtype used for weights, activations and gradients."""
    try:
        return {"fp64": torch.float64, "fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}[precision]
    except KeyError:
        raise TheorycheckError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}") from None


@contextmanager
def precision_mode(precision: str) -> Iterator[None]:
    """Set the TF32 switches for ``precision`` (on only for ``tf32``) and cuDNN's deterministic
    algorithms (no autotuning), then restore them.

    Deterministic cuDNN makes CUDA runs repeat bit for bit; measured on an H100 it is as fast
    as the default for the grouped convolutions used here (benchmarks/conv_layouts.py).
    """
    compute_dtype(precision)
    tf32 = precision == "tf32"
    cudnn = torch.backends.cudnn
    saved = (torch.backends.cuda.matmul.allow_tf32, cudnn.allow_tf32, cudnn.deterministic, cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = tf32
    cudnn.allow_tf32 = tf32
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, cudnn.allow_tf32, cudnn.deterministic, cudnn.benchmark = saved
