"""The ``theorycheck`` command line.

Every subcommand prints one clear message and exits with status 2 on bad input
(an unknown layer, a bad shape, ...), never a traceback. Anything else that
escapes a command is an internal error: one line with the exception's type and
message, the command, a hint to rerun with ``--debug`` (which shows the
traceback), and exit status 3.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from theorycheck.cli._parser import build_parser
from theorycheck.errors import TheorycheckError

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "build_parser", "main"]

#: exit status for bad input (a message names the problem)
EXIT_BAD_INPUT = 2
#: exit status for an internal error (a bug: please report it with the --debug traceback)
EXIT_INTERNAL = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``theorycheck`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    args_list = [a for a in args_list if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return func(args)
    except TheorycheckError as exc:
        print(f"theorycheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print(
            f"theorycheck {args.command}: error: out of memory; use a smaller input, width or --chunk", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"theorycheck {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: no traceback unless asked for
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())[:300]
        hint = "" if debug else "; rerun with --debug for the traceback"
        print(
            f"theorycheck {args.command}: internal error: {type(exc).__name__}: {message}{hint}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
