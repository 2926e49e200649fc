"""The public claim language's pieces: expressions, families, statistics and the constructors' validation."""

from __future__ import annotations

import math
import re

import pytest

from theorycheck.claims import Family, scaling, value
from theorycheck.claims.forms import Expression
from theorycheck.claims.forms._expr import ExpressionError
from theorycheck.errors import TheorycheckError

MLP = "dense({w}) relu dense(10)"


@pytest.mark.parametrize(
    ("text", "scope", "expected"),
    [
        ("k^2", {"k": 3}, 9.0),
        ("2/d", {"d": 64}, 2 / 64),
        ("-2^2", {}, -4.0),  # the power binds tighter than the sign, as in mathematics
        ("2^3^2", {}, 512.0),  # right-associative
        ("1 - 2 - 3", {}, -4.0),  # left-associative
        ("12 / 3 / 2", {}, 2.0),
        ("sqrt(2*log(2*d))", {"d": 8}, math.sqrt(2 * math.log(16))),
        ("exp(-x) + abs(-1.5e-1)", {"x": 0}, 1.15),
        ("(1 + width) * .5", {"width": 3}, 2.0),
        ("sqrt(4/(pi*d))", {"d": 16}, math.sqrt(4 / (math.pi * 16))),  # the constants
        ("e^2 - exp(2)", {}, 0.0),
    ],
)
def test_expressions_evaluate(text: str, scope: dict, expected: float) -> None:
    assert Expression(text)(scope) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expression"),
        ("2 +", "ends too early"),
        ("(d", "missing ')'"),
        ("d)", "unexpected ')'"),
        ("sqrt d", "needs an argument"),
        ("__import__('os')", "unexpected"),
        ("d @ 2", "unexpected character at position 2"),
        ("2 ** 3", "unexpected '\\*'"),
        ("(" * 60 + "1" + ")" * 60, "nesting too deep"),
        ("1" * 600, "more than 500"),
    ],
)
def test_bad_expressions_are_located(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message) if "(" in message or ")" in message else message):
        Expression(text)


@pytest.mark.parametrize(("text", "scope"), [("log(d)", {"d": 0}), ("1/d", {"d": 0}), ("(-8)^0.5", {}), ("k", {})])
def test_values_that_are_not_finite_numbers_are_errors(text: str, scope: dict) -> None:
    with pytest.raises(ExpressionError):
        Expression(text)(scope)


def test_family_grid_product_zip_and_derived_names() -> None:
    fam = Family("[conv({c},3,padding=circular) relu]*2 flatten dense(10)", "3x{r}x{r}", {"r": [4, 8], "c": [2, 5]})
    points = fam.points()
    assert [p.variables for p in points] == [{"r": 4, "c": 2}, {"r": 4, "c": 5}, {"r": 8, "c": 2}, {"r": 8, "c": 5}]
    assert [p.d for p in points] == [48, 48, 192, 192]
    assert [p.width for p in points] == [10, 10, 10, 10]  # the logit layer is the widest here
    assert points[1].arch == "[conv(5,3,padding=circular) relu]*2 flatten dense(10)"
    zipped = Family("dense({w}) relu dense(2)", "{d}", {"d": [3, 9], "w": [100, 7]}, zip=True).points()
    assert [(p.label, p.width) for p in zipped] == [("d=3,w=100", 100), ("d=9,w=7", 7)]
    assert Family("dense(4) relu dense(2)", "8").points()[0].label == "all"
    labelled = Family(MLP, "{d}", {"d": [2, 4], "w": 3}, label="FC/d={d}").points()
    assert [p.label for p in labelled] == ["FC/d=2", "FC/d=4"]


