"""Kernel-level predictions averaged over random Gaussian inputs (``predict --level kernel``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from theorycheck.graph import Architecture, Shape, format_shape, parse_input_shape
from theorycheck.theory._kernel import kernel_predict

__all__ = ["KernelSummary", "kernel_summary"]


@dataclass(frozen=True)
class KernelSummary:
    """Kernel-level predictions averaged over ``inputs`` random standard Gaussian inputs."""

    architecture: str
    input_shape: Shape
    inputs: int
    seed: int
    coord_var_map: np.ndarray | None
    grad_sq_norm: float | None
    grad_l1: float | None
    grad_linf: float | None
    covered: bool
    reason: str | None
    method: str = "closed form"
    quadrature_error: float | None = None

    def to_dict(self) -> dict[str, object]:

        m = self.coord_var_map
        return {
            "architecture": self.architecture,
            "input": format_shape(self.input_shape),
            "level": "kernel",
            "inputs": self.inputs,
            "seed": self.seed,
            "d": int(np.prod(self.input_shape)),
            "coord_var": None if m is None else {"min": float(m.min()), "mean": float(m.mean()), "max": float(m.max())},
            "grad_sq_norm": self.grad_sq_norm,
            "grad_l1": self.grad_l1,
            "grad_linf": self.grad_linf,
            "covered": self.covered,
            "reason": self.reason,
            "method": self.method,
            "quadrature_error": self.quadrature_error,
        }


def kernel_summary(
    arch: Architecture | str,
    input_shape: Shape | str | int,
    *,
    inputs: int = 3,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> KernelSummary:
    """Kernel-level ``E[(∂f/∂x_i)²]`` map averaged over ``inputs`` standard Gaussian inputs (seeded).

    ``progress(done, total)`` counts coordinates over all inputs (``total = inputs · d``)."""
    from theorycheck.theory._gaussian import expected_l1, expected_linf

    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    shape = parse_input_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    rng = np.random.default_rng(seed)
    maps = []
    errors: list[float] = []
    d = int(np.prod(shape))
    for j in range(inputs):
        step = None if progress is None else (lambda done, _d, j=j: progress(j * d + done, inputs * d))
        kp = kernel_predict(arch, shape, rng.standard_normal(d), progress=step)
        if not kp.covered:
            return KernelSummary(arch.to_text(), shape, inputs, seed, None, None, None, None, False, kp.reason)
        assert kp.coord_var_map is not None
        maps.append(kp.coord_var_map)
        if kp.quadrature_error is not None:
            errors.append(kp.quadrature_error)
    mean = np.mean(maps, axis=0)
    grid = kp.method == "grid"
    return KernelSummary(
        arch.to_text(),
        shape,
        inputs,
        seed,
        mean,
        float(mean.sum()),
        expected_l1(mean),
        expected_linf(mean),
        True,
        None,
        method=kp.method,
        quadrature_error=float(np.mean(errors)) if grid else None,
    )
