"""Robustness lower bounds against minimal-norm attacks, per sampled network (pk.fc_bound, pk.chain).

For each network ``i`` of a seed (weights and input drawn from the same per-block streams as
the sampler, in float64 on the CPU), this computes Peck et al.'s lower bound, the smallest
verified ℓ2 perturbation found by :func:`minimal_l2_perturbation`, their ratio, and along the
found perturbation each layer rule's ``Δout / L(Δin)`` (> 1: that rule fails there).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from theorycheck.attacks._bounds import ChainBound, chained_bound, fc_taylor_bound, rule_ratios
from theorycheck.attacks._minimal import MinimalPerturbation, minimal_l2_perturbation
from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, parse_input_shape
from theorycheck.sampler._program import Program, compile_program
from theorycheck.sampler._rng import RNG_BLOCK, STREAM_INPUT, STREAM_WEIGHTS, block_generator

__all__ = ["bound_attack_rows", "bound_report", "draw_networks", "rule_columns"]


def draw_networks(
    program: Program, seed: int, start: int, networks: int
) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """Weights ``{op.index: (networks, …)}`` and inputs of networks ``start…`` (float64, CPU)."""
    cpu = torch.device("cpu")
    blocks = range(start // RNG_BLOCK, (start + networks + RNG_BLOCK - 1) // RNG_BLOCK)
    sl = slice(start - blocks.start * RNG_BLOCK, start - blocks.start * RNG_BLOCK + networks)
    parts: dict[int, list[torch.Tensor]] = {}
    xs = []
    for b in blocks:
        for k, w in program.draw_block(b, block_generator(seed, STREAM_WEIGHTS, b, cpu), RNG_BLOCK).items():
            parts.setdefault(k, []).append(w)
        xs.append(torch.randn((RNG_BLOCK, *program.input_shape), generator=block_generator(seed, STREAM_INPUT, b, cpu)))
    return {k: torch.cat(v)[sl].double() for k, v in parts.items()}, torch.cat(xs)[sl].double()


def _nonnegative_features(program: Program) -> bool:
    """True when the logits layer's input is ≥ 0 for every input (ReLU/sigmoid/softplus, then pooling)."""
    for op in reversed(program.ops[:-1]):
        kind = op.node.kind
        if kind == "activation":
            return op.node.fn in ("relu", "sigmoid", "softplus")  # type: ignore[attr-defined]
        if kind not in ("flatten", "avgpool", "maxpool", "globalavgpool", "globalmaxpool"):
            return False
    return False


def _one_network(
    program: Program, w: dict[int, torch.Tensor], x: torch.Tensor, *, invert: bool = False
) -> tuple[ChainBound, MinimalPerturbation, dict[str, float]]:
    """The chain at ``x``, the smallest verified perturbation, and the rule ratios along it (if found)."""

    def f(z: torch.Tensor) -> torch.Tensor:
        return program.forward(z.unsqueeze(0), w)[0]

    chain = chained_bound(program, w, x, invert=invert)
    attack = minimal_l2_perturbation(f, x)
    ratios = rule_ratios(program, w, x, attack.r, chain) if attack.success else {}
    return chain, attack, ratios


def rule_columns(columns: list[str]) -> dict[str, tuple[str, str]]:
    """``{column: (layer, rule)}`` for the per-rule ratio columns of :func:`bound_attack_rows`."""
    out = {}
    for col in columns:
        if col.startswith("rule") and "|" in col:
            _, layer, rule = col.split("|", 2)
            out[col] = (layer, rule)
    return out


