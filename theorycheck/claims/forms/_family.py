"""Architecture families: a template with ``{name}`` placeholders, an input-shape template, and a sweep.

>>> fam = Family("[conv({c},3,padding=circular) relu]*2 flatten dense(10)", "3x{r}x{r}", sweep={"r": [8, 16], "c": 8})
>>> [p.label for p in fam.points()]
['r=8', 'r=16']

The sweep binds the names: a list is an axis, a scalar is fixed. The grid is the product of the axes, or the
axes side by side with ``zip=True``. Every grid point also knows ``d`` (the input dimension, C·H·W) and
``width`` (the widest weighted layer: its units or channels), for expressions.

Everything is checked when the family is built, before any work: an unknown or unbound placeholder, a sweep
name that no template uses, axes of different lengths under ``zip``, and a grid point whose architecture
fails shape inference (the message gives that point's variables).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from theorycheck.errors import TheorycheckError

__all__ = ["DERIVED", "MAX_POINTS", "Family", "Point"]

#: names every grid point defines for expressions
DERIVED = ("d", "width")
#: the largest grid a family may have
MAX_POINTS = 1000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_]\w*", re.ASCII)


@dataclass(frozen=True)
class Point:
    """One grid point: the variables, the instantiated architecture and input, and the derived names."""

    variables: dict[str, Any]
    arch: str
    input: str
    d: int
    width: int
    #: number of logits the architecture ends with
    outputs: int = 1
    #: the point's name in cell IDs and tables (default ``"d=64,w=256"``: the swept variables; ``"all"``)
    name: str = ""
    #: a module family's factory (``"pkg.mod:factory"``), called with the point's variables; ``arch`` is then its
    #: graph when it converts (torch.fx), else ``""`` and ``unconverted`` says why
    module: str | None = None
    unconverted: str = ""

    @property
    def label(self) -> str:
        """The point's name: the family's ``label`` template filled in, or ``"d=64,w=256"`` (swept variables)."""
        return self.name or ",".join(f"{k}={_text(v)}" for k, v in self.variables.items()) or "all"

    @property
    def scope(self) -> dict[str, Any]:
        """Variables and derived names, for expressions (a swept ``d`` equals the derived one)."""
        return {**self.variables, "d": self.d, "width": self.width}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return repr(value)
    return str(value)


def _fill(template: str, scope: Mapping[str, Any]) -> str:
    """``template`` with every ``{name}`` replaced by its value in ``scope``."""
    return _PLACEHOLDER.sub(lambda m: _text(scope[m.group(1)]), template)


def placeholders(template: str) -> list[tuple[str, int]]:
    """``(name, position)`` of every ``{name}`` in ``template``."""
    return [(m.group(1), m.start()) for m in _PLACEHOLDER.finditer(template)]


def _widest(arch: Any) -> int:
    from theorycheck.graph._nodes import Branches, Conv, Dense

    widest, stack = 0, [arch.layers]
    while stack:
        for node in stack.pop():
            if isinstance(node, Dense | Conv):
                widest = max(widest, node.out)
            if isinstance(node, Branches):
                stack.extend(node.branches)
    return widest


@dataclass(frozen=True)
class Family:
    """Architectures ``arch`` on inputs ``input``, one per point of the ``sweep`` grid.

    Args:
        arch: architecture text, with ``{name}`` placeholders (e.g. ``"dense({w}) relu dense(10)"``).
        input: input-shape text, with placeholders (e.g. ``"{d}"`` or ``"3x{r}x{r}"``).
        sweep: ``{name: list | scalar}``; lists are axes, scalars are fixed.
        zip: pair the axes (all of one length) instead of taking their product.
        where: how errors name the family (e.g. ``claims."mine.pool"``).
        label: how grid points are named in cell IDs and tables, a template over the sweep names, ``d`` and
            ``width`` (e.g. ``"FC/d={d}"``); default ``"name=value,…"`` of the swept names.
    """

    arch: str
    input: str
    sweep: Mapping[str, Any] = field(default_factory=dict)
    zip: bool = False
    where: str = "family"
    label: str | None = None
    #: refuse sweep names no template uses (off for a claim's baseline and control, which share its sweep)
    strict: bool = True
    #: a module factory ``"pkg.mod:factory"`` in place of ``arch``: it receives the sweep's variables
    module: str | None = None

    def __post_init__(self) -> None:
        self._validate()
        if self.strict:
            self.check_sweep_used()

    def check_sweep_used(self, *, also: Iterable[str] = (), elsewhere: str = "") -> None:
        """Refuse a sweep name that nothing uses: no placeholder of arch, input or label, and none of ``also`` (the
        names the claim's expressions read, ``elsewhere`` naming those fields). A module factory gets them all."""
        if self.module is not None:
            return
        used = {n for text in (self.arch, self.input, self.label or "") for n, _ in placeholders(text)} | set(also)
        for name in self.sweep:
            if name not in used:
                raise TheorycheckError(
                    f"{self.where}.sweep.{name}: no placeholder {{{name}}} in arch, input or label uses it"
                    f"{elsewhere and ', nor ' + elsewhere}; remove it or use it in the template"
                )

    def _validate(self) -> None:
        for name, text in (("arch", self.arch), ("input", self.input)):
            if name == "arch" and self.module is not None:
                continue
            if not isinstance(text, str) or not text.strip():
                raise TheorycheckError(f"{self.where}.{name}: must be a non-empty string, got {text!r}")
        if not isinstance(self.sweep, Mapping):
            raise TheorycheckError(
                f"{self.where}.sweep: must be a table of name = value or [values], got {self.sweep!r}"
            )
        for fld, text in (("arch", self.arch), ("input", self.input)):
            for name, pos in placeholders(text):
                if not _NAME.fullmatch(name):
                    raise TheorycheckError(
                        f"{self.where}.{fld}: {{{name}}} at position {pos} is not a placeholder name; "
                        "write {{name}} with letters, digits and _"
                    )
                if name not in self.sweep:
                    hint = " (d and width are derived from each point: sweep a resolution r instead)"
                    raise TheorycheckError(
                        f"{self.where}.{fld}: placeholder {{{name}}} at position {pos} is not bound by the sweep"
                        f"{hint if name in DERIVED else ''}; add it to sweep, e.g. sweep = {{ {name} = [...] }}"
                    )
        for name, values in self.sweep.items():
            if not _NAME.fullmatch(str(name)):
                raise TheorycheckError(f"{self.where}.sweep.{name}: not a name (letters, digits and _)")
            if name == "width":
                raise TheorycheckError(
                    f"{self.where}.sweep.width: 'width' is derived (the widest weighted layer); call the variable w"
                )
            if name in ("pi", "e"):
                raise TheorycheckError(
                    f"{self.where}.sweep.{name}: '{name}' is a constant in expressions; call the variable otherwise"
                )
            for v in values if isinstance(values, list) else [values]:
                if (
                    isinstance(v, bool)
                    or not isinstance(v, int | float | str)
                    or (isinstance(v, float) and not math.isfinite(v))
                ):
                    raise TheorycheckError(f"{self.where}.sweep.{name}: values must be numbers or strings, got {v!r}")
            if isinstance(values, list) and not values:
                raise TheorycheckError(f"{self.where}.sweep.{name}: an empty list gives an empty grid")
        axes = {k: v for k, v in self.sweep.items() if isinstance(v, list)}
        if self.zip and len({len(v) for v in axes.values()}) > 1:
            lengths = ", ".join(f"{k}: {len(v)}" for k, v in axes.items())
            raise TheorycheckError(f"{self.where}.sweep: zip = true needs axes of one length, got {lengths}")
        size = len(next(iter(axes.values()))) if self.zip and axes else math.prod(len(v) for v in axes.values())
        if size > MAX_POINTS:
            raise TheorycheckError(f"{self.where}.sweep: {size} grid points, more than the limit of {MAX_POINTS}")
        object.__setattr__(self, "_points", self._build_points())  # shape inference at every point, now

    @property
    def axes(self) -> list[str]:
        """The swept names (those bound to lists), in order."""
        return [k for k, v in self.sweep.items() if isinstance(v, list)]

    def _assignments(self) -> Iterator[dict[str, Any]]:
        axes = {k: v for k, v in self.sweep.items() if isinstance(v, list)}
        if not axes:
            yield {}
            return
        combos = zip(*axes.values(), strict=True) if self.zip else itertools.product(*axes.values())
        for combo in combos:
            yield dict(zip(axes, combo, strict=True))

    def instantiate(self, variables: Mapping[str, Any]) -> tuple[str, str]:
        """``(arch, input)`` texts with the placeholders replaced (fixed names from the sweep included)."""
        scope = {k: v for k, v in self.sweep.items() if not isinstance(v, list)} | dict(variables)

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: _text(scope[m.group(1)]), text)

        return fill(self.arch), fill(self.input)

    def points(self) -> list[Point]:
        """Every grid point, validated when the family was built (shape inference on each architecture)."""
        return list(self._points)  # type: ignore[attr-defined]

    def _module_point(self, variables: dict[str, Any], input_text: str, shown: str) -> Point:
        """A module family's point: the factory's module, converted to a graph when the DSL expresses it."""
        from theorycheck._imports import import_object
        from theorycheck.graph import from_module, parse_input_shape

        assert self.module is not None
        factory = import_object(self.module, what=f"{self.where}.module")
        fixed = {k: v for k, v in self.sweep.items() if not isinstance(v, list)}
        try:
            module = factory(**{**fixed, **variables})
        except Exception as exc:
            raise TheorycheckError(
                f"{self.where}.module: {self.module}({shown}) failed: {type(exc).__name__}: {exc}"
            ) from None
        shape = parse_input_shape(input_text)
        try:
            arch, why = from_module(module, shape).to_text(), ""
        except TheorycheckError as exc:
            arch, why = "", str(exc)
        import torch

        try:
            with torch.no_grad():
                logits = module.eval()(torch.zeros((1, *shape)))
        except Exception as exc:
            raise TheorycheckError(
                f"{self.where}.module: {self.module}({shown}) fails on inputs (1, *{shape}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if logits.ndim != 2:
            raise TheorycheckError(f"{self.where}.module: {self.module}({shown}) must return (1, K) logits")
        return Point(
            variables, arch, input_text, math.prod(shape), 0, int(logits.shape[1]), module=self.module, unconverted=why
        )

    def _build_points(self) -> list[Point]:
        from theorycheck.graph import Architecture, parse_input_shape
        from theorycheck.theory._frames import annotate

        out = []
        for variables in self._assignments():
            arch_text, input_text = self.instantiate(variables)
            shown = ",".join(f"{k}={_text(v)}" for k, v in variables.items()) or "the grid point"
            if self.module is not None:
                out.append(self._module_point(variables, input_text, shown))
                continue
            try:
                arch = Architecture.parse(arch_text)
                shape = parse_input_shape(input_text)
                annotate(arch, shape)  # shapes, and the memory every value needs
            except TheorycheckError as exc:
                message = str(exc).replace("\n", "\n  ")
                raise TheorycheckError(
                    f"{self.where}.sweep: {shown} gives {arch_text!r} on {input_text}: {message}"
                ) from None
            d = math.prod(shape)
            if "d" in variables and variables["d"] != d:
                raise TheorycheckError(
                    f"{self.where}.sweep: d={variables['d']} but the input {input_text} has dimension {d}; 'd' is "
                    "the input dimension: sweep another name (e.g. r for a resolution)"
                )
            point = Point(variables, arch_text, input_text, d, _widest(arch), arch.output_shape(shape)[0])
            if self.label is not None:
                scope = {**{k: v for k, v in self.sweep.items() if not isinstance(v, list)}, **point.scope}
                unknown = [n for n, _ in placeholders(self.label) if n not in scope]
                if unknown:
                    raise TheorycheckError(f"{self.where}.label: unknown name {unknown[0]!r} in {self.label!r}")
                point = replace(point, name=_fill(self.label, scope))
            out.append(point)
        labels = [p.label for p in out]
        if len(set(labels)) != len(labels):
            twice = next(x for x in labels if labels.count(x) > 1)
            raise TheorycheckError(f"{self.where}.sweep: two grid points are both named {twice!r}; the grid repeats")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The family's fields (for hashing and reports)."""
        return {
            "arch": self.arch,
            "module": self.module,
            "input": self.input,
            "sweep": dict(self.sweep),
            "zip": self.zip,
            "label": self.label,
        }
