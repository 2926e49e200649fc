"""What the committed calibration table measured (``benchmarks/CALIBRATION.md``), by interval method and setting
class, for each claim's guarantee to quote: a claim gets the coverage measured for its own class, or is told that
the coverage was not measured for its setting.

Setting classes (decided from a cell's architecture by :func:`setting_class`):

============= =======================================================================================
``dense``     Gaussian dense/ReLU chains (any gain, fan-in scaling; flatten allowed)
``relu-cnn``  stride-1 circular-padded Gaussian ReLU convolutions, flattened into a dense head
============= =======================================================================================

``tests/statistical/test_calibration.py`` checks every range below against the committed table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLASSES", "MEASURED", "MEASURED_COVERAGE", "Measured", "setting_class"]

CLASSES = {
    "dense": "Gaussian dense/ReLU chains",
    "relu-cnn": "stride-1 circular-padded ReLU CNNs with a flattened dense head",
}


@dataclass(frozen=True)
class Measured:
    """The coverage range of one interval method over the table's settings of one class (where the tail
    diagnostic let the interval through), at R replicates per setting."""

    low: float
    high: float
    replicates: int
    settings: str

    def text(self) -> str:
        return f"{self.low:.1%}–{self.high:.1%} over {self.settings} (R = {self.replicates})"


#: (part method, setting class) → what the table measured; the methods are those of ``theorycheck.claims.METHODS``
MEASURED: dict[tuple[str, str], Measured] = {}

#: the line the report's title page quotes
MEASURED_COVERAGE = (
    "measured coverage of the Student-t interval 93.8–96.4% wherever the tail diagnostic lets it through (light "
    "tails at 200 and 2,000 networks, a moderately heavy family at 2,000, Cochran's boundary at 300); exponents "
    "(GLM HC1) 94.6–95.6% (R = 500; benchmarks/CALIBRATION.md, 2026-12-02, 2-core CPU)"
)


def setting_class(arch: str) -> tuple[str | None, str]:
    """The calibration class of an architecture, or None and what takes it outside every measured class."""
    from theorycheck.graph import Architecture
    from theorycheck.graph._nodes import Activation, Branches, Conv, Dense, Flatten

    layers = Architecture.parse(arch).layers
    conv_seen = dense_seen = False
    for node in layers:
        if isinstance(node, Branches):
            return None, f"a {node.kind} branch"
        if isinstance(node, Dense | Conv) and node.init.dist != "normal":
            return None, f"{node.init.dist} weights"
        if isinstance(node, Conv):
            if dense_seen:
                return None, "a convolution after a dense layer"
            if node.padding != "circular" or node.stride != 1:
                return None, f"a convolution with {node.padding} padding and stride {node.stride}"
            conv_seen = True
        elif isinstance(node, Dense):
            dense_seen = True
        elif isinstance(node, Activation):
            if node.fn != "relu":
                return None, f"{node.fn} activations"
        elif not isinstance(node, Flatten):
            return None, node.kind
    if conv_seen and not dense_seen:
        return None, "a convolutional net without a dense head"
    return ("relu-cnn" if conv_seen else "dense"), ""
