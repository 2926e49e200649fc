"""Claims checked on trained networks: Simon-Gabriel et al. (2019), Section 4, "after training".

The paper's experiments train CNNs on images at several resolutions and with several pooling layers, and report
that the conclusions drawn at initialisation hold after training. Here each network of a cell is trained at once
with its window (:mod:`theorycheck.training`), from the sampler's initial weights, with its own minibatch order, and
measured on held-out images at step 0 and after training (cells of kind ``trained``:
:mod:`theorycheck.claims.forms._training`). The defaults are sized for two CPU cores (8 channels, 8-32 px, 60 SGD
steps with momentum, 64 networks a cell for fig1, 32 for fig3); a GPU study raises them.

* ``sg.fig1_trained``: E_x‖∂ₓL‖₁ ∝ √d across resolutions after training (judged), next to step 0 (shown), on the
  bundled digits (upsampled: no new detail at higher resolutions) and on procedural gratings (detail grows with the
  resolution). The negative control is a network that average-pools the image to 8×8 first: its ‖∂ₓL‖₁ is the pooled
  network's (each pixel's derivative is 1/k² of its pooled value's, over k² pixels), so √d must be refuted on it.
* Figure 2's comparisons across training methods (``sg.fig2_duality``, ``sg.fig2d``, ``sg.fig2e``) are in
  :mod:`.training_methods`.
* ``sg.fig3_trained``: after training, E_x‖∂ₓL‖₁ and the FGSM vulnerability of average-pooling networks are below
  those of strided and max-pooling networks; the accuracies are reported beside them. The control is the reversed
  inequality, which must be refuted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._params import Param, positive_int
from theorycheck.claims._parts import Sample, less_than_part, not_covered, scaling_part
from theorycheck.claims._trained_cells import (
    BASE,
    common_params,
    dataset,
    multiples_of_base,
    pooling_net,
    trained_cell,
)
from theorycheck.claims.forms import Training  # noqa: F401  (its module registers the 'trained' cell kind)
from theorycheck.stats import log_ratio

__all__ = ["fig1_trained", "fig3_trained"]


# -- sg.fig1_trained ---------------------------------------------------------------------------------------------
def _fig1_arch(c: int, r: int) -> str:
    """Two convolutions (the dilation ∝ resolution, as the paper's, so the receptive field covers as much of the
    image), a max-pooling, a flattened head: a net that learns the digits to about 90% in 60 steps at 8-32 px."""
    dil = max(1, r // BASE)
    conv = f"conv({c},3,dilation={dil}) relu" if dil > 1 else f"conv({c},3) relu"
    return f"{conv} maxpool(2) {conv} flatten dense(10)"


def _fig1_cells(p: dict[str, Any]) -> list[Cell]:
    out = []
    base = _fig1_arch(p["channels"], BASE)
    for source in p["datasets"]:
        for r in p["resolutions"]:
            shape, data = f"1x{r}x{r}", f"{source}:{r}"
            main = _fig1_arch(p["channels"], r)
            pooled = f"avgpool({r // BASE}) {base}" if r > BASE else base
            out.append(trained_cell("sg.fig1_trained", f"main/{source}/r={r}", main, data, shape, p))
            out.append(trained_cell("sg.fig1_trained", f"control/{source}/r={r}", pooled, data, shape, p))
    return out


def _fig1_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    parts = []
    for source in p["datasets"]:
        for step, counts in ((p["steps"], True), (0, False)):
            frames = {r: data[f"{role}/{source}/r={r}"] for r in p["resolutions"]}
            samples = [
                Sample(
                    f[f"s{step}/loss.l1"].to_numpy(dtype=np.float64),
                    float(r * r),
                    label=f"r={r}",
                    row={
                        "r": r,
                        "d": r * r,
                        "accuracy": float(f[f"s{step}/accuracy"].mean()),
                        # the report's training curves: one line per resolution, one panel per dataset
                        "step": step,
                        "series": f"r={r}",
                        "quantity": f"{source}: E‖∂ₓL‖₁",
                    },
                )
                for r, f in frames.items()
            ]
            when = "after training" if step else "at initialisation (shown, not counted)"
            part = scaling_part(
                f"{source}: E‖∂ₓL‖₁ ∝ √d {when} (step {step})",
                f"E_x‖∂ₓL‖₁ on held-out {source} images, per network, against d = r²",
                samples,
                0.5,
            )
            part.counts = counts
            parts.append(part)
    return parts


def _datasets(value: Any) -> str | None:
    from theorycheck.training import BUILTIN

    if not isinstance(value, list) or not value or any(v not in BUILTIN for v in value) or len(set(value)) < len(value):
        return f"must be a list of distinct built-in datasets ({', '.join(BUILTIN)})"
    return None


def fig1_trained(entry: Entry) -> Claim:
    """Figure 1 after training: E_x‖∂ₓL‖₁ against the resolution, on each dataset (the control pools to 8×8)."""
    params = {
        "datasets": Param(["digits", "gratings"], "built-in datasets: digits (upsampled 8×8), gratings", _datasets),
        "resolutions": Param([8, 16, 32], "resolutions, multiples of 8", multiples_of_base),
        **common_params(64, 60),
    }
    del params["data"]
    return make_claim(entry, params=params, make_cells=_fig1_cells, evaluate_parts=_fig1_parts)


# -- sg.fig3_trained ---------------------------------------------------------------------------------------------
_VARIANTS = ("avg", "max", "strided")
#: the table's columns at the final checkpoint: name and the rows' column
_REPORTED = (("mean", "loss.l1"), ("vulnerability", "vulnerability"), ("accuracy", "accuracy"))


def _fig3_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    data, shape = dataset(p, r), f"1x{r}x{r}"
    archs = {v: pooling_net(p["channels"], v) for v in _VARIANTS}
    return [trained_cell("sg.fig3_trained", f"main/{v}", archs[v], data, shape, p) for v in _VARIANTS]


def _fig3_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    step = p["steps"]
    frames = {v: data[f"main/{v}"] for v in _VARIANTS}
    measures = {"E‖∂ₓL‖₁": "loss.l1", "FGSM vulnerability": "vulnerability"}
    parts = []
    for label, column in measures.items():
        values = {v: f[f"s{step}/{column}"].to_numpy(dtype=np.float64) for v, f in frames.items()}
        if min(x.mean() for x in values.values()) <= 0:
            means = ", ".join(f"{v} {x.mean():.4g}" for v, x in values.items())
            why = f"a ratio of means needs positive means; measured {means} (the table shows them)"
            parts.append(not_covered(f"{label} after training: average-pooling lowest", label, why))
            continue
        if role == "control":  # the reversed inequality must be rejected
            lr, se = log_ratio(values["strided"], values["avg"])
            parts.append(less_than_part(f"{label}: strided < average (reversed: the mutant)", label, lr, se))
            continue
        for other in ("strided", "max"):
            lr, se = log_ratio(values["avg"], values[other])
            parts.append(less_than_part(f"{label} after training: average-pooling < {other}", label, lr, se))
    if parts and role == "main":
        parts[0].table = [
            {
                "variant": v,
                # "mean" is E‖∂ₓL‖₁, as the report's pooling-variant figure reads it
                **{name: float(f[f"s{step}/{col}"].mean()) for name, col in _REPORTED},
                "se": float(f[f"s{step}/loss.l1"].std(ddof=1) / math.sqrt(len(f))),
                "n": len(f),
            }
            for v, f in frames.items()
        ]
    return parts


def fig3_trained(entry: Entry) -> Claim:
    """Figure 3 after training: average pooling against strided and max-pooling layers."""
    params = {"resolution": Param(16, "resolution", positive_int), **common_params(32, 60)}
    return make_claim(entry, params=params, make_cells=_fig3_cells, evaluate_parts=_fig3_parts)
