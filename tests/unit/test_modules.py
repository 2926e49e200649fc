"""PyTorch modules and graphs: from_module (torch.fx) and to_module, checked both ways on generated architectures."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from torch import nn

from theorycheck.errors import TheorycheckError
from theorycheck.graph import Architecture, from_module, to_module
from theorycheck.sampler import compile_program
from theorycheck.strategies import architectures
from theorycheck.theory import predict

PAPER_CNN = "conv(8,3,padding=circular) relu conv(8,3,stride=2,padding=circular) relu flatten dense(10)"


def _paper_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular", bias=False),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, padding_mode="circular", bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 10, bias=False),
    )


class Residual(nn.Module):
    """A residual block written as a module with a forward, not a Sequential."""

    def __init__(self, bn: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, bias=False))
        if bn:
            self.body.append(nn.BatchNorm2d(4))
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.head(x + self.body(x))


def test_the_paper_cnn_and_its_prediction() -> None:
    arch = from_module(_paper_cnn(), "3x16x16")
    assert arch == Architecture.parse(PAPER_CNN)
    a, b = predict(arch, "3x16x16"), predict(PAPER_CNN, "3x16x16")
    assert a.coord_var_map is not None and b.coord_var_map is not None
    assert abs(a.coord_var_map - b.coord_var_map).max() <= 1e-12 * abs(b.coord_var_map).max()


def test_a_residual_block_and_a_refusal() -> None:
    assert from_module(Residual(), "3x8x8") == Architecture.parse(
        "conv(4,3) add{identity | relu conv(4,3)} relu globalavgpool dense(10)"
    )
    with pytest.raises(
        TheorycheckError,
        match=r"^body\.2 \(BatchNorm2d\): not expressible in the graph DSL; "
        "measure it as a module family instead$",
    ):
        from_module(Residual(bn=True), "3x8x8")


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (nn.Sequential(nn.Linear(4, 2)), r"0 \(Linear\): has a bias"),
        (
            nn.Sequential(nn.Conv2d(3, 2, 3, padding=2, bias=False), nn.Flatten(), nn.Linear(2 * 100, 2, bias=False)),
            r"padding \(2, 2\) is neither 0 nor 'same'",
        ),
        (nn.Sequential(nn.Conv2d(3, 2, 3, groups=1, bias=False, stride=(1, 2))), "stride .* is not square"),
        (nn.Sequential(nn.Flatten(), nn.Linear(100, 2, bias=False)), "do not fit inputs of shape"),
        (nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 2, bias=False)), r"0 \(LayerNorm\): not expressible"),
        (nn.Sequential(nn.Softplus(beta=2), nn.Linear(8, 2, bias=False)), "only Softplus"),
    ],
)
def test_what_the_dsl_cannot_express_is_named(module: nn.Module, message: str) -> None:
    with pytest.raises(TheorycheckError, match=message):
        from_module(module, "3x8x8" if "Conv" in str(module) or "Flatten" in str(module) else "8")


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(4, 4, bias=False)
        self.out = nn.Linear(4, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.f(torch.relu(self.f(x))))


def test_shared_weights_are_refused() -> None:
    with pytest.raises(TheorycheckError, match="applied twice"):
        from_module(Shared(), "4")


def _canonical(arch: Architecture) -> str:
    """The text form with 'valid' for every conv whose padding is zero-sized (all modes agree there), and a merge
    whose branch is one merge of the same kind flattened into it (add{add{a | b} | c} is add{a | b | c})."""
    from dataclasses import replace

    from theorycheck.graph import Branches, Conv

    def fix(layers: tuple) -> tuple:
        out = []
        for node in layers:
            if isinstance(node, Conv) and node.pad == (0, 0):
                node = replace(node, padding="valid")
            if isinstance(node, Branches):
                flat: list = []
                for b in (fix(b) for b in node.branches):
                    if len(b) == 1 and type(b[0]) is type(node):
                        flat += b[0].branches
                    else:
                        flat.append(b)
                node = replace(node, branches=tuple(flat))
            out.append(node)
        return tuple(out)

    return Architecture(fix(arch.layers)).to_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures(max_layers=4, vary_init=False))
def test_round_trip_and_the_same_network(case: tuple[Architecture, tuple[int, ...]]) -> None:
    """from_module(to_module(a)) == a (up to the padding mode of convs that pad nothing); and with the sampler's
    weights loaded, the module computes the sampler's network: the same logits and input gradients in float64."""
    arch, shape = case
    module = to_module(arch, shape, dtype=torch.float64)
    assert _canonical(from_module(module, shape)) == _canonical(arch)
    program = compile_program(arch, shape)
    gen = torch.Generator().manual_seed(0)
    weights = {k: v.to(torch.float64) for k, v in program.draw_block(0, gen, 3).items()}
    module.load_weights([weights[op.index][1] for op in program.weighted])
    x = torch.randn((3, *shape), generator=gen, dtype=torch.float64, requires_grad=True)
    ours = program.forward(x, weights)[1:2]
    (g_ours,) = torch.autograd.grad(ours[0, 0], x)
    xs = x.detach()[1:2].clone().requires_grad_(True)
    theirs = module(xs)
    (g_theirs,) = torch.autograd.grad(theirs[0, 0], xs)
    torch.testing.assert_close(theirs, ours.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_theirs[0], g_ours[1], rtol=1e-12, atol=1e-12)


def test_a_planted_padding_bug_breaks_the_equivalence() -> None:
    """The equivalence check can fail: a module that pads by (ceil, floor) instead of (floor, ceil) differs."""
    arch, shape = Architecture.parse("conv(2,2,padding=circular) flatten dense(1)"), (1, 4, 4)
    module = to_module(arch, shape, dtype=torch.float64)
    program = compile_program(arch, shape)
    weights = {k: v.to(torch.float64) for k, v in program.draw_block(0, torch.Generator().manual_seed(1), 4).items()}
    module.load_weights([weights[op.index][0] for op in program.weighted])
    module[0].pad = module[0].pad[::-1]  # the planted bug
    x = torch.randn((4, *shape), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(module(x[:1]), program.forward(x, weights)[:1], rtol=1e-6)
