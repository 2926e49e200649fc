"""The text form and the builder describe the same graphs."""

from __future__ import annotations

import pytest

from theorycheck.graph import (
    Add,
    Architecture,
    Concat,
    Conv,
    Dense,
    Init,
    MaxPool,
    avgpool,
    concat,
    conv,
    dense,
    flatten,
    globalavgpool,
    globalmaxpool,
    identity,
    relu,
    repeat,
    residual,
    serial,
)

REQUIRED = {
    "dense(256) relu dense(256) relu dense(10)": (
        serial(dense(256), relu(), dense(256), relu(), dense(10)),
        "1024",
        (10,),
    ),
    "conv(64,3) relu conv(64,3,stride=2) relu flatten dense(10)": (
        serial(conv(64, 3), relu(), conv(64, 3, stride=2), relu(), flatten(), dense(10)),
        "3x32x32",
        (10,),
    ),
    "conv(64,3,padding=circular) relu avgpool(2) conv(64,3,padding=circular) relu globalavgpool dense(12)": (
        serial(
            conv(64, 3, padding="circular"),
            relu(),
            avgpool(2),
            conv(64, 3, padding="circular"),
            relu(),
            globalavgpool(),
            dense(12),
        ),
        "3x32x32",
        (12,),
    ),
    "[conv(64,3,dilation=2) relu]*8 globalmaxpool dense(12)": (
        serial(repeat(8, conv(64, 3, dilation=2), relu()), globalmaxpool(), dense(12)),
        "3x32x32",
        (12,),
    ),
    "conv(16,3) relu residual{conv(16,3) relu conv(16,3)} relu globalavgpool dense(10)": (
        serial(conv(16, 3), relu(), residual(conv(16, 3), relu(), conv(16, 3)), relu(), globalavgpool(), dense(10)),
        "3x32x32",
        (10,),
    ),
}


@pytest.mark.parametrize("text", list(REQUIRED))
def test_required_strings_parse_to_the_builder_graph(text: str) -> None:
    built, shape, out = REQUIRED[text]
    parsed = Architecture.parse(text)
    assert parsed == built
    assert parsed.output_shape(shape) == out
    assert Architecture.parse(parsed.to_text()) == parsed


def test_repetition_expands() -> None:
    arch = Architecture.parse("[conv(64,3,dilation=2) relu]*8 globalmaxpool dense(12)")
    assert len(arch) == 18
    assert sum(isinstance(n, Conv) for n in arch) == 8
    assert all(n.dilation == 2 for n in arch if isinstance(n, Conv))


def test_nested_repetition() -> None:
    arch = Architecture.parse("[[dense(4) relu]*2 dense(3)]*3 dense(1)")
    assert sum(isinstance(n, Dense) for n in arch) == 10


def test_residual_is_add_with_identity_and_prints_back() -> None:
    arch = Architecture.parse("conv(4,3) residual{conv(4,3) relu} flatten dense(2)")
    block = arch.layers[1]
    assert isinstance(block, Add)
    assert block.branches[1] == ()
    assert "residual{conv(4,3) relu}" in arch.to_text()
    assert Architecture.parse("conv(4,3) add{conv(4,3) relu | identity} flatten dense(2)") == arch


def test_concat_and_three_branches() -> None:
    arch = Architecture.parse("concat{conv(2,1) | conv(3,3,padding=circular) | identity} flatten dense(1)")
    node = arch.layers[0]
    assert isinstance(node, Concat)
    assert len(node.branches) == 3
    assert arch.shapes("3x4x4")[0][2] == (8, 4, 4)
    assert arch == serial(concat(conv(2, 1), conv(3, 3, padding="circular"), identity()), flatten(), dense(1))


def test_init_keywords() -> None:
    arch = Architecture.parse("dense(8,init=uniform,gain=1) relu dense(2,gain=0.5,scaling=none,init=rademacher)")
    first, _, last = arch.layers
    assert isinstance(first, Dense) and first.init == Init("uniform", 1.0, "fan_in")
    assert isinstance(last, Dense) and last.init == Init("rademacher", 0.5, "none")
    assert arch.to_text() == "dense(8,gain=1,init=uniform) relu dense(2,gain=0.5,init=rademacher,scaling=none)"


def test_padding_aliases_and_pool_stride() -> None:
    a = Architecture.parse("conv(4,3,padding=same) maxpool(3,stride=1) conv(4,3,padding=periodic) flatten dense(1)")
    assert a.layers[0] == conv(4, 3)
    assert a.layers[1] == MaxPool(3, 1)
    assert a.layers[2] == conv(4, 3, padding="circular")
    assert a.to_text() == "conv(4,3) maxpool(3,stride=1) conv(4,3,padding=circular) flatten dense(1)"


def test_keyword_and_positional_mix() -> None:
    assert Architecture.parse("conv(kernel=5, out=7, stride=2) flatten dense(1)").layers[0] == conv(7, 5, stride=2)


def test_parser_never_evaluates_code() -> None:
    from theorycheck.errors import ArchitectureError

    with pytest.raises(ArchitectureError, match="unexpected character"):
        Architecture.parse("dense(__import__('os').getpid())")
