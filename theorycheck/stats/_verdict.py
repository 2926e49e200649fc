"""Verdicts from an estimate, its uncertainty, a prediction and declared margins.

* ``verified``: equivalent within the margin, by two one-sided tests (TOST):
  both one-sided p-values below ``alpha`` (the ``1−2α`` interval lies inside
  ``prediction ± margin``); not merely "failed to reject".
* ``approximate``: the interval excludes the prediction, but the whole
  interval of the deviation lies inside the declared band.
* ``refuted``: the whole interval of the deviation lies outside the band (or a
  counterexample was found).
* ``inconclusive``: the interval is too wide to say either.
* ``not covered``: the theory makes no prediction here.

Exponents are judged with absolute margins, constants with relative ones.

Sequential looks. A study doubles the networks of an inconclusive claim and judges it again, up to a budget
fixed in advance, so a claim has at most ``J`` looks. Judging every look at the same α inflates the error rates
(optional stopping: with the true value on the margin, 4 looks give a false *verified* rate of about 6.8% at
α = 5%; ``theorycheck.calibration.optional_stopping``). Inside :func:`looks`, every decision spends α/J
(Bonferroni's split of the α-spending family of Lan & DeMets 1983; Jennison & Turnbull 2000, ch. 7): the TOST
at α/J and the intervals at level 1 − α/J, so the error rate over all J looks stays ≤ α under any dependence
between them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from scipy import stats as sps

__all__ = [
    "SEVERITY",
    "VERDICTS",
    "Combined",
    "Decision",
    "Margins",
    "alpha_share",
    "combine",
    "decide",
    "looks",
    "worst",
]

#: the share of α each decision may spend (1/J inside :func:`looks`)
_ALPHA_SHARE: ContextVar[float] = ContextVar("alpha_share", default=1.0)


@contextmanager
def looks(planned: int) -> Iterator[float]:
    """Judge with α/``planned`` (and intervals at level 1 − α/``planned``): one of ``planned`` sequential looks."""
    if planned < 1:
        raise ValueError(f"a claim has at least one look, got {planned}")
    token = _ALPHA_SHARE.set(1.0 / planned)
    try:
        yield 1.0 / planned
    finally:
        _ALPHA_SHARE.reset(token)


def alpha_share() -> float:
    """The share of α the current decision may spend (1 outside :func:`looks`)."""
    return _ALPHA_SHARE.get()


Verdict = str
#: the verdicts; ``error`` marks a check that could not be evaluated (with its message)
VERDICTS: tuple[str, ...] = ("verified", "approximate", "refuted", "inconclusive", "not covered", "error")
#: order used to combine parts of a claim (the worst part decides)
SEVERITY = {"error": 5, "refuted": 4, "inconclusive": 3, "approximate": 2, "verified": 1, "not covered": 0}


@dataclass(frozen=True)
class Margins:
    """Declared tolerance of a claim: equivalence ``margin`` and approximation ``band``."""

    kind: Literal["absolute", "relative"]
    margin: float
    band: float
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.margin <= self.band:
            raise ValueError("need 0 < margin <= band")

    def describe(self) -> str:
        unit = "" if self.kind == "absolute" else " (relative)"
        return f"margin ±{self.margin:g}{unit}, band ±{self.band:g}{unit}"


@dataclass(frozen=True)
class Decision:
    """A verdict with the numbers behind it."""

    verdict: Verdict
    estimate: float | None
    se: float | None
    ci: tuple[float, float] | None
    predicted: float | None
    deviation: float | None
    deviation_ci: tuple[float, float] | None
    tost_p: tuple[float, float] | None
    margins: Margins | None
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "estimate": self.estimate,
            "se": self.se,
            "ci": None if self.ci is None else list(self.ci),
            "predicted": self.predicted,
            "deviation": self.deviation,
            "deviation_ci": None if self.deviation_ci is None else list(self.deviation_ci),
            "tost_p": None if self.tost_p is None else list(self.tost_p),
            "margins": None if self.margins is None else self.margins.describe(),
            "margin": None if self.margins is None else self.margins.margin,
            "band": None if self.margins is None else self.margins.band,
            "level": None if self.ci is None or self.se is None or self.se == 0 else _level(self.ci, self.se),
            "explanation": self.explanation,
        }


def _level(ci: tuple[float, float], se: float) -> float:
    """The confidence level of an interval ``estimate ± z·se``."""
    z = (ci[1] - ci[0]) / (2 * se)
    return float(2 * sps.norm.cdf(z) - 1)


def decide(estimate: float, se: float, predicted: float | None, margins: Margins, *, level: float = 0.95) -> Decision:
    """Judge ``estimate ± se`` (normal approximation) against ``predicted``.

    Inside :func:`looks` the TOST uses ``margins.alpha · share`` and the interval the level
    ``1 − (1 − level) · share``."""
    share = alpha_share()
    alpha = margins.alpha * share
    level = 1 - (1 - level) * share
    if predicted is None or not math.isfinite(predicted):
        return Decision(
            "not covered", estimate, se, None, None, None, None, None, margins, "the theory makes no prediction here"
        )
    z = float(sps.norm.ppf(0.5 + level / 2))
    ci = (estimate - z * se, estimate + z * se)
    if margins.kind == "relative":
        if predicted == 0:
            raise ValueError("a relative margin needs a non-zero prediction")
        scale = abs(predicted)
        lower, upper = predicted - margins.margin * scale, predicted + margins.margin * scale
        dev = (estimate - predicted) / scale
        dev_ci = ((ci[0] - predicted) / scale, (ci[1] - predicted) / scale)
    else:
        lower, upper = predicted - margins.margin, predicted + margins.margin
        dev = estimate - predicted
        dev_ci = (ci[0] - predicted, ci[1] - predicted)
    if se > 0:
        p_low = float(sps.norm.sf((estimate - lower) / se))
        p_high = float(sps.norm.cdf((estimate - upper) / se))
    else:
        p_low = 0.0 if estimate > lower else 1.0
        p_high = 0.0 if estimate < upper else 1.0
    unit = "" if margins.kind == "absolute" else " (relative)"
    dev_text = f"deviation {dev:+.4g}{unit}, {100 * level:.4g}% CI [{dev_ci[0]:+.4g}, {dev_ci[1]:+.4g}]"
    if share < 1:
        dev_text += f" (α/{round(1 / share)} per look)"
    if max(p_low, p_high) < alpha:
        verdict: Verdict = "verified"
        why = (
            f"equivalent to the prediction within ±{margins.margin:g}{unit} "
            f"(TOST p = {max(p_low, p_high):.2g}); {dev_text}"
        )
    elif dev_ci[0] > 0 or dev_ci[1] < 0:
        if -margins.band <= dev_ci[0] and dev_ci[1] <= margins.band:
            verdict = "approximate"
            why = f"the CI excludes the prediction but stays within the band ±{margins.band:g}{unit}; {dev_text}"
        elif dev_ci[0] > margins.band or dev_ci[1] < -margins.band:
            verdict = "refuted"
            why = f"the deviation lies outside the band ±{margins.band:g}{unit}; {dev_text}"
        else:
            verdict = "inconclusive"
            why = f"the CI excludes the prediction and straddles the band ±{margins.band:g}{unit}; {dev_text}"
    else:
        verdict = "inconclusive"
        why = f"the CI is too wide for equivalence within ±{margins.margin:g}{unit}; {dev_text}"
    return Decision(verdict, estimate, se, ci, predicted, dev, dev_ci, (p_low, p_high), margins, why)


def worst(verdicts: list[str]) -> str:
    """The most severe of ``verdicts`` ("not covered" when there are none)."""
    if not verdicts:
        return "not covered"
    return max(verdicts, key=lambda v: SEVERITY[v])


#: verdicts that judge a part (the theory made a prediction and the data was compared with it)
JUDGED = frozenset({"verified", "approximate", "refuted", "inconclusive"})


@dataclass(frozen=True)
class Combined:
    """The verdict of a claim made of parts, and how much of the claim it rests on."""

    verdict: Verdict
    #: parts that were judged (not "not covered", not "error")
    judged: int
    #: parts that count
    parts: int

    @property
    def partial(self) -> bool:
        """True when the verdict rests on some, not all, of the claim's parts."""
        return 0 < self.judged < self.parts

    def scope(self) -> str:
        """``"judged on 1 of 4 parts"``, or ``""`` when every part was judged."""
        return f"judged on {self.judged} of {self.parts} parts" if self.partial else ""


def combine(verdicts: list[str]) -> Combined:
    """A claim's verdict from its parts': the most severe judged part decides (an error decides over all), and
    a part the theory does not cover never adds to it. A claim none of whose parts is judged is "not covered";
    one judged on some of its parts says so (:attr:`Combined.partial`): "verified" on one point of four is not
    "verified" on the claim."""
    judged = [v for v in verdicts if v in JUDGED]
    errors = [v for v in verdicts if v == "error"]
    verdict = "error" if errors else (worst(judged) if judged else "not covered")
    return Combined(verdict, len(judged), len(verdicts))
