"""Every invalid architecture gets one clear error naming the token and its position."""

from __future__ import annotations

import pytest

from theorycheck.errors import ArchitectureError, InputShapeError
from theorycheck.graph import Architecture, parse_input_shape

# (text, input shape, expected message fragment, expected position of the token)
CASES = [
    ("dens(256) relu dense(10)", "1024", "unknown layer 'dens'; did you mean 'dense'?", 0),
    ("dense(256) rellu dense(10)", "1024", "did you mean 'relu'?", 11),
    ("dense(256) blorp dense(10)", "1024", "unknown layer 'blorp'", 11),
    ("dense(0) relu dense(10)", "1024", "'out' must be a positive integer, got 0", 6),
    ("conv(64,-3) flatten dense(10)", "3x8x8", "'kernel' must be a positive integer, got -3", 8),
    ("conv(64,3,stride=0) flatten dense(10)", "3x8x8", "'stride' must be a positive integer", 17),
    ("avgpool(0) flatten dense(2)", "3x8x8", "'kernel' must be a positive integer", 8),
    ("dense(2.5)", "4", "'out' must be an integer, got '2.5'", 6),
    ("conv(4,5,padding=valid) flatten dense(1)", "3x4x4", "kernel extent 5", 0),
    ("conv(4,3,dilation=3,padding=valid) flatten dense(1)", "3x6x6", "kernel extent 7", 0),
    ("maxpool(5) flatten dense(1)", "3x4x4", "window 5 is larger than its input 4x4", 0),
    ("add{conv(4,3) | conv(4,3,stride=2)} flatten dense(1)", "3x8x8", "add: branch shapes differ (4x8x8, 4x4x4)", 0),
    ("add{dense(3) | dense(4)} dense(1)", "5", "add: branch shapes differ", 0),
    ("conv(4,3) add{conv(4,3) | conv(5,3)} flatten dense(1)", "3x8x8", "add: branch shapes differ", 10),
    ("conv(8,3) relu", "3x8x8", "missing output layer", 10),
    ("conv(8,3)", "3x8x8", "missing output layer", 0),
    ("", "10", "empty architecture", None),
    ("[conv(64,3) relu]* dense(2)", "3x8x8", "malformed repetition", 19),
    ("[conv(64,3) relu]*0 flatten dense(2)", "3x8x8", "count after '*' must be a positive integer, got 0", 18),
    ("[conv(64,3) relu] flatten dense(2)", "3x8x8", "write '*N' right after ']'", 16),
    ("[conv(64,3) relu flatten dense(2)", "3x8x8", "unclosed '['", 0),
    ("conv(64,3) relu]*2 flatten dense(2)", "3x8x8", "']' without a matching '['", 15),
    ("[]*3 dense(2)", "4", "empty repetition", 0),
    ("conv(64,3) relu*2 flatten dense(2)", "3x8x8", "'*N' must follow the ']'", 15),
    ("conv(4,3,strde=2) flatten dense(2)", "3x8x8", "conv has no parameter 'strde'; did you mean 'stride'?", 9),
    ("conv(4,3,padding=circ) flatten dense(2)", "3x8x8", "did you mean 'circular'?", 17),
    ("conv(4) flatten dense(1)", "3x8x8", "conv needs its 'kernel' argument", 0),
    ("relu(3) dense(1)", "4", "relu takes no arguments", 5),
    ("dense(2,3)", "4", "dense takes at most 1 positional", 8),
    ("dense(2,out=3)", "4", "'out' is given twice", 8),
    ("dense(2", "4", "expected ',' or ')'", 7),
    ("dense(10) conv(3,3) flatten dense(1)", "3x8x8", "dense needs a vector input but receives an image 3x8x8", 0),
    ("flatten conv(3,3) dense(1)", "3x8x8", "conv needs an image input", 8),
    ("add{conv(4,3) dense(2)} flatten dense(1)", "3x8x8", "add needs at least two branches", 0),
    ("residual{conv(3,3) | identity} flatten dense(1)", "3x8x8", "residual{...} takes one branch", 0),
    ("add conv(3,3)", "3x8x8", "'add' needs its branches in braces", 4),
    ("add{conv(3,3) | identity flatten dense(1)", "3x8x8", "unclosed '{' of 'add'", 0),
    ("dense(4) $ dense(1)", "4", "unexpected character '$'", 9),
    ("conv(4,3,padding=reflect) flatten dense(1)", "3x1x1", "reflect padding of 1 needs an input height above it", 0),
    ("conv(4,3,dilation=4,padding=circular) flatten dense(1)", "3x3x3", "circular padding of 4 exceeds", 0),
    ("concat{dense(3) | conv(3,3)} dense(1)", "4", "conv needs an image input", 18),
    ("conv(4,3) concat{identity | avgpool(2)} flatten dense(1)", "3x8x8", "concat: branch shapes", 10),
    ("dense(4,gain=-1)", "4", "gain must be a positive finite number", 0),
    ("dense(4,init=gaussian)", "4", "unknown init 'gaussian'", 13),
]


@pytest.mark.parametrize(("text", "shape", "fragment", "position"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_invalid_architecture_gets_a_located_message(
    text: str, shape: str, fragment: str, position: int | None
) -> None:
    with pytest.raises(ArchitectureError) as info:
        Architecture.parse(text).output_shape(shape)
    err = info.value
    assert fragment in err.message, err.message
    assert err.position == position, str(err)
    if position is not None:
        rendered = str(err)
        assert text in rendered
        caret_line = rendered.splitlines()[-1]
        assert caret_line.index("^") - 2 == position


def test_error_message_is_one_line_plus_caret() -> None:
    with pytest.raises(ArchitectureError) as info:
        Architecture.parse("dense(256) rellu dense(10)")
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert lines[2].strip() == "^" * len("rellu")


@pytest.mark.parametrize("bad", ["", "3x", "x3", "3x32", "0", "3x0x4", "3x4x4x4", "a", "-4"])
def test_bad_input_shapes(bad: str) -> None:
    with pytest.raises(InputShapeError):
        parse_input_shape(bad)


@pytest.mark.parametrize(("spec", "shape"), [("1024", (1024,)), ("3x32x32", (3, 32, 32)), (" 3X8x8 ", (3, 8, 8))])
def test_good_input_shapes(spec: str, shape: tuple[int, ...]) -> None:
    assert parse_input_shape(spec) == shape


def test_builder_validates_sizes_eagerly() -> None:
    from theorycheck.graph import conv, dense, repeat

    with pytest.raises(ArchitectureError, match="output size must be a positive integer"):
        dense(0)
    with pytest.raises(ArchitectureError, match="dilation must be a positive integer"):
        conv(3, 3, dilation=0)
    with pytest.raises(ArchitectureError, match="count must be a positive integer"):
        repeat(0, dense(2))


def test_a_long_text_is_echoed_around_the_error_only() -> None:
    """At most ~40 characters each side of the token, with ellipses, and the caret still under it."""
    text = "relu " * 2000 + "rellu " + "relu " * 2000 + "dense(1)"
    with pytest.raises(ArchitectureError) as info:
        Architecture.parse(text)
    _, echo, caret = str(info.value).splitlines()
    assert len(echo) < 140 and echo.strip().startswith("…") and echo.endswith("…")
    assert echo[caret.index("^") : caret.index("^") + 5] == "rellu"
