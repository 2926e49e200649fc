"""The automatic negative control of a Monte Carlo claim that has no control family of its own.

**The networks changed** (preferred). The logit layer's variance is multiplied by a factor ``c`` at each grid
point. A logit is linear in its row of the logit layer's weights, and every layer after it (ReLU, pooling,
flatten) is positively homogeneous, so every network's input gradient is exactly ``√c`` times what it would be,
and a statistic of degree ``h`` in the gradient (``‖g‖₂²``: 2; ``‖g‖₁``, ``‖g‖_∞``: 1) exactly ``c^{h/2}`` times.
The factor makes the control false by three times the claim's band: a value is multiplied (or divided) by
``(1 + band)³``, a slope moved by ``±3·band`` (``c ∝ x^{±6·band/h}`` along the regressor). The networks are drawn
before the claim is measured, so both directions are sampled, with half the networks each; the one that moves
away from the claim's measured deviation counts (the other is shown), so the control lies at least three bands
from the prediction whatever the measurement, and must come out refuted. It is judged against the claim's own
prediction, and it catches a statistic, a sampler or an estimator that does not follow the networks it is given,
which re-judging the same data cannot.

**The prediction moved** (fallback). Where the effect of the change is not known exactly (the loss gradient,
whose softmax is not homogeneous; a user statistic without a declared homogeneity; a head that is not
positively homogeneous after its last weighted layer; a logit produced inside a branch), the same data is judged
against the prediction moved by twice the band, away from the measurement. That shows the interval is precise
enough to tell the band apart, not that the statistic or the sampler is right, and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from theorycheck.stats import Margins

__all__ = ["BANDS", "NETWORKS", "PREDICTION", "NetworkControl", "logit_layer_scaled", "network_factors", "shifted"]

#: layers after the logit layer that keep it exact: positively homogeneous of degree 1 (and ReLU among activations)
_HOMOGENEOUS = frozenset({"flatten", "avgpool", "maxpool", "globalavgpool", "globalmaxpool"})

NETWORKS = (
    "control: the same family with the logit layer's variance multiplied by c (each network's gradient then exactly "
    "√c times, the statistic c^(h/2) times: false by three bands), sampled anew and judged against the claim's "
    "prediction; it catches a statistic, sampler or estimator that does not follow the networks"
)
PREDICTION = (
    "control: the same data judged against the prediction moved by twice the band (the networks cannot be changed "
    "with a known effect here: {why}); it shows the interval can tell the band apart, not that the statistic or "
    "the sampler is right"
)


def shifted(predicted: float, margins: Margins, measured: float) -> float:
    """The fallback control's prediction: moved by twice the band, away from the measurement (so that a check
    precise enough to tell the band apart must refute it)."""
    up = measured <= predicted
    if margins.kind == "absolute":
        return predicted + (2 * margins.band if up else -2 * margins.band)
    return predicted * (1 + 2 * margins.band) if up else predicted / (1 + 2 * margins.band)


def logit_layer_scaled(arch: str, factor: float) -> tuple[str | None, str]:
    """``arch`` with its logit layer's variance multiplied by ``factor``, or None and why that is not exact."""
    from theorycheck.graph import Architecture

    layers = Architecture.parse(arch).layers
    last = max((i for i, node in enumerate(layers) if node.weighted), default=None)
    if last is None:
        return None, "no weighted layer at the top level of the architecture produces the logits"
    after = [
        getattr(node, "fn", node.kind)
        for node in layers[last + 1 :]
        if node.kind not in _HOMOGENEOUS and getattr(node, "fn", None) != "relu"
    ]
    if after:
        return None, f"the logits pass through {after[0]} after the last weighted layer (not positively homogeneous)"
    node = layers[last]
    init = node.init  # type: ignore[attr-defined]
    scaled = replace(node, init=replace(init, gain=init.gain * factor))  # type: ignore[call-arg]
    return Architecture((*layers[:last], scaled, *layers[last + 1 :])).to_text(), ""


#: how many bands the network control moves the statistic
BANDS = 3


def network_factors(moves: str, margins: Margins, degree: int, xs: list[float]) -> tuple[float, ...]:
    """The factor c of the logit layer's variance at each grid point: the statistic (of degree ``degree``) is then
    multiplied by ``(1 + band)^3`` (``moves = "value"``), or its slope against the regressor values ``xs`` moved by
    ``3·band`` (``"slope"``; c = 1 at the first point)."""
    if moves == "value":
        return tuple((1 + margins.band) ** (BANDS * 2 / degree) for _ in xs)
    return tuple((x / xs[0]) ** (BANDS * margins.band * 2 / degree) for x in xs)


@dataclass(frozen=True)
class NetworkControl:
    """The changed networks of each grid point, both ways: the factor ``c`` of the logit layer's variance (up;
    down is ``1/c``) and the architecture with it (DSL), or None (module families: their logits are scaled)."""

    factors: tuple[float, ...]
    archs_up: tuple[str | None, ...]
    archs_down: tuple[str | None, ...]

    def describe(self, direction: str) -> str:
        factors = self.factors if direction == "up" else tuple(1 / c for c in self.factors)
        shown = ", ".join(f"{c:.4g}" for c in factors[:4]) + (", …" if len(factors) > 4 else "")
        return f"{NETWORKS} (moved {direction}: c = {shown} over the grid)"


def finite(factors: tuple[float, ...]) -> bool:
    return all(math.isfinite(c) and c > 0 for c in factors)
