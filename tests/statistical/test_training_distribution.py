"""A user's own per-network loop, written from the documented conventions alone, trains networks from the same
distribution as ``theorycheck.training``.

The user's loop shares nothing with the toolkit but the conventions (``TrainConfig``'s docstring): its own
He-initialised ``nn.Sequential`` (``nn.init.normal_`` with std √(2/fan_in), no bias), its own random minibatch
order (a fresh permutation per epoch, the last short batch dropped), ``torch.optim.SGD``, cross-entropy averaged over
the batch, then E_x‖∂ₓL‖₁ on the held-out examples. Different networks, so the comparison is in distribution:
Welch's t-test on the per-network means. The sample sizes give the test a power of at least 95% against a 2%
difference of the means (checked from the data before the test is read), and a planted 2% shift of the user's
values must be detected: the test can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats as sps
from torch import nn

from theorycheck.training import load_dataset, train_config, train_networks

pytestmark = pytest.mark.statistical

SEED = 5
NETWORKS = 704  # per side (22 windows of 32): power ≥ 95% at a 2% shift (per-network CVs of 8% and 11%)
ALPHA = 0.01  # a false alarm of the agreement test
EFFECT = 0.02  # the planted shift the test must detect
POWER = 0.95
TABLE = {"steps": 10, "batch": 16, "lr": 0.1, "momentum": 0.5, "checkpoints": [10], "eval_examples": 64}


def _users_loop(data, networks: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """E_x‖∂ₓL‖₁ of networks trained one at a time, as a user writes it."""
    config = train_config(TABLE)
    torch.manual_seed(12345)  # the user's own seeds: other networks than the toolkit's
    out = []
    x_eval, y_eval = data.x_test[:64].float(), data.y_test[:64]
    n = len(data.y_train)
    for _ in range(networks):
        net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64, bias=False), nn.ReLU(), nn.Linear(64, 10, bias=False))
        for layer in (net[1], net[3]):
            nn.init.normal_(layer.weight, std=math.sqrt(2 / layer.in_features))
        opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum)
        perm, at = torch.randperm(n), 0
        for _ in range(config.steps):
            if at + config.batch > n:
                perm, at = torch.randperm(n), 0
            idx = perm[at : at + config.batch]
            at += config.batch
            loss = F.cross_entropy(net(data.x_train[idx].float()), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        x = x_eval.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(net(x), y_eval, reduction="sum"), x)
        out.append(float(g.reshape(64, -1).abs().sum(1).mean()))
    return np.asarray(out)


def test_a_users_loop_draws_from_the_same_distribution() -> None:
    data = load_dataset("digits:8")
    ours = train_networks(
        "flatten dense(64) relu dense(10)", data, train_config(TABLE), networks=NETWORKS, seed=SEED
    ).rows["s10/loss.l1"]
    theirs = _users_loop(data, NETWORKS)
    assert np.isfinite(ours).all() and np.isfinite(theirs).all()
    se = math.sqrt(ours.var(ddof=1) / ours.size + theirs.var(ddof=1) / theirs.size)
    z_alpha, z_power = sps.norm.ppf(1 - ALPHA / 2), sps.norm.ppf(POWER)
    assert EFFECT * ours.mean() / se > z_alpha + z_power, "too few networks for the stated power"
    same = sps.ttest_ind(ours, theirs, equal_var=False)
    assert same.pvalue > ALPHA, f"means {ours.mean():.5g} vs {theirs.mean():.5g}, Welch p = {same.pvalue:.3g}"
    shifted = sps.ttest_ind(ours, theirs * (1 + EFFECT), equal_var=False)
    assert shifted.pvalue < ALPHA, f"a planted {EFFECT:.0%} shift went unseen (p = {shifted.pvalue:.3g})"
