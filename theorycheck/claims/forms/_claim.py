"""A claim in the public language: a plain record of what is claimed, about which family, judged how.

Build it with :func:`theorycheck.claims.scaling`, ``value`` or ``ratio`` (or a study-file table); the forms are

* **scaling**: ``E[statistic] ∝ against^slope`` over the grid (``slope`` a number, or ``"H"``: the exponent the
  (H) engine predicts on this grid, when its predictions are an exact power law of ``against`` there);
* **value**: at every grid point ``E[statistic] = predicted`` (an expression of the sweep names and ``d``, or
  ``"H"`` / ``"kernel"``: the theory engine's value for that point's graph);
* **ratio**: ``E[statistic of arch] / E[statistic of baseline] = predicted`` at every point, or ``∝
  against^slope`` (Theorem 6's shape); the two arms are sampled independently.

Its cells are :func:`theorycheck.claims.forms._cells.claim_cells`; its predictions are in
:mod:`~theorycheck.claims.forms._predictions`; it is judged, with its negative control, by
:func:`theorycheck.claims.forms._judging.judge`, and :func:`~theorycheck.claims.forms._judging.as_claim` makes it a
:class:`~theorycheck.claims.Claim` for studies, reports and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from theorycheck.claims.forms._assumptions import Assumption
from theorycheck.claims.forms._expr import Expression
from theorycheck.claims.forms._family import Family
from theorycheck.claims.forms._statistics import Statistic
from theorycheck.stats import Margins

__all__ = ["BAND_FACTOR", "FORMS", "THEORY_LEVELS", "UserClaim", "margins_for", "power_text"]

FORMS = ("scaling", "value", "ratio")
THEORY_LEVELS = ("H", "kernel")
#: band = BAND_FACTOR × margin when only the margin is given (the catalogue's defaults: 0.05/0.15, 0.05/0.20)
BAND_FACTOR = {"absolute": 3.0, "relative": 4.0}


def margins_for(kind: str, margin: float | None, band: float | None) -> Margins:
    """Declared tolerance: absolute for exponents (default ±0.05, band ±0.15), relative for values (±5%, 20%)."""
    default = Margins("absolute", 0.05, 0.15) if kind == "absolute" else Margins("relative", 0.05, 0.20)
    m = default.margin if margin is None else margin
    b = band if band is not None else (default.band if margin is None else BAND_FACTOR[kind] * m)
    return Margins(kind, m, max(b, m))  # type: ignore[arg-type]


@dataclass(frozen=True)
class UserClaim:
    """What is claimed: a form, a family, a statistic, a prediction and the tolerance (no behaviour)."""

    id: str
    form: str
    family: Family
    statistic: Statistic
    statement: str = ""
    target: str = "logit"
    loss_class: str | int = "random"
    q: float | None = None
    against: Expression = field(default_factory=lambda: Expression("d"))
    slope: float | str | None = None
    predicted: Expression | str | None = None
    baseline: Family | None = None
    margins: Margins = field(default_factory=lambda: margins_for("absolute", None, None))
    networks: int = 2000
    control: Family | None = None
    scale: Expression | None = None
    source: str = "user claim"
    #: theorem assumptions checked on every grid point (catalogue theorems on user families)
    assumptions: tuple[Assumption, ...] = ()
    #: the part's title in tables and reports (default: the claim's formula)
    title: str = ""
    #: module families: "reset" (each module's reset_parameters) or "he" (He et al.: N(0, 2/fan_in), zero biases)
    init: str = "reset"
    #: a ratio claim's two arms, as cells and tables name them (Theorem 6's: "pooled" over "strided")
    arms: tuple[str, str] = ("treated", "baseline")
    definition: dict[str, Any] = field(default_factory=dict, compare=False)
    #: trained networks: the dataset and recipe (``forms._training.Training``), None for networks at initialisation
    training: Any = None
    #: the checkpoint a member of a trained claim reads (its columns ``s{step}/…``)
    step: int | None = None
    #: the cells' random streams are named by their networks, so claims on one family are paired (a public claim);
    #: False: by claim and cell (the catalogue's theorems, whose stored results and reference numbers predate it)
    paired: bool = True

    @property
    def column_prefix(self) -> str:
        """Where this claim's statistic is in a cell's rows: ``"s{step}/"`` for a trained claim's checkpoint."""
        return "" if self.step is None else f"s{self.step}/"

    @property
    def fits_slope(self) -> bool:
        """Whether the claim is about an exponent (a scaling claim, or a ratio claim with ``slope``)."""
        return self.form == "scaling" or (self.form == "ratio" and self.slope is not None)

    @property
    def treated(self) -> str:
        """The cell-name segment of the measured arm: ``"pooled/"`` of a ratio claim, ``""`` otherwise."""
        return f"{self.arms[0]}/" if self.form == "ratio" else ""

    @property
    def baseline_prefix(self) -> str:
        """The cells of the ratio's baseline: the claim's own, which its controls are judged against too."""
        return f"main/{self.arms[1]}/"

    def summary(self) -> str:
        """One line: what is claimed."""
        stat = f"E[{self.statistic.name}]" if self.scale is None else f"E[{self.statistic.name}]·{self.scale.text}"
        if self.form == "scaling":
            return f"{stat} ∝ {power_text(self.against.text, self.slope)}"
        pred = self.predicted.text if isinstance(self.predicted, Expression) else self.predicted
        if self.form == "value":
            return f"{stat} = {pred}"
        tail = f"∝ {power_text(self.against.text, self.slope)}" if self.slope is not None else f"= {pred}"
        return f"{stat} / {stat}(baseline) {tail}"


def power_text(base: str, exponent: float | str | None) -> str:
    """``d^-1``, ``(s^2)^-1``: the regressor raised to the claimed exponent (``H``: the engine's)."""
    shown = base if base.isidentifier() or base.replace(".", "").isdigit() else f"({base})"
    value = exponent if isinstance(exponent, str) else f"{exponent:g}"
    return f"{shown}^{value}"
