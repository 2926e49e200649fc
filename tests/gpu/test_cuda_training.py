"""Batched training on a CUDA device: the same networks and minibatches as on the CPU, the same numbers.

Initial weights and minibatch orders are drawn on the CPU whatever the device (``theorycheck.training``'s
conventions), so a float64 run on the GPU must equal the float64 run on the CPU to round-off (the same arithmetic
summed in another order), for DSL architectures and module families alike. A planted difference (another learning
rate on the GPU) must not. In float32 the GPU must give the same numbers twice (reproducibility on one device).

Skipped where torch sees no CUDA device (CI has none); run with ``python -m pytest tests/gpu -s``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from tests.unit.test_training import CASES, MODULE_CASES, SEED
from theorycheck.sampler import RNG_BLOCK, he_init
from theorycheck.training import Dataset, TrainResult, load_dataset, train_config, train_module_networks, train_networks

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

ROUND_OFF = 1e-8  # relative, float64: a few dozen optimisation steps summed in another order


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits:8")


def _train(case: str, digits: Dataset, device: str, dtype: torch.dtype, **changes: float) -> TrainResult:
    if case in CASES:
        arch, table = CASES[case]
        config = train_config({**table, "eval_examples": 64, **changes})
        return train_networks(arch, digits, config, networks=RNG_BLOCK, seed=SEED, device=device, dtype=dtype)
    make, table = MODULE_CASES[case]
    config = train_config({**table, "eval_examples": 64, **changes})
    return train_module_networks(
        make, digits, config, networks=RNG_BLOCK, seed=SEED, init=he_init, device=device, dtype=dtype
    )


def _max_relative_difference(a: TrainResult, b: TrainResult) -> float:
    worst = 0.0
    for key, col in a.rows.items():
        other = b.rows[key].astype(np.float64)
        col = col.astype(np.float64)
        assert np.isfinite(col).all() and np.isfinite(other).all(), key
        worst = max(worst, float(np.max(np.abs(col - other) / np.maximum(np.abs(col), 1e-12))))
    return worst


ALL_CASES = list(CASES) + list(MODULE_CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_CASES)
def test_cuda_training_equals_cpu_training_in_float64(case: str, digits: Dataset) -> None:
    t0 = time.perf_counter()
    cpu = _train(case, digits, "cpu", torch.float64)
    t1 = time.perf_counter()
    gpu = _train(case, digits, "cuda", torch.float64)
    t2 = time.perf_counter()
    rel = _max_relative_difference(cpu, gpu)
    print(f"{case}: max relative difference cuda vs cpu (float64) {rel:.2e}; cpu {t1 - t0:.2f} s, cuda {t2 - t1:.2f} s")
    assert rel < ROUND_OFF
    assert gpu.provenance["device"].startswith("cuda")


def test_a_planted_difference_on_the_gpu_is_caught(digits: Dataset) -> None:
    case = "dense, SGD with momentum and weight decay"
    cpu = _train(case, digits, "cpu", torch.float64)
    planted = _train(case, digits, "cuda", torch.float64, lr=0.051)
    rel = _max_relative_difference(cpu, planted)
    print(f"planted learning rate 0.051 against 0.05: max relative difference {rel:.2e}")
    assert rel > 100 * ROUND_OFF


@pytest.mark.parametrize("case", ["conv with pooling, Adam", "module CNN, Adam"])
def test_cuda_training_gives_the_same_numbers_twice(case: str, digits: Dataset) -> None:
    a = _train(case, digits, "cuda", torch.float32)
    b = _train(case, digits, "cuda", torch.float32)
    for key, col in a.rows.items():
        assert np.array_equal(col, b.rows[key]), key


def test_cuda_float32_training_is_float32_not_tf32(digits: Dataset) -> None:
    """The GPU's float32 rows are as close to float64 as the CPU's (TF32 rounds to 2**-11, float32 to 2**-24)."""
    case = "conv with pooling, Adam"
    exact = _train(case, digits, "cpu", torch.float64)
    cpu = _max_relative_difference(exact, _train(case, digits, "cpu", torch.float32))
    gpu = _max_relative_difference(exact, _train(case, digits, "cuda", torch.float32))
    print(f"float32 against float64: cpu {cpu:.2e}, cuda {gpu:.2e}")
    assert gpu < 30 * max(cpu, 2.0**-24)
