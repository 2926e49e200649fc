"""A progress bar over a study's cells (stderr; silent when stderr is not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cell_progress"]


@contextmanager
def cell_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(cell, done, total)`` callback drawing one tqdm bar, closed on exit."""
    bar: Any = None

    def progress(cell: str, done: int, total: int) -> None:
        nonlocal bar
        from tqdm import tqdm

        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, desc="cells", unit="cell", file=sys.stderr, disable=None, leave=False)
        bar.n = done
        bar.set_postfix_str(cell[-48:], refresh=True)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
