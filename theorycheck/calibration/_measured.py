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

__all__ = ["CLASSES", "MEASURED", "MEASURED_COVERAGE", "TABLE_METHODS", "Measured", "setting_class"]

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
        span = f"{self.low:.1%}" if self.low == self.high else f"{self.low:.1%}–{self.high:.1%}"
        return f"{span} over {self.settings} (R = {self.replicates}, benchmarks/CALIBRATION.md, {MEASURED_ON})"


MEASURED_ON = "2026-12-04"
#: which table rows measure which part method (the rest, BCa and WLS, are not what a verdict uses)
TABLE_METHODS = {
    "student-t (verdicts)": "mean",
    "value part (Student-t)": "mean",
    "GLM Gamma/log, HC1 (slope)": "slope",
    "ratio part (delta-method log ratio)": "ratio",
    "ratio slope (GLM, HC1)": "ratio-slope",
}

#: (part method, setting class) → what the table measured; the methods are those of ``theorycheck.claims.METHODS``
MEASURED: dict[tuple[str, str], Measured] = {
    ("mean", "dense"): Measured(0.942, 0.962, 1000, "18 settings and grid points, widths 16–128, d 8–1024"),
    ("slope", "dense"): Measured(0.950, 0.951, 1000, "2 settings, d 16–256"),
    ("ratio", "dense"): Measured(0.938, 0.955, 1000, "6 grid points, widths 16–128, d 16–1024"),
    ("ratio-slope", "dense"): Measured(0.934, 0.934, 1000, "1 setting, d 16–1024"),
    ("mean", "relu-cnn"): Measured(0.941, 0.953, 1000, "2 settings, 4 and 8 channels on 3×8×8"),
}

#: the line the report's title page quotes
MEASURED_COVERAGE = (
    "every interval a verdict uses covered 93.4–96.2% wherever the tail diagnostic let it through, on Gaussian "
    f"dense/ReLU chains and one circular ReLU CNN (R = 1,000; benchmarks/CALIBRATION.md, {MEASURED_ON}, 2-core CPU)"
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
