"""The argument parser: the top-level options, then each subcommand's ``add_<command>`` (defined beside the
command itself), in the order ``--help`` lists them."""

from __future__ import annotations

import argparse

from theorycheck.cli._architecture import add_bench, add_bound, add_estimate, add_predict
from theorycheck.cli._args import EPILOG, Parser
from theorycheck.cli._check import add_check
from theorycheck.cli._studies import add_calibrate, add_claims, add_plan, add_report, add_run

__all__ = ["build_parser"]

#: the subcommands in the order of ``theorycheck --help``
SUBCOMMANDS = (add_predict, add_estimate, add_bound, add_bench, add_run, add_claims, add_calibrate, add_plan)
#: after ``check``
LAST = (add_report,)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = Parser(
        prog="theorycheck",
        description="Check theorems about random neural networks against the networks themselves.",
        epilog=EPILOG,
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
    for add in (*SUBCOMMANDS, add_check, *LAST):
        add(sub)
    return parser
