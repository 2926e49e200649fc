"""Minimal-norm attack and Peck et al.'s chained bound, against independent computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests._cli import run_cli
from theorycheck.attacks import chained_bound, minimal_l2_perturbation
from theorycheck.attacks._bounds import fc_taylor_bound, rule_ratios, taylor_bound
from theorycheck.attacks._robustness import bound_attack_rows, draw_networks
from theorycheck.graph import Architecture
from theorycheck.properties import exact_min_perturbation
from theorycheck.sampler._program import compile_program

SEED = 20261123


def test_attack_on_two_class_linear_classifiers_is_exact() -> None:
    """Two classes, f = Wx + b: Δadv = |margin| / ‖w₀ − w₁‖ in closed form."""
    rng = np.random.default_rng(SEED)
    for _ in range(20):
        d = int(rng.integers(2, 9))
        w, b, x = rng.standard_normal((2, d)), rng.standard_normal(2), rng.standard_normal(d)
        wt, bt = torch.tensor(w), torch.tensor(b)
        found = minimal_l2_perturbation(lambda z, wt=wt, bt=bt: wt @ z + bt, torch.tensor(x))
        exact = abs((w[0] - w[1]) @ x + b[0] - b[1]) / np.linalg.norm(w[0] - w[1])
        assert found.success and found.adv_label != found.label
        assert found.norm == pytest.approx(exact, rel=1e-9)


def test_attack_on_multiclass_linear_classifiers_never_beats_the_exact_minimum() -> None:
    """The attack's perturbation is real, so it can never be shorter than the exact Δadv (active-set QP)."""
    rng = np.random.default_rng(SEED + 1)
    gaps = []
    for _ in range(30):
        k, d = int(rng.integers(3, 5)), int(rng.integers(2, 5))
        w, b, x = rng.standard_normal((k, d)), rng.standard_normal(k), rng.standard_normal(d)
        wt, bt = torch.tensor(w), torch.tensor(b)
        found = minimal_l2_perturbation(lambda z, wt=wt, bt=bt: wt @ z + bt, torch.tensor(x))
        exact = exact_min_perturbation(w, b, x)
        assert int(np.argmax(w @ (x + found.r.numpy()) + b)) != int(np.argmax(w @ x + b))
        assert found.norm >= exact * (1 - 1e-9)
        gaps.append(found.norm / exact - 1)
    assert np.median(gaps) < 1e-6, "DeepFool towards every class should find the optimum in most cases"


def test_attack_label_change_is_real_on_relu_networks() -> None:
    arch = "conv(4,3,padding=circular) relu avgpool(2) flatten dense(3)"
    program = compile_program(Architecture.parse(arch), (1, 8, 8))
    weights, xs = draw_networks(program, SEED, 0, 10)
    for i in range(10):
        w = {k: v[i : i + 1] for k, v in weights.items()}
        found = minimal_l2_perturbation(lambda z, w=w: program.forward(z.unsqueeze(0), w)[0], xs[i])
        assert found.success
        # an independent forward pass: torch's own layers, one network
        conv_w, dense_w = w[1][0], w[5][0]

        def net(z: torch.Tensor, conv_w: torch.Tensor = conv_w, dense_w: torch.Tensor = dense_w) -> torch.Tensor:
            h = torch.nn.functional.pad(z.unsqueeze(0), (1, 1, 1, 1), mode="circular")
            h = torch.relu(torch.nn.functional.conv2d(h, conv_w))
            return dense_w @ torch.nn.functional.avg_pool2d(h, 2).reshape(-1)

        assert int(net(xs[i]).argmax()) == found.label
        assert int(net(xs[i] + found.r).argmax()) == found.adv_label != found.label


def test_taylor_bound_solves_the_quadratic_inequality() -> None:
    """‖J‖ρ + (M/2)√n ρ² = κ at ρ = bound (the inequality of A.2 at equality)."""
    for jn, m, n, kappa in [(1.0, 0.5, 4, 2.0), (3.0, 1e-8, 16, 0.1), (0.2, 50.0, 1, 7.0)]:
        rho = taylor_bound(jn, m, n, kappa)
        assert jn * rho + 0.5 * m * math.sqrt(n) * rho**2 == pytest.approx(kappa, rel=1e-12)
        naive = (math.sqrt(jn**2 + 2 * m * math.sqrt(n) * kappa) - jn) / (m * math.sqrt(n))
        assert rho == pytest.approx(naive, rel=1e-6)
    assert taylor_bound(2.0, 0.0, 3, 1.0) == 0.5


