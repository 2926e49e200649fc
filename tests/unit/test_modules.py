"""PyTorch modules and graphs: from_module (torch.fx) and to_module, checked both ways on generated architectures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
        match=r"^body\.2 \(BatchNorm2d\): normalisation layers are not in the theory; remove it, or "
        "measure it as a module family instead$",
    ):
        from_module(Residual(bn=True), "3x8x8")


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (
            nn.Sequential(nn.Conv2d(3, 2, 3, padding=2, bias=False), nn.Flatten(), nn.Linear(2 * 100, 2, bias=False)),
            r"padding \(2, 2\) is neither 0 nor 'same'",
        ),
        (nn.Sequential(nn.Conv2d(3, 2, 3, groups=1, bias=False, stride=(1, 2))), "stride .* is not square"),
        (
            nn.Sequential(nn.Flatten(), nn.Linear(100, 2, bias=False)),
            r"fails on inputs of shape 3x8x8 at 1 \(a and b must have same reduction dim, "
            r"but got \[2, 192\] X \[100, 2\]\)",
        ),
        (
            nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 2, bias=False)),
            r"0 \(LayerNorm\): normalisation layers are not in the theory",
        ),
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
    module.load_weights(program.network_parameters(weights, 1))
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
    module.load_weights(program.network_parameters(weights, 0))
    module[0].pad = module[0].pad[::-1]  # the planted bug
    x = torch.randn((4, *shape), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(module(x[:1]), program.forward(x, weights)[:1], rtol=1e-6)


class Tutorial(nn.Module):
    """A CNN written the way the PyTorch tutorials write it: padding modules, Dropout, ``view`` to flatten, and a
    second block that pads with ``F.pad``; no BatchNorm, no biases."""

    def __init__(self, *, bias: bool = False, bn: bool = False, groups: int = 1) -> None:
        super().__init__()
        self.pad1 = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(3, 8, 3, bias=bias)
        self.bn1 = nn.BatchNorm2d(8) if bn else nn.Identity()
        self.pad2 = nn.ZeroPad2d(1)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, bias=False, groups=groups)
        self.pad3 = nn.CircularPad2d(1)
        self.conv3 = nn.Conv2d(8, 8, 3, bias=False)
        self.drop = nn.Dropout(0.5)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(8 * 4 * 4, 16, bias=False)
        self.fc2 = nn.Linear(8 + 16, 10, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(self.pad1(x))))
        x = F.relu(self.conv2(self.pad2(x)))
        y = self.drop(F.relu(self.fc1(x.view(x.size(0), -1))))
        z = self.pool(self.conv3(self.pad3(x))).squeeze()
        return self.fc2(torch.cat([z, y], 1))


TUTORIAL = (
    "conv(8,3,padding=reflect) relu conv(8,3,stride=2) relu "
    "concat{conv(8,3,padding=circular) globalavgpool | flatten dense(16) relu} dense(10)"
)


def test_a_tutorial_style_model_converts_on_the_first_try() -> None:
    """Issue 24: padding modules, ``view(x.size(0), -1)``, ``squeeze()`` after a global pool, Dropout and Identity
    convert; the dropped nodes are named in the notes; the module computes the DSL's network (float64, loaded
    weights, outputs and input gradients)."""
    from theorycheck.graph import convert_module

    conversion = convert_module(Tutorial(), "3x8x8")
    assert conversion.architecture == Architecture.parse(TUTORIAL)
    (note,) = conversion.notes
    assert "bn1 (Identity), drop (Dropout)" in note and "eval mode" in note
    module = Tutorial().double().eval()
    program = compile_program(conversion.architecture, (3, 8, 8))
    weights = {k: v.to(torch.float64) for k, v in program.draw_block(0, torch.Generator().manual_seed(3), 2).items()}
    with torch.no_grad():
        for mod, op in zip(
            (module.conv1, module.conv2, module.conv3, module.fc1, module.fc2), program.weighted, strict=True
        ):
            mod.weight.copy_(weights[op.index][0].reshape(mod.weight.shape))
    x = torch.randn((2, 3, 8, 8), dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    ours = program.forward(x, weights)  # network j on input j
    (g_ours,) = torch.autograd.grad(ours[0, 0], x)
    xs = x.detach()[:1].clone().requires_grad_(True)
    theirs = module(torch.cat([xs, xs]))[:1]  # squeeze() needs a batch of two to keep the batch axis
    (g_theirs,) = torch.autograd.grad(theirs[0, 0], xs)
    torch.testing.assert_close(theirs[0], ours[0].detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_theirs[0], g_ours[0], rtol=1e-12, atol=1e-12)


def test_every_blocking_part_is_listed_in_one_error() -> None:
    with pytest.raises(TheorycheckError) as info:
        from_module(Tutorial(bias=True, bn=True, groups=2), "3x8x8")
    lines = str(info.value).splitlines()
    assert lines[0] == "Tutorial: 2 parts are not expressible in the graph DSL:"
    assert [line.split(" (")[0].strip() for line in lines[1:]] == ["bn1", "conv2"]
    assert "normalisation layers" in lines[1] and "groups=2 (a grouped or depthwise convolution)" in lines[2]


def test_biases_are_read_as_zero_and_named() -> None:
    """Issue 27 §3 (the from_module part): a biased Linear/Conv2d converts to the layer without bias, the module at
    He initialisation (``he_init`` zeroes biases); the notes name every biased layer. With its biases zeroed the
    module computes the DSL network (float64, loaded weights)."""
    from theorycheck.graph import convert_module

    conversion = convert_module(Tutorial(bias=True), "3x8x8")
    assert conversion.architecture == Architecture.parse(TUTORIAL)
    assert any(n.startswith("biases read as zero") and "conv1, fc2" in n for n in conversion.notes)
    module = Tutorial(bias=True).double().eval()
    program = compile_program(conversion.architecture, (3, 8, 8))
    weights = {k: v.to(torch.float64) for k, v in program.draw_block(0, torch.Generator().manual_seed(5), 2).items()}
    with torch.no_grad():
        for mod, op in zip(
            (module.conv1, module.conv2, module.conv3, module.fc1, module.fc2), program.weighted, strict=True
        ):
            mod.weight.copy_(weights[op.index][0].reshape(mod.weight.shape))
            if mod.bias is not None:
                mod.bias.zero_()
    x = torch.randn((2, 3, 8, 8), dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    theirs = module(torch.stack([x[0], x[0]]))[0]
    torch.testing.assert_close(theirs, program.forward(x, weights)[0], rtol=1e-12, atol=1e-12)


class _Reshaped(nn.Module):
    def __init__(self, reshape: Callable[[torch.Tensor], torch.Tensor], features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.reshape, self.fc = reshape, nn.Linear(features, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.reshape(self.conv(x)))


@pytest.mark.parametrize(
    ("reshape", "features", "expected"),
    [
        (lambda x: x.view(-1, 3 * 16), 48, "conv(3,3) flatten dense(1)"),
        (lambda x: x.reshape(x.shape[0], -1), 48, "conv(3,3) flatten dense(1)"),
        (lambda x: torch.flatten(x, 1), 48, "conv(3,3) flatten dense(1)"),
        (lambda x: x.flatten(1).contiguous(), 48, "conv(3,3) flatten dense(1)"),
        (lambda x: x.mean((2, 3)), 3, "conv(3,3) globalavgpool dense(1)"),
        (lambda x: F.adaptive_avg_pool2d(x, 1).view(x.size(0), 3), 3, "conv(3,3) globalavgpool dense(1)"),
    ],
)
def test_reshapes_are_read_from_their_shapes(reshape: Any, features: int, expected: str) -> None:
    assert from_module(_Reshaped(reshape, features), "2x4x4") == Architecture.parse(expected)


@pytest.mark.parametrize(
    ("reshape", "features", "message"),
    [
        (lambda x: x.view(-1, 24), 24, r"reshapes \(2, 3, 4, 4\) to \(4, 24\) .*only flattening each example"),
        (lambda x: x.view(x.size(0), 3, 16), 16, "reshapes"),
        (lambda x: x.mean(1).flatten(1), 16, r"averages \(2, 3, 4, 4\) to \(2, 4, 4\); only the mean over both"),
    ],
)
def test_a_reshape_that_mixes_examples_is_refused_with_its_shapes(reshape: Any, features: int, message: str) -> None:
    with pytest.raises(TheorycheckError, match=message):
        from_module(_Reshaped(reshape, features), "2x4x4")


@pytest.mark.parametrize(
    ("pad", "message"),
    [
        (nn.ReplicationPad2d(1), r"pad \(ReplicationPad2d\): replicate padding has no DSL counterpart"),
        (nn.ConstantPad2d(1, 0.5), r"pad \(ConstantPad2d\): pads the constant 0.5"),
        (nn.ZeroPad2d((2, 0, 2, 0)), r"pad \(padding\): pads \(2, 0, 2, 0\) before conv"),
    ],
)
def test_padding_the_dsl_lacks_is_refused_by_name(pad: nn.Module, message: str) -> None:
    module = nn.Sequential()
    module.add_module("pad", pad)
    module.add_module("conv", nn.Conv2d(2, 3, 3, bias=False))
    with pytest.raises(TheorycheckError, match=message):
        from_module(module, "2x6x6")


def test_a_padding_module_not_followed_by_a_conv_is_refused() -> None:
    module = nn.Sequential(nn.ZeroPad2d(1), nn.ReLU(), nn.Conv2d(2, 3, 3, bias=False))
    with pytest.raises(TheorycheckError, match=r"^0 \(ZeroPad2d\): padding is expressible only right before"):
        from_module(module, "2x6x6")


class _View(nn.Module):
    """``x.view(x.size(0), -1)``, the tutorials' flatten."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), -1)


