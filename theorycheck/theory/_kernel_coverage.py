"""Which graphs the kernel level covers: exact or refused, with the node's position.

The closed forms of :mod:`._kernel` need each activation's input to be a centred Gaussian process (at infinite
width), and an ``add`` whose branches' cross-moments vanish. Channel groups carry their law
(:mod:`._frames`): a ReLU on a non-negative group is the identity (exact); anything else that is not a centred
Gaussian (``relu(u) + b`` after a post-activation residual block, a smooth activation of a non-negative value,
an activation of the raw input) is refused, naming the node and its input shape.

At infinite width only layers with infinite fan-in have Gaussian pre-activations (central limit theorem). A layer
that reads the network input has finite fan-in, so under ``init=uniform`` or ``init=rademacher`` its outputs are a
finite sum of non-Gaussian terms (law :data:`NONGAUSS`): the second moments are still exact, but an activation of
them is not the Gaussian expectation, and is refused (``dense(64,init=rademacher) tanh dense(1)`` on input 2: the
Gaussian formula is 5.5% below the wide-network value). One case stays exact: a ReLU on a single position (a dense
layer's features). The kernel level reads its output only at ``x′ = x``, where ``E[relu(u)²] = ½E[u²]``,
``E[1(u>0) w_i u] = ½E[w_i u]`` and ``E[1(u>0) w_i²] = ½E[w_i²]`` for every law symmetric under ``w → −w``;
between two positions ``E[relu(u_p) relu(u_q)]`` depends on the joint law, and is refused.
"""

from __future__ import annotations

import numpy as np

from theorycheck.graph import (
    Activation,
    Add,
    AvgPool,
    Concat,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    format_shape,
)
from theorycheck.theory._frames import NONGAUSS, NONNEG, OTHER, Frame, centred_branch, law_name

__all__ = ["passes_through", "uncovered"]


def _activation_uncovered(fr: Frame) -> str | None:
    """Why the kernel level cannot pass the activation of ``fr``, or None.

    The closed forms need a centred Gaussian input. A ReLU on a non-negative channel is the
    identity (relu∘relu = relu) and is exact. Anything else (``relu(u) + b`` after a residual
    block, a tanh of a non-negative value, an activation on the raw input) is refused."""
    fn = fr.node.fn  # type: ignore[attr-defined]
    where = f"{fr.where} on {format_shape(fr.in_shape)}"
    if (fr.in_law == OTHER).any():
        return (
            f"{where}: its input is {law_name(OTHER)} (e.g. the sum of a non-negative branch and a Gaussian one, "
            f"as relu(u) + b after a residual block), so the Gaussian formula for {fn} does not apply and its "
            "exact law is not computed: not covered at kernel level"
        )
    positions = int(np.prod(fr.in_shape[1:]))
    if (fr.in_law == NONGAUSS).any() and (fn != "relu" or positions > 1):
        return (
            f"{where}: its input is {law_name(NONGAUSS)}: a layer with uniform or Rademacher weights reads the "
            "network input, whose fan-in stays finite at infinite width, so its pre-activations are not Gaussian "
            f"and the Gaussian formula for {fn} does not apply: not covered at kernel level (use init=normal on "
            "the layers that read the input, or measure it with `theorycheck estimate`)"
        )
    if fn != "relu" and (fr.in_law == NONNEG).any():
        return f"{where}: {fn} of a non-negative input (not a centred Gaussian) is not covered at kernel level"
    return None


def passes_through(fn: str, law: int) -> bool:
    """A ReLU on a non-negative channel group is the identity (relu∘relu = relu); the other activations on
    non-centred groups are refused up front (:func:`_activation_uncovered`)."""
    return fn == "relu" and law == NONNEG


def uncovered(frames: list[Frame]) -> str | None:
    """Why ``frames`` (recursively) are outside the kernel level, or None."""
    for fr in frames:
        node = fr.node
        if isinstance(node, (Add, Concat)):
            for branch in fr.branches:
                why = uncovered(branch)
                if why:
                    return why
            if isinstance(node, Add) and sum(not centred_branch(b) for b in fr.branches) > 1:
                return (
                    f"{fr.where} on {format_shape(fr.in_shape)}: add{{…}} of two branches that do not end in a "
                    "weighted layer is not covered at kernel level (their cross-moments E[a(x)b(x′)] do not vanish)"
                )
            continue
        if not isinstance(node, (Dense, Conv, Activation, AvgPool, Flatten, GlobalAvgPool)):
            return f"{fr.where}: {node.kind} is not covered at kernel level" + (
                " (no closed-form kernel)" if "max" in node.kind else ""
            )
        if isinstance(node, Activation):
            why = _activation_uncovered(fr)
            if why:
                return why
    return None
