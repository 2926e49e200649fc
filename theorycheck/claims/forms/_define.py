"""Declaring claims: typed constructors (:func:`scaling`, :func:`value`, :func:`ratio`) and study-file tables.

Python and TOML take the same fields, validated eagerly: a bad field raises at once, naming the claim, the field
and what would be valid. A study-file table::

    [claims."mine.fc_coords"]
    statement = "Coordinates of the input gradient of a He-initialised MLP scale as 1/sqrt(d)"
    form = "scaling"                  # scaling | value | ratio
    arch = "dense({w}) relu dense({w}) relu dense(10)"
    input = "{d}"
    sweep = { d = [64, 256, 1024, 4096], w = 256 }
    statistic = "coord_var"
    target = "logit"                  # logit | logits | loss (with loss_class)
    against = "d"
    slope = -1                        # or "H"
    networks = 2000

is the same claim as ``scaling("mine.fc_coords", arch=..., input="{d}", sweep={...}, statistic="coord_var",
slope=-1, statement=...)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from theorycheck.claims._base import Claim
from theorycheck.claims._params import MAX_NETWORKS
from theorycheck.claims.forms._claim import FORMS, THEORY_LEVELS, UserClaim, margins_for
from theorycheck.claims.forms._composite import claim_of
from theorycheck.claims.forms._expr import Expression, ExpressionError
from theorycheck.claims.forms._family import DERIVED, Family
from theorycheck.claims.forms._statistics import TARGETS, get_statistic
from theorycheck.errors import TheorycheckError, suggest

__all__ = ["FIELDS", "from_table", "ratio", "scaling", "value"]

#: every field of a user claim's table, with what it takes
FIELDS: dict[str, str] = {
    "statement": "what is claimed, in words",
    "title": "the part's title in tables and reports (default: the formula)",
    "form": "scaling, value or ratio",
    "arch": "architecture template with {name} placeholders",
    "module": "in place of arch: an nn.Module factory 'pkg.mod:factory' called with the sweep's variables",
    "init": "module families: 'reset' (the modules' own reset_parameters, default) or 'he' (He et al. 2015)",
    "input": "input-shape template, e.g. '{d}' or '3x{r}x{r}'",
    "sweep": "table name = value (fixed) or [values] (an axis)",
    "zip": "true: pair the axes instead of their product",
    "statistic": "coord_var, coord_abs, grad_sq_norm, grad_l1, grad_l2, grad_linf, grad_lq or a registered one",
    "target": "logit, logits or loss",
    "loss_class": "loss target: random, argmax or a class index",
    "q": "grad_lq: the q of the norm (>= 1)",
    "scale": "expression multiplying the statistic per grid point, e.g. 'd' or '1/sqrt(2*log(2*d))'",
    "against": "scaling and ratio slope: the regressor x, an expression (default d); with train, 'step' for a law in "
    "training time",
    "slope": "scaling and ratio: the exponent, a number or 'H'",
    "predicted": "value and ratio: an expression, 'H' or 'kernel'",
    "baseline": "ratio: { arch = ..., input = ... } over the same sweep",
    "arms": "ratio: the two arms' names in cells and tables, e.g. ['pooled', 'strided'] (default treated, baseline)",
    "margin": "equivalence margin: absolute for exponents, relative for values",
    "band": "approximation band (default 3x the margin for exponents, 4x for values)",
    "networks": "networks per grid point and arm",
    "label": "how grid points are named in tables and cell IDs, a template (default 'name=value,...')",
    "control": "negative control: { arch = ..., input = ... } over the same sweep (default: automatic)",
    "train": "trained networks: { data = 'digits:{r}', steps = ..., lr = ..., ... } (theorycheck.training)",
}


def _fail(where: str, field: str, message: str) -> TheorycheckError:
    return TheorycheckError(f"{where}.{field}: {message}")


def _number(where: str, field: str, value: Any, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= low:
        raise _fail(where, field, f"must be a finite number > {low:g}, got {value!r}")
    return float(value)


def _expression(where: str, field: str, text: Any, allowed: set[str]) -> Expression:
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = repr(text)
    if not isinstance(text, str):
        raise _fail(where, field, f"must be an expression (a string), got {text!r}")
    try:
        expr = Expression(text)
    except ExpressionError as exc:
        raise _fail(where, field, str(exc)) from None
    unknown = sorted(expr.names - allowed)
    if unknown:
        raise _fail(
            where,
            field,
            f"unknown name {unknown[0]!r} in {text!r}{suggest(unknown[0], allowed)}; "
            f"names: {', '.join(sorted(allowed))}",
        )
    return expr


def _side_family(where: str, field: str, value: Any, main: Family) -> Family | None:
    if value is None or isinstance(value, Family):
        return value
    if not isinstance(value, Mapping):
        raise _fail(where, field, f"must be a table {{ arch = ..., input = ... }}, got {value!r}")
    extra = sorted(set(value) - {"arch", "input", "module"})
    if extra:
        raise _fail(where, f"{field}.{extra[0]}", "unknown field; give arch (or module) and, if it differs, input")
    if "arch" not in value and "module" not in value:
        raise _fail(where, field, "needs arch = '...' (a template over the claim's sweep) or module = 'pkg.mod:f'")
    shape = value.get("input", main.input)
    return Family(
        value.get("arch", ""),
        shape,
        main.sweep,
        main.zip,
        f"{where}.{field}",
        main.label,
        strict=False,
        module=value.get("module"),
    )


def build(claim_id: str, form: str, where: str, *, source: str = "user claim", **fields: Any) -> UserClaim:
    """Validate the fields of a claim of ``form`` and build it (the shared path of Python and TOML)."""
    if not isinstance(claim_id, str) or not claim_id or len(claim_id) > 100 or not claim_id.isprintable():
        raise TheorycheckError(
            f"a claim ID must be a non-empty printable string of at most 100 characters, got {claim_id!r}"
        )
    if form not in FORMS:
        raise _fail(where, "form", f"must be one of {', '.join(FORMS)}, got {form!r}{suggest(str(form), FORMS)}")
    fields = {k: v for k, v in fields.items() if v is not None}  # None is "not given" (Python keywords, CLI flags)
    unknown = sorted(k for k in fields if k not in FIELDS)
    if unknown:
        raise _fail(where, unknown[0], f"unknown field{suggest(unknown[0], FIELDS)}; fields: {', '.join(FIELDS)}")
    module = fields.get("module")
    if module is not None and fields.get("arch") is not None:
        raise _fail(where, "module", "give arch or module, not both")
    if module is not None and not isinstance(module, str):
        raise _fail(where, "module", f"must be 'pkg.mod:factory', got {module!r}")
    for required in ("arch", "input") if module is None else ("input",):
        if fields.get(required) is None:
            raise _fail(where, required, f"missing: a claim about a family needs {required} ({FIELDS[required]})")
    init = fields.get("init", "reset")
    if init not in ("reset", "he"):
        raise _fail(where, "init", f"must be 'reset' or 'he', got {init!r}")
    label = fields.get("label")
    if label is not None and not isinstance(label, str):
        raise _fail(where, "label", f"must be a template string, got {label!r}")
    family = Family(
        fields.get("arch") or "",
        fields["input"],
        fields.get("sweep") or {},
        bool(fields.get("zip", False)),
        where,
        label,
        strict=False,
        module=module,
    )
    allowed = set(family.sweep) | set(DERIVED)
    stat = get_statistic(fields.get("statistic", "coord_var"), where=f"{where}.statistic")
    target = fields.get("target", "logit")
    if target not in TARGETS:
        raise _fail(
            where, "target", f"must be one of {', '.join(TARGETS)}, got {target!r}{suggest(str(target), TARGETS)}"
        )
    q = fields.get("q")
    if stat.name == "grad_lq" and q is None:
        raise _fail(where, "q", "statistic grad_lq needs q (the norm's exponent, >= 1)")
    if q is not None:
        q = _number(where, "q", q, low=0.999999)
    # trained networks: a law in training time reads the checkpoint's step (`against = "step"`)
    against = _expression(
        where, "against", fields.get("against", "d"), allowed | ({"step"} if fields.get("train") else set())
    )
    slope, predicted = fields.get("slope"), fields.get("predicted")
    if form == "scaling" and slope is None:
        raise _fail(where, "slope", "a scaling claim needs slope (a number, or 'H' for the (H) engine's exponent)")
    if form == "value" and predicted is None:
        raise _fail(where, "predicted", "a value claim needs predicted (an expression, 'H' or 'kernel')")
    if form == "ratio" and (slope is None) == (predicted is None):
        raise _fail(where, "slope", "a ratio claim needs exactly one of slope (∝ against^slope) and predicted")
    if form == "value" and slope is not None:
        raise _fail(where, "slope", "a value claim takes predicted, not slope; for an exponent use form = 'scaling'")
    if form == "scaling" and predicted is not None:
        raise _fail(where, "predicted", "a scaling claim takes slope, not predicted; for values use form = 'value'")
    if slope is not None and slope != "H":
        slope = _number(where, "slope", slope, low=-math.inf)
    if isinstance(predicted, str) and predicted in THEORY_LEVELS:
        pass
    elif predicted is not None:
        predicted = _expression(where, "predicted", predicted, allowed)
    if form == "ratio" and fields.get("baseline") is None:
        raise _fail(where, "baseline", "a ratio claim needs baseline = { arch = ..., input = ... }")
    if form != "ratio" and fields.get("baseline") is not None:
        raise _fail(where, "baseline", "only a ratio claim has a baseline")
    baseline = _side_family(where, "baseline", fields.get("baseline"), family)
    control = _side_family(where, "control", fields.get("control"), family)
    for side, fam in (("baseline", baseline), ("control", control)):
        if fam is not None and [p.label for p in fam.points()] != [p.label for p in family.points()]:
            raise _fail(where, side, "must use the claim's sweep (the same grid points)")
    exponent = form == "scaling" or (form == "ratio" and slope is not None)
    margin, band = fields.get("margin"), fields.get("band")
    margin = None if margin is None else _number(where, "margin", margin)
    band = None if band is None else _number(where, "band", band)
    if margin is not None and band is not None and band < margin:
        raise _fail(where, "band", f"must be at least the margin ({margin:g}), got {band:g}")
    margins = margins_for("absolute" if exponent else "relative", margin, band)
    networks = fields.get("networks", 2000)
    if isinstance(networks, bool) or not isinstance(networks, int) or not 2 <= networks <= MAX_NETWORKS:
        raise _fail(where, "networks", f"must be an integer from 2 to {MAX_NETWORKS}, got {networks!r}")
    scale = None if fields.get("scale") is None else _expression(where, "scale", fields["scale"], allowed)
    loss_class = fields.get("loss_class", "random")
    if not (loss_class in ("random", "argmax") or (isinstance(loss_class, int) and not isinstance(loss_class, bool))):
        raise _fail(where, "loss_class", f"must be random, argmax or a class index, got {loss_class!r}")
    training = None
    if fields.get("train") is not None:
        from theorycheck.claims.forms._training import names_used, parse_training

        theory = "slope" if slope == "H" else "predicted" if predicted in THEORY_LEVELS else None
        training = parse_training(where, fields["train"], family, target=target, theory_field=theory)
    read = [e for e in (against, scale, predicted) if isinstance(e, Expression)]
    family.check_sweep_used(
        also=[n for e in read for n in e.names] + (names_used(training) if training else []),
        elsewhere="against, predicted, scale or train.data",
    )
    statement = fields.get("statement") or ""
    if not isinstance(statement, str):
        raise _fail(where, "statement", f"must be a string, got {statement!r}")
    in_time = "step" in against.names
    if in_time:
        from theorycheck.claims.forms._training import step_regressor

        xs = step_regressor(where, against, form, family, training)
    else:
        xs = [against(p.scope) for p in family.points()]
    if exponent:
        if len(set(xs)) < 2 and not in_time:
            raise _fail(where, "sweep", f"a slope needs at least two distinct values of {against.text} (got {xs})")
        if min(xs) <= 0:
            raise _fail(where, "against", f"{against.text} must be positive at every grid point (got {min(xs):g})")
    arms = fields.get("arms", ("treated", "baseline"))
    if (
        not isinstance(arms, list | tuple)
        or len(arms) != 2
        or not all(isinstance(a, str) and a.isidentifier() for a in arms)
        or arms[0] == arms[1]
    ):
        raise _fail(
            where, "arms", f"must be two different names (identifiers), e.g. ['pooled', 'strided'], got {arms!r}"
        )
    if form != "ratio" and "arms" in fields:
        raise _fail(where, "arms", "only a ratio claim has two arms")
    title = fields.get("title") or ""
    if not isinstance(title, str):
        raise _fail(where, "title", f"must be a string, got {title!r}")
    claim = UserClaim(
        claim_id,
        form,
        family,
        stat,
        statement,
        target,
        loss_class,
        q,
        against,
        slope,
        predicted,
        baseline,
        margins,
        networks,
        control,
        scale,
        source,
        definition={"form": form, **{k: v for k, v in fields.items() if v is not None}},
        title=title,
        init=init,
        arms=(str(arms[0]), str(arms[1])),
        training=training,
    )
    for p in family.points():  # expressions evaluate at every point, now
        for expr in (claim.scale, predicted if isinstance(predicted, Expression) else None):
            if expr is not None:
                try:
                    expr(p.scope)
                except ExpressionError as exc:
                    raise _fail(where, "predicted" if expr is predicted else "scale", str(exc)) from None
    return claim


def _python(form: str, claim_id: str, fields: dict[str, Any]) -> Claim:
    where = fields.pop("where", None) or f"claim {claim_id!r}"
    source = fields.pop("source", None) or "user claim (Python)"
    return claim_of(build(claim_id, form, where, source=source, **fields))


def scaling(
    claim_id: str,
    *,
    arch: str | None = None,
    input: str,
    slope: float | str,
    sweep: Mapping[str, Any] | None = None,
    statistic: str = "coord_var",
    target: str = "logit",
    against: str = "d",
    **options: Any,
) -> Claim:
    """A scaling claim: ``E[statistic] ∝ against^slope`` over the family's grid.

    Args:
        arch, input, sweep: the family (templates and the grid; see :class:`Family`); or
            ``module="pkg.mod:factory"`` in place of ``arch``: an nn.Module factory called with the sweep's
            variables, sampled with ``torch.func`` (``init="reset"`` or ``"he"``).
        slope: the exponent, or ``"H"`` for the one the (H) engine predicts on this grid.
        statistic: per-network statistic of the input gradient (``FIELDS["statistic"]``).
        target: ``logit`` (logit 0), ``logits`` (all, averaged) or ``loss``.
        against: the regressor, an expression over the sweep names, ``d`` and ``width``.
        options: ``statement``, ``margin``, ``band``, ``networks``, ``control``, ``scale``, ``q``,
            ``loss_class``, ``zip``, ``label``, ``title``, ``source`` (see :data:`FIELDS`).
    """
    return _python(
        "scaling",
        claim_id,
        dict(
            arch=arch,
            input=input,
            slope=slope,
            sweep=sweep,
            statistic=statistic,
            target=target,
            against=against,
            **options,
        ),
    )


def value(
    claim_id: str,
    *,
    arch: str | None = None,
    input: str,
    predicted: str | float,
    sweep: Mapping[str, Any] | None = None,
    statistic: str = "coord_var",
    target: str = "logit",
    **options: Any,
) -> Claim:
    """A value claim: ``E[statistic] = predicted`` at every grid point (an expression, ``"H"`` or ``"kernel"``)."""
    return _python(
        "value",
        claim_id,
        dict(arch=arch, input=input, predicted=predicted, sweep=sweep, statistic=statistic, target=target, **options),
    )


def ratio(
    claim_id: str,
    *,
    arch: str | None = None,
    input: str,
    baseline: Mapping[str, str],
    sweep: Mapping[str, Any] | None = None,
    predicted: str | float | None = None,
    slope: float | str | None = None,
    statistic: str = "coord_var",
    target: str = "logit",
    against: str = "d",
    **options: Any,
) -> Claim:
    """A ratio claim: ``E[statistic of arch] / E[statistic of baseline]`` equals ``predicted`` at every point, or
    scales as ``against^slope``; ``baseline = {"arch": ..., "input": ...}`` shares the sweep."""
    return _python(
        "ratio",
        claim_id,
        dict(
            arch=arch,
            input=input,
            baseline=baseline,
            sweep=sweep,
            predicted=predicted,
            slope=slope,
            statistic=statistic,
            target=target,
            against=against,
            **options,
        ),
    )


def from_table(claim_id: str, table: Mapping[str, Any], *, where: str, source: str) -> Claim:
    """A user claim from its study-file table (``form`` selects the constructor)."""
    if not isinstance(table, Mapping):
        raise TheorycheckError(f"{where}: must be a table of fields")
    if "form" not in table:
        raise _fail(where, "form", "missing: a claim not in the catalogue needs form = 'scaling', 'value' or 'ratio'")
    fields = {k: v for k, v in table.items() if k != "form"}
    return claim_of(build(claim_id, table["form"], where, source=source, **fields))
