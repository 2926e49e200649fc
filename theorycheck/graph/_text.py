"""The compact text form of an architecture, and its canonical printer.

Grammar (whitespace separates items; the text is data, never evaluated)::

    arch   := item*
    item   := layer | '[' item* ']' '*' INT
            | ('add' | 'concat') '{' item* ('|' item*)+ '}'
            | 'residual' '{' item* '}'          # = add{ ... | identity }
    layer  := NAME [ '(' arg (',' arg)* ')' ]
    arg    := value | NAME '=' value
    value  := NUMBER | NAME

``identity`` is the empty sequence (useful as a branch).

Limits (each refused with the limit in the message, before anything is built):
nesting of ``[…]``/``add{…}``/``concat{…}``/``residual{…}`` up to
:data:`MAX_NESTING` levels, a repetition count up to :data:`MAX_REPEAT`, at most
:data:`MAX_LAYERS` layers once repetitions are expanded, integer arguments up to
:data:`MAX_INT`, and finite gains. Digits are ASCII only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from theorycheck.errors import ArchitectureError, suggest
from theorycheck.graph._format import format_layers
from theorycheck.graph._init import DISTRIBUTIONS, HE, SCALINGS, Init
from theorycheck.graph._nodes import (
    PADDINGS,
    Activation,
    Add,
    AvgPool,
    Branches,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    Node,
    Sequence,
)

__all__ = ["LAYER_NAMES", "MAX_INT", "MAX_LAYERS", "MAX_NESTING", "MAX_REPEAT", "format_layers", "parse_layers"]

#: deepest nesting of repetitions and branches
MAX_NESTING = 64
#: largest repetition count N in ``[…]*N``
MAX_REPEAT = 10_000
#: most layers of an architecture, repetitions expanded and branches counted
MAX_LAYERS = 100_000
#: largest integer argument (a width, kernel, stride or dilation)
MAX_INT = 2**24

_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[\[\](){}|*,=])",
    re.ASCII,  # '１０' (full-width digits) is not a number
)

_PADDING_ALIASES = {"same": "zero", "zeros": "zero", "periodic": "circular", "mirror": "reflect"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "number" | "name" | "punct" | "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ArchitectureError(f"unexpected character {text[pos]!r}", text=text, position=pos)
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "int" | "float" | "padding" | "dist" | "scaling"


_INIT_PARAMS = (_Param("gain", "float"), _Param("init", "dist"), _Param("scaling", "scaling"), _Param("bias", "float"))


@dataclass(frozen=True)
class _LayerSpec:
    positional: tuple[str, ...]
    params: tuple[_Param, ...]
    build: Callable[..., Node]
    required: tuple[str, ...] = ()

    def param(self, name: str) -> _Param | None:
        return next((p for p in self.params if p.name == name), None)


def _init_from(kw: dict[str, Any]) -> Init:
    return Init(dist=kw.pop("init", HE.dist), gain=kw.pop("gain", HE.gain), scaling=kw.pop("scaling", HE.scaling))


def _build_dense(**kw: Any) -> Node:
    init = _init_from(kw)
    return Dense(init=init, **kw)


def _build_conv(**kw: Any) -> Node:
    init = _init_from(kw)
    return Conv(init=init, **kw)


_LAYERS: dict[str, _LayerSpec] = {
    "dense": _LayerSpec(("out",), (_Param("out", "int"), *_INIT_PARAMS), _build_dense, ("out",)),
    "conv": _LayerSpec(
        ("out", "kernel"),
        (
            _Param("out", "int"),
            _Param("kernel", "int"),
            _Param("stride", "int"),
            _Param("dilation", "int"),
            _Param("padding", "padding"),
            *_INIT_PARAMS,
        ),
        _build_conv,
        ("out", "kernel"),
    ),
    "avgpool": _LayerSpec(
        ("kernel", "stride"), (_Param("kernel", "int"), _Param("stride", "int")), AvgPool, ("kernel",)
    ),
    "maxpool": _LayerSpec(
        ("kernel", "stride"), (_Param("kernel", "int"), _Param("stride", "int")), MaxPool, ("kernel",)
    ),
    "flatten": _LayerSpec((), (), Flatten),
    "globalavgpool": _LayerSpec((), (), GlobalAvgPool),
    "globalmaxpool": _LayerSpec((), (), GlobalMaxPool),
    **{fn: _LayerSpec((), (), (lambda fn=fn: Activation(fn))) for fn in ("relu", "tanh", "sigmoid", "softplus")},
}
_KEYWORDS = ("add", "concat", "residual", "identity")
LAYER_NAMES: tuple[str, ...] = tuple(sorted(_LAYERS)) + _KEYWORDS


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers -----------------------------------------------------------
    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def advance(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok) -> ArchitectureError:
        return ArchitectureError(message, text=self.text, position=tok.pos, length=len(tok.text))

    def expect(self, punct: str, message: str) -> _Tok:
        tok = self.peek()
        if tok.kind != "punct" or tok.text != punct:
            found = f"'{tok.text}'" if tok.kind != "end" else "the end of the text"
            raise self.error(f"{message}, found {found}", tok)
        return self.advance()

    def at(self, punct: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.text == punct

    # -- grammar -----------------------------------------------------------
    def parse(self) -> Sequence:
        layers = self.sequence(stop=())
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"unexpected '{tok.text}'", tok)
        return layers

    def sequence(self, stop: tuple[str, ...]) -> Sequence:
        out: list[Node] = []
        while True:
            tok = self.peek()
            if tok.kind == "end" or (tok.kind == "punct" and tok.text in stop):
                return tuple(out)
            out.extend(self.item())

    def item(self) -> Sequence:
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "[":
            return self.repetition()
        if tok.kind == "punct" and tok.text == "]":
            raise self.error("']' without a matching '['", tok)
        if tok.kind == "punct" and tok.text == "*":
            raise self.error("'*N' must follow the ']' that closes a repetition, e.g. [conv(64,3) relu]*8", tok)
        if tok.kind != "name":
            raise self.error(f"expected a layer name, found '{tok.text}'", tok)
        if tok.text in ("add", "concat", "residual"):
            return (self.branches(),)
        if tok.text == "identity":
            self.advance()
            return ()
        return (self.layer(),)

    def nest(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nesting deeper than {MAX_NESTING} levels of '[', add, concat or residual", tok)

    def repetition(self) -> Sequence:
        open_tok = self.advance()
        self.nest(open_tok)
        body = self.sequence(stop=("]",))
        self.depth -= 1
        if self.peek().kind == "end":
            raise self.error("unclosed '[': a repetition is written [layers]*N", open_tok)
        close = self.advance()
        if not body:
            raise self.error("empty repetition: put layers between '[' and ']'", open_tok)
        if not self.at("*"):
            raise self.error("malformed repetition: write '*N' right after ']', e.g. [conv(64,3) relu]*8", close)
        self.advance()
        count = self.peek()
        if count.kind != "number" or not count.text.isdigit() or int(count.text) <= 0:
            shown = count.text or "nothing"
            raise self.error(
                f"malformed repetition: the count after '*' must be a positive integer, got {shown}", count
            )
        self.advance()
        n = int(count.text)
        if n > MAX_REPEAT:
            raise self.error(f"repetition count {n} exceeds the limit of {MAX_REPEAT}", count)
        total = count_layers(body) * n
        if total > MAX_LAYERS:
            raise self.error(f"this repetition expands to {total} layers, more than the limit of {MAX_LAYERS}", count)
        return body * n

    def branches(self) -> Node:
        head = self.advance()
        self.expect("{", f"'{head.text}' needs its branches in braces, e.g. {head.text}{{conv(64,3) | identity}}")
        self.nest(head)
        branches = [self.sequence(stop=("|", "}"))]
        while self.at("|"):
            self.advance()
            branches.append(self.sequence(stop=("|", "}")))
        self.depth -= 1
        if self.peek().kind == "end":
            raise self.error(f"unclosed '{{' of '{head.text}'", head)
        close = self.expect("}", "expected '|' or '}'")
        span = (head.pos, close.pos + 1)
        if head.text == "residual":
            if len(branches) != 1:
                raise self.error("residual{...} takes one branch (it adds the identity itself)", head)
            return Add((branches[0], ()), span=span)
        cls = Add if head.text == "add" else Concat
        if len(branches) < 2:
            raise self.error(f"{head.text} needs at least two branches separated by '|'", head)
        return cls(tuple(branches), span=span)

    def layer(self) -> Node:
        name = self.advance()
        spec = _LAYERS.get(name.text)
        if spec is None:
            raise self.error(f"unknown layer '{name.text}'{suggest(name.text, LAYER_NAMES)}", name)
        values: dict[str, Any] = {}
        end = name.pos + len(name.text)
        if self.at("("):
            self.advance()
            if not self.at(")"):
                self.arguments(name, spec, values)
            end = self.expect(")", f"expected ',' or ')' in the arguments of {name.text}").pos + 1
        for req in spec.required:
            if req not in values:
                usage = f"{name.text}({', '.join(spec.positional[: len(spec.required)])})"
                raise self.error(f"{name.text} needs its '{req}' argument: write {usage}", name)
        try:
            node = spec.build(**values)
        except ArchitectureError as exc:
            raise self.error(exc.message, name) from None
        except ValueError as exc:
            raise self.error(f"{name.text}: {exc}", name) from None
        return _with_span(node, (name.pos, end))

    def arguments(self, name: _Tok, spec: _LayerSpec, values: dict[str, Any]) -> None:
        n_positional = 0
        while True:
            tok = self.peek()
            if tok.kind == "end":
                raise self.error(f"unclosed '(' of {name.text}: the text ends inside its arguments", name)
            nxt = self.tokens[self.i + 1]
            if tok.kind == "name" and nxt.kind == "punct" and nxt.text == "=":
                self.advance()
                self.advance()
                param = spec.param(tok.text)
                if param is None:
                    names = [p.name for p in spec.params]
                    hint = suggest(tok.text, names) or f"; it takes {', '.join(names) or 'no arguments'}"
                    raise self.error(f"{name.text} has no parameter '{tok.text}'{hint}", tok)
                key = tok.text
            else:
                if n_positional >= len(spec.positional):
                    limit = (
                        f"at most {len(spec.positional)} positional argument(s)" if spec.positional else "no arguments"
                    )
                    raise self.error(f"{name.text} takes {limit}", tok)
                key = spec.positional[n_positional]
                param = spec.param(key)
                assert param is not None
                n_positional += 1
            if key in values:
                raise self.error(f"{name.text}: '{key}' is given twice", tok)
            values[key] = self.value(name.text, param)
            if not self.at(","):
                return
            self.advance()

    def value(self, layer: str, param: _Param) -> Any:
        tok = self.advance()
        if param.kind == "int":
            if tok.kind != "number" or not re.fullmatch(r"[+-]?\d+", tok.text):
                raise self.error(f"{layer}: '{param.name}' must be an integer, got '{tok.text}'", tok)
            if len(tok.text.lstrip("+-")) > 12:
                raise self.error(f"{layer}: '{param.name}' is larger than the limit of {MAX_INT}", tok)
            value = int(tok.text)
            if value <= 0:
                raise self.error(f"{layer}: '{param.name}' must be a positive integer, got {value}", tok)
            if value > MAX_INT:
                raise self.error(f"{layer}: '{param.name}' = {value} is larger than the limit of {MAX_INT}", tok)
            return value
        if param.kind == "float":
            if tok.kind != "number":
                raise self.error(f"{layer}: '{param.name}' must be a number, got '{tok.text}'", tok)
            value_f = float(tok.text)
            if not math.isfinite(value_f):
                raise self.error(f"{layer}: '{param.name}' must be a finite number, got '{tok.text}'", tok)
            return value_f
        choices = {"padding": PADDINGS, "dist": DISTRIBUTIONS, "scaling": SCALINGS}[param.kind]
        word = _PADDING_ALIASES.get(tok.text, tok.text) if param.kind == "padding" else tok.text
        if tok.kind != "name" or word not in choices:
            raise self.error(
                f"{layer}: unknown {param.name} '{tok.text}'{suggest(tok.text, choices)}"
                f" (choices: {', '.join(choices)})",
                tok,
            )
        return word


def _with_span(node: Node, span: tuple[int, int]) -> Node:
    object.__setattr__(node, "span", span)
    return node


def parse_layers(text: str) -> Sequence:
    """Parse architecture text into a tuple of nodes (see module docstring)."""
    layers = _Parser(text).parse()
    total = count_layers(layers)
    if total > MAX_LAYERS:
        raise ArchitectureError(f"the architecture has {total} layers, more than the limit of {MAX_LAYERS}")
    return layers


def count_layers(layers: Sequence) -> int:
    """Number of nodes, branches' nodes included (iterative: no recursion limit)."""
    total, stack = 0, [layers]
    while stack:
        seq = stack.pop()
        total += len(seq)
        for node in seq:
            if isinstance(node, Branches):
                stack.extend(node.branches)
    return total
