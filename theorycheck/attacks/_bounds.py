"""Peck et al. (2017) robustness lower bounds, layer by layer, for one concrete network and input.

The chain starts at the logits. The last dense layer is a linear classifier, so by
Theorem A.3 its input must move by at least
``κ_L = min_{c′≠c} (f_c − f_c′) / ‖w_c − w_c′‖`` for the label c to change. Each
earlier layer then turns "the output must move by κ" into "the input must move by
κ_in", inverting a forward inequality ``Δout ≤ L(Δin)``:

* dense followed by a smooth activation g (tanh, sigmoid, softplus): the Taylor
  rule of appendix A.2, ``κ_in = (√(‖J‖² + 2M√n κ) − ‖J‖) / (M√n)``, with
  ``J = diag(g′(z)) W`` at the current input, ``n`` outputs and M from Algorithm A.1
  (one layer: ``M = sup|g″| · (max_i Σ_j |w_ij|)²``);
* other dense layers: ``κ/‖W‖₂`` (a linear map's operator norm);
* conv: ``κ/‖W‖_F`` (appendix A.3, which rests on Lemma B.3);
* max-, average- and global pooling: ``κ/t`` with ``t = √(number of pooled outputs)``
  (A.4; the definition of t is the one CLAIMS.md fixes);
* ReLU, tanh, softplus (1-Lipschitz), flatten: ``κ``; sigmoid (¼-Lipschitz): ``4κ``.

If a verified adversarial perturbation is smaller than the bound, at least one forward
inequality fails along it: :func:`rule_ratios` measures ``Δout / L(Δin)`` per rule, so
the check says which layer rule is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Activation, AvgPool, Conv, Dense, Flatten, GlobalAvgPool, GlobalMaxPool, MaxPool
from theorycheck.graph._text import format_layers
from theorycheck.sampler._program import ACTIVATION_FNS, GROUPED, Op, Program
from theorycheck.sampler._program import _run as run_ops

__all__ = [
    "ACTIVATION_BOUNDS",
    "ChainBound",
    "LayerRule",
    "algorithm_a1",
    "chained_bound",
    "rule_ratios",
    "softmax_kappa",
    "taylor_bound",
]

#: (A, B) with |g′| ≤ A and |g″| ≤ B: tanh as in eq. 8 (both ≤ 1); sigmoid and softplus at their maxima
#: (sigmoid: 1/4 and 1/(6√3); softplus: 1 and 1/4)
ACTIVATION_BOUNDS = {"tanh": (1.0, 1.0), "sigmoid": (0.25, 1.0 / (6 * math.sqrt(3))), "softplus": (1.0, 0.25)}


def algorithm_a1(weights: list[torch.Tensor], a: float, b: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm A.1: M (second derivatives) and N (first derivatives) of h_L, layer by layer:
    s = max_j Σ_k |v_ijk|, M_i = B N_{i-1}² s² + A M_{i-1} s, N_i = A N_{i-1} s (M_0 = 0, N_0 = 1)."""
    m = torch.zeros((), dtype=torch.float64)
    n = torch.ones((), dtype=torch.float64)
    for v in weights:
        s = v.abs().sum(dim=1).max()
        m, n = b * n**2 * s**2 + a * m * s, a * n * s
    return m, n


_LIPSCHITZ = {"relu": 1.0, "tanh": 1.0, "softplus": 1.0, "sigmoid": 0.25}


@dataclass(frozen=True)
class LayerRule:
    """One step of the chain: ``Δout ≥ kappa_out`` requires ``Δin ≥ kappa_in``."""

    first: int  # position of the first op the rule covers (0-based, in program.ops)
    last: int  # position of the last op it covers
    layer: str
    rule: str
    gain: float  # L for linear rules (Δout ≤ L Δin); ‖J‖ for the Taylor rule
    kappa_out: float
    kappa_in: float
    m: float = 0.0  # Taylor rule: M (second derivatives) and n (outputs)
    n: int = 0

    def forward_bound(self, delta_in: float) -> float:
        """The largest Δout the rule allows for an input change ``delta_in``."""
        if self.m > 0:
            return self.gain * delta_in + 0.5 * self.m * math.sqrt(self.n) * delta_in**2
        return self.gain * delta_in


