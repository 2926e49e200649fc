"""Module families: networks/s of the module sampler (torch.func vmap) against the DSL sampler and a plain
per-network loop, on the paper's CNN (examples/modules.py), input gradient of logit 0, fp32.

    python benchmarks/module_sampler.py [--networks N] [--resolution R ...]

Each measurement is the best of 3 runs; the loop is what a user would write: build the module, He-initialise it,
one forward and one backward per network.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.modules import paper_cnn  # noqa: E402
from theorycheck.sampler import he_init, sample, sample_module  # noqa: E402
from theorycheck.sampler._provenance import provenance  # noqa: E402


def _arch(r: int) -> str:
    return "conv(8,3,padding=circular) relu conv(8,3,stride=2,padding=circular) relu flatten dense(10)"


def _cnn(r: int) -> torch.nn.Module:
    m = paper_cnn()
    m[-1] = torch.nn.Linear(8 * (r // 2) ** 2, 10, bias=False)
    return m


def _loop(r: int, n: int) -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(n):
        m = _cnn(r)
        he_init(m, gen)
        x = torch.randn((1, 3, r, r), generator=gen, requires_grad=True)
        (g,) = torch.autograd.grad(m(x)[0, 0], x)
        g.pow(2).mean()


def _best(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", type=int, default=1000)
    p.add_argument("--resolution", type=int, nargs="+", default=[16, 32])
    args = p.parse_args()
    n = args.networks
    for r in args.resolution:
        shape = f"3x{r}x{r}"
        row = {
            "resolution": r,
            "networks": n,
            "dsl nets/s": _best(lambda: sample(_arch(r), shape, networks=n, seed=0), n),
            "module nets/s": _best(lambda: sample_module(lambda: _cnn(r), shape, networks=n, seed=0, init=he_init), n),
            "loop nets/s": _best(lambda: _loop(r, n), n),
        }
        print(json.dumps(row))
    print(json.dumps({k: provenance(torch.device("cpu"), "fp32", 0)[k] for k in ("device_name", "torch", "date")}))


if __name__ == "__main__":
    main()
