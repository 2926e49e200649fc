"""Output paths checked before any work starts.

A study can run for minutes; a report path that cannot be written must fail at once, with the path and the
reason, not after the work. These checks create nothing: they only look at what exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from theorycheck.errors import TheorycheckError

__all__ = ["check_output_dir", "check_output_file"]


def _check_parents(path: Path, what: str) -> None:
    """Every existing ancestor must be a writable directory."""
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise TheorycheckError(f"{what}: {parent} is a file, not a directory, so {path} cannot be created")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise TheorycheckError(f"{what}: cannot write into {parent} (permission denied)")
            return


def check_output_file(path: str | Path, what: str, *, example: str = "reports/study.pdf") -> Path:
    """A file that will be (over)written: not empty, not a directory, under writable directories."""
    if str(path).strip() == "":
        raise TheorycheckError(f"{what}: the path is empty; give a file name, e.g. {example}")
    p = Path(path)
    if p.is_dir():
        raise TheorycheckError(f"{what}: {p} is a directory; give a file path, e.g. {p / Path(example).name}")
    if p.exists() and not os.access(p, os.W_OK):
        raise TheorycheckError(f"{what}: {p} exists and cannot be overwritten (permission denied)")
    _check_parents(p, what)
    return p


def check_output_dir(path: str | Path, what: str, *, example: str = "runs/study") -> Path:
    """A directory that will hold results: not empty, not a file, under writable directories."""
    if str(path).strip() == "":
        raise TheorycheckError(f"{what}: the path is empty; give a directory, e.g. {example}")
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise TheorycheckError(f"{what}: {p} is a file, not a directory; give a directory, e.g. {example}")
        if not os.access(p, os.W_OK | os.X_OK):
            raise TheorycheckError(f"{what}: cannot write into {p} (permission denied)")
        return p
    _check_parents(p, what)
    return p