@dataclass(frozen=True)
class ChainBound:
    """The chained lower bound on the ℓ2 norm of any perturbation that changes the label."""

    label: int
    kappa_softmax: float
    rules: list[LayerRule] = field(default_factory=list)  # input side first

    @property
    def bound(self) -> float:
        return self.rules[0].kappa_in if self.rules else self.kappa_softmax

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kappa_softmax": self.kappa_softmax,
            "bound": self.bound,
            "layers": [
                {"layer": r.layer, "rule": r.rule, "gain": r.gain, "kappa_out": r.kappa_out, "kappa_in": r.kappa_in}
                for r in self.rules
            ],
        }


def taylor_bound(jac_norm: float, m: float, n: int, kappa: float) -> float:
    """Appendix A.2: ``‖r‖ ≥ (√(‖J‖² + 2M√n κ) − ‖J‖) / (M√n)`` (``κ/‖J‖`` when M = 0), computed stably."""
    if kappa <= 0:
        return 0.0
    if m <= 0:
        return kappa / jac_norm if jac_norm > 0 else math.inf
    a = m * math.sqrt(n)
    # (√(J² + 2aκ) − J)/a = 2κ / (√(J² + 2aκ) + J): no cancellation
    return 2 * kappa / (math.sqrt(jac_norm**2 + 2 * a * kappa) + jac_norm)


def _weight(weights: dict[int, torch.Tensor], op: Op) -> torch.Tensor:
    return weights[op.index][0].double()


def softmax_kappa(w: torch.Tensor, h: torch.Tensor, b: torch.Tensor | None = None) -> tuple[int, float]:
    """Theorem A.3 for the linear classifier ``f = W h + b``: the label c and
    ``κ = min_{c′≠c} (f_c − f_c′)/‖w_c − w_c′‖`` (∞ when no other class can ever win)."""
    f = w @ h if b is None else w @ h + b
    c = int(torch.argmax(f))
    kappa = min(
        (
            float((f[c] - f[k]) / torch.linalg.vector_norm(w[c] - w[k]))
            for k in range(f.numel())
            if k != c and float(torch.linalg.vector_norm(w[c] - w[k])) > 0
        ),
        default=math.inf,
    )
    return c, kappa


def chained_bound(
    program: Program, weights: dict[int, torch.Tensor], x: torch.Tensor, *, invert: bool = False
) -> ChainBound:
    """The chain for network ``weights`` (batch of one) at input ``x`` (float64).

    ``invert=True`` is the negative control: every rule multiplies by its gain instead of
    dividing (a bound that must come out above real perturbations).
    """
    ops = program.ops
    if any(op.branches for op in ops):
        raise TheorycheckError("the chained bound covers sequential networks; add{…}/concat{…} are not supported")
    if not isinstance(ops[-1].node, Dense):
        raise TheorycheckError("the chained bound needs a dense logits layer last (Theorem A.3)")
    inputs: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        program.forward(x.double().unsqueeze(0), {k: v.double() for k, v in weights.items()}, inputs)
    label, kappa = softmax_kappa(_weight(weights, ops[-1]), inputs[ops[-1].index][0].reshape(-1))
    kappa_softmax = kappa
    rules: list[LayerRule] = []
    i = len(ops) - 2
    while i >= 0:
        op = ops[i]
        node = op.node
        first, rule_name, gain, m, n = i, "", 1.0, 0.0, 0
        if (
            isinstance(node, Activation)
            and node.fn in ACTIVATION_BOUNDS
            and i > 0
            and isinstance(ops[i - 1].node, Dense)
        ):
            dense = ops[i - 1]
            w = _weight(weights, dense)
            z = w @ inputs[dense.index][0].reshape(-1)
            with torch.enable_grad():
                zz = z.clone().requires_grad_(True)
                (gp,) = torch.autograd.grad(ACTIVATION_FNS[node.fn](zz).sum(), zz)
            jac = gp.unsqueeze(1) * w
            gain = float(torch.linalg.matrix_norm(jac, ord=2))
            m = ACTIVATION_BOUNDS[node.fn][1] * float(w.abs().sum(dim=1).max()) ** 2  # Algorithm A.1, one layer
            n = w.shape[0]
            first, rule_name = i - 1, "dense+smooth: Taylor (A.2), M from Algorithm A.1"
        elif isinstance(node, Activation):
            gain, rule_name = _LIPSCHITZ[node.fn], f"{node.fn}: {_LIPSCHITZ[node.fn]:g}-Lipschitz"
        elif isinstance(node, Dense):
            gain, rule_name = float(torch.linalg.matrix_norm(_weight(weights, op), ord=2)), "dense: κ/‖W‖₂"
        elif isinstance(node, Conv):
            gain = float(torch.linalg.vector_norm(_weight(weights, op)))
            rule_name = "conv: κ/‖W‖_F (A.3, Lemma B.3)"
        elif isinstance(node, (MaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool)):
            gain, rule_name = math.sqrt(math.prod(op.out_shape)), f"{node.kind}: κ/t, t = √(#outputs) (A.4)"
        elif isinstance(node, Flatten):
            gain, rule_name = 1.0, "flatten"
        else:
            raise TheorycheckError(f"the chained bound has no rule for {node.kind}")
        if invert:
            kappa_in = kappa * gain if m == 0 else kappa * (gain + m)
        elif m > 0:
            kappa_in = taylor_bound(gain, m, n, kappa)
        else:
            kappa_in = kappa / gain if gain > 0 else math.inf
        layer = format_layers(tuple(o.node for o in ops[first : i + 1]))
        rules.append(LayerRule(first, i, layer, rule_name, gain, kappa, kappa_in, m, n))
        kappa = kappa_in
        i = first - 1
    rules.reverse()
    return ChainBound(label, kappa_softmax, rules)


