"""The argument parser of every subcommand, with its help texts."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from theorycheck.claims._params import MAX_NETWORKS
from theorycheck.cli._commands import (
    _cmd_bench,
    _cmd_bound,
    _cmd_calibrate,
    _cmd_claims,
    _cmd_estimate,
    _cmd_plan,
    _cmd_predict,
    _cmd_report,
    _cmd_run,
)

_ARCH_HELP = (
    'architecture in the text form, e.g. "dense(256) relu dense(10)" or '
    '"[conv(64,3,padding=circular) relu]*4 globalavgpool dense(12)" (quote it)'
)
_INPUT_HELP = "input shape: D for a vector (e.g. 1024) or CxHxW for an image (e.g. 3x32x32)"

_EPILOG = """\
layers: dense(out) conv(out,k[,stride=,dilation=,padding=zero|valid|circular|reflect])
        avgpool(k[,stride]) maxpool(k[,stride]) relu tanh sigmoid softplus flatten
        globalavgpool globalmaxpool; weighted layers take gain=2 (He, Var=gain/fan_in),
        init=normal|uniform|rademacher, scaling=fan_in|none.
structure: [layers]*N repeats; add{a | b} and concat{a | b} run branches in
        parallel; residual{body} is add{body | identity}.
"""


def _network_count(text: str) -> int:
    value = _positive_int(text)
    if not 2 <= value <= MAX_NETWORKS:
        raise argparse.ArgumentTypeError(
            f"expected from 2 (an interval needs a standard deviation) to {MAX_NETWORKS} networks, got {value}"
        )
    return value


def _kernel_inputs(text: str) -> int:
    value = _positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(
            f"expected at most 1000 inputs (each is a full kernel-level pass), got {value}"
        )
    return value


def _bounded_positive_int(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_NETWORKS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_NETWORKS}, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    """A seed, index or offset: 0 to 2^63 - 1, ASCII digits."""
    if not re.fullmatch(r"[0-9]{1,19}", text.strip()):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"expected a non-negative integer below 2^63 in ASCII digits, got {shown!r}")
    value = int(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"expected at most 2^63 - 1, got {value}")
    return value


def _positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", text.strip()):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"expected a positive integer in ASCII digits, got {shown!r}")
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_conv_kernel(p: argparse.ArgumentParser, more: str = "") -> None:
    p.add_argument(
        "--conv-kernel",
        choices=("grouped", "triton"),
        default="grouped",
        help="grouped (default): one grouped convolution per layer; triton: the implicit-GEMM Triton kernel for "
        "stride-1 zero/valid/circular convolutions (CUDA, fp32 or tf32; others stay grouped)" + more,
    )


class _Parser(argparse.ArgumentParser):
    """One line on a usage error (the message and where to read more), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="theorycheck",
        description="Check theorems about random neural networks against the networks themselves.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from theorycheck import __version__

    parser.add_argument("--version", action="version", version=f"theorycheck {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an internal error (exit status 3); accepted anywhere on the command line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "predict",
        help="exact (H)-theory predictions for an architecture",
        description=(
            "Compute, exactly and from the graph alone, what the theory of Simon-Gabriel et al. (2019) "
            "predicts for the input gradient of one logit: path counts, the Lemma 7 and Lemma 8 sums, "
            "whether the symmetry assumption (S) holds, and the predicted E[(∂f_k/∂x_i)²] map with "
            "E‖∂f_k‖₂², E‖∂f_k‖₁ and E‖∂f_k‖_∞."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", nargs="?", default=None, help=_ARCH_HELP + "; or give --module")
    p.add_argument(
        "--module",
        default=None,
        metavar="PKG.MOD:FACTORY",
        help="an nn.Module from an importable factory (called without arguments), converted with torch.fx",
    )
    p.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    p.add_argument("--output", type=_nonnegative_int, default=0, metavar="K", help="index of the logit f_K (default 0)")
    p.add_argument(
        "--level",
        choices=("H", "kernel"),
        default="H",
        help="H: the papers' hypotheses (exact, input-independent); kernel: the infinite-width NNGP "
        "kernel's mixed derivative, averaged over --inputs random inputs (ReLU, conv, dense, "
        "average pooling; up to about 3x16x16 in seconds)",
    )
    p.add_argument(
        "--inputs", type=_kernel_inputs, default=3, metavar="N", help="random inputs for --level kernel (1 to 1000)"
    )
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the random inputs for --level kernel")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(func=_cmd_predict)

    from theorycheck.sampler import PRECISIONS

    e = sub.add_parser(
        "estimate",
        help="Monte Carlo estimates over sampled networks, next to the predictions",
        description=(
            "Sample N independently He-initialised networks (each with its own weights and input), measure the "
            "input gradient of the target, and print the mean of each statistic with a 95%% confidence interval "
            "clustered by network, the theory's prediction and the relative deviation. coord_var is the mean over "
            "inputs of E[g_i²]; grad_sq_norm, grad_l1 and grad_linf are E‖g‖₂², E‖g‖₁ and E‖g‖_∞."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("arch", metavar="ARCH", help=_ARCH_HELP)
    e.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    e.add_argument(
        "--networks",
        type=_network_count,
        default=2000,
        metavar="N",
        help="number of networks, 2 to 10^7 (default 2000); above 20,000 a pilot times the run first",
    )
    e.add_argument(
        "--yes",
        action="store_true",
        help="run even when the pilot estimates more than an hour (otherwise the run is refused with the estimate)",
    )
    e.add_argument(
        "--target",
        choices=("logit", "logits", "loss"),
        default="logit",
        help="gradient of logit K (default), of every logit (averaged per network), or of the cross-entropy loss",
    )
    e.add_argument(
        "--output", type=_nonnegative_int, default=0, metavar="K", help="logit index for --target logit (default 0)"
    )
    e.add_argument(
        "--loss-class", default="argmax", metavar="C", help="class of the loss: argmax (default), random, or an index"
    )
    e.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    e.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="fp32 (default; TF32 off), fp64, tf32 or bf16"
    )
    _add_conv_kernel(e)
    e.add_argument(
        "--method",
        choices=("auto", "explicit", "conditional"),
        default="auto",
        help="explicit weights, or exact conditional-Gaussian draws for dense stacks (auto picks)",
    )
    e.add_argument(
        "--chunk",
        type=_positive_int,
        default=None,
        metavar="B",
        help="networks per step (default: from the memory available)",
    )
    e.add_argument("--seed", type=_nonnegative_int, default=0, help="network i depends only on (seed, i) (default 0)")
    e.add_argument(
        "--no-kernel",
        action="store_true",
        help="skip the kernel-level (infinite-width) prediction (computed for layers of up to 1024 positions; "
        "smooth activations on 3x16x16 take about a minute)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_cmd_estimate)

    bd = sub.add_parser(
        "bound",
        help="Peck et al.'s layer-by-layer robustness lower bound, against a minimal-norm attack",
        description=(
            "For sampled He-initialised networks and Gaussian inputs (float64, CPU): the chained lower bound on "
            "the l2 norm of any class-changing perturbation. It starts at the logits (Theorem A.3: kappa) and "
            "goes back through every layer (dense + smooth activation: Taylor rule of A.2 with Algorithm A.1's "
            "M; dense: kappa/||W||_2; conv: kappa/||W||_F; pooling: kappa/t; 1-Lipschitz activations: kappa). "
            "Prints each layer's kappa, the input bound, the smallest verified perturbation found by DeepFool "
            "+ bisection, and, along it, each rule's ratio Dout/L(Din) (> 1: that rule fails there)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bd.add_argument("arch", metavar="ARCH", help=_ARCH_HELP)
    bd.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    bd.add_argument(
        "--networks", type=_bounded_positive_int, default=1, metavar="N", help="networks (default 1, at most 10^7)"
    )
    bd.add_argument("--seed", type=_nonnegative_int, default=0, help="network i depends only on (seed, i) (default 0)")
    bd.add_argument("--start", type=_nonnegative_int, default=0, metavar="I", help="first network index (default 0)")
    bd.add_argument("--no-attack", action="store_true", help="only the bound, no minimal-norm attack")
    bd.add_argument("--json", action="store_true", help="print a JSON list, one object per network")
    bd.set_defaults(func=_cmd_bound)

    b = sub.add_parser(
        "bench",
        help="time the sampler against a per-network loop and torch.func.vmap",
        description=(
            "Time theorycheck's sampler (weight sampling + forward + input gradient of one logit) against what "
            "a user would otherwise write on the same networks, precision and count: a per-network nn.Module "
            "loop, torch.func.vmap over stacked parameters (stack_module_state + functional_call), and for dense "
            "nets torch.bmm over explicitly drawn weight matrices. Prints nets/s, the ratio to each peer, the achieved "
            "FLOP rate next to a matmul peak measured on the same device, and the peak memory per network (CUDA). "
            "Configs: dense 4x1024 at d in {3072, 49152, 196608} and the paper's CNN (8 conv layers, 64 channels, "
            "3x3, circular) at 32-256 px on CUDA; a smaller set on the CPU."
        ),
    )
    b.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    b.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp32 (default; TF32 off), tf32, ...")
    _add_conv_kernel(b, " (with triton, only the convolutional configs run)")
    b.add_argument("--json", action="store_true", help="print a JSON list")
    b.set_defaults(func=_cmd_bench)

    r = sub.add_parser(
        "run",
        help="run a TOML study: every selected claim, with verdicts and evidence",
        description=(
            "Run (or resume) a study. Each claim's cells (batches of sampled networks, path products, graph "
            "computations) are stored in OUT as Parquet rows with JSON metadata; complete cells are reused, "
            "partial or corrupt ones recomputed, so an interrupted run loses nothing. Writes OUT/verdicts.json "
            "(claim, verdict, predicted, measured, ci, rel_dev, n_networks, negative_control, evidence) and "
            "OUT/results.json (every part). Exit status: 0 when complete, 2 on bad input, and with --strict 1 if "
            "a verdict is refuted, inconclusive or an error, rests on part of its claim (allow_partial = true in "
            "the claim's table accepts that), or comes with a negative control that was not refuted."
        ),
    )
    r.add_argument("study", metavar="STUDY.toml", help="study file (see studies/)")
    r.add_argument("--out", required=True, metavar="DIR", help="output directory (created; reused to resume)")
    r.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help=(
            "run cells on a local Dask cluster of N worker processes; with a CUDA device the Monte Carlo cells "
            "stay in this process (one owner of the card) while the workers run the CPU cells at the same time"
        ),
    )
    r.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="use an existing Dask cluster (OUT must be on a filesystem its workers share)",
    )
    r.add_argument("--report", default=None, metavar="PDF", help="also build the PDF report")
    r.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    r.add_argument(
        "--strict",
        action="store_true",
        help=(
            "exit 1 if any verdict is refuted, inconclusive or an error, is judged on part of its claim, or has a "
            "negative control that was not refuted"
        ),
    )
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser(
        "claims",
        help="list the claim catalogue (and registered user claims)",
        description="Every claim of CLAIMS.md: ID, source, kind, whether it is implemented; then the claims "
        "registered by installed packages (entry-point group theorycheck.claims) and by --plugin modules; with "
        "--json also its statement, prediction and study parameters with defaults.",
    )
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import MODULE and list the claims it registers (repeatable; entry points are always listed)",
    )
    c.set_defaults(func=_cmd_claims)

    cal = sub.add_parser(
        "calibrate",
        help="measure the coverage of the verdicts' 95%% intervals where the truth is exact",
        description=(
            "Repeat each interval method (Student-t, the verdicts' interval for means; the BCa bootstrap, for "
            "comparison; the GLM HC1 slope and its WLS cross-check) on R independent replicates of settings whose "
            "truth is exact (FC He nets: E‖∂f‖² = 2, slope −1 in d; deep narrow nets for heavy tails), and print "
            "the fraction of intervals that contain the truth with its Clopper–Pearson interval. Replicates that "
            "fail the tail diagnostic (Cochran's rule with the theory's exact skewness where the graph is a "
            "Gaussian dense/ReLU chain, else Hill's index) are counted apart (the verdicts call them inconclusive)."
        ),
    )
    cal.add_argument("--replicates", type=_bounded_positive_int, default=500, metavar="R", help="replicates (500)")
    cal.add_argument("--quick", action="store_true", help="only the CI-sized settings (n = 200 networks)")
    cal.add_argument(
        "--setting",
        action="append",
        default=None,
        metavar="TEXT",
        help="only the settings whose name contains TEXT (repeatable; e.g. 'moderate', 'n=2000')",
    )
    cal.add_argument("--json", action="store_true", help="print JSON rows")
    cal.add_argument("--output", default=None, metavar="FILE.md", help="also write the table with date and device")
    cal.set_defaults(func=_cmd_calibrate)

    pl = sub.add_parser(
        "plan",
        help="size each claim's network budget by a pilot: networks for a decisive verdict, and the time",
        description=(
            "Run a pilot of N networks per cell for every claim of the study that has a network budget, then report "
            "for each the networks per cell that give a decisive verdict (verified, refuted or approximate rather "
            "than inconclusive) with probability [study] power (default 95%%) at its margins, from the pilot's "
            "deviation and standard error "
            "(a normal power calculation, α split over the planned looks), and the estimated time on this device. "
            'A study may write networks = "auto" to use the plan (capped by max_networks).'
        ),
    )
    pl.add_argument("study", metavar="STUDY.toml", help="the study file")
    pl.add_argument("--pilot", type=_positive_int, default=200, metavar="N", help="networks per cell in the pilot")
    pl.add_argument("--json", action="store_true", help="print JSON rows")
    pl.set_defaults(func=_cmd_plan)

    from theorycheck.cli._check import add_check_parser

    add_check_parser(sub, network_count=_network_count, nonnegative_int=_nonnegative_int)

    rep = sub.add_parser(
        "report",
        help="typeset the PDF report of a study's output directory",
        description="Build the typeset PDF report (typst) of a study: title page with provenance, "
        "summary table, one section per claim with its regression table, verdict, "
        "negative control and figures.",
    )
    rep.add_argument("dir", metavar="DIR", help="output directory of `theorycheck run`")
    rep.add_argument("-o", "--output", required=True, metavar="PDF", help="path of the PDF to write")
    rep.set_defaults(func=_cmd_report)
    return parser
