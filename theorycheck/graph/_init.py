"""Weight initialisation carried by each weighted node."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["DISTRIBUTIONS", "SCALINGS", "Init"]

Distribution = Literal["normal", "uniform", "rademacher"]
Scaling = Literal["fan_in", "none"]
DISTRIBUTIONS: tuple[str, ...] = ("normal", "uniform", "rademacher")
SCALINGS: tuple[str, ...] = ("fan_in", "none")


@dataclass(frozen=True)
class Init:
    """Distribution and variance rule of a layer's weights (no bias).

    ``Var[w] = gain / fan_in`` for ``scaling="fan_in"`` (He et al. 2015 with
    ``gain=2``, hypothesis H3 of Simon-Gabriel et al. 2019), or ``Var[w] = gain``
    for ``scaling="none"`` (no fan-in scaling: a negative control).
    Every distribution has mean 0; ``uniform`` is U(-a, a) with a = sqrt(3 Var),
    ``rademacher`` is ±sqrt(Var).
    """

    dist: Distribution = "normal"
    gain: float = 2.0
    scaling: Scaling = "fan_in"

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {self.dist!r}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {self.scaling!r}")
        if not (math.isfinite(self.gain) and self.gain > 0):
            raise ValueError(f"gain must be a positive finite number, got {self.gain!r}")

    def variance(self, fan_in: int) -> float:
        """Weight variance for a layer whose nominal fan-in is ``fan_in``."""
        return self.gain / fan_in if self.scaling == "fan_in" else self.gain


HE = Init()
