"""Exact predictions from the graph alone: the (H) level (:func:`predict`), the infinite-width kernel level
(:func:`kernel_predict`, torch, loaded on first use) and the tails of the gradient (:func:`gradient_tail`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from theorycheck.theory._gaussian import expected_l1 as expected_l1
from theorycheck.theory._gaussian import expected_linf as expected_linf
from theorycheck.theory._gaussian import linf_asymptote as linf_asymptote
from theorycheck.theory._predict import Prediction as Prediction
from theorycheck.theory._predict import Summary as Summary
from theorycheck.theory._predict import in_degrees as in_degrees
from theorycheck.theory._predict import lemma7_sum as lemma7_sum
from theorycheck.theory._predict import predict as predict

if TYPE_CHECKING:
    from theorycheck.theory._kernel import kernel_predict as kernel_predict
    from theorycheck.theory._kernel_summary import KernelSummary as KernelSummary
    from theorycheck.theory._kernel_summary import kernel_summary as kernel_summary
    from theorycheck.theory._tails import GradientTail as GradientTail
    from theorycheck.theory._tails import gradient_tail as gradient_tail

__all__ = [
    "GradientTail",
    "KernelSummary",
    "Prediction",
    "Summary",
    "expected_l1",
    "expected_linf",
    "gradient_tail",
    "in_degrees",
    "kernel_predict",
    "kernel_summary",
    "lemma7_sum",
    "linf_asymptote",
    "predict",
]

_LAZY = {
    "KernelSummary": "theorycheck.theory._kernel_summary",
    "kernel_predict": "theorycheck.theory._kernel",
    "kernel_summary": "theorycheck.theory._kernel_summary",
    "GradientTail": "theorycheck.theory._tails",
    "gradient_tail": "theorycheck.theory._tails",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'theorycheck.theory' has no attribute {name!r}")
