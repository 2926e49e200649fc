"""Biases end to end: the DSL, the sampler (and its module), from_module, the kernel level's refusals.

A layer's ``bias=v`` is the variance of i.i.d. centred Gaussian biases (one per unit; one per channel of a conv,
shared by its positions). Their statistics against wide networks are in ``tests/statistical/test_bias_oracle.py``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from theorycheck.errors import ArchitectureError, TheorycheckError
from theorycheck.graph import Architecture, Conv, Dense, Node, conv, convert_module, dense, from_module, to_module
from theorycheck.graph._nodes import Branches
from theorycheck.sampler import compile_program, sample
from theorycheck.strategies import architectures
from theorycheck.theory import kernel_predict

BIASED = "conv(3,3,padding=circular,bias=0.25) relu flatten dense(8,gain=1,bias=0.5) tanh dense(2)"


def test_the_text_form_reads_and_writes_biases() -> None:
    arch = Architecture.parse(BIASED)
    assert [n.bias for n in arch.layers if isinstance(n, (Dense, Conv))] == [0.25, 0.5, 0.0]
    assert Architecture.parse(arch.to_text()) == arch
    assert "bias" not in Architecture.parse("dense(3) relu dense(1)").to_text()
    assert dense(8, bias=0.5) == Dense(8, bias=0.5) and conv(3, 3, bias=0.1).bias == 0.1


@pytest.mark.parametrize("text", ["dense(3,bias=-1)", "conv(2,3,bias=-0.5)", "dense(3,bias=nan)", "dense(3,bias=x)"])
def test_a_bad_bias_variance_is_located(text: str) -> None:
    with pytest.raises(ArchitectureError, match="bias") as err:
        Architecture.parse(text)
    assert "position" in str(err.value)


def _with_biases(layers: tuple[Node, ...], v: float, pick: list[bool]) -> tuple[Node, ...]:
    """Every weighted layer (pre-order) gets ``bias=v`` where ``pick`` says so (cycled)."""
    out: list[Node] = []
    for node in layers:
        if isinstance(node, (Dense, Conv)):
            pick.append(pick.pop(0))
            node = dataclasses.replace(node, bias=v if pick[-1] else 0.0)
        elif isinstance(node, Branches):
            node = dataclasses.replace(node, branches=tuple(_with_biases(b, v, pick) for b in node.branches))
        out.append(node)
    return tuple(out)


@settings(max_examples=40, deadline=None)
@given(architectures(max_layers=4, vary_init=False))
def test_the_module_of_a_biased_graph_is_the_samplers_network(case: tuple[Architecture, tuple[int, ...]]) -> None:
    """to_module builds biased layers, load_weights takes the sampler's biases, and the module computes the
    sampler's network (float64 logits and input gradients); from_module(…, bias=v) reads it back."""
    arch, shape = case
    arch = Architecture(_with_biases(arch.layers, 0.3, [True, False, True]))
    module = to_module(arch, shape, dtype=torch.float64)
    program = compile_program(arch, shape)
    drawn = {k: v.to(torch.float64) for k, v in program.draw_block(0, torch.Generator().manual_seed(0), 2).items()}
    assert len(drawn) == len(program.weighted) + len(program.biased)
    module.load_weights(program.network_parameters(drawn, 1))
    x = torch.randn((2, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.float64, requires_grad=True)
    ours = program.forward(x, drawn)
    (g_ours,) = torch.autograd.grad(ours[1, 0], x)
    xs = x.detach()[1:2].clone().requires_grad_(True)
    theirs = module(xs)
    (g_theirs,) = torch.autograd.grad(theirs[0, 0], xs)
    torch.testing.assert_close(theirs[0], ours[1].detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_theirs[0], g_ours[1], rtol=1e-12, atol=1e-12)
    if program.biased:  # the comparison sees the biases: another network's biases change the logits
        params = program.network_parameters(drawn, 1)
        params[len(program.weighted)] = params[len(program.weighted)] + 1.0
        module.load_weights(params)
        assert not torch.allclose(module(xs.detach()), ours[1:2].detach(), rtol=1e-6, atol=1e-9)
    back = from_module(module, shape, bias=0.3)
    assert [getattr(n, "bias", None) for n in _flat(back.layers)] == [
        getattr(n, "bias", None) for n in _flat(arch.layers)
    ]


def _flat(layers: tuple[Node, ...]) -> list[Node]:
    out: list[Node] = []
    for node in layers:
        out.append(node)
        if isinstance(node, Branches):
            for b in node.branches:
                out += _flat(b)
    return [n for n in out if isinstance(n, (Dense, Conv))]


def test_biases_change_the_network_and_leave_an_unbiased_graphs_weights_alone() -> None:
    plain, biased = (
        compile_program(Architecture.parse("dense(4) relu dense(2)"), (3,)),
        compile_program(Architecture.parse("dense(4,bias=1) relu dense(2)"), (3,)),
    )
    a = plain.draw_block(0, torch.Generator().manual_seed(0), 4)
    b = biased.draw_block(0, torch.Generator().manual_seed(0), 4)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the weights: same stream, biases drawn after them
    assert set(b) - set(a) == {-1} and b[-1].shape == (4, 4)
    assert abs(float(b[-1].var()) - 1.0) < 0.8  # N(0, 1) entries (16 of them)
    x = torch.randn(4, 3)
    assert not torch.allclose(plain.forward(x, a), biased.forward(x, b))


def test_the_conditional_sampler_refuses_biases_and_auto_uses_the_explicit_one() -> None:
    arch = "dense(32,bias=0.5) relu dense(1)"
    with pytest.raises(TheorycheckError, match="has biases"):
        sample(arch, "4", networks=8, seed=0, method="conditional")
    assert "explicit" in str(sample(arch, "4", networks=8, seed=0).provenance["method"])


def test_from_module_states_the_bias_variance() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1, bias=False))
    zero = convert_module(net, "4")
    assert zero.architecture.to_text() == "dense(8) relu dense(1)" and "read as zero" in zero.notes[0]
    stated = convert_module(net, "4", bias=0.1)
    assert stated.architecture.to_text() == "dense(8,bias=0.1) relu dense(1)" and "N(0, 0.1)" in stated.notes[0]
    with pytest.raises(TheorycheckError, match="variance >= 0"):
        convert_module(net, "4", bias=-1.0)


