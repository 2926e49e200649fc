"""Where the Triton convolution's fp32 round-off comes from (GPU only).

One stride-1 circular 3×3 convolution of B networks, 64 → 64 channels at 32 px, forward and input gradient, in fp32
by the Triton kernel and by cuDNN (TF32 off and on), each against the float64 cuDNN result; then the paper CNN's
rows (8 such layers) by both kernels against fp64. Run: ``python benchmarks/triton_precision.py``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from theorycheck.sampler import precision_mode, sample
from theorycheck.sampler._triton_conv import triton_conv2d


def grouped(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    b, c, h, wd = x.shape
    xp = F.pad(x.reshape(1, b * c, h, wd), (1, 1, 1, 1), mode="circular")
    return F.conv2d(xp, w.reshape(-1, c, 3, 3), groups=b).reshape(b, -1, h, wd)


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).abs().max() / b.abs().max())


def main() -> None:
    import triton

    print("triton", triton.__version__, "torch", torch.__version__, torch.cuda.get_device_name())
    gen = torch.Generator(device="cuda").manual_seed(0)
    b, c = 8, 64
    x = torch.randn((b, c, 32, 32), device="cuda", generator=gen, dtype=torch.float64)
    w = torch.randn((b, c, c, 3, 3), device="cuda", generator=gen, dtype=torch.float64) * (2 / (9 * c)) ** 0.5
    g = torch.randn((b, c, 32, 32), device="cuda", generator=gen, dtype=torch.float64)
    with precision_mode("fp64"):
        xr = x.clone().requires_grad_(True)
        ref = grouped(xr, w)
        (ref_gx,) = torch.autograd.grad(ref, xr, g)
    for name, fn, mode in [
        ("triton fp32 (ieee)", lambda a, k: triton_conv2d(a, k, 1, circular=True, tf32=False), "fp32"),
        ("triton tf32", lambda a, k: triton_conv2d(a, k, 1, circular=True, tf32=True), "tf32"),
        ("cuDNN fp32", grouped, "fp32"),
        ("cuDNN tf32", grouped, "tf32"),
    ]:
        with precision_mode(mode):
            xs = x.float().requires_grad_(True)
            y = fn(xs, w.float())
            (gx,) = torch.autograd.grad(y, xs, g.float())
        print(f"{name:20s} forward {rel(y, ref):.2e}  input gradient {rel(gx, ref_gx):.2e}")
    arch = "[conv(64,3,padding=circular) relu]*8 globalavgpool dense(12)"
    kw = dict(seed=20261123, device="cuda", targets=("logit", "loss"))
    exact = sample(arch, "3x32x32", networks=64, precision="fp64", **kw)  # type: ignore[arg-type]
    for kernel in ("grouped", "triton"):
        ours = sample(arch, "3x32x32", networks=64, precision="fp32", conv_kernel=kernel, **kw)  # type: ignore[arg-type]
        errs = {
            key: float(np.max(np.abs(ours.rows[key] - exact.rows[key])) / np.max(np.abs(exact.rows[key])))
            for key in ("logit.sq_norm", "loss.l1", "f0")
        }
        print(f"paper CNN fp32 {kernel}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))


if __name__ == "__main__":
    main()
