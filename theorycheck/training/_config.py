"""How networks are trained: a :class:`TrainConfig`, validated when it is built (one error per field, named).

The conventions, exactly, so that a per-network loop written by hand draws from the same distribution:

* **Loss.** ``cross_entropy``: ``torch.nn.functional.cross_entropy`` averaged over the minibatch; ``mse``: the
  mean over the minibatch of ``Σ_k (f_k(x) − onehot(y)_k)²`` (summed over the K logits, averaged over examples).
* **Minibatches.** Network i draws its own: at each epoch a fresh permutation of the training set from
  ``torch.Generator().manual_seed(seed_i)``, read in consecutive batches of ``batch`` examples (the last, short
  batch of an epoch is dropped); ``seed_i`` depends only on (study seed, i) (:func:`network_seed`).
* **Optimisers** are ``torch.optim.SGD`` (``lr``, ``momentum``, ``weight_decay``, ``nesterov``) and
  ``torch.optim.Adam`` (``lr``, ``betas``, ``eps``, ``weight_decay``) themselves, stepped once per minibatch; a
  schedule multiplies ``lr`` by ``gamma`` every ``step_size`` steps (``torch.optim.lr_scheduler.StepLR``).
* **Regularisers** (Simon-Gabriel et al. 2019, Section 4.2, Proposition 2), with ``epsilon`` = ε∞, the ℓ∞ size
  per coordinate, and ε_p = ε∞ d^{1/p} for ℓp (eq. 5):

  - ``penalty``: L(x) + ε_p ‖∂ₓL(x)‖_q per example (1/p + 1/q = 1; ``p = inf`` gives q = 1, ``p = 2`` q = 2),
    by double backpropagation;
  - ``fgsm``: ½(L(x) + L(x + ε_p δ)), δ = sign ∂ₓL (p = inf) or ∂ₓL/‖∂ₓL‖₂ (p = 2), the attack direction held
    fixed (no gradient through δ). To first order it is L + (ε_p/2)‖∂ₓL‖_q: FGSM training at ε matches the
    penalty at ε/2 (Proposition 2).
* **Attacks at checkpoints** (ℓ∞, ε∞ = ``attack_epsilon``, no clipping to a data range, no random start): FGSM,
  x + ε sign ∂ₓL; and with ``pgd_steps = k > 0`` PGD (Madry et al. 2018): k steps x ← Π(x + α sign ∂ₓL), Π the
  projection onto the ε∞-box around the clean input, α = ``pgd_step`` (default 2.5 ε∞ / k). One PGD step with
  α = ε∞ is FGSM exactly.
* **What checkpoints measure on.** ``eval_inputs = "data"``: the first ``eval_examples`` held-out examples, the
  same for every network, each statistic averaged over them. ``"gaussian"``: network i's own input and class, as
  the sampler draws them (``N(0, I)`` from its input stream, a uniformly random class from its class stream): at
  step 0 the rows are then the init-time sampler's on the same networks (the explicit method's weights), so a
  claim's step-0 verdict is its verdict at initialisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from theorycheck.errors import TheorycheckError, suggest

__all__ = ["LOSSES", "OPTIMIZERS", "REGULARIZERS", "TrainConfig", "train_config"]

OPTIMIZERS = ("sgd", "adam")
LOSSES = ("cross_entropy", "mse")
REGULARIZERS = ("none", "penalty", "fgsm")
EVAL_INPUTS = ("data", "gaussian")
#: the most steps one training run may take (a typo of 10^9 steps is refused, not run)
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe (see the module docstring for the exact conventions)."""

    steps: int = 200
    batch: int = 32
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    step_size: int = 0
    gamma: float = 1.0
    loss: str = "cross_entropy"
    regularizer: str = "none"
    epsilon: float = 0.0
    p: float = math.inf
    #: steps at which the networks are measured (0 is the initialisation)
    checkpoints: tuple[int, ...] = (0, 200)
    #: held-out examples each checkpoint measures (the first ones of the test split, the same for every network)
    eval_examples: int = 256
    #: the FGSM step (ε∞ per coordinate) of the vulnerability measured at each checkpoint
    attack_epsilon: float = 0.1
    #: iterations of the ℓ∞ PGD attack measured at each checkpoint (0: none); same ε∞ as the FGSM one
    pgd_steps: int = 0
    #: the PGD step size α (0: 2.5 ε∞ / pgd_steps, Madry et al. 2018)
    pgd_step: float = 0.0
    #: what the checkpoints measure on: "data" (the first ``eval_examples`` held-out examples, the same for every
    #: network) or "gaussian" (network i's own N(0, I) input and random class, the sampler's: then step 0 gives the
    #: init-time claim's numbers on the same networks)
    eval_inputs: str = "data"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (for cell parameters and provenance)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if not self.pgd_steps:  # cells without PGD keep the identity (spec hash) they had before it existed
            del out["pgd_steps"], out["pgd_step"]
        if self.eval_inputs == "data":
            del out["eval_inputs"]
        out["betas"], out["checkpoints"] = list(self.betas), list(self.checkpoints)
        out["p"] = "inf" if math.isinf(self.p) else self.p
        return out

    @property
    def q(self) -> float:
        """The dual exponent of ``p``: the norm of the gradient penalty."""
        return 1.0 if math.isinf(self.p) else self.p / (self.p - 1)


_FIELDS = {f.name for f in fields(TrainConfig)} - {"extra"}


