"""The tail of the per-network squared gradient, predicted from the graph before any network is drawn.

For a chain ``[flatten] (dense [relu])* dense`` with Gaussian weights of mean 0 (any variances, no bias), the
squared norm ``X = ‖∂f_k/∂x‖₂²`` of one logit's input gradient at any fixed input ``x ≠ 0`` has exact moments

    E[X^j] = Π_{i<j} (d + 2i) · Π_l s_l^j E[Π_{i<j} (K_l + 2i)] · σ_L^{2j},

where ``d`` is the input dimension, layer ``l`` has ``n_l`` outputs and weight variance ``s_l``, ``K_l`` is
Binomial(n_l, ½) when a ReLU follows the layer (``n_l`` otherwise), and ``σ_L²`` is the logit layer's
variance. Derivation (the argument of Hanin & Nica 2019, *Products of many large random matrices and gradients
in deep neural networks*, Comm. Math. Phys., §2, and of Hanin 2018, NeurIPS): for a direction ``u``, each row
``w`` of a layer enters ``‖D W v‖²`` as ``(w·v)² 1{w·z > 0}``; ``w ↦ −w`` keeps the law of ``w``, keeps
``(w·v)²`` and flips the indicator, so the indicator is a fair coin independent of ``(w·v)²``, and
``‖D W v‖² = s ‖v‖² χ²_K`` with ``K`` ~ Binomial(n, ½), independently over layers. With a Gaussian direction
``u`` ~ N(0, I_d) independent of the net, ``(J u)² = ‖J‖² χ²₁`` and ``E[(Ju)^{2j}] = (2j−1)!! E‖J‖^{2j}``; the
last layer contributes the same ``(2j−1)!!``, which cancels, leaving the product above. The moment ratio
``E[X²]/E[X]² = (1 + 2/d) Π_{ReLU layers} (1 + 5/n_l)`` is the exact form of the ``exp(5 Σ 1/n_l)`` growth.

Anything else (convolutions, pooling, branches, other activations or distributions, a ReLU on the input or the
logits) is *not covered*, with the reason: the tail is then judged from the sample alone
(:func:`theorycheck.stats.tail_diagnostic`). Checked against a float64 Monte Carlo that shares no code with this
module (``tests/statistical/test_tail_theory.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from theorycheck.graph import Activation, Architecture, Dense, Flatten
from theorycheck.graph._shapes import Shape

__all__ = ["GradientTail", "gradient_tail"]


@dataclass(frozen=True)
class GradientTail:
    """Exact normalised moments ``E[X^j]/E[X]^j`` (j = 1, 2, 3) of ``X = ‖∂f_k/∂x‖²``, or why there are none."""

    covered: bool
    reason: str
    normalised: tuple[float, ...] = ()

    @property
    def variance_ratio(self) -> float:
        """``Var[X]/E[X]²``, the squared coefficient of variation."""
        return self.normalised[1] - 1.0

    @property
    def skewness(self) -> float:
        """Fisher's skewness ``E[(X − μ)³]/σ³``."""
        m1, m2, m3 = self.normalised[:3]
        return (m3 - 3 * m1 * m2 + 2 * m1**3) / (m2 - m1**2) ** 1.5


def _refuse(why: str) -> GradientTail:
    return GradientTail(False, f"the tail of ‖∂f‖² is predicted for Gaussian dense/ReLU chains only: {why}")


def _chi_square_moments(k_law: tuple[np.ndarray, np.ndarray], order: int) -> list[float]:
    """``E[Π_{i<j}(K+2i)] / E[K]^j`` for j = 1..order, K with support and probabilities ``k_law``."""
    support, prob = k_law
    mean = float(prob @ support)
    out, rising = [], np.ones_like(support, dtype=np.float64)
    for j in range(order):
        rising = rising * (support + 2 * j)
        out.append(float(prob @ rising) / mean ** (j + 1))
    return out


def gradient_tail(arch: Architecture | str, input_shape: Shape | str | int, *, order: int = 3) -> GradientTail:
    """Exact moments of the per-network squared input gradient of one logit, normalised by its mean.

    Args:
        arch: the architecture (text or parsed).
        input_shape: the input's shape; ``d`` is the number of its entries.
        order: how many moments (at least 3: the skewness needs the third).
    """
    if not isinstance(order, int) or order < 3:
        raise ValueError(f"order must be an integer of at least 3, got {order!r}")
    net = Architecture.parse(arch) if isinstance(arch, str) else arch
    layers = net.shapes(input_shape)
    if not layers:
        return _refuse("the architecture is empty")
    d = int(np.prod(layers[0][1]))
    kinds: list[tuple[int, bool]] = []  # (outputs, followed by a ReLU) per dense layer
    for i, (node, _, out) in enumerate(layers):
        if isinstance(node, Flatten):
            continue
        if isinstance(node, Dense):
            if node.init.dist != "normal":
                return _refuse(f"layer {i + 1} has {node.init.dist} weights (χ² laws need Gaussian weights)")
            if node.bias > 0:
                return _refuse(f"layer {i + 1} has biases (the moment formula is derived without them)")
            kinds.append((int(np.prod(out)), False))
        elif isinstance(node, Activation) and node.fn == "relu":
            if not kinds or kinds[-1][1] or not isinstance(layers[i - 1][0], Dense):
                return _refuse(f"layer {i + 1} is a ReLU that does not follow a dense layer")
            kinds[-1] = (kinds[-1][0], True)
        else:
            return _refuse(f"layer {i + 1} is {node.kind}{f' ({node.fn})' if isinstance(node, Activation) else ''}")
    if not kinds or kinds[-1][1]:
        return _refuse("the last layer must be a dense layer without an activation (the logits)")
    # the direction's ‖u‖², a χ²_d: E[Π_{i<j}(d+2i)] / d^j
    normalised = np.array([math.prod(d + 2 * i for i in range(j + 1)) / d ** (j + 1) for j in range(order)])
    for n, relu in kinds[:-1]:
        support = np.arange(n + 1, dtype=np.float64) if relu else np.array([float(n)])
        prob = sps.binom.pmf(np.arange(n + 1), n, 0.5) if relu else np.array([1.0])
        normalised *= np.array(_chi_square_moments((support, prob), order))
    return GradientTail(
        True, "exact (sign symmetry of Gaussian rows, Hanin & Nica 2019)", tuple(map(float, normalised))
    )