def rule_ratios(
    program: Program, weights: dict[int, torch.Tensor], x: torch.Tensor, r: torch.Tensor, chain: ChainBound
) -> dict[str, float]:
    """Along the perturbation ``r``: ``Δout / L(Δin)`` for every rule (> 1: the rule fails here), and the
    softmax step's ``κ_L / Δfeatures`` (> 1 with a changed label: Theorem A.3 fails)."""
    ws = {k: v.double() for k, v in weights.items()}
    a: dict[int, torch.Tensor] = {}
    b: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        out_a = program.forward(x.double().unsqueeze(0), ws, a)
        out_b = program.forward((x + r).double().unsqueeze(0), ws, b)
    ops = program.ops

    def delta_in(pos: int) -> float:
        return float(torch.linalg.vector_norm(b[ops[pos].index] - a[ops[pos].index]))

    def delta_out(pos: int) -> float:
        if pos + 1 < len(ops):
            return delta_in(pos + 1)
        return float(torch.linalg.vector_norm(out_b - out_a))

    ratios: dict[str, float] = {}
    for k, rule in enumerate(chain.rules):
        din = delta_in(rule.first)
        allowed = rule.forward_bound(din)
        ratios[f"rule{k}"] = delta_out(rule.last) / allowed if allowed > 0 else 0.0
    features = delta_in(len(ops) - 1)
    ratios["softmax"] = chain.kappa_softmax / features if features > 0 else math.inf
    return ratios


def fc_taylor_bound(
    program: Program, weights: dict[int, torch.Tensor], x: torch.Tensor, kappa: float, *, mutant: bool = False
) -> tuple[float, float, float, int]:
    """Appendix A.2 for a smooth MLP ``[dense g]*L dense``: ``(bound, ‖J‖, M, n)`` at input ``x``.

    J is the Jacobian of h_L (everything before the logits layer) at x, M comes from Algorithm A.1
    and n is the width of h_L. ``mutant``: the smallest singular value of J in place of ‖J‖, M = 0.
    """
    ops = program.ops
    dense = [op for op in ops[:-1] if isinstance(op.node, Dense)]
    acts = {op.node.fn for op in ops[:-1] if isinstance(op.node, Activation)}
    if len(acts) != 1 or not acts <= set(ACTIVATION_BOUNDS) or len(ops) != 2 * len(dense) + 1:
        raise TheorycheckError("the Taylor bound (A.2) needs an MLP [dense(n) g]*L dense(K) with one smooth g")
    a, b = ACTIVATION_BOUNDS[acts.pop()]
    ws = {k: v.double() for k, v in weights.items()}

    def features(inp: torch.Tensor) -> torch.Tensor:
        return run_ops(ops[:-1], inp.unsqueeze(0), ws, None, GROUPED)[0]

    jac = torch.autograd.functional.jacobian(features, x.double()).reshape(ops[-1].in_shape[0], -1)
    m, _ = algorithm_a1([_weight(weights, op) for op in dense], a, b)
    n = ops[-1].in_shape[0]
    if mutant:
        return taylor_bound(float(torch.linalg.svdvals(jac).min()), 0.0, n, kappa), 0.0, 0.0, n
    jn = float(torch.linalg.matrix_norm(jac, ord=2))
    return taylor_bound(jn, float(m), n, kappa), jn, float(m), n
