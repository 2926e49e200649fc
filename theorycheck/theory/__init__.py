"""Exact predictions of the (H) theory, computed from the graph (float64)."""

from theorycheck.theory._gaussian import expected_l1 as expected_l1
from theorycheck.theory._gaussian import expected_linf as expected_linf
from theorycheck.theory._gaussian import linf_asymptote as linf_asymptote
from theorycheck.theory._kernel import KernelSummary as KernelSummary
from theorycheck.theory._kernel import kernel_predict as kernel_predict
from theorycheck.theory._kernel import kernel_summary as kernel_summary
from theorycheck.theory._predict import Prediction as Prediction
from theorycheck.theory._predict import Summary as Summary
from theorycheck.theory._predict import in_degrees as in_degrees
from theorycheck.theory._predict import lemma7_sum as lemma7_sum
from theorycheck.theory._predict import predict as predict
from theorycheck.theory._tails import GradientTail as GradientTail
from theorycheck.theory._tails import gradient_tail as gradient_tail

__all__ = [
    "GradientTail",
    "Prediction",
    "Summary",
    "expected_l1",
    "expected_linf",
    "gradient_tail",
    "in_degrees",
    "lemma7_sum",
    "linf_asymptote",
    "predict",
]
