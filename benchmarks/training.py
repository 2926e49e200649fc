"""Training many small networks: theorycheck's batched training against what a user would otherwise write.

Peers, on the same architecture, data, minibatch size, optimizer (SGD with momentum 0.9) and number of steps:

* ``loop``: one network at a time, as the tutorials write it: build the ``nn.Module`` (``to_module``), initialise
  it, make its ``torch.optim.SGD``, run the steps on its own minibatches;
* ``vmap``: ``torch.func``: the B modules' parameters stacked (``stack_module_state``), ``vmap(grad(loss))`` over
  them and each network's minibatch, and the momentum update written out on the stacked tensors;
* ``theorycheck``: :func:`theorycheck.training.train_networks` (windows of 32 networks, ``torch.optim`` on the stacked
  weights), with one checkpoint at the end on 32 held-out examples (its cost included);
* ``module family``: :func:`theorycheck.training.train_module_networks` on the same network written as an
  ``nn.Module`` (one ``vmap`` of ``functional_call`` per window, ``torch.optim`` on the stacked parameters).

Every peer runs in float32 with the switches theorycheck's training sets (``precision_mode("fp32")``: TF32 off,
deterministic cuDNN); PyTorch's default would run the peers' cuDNN convolutions in TF32.

Prints network-steps per second and the ratio of theorycheck's rate to each peer's. Run:
``python benchmarks/training.py [--networks 128] [--steps 20] [--device cpu]``. Results with date and device go
to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from theorycheck.graph import to_module
from theorycheck.sampler import precision_mode
from theorycheck.training import load_dataset, train_config, train_networks

CONFIGS = {
    "dense 2x256, digits 16 px": ("flatten dense(256) relu dense(256) relu dense(10)", "digits:16"),
    "CNN (fig3 avg), 16 px": (
        "[conv(8,3) relu conv(8,3) relu avgpool(2)]*2 flatten dense(10)",
        "digits:16",
    ),
    "CNN (fig1), 32 px": (
        "conv(8,3,dilation=4) relu maxpool(2) conv(8,3,dilation=4) relu flatten dense(10)",
        "digits:32",
    ),
}
BATCH, LR, MOMENTUM = 32, 0.02, 0.9


def _batches(n_train: int, networks: int, steps: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, n_train, (steps, networks, BATCH), generator=gen)


def run_loop(arch: str, data, networks: int, steps: int, device: str) -> float:  # type: ignore[no-untyped-def]
    idx = _batches(len(data.y_train), networks, steps, 1)
    x, y = data.x_train.float().to(device), data.y_train.to(device)
    t0 = time.perf_counter()
    for i in range(networks):
        net = to_module(arch, data.shape, generator=torch.Generator().manual_seed(i)).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        for s in range(steps):
            b = idx[s, i].to(device)
            loss = F.cross_entropy(net(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return networks * steps / (time.perf_counter() - t0)


def run_vmap(arch: str, data, networks: int, steps: int, device: str) -> float:  # type: ignore[no-untyped-def]
    idx = _batches(len(data.y_train), networks, steps, 2)
    x, y = data.x_train.float().to(device), data.y_train.to(device)
    t0 = time.perf_counter()
    modules = [to_module(arch, data.shape, generator=torch.Generator().manual_seed(i)) for i in range(networks)]
    params, buffers = stack_module_state(modules)
    params = {k: v.to(device) for k, v in params.items()}
    base = copy.deepcopy(modules[0]).to("meta")

    def loss(p: dict, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(base, (p, {}), (xb,)), yb)

    step_grad = vmap(grad(loss))
    velocity = {k: torch.zeros_like(v) for k, v in params.items()}
    for s in range(steps):
        b = idx[s].to(device)
        grads = step_grad(params, x[b], y[b])
        for k in params:  # SGD with momentum, torch.optim's update written out
            velocity[k].mul_(MOMENTUM).add_(grads[k])
            params[k] = params[k] - LR * velocity[k]
    if device == "cuda":
        torch.cuda.synchronize()
    del buffers
    return networks * steps / (time.perf_counter() - t0)


def run_theorycheck(arch: str, data, networks: int, steps: int, device: str) -> float:  # type: ignore[no-untyped-def]
    config = train_config(
        {"steps": steps, "batch": BATCH, "lr": LR, "momentum": MOMENTUM, "checkpoints": [steps], "eval_examples": 32}
    )
    t0 = time.perf_counter()
    train_networks(arch, data, config, networks=networks, seed=0, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    return networks * steps / (time.perf_counter() - t0)


def run_module_family(arch: str, data, networks: int, steps: int, device: str) -> float:  # type: ignore[no-untyped-def]
    """:func:`theorycheck.training.train_module_networks` on the same network written as an ``nn.Module``."""
    from theorycheck.sampler import he_init
    from theorycheck.training import train_module_networks

    config = train_config(
        {"steps": steps, "batch": BATCH, "lr": LR, "momentum": MOMENTUM, "checkpoints": [steps], "eval_examples": 32}
    )
    t0 = time.perf_counter()
    train_module_networks(
        lambda: to_module(arch, data.shape), data, config, networks=networks, seed=0, init=he_init, device=device
    )
    if device == "cuda":
        torch.cuda.synchronize()
    return networks * steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(
        f"{'config':<28}{'loop':>10}{'vmap':>10}{'theorycheck':>13}{'x loop':>8}{'x vmap':>8}"
        f"{'module family':>15}{'x loop':>8}  (network-steps/s)"
    )
    for name, (arch, spec) in CONFIGS.items():
        data = load_dataset(spec)
        with precision_mode("fp32"):  # every peer as theorycheck trains: TF32 off, deterministic cuDNN
            rates = {
                peer: fn(arch, data, args.networks, args.steps, args.device)
                for peer, fn in (
                    ("loop", run_loop),
                    ("vmap", run_vmap),
                    ("theorycheck", run_theorycheck),
                    ("module", run_module_family),
                )
            }
        ours, module = rates["theorycheck"], rates["module"]
        print(
            f"{name:<28}{rates['loop']:>10.4g}{rates['vmap']:>10.4g}{ours:>13.4g}"
            f"{ours / rates['loop']:>8.3g}{ours / rates['vmap']:>8.3g}{module:>15.4g}{module / rates['loop']:>8.3g}",
            flush=True,
        )


if __name__ == "__main__":
    main()
