"""Deterministic properties of the batched sampler (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theorycheck.errors import TheorycheckError
from theorycheck.sampler import SampleResult, sample
from theorycheck.sampler import _paths as sampler_paths
from theorycheck.sampler import _sample as sampler_core
from theorycheck.sampler._paths import path_products, path_sum
from theorycheck.sampler._rng import STREAM_FIXED_INPUT, block_generator

SEED = 7
ARCHS = {
    "dense-conditional": ("dense(64) relu dense(64) relu dense(10)", "32", "conditional"),
    "dense-explicit": ("dense(64) relu dense(64) relu dense(10)", "32", "explicit"),
    "conv-branches": (
        "conv(8,3) relu residual{conv(8,3,padding=reflect) relu} maxpool(2) globalavgpool dense(5)",
        "3x8x8",
        "explicit",
    ),
    "conv-strided": (
        "conv(8,3,padding=circular) relu conv(8,3,stride=2) relu avgpool(2) flatten dense(4)",
        "3x12x12",
        "explicit",
    ),
}
TARGETS = ("logit", "loss", "logits")


def identical(a: SampleResult, b: SampleResult, rows: slice = slice(None)) -> bool:
    return a.rows.keys() == b.rows.keys() and all(np.array_equal(a.rows[k][rows], b.rows[k]) for k in b.rows)


@pytest.mark.parametrize("name", list(ARCHS))
def test_rows_are_bitwise_invariant_to_chunk_size(name: str) -> None:
    arch, shape, method = ARCHS[name]
    kw = dict(networks=97, seed=SEED, method=method, targets=TARGETS, loss_class="random", maps=True)
    base = sample(arch, shape, chunk=64, **kw)  # type: ignore[arg-type]
    for chunk in (1, 2, 4, 32, 96):
        other = sample(arch, shape, chunk=chunk, **kw)  # type: ignore[arg-type]
        assert identical(base, other), f"chunk {chunk}"
        for k in base.maps:
            np.testing.assert_allclose(other.maps[k], base.maps[k], rtol=1e-12)


@pytest.mark.parametrize("name", list(ARCHS))
def test_network_i_depends_only_on_seed_and_i(name: str) -> None:
    arch, shape, method = ARCHS[name]
    base = sample(arch, shape, networks=70, seed=SEED, method=method, targets=TARGETS, loss_class="random")
    for start, n in ((0, 1), (31, 2), (33, 30), (69, 1)):
        part = sample(
            arch, shape, networks=n, start=start, seed=SEED, method=method, targets=TARGETS, loss_class="random"
        )
        assert identical(base, part, slice(start, start + n))
    other_seed = sample(arch, shape, networks=8, seed=SEED + 1, method=method)
    assert not np.array_equal(other_seed.rows["f0"], base.rows["f0"][:8])


def _failing_above(limit: int, calls: list[int]):  # type: ignore[no-untyped-def]
    original = sampler_core._gradients

    def failing(plan, blocks, sl):  # type: ignore[no-untyped-def]
        calls.append(sl.stop - sl.start)
        if sl.stop - sl.start > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (simulated)")
        return original(plan, blocks, sl)

    return failing


def test_out_of_memory_backs_off_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the compute window a back-off halves the chunk only: the rows stay the same bit for bit, and every
    kernel call still sees a whole window."""
    arch, shape, method = ARCHS["conv-branches"]
    expected = sample(arch, shape, networks=50, seed=SEED, method=method, chunk=128)
    window = expected.provenance["window"]
    assert window == 32
    calls: list[int] = []
    original = sampler_core._gradients
    monkeypatch.setattr(sampler_core, "_gradients", _failing_above(window, calls))
    monkeypatch.setattr(sampler_core, "plan_chunk", lambda *a, **k: 128)
    got = sample(arch, shape, networks=50, seed=SEED, method=method)
    monkeypatch.setattr(sampler_core, "_gradients", original)
    assert got.provenance["chunk_backoffs"] == [] and got.provenance["window_backoffs"] == []
    assert identical(expected, got) and set(calls) == {window}


def test_out_of_memory_below_the_window_halves_it_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    arch, shape, method = ARCHS["conv-branches"]
    expected = sample(arch, shape, networks=50, seed=SEED, method=method, chunk=64)
    calls: list[int] = []
    monkeypatch.setattr(sampler_core, "_gradients", _failing_above(8, calls))
    got = sample(arch, shape, networks=50, seed=SEED, method=method, chunk=64)
    assert got.provenance["chunk_backoffs"] == [32, 16, 8]
    assert got.provenance["window_backoffs"] == [16, 8]
    assert got.provenance["chunk"] == 8 and got.provenance["window"] == 8
    assert max(calls[-7:]) == 8  # every later call computes one window of 8
    for key in expected.rows:  # another batch shape: the same networks, equal to round-off
        np.testing.assert_allclose(got.rows[key], expected.rows[key], rtol=1e-5, atol=1e-7)


