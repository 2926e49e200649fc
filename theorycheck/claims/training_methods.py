"""Figure 2 of Simon-Gabriel et al. (2019) after training: networks trained by different methods, compared.

The three claims read one set of cells, named after ``sg.fig2_duality`` (shared cells: a study that checks all three
trains each network once; their parameters must then agree). For each norm p ∈ {∞, 2} and each training ε∞ of
``train_epsilons``: FGSM-augmented training at ε, the dual-norm gradient penalty at ε/2 and, for the duality's
control, at 2ε; and one network trained plainly (no regulariser, cell ``main/plain``). Every network is Figure 3's
average-pooling CNN on ``data`` at ``resolution``, measured on 256 held-out images after ``steps`` SGD steps.

* ``sg.fig2_duality``: Proposition 2 after training: FGSM-augmented training at ε and the dual-norm gradient penalty
  at ε/2 give the same E_x‖∂ₓL‖_q (p = ∞ with q = 1, p = 2 with q = 2), per ε; the control puts the penalty at 2ε.
* ``sg.fig2d``: the FGSM vulnerability is almost a function of E_x‖∂ₓL‖₁ whatever the training method: each
  method's mean vulnerability is predicted by a weighted least-squares line through the other methods' (mean
  E_x‖∂ₓL‖₁, mean vulnerability) points (leave one out, so no point predicts itself), and must lie within ±0.06
  (absolute, a share of the held-out images) of it, interval included; the plain network, the largest gradients,
  is an extrapolation, and says so. The control moves each prediction by twice the band.
* ``sg.fig2e``: E‖∂ₓL‖₂ is linear in E‖∂ₓL‖₁ with a slope that does not depend on the training method: per network
  ρ = E_x‖∂ₓL‖₂ / E_x‖∂ₓL‖₁ (invariant under a rescaling of the gradients); each method's mean ρ over the plain
  networks' equals 1 within the relative band ±0.2. The control replaces ρ by E_x‖∂ₓL‖₂² / E_x‖∂ₓL‖₁, which
  scales with the gradients: regularised training, which shrinks them, must be seen to change it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._params import Param, positive_float, positive_int
from theorycheck.claims._parts import CONSTANT, Sample, not_covered, ratio_parts, supported_decision
from theorycheck.claims._trained_cells import common_params, dataset, pooling_net, trained_cell
from theorycheck.claims.forms import Training  # noqa: F401  (its module registers the 'trained' cell kind)
from theorycheck.stats import Margins, decide

__all__ = ["fig2_duality", "fig2d", "fig2e"]

#: the stream prefix of the cells the three claims share
SHARED = "sg.fig2_duality"
#: sg.fig2d's tolerance on the vulnerability (a share of the held-out images, absolute)
VULNERABILITY = Margins("absolute", margin=0.03, band=0.06)

# -- sg.fig2_duality ---------------------------------------------------------------------------------------------
#: the norms of the attack (p) and, dual to it, of the gradient penalty (q): 1/p + 1/q = 1
_NORMS = {"inf": ("loss.l1", "‖∂ₓL‖₁"), "2": ("loss.l2", "‖∂ₓL‖₂")}
_P: dict[str, Any] = {"inf": "inf", "2": 2}


def _fig2_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    data, shape, arch = dataset(p, r), f"1x{r}x{r}", pooling_net(p["channels"], "avg")
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
                out.append(trained_cell(SHARED, f"{arm}/{point}", arch, data, shape, p, reg))
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
    return make_claim(entry, params=_fig2_params(), make_cells=_fig2_cells, evaluate_parts=_fig2_parts)


def _fig2_params() -> dict[str, Param]:
    """The parameters of Figure 2's claims: the same, since they share their cells."""
    return {
        "resolution": Param(16, "resolution", positive_int),
        "train_epsilons": Param([0.1, 0.3], "ε∞ of the training attacks (ε_p = ε∞ d^(1/p), eq. 5)", _epsilons),
        **common_params(32, 60),
    }


def _epsilons(value: Any) -> str | None:
    if not isinstance(value, list) or not value or any(positive_float(v) for v in value) or max(value) > 1:
        return "must be a non-empty list of attack sizes ε∞ in (0, 1]"
    return None


# -- the methods: the duality's main cells and the plain network -------------------------------------------------
def _methods(p: dict[str, Any]) -> dict[str, str]:
    """Each training method's label and cell name (the plain network first)."""
    out = {"plain": "main/plain"}
    for norm in _NORMS:
        q = "1" if norm == "inf" else "2"
        for eps in p["train_epsilons"]:
            out[f"FGSM ℓ{'∞' if norm == 'inf' else '2'} ε={eps:g}"] = f"main/fgsm/p={norm}/eps={eps:g}"
            out[f"penalty ‖·‖{q} ε={eps / 2:g}"] = f"main/penalty/p={norm}/eps={eps:g}"
    return out


