"""What every subcommand's parser shares: help texts, argument types with one-line refusals, the parser class."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from theorycheck._options import MAX_NETWORKS

__all__ = [
    "ARCH_HELP",
    "EPILOG",
    "INPUT_HELP",
    "Parser",
    "add_conv_kernel",
    "bounded_positive_int",
    "kernel_inputs",
    "network_count",
    "nonnegative_int",
    "positive_int",
]

ARCH_HELP = (
    'architecture in the text form, e.g. "dense(256) relu dense(10)" or '
    '"[conv(64,3,padding=circular) relu]*4 globalavgpool dense(12)" (quote it)'
)
INPUT_HELP = "input shape: D for a vector (e.g. 1024) or CxHxW for an image (e.g. 3x32x32)"

EPILOG = """\
layers: dense(out) conv(out,k[,stride=,dilation=,padding=zero|valid|circular|reflect])
        avgpool(k[,stride]) maxpool(k[,stride]) relu tanh sigmoid softplus flatten
        globalavgpool globalmaxpool; weighted layers take gain=2 (He, Var=gain/fan_in),
        init=normal|uniform|rademacher, scaling=fan_in|none.
structure: [layers]*N repeats; add{a | b} and concat{a | b} run branches in
        parallel; residual{body} is add{body | identity}.
"""


def network_count(text: str) -> int:
    value = positive_int(text)
    if not 2 <= value <= MAX_NETWORKS:
        raise argparse.ArgumentTypeError(
            f"expected from 2 (an interval needs a standard deviation) to {MAX_NETWORKS} networks, got {value}"
        )
    return value


def kernel_inputs(text: str) -> int:
    value = positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(
            f"expected at most 1000 inputs (each is a full kernel-level pass), got {value}"
        )
    return value


def bounded_positive_int(text: str) -> int:
    value = positive_int(text)
    if value > MAX_NETWORKS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_NETWORKS}, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """A seed, index or offset: 0 to 2^63 - 1, ASCII digits."""
    if not re.fullmatch(r"[0-9]{1,19}", text.strip()):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"expected a non-negative integer below 2^63 in ASCII digits, got {shown!r}")
    value = int(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"expected at most 2^63 - 1, got {value}")
    return value


def positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", text.strip()):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"expected a positive integer in ASCII digits, got {shown!r}")
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_conv_kernel(p: argparse.ArgumentParser, more: str = "") -> None:
    p.add_argument(
        "--conv-kernel",
        choices=("grouped", "triton"),
        default="grouped",
        help="grouped (default): one grouped convolution per layer; triton: the implicit-GEMM Triton kernel for "
        "stride-1 zero/valid/circular convolutions (CUDA, fp32 or tf32; others stay grouped)" + more,
    )


class Parser(argparse.ArgumentParser):
    """One line on a usage error (the message and where to read more), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