def _tutorial_style(module: nn.Module, draw: Any) -> nn.Module:
    """The same network written another way: padding modules instead of ``F.pad``, ``view`` or ``torch.flatten``
    instead of ``nn.Flatten``, a Dropout after some activations. Shares the weight modules with ``module``."""
    from theorycheck.graph._to_module import _Branches, _Padded

    pads = {"constant": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d, "circular": nn.CircularPad2d}

    def rewrite(mod: nn.Module) -> nn.Module:
        if isinstance(mod, _Padded):
            before, after = mod.pad
            if not (before or after) or not draw(st.booleans()):
                return mod
            return nn.Sequential(pads[mod.mode]((before, after, before, after)), mod.conv)
        if isinstance(mod, nn.Flatten):
            return draw(st.sampled_from([_View(), mod]))
        if isinstance(mod, _Branches):
            mod.branches = nn.ModuleList([rewrite(b) for b in mod.branches])
            return mod
        if isinstance(mod, nn.Sequential):
            out: list[nn.Module] = []
            for child in mod:
                out.append(rewrite(child))
                if isinstance(child, nn.ReLU | nn.Tanh) and draw(st.booleans()):
                    out.append(nn.Dropout(0.5))
            return nn.Sequential(*out)
        return mod

    return rewrite(module).eval()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures(max_layers=4, vary_init=False), st.data())
def test_the_same_network_written_the_tutorials_way_converts_to_the_same_graph(
    case: tuple[Architecture, tuple[int, ...]], data: st.DataObject
) -> None:
    """Issue 24, on generated architectures: padding modules, ``view`` and Dropout give the same graph, and the
    rewritten module computes the same float64 outputs and input gradients as ``to_module``'s."""
    arch, shape = case
    module = to_module(arch, shape, dtype=torch.float64)
    module.reset_parameters(torch.Generator().manual_seed(0))
    x = torch.randn((2, *shape), dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    expected = module(x)
    (g_expected,) = torch.autograd.grad(expected.sum(), x)
    written = _tutorial_style(module, data.draw)
    assert _canonical(from_module(written, shape)) == _canonical(arch)
    got = written(x)
    (g_got,) = torch.autograd.grad(got.sum(), x)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_got, g_expected, rtol=1e-12, atol=1e-12)
