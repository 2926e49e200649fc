"""Arithmetic over sweep variables: ``"k^2"``, ``"2/d"``, ``"sqrt(2*log(2*d))"``.

A small recursive-descent grammar, never Python's ``eval``::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("-" | "+") unary | power
    power  := atom ("^" unary)?          # right-associative: 2^3^2 = 2^9; -2^2 = -4
    atom   := NUMBER | CONST | NAME | FUNC "(" expr ")" | "(" expr ")"
    FUNC   := sqrt | log | exp | abs
    CONST  := pi | e

Names are sweep variables and the derived ``d`` (input dimension) and ``width`` (widest weighted layer); ``pi``
and ``e`` are the constants (a sweep may not use those names).
An expression is parsed once (errors point at the character) and evaluated per grid point in float64;
a value that is not finite (``log(0)``, ``1/0``) is an error naming the expression and the variables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from theorycheck.errors import TheorycheckError

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "ExpressionError"]

#: the functions an expression may call
FUNCTIONS: dict[str, Callable[[float], float]] = {"sqrt": math.sqrt, "log": math.log, "exp": math.exp, "abs": abs}
#: names that are numbers, not variables
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
#: longest expression accepted (characters) and deepest nesting of parentheses
MAX_LENGTH = 500
MAX_DEPTH = 50

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<op>[-+*/^()]))", re.ASCII
)

Node = tuple[Any, ...]


class ExpressionError(TheorycheckError):
    """An expression that does not parse or evaluate, with the position."""


@dataclass(frozen=True)
class Expression:
    """A parsed arithmetic expression; ``Expression("k^2")(k=3) == 9.0``."""

    text: str
    tree: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", _Parser(self.text).parse())

    @property
    def names(self) -> frozenset[str]:
        """The variables the expression reads."""
        out: set[str] = set()
        stack = [self.tree]
        while stack:
            node = stack.pop()
            if node[0] == "name":
                out.add(node[1])
            stack.extend(n for n in node[1:] if isinstance(n, tuple))
        return frozenset(out)

    def __call__(self, env: Mapping[str, float] | None = None, /, **values: float) -> float:
        """Value at ``env`` (and keyword values); raises :class:`ExpressionError` on an unbound name or a
        value that is not a finite number."""
        scope = {**(env or {}), **values}
        try:
            out = _eval(self.tree, scope)
        except (ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExpressionError(f"{self.text!r} cannot be evaluated at {_show(scope)}: {exc}") from None
        if not math.isfinite(out):
            raise ExpressionError(f"{self.text!r} is not finite at {_show(scope)}")
        return out

    def __str__(self) -> str:
        return self.text


def _show(scope: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in scope.items()) or "no variables"


def _eval(node: Node, scope: Mapping[str, Any]) -> float:
    op = node[0]
    if op == "num":
        return float(node[1])
    if op == "name":
        if node[1] not in scope:
            raise ExpressionError(f"unbound name {node[1]!r}; bound: {', '.join(sorted(scope)) or 'none'}")
        value = scope[node[1]]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError(f"{node[1]} = {value!r} is not a number")
        return float(value)
    if op == "neg":
        return -_eval(node[1], scope)
    if op == "call":
        return float(FUNCTIONS[node[1]](_eval(node[2], scope)))
    a, b = _eval(node[1], scope), _eval(node[2], scope)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    result = a**b  # "^"
    if isinstance(result, complex):
        raise ValueError(f"{a:g}^{b:g} is not real")
    return float(result)


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ExpressionError(f"an expression must be a string, got {text!r}")
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression of {len(text)} characters, more than {MAX_LENGTH}")
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                self._fail(pos + len(text[pos:]) - len(text[pos:].lstrip()), "unexpected character")
            assert m is not None
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0
        self.depth = 0

    def _fail(self, position: int, message: str) -> NoReturn:
        hint = " (numbers, names, + - * / ^, parentheses, sqrt log exp abs, pi and e)"
        raise ExpressionError(f"{message} at position {position} of {self.text!r}{hint}")

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str) -> bool:
        tok = self._peek()
        if tok is not None and tok[0] == "op" and tok[1] == value:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            self._fail(0, "empty expression")
        tree = self._expr()
        tok = self._peek()
        if tok is not None:
            self._fail(tok[2], f"unexpected {tok[1]!r}")
        return tree

    def _expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(self._peek()[2] if self._peek() else len(self.text), "nesting too deep")  # type: ignore[index]
        node = self._term()
        while (tok := self._peek()) is not None and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            node = (tok[1], node, self._term())
        self.depth -= 1
        return node

    def _term(self) -> Node:
        node = self._unary()
        while (tok := self._peek()) is not None and tok[0] == "op" and tok[1] in "*/":
            self.i += 1
            node = (tok[1], node, self._unary())
        return node

    def _unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(self._peek()[2] if self._peek() else len(self.text), "nesting too deep")  # type: ignore[index]
        if self._take("-"):
            node: Node = ("neg", self._unary())
        elif self._take("+"):
            node = self._unary()
        else:
            node = self._power()
        self.depth -= 1
        return node

    def _power(self) -> Node:
        base = self._atom()
        if self._take("^"):
            return ("^", base, self._unary())
        return base

    def _atom(self) -> Node:
        tok = self._peek()
        if tok is None:
            self._fail(len(self.text), "the expression ends too early")
        assert tok is not None
        kind, value, pos = tok
        self.i += 1
        if kind == "num":
            return ("num", float(value))
        if kind == "name":
            if value in FUNCTIONS:
                if not self._take("("):
                    self._fail(pos + len(value), f"{value} needs an argument in parentheses, e.g. {value}(d)")
                inner = self._expr()
                if not self._take(")"):
                    self._fail(self._peek()[2] if self._peek() else len(self.text), "missing ')'")  # type: ignore[index]
                return ("call", value, inner)
            if value in CONSTANTS:
                return ("num", CONSTANTS[value])
            return ("name", value)
        if value == "(":
            inner = self._expr()
            if not self._take(")"):
                self._fail(self._peek()[2] if self._peek() else len(self.text), "missing ')'")  # type: ignore[index]
            return inner
        self._fail(pos, f"unexpected {value!r}")
        raise AssertionError  # pragma: no cover
