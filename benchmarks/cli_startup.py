"""Wall-clock start-up of the command line: what a user waits for before the first line of output.

    python benchmarks/cli_startup.py [--repeats 5]

Each command runs as its own process (``python -m theorycheck …``, the console script's code path) in an empty
directory; the table shows the median and the fastest of ``--repeats`` runs, in seconds. Issue 24's goal: under
1.5 s on 2 cores for ``--version``, ``--help``, ``claims`` and ``predict`` of a small graph at the (H) level.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ["--version"],
    ["--help"],
    ["claims"],
    ["predict", "dense(8) relu dense(1)", "--input", "8"],
    ["predict", "conv(8,3) relu conv(8,3,stride=2) relu flatten dense(10)", "--input", "3x16x16"],
    ["predict", "--help"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| command | median (s) | fastest (s) |\n|---|---:|---:|")
    with tempfile.TemporaryDirectory() as cwd:
        for command in COMMANDS:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                argv = [sys.executable, "-m", "theorycheck", *command]
                subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            shown = " ".join(f"'{c}'" if " " in c else c for c in command)
            print(f"| `theorycheck {shown}` | {statistics.median(times):.2f} | {min(times):.2f} |")


if __name__ == "__main__":
    main()