def _method_cells(p: dict[str, Any]) -> list[Cell]:
    r = p["resolution"]
    data, shape, arch = dataset(p, r), f"1x{r}x{r}", pooling_net(p["channels"], "avg")
    plain = trained_cell(SHARED, "main/plain", arch, data, shape, p)
    return [plain, *(c for c in _fig2_cells(p) if c.name.startswith("main/"))]


def _column(data: CellData, cell: str, p: dict[str, Any], name: str) -> np.ndarray:
    return np.asarray(data[cell][f"s{p['steps']}/{name}"].to_numpy(dtype=np.float64))


# -- sg.fig2e ------------------------------------------------------------------------------------------------------
def _fig2e_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    methods = _methods(p)

    def rho(cell: str) -> np.ndarray:
        l1, l2 = _column(data, cell, p, "loss.l1"), _column(data, cell, p, "loss.l2")
        return l2 / l1 if role == "main" else l2**2 / l1

    base = Sample(rho(methods["plain"]), label="plain")
    treated = [
        Sample(rho(cell), predicted=1.0, label=label, row={"method": label})
        for label, cell in methods.items()
        if label != "plain"
    ]
    what = "E_x‖∂ₓL‖₂ / E_x‖∂ₓL‖₁" if role == "main" else "E_x‖∂ₓL‖₂² / E_x‖∂ₓL‖₁ (the mutant: not scale-free)"
    return ratio_parts(
        lambda s: f"{what} per network after training, {s.label} / plain",
        f"the slope of E‖∂ₓL‖₂ against E‖∂ₓL‖₁ after training by one method over after plain training: {what}",
        treated,
        [base] * len(treated),
        CONSTANT,
    )


def fig2e(entry: Entry) -> Claim:
    """Figure 2(e) after training: E‖∂ₓL‖₂ ∝ E‖∂ₓL‖₁ with one slope for every training method."""
    return make_claim(entry, params=_fig2_params(), make_cells=_method_cells, evaluate_parts=_fig2e_parts)


# -- sg.fig2d ------------------------------------------------------------------------------------------------------
def _mean_se(values: np.ndarray, floor: float) -> tuple[float, float]:
    return float(values.mean()), max(float(values.std(ddof=1) / math.sqrt(values.size)), floor)


def _fig2d_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    methods = _methods(p)
    labels = list(methods)
    stats = {
        m: (_column(data, cell, p, "loss.l1"), _column(data, cell, p, "vulnerability")) for m, cell in methods.items()
    }
    # a 0-1 loss over 256 images moves in steps of 1/256: an interval never narrower than that step over √n
    floor = 1.0 / (256 * math.sqrt(p["networks"]))
    xs = {m: _mean_se(l1, 0.0) for m, (l1, _) in stats.items()}
    ys = {m: _mean_se(v, floor) for m, (_, v) in stats.items()}
    parts = []
    for m in labels:
        others = [o for o in labels if o != m]
        design = np.array([[1.0, xs[o][0]] for o in others])
        weights = np.array([1.0 / ys[o][1] ** 2 for o in others])
        target = np.array([ys[o][0] for o in others])
        if len({xs[o][0] for o in others}) < 2:  # a line needs two distinct E‖∂ₓL‖₁ among the other methods
            reason = "the other methods' E_x‖∂ₓL‖₁ do not determine a line (fewer than two distinct values)"
            parts.append(not_covered(f"vulnerability of {m} from the other methods' line", "", reason))
            continue
        cov = np.linalg.inv(design.T @ (weights[:, None] * design))
        beta = cov @ design.T @ (weights * target)
        at = np.array([1.0, xs[m][0]])
        predicted = float(at @ beta)
        se = math.sqrt(ys[m][1] ** 2 + float(at @ cov @ at) + beta[1] ** 2 * xs[m][1] ** 2)
        outside = not min(xs[o][0] for o in others) <= xs[m][0] <= max(xs[o][0] for o in others)
        if role == "control":
            predicted += 2 * VULNERABILITY.band
        row = {
            "method": m,
            "E‖∂ₓL‖₁": xs[m][0],
            "vulnerability": ys[m][0],
            "predicted": predicted,
            "slope": float(beta[1]),
            "extrapolated": outside,
        }
        decision = supported_decision(decide(ys[m][0], se, predicted, VULNERABILITY), [stats[m][0], stats[m][1]])
        name = (
            f"vulnerability of {m} from the other methods' line in E_x‖∂ₓL‖₁"
            + (" (extrapolated)" if outside else "")
            + (" + 2 × band (the mutant)" if role == "control" else "")
        )
        parts.append(
            Part(
                name,
                "FGSM vulnerability after training against a line through the other methods' "
                "(E_x‖∂ₓL‖₁, vulnerability) points",
                decision,
                [row],
                method="loo-line",
            )
        )
    return parts


def fig2d(entry: Entry) -> Claim:
    """Figure 2(d) after training: the vulnerability as a function of E_x‖∂ₓL‖₁ across training methods."""
    return make_claim(entry, params=_fig2_params(), make_cells=_method_cells, evaluate_parts=_fig2d_parts)