def test_cpu_allocation_failure_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    original = sampler_core._gradients

    def failing(plan, blocks, sl):  # type: ignore[no-untyped-def]
        if sl.stop - sl.start > 16:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")
        return original(plan, blocks, sl)

    monkeypatch.setattr(sampler_core, "_gradients", failing)
    got = sample("dense(8) relu dense(2)", "4", networks=40, seed=SEED, chunk=64, method="explicit")
    assert got.provenance["chunk_backoffs"] == [32, 16]


def test_out_of_memory_at_the_smallest_batch_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def always(plan, blocks, sl):  # type: ignore[no-untyped-def]
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(sampler_core, "_gradients", always)
    with pytest.raises(TheorycheckError, match="out of memory with 4 networks per step"):
        sample("dense(8) relu dense(2)", "4", networks=40, seed=SEED, chunk=8)


def test_other_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(plan, blocks, sl):  # type: ignore[no-untyped-def]
        raise RuntimeError("shape mismatch (simulated bug)")

    monkeypatch.setattr(sampler_core, "_gradients", broken)
    with pytest.raises(RuntimeError, match="simulated bug"):
        sample("dense(8) relu dense(2)", "4", networks=40, seed=SEED)


def test_fixed_input_equals_the_same_tensor_given_explicitly() -> None:
    arch, shape, method = ARCHS["conv-strided"]
    fixed = sample(arch, shape, networks=40, seed=SEED, inputs="fixed", method=method)
    x = torch.randn((1, 3, 12, 12), generator=block_generator(SEED, STREAM_FIXED_INPUT, 0, torch.device("cpu")))[0]
    given = sample(arch, shape, networks=40, seed=SEED, inputs=x, method=method)
    assert identical(fixed, given)
    gaussian = sample(arch, shape, networks=40, seed=SEED, method=method)
    assert not np.array_equal(gaussian.rows["f0"], fixed.rows["f0"])


