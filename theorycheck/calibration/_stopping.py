"""Optional stopping: the false-verdict rate of a study that doubles an inconclusive claim's networks."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SPENDING", "optional_stopping"]


#: how α is spent over the looks of a doubling study: naive (α at every look, the old runner), or the runner's
#: Bonferroni α-spending (α/J at each of the J planned looks, :func:`theorycheck.stats.looks`)
SPENDING = ("naive", "bonferroni")


def optional_stopping(
    *,
    looks: int = 4,
    first: int = 200,
    noise: float = 0.25,
    replicates: int = 20_000,
    spending: str = "bonferroni",
    seed: int = 0,
) -> tuple[float, int]:
    """Rate of false *verified* when the true value sits exactly on the margin (+5% relative).

    Each replicate draws per-network values with mean ``1.05`` (prediction 1, margin ±5%) and standard deviation
    ``noise`` (0.25: a standard error of 1.8% at the first look, so every look can decide), judges them with the
    verdicts' :func:`theorycheck.stats.decide` after ``first`` networks, and doubles the networks while the
    verdict is inconclusive, up to ``looks`` looks (the study runner's design). Returns the rate of *verified* and
    the number of replicates.
    """
    from theorycheck.claims._parts import CONSTANT
    from theorycheck.stats import decide
    from theorycheck.stats import looks as sequential_looks

    if spending not in SPENDING:
        raise ValueError(f"unknown spending {spending!r}; choose from {', '.join(SPENDING)}")
    rng = np.random.default_rng(seed)
    total = first * 2 ** (looks - 1)
    false_verified = 0
    with sequential_looks(looks if spending == "bonferroni" else 1):
        for _ in range(replicates):
            x = 1.05 + noise * rng.standard_normal(total)
            n = first
            for _look in range(looks):
                head = x[:n]
                decision = decide(float(head.mean()), float(head.std(ddof=1) / math.sqrt(n)), 1.0, CONSTANT)
                if decision.verdict != "inconclusive":
                    false_verified += decision.verdict == "verified"
                    break
                n *= 2
    return false_verified / replicates, replicates
