"""Batched training is per-network training: the same numbers as a plain per-network ``torch.optim`` loop.

The reference shares no code with ``theorycheck.training`` beyond the documented conventions (network i's initial
weights are the sampler's, its minibatch order comes from ``network_seed``): it builds network i as an
``nn.Module`` (``to_module`` + ``load_weights``), trains it alone with ``torch.optim`` in float64 on the batches the
conventions describe, with the objective written out per network, and measures it with its own code. Every
statistic at every checkpoint must agree to float64 round-off; a planted optimizer difference (momentum 0.9
against 0) must not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, to_module
from theorycheck.sampler import RNG_BLOCK, compile_program
from theorycheck.sampler._rng import STREAM_WEIGHTS, block_generator
from theorycheck.training import Dataset, load_dataset, network_seed, train_config, train_networks

SEED = 3
ROUND_OFF = 1e-9  # relative, float64: the same arithmetic summed in another order
CHECKED = (0, 7, 31)  # networks compared with the reference (all of one window)


def _network(arch: str | Callable[[], torch.nn.Module], shape: tuple[int, ...], index: int) -> torch.nn.Module:
    """Network ``index`` in float64: the DSL sampler's (its weights loaded into ``to_module``), or the module
    sampler's (``make()`` re-initialised by :func:`he_init` from the generator of (seed, index))."""
    if callable(arch):
        from theorycheck.sampler import he_init
        from theorycheck.sampler._modules import reset_network

        module = arch()
        reset_network(module, SEED, index, he_init)
        return module.double()
    program = compile_program(Architecture.parse(arch), shape)
    block, pos = divmod(index, RNG_BLOCK)
    drawn = program.draw_block(block, block_generator(SEED, STREAM_WEIGHTS, block, torch.device("cpu")), RNG_BLOCK)
    net = to_module(arch, shape, dtype=torch.float64)
    with torch.no_grad():
        net.load_weights([p.to(torch.float64) for p in program.network_parameters(drawn, pos)])
    return net