def test_loss_gradient_matches_eq9_from_logit_gradients() -> None:
    """∂ₓL = Σ_k (q_k − δ_kc) ∂ₓf_k: the loss row equals the one rebuilt from all logit gradients."""
    arch, shape = "dense(16) relu dense(16) relu dense(3)", "6"
    res = sample(
        arch,
        shape,
        networks=64,
        seed=SEED,
        targets=("loss", "logits"),
        method="explicit",
        loss_class="random",
        precision="fp64",
        maps=True,
    )
    f = np.stack([res.rows[f"f{k}"] for k in range(3)], axis=1)
    q = np.exp(f - f.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    c = res.rows["class"].astype(int)
    np.testing.assert_allclose(res.rows["q_c"], q[np.arange(64), c], rtol=1e-12)
    np.testing.assert_allclose(
        res.rows["eq9_factor"], (1 - q[np.arange(64), c]) ** 2 + (q**2).sum(1) - q[np.arange(64), c] ** 2, rtol=1e-12
    )


def test_precision_is_recorded_and_fp64_agrees_with_fp32() -> None:
    arch, shape, method = ARCHS["conv-strided"]
    r32 = sample(arch, shape, networks=32, seed=SEED, method=method)
    r64 = sample(arch, shape, networks=32, seed=SEED, method=method, precision="fp64")
    assert r32.provenance["precision"] == "fp32" and r64.provenance["precision"] == "fp64"
    # fp32 round-off bound: ε₃₂ ≈ 1.2e-7 per operation, accumulated over ~400 terms per output in 3 layers
    # (≈ 1.4e-4 in the worst case); typical errors are ~1e-6
    np.testing.assert_allclose(r32.rows["logit.sq_norm"], r64.rows["logit.sq_norm"], rtol=1.5e-4)
    assert not np.array_equal(r32.rows["logit.sq_norm"], r64.rows["logit.sq_norm"])


def test_provenance_fields() -> None:
    prov = sample("dense(4) relu dense(2)", "3", networks=8, seed=SEED).provenance
    for key in (
        "theorycheck",
        "git_revision",
        "torch",
        "numpy",
        "device",
        "device_name",
        "precision",
        "seed",
        "method",
        "chunk",
        "architecture",
        "date",
    ):
        assert key in prov


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"device": "cuda"}, "CUDA is not available"),
        ({"device": "tpu"}, "unknown device"),
        ({"method": "magic"}, "unknown method"),
        ({"method": "conditional", "arch": "conv(2,3) flatten dense(2)", "shape": "1x4x4"}, "does not apply"),
        ({"method": "conditional", "arch": "dense(4,init=uniform) dense(2)"}, "needs normal"),
        ({"precision": "fp16"}, "unknown precision"),
        ({"networks": 0}, "networks must be a positive integer"),
        ({"targets": ("gradient",)}, "unknown target"),
        ({"output": 5}, "out of range"),
        ({"loss_class": 9, "targets": ("loss",)}, "loss class 9 is out of range"),
        ({"inputs": "cauchy"}, "unknown inputs"),
        ({"inputs": torch.zeros(5, 2)}, "fits neither"),
        ({"chunk": 48}, "multiple or a divisor of 32"),
        ({"q": 0.5}, "q must be"),
    ],
)
def test_bad_arguments_get_one_clear_error(kwargs: dict, fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the no-CUDA path, on any machine
    arch = kwargs.pop("arch", "dense(4) relu dense(2)")
    shape = kwargs.pop("shape", "3")
    args = {"networks": 8, "seed": SEED, **kwargs}
    with pytest.raises(TheorycheckError, match=fragment):
        sample(arch, shape, **args)


PATH_ARCHS = [
    ("dense(3) relu dense(4) relu dense(2)", "3"),
    ("conv(2,3) relu conv(2,3,stride=2) relu flatten dense(2)", "1x5x5"),
    (
        "conv(2,3,padding=reflect) relu avgpool(2) conv(2,2,dilation=2,padding=circular) relu globalavgpool dense(2)",
        "1x6x6",
    ),
    (
        "conv(2,2,padding=circular) relu residual{conv(2,3,padding=reflect) relu} concat{conv(1,1) | identity} relu "
        "flatten dense(2)",
        "1x3x3",
    ),
    ("conv(2,3) relu maxpool(2) tanh flatten dense(3) sigmoid dense(2)", "1x4x4"),
    ("conv(2,3) softplus globalmaxpool dense(2)", "2x3x3"),
]


@pytest.mark.parametrize(("arch", "shape"), PATH_ARCHS)
def test_path_sum_equals_autograd_in_float64(arch: str, shape: str) -> None:
    nonzero = 0
    for network in range(6):
        r = path_sum(arch, shape, seed=SEED, network=network)
        assert r.holds, f"network {network}: error {r.max_abs_error}, tolerance {r.tolerance().max()}"
        nonzero += bool(np.abs(r.autograd).max() > 0)
    assert nonzero >= 3  # the identity was checked on gradients that are not all zero


def test_path_sum_check_catches_a_missing_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: ignoring the ReLU activities σ_p must break the identity."""
    monkeypatch.setattr(sampler_paths, "_gate", lambda e, values, graph: 1.0)
    broken = [path_sum("dense(3) relu dense(4) relu dense(2)", "3", seed=SEED, network=n) for n in range(6)]
    assert not all(r.holds for r in broken)


def test_path_products_second_moment_matches_the_weight_variances() -> None:
    pp = path_products("conv(2,2) relu avgpool(2) flatten dense(2)", "1x4x4", networks=2000, seed=SEED)
    assert pp.omega.shape[0] == 2000
    ratio = (pp.omega**2).mean(axis=0) / pp.expected_sq
    # each ω_p is a product of 2 independent Gaussians scaled by 1/4: E[ω²] ratio has sd ≈ sqrt(8/2000)
    assert np.abs(ratio - 1).max() < 6 * np.sqrt(8 / 2000)


#: another CPU of this kind: the same tests with oneDNN's and ATen's kernels limited to AVX2 (this machine has
#: AVX-512). Before the fixed compute windows, chunk 64 and chunk 32 differed at round-off there (2026-12-04),
#: as they did on a second 2-core EPYC machine without AVX-512.
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def test_rows_are_bitwise_invariant_on_an_avx2_machine() -> None:
    """The chunk- and start-invariance tests of this module, rerun in a process whose kernels are AVX2's, with the
    thread count varied as on Dask workers."""
    import os
    import subprocess
    import sys

    script = f"""
import numpy as np, torch
from theorycheck.sampler import sample
ARCHS = {ARCHS!r}
for arch, shape, method in ARCHS.values():
    kw = dict(networks=97, seed={SEED}, method=method, targets={TARGETS!r}, loss_class="random")
    base = sample(arch, shape, chunk=64, **kw)
    for chunk, threads in ((1, 2), (4, 2), (32, 1), (96, 2)):
        torch.set_num_threads(threads)
        other = sample(arch, shape, chunk=chunk, **kw)
        assert all(np.array_equal(base.rows[k], other.rows[k]) for k in base.rows), (arch, chunk, threads)
    part = sample(arch, shape, networks=30, start=33, seed={SEED}, method=method, targets={TARGETS!r},
                  loss_class="random")
    assert all(np.array_equal(base.rows[k][33:63], part.rows[k]) for k in part.rows), (arch, "start")
print("ok")
"""
    env = {**os.environ, **AVX2}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
