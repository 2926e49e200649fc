"""The sampler on a CUDA device: the same checks as on the CPU, and agreement with the CPU.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``python -m pytest tests/gpu -s``. The printed numbers go into the closing notes and
benchmarks/RESULTS.md.

CUDA and CPU generators give different random streams, so the two devices draw
independent networks from the same distribution: their estimates are compared as
two independent samples (Welch z on the difference of means), not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as sps

from theorycheck._estimate import estimate
from theorycheck.sampler import sample

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SEED = 20261123
N_NETWORKS = 8000
#: significance level of each device-vs-device and device-vs-theory comparison
ALPHA = 1e-3
MAX_REL_HALF_WIDTH = 0.03

FC = "dense(128) relu dense(128) relu dense(10)"
CONV = "conv(16,3,padding=circular) relu conv(16,3,stride=2,padding=circular) relu flatten dense(10)"
CNN = "[conv(16,3,padding=circular) relu]*3 globalavgpool dense(10)"
CASES = [
    (FC, "256", "conditional"),
    (FC, "256", "explicit"),
    (CONV, "3x16x16", "explicit"),
    (CNN, "3x32x32", "explicit"),
]
#: where (H) is exact in expectation (dense stacks, strided circular convs); the stride-1 CNN with
#: global pooling is not: its paths share weights (Lemma 9/10 fail), measured +27% on CPU and CUDA alike
H_EXACT = {FC, CONV}


@pytest.mark.parametrize(("arch", "shape", "method"), CASES)
def test_cuda_estimates_match_the_theory_and_the_cpu(arch: str, shape: str, method: str) -> None:
    z_crit = sps.norm.ppf(1 - ALPHA / 2)
    gpu = estimate(arch, shape, networks=N_NETWORKS, seed=SEED, method=method, device="cuda")
    cpu = estimate(arch, shape, networks=N_NETWORKS, seed=SEED, method=method, device="cpu")
    assert gpu.sample.provenance["device"].startswith("cuda")
    for key in ("coord_var", "grad_sq_norm", "grad_l1", "grad_linf"):
        g, c = gpu.statistics[key], cpu.statistics[key]
        z = (g.estimate.mean - c.estimate.mean) / np.hypot(g.estimate.se, c.estimate.se)
        print(
            f"{arch} {shape} {method} {key}: cuda {g.estimate.mean:.6g} ± {g.estimate.half_width:.3g}, "
            f"cpu {c.estimate.mean:.6g} ± {c.estimate.half_width:.3g}, predicted {g.predicted}, z = {z:+.2f}"
        )
        assert abs(z) < z_crit, f"{key}: CUDA and CPU estimates differ (z = {z:.2f})"
    if arch not in H_EXACT:
        return
    for key in ("coord_var", "grad_sq_norm"):
        s = gpu.statistics[key]
        assert s.predicted is not None
        lo, hi = s.estimate.ci
        assert lo <= s.predicted <= hi, f"{key}: prediction {s.predicted} outside the CUDA CI [{lo}, {hi}]"
        assert s.estimate.half_width <= MAX_REL_HALF_WIDTH * s.predicted


def test_cuda_negative_control_is_flagged() -> None:
    he = estimate(CONV, "3x16x16", networks=N_NETWORKS, seed=SEED, device="cuda")
    mutant = estimate(CONV.replace(",padding", ",gain=1,padding"), "3x16x16", networks=N_NETWORKS, seed=SEED)
    pred = he.statistics["coord_var"].predicted
    assert pred is not None
    lo, hi = mutant.statistics["coord_var"].estimate.ci
    assert not lo <= pred <= hi


@pytest.mark.parametrize(("arch", "shape", "method"), CASES)
@pytest.mark.parametrize("chunk", [None, 4, 32, 128])
def test_cuda_rows_are_bitwise_invariant_to_start_and_count(arch: str, shape: str, method: str, chunk: int) -> None:
    """For one chunk (the default included), any split of the networks gives the same bits."""
    kw = dict(seed=SEED, method=method, device="cuda", targets=("logit", "loss"), loss_class="random", chunk=chunk)
    full = sample(arch, shape, networks=300, **kw)  # type: ignore[arg-type]
    for start, count in ((123, 77), (7, 5), (290, 10), (0, 3)):
        part = sample(arch, shape, networks=count, start=start, **kw)  # type: ignore[arg-type]
        for key, col in part.rows.items():
            assert np.array_equal(col, full.rows[key][start : start + count]), f"{key}: networks {start}… differ"


@pytest.mark.parametrize(("arch", "shape", "method"), CASES)
def test_cuda_chunks_agree_to_round_off(arch: str, shape: str, method: str) -> None:
    """Different chunks run different cuBLAS/cuDNN kernels: the rows agree to fp32 round-off only.

    Bound: a wrong network or a misaligned RNG block changes a row by O(1) relative; fp32
    accumulation over at most a few thousand terms moves it by < 1e-4 relative.
    """
    kw = dict(seed=SEED, method=method, device="cuda", targets=("logit",))
    ref = sample(arch, shape, networks=200, chunk=64, **kw)  # type: ignore[arg-type]
    for chunk in (4, 16, 128):
        other = sample(arch, shape, networks=200, chunk=chunk, **kw)  # type: ignore[arg-type]
        col, oth = ref.column("logit", "sq_norm"), other.column("logit", "sq_norm")
        rel = float(np.max(np.abs(oth / col - 1)))
        print(f"{arch} chunk {chunk} vs 64: max relative difference {rel:.2e}")
        assert rel < 1e-4


def test_cuda_same_seed_same_numbers() -> None:
    a = sample(CNN, "3x32x32", networks=256, seed=SEED, device="cuda")
    b = sample(CNN, "3x32x32", networks=256, seed=SEED, device="cuda")
    for key, col in a.rows.items():
        assert np.array_equal(col, b.rows[key]), key


def test_cuda_precision_switches_take_effect() -> None:
    """Round-off against fp64 grows as the mantissa shrinks: fp32 (24 bits) < tf32 (11) < bf16 (8).

    TF32 rounds matmul inputs to 11 significant bits, i.e. 2**13 times fp32's unit round-off;
    requiring only a 100-fold gap catches a TF32 switch that has no effect.
    """
    rows = {
        p: sample(CNN, "3x32x32", networks=64, seed=SEED, device="cuda", precision=p).column("logit", "coord_var")
        for p in ("fp64", "fp32", "tf32", "bf16")
    }
    err = {p: float(np.max(np.abs(rows[p] / rows["fp64"] - 1))) for p in ("fp32", "tf32", "bf16")}
    print("max relative error against fp64:", err)
    assert err["fp32"] * 100 < err["tf32"] < err["bf16"]


def test_cuda_out_of_memory_backs_off_and_loses_nothing() -> None:
    """A real CUDA allocation failure: 2048 networks of a 196608-input dense net at once need ~1.6 TB."""
    arch, shape = "dense(1024) relu dense(10)", "196608"
    big = sample(arch, shape, networks=64, seed=SEED, device="cuda", method="explicit", chunk=2048)
    assert big.provenance["chunk_backoffs"], "expected at least one back-off"
    final = big.provenance["chunk_backoffs"][-1]
    small = sample(arch, shape, networks=64, seed=SEED, device="cuda", method="explicit", chunk=final)
    print("back-offs:", big.provenance["chunk_backoffs"])
    for key, col in small.rows.items():
        assert np.array_equal(col, big.rows[key]), key


PAPER_CNN = "[conv(64,3,padding=circular) relu]*8 globalavgpool dense(12)"


@pytest.mark.parametrize("precision", ["fp32", "tf32"])
def test_cuda_triton_kernel_matches_fp64_and_the_theory(precision: str) -> None:
    """The compiled Triton kernel (paper CNN, 32 px): rows against fp64, no worse than cuDNN at the same precision;
    and the estimate against the CPU.

    One layer of either kernel is within ~1e-6 of fp64 in fp32 (benchmarks/triton_precision.py, H200 2026-12-04),
    but the input-gradient rows of an 8-layer ReLU net are not: a pre-activation within round-off of 0 flips its
    gate, which moves the gradient by a finite amount (cuDNN fp32: 3.1e-4 of the scale). So the Triton rows are
    judged against cuDNN's error on the same networks (at most 3× it, plus 100 units of round-off); a wrong tap, pad
    or channel gives O(1).
    """
    pytest.importorskip("triton")
    kw = dict(seed=SEED, device="cuda", targets=("logit", "loss"))
    ref = sample(PAPER_CNN, "3x32x32", networks=64, precision="fp64", **kw)  # type: ignore[arg-type]
    ours = sample(PAPER_CNN, "3x32x32", networks=64, precision=precision, conv_kernel="triton", **kw)  # type: ignore[arg-type]
    cudnn = sample(PAPER_CNN, "3x32x32", networks=64, precision=precision, **kw)  # type: ignore[arg-type]
    unit = 2.0**-24 if precision == "fp32" else 2.0**-11
    for key in ("logit.sq_norm", "loss.l1", "f0"):
        scale = float(np.max(np.abs(ref.rows[key])))
        err = float(np.max(np.abs(ours.rows[key] - ref.rows[key]))) / scale
        peer = float(np.max(np.abs(cudnn.rows[key] - ref.rows[key]))) / scale
        print(f"{precision} {key}: max error / scale against fp64: triton {err:.2e}, cuDNN {peer:.2e}")
        assert err < 3 * peer + 100 * unit, key
    z_crit = sps.norm.ppf(1 - ALPHA / 2)
    gpu = estimate(
        CNN, "3x32x32", networks=N_NETWORKS, seed=SEED, device="cuda", precision=precision, conv_kernel="triton"
    )
    cpu = estimate(CNN, "3x32x32", networks=N_NETWORKS, seed=SEED, device="cpu")
    for key in ("coord_var", "grad_l1"):
        g, c = gpu.statistics[key], cpu.statistics[key]
        z = (g.estimate.mean - c.estimate.mean) / np.hypot(g.estimate.se, c.estimate.se)
        print(f"triton {precision} {key}: cuda {g.estimate.mean:.6g}, cpu {c.estimate.mean:.6g}, z = {z:+.2f}")
        assert abs(z) < z_crit


@pytest.mark.parametrize("chunk", [None, 4, 32])
def test_cuda_triton_rows_are_bitwise_invariant_to_start_and_count(chunk: int | None) -> None:
    pytest.importorskip("triton")
    kw = dict(seed=SEED, device="cuda", targets=("logit",), chunk=chunk, conv_kernel="triton")
    full = sample(CNN, "3x32x32", networks=100, **kw)  # type: ignore[arg-type]
    part = sample(CNN, "3x32x32", networks=30, start=41, **kw)  # type: ignore[arg-type]
    for key, col in part.rows.items():
        assert np.array_equal(col, full.rows[key][41:71]), key