def _reference(arch: str | Callable[[], torch.nn.Module], data: Dataset, table: dict, index: int) -> dict[str, float]:
    """Network ``index`` trained alone, measured at the checkpoints by code of its own."""
    config = train_config(table)
    shape = data.shape
    net = _network(arch, shape, index)
    if config.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            net.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    else:
        opt = torch.optim.Adam(net.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(network_seed(SEED, index))
    n = len(data.y_train)
    perm, at = torch.randperm(n, generator=gen), 0
    x_all = data.x_train.to(torch.float64)
    d = math.prod(shape)
    out: dict[str, float] = {}

    def measure(step: int) -> None:
        k = min(config.eval_examples, len(data.y_test))
        x = data.x_test[:k].to(torch.float64).clone().requires_grad_(True)
        y = data.y_test[:k]
        logits = net(x)
        losses = F.cross_entropy(logits, y, reduction="none")
        (g,) = torch.autograd.grad(losses.sum(), x)
        g = g.reshape(k, -1)
        out[f"s{step}/loss.l1"] = float(g.abs().sum(1).mean())
        out[f"s{step}/loss.coord_var"] = float((g**2).sum(1).mean() / d)
        out[f"s{step}/loss.linf"] = float(g.abs().amax(1).mean())
        out[f"s{step}/accuracy"] = float((logits.argmax(1) == y).double().mean())
        wrong = (logits.argmax(1) != y).double()
        eps = config.attack_epsilon
        with torch.no_grad():
            fgsm_wrong = (net(x.detach() + eps * g.sign().reshape(x.shape)).argmax(1) != y).double()
        out[f"s{step}/vulnerability"] = float((fgsm_wrong - wrong).mean())
        if config.pgd_steps:  # Madry et al.'s loop, written here: steps of α sign g, projected onto the ε-box
            alpha = config.pgd_step or 2.5 * eps / config.pgd_steps
            adv = x.detach().clone()
            for _ in range(config.pgd_steps):
                adv.requires_grad_(True)
                (ga,) = torch.autograd.grad(F.cross_entropy(net(adv), y, reduction="sum"), adv)
                adv = (adv.detach() + alpha * ga.sign()).clamp(min=x.detach() - eps, max=x.detach() + eps)
            with torch.no_grad():
                pgd_wrong = (net(adv).argmax(1) != y).double()
            out[f"s{step}/pgd_vulnerability"] = float((pgd_wrong - wrong).mean())

    if 0 in config.checkpoints:
        measure(0)
    for step in range(1, config.steps + 1):
        if at + config.batch > n:
            perm, at = torch.randperm(n, generator=gen), 0
        idx = perm[at : at + config.batch]
        at += config.batch
        x = x_all[idx].clone().requires_grad_(True)
        losses = F.cross_entropy(net(x), data.y_train[idx], reduction="none")
        objective = losses.mean()
        if config.regularizer == "penalty":
            (g,) = torch.autograd.grad(losses.sum(), x, create_graph=True)
            objective = objective + config.epsilon * g.reshape(len(idx), -1).abs().sum(1).mean()  # p = inf: q = 1
        elif config.regularizer == "fgsm":
            (g,) = torch.autograd.grad(losses.sum(), x, retain_graph=True)
            g = g.reshape(len(idx), -1)
            eps = config.epsilon * math.sqrt(d)  # p = 2 (eq. 5)
            x_adv = x.detach() + eps * (g / g.norm(dim=1, keepdim=True)).reshape(x.shape)
            objective = 0.5 * (losses.mean() + F.cross_entropy(net(x_adv), data.y_train[idx]))
        opt.zero_grad()
        objective.backward()
        opt.step()
        if step in config.checkpoints:
            measure(step)
    return out


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits:8")


CASES = {
    "dense, SGD with momentum and weight decay": (
        "flatten dense(16) relu dense(10)",
        {"steps": 12, "batch": 16, "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3, "checkpoints": [0, 5, 12]},
    ),
    "conv with pooling, Adam": (
        "conv(3,3,padding=circular) relu avgpool(2) flatten dense(10)",
        {"steps": 8, "batch": 8, "optimizer": "adam", "lr": 0.01, "checkpoints": [4, 8]},
    ),
    "dense, gradient penalty (p = inf, q = 1)": (
        "flatten dense(12) tanh dense(10)",
        {"steps": 6, "batch": 8, "lr": 0.1, "regularizer": "penalty", "epsilon": 0.05, "checkpoints": [6]},
    ),
    "dense, PGD at the checkpoints": (
        "flatten dense(16) relu dense(10)",
        {"steps": 5, "batch": 16, "lr": 0.05, "pgd_steps": 4, "attack_epsilon": 0.3, "checkpoints": [0, 5]},
    ),
    "dense and conv with biases, SGD with momentum and weight decay": (
        "conv(2,3,bias=0.1) relu flatten dense(16,bias=0.5) relu dense(10,bias=0.2)",
        {"steps": 8, "batch": 8, "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3, "checkpoints": [0, 8]},
    ),
    "conv, FGSM-augmented l2 (p = 2)": (
        "conv(2,3) relu flatten dense(10)",
        {"steps": 6, "batch": 8, "lr": 0.1, "regularizer": "fgsm", "epsilon": 0.05, "p": 2, "checkpoints": [6]},
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_batched_training_is_per_network_training(case: str, digits: Dataset) -> None:
    arch, table = CASES[case]
    table = {**table, "eval_examples": 64}
    result = train_networks(arch, digits, train_config(table), networks=RNG_BLOCK, seed=SEED, dtype=torch.float64)
    for i in CHECKED:
        ref = _reference(arch, digits, table, i)
        row = int(np.flatnonzero(result.rows["network"] == i)[0])
        for key, value in ref.items():
            assert math.isclose(result.rows[key][row], value, rel_tol=ROUND_OFF, abs_tol=1e-12), (case, i, key)


def _mlp() -> torch.nn.Module:
    """A module family as users write it: biases, an nn.Sequential, inplace ReLU."""
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(inplace=True), torch.nn.Linear(16, 10)
    )


def _cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(48, 10, bias=False),
    )


MODULE_CASES = {
    "module MLP with biases, SGD with momentum": (_mlp, CASES["dense, SGD with momentum and weight decay"][1]),
    "module CNN, Adam": (_cnn, CASES["conv with pooling, Adam"][1]),
    "module MLP, gradient penalty": (_mlp, CASES["dense, gradient penalty (p = inf, q = 1)"][1]),
}


@pytest.mark.parametrize("case", list(MODULE_CASES), ids=list(MODULE_CASES))
def test_batched_module_training_is_per_network_training(case: str, digits: Dataset) -> None:
    """Issue 26: module families train as one torch.func vmap and equal a per-network torch.optim loop (float64)."""
    from theorycheck.sampler import he_init
    from theorycheck.training import train_module_networks

    make, table = MODULE_CASES[case]
    table = {**table, "eval_examples": 64}
    result = train_module_networks(
        make, digits, train_config(table), networks=RNG_BLOCK, seed=SEED, init=he_init, dtype=torch.float64
    )
    for i in CHECKED:
        ref = _reference(make, digits, table, i)
        row = int(np.flatnonzero(result.rows["network"] == i)[0])
        for key, value in ref.items():
            assert math.isclose(result.rows[key][row], value, rel_tol=ROUND_OFF, abs_tol=1e-12), (case, i, key)


def test_module_training_refuses_batchnorm_and_dropout(digits: Dataset) -> None:
    from theorycheck.training import train_module_networks

    def with_bn() -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(72, 10)
        )

    with pytest.raises(TheorycheckError, match=r"^module: 1 \(BatchNorm2d\) cannot be trained in a batch"):
        train_module_networks(with_bn, digits, train_config({"steps": 1}), networks=2)
    with pytest.raises(TheorycheckError, match="has 10 classes, but the module returns logits of shape"):
        train_module_networks(
            lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)),
            digits,
            train_config({"steps": 1}),
            networks=2,
        )


