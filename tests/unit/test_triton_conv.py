"""The Triton batched-weight convolution (``conv_kernel="triton"``) against float64 references.

Without a CUDA device the kernel runs in Triton's CPU interpreter (``TRITON_INTERPRET=1``, set
in tests/conftest.py before triton is first imported): same program, same tiles and masks, numpy arithmetic.
With a CUDA device the same tests run the compiled kernel.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from theorycheck.errors import TheorycheckError
from theorycheck.sampler import sample
from theorycheck.sampler._triton_conv import default_config, triton_conv2d

pytest.importorskip("triton")
CUDA = torch.cuda.is_available()
assert CUDA or os.environ.get("TRITON_INTERPRET") == "1", "tests/conftest.py sets TRITON_INTERPRET=1 without CUDA"
DEVICE = torch.device("cuda" if CUDA else "cpu")
#: the fp32 tile the kernel uses on DEVICE
TILE = default_config(False, DEVICE)
UNIT_ROUNDOFF = 2.0**-24


def _reference(x: torch.Tensor, w: torch.Tensor, pad: tuple[int, int], dil: int, circular: bool) -> torch.Tensor:
    """Grouped float64 convolution on an explicitly padded input."""
    b, c = x.shape[:2]
    k, r = w.shape[1], w.shape[-1]
    xp = F.pad(x, (pad[0], pad[1], pad[0], pad[1]), mode="circular" if circular else "constant")
    y = F.conv2d(xp.reshape(1, b * c, *xp.shape[-2:]), w.reshape(b * k, c, r, r), dilation=dil, groups=b)
    return y.reshape(b, k, *y.shape[-2:])


# (C, K, H, W, R, (pad before, after), dilation, circular): tails in every tile axis (C vs block_k,
# K vs block_n, H·W vs block_m), 1×1, 2×2, 3×3 and 5×5 kernels, valid, "same", asymmetric and
# over-padded zero convolutions, dilation, circular wrap
CASES = [
    (5, 7, 6, 9, 3, (1, 1), 1, True),
    (5, 7, 6, 9, 3, (1, 1), 1, False),
    (3, TILE.block_n + 6, 12, 13, 3, (0, 0), 1, False),
    (TILE.block_k + 3, 4, 7, 5, 3, (2, 2), 1, False),
    (4, 6, 9, 7, 5, (2, 2), 1, True),
    (6, 5, 8, 8, 1, (0, 0), 1, False),
    (4, 5, 9, 8, 3, (2, 2), 2, True),
    (3, 4, 10, 11, 3, (0, 0), 3, False),
    (5, 3, 7, 6, 2, (0, 1), 1, False),
    (5, 3, 7, 6, 2, (0, 1), 1, True),
]


@pytest.mark.parametrize(("c", "k", "h", "w", "r", "pad", "dil", "circular"), CASES)
def test_forward_and_input_gradient_match_float64(
    c: int, k: int, h: int, w: int, r: int, pad: tuple[int, int], dil: int, circular: bool
) -> None:
    assert TILE.block_m < 12 * 13  # the third case spans two position tiles
    gen = torch.Generator().manual_seed(c * 100 + k)
    b = 3
    x = torch.randn(b, c, h, w, generator=gen, dtype=torch.float64)
    wt = torch.randn(b, k, c, r, r, generator=gen, dtype=torch.float64) / math.sqrt(c * r * r)
    x32 = x.float().to(DEVICE).requires_grad_(True)
    y = triton_conv2d(x32, wt.float().to(DEVICE), pad, circular=circular, tf32=False, dilation=dil)
    x64 = x.clone().requires_grad_(True)
    ref = _reference(x64, wt, pad, dil, circular)
    assert y.shape == ref.shape
    upstream = torch.randn(ref.shape, generator=gen, dtype=torch.float64)
    (g,) = torch.autograd.grad((y * upstream.float().to(DEVICE)).sum(), x32)
    (g_ref,) = torch.autograd.grad((ref * upstream).sum(), x64)
    # fp32 sums of n = C·R² (forward) or K·R² (gradient) products: round-off of order √n·u (10× margin)
    fwd_err = float((y.detach().double().cpu() - ref.detach()).norm() / ref.detach().norm())
    grad_err = float((g.double().cpu() - g_ref).norm() / g_ref.norm())
    assert fwd_err <= 10 * math.sqrt(c * r * r) * UNIT_ROUNDOFF, fwd_err
    assert grad_err <= 10 * math.sqrt(k * r * r) * UNIT_ROUNDOFF, grad_err


MIXED = (
    "[conv(8,3,padding=circular) relu]*2 conv(8,3,stride=2) relu conv(6,3,padding=zero,dilation=2) relu "
    "residual{conv(6,3,padding=reflect) relu} conv(6,2) relu globalavgpool dense(5)"
)


def test_sampler_rows_match_the_grouped_convolution() -> None:
    """Eligible convolutions (dilated and even-sized included) run in Triton, the strided and
    reflect-padded ones stay grouped."""
    kw = {"networks": 4, "seed": 5, "targets": ("logits", "loss"), "device": DEVICE}  # the interpreter is slow
    ref = sample(MIXED, "3x8x8", precision="fp64", **kw)  # type: ignore[arg-type]
    ours = sample(MIXED, "3x8x8", precision="fp32", conv_kernel="triton", **kw)  # type: ignore[arg-type]
    grouped = sample(MIXED, "3x8x8", precision="fp32", **kw)  # type: ignore[arg-type]
    assert ours.provenance["conv_kernel"] == "triton"
    for key in ("logit0.sq_norm", "logit4.l1", "loss.linf", "f3"):
        scale = float(abs(ref.rows[key]).max())
        err = float(abs(ours.rows[key] - ref.rows[key]).max()) / scale
        err_grouped = float(abs(grouped.rows[key] - ref.rows[key]).max()) / scale
        # both are fp32 computations of the same network: the same order of round-off
        assert err <= max(10 * err_grouped, 1e-6), (key, err, err_grouped)


def test_rows_are_bitwise_invariant_to_chunk_and_start() -> None:
    arch = "[conv(6,3,padding=circular) relu]*2 globalavgpool dense(3)"
    kw = {"seed": 9, "device": DEVICE, "conv_kernel": "triton"}
    whole = sample(arch, "2x6x6", networks=8, chunk=8, **kw)  # type: ignore[arg-type]
    split = sample(arch, "2x6x6", networks=5, chunk=2, start=3, **kw)  # type: ignore[arg-type]
    for key in ("logit.sq_norm", "logit.linf", "f0"):
        assert (whole.rows[key][3:] == split.rows[key]).all(), key


def test_clear_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TheorycheckError, match="supports precision fp32 and tf32"):
        sample("conv(4,3) relu flatten dense(2)", "1x4x4", networks=4, seed=0, precision="fp64", conv_kernel="triton")
    with pytest.raises(TheorycheckError, match="unknown conv kernel 'cudnn'; use grouped or triton"):
        sample("conv(4,3) relu flatten dense(2)", "1x4x4", networks=4, seed=0, conv_kernel="cudnn")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(TheorycheckError, match="runs on a CUDA device"):
        sample("conv(4,3) relu flatten dense(2)", "1x4x4", networks=4, seed=0, device="cpu", conv_kernel="triton")
    if not CUDA:
        from theorycheck.cli import main

        for argv in (["bench"], ["estimate", "conv(4,3) relu flatten dense(2)", "--input", "1x4x4"]):
            assert main([*argv, "--device", "cpu", "--conv-kernel", "triton"]) == 2
            assert "conv kernel 'triton' runs on a CUDA device" in capsys.readouterr().err


#: the most shared memory one block may use: A100 (sm_80) 163 KB, H100 (sm_90) 227 KB
MAX_SHARED = {80: 163 * 1024, 90: 227 * 1024}


@pytest.mark.parametrize("capability", sorted(MAX_SHARED))
def test_default_configs_compile_for_a100_and_h100_without_spills(capability: int) -> None:
    """Ahead-of-time compilation for sm_80/sm_90 (no GPU needed): the kernel builds for the real target
    (the interpreter accepts programs the compiler rejects) and its registers do not spill.

    Runs in a subprocess: this process has the interpreter switched on.
    """
    code = (
        "import json; from theorycheck.sampler._triton_conv import compiled_resources; "
        f"print(json.dumps([compiled_resources(tf32, capability={capability}) for tf32 in (False, True)]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for tf32, res in zip((False, True), json.loads(done.stdout.splitlines()[-1]), strict=True):
        print(f"sm_{capability}", "tf32" if tf32 else "fp32", res)
        assert res["spill_bytes"] == 0, res
        assert res["registers"] <= 255
        assert res["shared_bytes"] <= MAX_SHARED[capability]


def test_batches_beyond_the_grid_limit_are_sliced_without_changing_a_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    from theorycheck.sampler import _triton_conv

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, 3, 6, 6, generator=gen).to(DEVICE).requires_grad_(True)
    w = torch.randn(5, 4, 3, 3, 3, generator=gen).to(DEVICE)
    whole = triton_conv2d(x, w, 1, circular=True, tf32=False)
    (g_whole,) = torch.autograd.grad(whole.sum(), x)
    monkeypatch.setattr(_triton_conv, "MAX_GRID_Z", 2)  # 5 networks in slices of 2, 2, 1
    sliced = triton_conv2d(x, w, 1, circular=True, tf32=False)
    (g_sliced,) = torch.autograd.grad(sliced.sum(), x)
    assert torch.equal(whole, sliced) and torch.equal(g_whole, g_sliced)
