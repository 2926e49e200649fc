"""``estimate``: Monte Carlo estimates next to the theory's predictions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, Shape, format_shape, parse_input_shape
from theorycheck.sampler import STATISTICS, SampleResult, sample
from theorycheck.sampler._sample import TargetKind
from theorycheck.stats import Estimate, mean_ci, relative_deviation
from theorycheck.theory import Prediction, expected_l1, expected_linf, predict

__all__ = ["EstimateReport", "StatisticEstimate", "estimate"]


@dataclass(frozen=True)
class StatisticEstimate:
    """One statistic: measured mean with CI, the prediction, and the relative deviation."""

    name: str
    estimate: Estimate
    predicted: float | None
    rel_dev: float | None
    rel_dev_ci: tuple[float, float] | None
    predicted_kernel: float | None = None
    rel_dev_kernel: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.estimate.mean,
            "ci": list(self.estimate.ci),
            "predicted": self.predicted,
            "rel_dev": self.rel_dev,
            "rel_dev_ci": None if self.rel_dev_ci is None else list(self.rel_dev_ci),
            "predicted_kernel": self.predicted_kernel,
            "rel_dev_kernel": self.rel_dev_kernel,
        }


@dataclass(frozen=True)
class EstimateReport:
    """Estimates of ``coord_var``, ``grad_sq_norm``, ``grad_l1``, ``grad_linf`` for one target."""

    architecture: str
    input_shape: Shape
    target: str
    statistics: dict[str, StatisticEstimate]
    prediction: Prediction
    prediction_note: str
    sample: SampleResult
    kernel_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "input": format_shape(self.input_shape),
            "d": self.prediction.d,
            "target": self.target,
            "n_networks": self.sample.n_networks,
            **{k: v.to_dict() for k, v in self.statistics.items()},
            "covered": self.prediction.covered,
            "reason": self.prediction.reason,
            "prediction_note": self.prediction_note,
            "kernel_note": self.kernel_note,
            "provenance": self.sample.provenance,
        }


_KEYS = {"coord_var": "coord_var", "sq_norm": "grad_sq_norm", "l1": "grad_l1", "linf": "grad_linf"}


def _require_finite(result: SampleResult, seed: int) -> None:
    """A NaN or infinite measurement is an error naming the network (never averaged into an estimate)."""
    for key, values in result.rows.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=np.float64)))
        if bad.size:
            network = int(result.rows["network"][bad[0]])
            raise TheorycheckError(
                f"network {network} (seed {seed}) gave {key} = {values[bad[0]]} ({bad.size} of {values.size} "
                "networks are not finite): the network overflows in this precision, or the statistic is undefined; "
                "try --precision fp64, a smaller gain or fewer layers"
            )


def _per_network(result: SampleResult, stat: str) -> np.ndarray:
    """One value per network, averaged over the target's gradients (all logits: their mean)."""
    return np.mean([result.column(g, stat) for g in result.gradients], axis=0)


def _predictions(
    arch: Architecture, shape: Shape, result: SampleResult, target: str, output: int
) -> tuple[Prediction, dict[str, float | None], str]:
    outputs = [int(g.removeprefix("logit")) for g in result.gradients] if target == "logits" else [output]
    preds = [predict(arch, shape, output=k) for k in outputs]
    base = preds[0]
    if not base.covered or any(p.coord_var_map is None for p in preds):
        return base, dict.fromkeys(_KEYS), "not covered"
    maps = [p.coord_var_map for p in preds]
    values = {
        "coord_var": float(np.mean([m.mean() for m in maps])),  # type: ignore[union-attr]
        "sq_norm": float(np.mean([m.sum() for m in maps])),  # type: ignore[union-attr]
        "l1": float(np.mean([expected_l1(m) for m in maps])),  # type: ignore[arg-type]
        "linf": float(np.mean([expected_linf(m) for m in maps])),  # type: ignore[arg-type]
    }
    note = "(H) theory, eq. 13; l1 and linf for independent Gaussian coordinates"
    if target == "loss":
        factor = result.rows["eq9_factor"]
        values["coord_var"] *= float(factor.mean())
        values["sq_norm"] *= float(factor.mean())
        values["l1"] *= float(np.sqrt(factor).mean())
        values["linf"] *= float(np.sqrt(factor).mean())
        note = "eq. 9: logit prediction times the measured (1−q_c)² + Σ_{k≠c} q_k²; " + note
    return base, {k: v for k, v in values.items()}, note


#: budgets above this many networks are timed on a pilot run first
PILOT_FROM = 20_000
#: networks in the pilot run
PILOT_NETWORKS = 64
#: a run estimated to take longer than this is refused unless the caller lifts the limit (``--yes``)
MAX_SECONDS = 3600.0


