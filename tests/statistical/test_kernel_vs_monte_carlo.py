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


BRANCH_WIDTH = 64
BRANCH_NETWORKS = 4000
#: (architecture with C channels, mutant with another kernel: the net without the residual branch, or None)
BRANCH_CASES = [
    (
        "conv(C,3,padding=circular) relu residual{conv(C,3,padding=circular)} globalavgpool dense(1)",
        "conv(C,3,padding=circular) relu conv(C,3,padding=circular) globalavgpool dense(1)",
    ),
    (
        "conv(C,3,padding=circular) relu concat{conv(C,3,padding=circular) | conv(C,1)} relu avgpool(3) "
        "flatten dense(1)",
        None,
    ),
    (  # one group after a ReLU, one linear: the mixture's groups have very different kernels
        "conv(C,3,padding=circular) relu concat{conv(C,3,padding=circular) relu | conv(C,1)} "
        "conv(C,3,padding=circular) relu avgpool(3) flatten dense(1)",
        None,
    ),
]


@pytest.mark.statistical
@pytest.mark.parametrize(("template", "mutant"), BRANCH_CASES)
def test_branch_kernels_match_monte_carlo_and_differ_from_h(template: str, mutant: str | None) -> None:
    """add/concat at kernel level: Monte Carlo at one fixed input agrees with the kernel and rejects (H)
    (which misses the pooled positions' correlations) and, for add, the kernel of the net without the branch.
    (For concat, dropping a branch changes the kernel by less than the CI: (H) is the control.)"""
    from theorycheck.theory import predict

    arch = template.replace("C", str(BRANCH_WIDTH))
    shape = "3x6x6"
    x = torch.randn((1, 108), generator=block_generator(SEED, STREAM_FIXED_INPUT, 0, torch.device("cpu")))[0].numpy()
    kernel = kernel_predict(arch, shape, x).grad_sq_norm
    h_map = predict(arch, shape).coord_var_map
    assert kernel is not None and h_map is not None
    res = sample(arch, shape, networks=BRANCH_NETWORKS, seed=SEED, inputs="fixed", input_seed=SEED)
    values = res.column("logit", "sq_norm")
    half = Z * values.std(ddof=1) / np.sqrt(values.size)
    print(f"{arch}: kernel {kernel:.5f}, (H) {h_map.sum():.5f}, Monte Carlo {values.mean():.5f} ± {half:.5f}")
    assert abs(values.mean() - kernel) <= half
    assert abs(values.mean() - h_map.sum()) > half
    if mutant is not None:
        wrong = kernel_predict(mutant.replace("C", str(BRANCH_WIDTH)), shape, x).grad_sq_norm
        assert wrong is not None and abs(values.mean() - wrong) > half