def test_one_pgd_step_of_size_epsilon_is_fgsm(digits: Dataset) -> None:
    """The attack's definition, checked on the toolkit's own numbers: PGD with one step α = ε∞ is FGSM exactly;
    with ten steps of 2.5 ε∞/10 it finds errors, and a planted α of 1e-300 finds none."""
    arch, base = "flatten dense(16) relu dense(10)", {"steps": 3, "batch": 16, "lr": 0.05, "checkpoints": [3]}
    one = {**base, "pgd_steps": 1, "pgd_step": 0.2, "attack_epsilon": 0.2}
    rows = train_networks(arch, digits, train_config(one), networks=RNG_BLOCK, seed=SEED, dtype=torch.float64).rows
    assert np.array_equal(rows["s3/pgd_vulnerability"], rows["s3/vulnerability"])
    ten = {**base, "pgd_steps": 10, "attack_epsilon": 0.2}
    rows = train_networks(arch, digits, train_config(ten), networks=RNG_BLOCK, seed=SEED, dtype=torch.float64).rows
    assert rows["s3/pgd_vulnerability"].mean() > 0
    planted = {**ten, "pgd_step": 1e-300}
    rows = train_networks(arch, digits, train_config(planted), networks=RNG_BLOCK, seed=SEED, dtype=torch.float64).rows
    assert rows["s3/pgd_vulnerability"].max() == 0 < rows["s3/vulnerability"].max()


def test_a_planted_optimizer_difference_is_caught(digits: Dataset) -> None:
    """Momentum 0.9 in the toolkit against 0 in the reference: the comparison must see it."""
    arch, table = CASES["dense, SGD with momentum and weight decay"]
    table = {**table, "eval_examples": 64}
    result = train_networks(arch, digits, train_config(table), networks=RNG_BLOCK, seed=SEED, dtype=torch.float64)
    ref = _reference(arch, digits, {**table, "momentum": 0.0}, 0)
    key = "s12/loss.l1"
    assert not math.isclose(result.rows[key][0], ref[key], rel_tol=1e-4)


def test_step_zero_is_the_samplers_network(digits: Dataset) -> None:
    """At step 0 nothing is trained: the loss gradient on an example is the sampler's network's, whatever range is
    asked for (a range inside a window gives the window's rows)."""
    arch = "flatten dense(16) relu dense(10)"
    config = train_config({"steps": 1, "checkpoints": [0], "eval_examples": 32})
    whole = train_networks(arch, digits, config, networks=RNG_BLOCK, seed=SEED, dtype=torch.float64)
    part = train_networks(arch, digits, config, networks=5, start=10, seed=SEED, dtype=torch.float64)
    assert list(part.rows["network"]) == list(range(10, 15))
    for key, values in part.rows.items():
        np.testing.assert_array_equal(values, whole.rows[key][10:15])
    ref = _reference(arch, digits, {"steps": 1, "checkpoints": [0], "eval_examples": 32}, 12)
    assert math.isclose(whole.rows["s0/loss.l1"][12], ref["s0/loss.l1"], rel_tol=ROUND_OFF)


