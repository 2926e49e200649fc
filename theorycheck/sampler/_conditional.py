"""Exact conditional-Gaussian sampling of dense ReLU stacks: O(d + Σ widths) per network.

For ``W`` with i.i.d. ``N(0, s²)`` entries and a fixed vector ``a``:

* forward: ``h = W a ~ N(0, s² ‖a‖² I)``;
* conditionally on ``h``, ``W = h âᵀ/‖a‖ + s Z P`` with ``â = a/‖a‖``,
  ``P = I − â âᵀ`` and ``Z`` i.i.d. ``N(0, 1)`` independent of ``h``;
* so the backward product of T vectors ``U = [u_1 … u_T]`` is
  ``Wᵀ U = â (hᵀ U)/‖a‖ + s P G L(UᵀU)ᵀ`` with ``G`` i.i.d. ``N(0,1)`` of
  shape ``(in, T)`` and ``L L ᵀ = UᵀU``: ``Zᵀ U`` has i.i.d. rows ``N(0, UᵀU)``.

Applying this layer by layer, forward then backward, draws the exact joint law
of the activations and the input gradients (of one logit, all logits, the loss)
without ever forming a weight matrix (DESIGN.md, "Exact conditional sampling").
It needs Gaussian weights, dense layers and elementwise activations only.
"""

from __future__ import annotations

import math

import torch

from theorycheck.graph import Activation, Dense, Flatten
from theorycheck.sampler._program import ACTIVATION_FNS, Op, Program

__all__ = ["conditional_backward", "conditional_forward", "supports_conditional"]


def supports_conditional(program: Program) -> str | None:
    """None if the program is a Gaussian dense stack, else why not."""
    for i, op in enumerate(program.ops):
        node = op.node
        if isinstance(node, Dense):
            if node.bias > 0:
                return f"layer {op.index} ({node.kind}) has biases; the conditional sampler draws weights only"
            if node.init.dist != "normal":
                return (
                    f"layer {op.index} ({node.kind}) has {node.init.dist} weights; the conditional sampler needs normal"
                )
        elif isinstance(node, Flatten) and i == 0:
            continue
        elif not isinstance(node, Activation):
            return f"layer {op.index} is {node.kind}; the conditional sampler handles dense layers and activations only"
    return None


def _act_derivative(fn: str, h: torch.Tensor) -> torch.Tensor:
    if fn == "relu":
        return (h > 0).to(h.dtype)
    if fn == "tanh":
        return 1.0 - torch.tanh(h) ** 2
    if fn == "sigmoid":
        s = torch.sigmoid(h)
        return s * (1.0 - s)
    return torch.sigmoid(h)  # softplus


class ConditionalState:
    """What the backward pass needs from the forward pass."""

    def __init__(self) -> None:
        self.layers: list[tuple[float, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (s, a_hat, |a|, h)
        self.gates: list[list[tuple[str, torch.Tensor]]] = []  # activations after each dense layer


def conditional_forward(
    program: Program, x: torch.Tensor, z: list[torch.Tensor]
) -> tuple[torch.Tensor, ConditionalState]:
    """Logits ``(B, K)`` from inputs ``x (B, d)`` and forward noises ``z[l] (B, n_l)``."""
    state = ConditionalState()
    a = x.reshape(x.shape[0], -1)
    layer = 0
    for op in program.ops:
        node = op.node
        if isinstance(node, Dense):
            s = math.sqrt(node.init.variance(op.in_shape[0]))
            norm = a.norm(dim=1, keepdim=True)
            a_hat = a / norm.clamp_min(torch.finfo(a.dtype).tiny)
            h = s * norm * z[layer]
            state.layers.append((s, a_hat, norm, h))
            state.gates.append([])
            a = h
            layer += 1
        elif isinstance(node, Activation):
            state.gates[-1].append((node.fn, a))
            a = ACTIVATION_FNS[node.fn](a)
    return a, state


def conditional_backward(state: ConditionalState, c: torch.Tensor, g: list[torch.Tensor]) -> torch.Tensor:
    """Input gradients ``(B, T, d)`` of the T output functionals ``c (B, K, T)``ᵀ f.

    ``g[l]`` is the backward noise of dense layer ``l``: shape ``(B, in_l, T)``.
    """
    u = c
    for layer in range(len(state.layers) - 1, -1, -1):
        s, a_hat, norm, h = state.layers[layer]
        # through the activations that follow this dense layer, last first
        for fn, pre in reversed(state.gates[layer]):
            u = u * _act_derivative(fn, pre).unsqueeze(-1)
        # Wᵀ U = â (hᵀU)/‖a‖ + s P G L(UᵀU)ᵀ
        if u.shape[2] == 1:
            noise = g[layer] * u.norm(dim=1, keepdim=True)
        else:
            evals, evecs = torch.linalg.eigh(u.transpose(1, 2) @ u)
            root = evecs * evals.clamp_min(0.0).sqrt().unsqueeze(1)  # root rootᵀ = UᵀU
            noise = g[layer] @ root.transpose(1, 2)
        noise = noise - a_hat.unsqueeze(-1) * (a_hat.unsqueeze(1) @ noise)
        mean = a_hat.unsqueeze(-1) * ((h.unsqueeze(1) @ u) / norm.unsqueeze(-1).clamp_min(torch.finfo(u.dtype).tiny))
        u = mean + s * noise
    return u.transpose(1, 2)


def conditional_noise_shapes(program: Program, n_targets: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Per-network shapes of the forward and backward noises, in draw order."""
    fwd: list[int] = []
    bwd: list[tuple[int, int]] = []
    for op in program.ops:
        if isinstance(op.node, Dense):
            fwd.append(op.node.out)
            bwd.append((op.in_shape[0], n_targets))
    return fwd, bwd


def dense_ops(program: Program) -> list[Op]:
    """The dense ops in order."""
    return [op for op in program.ops if isinstance(op.node, Dense)]
