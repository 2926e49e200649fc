"""Batched-weight convolution as one Triton implicit-GEMM kernel (opt-in: ``conv_kernel="triton"``).

B networks, each with its own weights ``w_b (K, C, R, R)`` and input ``x_b (C, H, W)``::

    y_b[n, p, q] = Σ_{c, r, s} w_b[n, c, r, s] · x_b[c, p − P + D·r, q − P + D·s]

(cross-correlation, stride 1, dilation D, P padded before and P' after, output size
H + P + P' − D(R−1); out-of-range indices wrap for circular padding and read zero
otherwise). One program instance computes a tile of
``block_m`` output positions × ``block_n`` output channels of one network as a GEMM whose
reduction axis runs over the R² taps × C input channels; padding is index arithmetic, so
no padded copy of the input is made.

The input gradient is the same kernel (adjoint of a stride-1 correlation)::

    ∂L/∂x_b[c, i, j] = Σ_{n, r, s} w_b[n, c, R−1−r, R−1−s] · ∂L/∂y_b[n, i − Q + D·r, j − Q + D·s],  Q = D(R−1) − P

i.e. flipped, channel-transposed weights, the same dilation and pads ``D(R−1) − P`` before and
``D(R−1) − P'`` after (circular stays circular).

Every network is computed by the same tiles in the same order, whatever the batch size, so
rows do not depend on the chunk size. The tile configuration is fixed (no autotuning: a
choice by timing could differ between runs and change the last bits).

Why: ``vmap`` of ``conv2d`` and the grouped convolution both reach ~30% of the fp32 matmul
peak on an H100 with 64 channels per group (benchmarks/RESULTS.md). This kernel is the
implicit-GEMM alternative; its speed on a GPU is measured by ``theorycheck bench
--conv-kernel triton`` (on the CPU it only runs in Triton's interpreter, for testing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from theorycheck.errors import TheorycheckError

__all__ = [
    "CONFIGS",
    "KernelConfig",
    "compiled_resources",
    "conv_eligible",
    "default_config",
    "ensure_triton",
    "triton_conv2d",
]


@dataclass(frozen=True)
class KernelConfig:
    """Tile (output positions × output channels × input channels per step) and launch parameters."""

    block_m: int = 128
    block_n: int = 64
    block_k: int = 32
    num_warps: int = 8
    num_stages: int = 3


#: per (``tf32``, compute capability ≥ 9.0). Chosen without a GPU, by compiling ahead of time
#: (``compiled_resources``): 128 positions × 64 channels × 32 input channels, 8 warps, 3 stages
#: compiles for sm_90 to 156 (fp32) / 158 (TF32) registers per thread without spills (with 4
#: warps fp32 spilled 104 bytes); for sm_80 fp32 it spilled 16 bytes, so there the input-channel
#: step is 16 (154 registers, no spills). Their speed is measured by benchmarks/conv_layouts.py.
CONFIGS = {
    (False, True): KernelConfig(),
    (True, True): KernelConfig(),
    (False, False): KernelConfig(block_k=16),
    (True, False): KernelConfig(),
}

_KERNEL: Any = None
#: CUDA limits the third grid axis (one network per program there) to 65535
MAX_GRID_Z = 65535


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "") == "1"


def ensure_triton(device: torch.device, precision: str) -> None:
    """Check that the Triton kernel can run here, or raise one clear error."""
    try:
        import triton  # noqa: F401
    except ImportError:
        raise TheorycheckError(
            "conv kernel 'triton' needs the triton package (installed with the CUDA build of torch); "
            "use --conv-kernel grouped"
        ) from None
    if device.type != "cuda" and not interpreting():
        raise TheorycheckError(
            "conv kernel 'triton' runs on a CUDA device (on the CPU only in Triton's interpreter, "
            "TRITON_INTERPRET=1, for testing); use --conv-kernel grouped or --device cuda"
        )
    if precision not in ("fp32", "tf32"):
        raise TheorycheckError(
            f"conv kernel 'triton' supports precision fp32 and tf32, not {precision}; use --conv-kernel grouped"
        )


def conv_eligible(stride: int, padding: str) -> bool:
    """Convolutions the kernel covers: stride 1, zero/valid/circular padding (any kernel size, dilation, pads).

    Others (strided, reflect-padded) run as grouped convolutions in the same program.
    """
    return stride == 1 and padding in ("zero", "valid", "circular")


def default_config(tf32: bool, device: torch.device) -> KernelConfig:
    """The tile configuration for ``device`` (the sm_90 one in Triton's CPU interpreter)."""
    major = torch.cuda.get_device_capability(device)[0] if device.type == "cuda" else 9
    return CONFIGS[tf32, major >= 9]


def _build_kernel() -> Any:
    import triton
    import triton.language as tl

    @triton.jit
    def conv_kernel(  # type: ignore[no-untyped-def]
        x_ptr,
        w_ptr,
        y_ptr,
        C,
        H,
        W,
        K,
        HO,
        WO,
        PAD,
        DIL,
        R: tl.constexpr,
        CIRCULAR: tl.constexpr,
        TF32: tl.constexpr,
        BM: tl.constexpr,
        BN: tl.constexpr,
        BK: tl.constexpr,
    ):
        # x: (B, C, H, W); w: (B, R·R, C, K) (tap-major, output channels contiguous); y: (B, K, HO, WO)
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        b = tl.program_id(2).to(tl.int64)
        offs_m = pid_m * BM + tl.arange(0, BM)
        offs_n = pid_n * BN + tl.arange(0, BN)
        m_ok = offs_m < HO * WO
        n_ok = offs_n < K
        oh = offs_m // WO
        ow = offs_m % WO
        x_b = x_ptr + b * C * H * W
        w_b = w_ptr + b * R * R * C * K
        n_cblocks = tl.cdiv(C, BK)
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        for step in range(0, R * R * n_cblocks):
            tap = step // n_cblocks
            c0 = (step % n_cblocks) * BK
            ih = oh - PAD + (tap // R) * DIL
            iw = ow - PAD + (tap % R) * DIL
            if CIRCULAR:
                ih = tl.where(ih < 0, ih + H, ih)
                ih = tl.where(ih >= H, ih - H, ih)
                iw = tl.where(iw < 0, iw + W, iw)
                iw = tl.where(iw >= W, iw - W, iw)
                ok = m_ok
            else:
                ok = m_ok & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
            offs_k = c0 + tl.arange(0, BK)
            k_ok = offs_k < C
            xt = tl.load(
                x_b + offs_k[None, :] * (H * W) + (ih * W + iw)[:, None],
                mask=ok[:, None] & k_ok[None, :],
                other=0.0,
            )
            wt = tl.load(
                w_b + (tap * C + offs_k[:, None]) * K + offs_n[None, :],
                mask=k_ok[:, None] & n_ok[None, :],
                other=0.0,
            )
            if TF32:
                acc += tl.dot(xt, wt, input_precision="tf32")
            else:
                acc += tl.dot(xt, wt, input_precision="ieee")
        y_b = y_ptr + b * K * HO * WO
        tl.store(y_b + offs_n[None, :] * (HO * WO) + offs_m[:, None], acc, mask=m_ok[:, None] & n_ok[None, :])

    return conv_kernel


def _kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _build_kernel()
    return _KERNEL


def _launch(
    x: torch.Tensor,
    w_taps: torch.Tensor,
    pad: tuple[int, int],
    dilation: int,
    circular: bool,
    tf32: bool,
    config: KernelConfig | None = None,
) -> torch.Tensor:
    """``y (B, K, HO, WO)`` from ``x (B, C, H, W)`` and tap-major weights ``(B, R·R, C, K)``; ``pad`` is
    (before, after) on both spatial axes."""
    cfg = config or default_config(tf32, x.device)
    b, _, h, w = x.shape
    r = round(w_taps.shape[1] ** 0.5)
    k = w_taps.shape[3]
    reach = dilation * (r - 1)
    ho, wo = h + sum(pad) - reach, w + sum(pad) - reach
    if circular and max(pad) > min(h, w):
        raise TheorycheckError(f"circular pads {pad} exceed the {h}×{w} input")
    y = torch.empty((b, k, ho, wo), device=x.device, dtype=x.dtype)
    x, w_taps = x.contiguous(), w_taps.contiguous()
    for lo in range(0, b, MAX_GRID_Z):  # networks are independent: slicing the batch changes no bit
        hi = min(b, lo + MAX_GRID_Z)
        _launch_slice(x[lo:hi], w_taps[lo:hi], y[lo:hi], r, pad[0], dilation, circular, tf32, cfg)
    return y


def _launch_slice(
    x: torch.Tensor,
    w_taps: torch.Tensor,
    y: torch.Tensor,
    r: int,
    pad: int,
    dilation: int,
    circular: bool,
    tf32: bool,
    cfg: KernelConfig,
) -> None:
    import triton

    b, c, h, w = x.shape
    k, ho, wo = y.shape[1:]
    grid = (triton.cdiv(ho * wo, cfg.block_m), triton.cdiv(k, cfg.block_n), b)
    _kernel()[grid](
        x,
        w_taps,
        y,
        c,
        h,
        w,
        k,
        ho,
        wo,
        pad,
        dilation,
        R=r,
        CIRCULAR=circular,
        TF32=tf32,
        BM=cfg.block_m,
        BN=cfg.block_n,
        BK=cfg.block_k,
        num_warps=cfg.num_warps,
        num_stages=cfg.num_stages,
        enable_fp_fusion=True,
    )


def compiled_resources(
    tf32: bool, config: KernelConfig | None = None, kernel: int = 3, capability: int = 90
) -> dict[str, int]:
    """Compile the kernel ahead of time for an NVIDIA GPU (no GPU needed) and read its resources.

    Returns ``registers`` (per thread), ``spill_bytes`` (per-thread stack: register spills) and
    ``shared_bytes``. Needs triton's bundled compiler and ``cuobjdump``; not in interpreter mode.
    """
    import re
    import subprocess
    import tempfile

    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    if interpreting():
        raise TheorycheckError("compiled_resources needs TRITON_INTERPRET unset")
    cfg = config or CONFIGS[tf32, capability >= 90]
    signature = {name: "*fp32" for name in ("x_ptr", "w_ptr", "y_ptr")}
    signature.update({name: "i32" for name in ("C", "H", "W", "K", "HO", "WO", "PAD", "DIL")})
    constants: dict[str, Any] = {"R": kernel, "CIRCULAR": True, "TF32": tf32}
    constants.update({"BM": cfg.block_m, "BN": cfg.block_n, "BK": cfg.block_k})
    signature.update({name: "constexpr" for name in constants})
    compiled = triton.compile(
        ASTSource(fn=_kernel(), signature=signature, constexprs=constants),
        target=GPUTarget("cuda", capability, 32),
        options={"num_warps": cfg.num_warps, "num_stages": cfg.num_stages, "enable_fp_fusion": True},
    )
    tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "conv.cubin")
        with open(path, "wb") as fh:
            fh.write(compiled.asm["cubin"])
        usage = subprocess.run([tool, "-res-usage", path], capture_output=True, text=True, check=True).stdout
    found = re.search(r"REG:(\d+) STACK:(\d+)", usage)
    if found is None:
        raise TheorycheckError(f"cuobjdump printed no resource usage: {usage[-200:]!r}")
    return {
        "registers": int(found.group(1)),
        "spill_bytes": int(found.group(2)),
        "shared_bytes": int(compiled.metadata.shared),
    }


def _taps(w: torch.Tensor) -> torch.Tensor:
    """``(B, K, C, R, R)`` → tap-major ``(B, R·R, C, K)``."""
    b, k, c, r, _ = w.shape
    return w.permute(0, 3, 4, 2, 1).reshape(b, r * r, c, k).contiguous()


def _adjoint_taps(w: torch.Tensor) -> torch.Tensor:
    """Tap-major weights of the adjoint: flipped taps, input and output channels swapped."""
    return _taps(w.flip(-1, -2).transpose(1, 2))


class _TritonConv(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        w: torch.Tensor,
        pad: tuple[int, int],
        dilation: int,
        circular: bool,
        tf32: bool,
        config: KernelConfig | None,
    ) -> torch.Tensor:
        ctx.save_for_backward(w)
        ctx.conf = (pad, dilation, circular, tf32, config)
        return _launch(x, _taps(w), pad, dilation, circular, tf32, config)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (w,) = ctx.saved_tensors
        pad, dilation, circular, tf32, config = ctx.conf
        reach = dilation * (w.shape[-1] - 1)
        adjoint_pad = (reach - pad[0], reach - pad[1])
        gx = _launch(grad.contiguous(), _adjoint_taps(w), adjoint_pad, dilation, circular, tf32, config)
        return gx, None, None, None, None, None, None


def triton_conv2d(
    x: torch.Tensor,
    w: torch.Tensor,
    pad: int | tuple[int, int],
    *,
    circular: bool,
    tf32: bool,
    dilation: int = 1,
    config: KernelConfig | None = None,
) -> torch.Tensor:
    """Stride-1 convolution of B networks: ``x (B, C, H, W)``, ``w (B, K, C, R, R)`` → ``(B, K, HO, WO)``.

    ``pad``: on each side, or (before, after) on both spatial axes.
    Differentiable in ``x`` (the input gradient is the same kernel on the adjoint weights);
    ``w`` gets no gradient (the sampler only needs input gradients). ``config`` overrides the
    tile configuration (default: :func:`default_config`).
    """
    pads = (pad, pad) if isinstance(pad, int) else pad
    out: torch.Tensor = _TritonConv.apply(x, w, pads, dilation, circular, tf32, config)
    return out