@pytest.mark.parametrize(
    ("arch", "shape", "sweep", "zip_", "message"),
    [
        (MLP, "{d}", {"d": [2, 4]}, False, r"placeholder \{w\} at position 6 is not bound"),
        (MLP, "{d}", {"d": [2, 4], "w": 3, "k": 2}, False, "sweep.k: no placeholder"),
        ("dense({ w }) dense(2)", "{d}", {"d": [2]}, False, "not a placeholder name"),
        (MLP, "{d}", {"d": [2, 4], "w": [1, 2, 3]}, True, "zip = true needs axes of one length"),
        (MLP, "{d}", {"d": [], "w": 3}, False, "empty list"),
        (MLP, "{d}", {"d": [2], "w": [True]}, False, "numbers or strings"),
        (MLP, "{d}", {"d": [2], "w": 3, "width": 4}, False, "'width' is derived"),
        ("flatten dense(2)", "3x{d}x{d}", {"d": [4]}, False, "d=4 but the input 3x4x4 has dimension 48"),
        (
            "conv(4,5,padding=valid) relu flatten dense(2)",
            "3x{r}x{r}",
            {"r": [8, 4]},
            False,
            r"sweep: r=4 gives 'conv\(4,5,padding=valid\) relu flatten dense\(2\)' on 3x4x4: conv: kernel extent 5",
        ),
        (MLP, "{d}", {"d": list(range(1, 40)), "w": list(range(1, 40))}, False, "more than the limit of 1000"),
    ],
)
def test_family_errors_name_the_field_and_values(arch: str, shape: str, sweep: dict, zip_: bool, message: str) -> None:
    with pytest.raises(TheorycheckError, match=message):
        Family(arch, shape, sweep, zip_, where='claims."mine"')


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statistic": "grad_l3"}, "unknown statistic 'grad_l3'; did you mean"),
        ({"against": "k^2"}, "against: unknown name 'k'"),
        ({"against": "d -"}, "against: the expression ends too early"),
        ({"slope": "fast"}, "slope: must be a finite number"),
        ({"target": "logitz"}, "target: must be one of logit, logits, loss, got 'logitz'; did you mean 'logit'"),
        ({"statistic": "grad_lq"}, "q: statistic grad_lq needs q"),
        ({"margin": -1}, "margin: must be a finite number > 0"),
        ({"margin": 0.1, "band": 0.05}, "band: must be at least the margin"),
        ({"networks": 1}, "networks: must be an integer from 2"),
        ({"sweep": {"d": [64], "w": 8}}, "a slope needs at least two distinct values of d"),
        ({"against": "d - 100"}, "must be positive at every grid point"),
        ({"control": {"arch": MLP, "extra": 1}}, "control.extra: unknown field"),
        ({"control": "dense(3)"}, "control: must be a table"),
        ({"colour": "red"}, "colour: unknown field"),
    ],
)
def test_scaling_claims_are_validated_eagerly(kwargs: dict, message: str) -> None:
    base: dict = {"arch": MLP, "input": "{d}", "sweep": {"d": [64, 256], "w": 8}, "slope": -1}
    with pytest.raises(TheorycheckError, match=message):
        scaling("mine.x", **{**base, **kwargs})


def test_value_claims_check_their_prediction_at_every_point() -> None:
    with pytest.raises(TheorycheckError, match="predicted: '1/\\(d-64\\)' cannot be evaluated at"):
        value("mine.v", arch=MLP, input="{d}", sweep={"d": [64, 128], "w": 4}, predicted="1/(d-64)")
    with pytest.raises(TheorycheckError, match="a value claim takes predicted, not slope"):
        value("mine.v", arch=MLP, input="{d}", sweep={"d": [64, 128], "w": 4}, slope=-1, predicted="2/d")


def test_a_sweep_name_read_only_by_an_expression_is_used() -> None:
    """The pool size n of Theorem 6's pair appears only in ``against``: it is used, not refused; a name that nothing
    reads still is, naming the expressions too."""
    from theorycheck.claims import ratio

    claim = ratio(
        "mine.pool_ratio",
        arch="conv(4,3,padding=circular) relu avgpool({s}) flatten dense(2)",
        baseline={"arch": "conv(4,3,stride={s},padding=circular) relu flatten dense(2)"},
        input="3x12x12",
        sweep={"s": [2, 3], "n": [4, 9]},
        zip=True,
        against="n",
        slope=-1,
    )
    names = [c.name for c in claim.cells(claim.resolve({}, claim.id))]
    assert names[:2] == ["main/treated/s=2,n=4", "main/treated/s=3,n=9"]
    with pytest.raises(
        TheorycheckError, match=r"sweep\.k: no placeholder \{k\}.*nor against, predicted, scale or train.data"
    ):
        scaling("mine.unused", arch="dense(8) relu dense(1)", input="{d}", sweep={"d": [4, 8], "k": 3}, slope=-1)


def test_the_constants_are_not_variables() -> None:
    """pi and e are numbers: an expression reading them needs no sweep name, and a sweep may not take their names."""
    assert Expression("2*pi*e").names == frozenset()
    with pytest.raises(TheorycheckError, match=r"sweep\.e: 'e' is a constant in expressions"):
        Family(MLP, "{e}", sweep={"e": [8, 16], "w": 4})
