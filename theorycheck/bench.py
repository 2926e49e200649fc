"""``theorycheck bench``: the sampler against what a user would otherwise write.

Peers, on the same architecture, precision and number of networks, each timed
for weight sampling + forward + input gradient of one logit:

* ``loop``: a per-network ``nn.Module`` loop (build, initialise, forward, backward);
* ``vmap``: ``torch.func.vmap`` of ``functional_call`` over parameters stacked
  with ``stack_module_state`` (drawn directly in stacked form);
* ``bmm`` (dense only): every weight matrix drawn explicitly and the networks
  batched with ``torch.bmm``, in memory-sized chunks.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from theorycheck.graph import Architecture, Conv, Dense
from theorycheck.sampler import compile_program, resolve_device, sample
from theorycheck.sampler._precision import compute_dtype, precision_mode
from theorycheck.sampler._program import Program, all_ops
from theorycheck.sampler._triton_conv import ensure_triton

__all__ = ["CONFIGS", "BenchResult", "run_bench"]


@dataclass(frozen=True)
class BenchConfig:
    name: str
    arch: str
    input_shape: tuple[int, ...]
    networks: int
    peer_networks: int


def _dense(d: int, n: int, peer: int) -> BenchConfig:
    return BenchConfig(f"dense 4x1024, d={d}", "[dense(1024) relu]*4 dense(10)", (d,), n, peer)


def _cnn(px: int, n: int, peer: int) -> BenchConfig:
    return BenchConfig(
        f"paper CNN, {px}px", "[conv(64,3,padding=circular) relu]*8 globalavgpool dense(12)", (3, px, px), n, peer
    )


CONFIGS: dict[str, list[BenchConfig]] = {
    "cuda": [
        _dense(3072, 16384, 256),
        _dense(49152, 8192, 64),
        _dense(196608, 4096, 16),
        _cnn(32, 2048, 256),
        _cnn(64, 1024, 128),
        _cnn(128, 512, 64),
        _cnn(256, 256, 32),
    ],
    "cpu": [_dense(3072, 4096, 16), _cnn(32, 64, 16)],
}


@dataclass(frozen=True)
class BenchResult:
    """One configuration: rates (networks/s) of theorycheck and each peer."""

    config: str
    architecture: str
    input: str
    method: str
    nets_per_s: float
    peers: dict[str, float]
    ratios: dict[str, float]
    flops_per_net: float
    tflops: float
    peak_tflops: float
    peak_memory_per_net_mb: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: Callable[[], object], device: torch.device, min_seconds: float = 1.0) -> float:
    """Seconds per call (after one warm-up call), repeated until ``min_seconds`` have passed."""
    fn()
    _sync(device)
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def matmul_peak_tflops(device: torch.device, dtype: torch.dtype) -> float:
    """Measured matmul throughput on ``device`` (TFLOP/s)."""
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = _time(lambda: a @ b, device, 0.5)
    return 2 * n**3 / seconds / 1e12


def flops_per_network(program: Program) -> float:
    """Forward multiply-adds ×2, doubled for the input-gradient backward pass."""
    total = 0.0
    for op in all_ops(program.ops):
        if isinstance(op.node, Dense):
            total += 2 * op.in_shape[0] * op.node.out
        elif isinstance(op.node, Conv):
            total += 2 * math.prod(op.weight_shape[1:]) * math.prod(op.out_shape)
    return 2 * total


def _module(
    arch: Architecture, shape: tuple[int, ...], device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> nn.Module:
    """The nn.Module a user would write for ``arch`` (dense/conv/relu/pool stacks), built on ``device``."""
    layers: list[nn.Module] = []
    program = compile_program(arch, shape)
    kw: dict[str, Any] = {"device": device, "dtype": dtype}
    for op in program.ops:
        node = op.node
        if isinstance(node, Dense):
            layers.append(nn.Linear(op.in_shape[0], node.out, bias=False, **kw))
        elif isinstance(node, Conv):
            mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"
            if node.padding == "circular":
                mode = "circular"
            elif node.padding == "reflect":
                mode = "reflect"
            pad = "valid" if node.padding == "valid" else "same"
            layers.append(
                nn.Conv2d(
                    op.in_shape[0],
                    node.out,
                    node.kernel,
                    dilation=node.dilation,
                    padding=pad,
                    padding_mode=mode,
                    bias=False,
                    **kw,
                )
            )
        elif node.kind == "activation":
            layers.append(nn.ReLU())
        elif node.kind == "globalavgpool":
            layers.append(nn.AdaptiveAvgPool2d(1))
            layers.append(nn.Flatten())
        elif node.kind == "flatten":
            layers.append(nn.Flatten())
        else:
            raise ValueError(f"the bench peers support dense/conv/relu/flatten/globalavgpool, not {node.kind}")
    return nn.Sequential(*layers)


def _he_(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


def _loop_peer(
    arch: Architecture, shape: tuple[int, ...], n: int, device: torch.device, dtype: torch.dtype
) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            model = _module(arch, shape, device, dtype)
            _he_(model)
            for p in model.parameters():
                p.requires_grad_(False)
            x = torch.randn(1, *shape, device=device, dtype=dtype, requires_grad=True)
            model(x)[0, 0].backward()

    return run


def _vmap_peer(
    arch: Architecture, shape: tuple[int, ...], n: int, device: torch.device, dtype: torch.dtype
) -> Callable[[], None]:
    base = _module(arch, shape, device, dtype)
    params, buffers = stack_module_state([copy.deepcopy(base) for _ in range(2)])
    stacked_shapes = {k: v.shape[1:] for k, v in params.items()}
    fans = {k: math.prod(s[1:]) for k, s in stacked_shapes.items()}
    meta = copy.deepcopy(base).to("meta")

    def logit(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(meta, p, (x.unsqueeze(0),))[0, 0]

    grad_x = vmap(grad(logit, argnums=1))

    def run() -> None:
        p = {
            k: torch.randn(n, *s, device=device, dtype=dtype) * math.sqrt(2 / fans[k])
            for k, s in stacked_shapes.items()
        }
        x = torch.randn(n, *shape, device=device, dtype=dtype)
        grad_x(p, x)

    del buffers
    return run


def _bmm_peer(
    arch: Architecture, shape: tuple[int, ...], n: int, device: torch.device, dtype: torch.dtype
) -> Callable[[], None]:
    """Dense stacks as a user would batch them: draw every weight matrix, ``bmm``, autograd.

    Networks go in chunks whose weights take at most 4 GiB on a GPU (256 MiB on the CPU).
    """
    program = compile_program(arch, shape)
    if any(op.node.kind not in ("dense", "activation") for op in program.ops):
        raise ValueError("the bmm peer runs dense/activation stacks only")
    per_net = sum(math.prod(op.weight_shape) for op in program.ops if op.node.weighted) * dtype.itemsize
    budget = 4 << 30 if device.type == "cuda" else 256 << 20
    m = max(1, min(n, budget // per_net))

    def run() -> None:
        for lo in range(0, n, m):
            k = min(m, n - lo)
            x = torch.randn(k, *shape, device=device, dtype=dtype, requires_grad=True)
            h = x
            for op in program.ops:
                if isinstance(op.node, Dense):
                    fan_in = op.in_shape[0]
                    w = torch.randn(k, op.node.out, fan_in, device=device, dtype=dtype) * math.sqrt(2 / fan_in)
                    h = torch.bmm(w, h.unsqueeze(-1)).squeeze(-1)
                else:
                    h = torch.relu(h)
            torch.autograd.grad(h[:, 0].sum(), x)

    return run


def _has_conv(program: Program) -> bool:
    return any(isinstance(op.node, Conv) for op in all_ops(program.ops))


def run_bench(
    device: str = "auto",
    precision: str = "fp32",
    configs: list[BenchConfig] | None = None,
    progress: Callable[[str], None] | None = None,
    conv_kernel: str = "grouped",
) -> list[BenchResult]:
    """Time every configuration for ``device`` (the CPU set is smaller).

    ``conv_kernel="triton"`` times the sampler with the Triton convolution kernel (and, without
    explicit ``configs``, only the configurations that have convolutions); the peers are unchanged.
    """
    dev = resolve_device(device)
    dtype = compute_dtype(precision)
    if conv_kernel != "grouped":
        ensure_triton(dev, precision)
    chosen = configs if configs is not None else CONFIGS["cuda" if dev.type == "cuda" else "cpu"]
    if conv_kernel == "triton" and configs is None:
        chosen = [c for c in chosen if _has_conv(compile_program(Architecture.parse(c.arch), c.input_shape))]
    results = []
    with precision_mode(precision):
        peak = matmul_peak_tflops(dev, dtype)
        for cfg in chosen:
            if progress:
                progress(cfg.name)
            arch = Architecture.parse(cfg.arch)
            program = compile_program(arch, cfg.input_shape)
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)

            def ours(cfg: BenchConfig = cfg, networks: int = cfg.networks) -> dict[str, Any]:
                return sample(
                    cfg.arch,
                    cfg.input_shape,
                    networks=networks,
                    seed=0,
                    device=dev,
                    precision=precision,
                    conv_kernel=conv_kernel,
                ).provenance

            seconds = _time(ours, dev)
            mem = torch.cuda.max_memory_allocated(dev) / cfg.networks / 2**20 if dev.type == "cuda" else None
            method = ours(networks=4)["method"]
            if conv_kernel != "grouped" and _has_conv(program):
                method = f"{method} ({conv_kernel})"
            rate = cfg.networks / seconds
            peers: dict[str, float] = {}
            peers["loop"] = cfg.peer_networks / _time(
                _loop_peer(arch, cfg.input_shape, cfg.peer_networks, dev, dtype), dev
            )
            peers["vmap"] = cfg.peer_networks / _time(
                _vmap_peer(arch, cfg.input_shape, cfg.peer_networks, dev, dtype), dev
            )
            if method == "conditional":
                n_bmm = max(cfg.peer_networks, 32)
                peers["bmm"] = n_bmm / _time(_bmm_peer(arch, cfg.input_shape, n_bmm, dev, dtype), dev)
            flops = flops_per_network(program)
            results.append(
                BenchResult(
                    cfg.name,
                    cfg.arch,
                    "x".join(map(str, cfg.input_shape)),
                    method,
                    rate,
                    peers,
                    {k: rate / v for k, v in peers.items()},
                    flops,
                    flops * rate / 1e12,
                    peak,
                    mem,
                )
            )
    return results
