"""The public strategies catch only the toolkit's own refusals: a bug in a shape rule fails the test that drew it.

Planted defect: ``strategies.py`` used to catch every exception while building architectures, so a shape rule that
crashed (here: a ZeroDivisionError in the rule for convolutions) just made the strategy draw something else.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from theorycheck import strategies
from theorycheck.graph import Conv


def test_a_crashing_shape_rule_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = strategies.node_output_shape

    def broken(node, shape):  # type: ignore[no-untyped-def]
        if isinstance(node, Conv):
            raise ZeroDivisionError("planted bug in the conv shape rule")
        return real(node, shape)

    monkeypatch.setattr(strategies, "node_output_shape", broken)

    @settings(max_examples=30, deadline=None, database=None)
    @given(strategies.architectures(input_shapes=strategies.image_shapes(), min_layers=2))
    def draw(arch: object) -> None:
        pass

    with pytest.raises(ZeroDivisionError, match="planted bug"):
        draw()