def bound_attack_rows(
    arch: Architecture | str,
    input_shape: str,
    *,
    networks: int,
    seed: int,
    start: int = 0,
    bound: str = "chain",
    mutant: bool = False,
) -> dict[str, np.ndarray]:
    """Per network: ``bound``, ``attack_norm``, ``ratio`` = bound/attack, labels, and rule ratios.

    ``bound``: ``chain`` (the layer-by-layer chain) or ``fc`` (the Taylor bound of A.2 for a
    smooth MLP). ``mutant``: the negative control (chain: every rule multiplies by its gain;
    fc: σ_min(J) in place of ‖J‖ and M = 0).
    """
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    program = compile_program(arch, parse_input_shape(input_shape))
    weights, xs = draw_networks(program, seed, start, networks)
    nonneg = _nonnegative_features(program)
    last = program.ops[-1].index
    rows: dict[str, list[float]] = {}
    for i in range(networks):
        w = {k: v[i : i + 1] for k, v in weights.items()}
        x = xs[i]
        chain, attack, ratios = _one_network(program, w, x, invert=mutant and bound == "chain")
        value = chain.bound
        if bound == "fc":
            value = fc_taylor_bound(program, w, x, chain.kappa_softmax, mutant=mutant)[0]
        row = {
            "network": float(start + i),
            "bound": value,
            "attack_norm": attack.norm,
            "ratio": value / attack.norm if attack.success and attack.norm > 0 else math.nan,
            "success": float(attack.success),
            "label": float(attack.label),
            "adv_label": float(attack.adv_label),
            "kappa_softmax": chain.kappa_softmax,
            "softmax_ratio": ratios.get("softmax", math.nan),
            # no perturbation can change the label: features ≥ 0 and w_c − w_k ≥ 0 entrywise for every k
            "unattackable": float(nonneg and bool((w[last][0, attack.label] - w[last][0] >= 0).all())),
        }
        for k, rule in enumerate(chain.rules):
            row[f"rule{k}|{rule.layer}|{rule.rule}"] = ratios.get(f"rule{k}", math.nan)
        for key, val in row.items():
            rows.setdefault(key, []).append(val)
    return {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}


def bound_report(
    arch: Architecture | str,
    input_shape: str,
    *,
    networks: int = 1,
    seed: int = 0,
    start: int = 0,
    attack: bool = True,
) -> list[dict[str, Any]]:
    """Per sampled network: each layer's κ (the chain of Peck et al.), the input bound, and with ``attack``
    the smallest verified perturbation, the ratio and every rule's ``Δout / L(Δin)`` along it.

    Smooth MLPs also get the whole-network Taylor bound of A.2 (``fc_bound``).
    """
    arch = Architecture.parse(arch) if isinstance(arch, str) else arch
    program = compile_program(arch, parse_input_shape(input_shape))
    n_classes = arch.output_shape(parse_input_shape(input_shape))[0]
    if n_classes < 2:
        raise TheorycheckError(
            f"the network has {n_classes} logit: a robustness bound needs at least two classes "
            "(with one, no perturbation changes the class and κ is infinite); end with dense(2) or more"
        )
    if not isinstance(networks, int) or networks <= 0:
        raise TheorycheckError(f"networks must be a positive integer, got {networks!r}")
    weights, xs = draw_networks(program, seed, start, networks)
    out = []
    for i in range(networks):
        w = {k: v[i : i + 1] for k, v in weights.items()}
        if attack:
            chain, found, ratios = _one_network(program, w, xs[i])
        else:
            chain = chained_bound(program, w, xs[i])
        item: dict[str, Any] = {"network": start + i, **chain.to_dict()}
        try:
            item["fc_bound"] = fc_taylor_bound(program, w, xs[i], chain.kappa_softmax)[0]
        except TheorycheckError:
            item["fc_bound"] = None
        if attack:
            item["attack"] = {
                "norm": found.norm if found.success else None,
                "success": found.success,
                "label": found.label,
                "adv_label": found.adv_label,
                "method": found.method,
                "ratio": chain.bound / found.norm if found.success and found.norm > 0 else None,
            }
            if found.success:
                for k, layer in enumerate(item["layers"]):
                    layer["ratio_along_attack"] = ratios[f"rule{k}"]
                item["softmax_ratio_along_attack"] = ratios["softmax"]
        out.append(item)
    return out
