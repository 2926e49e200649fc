"""Per-network statistics of the input gradient a claim can be about, and what the theory predicts for them.

Built in (g = ∂ₓ target, d = its dimension; one value per network):

=============== ================================ =====================================
name            value                            theory ((H) or kernel level)
=============== ================================ =====================================
``coord_var``   ‖g‖₂² / d = mean_i g_i²          E = mean of the predicted map (exact)
``grad_sq_norm`` ‖g‖₂²                           E = sum of the predicted map (exact)
``coord_abs``   ‖g‖₁ / d = mean_i |g_i|          not covered (needs the coordinates' law)
``grad_l1``     ‖g‖₁                             not covered
``grad_l2``     ‖g‖₂                             not covered (E‖g‖₂ ≠ √E‖g‖₂²)
``grad_linf``   ‖g‖_∞                            not covered
``grad_lq``     ‖g‖_q (with ``q``)               not covered
=============== ================================ =====================================

The theory engine predicts second moments, E[g_i²]; a first moment such as E|g_i| would need the law of each
coordinate, which (H) does not fix at finite width, so those predictions are "not covered", never
approximated. With target ``logits`` a statistic is averaged over the K logits' gradients; with ``loss`` the
theory is not covered (eq. 9's factor depends on the softmax, which the engine does not predict).

User statistics: :func:`statistic` registers ``fn(grad, logits, x) -> (B,)`` (float64 tensors of shapes
``(B, *input_shape)``, ``(B, K)``, ``(B, *input_shape)``) under a name; its theory is not covered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims.forms._family import Point
from theorycheck.errors import TheorycheckError, suggest

__all__ = ["BUILTIN", "TARGETS", "Statistic", "get_statistic", "statistic", "theory_value"]

TARGETS = ("logit", "logits", "loss")


@dataclass(frozen=True)
class Statistic:
    """A per-network statistic: the sampler column it reads and how the theory predicts its mean."""

    name: str
    description: str
    column: str
    #: how E[statistic] follows from the predicted map of E[g_i²]: "mean", "sum" or None (not covered)
    moment: str | None = None
    #: a function of the column and the point (e.g. ‖g‖₁/d)
    transform: str = "identity"
    #: a user reducer (``"module:qualname"`` so that worker processes can import it)
    ref: str | None = None
    #: degree of homogeneity in the gradient (‖g‖₂²: 2, ‖g‖₁: 1), for the automatic network control; None: unknown
    degree: int | None = None

    def values(self, df: pd.DataFrame, gradients: list[str], point: Point, *, prefix: str = "") -> np.ndarray:
        """One value per network, averaged over ``gradients`` (the logits' for target ``logits``); ``prefix``
        selects a trained claim's checkpoint, whose rows average each statistic over held-out examples (there
        ``grad_l2`` reads E_x‖g‖₂ itself, not the root of E_x‖g‖₂²)."""
        if self.name == "grad_l2" and all(f"{prefix}{g}.l2" in df for g in gradients):
            return np.mean([df[f"{prefix}{g}.l2"].to_numpy(dtype=np.float64) for g in gradients], axis=0)
        cols = [f"{prefix}{g}.{self.column}" for g in gradients]
        missing = [c for c in cols if c not in df]
        if missing:
            raise KeyError(f"no column {missing[0]!r} in the cell's rows")
        v = np.mean([df[c].to_numpy(dtype=np.float64) for c in cols], axis=0)
        if self.transform == "per_coordinate":
            return np.asarray(v / point.d)
        if self.transform == "sqrt":
            return np.asarray(np.sqrt(v))
        return np.asarray(v)


BUILTIN: dict[str, Statistic] = {
    s.name: s
    for s in [
        Statistic("coord_var", "E[(∂f/∂x_i)²] averaged over the inputs i: ‖g‖₂²/d", "coord_var", "mean", degree=2),
        Statistic("grad_sq_norm", "‖g‖₂², the squared norm of the input gradient", "sq_norm", "sum", degree=2),
        Statistic("coord_abs", "mean_i |∂f/∂x_i| = ‖g‖₁/d", "l1", None, "per_coordinate", degree=1),
        Statistic("grad_l1", "‖g‖₁", "l1", degree=1),
        Statistic("grad_l2", "‖g‖₂", "sq_norm", None, "sqrt", degree=1),
        Statistic("grad_linf", "‖g‖_∞", "linf", degree=1),
        Statistic("grad_lq", "‖g‖_q (set q)", "lq", degree=1),
    ]
}
_USER: dict[str, Statistic] = {}
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def statistic(
    name: str, *, description: str = "", degree: int | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a user statistic (a decorator)::

        @theorycheck.claims.statistic("grad_l4", description="‖g‖₄ per network", degree=1)
        def grad_l4(grad, logits, x):  # (B, *input_shape), (B, K), (B, *input_shape), float64
            return grad.flatten(1).abs().pow(4).sum(1).pow(0.25)  # (B,)

    ``degree``: the statistic's degree of homogeneity in the gradient, ``s(c·g) = c^degree s(g)`` for c > 0 (a norm:
    1, a squared norm: 2). With it, a claim without a control family gets the control that changes the networks
    (:mod:`theorycheck.claims.forms._controls`); without it, the control that moves the prediction.
    The function must be importable by its module and name (workers of a Dask run import it).
    """
    if degree is not None and (isinstance(degree, bool) or not isinstance(degree, int) or degree < 1):
        raise TheorycheckError(f"statistic {name!r}: degree must be a positive integer, got {degree!r}")
    if not isinstance(name, str) or not name.isidentifier():
        raise TheorycheckError(f"statistic name must be an identifier, got {name!r}")
    if name in BUILTIN:
        raise TheorycheckError(f"statistic {name!r} is built in; choose another name")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise TheorycheckError(f"statistic {name!r}: expected a function, got {fn!r}")
        ref = f"{fn.__module__}:{fn.__qualname__}"
        known = _USER.get(name)
        if known is not None and known.ref != ref:
            raise TheorycheckError(f"statistic {name!r} is registered twice: by {known.ref} and by {ref}")
        _USER[name] = Statistic(
            name, description or (fn.__doc__ or name).strip().splitlines()[0], name, ref=ref, degree=degree
        )
        _FUNCTIONS[ref] = fn
        return fn

    return register