def test_a_window_that_does_not_fit_in_memory_is_refused_before_it_runs(digits: Dataset) -> None:
    """A window of 32 networks on minibatches of 10^5 examples of a 64-channel net would need terabytes: refused with
    the estimate and what to lower, before anything is allocated."""
    config = train_config({"steps": 1, "batch": 100_000, "checkpoints": [1]})
    with pytest.raises(TheorycheckError, match=r"training a window of 32 networks .* needs about .*lower train.batch"):
        train_networks("conv(64,3) relu flatten dense(10)", digits, config, networks=1)


def test_a_non_finite_loss_names_the_network(digits: Dataset) -> None:
    config = train_config({"steps": 30, "lr": 1e6, "checkpoints": [30]})
    with pytest.raises(TheorycheckError, match=r"network \d+ \(study seed 3, minibatch seed \d+\): the training loss"):
        train_networks("flatten dense(64) relu dense(64) relu dense(10)", digits, config, networks=2, seed=SEED)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lr": -1}, "train.lr: must be a finite number from"),
        ({"optimizer": "adamw"}, "train.optimizer: must be one of sgd, adam, got 'adamw'; did you mean 'adam'"),
        ({"regularizer": "penalty"}, "train.epsilon: regularizer 'penalty' needs epsilon > 0"),
        ({"steps": 10, "checkpoints": [0, 20]}, "train.checkpoints: every checkpoint must lie in 0 … steps (10)"),
        ({"p": 3}, 'train.p: the attacks and penalties use p = "inf" or p = 2'),
        ({"stepz": 3}, "train.stepz: unknown setting; did you mean 'steps'"),
        ({"optimizer": "adam", "momentum": 0.9}, "train.momentum: Adam takes betas, not momentum"),
    ],
)
def test_bad_training_settings_are_refused(table: dict, message: str) -> None:
    with pytest.raises(TheorycheckError) as info:
        train_config(table)
    assert message in str(info.value)


def _factory_wrong_labels() -> tuple:
    x = np.zeros((20, 4))
    x[:, 0] = np.arange(20)
    return x, np.arange(20) - 1, x, np.zeros(20, dtype=int)


def _factory_wrong_shapes() -> tuple:
    return np.ones((20, 4)), np.zeros(19, dtype=int), np.ones((20, 4)), np.zeros(20, dtype=int)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("digits:2", "data: resolution 2 is outside 4 to 256"),
        ("cifar:32", "data: unknown dataset 'cifar:32'"),
        ("tests.unit.test_training:_factory_wrong_labels", "data: labels must be 0 or more, got -1"),
        ("tests.unit.test_training:_factory_wrong_shapes", "data: y_train has shape (19,); expected (20,)"),
        ("missing.npz", "data: no file missing.npz"),
    ],
)
def test_bad_data_is_refused(spec: str, message: str) -> None:
    with pytest.raises(TheorycheckError) as info:
        load_dataset(spec)
    assert message in str(info.value)


def test_float32_training_runs_with_tf32_off(digits: Dataset) -> None:
    """PyTorch leaves cuDNN convolutions in TF32 by default: float32 training must switch it off (and restore it).

    A user reducer reads the switches while the networks are measured, inside the training loop."""
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default

    def switches(grad: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        on = torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32
        return torch.full((grad.shape[0],), float(on), dtype=grad.dtype, device=grad.device)

    arch, table = CASES["conv with pooling, Adam"]
    config = train_config({**table, "steps": 1, "checkpoints": [1], "eval_examples": 8})
    result = train_networks(arch, digits, config, networks=2, seed=SEED, reducers={"tf32": switches})
    on = [v for k, v in result.rows.items() if "tf32" in k]
    assert on and all((v == 0).all() for v in on), on
    assert result.provenance["tf32"] is False
    assert torch.backends.cudnn.allow_tf32  # restored
