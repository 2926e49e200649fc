"""Study parameters of claims and their validators.

Every parameter carries a validator (the registry refuses one without): ``check(value)`` returns None when the
value is valid, else what is wrong, and the study names the field in its error. The validators bound sizes and
budgets so that no accepted study can run the machine out of memory or run for ever.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from theorycheck._options import MAX_NETWORKS
from theorycheck.errors import TheorycheckError

__all__ = [
    "MAX_NETWORKS",
    "MAX_SIZE",
    "Param",
    "arch_specs",
    "even_positive_int",
    "int_range",
    "loss_class",
    "network_count",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "positive_int_list",
    "split_spec",
    "square_pools",
    "sweep",
]


Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Param:
    """A study parameter of a claim: default value and its validator (required: the registry refuses a
    parameter without one). ``check(value)`` returns None when the value is valid, else what is wrong."""

    default: Any
    help: str
    check: Check

    def __post_init__(self) -> None:
        if not callable(self.check):
            raise TypeError(f"parameter {self.help!r} has no validator")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int_list(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(_is_int(v) and 0 < v <= MAX_SIZE for v in value):
        return f"must be a non-empty list of positive integers up to {MAX_SIZE}"
    if len(set(value)) != len(value):
        return "must not repeat a value"
    return None


def sweep(min_points: int = 2) -> Check:
    """A list of distinct positive integers with at least ``min_points`` values (a fitted slope needs them)."""

    def check(value: Any) -> str | None:
        problem = positive_int_list(value)
        if problem:
            return problem
        if len(value) < min_points:
            return f"must hold at least {min_points} distinct values (the fit needs them)"
        return None

    check.__name__ = f"sweep_{min_points}"
    return check


def square_pools(value: Any) -> str | None:
    """Pool sizes n = s² with s ≥ 2 (Theorem 6 pools s×s windows with stride s), at least two of them."""
    problem = sweep(2)(value)
    if problem:
        return problem
    bad = [n for n in value if math.isqrt(n) ** 2 != n or n < 4]
    if bad:
        return f"must be perfect squares n = s² ≥ 4 (s×s pooling windows), not {bad[0]}"
    return None


#: largest size parameter (a width, number of channels or resolution), as for the DSL's integer arguments
MAX_SIZE = 2**24


def positive_int(value: Any) -> str | None:
    """A size: a width, number of channels, resolution or depth (1 to :data:`MAX_SIZE`)."""
    if not _is_int(value) or not 0 < value <= MAX_SIZE:
        return f"must be a positive integer up to {MAX_SIZE}"
    return None


def int_range(low: int, high: int) -> Check:
    """An integer from ``low`` to ``high``."""

    def check(value: Any) -> str | None:
        if not _is_int(value) or not low <= value <= high:
            return f"must be an integer from {low} to {high}"
        return None

    check.__name__ = f"int_range_{low}_{high}"
    return check


def even_positive_int(value: Any) -> str | None:
    if not _is_int(value) or not 0 < value <= MAX_SIZE or value % 2:
        return f"must be an even positive integer up to {MAX_SIZE}"
    return None


def nonnegative_int(value: Any) -> str | None:
    """A seed or an index: 0 to 2^63 − 1."""
    if not _is_int(value) or not 0 <= value < 2**63:
        return "must be a non-negative integer below 2^63"
    return None


def network_count(value: Any) -> str | None:
    """Networks per cell: at least 2 (an interval needs a standard deviation), at most :data:`MAX_NETWORKS`."""
    if not _is_int(value) or not 2 <= value <= MAX_NETWORKS:
        return f"must be an integer from 2 to {MAX_NETWORKS}"
    return None


def positive_float(value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        return "must be a positive finite number"
    return None


def loss_class(value: Any) -> str | None:
    """The class c of the loss: ``"random"``, ``"argmax"`` or a non-negative class index."""
    if value in ("random", "argmax") or (_is_int(value) and 0 <= value <= MAX_SIZE):
        return None
    return 'must be "random", "argmax" or a class index (a non-negative integer)'


def split_spec(spec: str) -> tuple[str, str]:
    """``"ARCH @ SHAPE"`` → ``(ARCH, SHAPE)`` (validated by :func:`arch_specs`)."""
    arch, shape = spec.split("@")
    return arch.strip(), shape.strip()


def arch_specs(value: Any) -> str | None:
    """A non-empty list of ``"ARCH @ SHAPE"`` strings, each a valid architecture on its input shape."""
    from theorycheck.graph import Architecture

    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return 'must be a non-empty list of "ARCH @ SHAPE" strings'
    for i, spec in enumerate(value):
        if spec.count("@") != 1:
            return f'item {i} must be "ARCH @ SHAPE" with exactly one @ (found {spec.count("@")}): {spec[:80]!r}'
        arch, shape = split_spec(spec)
        try:
            Architecture.parse(arch).output_shape(shape)
        except TheorycheckError as exc:
            first = str(exc).splitlines()[0]
            return f"item {i} ({spec[:80]!r}) is not a valid architecture on its shape: {first}"
    return None