def check_budget(
    arch: Architecture, shape: Shape, networks: int, *, max_seconds: float | None, **sample_kw: Any
) -> float | None:
    """Estimated seconds for ``networks`` networks, from a timed pilot of :data:`PILOT_NETWORKS` (None below
    :data:`PILOT_FROM`); raises when the estimate exceeds ``max_seconds``. The pilot's rows are discarded."""
    if networks < 2:
        raise TheorycheckError(
            f"--networks must be at least 2 (an interval needs a standard deviation), got {networks}"
        )
    if networks <= PILOT_FROM:
        return None
    t0 = time.perf_counter()
    sample(arch, shape, networks=PILOT_NETWORKS, **sample_kw)
    rate = PILOT_NETWORKS / max(time.perf_counter() - t0, 1e-9)
    seconds = networks / rate
    if max_seconds is not None and seconds > max_seconds:
        raise TheorycheckError(
            f"{networks} networks would take about {seconds / 3600:.3g} h here (a pilot of {PILOT_NETWORKS} ran at "
            f"{rate:.3g} networks/s), more than the limit of {max_seconds / 3600:.3g} h; lower --networks, "
            "or pass --yes to run it anyway"
        )
    return seconds


def estimate(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    networks: int,
    seed: int = 0,
    target: str = "logit",
    output: int = 0,
    loss_class: str | int = "argmax",
    device: str = "auto",
    precision: str = "fp32",
    method: str = "auto",
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
    kernel: bool = True,
    conv_kernel: str = "grouped",
    max_seconds: float | None = MAX_SECONDS,
) -> EstimateReport:
    """Sample ``networks`` networks and compare each statistic with its prediction ((H), and the infinite-width
    kernel level when ``kernel`` and every layer has at most ``KERNEL_MAX_POSITIONS`` positions).

    A budget above :data:`PILOT_FROM` networks is timed on a pilot first and refused when it would take longer
    than ``max_seconds`` (None: no limit)."""
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    arch.output_shape(shape)
    common: dict[str, Any] = {
        "seed": seed,
        "targets": (cast(TargetKind, target),),
        "output": output,
        "loss_class": loss_class,
        "device": device,
        "precision": precision,
        "method": method,
        "conv_kernel": conv_kernel,
    }
    check_budget(arch, shape, networks, max_seconds=max_seconds, **common)
    result = sample(arch, shape, networks=networks, chunk=chunk, progress=progress, **common)
    _require_finite(result, seed)
    prediction, predicted, note = _predictions(arch, shape, result, target, output)
    kernel_values, kernel_note = (
        _kernel_predictions(arch, shape, target, result) if kernel else ({}, "kernel level: not computed (--no-kernel)")
    )
    stats: dict[str, StatisticEstimate] = {}
    for stat in STATISTICS:
        est = mean_ci(_per_network(result, stat))
        pred = predicted[stat]
        rd = relative_deviation(est, pred)
        kd = relative_deviation(est, kernel_values.get(stat))
        stats[_KEYS[stat]] = StatisticEstimate(
            _KEYS[stat],
            est,
            pred,
            None if rd is None else rd[0],
            None if rd is None else rd[1],
            kernel_values.get(stat),
            None if kd is None else kd[0],
        )
    return EstimateReport(arch.to_text(), shape, target, stats, prediction, note, result, kernel_note)


#: estimate computes the kernel level only when every layer has at most this many positions (3×32×32: seconds)
KERNEL_MAX_POSITIONS = 1024


def _kernel_predictions(
    arch: Architecture, shape: Shape, target: str, result: SampleResult
) -> tuple[dict[str, float], str]:
    """Kernel-level predictions averaged over 2 random inputs, when cheap; else an explanation."""
    from theorycheck.theory import kernel_summary

    if target == "loss":
        return {}, "kernel level: not computed for the loss target"
    positions = [h * w for _, _, out in arch.shapes(shape) if len(out) == 3 for h, w in [out[1:]]]
    if len(shape) == 3:
        positions.append(shape[1] * shape[2])
    if positions and max(positions) > KERNEL_MAX_POSITIONS:
        return {}, (
            f"kernel level: not computed (a layer has {max(positions)} positions > {KERNEL_MAX_POSITIONS}); "
            "use `theorycheck predict --level kernel`"
        )
    summary = kernel_summary(arch, shape, inputs=2, seed=0)
    if not summary.covered or summary.coord_var_map is None:
        return {}, f"kernel level: {summary.reason}"
    m = summary.coord_var_map
    return (
        {
            "coord_var": float(m.mean()),
            "sq_norm": float(m.sum()),
            "l1": summary.grad_l1 or 0.0,
            "linf": summary.grad_linf or 0.0,
        },
        "kernel level: infinite-width NNGP kernel, averaged over 2 Gaussian inputs",
    )
