"""The claim language under generated and adversarial input.

* Expressions: generated trees, printed fully parenthesised, evaluate to what plain Python arithmetic on the tree
  gives (an oracle that shares no code with the parser); arbitrary text parses or raises ExpressionError.
* Families (the public ``families`` strategy): one point per grid combination, d is the product of the input
  shape, every placeholder is filled.
* Study files: claim tables with fields drawn from valid and invalid values give a verdict-ready study or one
  TheorycheckError, never another exception.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theorycheck.claims.forms import Expression
from theorycheck.claims.forms._expr import ExpressionError
from theorycheck.errors import TheorycheckError
from theorycheck.strategies import families
from theorycheck.study import parse_study

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _trees() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.floats(0.25, 8.0, allow_nan=False).map(lambda x: round(x, 3)), st.sampled_from("xyd"))
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(sorted(_OPS)), sub, sub),
            st.tuples(st.just("sqrt"), sub),
            st.tuples(st.just("neg"), sub),
        ),
        max_leaves=12,
    )


def _text(tree: Any) -> str:
    if isinstance(tree, float):
        return repr(tree)
    if isinstance(tree, str):
        return tree
    if tree[0] == "sqrt":
        return f"sqrt( {_text(tree[1])} )"
    if tree[0] == "neg":
        return f"-({_text(tree[1])})"
    return f"({_text(tree[1])}) {tree[0]} ({_text(tree[2])})"


def _value(tree: Any, env: dict[str, float]) -> float:
    if isinstance(tree, float):
        return tree
    if isinstance(tree, str):
        return env[tree]
    if tree[0] == "sqrt":
        return math.sqrt(_value(tree[1], env))
    if tree[0] == "neg":
        return -_value(tree[1], env)
    return _OPS[tree[0]](_value(tree[1], env), _value(tree[2], env))


@settings(max_examples=300, deadline=None)
@given(_trees(), st.floats(0.5, 4.0), st.floats(0.5, 4.0), st.integers(1, 4096))
def test_expressions_agree_with_python_arithmetic(tree: Any, x: float, y: float, d: int) -> None:
    env = {"x": x, "y": y, "d": d}
    try:
        expected = _value(tree, env)
    except (ValueError, ZeroDivisionError):
        expected = math.nan
    expr = Expression(_text(tree))
    if not math.isfinite(expected):
        try:
            expr(env)
        except ExpressionError:
            return
        raise AssertionError(f"{expr.text} should not evaluate at {env}")
    assert expr(env) == expected  # the same operations in the same order: equal bit for bit
    assert expr.names <= {"x", "y", "d"}


_ALPHABET = st.sampled_from([*"0123456789.eE+-*/^() dkxw_,;'\"[]{}@#", "sqrt", "log", "exp", "abs", "**"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join) | st.text(max_size=40))
def test_any_text_parses_or_raises_one_clear_error(text: str) -> None:
    message = ""
    try:
        expr = Expression(text)
    except ExpressionError as exc:
        message = str(exc)
    if message:
        assert "position" in message or "characters" in message, message
        return
    with contextlib.suppress(ExpressionError):
        expr({"d": 3.0, "k": 2.0, "x": 1.5, "w": 4.0})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families(max_points=3))
def test_family_points(fam: Any) -> None:
    points = fam.points()
    axes = [v for v in fam.sweep.values() if isinstance(v, list)]
    assert len(points) == math.prod(len(a) for a in axes)
    for p in points:
        assert "{" not in p.arch and "{" not in p.input
        assert p.d == math.prod(int(n) for n in p.input.split("x"))
        widths = [int(n) for n in re.findall(r"(?:dense|conv)\((\d+)", p.arch)]
        assert p.width == max(widths)


_FIELD_VALUES = {
    "form": st.sampled_from(["scaling", "value", "ratio", "scalin", 3]),
    "arch": st.sampled_from(["dense({w}) relu dense(3)", "dense(", "dense({x}) dense(2)", 7, "flatten dense(2)"]),
    "input": st.sampled_from(["{d}", "3x{d}", "{d", "0", ""]),
    "sweep": st.sampled_from([{"d": [8, 16], "w": 4}, {"d": [8]}, {"d": []}, {"d": [8, 16]}, "d=8", {"w": [1, 2]}]),
    "statistic": st.sampled_from(["coord_var", "grad_lq", "grad_l9", None]),
    "slope": st.sampled_from([-1, "H", "x", float("nan"), None]),
    "predicted": st.sampled_from(["2/d", "H", "kernel", "d +", None]),
    "against": st.sampled_from(["d", "w", "log(d)", "q", None]),
    "networks": st.sampled_from([100, 1, -5, 2**40, "many", None]),
    "margin": st.sampled_from([0.05, -1, 0, None]),
    "baseline": st.sampled_from([{"arch": "dense({w}) relu dense(3)"}, {"input": "{d}"}, "x", None]),
    "control": st.sampled_from([{"arch": "dense({w}) dense(3)"}, {"arch": "dense(3)", "gain": 1}, None]),
    "zip": st.sampled_from([True, False, None]),
}


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({}, optional=_FIELD_VALUES))
def test_study_claim_tables_never_crash(table: dict[str, Any]) -> None:
    table = {k: v for k, v in table.items() if v is not None}
    data = {"study": {"claims": ["mine.fuzz"]}, "claims": {"mine.fuzz": table}}
    try:
        spec = parse_study(data, source="fuzz.toml")
    except TheorycheckError as exc:
        message = str(exc)
        assert message.startswith("fuzz.toml") or "claim" in message, message
        assert "\n" not in message.split(": ", 1)[0]
        return
    claim = spec.claim("mine.fuzz")
    assert claim.cells(spec.claims["mine.fuzz"])  # a valid claim has work to do
