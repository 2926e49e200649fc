"""What every property module shares: the claim record (parts and mutants), the builders, and small helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "TINY",
    "TOLERANCE",
    "Property",
    "PropertyClaim",
    "Raw",
    "mutated",
    "planted_false_inequality",
    "prop",
    "relative_excess",
    "strided_conv",
]

TINY = 1e-300
TOLERANCE = 1e-10
Raw = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Property:
    """An inequality or identity with its parameterisation.

    ``violation`` returns a scalar tensor: > 0 (beyond the tolerance) means the
    claim fails at these inputs. It must be differentiable in the raw tensors
    for the gradient search (piecewise-differentiable is fine).
    """

    id: str
    description: str
    structures: list[dict[str, Any]]
    shapes: Callable[[dict[str, Any]], dict[str, tuple[int, ...]]]
    violation: Callable[[dict[str, Any], Raw], torch.Tensor]
    tolerance: float = TOLERANCE
    #: the violation is relative (an excess over the terms' scale): the built-in properties' and ``lhs``/``rhs``
    #: claims'; a user's own ``violation`` function is in whatever units it returns
    relative: bool = True


class PropertyClaim:
    """A claim's parts (properties) and its negative controls (mutants that must be found false); read-only."""

    __slots__ = ("_controls", "_parts")

    def __init__(self, parts: Sequence[Property], controls: Sequence[Property]) -> None:
        self._parts, self._controls = tuple(parts), tuple(controls)

    @property
    def parts(self) -> tuple[Property, ...]:
        return self._parts

    @property
    def controls(self) -> tuple[Property, ...]:
        return self._controls


def prop(
    pid: str,
    description: str,
    structures: list[dict[str, Any]],
    shapes: Callable[[dict[str, Any]], Any],
    violation: Callable[[dict[str, Any], Raw], torch.Tensor],
) -> Property:
    """A property with the default tolerance."""
    return Property(pid, description, structures, shapes, violation)


def mutated(original: Property, pid: str, description: str, **changes: Any) -> Property:
    """``original`` with ``changes`` added to every structure: the violation reads them to break the claim."""
    return Property(
        pid,
        description,
        [{**s, **changes} for s in original.structures],
        original.shapes,
        original.violation,
        original.tolerance,
    )


def relative_excess(excess: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Largest ``excess / scale`` (a relative violation of ``lhs ≤ rhs`` written as ``excess = lhs − rhs``)."""
    return (excess / (scale.abs() + TINY)).max()


def strided_conv(w: torch.Tensor, r: torch.Tensor, stride: int) -> torch.Tensor:
    """Peck's ``W ⋆_s R`` (eq. of Lemma B.1.2): a valid, strided cross-correlation."""
    return F.conv2d(r.unsqueeze(0), w, stride=stride)[0]


def planted_false_inequality() -> Property:
    """A false inequality whose counterexamples are rare: Σ_{i≤8} x_i ≤ 7.9 on [−1, 1]^8 (x = tanh(raw))."""

    def violation(struct: dict[str, Any], raw: Raw) -> torch.Tensor:
        return torch.tanh(raw["x"]).sum() / 7.9 - 1.0

    return Property("Σ x_i ≤ 7.9 on [−1,1]^8 (planted, false)", "planted", [{}], lambda s: {"x": (8,)}, violation)
