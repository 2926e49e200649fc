"""The architecture parser under fuzzing: random strings and mutations of valid texts.

Whatever the text, only :class:`ArchitectureError` may escape (no IndexError, RecursionError, MemoryError or
numpy error), and whatever parses prints back to a text that parses to the same graph (text → graph → text is
a fixed point). Mutations start from valid texts of the public ``architectures`` strategy and cut, duplicate,
insert or replace pieces, so the search spends its budget near the grammar's edges.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theorycheck.errors import ArchitectureError
from theorycheck.graph import Architecture
from theorycheck.graph._text import MAX_NESTING
from theorycheck.strategies import architectures

TOKENS = [
    "dense(", "conv(", "avgpool(", "maxpool(", "relu", "tanh", "flatten", "globalavgpool", "add{", "concat{",
    "residual{", "identity", "[", "]", "]*", "*", "(", ")", "{", "}", "|", ",", "=", "gain=", "stride=",
    "padding=", "circular", "3", "0", "-1", "2.5", "1e400", "99999999999999999999", "１", " ", "\n", "@", "\x00",
]  # fmt: skip


def _parse(text: str) -> Architecture | ArchitectureError:
    try:
        return Architecture.parse(text)
    except ArchitectureError as exc:
        return exc


def check_text(text: str) -> None:
    """Parse ``text``; only ArchitectureError may escape, and a parsed graph round-trips through its text."""
    arch = _parse(text)
    if isinstance(arch, ArchitectureError):
        assert str(arch)  # a message, and one that renders
        return
    again = Architecture.parse(arch.to_text())
    assert again == arch
    assert again.to_text() == arch.to_text()


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join) | st.text(max_size=60))
def test_random_text_raises_only_architecture_errors(text: str) -> None:
    check_text(text)


@st.composite
def mutated(draw: Any) -> str:
    arch, _ = draw(architectures(max_layers=4))
    text = arch.to_text()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        op = draw(st.sampled_from(["cut", "duplicate", "insert", "replace"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        else:
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_valid_text_raises_only_architecture_errors(text: str) -> None:
    check_text(text)


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(1, 3 * MAX_NESTING),
    kind=st.sampled_from(["[", "add{", "concat{", "residual{"]),
    count=st.integers(1, 3),
)
def test_deep_nesting_is_refused_or_round_trips(depth: int, kind: str, count: int) -> None:
    """Up to the limit the graph parses, prints and compares without recursion errors; beyond it the parser
    names the limit."""
    close = {"[": f"]*{count}", "add{": "|identity}", "concat{": "|identity}", "residual{": "}"}[kind]
    text = kind * depth + "relu" + close * depth + " dense(1)"
    arch = _parse(text)
    if isinstance(arch, ArchitectureError):
        assert depth > MAX_NESTING or "repetition" in str(arch) or "layers" in str(arch)
        assert "limit" in str(arch) or "deeper than" in str(arch)
        return
    assert depth <= MAX_NESTING
    assert Architecture.parse(arch.to_text()) == arch
