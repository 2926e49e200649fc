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
* ``sg.fig2_duality``: Proposition 2 after training: FGSM-augmented training at ε and the dual-norm gradient penalty
  at ε/2 give the same E_x‖∂ₓL‖_q (p = ∞ with q = 1, p = 2 with q = 2), per ε; the control puts the penalty at 2ε.
* ``sg.fig3_trained``: after training, E_x‖∂ₓL‖₁ and the FGSM vulnerability of average-pooling networks are below
  those of strided and max-pooling networks; the accuracies are reported beside them. The control is the reversed
  inequality, which must be refuted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck.claims._archs import pooling_block
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._params import Param, int_range, network_count, positive_float, positive_int, sweep
from theorycheck.claims._parts import CONSTANT, Sample, less_than_part, not_covered, ratio_parts, scaling_part
from theorycheck.claims.forms import Training  # noqa: F401  (its module registers the 'trained' cell kind)
from theorycheck.stats import log_ratio

__all__ = ["fig1_trained", "fig2_duality", "fig3_trained"]

#: the resolution every control network pools the image down to
_BASE = 8


def _dataset(p: dict[str, Any], r: int) -> str:
    return f"{p['data']}:{r}"


def _recipe(p: dict[str, Any], regularizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The training settings every cell of these claims uses (``theorycheck.training.TrainConfig`` fields), with a
    ``regularizer`` (``{"regularizer": ..., "epsilon": ..., "p": ...}``) where the claim compares training methods."""
    from theorycheck.training import train_config

    table = {
        **(regularizer or {}),
        "steps": p["steps"],
        "batch": 32,
        "lr": p["lr"],
        "momentum": 0.9,
        "checkpoints": [0, p["steps"]],
        "eval_examples": 256,
        "attack_epsilon": p["epsilon"],
    }
    return train_config(table, where="train").to_dict()


def _trained_cell(
    claim: str,
    name: str,
    arch: str,
    data: str,
    shape: str,
    p: dict[str, Any],
    regularizer: dict[str, Any] | None = None,
) -> Cell:
    params = {"arch": arch, "input": shape, "data": data, "train": _recipe(p, regularizer), "targets": ["loss"]}
    return Cell(claim, name, "trained", params, p["networks"])


def _builtin_data(value: Any) -> str | None:
    from theorycheck.training import BUILTIN

    return None if value in BUILTIN else f"must be one of {', '.join(BUILTIN)}"


def _multiples_of_base(value: Any) -> str | None:
    problem = sweep(2)(value)
    if problem is None and any(r % _BASE for r in value):
        return f"must be multiples of {_BASE} (the control pools each image to {_BASE}×{_BASE})"
    return problem


def _learning_rate(value: Any) -> str | None:
    problem = positive_float(value)
    return problem or (None if value <= 10 else "must be at most 10")


def _data_param() -> Param:
    return Param("digits", "built-in dataset: digits (upsampled 8×8) or gratings (detail grows with R)", _builtin_data)


def _common(networks: int, steps: int) -> dict[str, Param]:
    return {
        "data": _data_param(),
        "channels": Param(8, "channels (paper: 64)", positive_int),
        "steps": Param(steps, "SGD steps (momentum 0.9, batch 32)", int_range(1, 1_000_000)),
        "lr": Param(0.02, "learning rate (0 to 10)", _learning_rate),
        "epsilon": Param(0.1, "FGSM ε∞ of the measured vulnerability (inputs are standardised)", positive_float),
        "networks": Param(networks, "networks per cell (a window is 32)", network_count),
    }


# -- sg.fig1_trained ---------------------------------------------------------------------------------------------
def _fig1_arch(c: int, r: int) -> str:
    """Two convolutions (the dilation ∝ resolution, as the paper's, so the receptive field covers as much of the
    image), a max-pooling, a flattened head: a net that learns the digits to about 90% in 60 steps at 8-32 px."""
    dil = max(1, r // _BASE)
    conv = f"conv({c},3,dilation={dil}) relu" if dil > 1 else f"conv({c},3) relu"
    return f"{conv} maxpool(2) {conv} flatten dense(10)"


def _fig1_cells(p: dict[str, Any]) -> list[Cell]:
    out = []
    base = _fig1_arch(p["channels"], _BASE)
    for source in p["datasets"]:
        for r in p["resolutions"]:
            shape, data = f"1x{r}x{r}", f"{source}:{r}"
            main = _fig1_arch(p["channels"], r)
            pooled = f"avgpool({r // _BASE}) {base}" if r > _BASE else base
            out.append(_trained_cell("sg.fig1_trained", f"main/{source}/r={r}", main, data, shape, p))
            out.append(_trained_cell("sg.fig1_trained", f"control/{source}/r={r}", pooled, data, shape, p))
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
        "resolutions": Param([8, 16, 32], "resolutions, multiples of 8", _multiples_of_base),
        **_common(64, 60),
    }
    del params["data"]
    return make_claim(entry, params=params, make_cells=_fig1_cells, evaluate_parts=_fig1_parts)


# -- sg.fig3_trained ---------------------------------------------------------------------------------------------
_VARIANTS = ("avg", "max", "strided")
#: the table's columns at the final checkpoint: name and the rows' column
_REPORTED = (("mean", "loss.l1"), ("vulnerability", "vulnerability"), ("accuracy", "accuracy"))


def _fig3_arch(c: int, variant: str) -> str:
    return (
        f"[{pooling_block(c, variant)}]*2 flatten dense(10)"  # a flattened head learns the digits to ~88% in 60 steps
    )


def _fig3_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    data, shape = _dataset(p, r), f"1x{r}x{r}"
    archs = {v: _fig3_arch(p["channels"], v) for v in _VARIANTS}
    return [_trained_cell("sg.fig3_trained", f"main/{v}", archs[v], data, shape, p) for v in _VARIANTS]


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
    params = {"resolution": Param(16, "resolution", positive_int), **_common(32, 60)}
    return make_claim(entry, params=params, make_cells=_fig3_cells, evaluate_parts=_fig3_parts)


# -- sg.fig2_duality ---------------------------------------------------------------------------------------------
#: the norms of the attack (p) and, dual to it, of the gradient penalty (q): 1/p + 1/q = 1
_NORMS = {"inf": ("loss.l1", "‖∂ₓL‖₁"), "2": ("loss.l2", "‖∂ₓL‖₂")}
_P: dict[str, Any] = {"inf": "inf", "2": 2}


def _fig2_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    data, shape, arch = _dataset(p, r), f"1x{r}x{r}", _fig3_arch(p["channels"], "avg")
    out = []
    for norm in _NORMS:
        for eps in p["train_epsilons"]:
            point = f"p={norm}/eps={eps:g}"
            arms = {  # FGSM at ε against the penalty at ε/2 (Proposition 2); the control: the penalty at 2ε
                "main/fgsm": {"regularizer": "fgsm", "epsilon": eps, "p": _P[norm]},
                "main/penalty": {"regularizer": "penalty", "epsilon": eps / 2, "p": _P[norm]},
                "control/penalty": {"regularizer": "penalty", "epsilon": 2 * eps, "p": _P[norm]},
            }
            for arm, reg in arms.items():
                out.append(_trained_cell("sg.fig2_duality", f"{arm}/{point}", arch, data, shape, p, reg))
    return out


def _fig2_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    step = p["steps"]
    penalty = "main/penalty" if role == "main" else "control/penalty"
    parts = []
    for norm, (column, label) in _NORMS.items():
        treated: list[Sample] = []
        baseline: list[Sample] = []
        for eps in p["train_epsilons"]:
            point = f"p={norm}/eps={eps:g}"
            row = {"p": norm, "ε": eps}
            for arm, into in (("main/fgsm", treated), (penalty, baseline)):
                values = data[f"{arm}/{point}"][f"s{step}/{column}"].to_numpy(dtype=np.float64)
                into.append(Sample(values, eps, 1.0, label=f"p = {norm}, ε = {eps:g}", row=row))
        matched = "ε/2" if role == "main" else "2ε (the mutant: four times the matched strength)"

        def name(s: Sample, label: str = label, matched: str = "ε/2" if role == "main" else "2ε") -> str:
            return f"E_x{label} after FGSM training at ε / after the penalty at {matched} ({s.label})"

        parts += ratio_parts(
            name,
            f"E_x{label} on held-out images after training: FGSM-augmented at ε over the q-norm penalty at {matched}",
            treated,
            baseline,
            CONSTANT,
        )
    return parts


def fig2_duality(entry: Entry) -> Claim:
    """Proposition 2 after training: FGSM-augmented training at ε and the dual-norm gradient penalty at ε/2 give
    the same E_x‖∂ₓL‖_q."""
    params = {
        "resolution": Param(16, "resolution", positive_int),
        "train_epsilons": Param([0.1, 0.3], "ε∞ of the training attacks (ε_p = ε∞ d^(1/p), eq. 5)", _epsilons),
        **_common(32, 60),
    }
    return make_claim(entry, params=params, make_cells=_fig2_cells, evaluate_parts=_fig2_parts)


def _epsilons(value: Any) -> str | None:
    if not isinstance(value, list) or not value or any(positive_float(v) for v in value) or max(value) > 1:
        return "must be a non-empty list of attack sizes ε∞ in (0, 1]"
    return None