def _number(where: str, key: str, value: Any, *, low: float, high: float = math.inf, integer: bool = False) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if integer:
        ok = ok and float(value).is_integer()
    if not ok or not low <= value <= high:
        kind = "an integer" if integer else "a finite number"
        bounds = f"from {low:g}" + ("" if math.isinf(high) else f" to {high:g}")
        raise TheorycheckError(f"{where}.{key}: must be {kind} {bounds}, got {value!r}")
    return int(value) if integer else float(value)


def _choice(where: str, key: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise TheorycheckError(
            f"{where}.{key}: must be one of {', '.join(options)}, got {value!r}{suggest(str(value), options)}"
        )
    return str(value)


def train_config(table: dict[str, Any], *, where: str = "train") -> TrainConfig:
    """A :class:`TrainConfig` from a study's ``[claims."X".train]`` table (without ``data``), every field checked."""
    if not isinstance(table, dict):
        raise TheorycheckError(f"{where}: must be a table of training settings, got {table!r}")
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise TheorycheckError(
            f"{where}.{unknown[0]}: unknown setting{suggest(unknown[0], sorted(_FIELDS))}; "
            f"settings: {', '.join(sorted(_FIELDS))}"
        )
    t = dict(table)
    steps = _number(where, "steps", t.get("steps", 200), low=1, high=MAX_STEPS, integer=True)
    p_raw = t.get("p", "inf")
    p = math.inf if p_raw in ("inf", math.inf) else _number(where, "p", p_raw, low=1.0000001)
    if not (math.isinf(p) or p == 2):
        raise TheorycheckError(f'{where}.p: the attacks and penalties use p = "inf" or p = 2, got {p_raw!r}')
    checkpoints_raw = t.get("checkpoints", [0, steps])
    if (
        not isinstance(checkpoints_raw, list)
        or not checkpoints_raw
        or not all(isinstance(c, int) and not isinstance(c, bool) for c in checkpoints_raw)
    ):
        raise TheorycheckError(f"{where}.checkpoints: must be a non-empty list of steps, got {checkpoints_raw!r}")
    checkpoints = tuple(sorted(set(checkpoints_raw)))
    if checkpoints[0] < 0 or checkpoints[-1] > steps:
        raise TheorycheckError(
            f"{where}.checkpoints: every checkpoint must lie in 0 … steps ({steps}), got {checkpoints_raw}"
        )
    betas = t.get("betas", [0.9, 0.999])
    if not isinstance(betas, list | tuple) or len(betas) != 2:
        raise TheorycheckError(f"{where}.betas: must be two numbers, e.g. [0.9, 0.999], got {betas!r}")
    regularizer = _choice(where, "regularizer", t.get("regularizer", "none"), REGULARIZERS)
    epsilon = _number(where, "epsilon", t.get("epsilon", 0.0), low=0.0)
    if regularizer != "none" and epsilon == 0:
        raise TheorycheckError(f"{where}.epsilon: regularizer {regularizer!r} needs epsilon > 0 (ε∞ per coordinate)")
    optimizer = _choice(where, "optimizer", t.get("optimizer", "sgd"), OPTIMIZERS)
    momentum = _number(where, "momentum", t.get("momentum", 0.0), low=0.0, high=0.999999)
    nesterov = t.get("nesterov", False)
    if not isinstance(nesterov, bool):
        raise TheorycheckError(f"{where}.nesterov: must be true or false, got {nesterov!r}")
    if nesterov and (optimizer != "sgd" or momentum == 0):
        raise TheorycheckError(f"{where}.nesterov: needs optimizer = 'sgd' and momentum > 0")
    if optimizer == "adam" and momentum != 0:
        raise TheorycheckError(f"{where}.momentum: Adam takes betas, not momentum")
    return TrainConfig(
        steps=steps,
        batch=_number(where, "batch", t.get("batch", 32), low=1, high=1_000_000, integer=True),
        optimizer=optimizer,
        lr=_number(where, "lr", t.get("lr", 0.01), low=1e-300, high=1e6),
        momentum=momentum,
        nesterov=nesterov,
        weight_decay=_number(where, "weight_decay", t.get("weight_decay", 0.0), low=0.0),
        betas=(
            _number(where, "betas", betas[0], low=0.0, high=0.999999),
            _number(where, "betas", betas[1], low=0.0, high=0.999999),
        ),
        eps=_number(where, "eps", t.get("eps", 1e-8), low=1e-300),
        step_size=_number(where, "step_size", t.get("step_size", 0), low=0, high=MAX_STEPS, integer=True),
        gamma=_number(where, "gamma", t.get("gamma", 1.0), low=1e-300, high=1.0),
        loss=_choice(where, "loss", t.get("loss", "cross_entropy"), LOSSES),
        regularizer=regularizer,
        epsilon=epsilon,
        p=p,
        checkpoints=checkpoints,
        eval_examples=_number(where, "eval_examples", t.get("eval_examples", 256), low=1, high=100_000, integer=True),
        attack_epsilon=_number(where, "attack_epsilon", t.get("attack_epsilon", 0.1), low=0.0),
        pgd_steps=_number(where, "pgd_steps", t.get("pgd_steps", 0), low=0, high=10_000, integer=True),
        pgd_step=_number(where, "pgd_step", t.get("pgd_step", 0.0), low=0.0),
        eval_inputs=_choice(where, "eval_inputs", t.get("eval_inputs", "data"), EVAL_INPUTS),
    )
