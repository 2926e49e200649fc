"""The kernel level for smooth activations (quadrature) against wide-network Monte Carlo at one fixed input.

(H) does not cover tanh, sigmoid or softplus; the kernel level is the only prediction, so it is
checked against sampled networks directly. Seed, budget and width are named here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theorycheck.sampler import sample
from theorycheck.sampler._rng import STREAM_FIXED_INPUT, block_generator
from theorycheck.theory import kernel_predict

SEED = 20261123
N_NETWORKS = 20_000
WIDTH = 1024
Z = 2.576  # 99% interval: three activations are tested


@pytest.mark.statistical
@pytest.mark.parametrize("fn", ["tanh", "sigmoid", "softplus"])
def test_smooth_kernel_matches_wide_networks(fn: str) -> None:
    arch = f"dense({WIDTH}) {fn} dense({WIDTH}) {fn} dense(1)"
    x = torch.randn((1, 16), generator=block_generator(SEED, STREAM_FIXED_INPUT, 0, torch.device("cpu")))[0].numpy()
    predicted = kernel_predict(arch, "16", x).grad_sq_norm
    assert predicted is not None
    res = sample(arch, "16", networks=N_NETWORKS, seed=SEED, inputs="fixed", input_seed=SEED, method="conditional")
    values = res.column("logit", "sq_norm")
    half = Z * values.std(ddof=1) / np.sqrt(values.size)
    print(f"{fn}: kernel {predicted:.5f}, Monte Carlo {values.mean():.5f} ± {half:.5f}")
    assert abs(values.mean() - predicted) <= half
    # negative control: the kernel of the other activation (a wrong φ) must be rejected
    other = "sigmoid" if fn != "sigmoid" else "tanh"
    wrong = kernel_predict(arch.replace(fn, other), "16", x).grad_sq_norm
    assert wrong is not None and abs(values.mean() - wrong) > half
