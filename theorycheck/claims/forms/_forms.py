"""The public claim forms: *scaling*, *value* and *ratio* claims about a family of networks.

* **scaling**: ``E[statistic] ∝ against^slope`` over the grid (``slope`` a number, or ``"H"``: the exponent
  the (H) engine predicts on this grid, when its predictions are an exact power law of ``against`` there).
* **value**: at every grid point ``E[statistic] = predicted`` (an expression of the sweep names and ``d``, or
  ``"H"`` / ``"kernel"``: the theory engine's value for that point's graph). The relative deviation per
  point is the evidence.
* **ratio**: ``E[statistic of arch] / E[statistic of baseline] = predicted`` at every point, or ``∝
  against^slope`` (Theorem 6's shape). The two arms are sampled independently.

Every claim has a negative control that must come out refuted: the user's ``control`` family (the same sweep,
judged against the claim's own prediction), or else an automatic one that fits the form: the same data judged
against the prediction moved by twice the band, which shows that the check had the power to fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from theorycheck.claims._base import Cell, CellData, Claim, Part
from theorycheck.claims._common import predicted_skewness
from theorycheck.claims._params import Param, network_count
from theorycheck.claims.forms._assumptions import Assumption, check_assumptions
from theorycheck.claims.forms._expr import Expression
from theorycheck.claims.forms._family import Family, Point
from theorycheck.claims.forms._judge import Sample, not_covered, ratio_parts, scaling_part, value_parts
from theorycheck.claims.forms._statistics import Statistic, gradients, theory_value
from theorycheck.stats import Margins

__all__ = ["FORMS", "UserClaim"]

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
    """A claim in the public language (build it with :func:`theorycheck.claims.scaling`, ``value``, ``ratio``)."""

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
    definition: dict[str, Any] = field(default_factory=dict, compare=False)
    #: parts already judged on a CellData, by role: the grid reads them instead of fitting again
    _judged: WeakKeyDictionary[CellData, dict[str, list[Part]]] = field(
        default_factory=WeakKeyDictionary, init=False, compare=False, repr=False
    )

    # -- cells -----------------------------------------------------------------------------------
    def _cell_params(self, point: Point) -> dict[str, Any]:
        params: dict[str, Any] = {"arch": point.arch, "input": point.input, "targets": [self.target]}
        if point.module is not None:  # a module family: the factory, its variables and the init
            params = {
                "module": point.module,
                "variables": dict(point.variables),
                "input": point.input,
                "targets": [self.target],
                "init": self.init,
            }
        if self.target == "loss":
            params["loss_class"] = self.loss_class
        if self.q is not None:
            params["q"] = self.q
        if self.statistic.ref is not None:
            params["reducers"] = [[self.statistic.name, self.statistic.ref]]
        return params

    def _arms(self, role: str) -> list[tuple[str, Family]]:
        """``(cell prefix, family)`` of the arms a role samples (none for the automatic control)."""
        if role == "control":
            if self.control is None:
                return []
            return [("control/", self.control)] if self.form != "ratio" else [("control/treated/", self.control)]
        if self.form == "ratio":
            assert self.baseline is not None
            return [("main/treated/", self.family), ("main/baseline/", self.baseline)]
        return [("main/", self.family)]

    def cells(self, networks: int) -> list[Cell]:
        """One sampler cell per grid point and arm; the control's cells when it has a family."""
        out = []
        for role in ("main", "control"):
            for prefix, fam in self._arms(role):
                out += [Cell(self.id, prefix + p.label, _kind(p), self._cell_params(p), networks) for p in fam.points()]
        if self.form == "ratio" and self.control is not None:
            assert self.baseline is not None
            out += [
                Cell(self.id, "control/baseline/" + p.label, _kind(p), self._cell_params(p), networks)
                for p in self.baseline.points()
            ]
        return out

    # -- predictions -----------------------------------------------------------------------------
    def _scale(self, point: Point) -> float:
        return 1.0 if self.scale is None else self.scale(point.scope)

    def _theory(self, level: str, point: Point) -> tuple[float | None, str]:
        if point.module is not None and not point.arch:
            return None, f"{point.module} at {point.label} does not convert to a graph: {point.unconverted}"
        value, why = theory_value(self.statistic, level, point, target=self.target, n_logits=point.outputs)
        return (None, why) if value is None else (value * self._scale(point), why)

    def _point_prediction(self, point: Point, baseline: Point | None) -> tuple[float | None, str]:
        if isinstance(self.predicted, Expression):
            return self.predicted(point.scope), f"predicted = {self.predicted.text}"
        level = str(self.predicted)
        value, why = self._theory(level, point)
        if value is None or baseline is None:
            return value, why
        base, why_base = self._theory(level, baseline)
        return (None, why_base) if base is None else (value / base, why)

    def _theory_slope(self) -> tuple[float | None, str]:
        """The exponent of the (H) predictions against ``against`` on this grid, when they are a power law."""
        points = self.family.points()
        bases = self.baseline.points() if self.baseline is not None else [None] * len(points)
        xs, ys = [], []
        for p, b in zip(points, bases, strict=True):
            value, why = self._theory("H", p)
            if value is None:
                return None, why
            if b is not None:
                base, why = self._theory("H", b)
                if base is None:
                    return None, why
                value /= base
            if value <= 0:
                return None, f"the (H) value at {p.label} is {value:g}, not positive: no exponent"
            xs.append(math.log(self.against(p.scope)))
            ys.append(math.log(value))
        design = np.column_stack([np.ones(len(xs)), xs])
        coef, *_ = np.linalg.lstsq(design, np.asarray(ys), rcond=None)
        residual = float(np.abs(design @ coef - ys).max())
        if residual > 1e-9:
            local = np.diff(ys) / np.diff(xs)
            return None, (
                f"the (H) predictions are not a power law of {self.against.text} on this grid (local exponents "
                f"{', '.join(f'{v:.4g}' for v in local)})"
            )
        return float(coef[1]), f"(H) engine: exponent {coef[1]:.6g} on this grid (exact power law)"

    # -- evaluation ------------------------------------------------------------------------------
    def _samples(self, data: CellData, prefix: str, family: Family, predict: bool) -> list[Sample]:
        out = []
        bases = self.baseline.points() if self.baseline is not None and predict else None
        for i, p in enumerate(family.points()):
            df = data[prefix + p.label]
            values = self.statistic.values(df, gradients(self.target, p.outputs), p) * self._scale(p)
            pred, why = None, ""
            if predict and self.predicted is not None:
                pred, why = self._point_prediction(p, None if bases is None else bases[i])
            values = np.asarray(values, dtype=np.float64)
            out.append(Sample(p, values, self.against(p.scope), pred, self._skewness(p), why))
        return out

    def _skewness(self, p: Point) -> float | None:
        """The theory's exact skewness of the per-network values at ``p`` (a positive multiple of one logit's
        ‖∂f/∂x‖² of a DSL graph), or None: the tail is then judged from the sample."""
        if self.target != "logit" or self.statistic.moment is None or p.module is not None or not p.arch:
            return None
        return predicted_skewness(p.arch, p.input)

    def _describe(self) -> str:
        stat = self.statistic.name if self.scale is None else f"{self.statistic.name}·({self.scale.text})"
        return f"{stat} of the {self.target} gradient ({self.statistic.description})"

    def evaluate(self, data: CellData, role: str) -> list[Part]:
        """The claim's parts (role ``main``) or its negative control's (role ``control``), judged once per data."""
        judged = self._judged.setdefault(data, {})
        if role not in judged:
            judged[role] = self._evaluate(data, role)
        return judged[role]

    def _evaluate(self, data: CellData, role: str) -> list[Part]:
        automatic = role == "control" and self.control is None
        source = "main" if automatic or role == "main" else "control"
        violations = check_assumptions(self.assumptions, self.family.points()) if self.assumptions else []
        if self.form == "ratio":
            parts = self._ratio(data, source, automatic)
        elif self.form == "value":
            parts = self._value(data, source, automatic)
        else:
            parts = self._scaling(data, source, automatic)
        if violations and role == "main":
            return self._outside_theorem(parts, violations, data)
        return parts

    def _slope(self) -> tuple[float | None, str]:
        if self.slope == "H":
            return self._theory_slope()
        return (None if self.slope is None else float(self.slope)), ""

    def _scaling(self, data: CellData, source: str, automatic: bool) -> list[Part]:
        fam = self.control if source == "control" and self.control is not None else self.family
        samples = self._samples(data, f"{source}/", fam, predict=False)
        slope, why = self._slope()
        name = self.title or f"{self.statistic.name} ∝ {_power(self.against.text, self.slope)}"
        desc = f"slope of E[{self._describe()}] against {self.against.text} over the grid"
        if slope is not None and self.slope == "H":
            desc += f"; {why}"
        if automatic:
            desc = f"the same data against the prediction moved by twice the band (±{self.margins.band:g})"
        return [scaling_part(name, desc, samples, slope, self.margins, why=why, control=automatic)]

    def _value(self, data: CellData, source: str, automatic: bool) -> list[Part]:
        fam = self.control if source == "control" and self.control is not None else self.family
        samples = self._samples(data, f"{source}/", fam, predict=True)
        if source == "control":  # judged against the claim's predictions, point by point
            mains = self.family.points()
            claimed = [self._point_prediction(m, None) for m in mains]
            samples = [
                Sample(s.point, s.values, s.x, pred, s.skewness, why)
                for s, (pred, why) in zip(samples, claimed, strict=True)
            ]
        why = self._point_prediction(self.family.points()[0], None)[1] if self.predicted is not None else ""
        return value_parts(
            lambda s: (
                f"{self.title or f'E[{self.statistic.name}]'} = {s.predicted:.6g} ({s.point.label})"
                if s.predicted is not None
                else f"{self.title or f'E[{self.statistic.name}]'} ({s.point.label})"
            ),
            f"mean over networks of {self._describe()}",
            samples,
            self.margins,
            why=why,
            control=automatic,
        )

    def _ratio(self, data: CellData, source: str, automatic: bool) -> list[Part]:
        assert self.baseline is not None
        treated_family = self.control if source == "control" and self.control is not None else self.family
        treated = self._samples(data, f"{source}/treated/", treated_family, predict=False)
        baseline = self._samples(data, f"{source}/baseline/", self.baseline, predict=False)
        bases = self.baseline.points()
        desc = f"E[{self._describe()}] of arch over that of the baseline"
        if self.slope is not None:
            slope, why = self._slope()
            name = f"ratio ∝ {_power(self.against.text, self.slope)}"
            return ratio_parts(
                lambda s: name,
                desc,
                treated,
                baseline,
                self.margins,
                slope=slope,
                slope_name=name,
                why=why,
                control=automatic,
            )
        preds = [self._point_prediction(p, b) for p, b in zip(self.family.points(), bases, strict=True)]
        treated = [
            Sample(s.point, s.values, s.x, v, s.skewness, why) for s, (v, why) in zip(treated, preds, strict=True)
        ]
        return ratio_parts(
            lambda s: (
                f"ratio = {s.predicted:.6g} ({s.point.label})"
                if s.predicted is not None
                else f"ratio ({s.point.label})"
            ),
            desc,
            treated,
            baseline,
            self.margins,
            why=preds[0][1],
            control=automatic,
        )

    def _outside_theorem(self, parts: list[Part], violations: list[str], data: CellData) -> list[Part]:
        """The theorem does not apply: say which assumption fails and where, next to what was measured and the
        (H) engine's own prediction for this family (shown, not counted)."""
        shown = "; ".join(violations[:3]) + (f"; and {len(violations) - 3} more" if len(violations) > 3 else "")
        measured = parts[0].decision
        text = f"the theorem's assumptions fail: {shown}"
        if measured.estimate is not None:
            text += f". Measured {measured.estimate:.4g}"
            if measured.ci is not None:
                text += f" [{measured.ci[0]:.4g}, {measured.ci[1]:.4g}]"
        engine: list[Part] = []
        if self.form == "scaling" and self.statistic.moment is not None and self.target != "loss":
            slope, why = self._theory_slope()
            if slope is not None:
                text += f"; the (H) engine predicts slope {slope:.4g} for this family"
                twin = replace(self, slope="H", assumptions=())
                engine = twin._scaling(data, "main", False)
                for p in engine:
                    p.name = f"(H) engine on this family: {p.name}"
                    p.counts = False
            else:
                text += f"; the (H) engine: {why}"
        head = parts[0]
        verdict_part = not_covered(head.name, head.description, text, head.table)
        verdict_part.fit, verdict_part.convergence = head.fit, head.convergence
        return [verdict_part, *engine]

    def grid(self, data: CellData) -> list[dict[str, Any]]:
        """The grid table of the main arm (variables, d, estimate, CI, prediction)."""
        rows = []
        for part in self.evaluate(data, "main"):
            if part.counts:
                rows += [{k: v for k, v in r.items() if k not in ("level", "mean", "ratio")} for r in part.table]
        if self.form == "scaling":  # the (H) engine's value per point, where it covers the statistic
            for row, point in zip(rows, self.family.points(), strict=False):
                row["predicted"] = self._theory("H", point)[0] if self.target != "loss" else None
        return rows

    def claim(self) -> Claim:
        """This claim as a :class:`~theorycheck.claims.Claim` for studies, reports and the CLI."""
        params = {"networks": Param(self.networks, "networks per grid point and arm", network_count)}
        return Claim(
            self.id,
            self.source,
            self.form,
            self.statement or self.summary(),
            self.summary(),
            True,
            params,
            lambda p: self.cells(p["networks"]),
            lambda p, data, role: self.evaluate(data, role),
            grid=lambda p, data: self.grid(data),
            definition=self.definition,
        )

    def summary(self) -> str:
        """One line: what is claimed."""
        stat = f"E[{self.statistic.name}]" if self.scale is None else f"E[{self.statistic.name}]·{self.scale.text}"
        if self.form == "scaling":
            return f"{stat} ∝ {_power(self.against.text, self.slope)}"
        pred = self.predicted.text if isinstance(self.predicted, Expression) else self.predicted
        if self.form == "value":
            return f"{stat} = {pred}"
        tail = f"∝ {_power(self.against.text, self.slope)}" if self.slope is not None else f"= {pred}"
        return f"{stat} / {stat}(baseline) {tail}"


def _power(base: str, exponent: float | str | None) -> str:
    """``d^-1``, ``(s^2)^-1``: the regressor raised to the claimed exponent (``H``: the engine's)."""
    shown = base if base.isidentifier() or base.replace(".", "").isdigit() else f"({base})"
    value = exponent if isinstance(exponent, str) else f"{exponent:g}"
    return f"{shown}^{value}"


def _kind(point: Point) -> str:
    """The cell kind of a grid point: the DSL sampler, or the module-family sampler."""
    return "sample" if point.module is None else "module"