def test_fc_bound_jacobian_and_m_match_a_direct_computation() -> None:
    """One layer h = tanh(Vx): J = diag(1 − tanh²(Vx)) V, and Algorithm A.1 gives M = (max_i Σ_j |v_ij|)²."""
    program = compile_program(Architecture.parse("dense(5) tanh dense(3)"), (4,))
    weights, xs = draw_networks(program, SEED, 0, 1)
    w = {k: v[:1] for k, v in weights.items()}
    v = w[1][0]
    jac = (1 - torch.tanh(v @ xs[0]) ** 2).unsqueeze(1) * v
    bound, jn, m, n = fc_taylor_bound(program, w, xs[0], 0.7)
    assert jn == pytest.approx(float(torch.linalg.matrix_norm(jac, ord=2)), rel=1e-12)
    assert m == pytest.approx(float(v.abs().sum(1).max()) ** 2, rel=1e-12)
    assert n == 5 and bound == pytest.approx(taylor_bound(jn, m, n, 0.7))


def _overlapping_counterexample() -> tuple[object, dict[int, torch.Tensor], torch.Tensor]:
    """conv(1, 3×3, all 1/3, circular) then dense(2) with rows 1 and 0: every input feeds 9 outputs."""
    program = compile_program(Architecture.parse("conv(1,3,padding=circular) flatten dense(2)"), (1, 4, 4))
    weights = {
        1: torch.full((1, 1, 1, 3, 3), 1 / 3, dtype=torch.float64),
        3: torch.stack([torch.ones(16), torch.zeros(16)]).unsqueeze(0).double(),
    }
    x = torch.full((1, 4, 4), 0.25, dtype=torch.float64)
    return program, weights, x


def test_chain_through_an_overlapping_conv_exceeds_the_exact_minimum_and_names_the_rule() -> None:
    program, weights, x = _overlapping_counterexample()
    chain = chained_bound(program, weights, x)  # type: ignore[arg-type]
    # independent: f₀ − f₁ = Σ conv(x) = 3 Σ x, gradient 3·1 (norm 12): Δadv = 3Σx / 12; the chain gives
    # κ = 3Σx / ‖1‖ = 3Σx / 4, divided by ‖W‖_F = 1
    assert chain.bound == pytest.approx(3 * 4.0 / 4)
    found = minimal_l2_perturbation(lambda z: program.forward(z.unsqueeze(0), weights)[0], x)  # type: ignore[attr-defined]
    assert found.norm == pytest.approx(3 * 4.0 / 12, rel=1e-9)
    ratios = rule_ratios(program, weights, x, found.r, chain)  # type: ignore[arg-type]
    conv_rule = next(k for k, r in enumerate(chain.rules) if r.rule.startswith("conv"))
    assert ratios[f"rule{conv_rule}"] == pytest.approx(3.0, rel=1e-9)
    assert all(v <= 1 + 1e-12 for k, v in ratios.items() if k not in (f"rule{conv_rule}", "softmax"))


@pytest.mark.parametrize(
    ("arch", "shape"),
    [
        ("conv(4,2,stride=2) relu conv(8,2,stride=2) relu flatten dense(3)", "1x8x8"),
        ("dense(16) tanh dense(16) sigmoid dense(4)", "8"),
        ("conv(4,2,stride=2) relu maxpool(2) flatten dense(3)", "2x8x8"),
    ],
)
def test_chain_holds_on_sampled_networks_without_overlapping_convs(arch: str, shape: str) -> None:
    rows = bound_attack_rows(arch, shape, networks=40, seed=SEED)
    ok = rows["success"] > 0
    assert ok.mean() > 0.8
    assert np.nanmax(rows["ratio"][ok]) <= 1.0


def test_inverted_rules_are_flagged() -> None:
    rows = bound_attack_rows("dense(16) tanh dense(16) tanh dense(4)", "8", networks=20, seed=SEED, mutant=True)
    assert (rows["ratio"] > 1).mean() > 0.5


def test_bound_cli_json_and_errors() -> None:
    out = run_cli("bound", "conv(4,3,padding=circular) relu avgpool(2) flatten dense(3)", "--input", "1x8x8", "--json")
    assert out.returncode == 0, out.stderr
    (item,) = json.loads(out.stdout)
    assert {"bound", "kappa_softmax", "layers", "attack"} <= set(item)
    layers = [layer["layer"] for layer in item["layers"]]
    assert layers == ["conv(4,3,padding=circular)", "relu", "avgpool(2)", "flatten"]
    assert item["attack"]["ratio"] == pytest.approx(item["bound"] / item["attack"]["norm"])
    bad = run_cli("bound", "dense(4) relu add{dense(3)|dense(3)}", "--input", "4")
    assert bad.returncode == 2 and "sequential networks" in bad.stderr and "Traceback" not in bad.stderr
