"""How to run B independent convolutions at once: the layout and algorithm choices, measured.

One layer of the paper CNN (64 → 64 channels, 3×3, circular padding) for B networks
with their own weights: forward plus the input gradient, as the sampler computes it.
Variants: grouped convolution (what ``vmap`` of ``conv2d`` becomes) in NCHW and NHWC,
with cuDNN autotuning (``cudnn.benchmark``) off/on and deterministic algorithms,
im2col + ``bmm``, and theorycheck's Triton implicit-GEMM kernel in several tile
configurations (fp32 and TF32; the sampler's default configuration is
``theorycheck.sampler._triton_conv.CONFIGS``, per precision and GPU generation). Prints one JSON object per variant
(time per network, TFLOP/s).

    python benchmarks/conv_layouts.py [--device cuda] [--px 256] [--networks 8 32]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from theorycheck.sampler._triton_conv import KernelConfig, triton_conv2d

#: Triton tile configurations tried: (block_m, block_n, block_k, num_warps, num_stages)
TRITON_CONFIGS = [
    (128, 64, 32, 8, 3),
    (128, 64, 32, 4, 3),
    (64, 64, 32, 4, 3),
    (128, 64, 16, 8, 3),
    (256, 64, 16, 8, 3),
    (128, 64, 32, 8, 4),
    (256, 64, 32, 8, 3),
]


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _seconds(fn: Callable[[], object], dev: torch.device, min_s: float = 0.5) -> float:
    fn()
    fn()
    _sync(dev)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        fn()
        n += 1
        _sync(dev)
    return (time.perf_counter() - t0) / n


def grouped(x: torch.Tensor, w: torch.Tensor, nhwc: bool) -> torch.Tensor:
    b, c, h, wd = x.shape
    fmt = torch.channels_last if nhwc else torch.contiguous_format
    xp = F.pad(x, (1, 1, 1, 1), mode="circular")
    y = F.conv2d(
        xp.reshape(1, b * c, h + 2, wd + 2).contiguous(memory_format=fmt),
        w.reshape(b * w.shape[1], c, 3, 3).contiguous(memory_format=fmt),
        groups=b,
    )
    return y.reshape(b, w.shape[1], h, wd)


def im2col_bmm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    b, c, h, wd = x.shape
    cols = F.unfold(F.pad(x, (1, 1, 1, 1), mode="circular"), 3)  # (B, C·9, H·W)
    return torch.bmm(w.reshape(b, w.shape[1], c * 9), cols).reshape(b, w.shape[1], h, wd)


def triton_variant(config: tuple[int, int, int, int, int], tf32: bool) -> Callable[..., torch.Tensor]:
    cfg = KernelConfig(*config)
    return lambda x, w: triton_conv2d(x, w, 1, circular=True, tf32=tf32, config=cfg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--px", type=int, nargs="+", default=[256, 32])
    ap.add_argument("--networks", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--channels", type=int, default=64)
    args = ap.parse_args()
    dev = torch.device(args.device)
    c = args.channels
    for px in args.px:
        for b in args.networks:
            flops = 2 * 2 * c * c * 9 * px * px  # forward + input gradient, per network
            for name, fn, tf32, bench, det in [
                ("grouped nchw", lambda x, w: grouped(x, w, False), False, False, False),
                ("grouped nhwc", lambda x, w: grouped(x, w, True), False, False, False),
                ("grouped nchw benchmark", lambda x, w: grouped(x, w, False), False, True, False),
                ("grouped nhwc benchmark", lambda x, w: grouped(x, w, True), False, True, False),
                ("grouped nchw deterministic", lambda x, w: grouped(x, w, False), False, False, True),
                ("grouped nhwc deterministic", lambda x, w: grouped(x, w, True), False, False, True),
                ("im2col bmm", im2col_bmm, False, False, False),
                ("grouped nhwc tf32", lambda x, w: grouped(x, w, True), True, False, False),
                ("grouped nhwc tf32 benchmark", lambda x, w: grouped(x, w, True), True, True, False),
                ("im2col bmm tf32", im2col_bmm, True, False, False),
                *[
                    (f"triton {'tf32' if tf32 else 'fp32'} {cfg}", triton_variant(cfg, tf32), tf32, False, False)
                    for tf32 in (False, True)
                    for cfg in TRITON_CONFIGS
                ],
            ]:
                torch.backends.cudnn.benchmark = bench
                torch.backends.cudnn.deterministic = det
                torch.backends.cudnn.allow_tf32 = tf32
                torch.backends.cuda.matmul.allow_tf32 = tf32
                x = torch.randn(b, c, px, px, device=dev, requires_grad=True)
                w = torch.randn(b, c, c, 3, 3, device=dev) / 24

                def step(
                    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = fn,
                    x: torch.Tensor = x,
                    w: torch.Tensor = w,
                ) -> None:
                    y = fn(x, w)
                    torch.autograd.grad(y, x, torch.ones_like(y))

                try:
                    s = _seconds(step, dev)
                    rec = {"px": px, "networks": b, "variant": name, "ms_per_net": 1e3 * s / b}
                    rec["tflops"] = flops * b / s / 1e12
                except RuntimeError as exc:  # e.g. out of memory for im2col
                    rec = {"px": px, "networks": b, "variant": name, "error": str(exc).splitlines()[0][:120]}
                    if dev.type == "cuda":
                        torch.cuda.empty_cache()
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