def get_statistic(name: str, *, where: str = "statistic") -> Statistic:
    """The built-in or registered statistic ``name``; an error with the closest name otherwise."""
    if not isinstance(name, str):
        raise TheorycheckError(f"{where}: must be a statistic name, got {name!r}")
    found = BUILTIN.get(name) or _USER.get(name)
    if found is None:
        known = [*BUILTIN, *_USER]
        raise TheorycheckError(
            f"{where}: unknown statistic {name!r}{suggest(name, known)}; built in: {', '.join(BUILTIN)} "
            "(register your own with theorycheck.claims.statistic)"
        )
    return found


def load_reducer(ref: str) -> Callable[..., Any]:
    """The function behind ``"module:qualname"`` (already registered in this process, or imported)."""
    from theorycheck._imports import import_object

    if ref in _FUNCTIONS:
        return _FUNCTIONS[ref]
    fn = import_object(ref, what="statistic")
    if not callable(fn):
        raise TheorycheckError(f"statistic {ref} is not a function")
    return fn


def gradients(target: str, n_logits: int, output: int = 0) -> list[str]:
    """The sampler's gradient names for ``target``."""
    if target == "logit":
        return ["logit"]
    if target == "logits":
        return [f"logit{k}" for k in range(n_logits)]
    return ["loss"]


@lru_cache(maxsize=1024)
def _theory_maps(level: str, arch: str, shape: str, outputs: tuple[int, ...]) -> tuple[list[Any] | None, str]:
    """Predicted maps of E[g_i²] for each output (or None and the reason)."""
    from theorycheck.graph import Architecture, parse_input_shape
    from theorycheck.theory import kernel_summary, predict

    if level == "H":
        preds = [predict(arch, shape, output=k) for k in outputs]
        if not preds[0].covered or any(p.coord_var_map is None for p in preds):
            return None, f"(H) does not cover {arch} on {shape}: {preds[0].reason}"
        return [p.coord_var_map for p in preds], "(H), eq. 13 (exact under (H))"
    if outputs != (0,):
        return None, "the kernel level is computed for logit 0 only; use target = logit"
    parsed, dims = Architecture.parse(arch), parse_input_shape(shape)
    summaries = [kernel_summary(parsed, dims, inputs=1, seed=s) for s in range(3)]
    first = summaries[0]
    if not first.covered or first.coord_var_map is None:
        return None, f"the kernel level does not cover {arch} on {shape}: {first.reason}"
    means = [float(s.coord_var_map.mean()) for s in summaries if s.coord_var_map is not None]
    spread = (max(means) - min(means)) / abs(np.mean(means))
    if spread > 1e-9:
        return None, (
            f"the kernel-level E[g_i²] of {arch} depends on the input (relative spread {spread:.2g} over 3 Gaussian "
            "inputs), and its expectation over inputs is not computed exactly"
        )
    return [first.coord_var_map], "kernel level (infinite width), the same for every input"


def theory_value(stat: Statistic, level: str, point: Point, *, target: str, n_logits: int) -> tuple[float | None, str]:
    """E[statistic] at ``point`` by the theory engine at ``level`` (``"H"`` or ``"kernel"``), or None and why."""
    if stat.moment is None:
        return None, (
            f"the theory engine predicts second moments E[g_i²]; E[{stat.name}] needs the law of the coordinates, "
            "which the theory does not give exactly (use coord_var or grad_sq_norm)"
        )
    if target == "loss":
        return None, "the loss gradient's moments depend on the softmax probabilities (eq. 9), which are not predicted"
    outputs = (0,) if target == "logit" else tuple(range(n_logits))
    maps, why = _theory_maps(level, point.arch, point.input, outputs)
    if maps is None:
        return None, why
    per_output = [float(m.mean() if stat.moment == "mean" else m.sum()) for m in maps]
    return float(np.mean(per_output)), why