def test_the_kernel_level_adds_the_bias_variance_and_the_grid_refuses_biases() -> None:
    """``dense(n,bias=v) tanh dense(1)`` at infinite width: with ``u = w·x ~ N(0, σ²‖x‖²)`` (σ² = 2/d), the bias
    ``β ~ N(0, v)`` and ``h = u + β``, writing ``w = (u/‖x‖²) x + w⊥``:
    ``E‖∇f‖² = 2 E[tanh′(h)² ‖w‖²] = 2 (E[tanh′(h)² u²]/‖x‖² + σ²(d − 1) E[tanh′(h)²])``, computed here by
    adaptive quadrature (scipy's quad), independently of the kernel level. A biased post-activation residual net
    goes to the grid method."""
    from scipy.integrate import quad

    x = np.array([0.5, -1.0, 2.0])
    d, sq, s2 = x.size, float(x @ x), 2 / x.size
    su2 = s2 * sq  # Var u

    def exact(v: float) -> float:
        """Conditioning on h ~ N(0, su2 + v): u | h ~ N(c h, τ) with c = su2/(su2 + v), τ = su2·v/(su2 + v)."""
        sh2 = su2 + v
        c, tau = su2 / sh2, su2 * v / sh2

        def mean(g: Callable[[float], float]) -> float:
            f = lambda h: g(h) * math.exp(-h * h / (2 * sh2)) / math.sqrt(2 * math.pi * sh2)  # noqa: E731
            return quad(f, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

        gate = lambda h: (1 - math.tanh(h) ** 2) ** 2  # noqa: E731
        return 2 * (mean(lambda h: gate(h) * (c * c * h * h + tau)) / sq + s2 * (d - 1) * mean(gate))

    for v in (0.0, 2.0):
        k = kernel_predict(f"dense(64,bias={v}) tanh dense(1)", "3", x).grad_sq_norm
        assert k is not None and math.isclose(k, exact(v), rel_tol=1e-6), (v, k, exact(v))
    assert exact(2.0) < 0.95 * exact(0.0)  # the bias matters (7%): a kernel level that ignored it would fail above
    k = kernel_predict("dense(8) relu residual{dense(8,bias=0.1) relu dense(8)} relu dense(1)", "3", x)
    assert k.covered and k.method == "grid"  # the post-activation residual with biases (the oracle test checks it)


@pytest.mark.parametrize("arch", ["dense(8) relu residual{dense(8)} relu dense(1)", "dense(8) tanh dense(1)"])
def test_a_non_finite_input_is_an_error_at_the_kernel_level(arch: str) -> None:
    with pytest.raises(TheorycheckError, match="non-finite"):
        kernel_predict(arch, "3", np.array([1.0, np.nan, 0.5]))
