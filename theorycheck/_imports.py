"""Importing the user's own code by name (``pkg.mod:attr``), as pytest imports plugins: never by evaluating text."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from theorycheck.errors import TheorycheckError

__all__ = ["call_factory", "import_object", "searchable"]


def searchable(folders: Iterable[str] = ()) -> None:
    """Put ``folders`` and the working directory on ``sys.path`` (as ``python -m`` and pytest do)."""
    for folder in [os.getcwd(), *folders][::-1]:
        if folder not in sys.path:
            sys.path.insert(0, folder)


def import_object(ref: str, *, what: str) -> Any:
    """The object behind ``"pkg.mod:qualname"``; a one-line error naming ``what`` otherwise."""
    module, sep, qualname = ref.partition(":")
    parts = [*module.split("."), *qualname.split(".")]
    if not sep or not all(p.isidentifier() for p in parts):
        raise TheorycheckError(f"{what}: write PKG.MOD:NAME (a module and a name in it), got {ref!r}")
    searchable()
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except TheorycheckError:
        raise
    except Exception as exc:
        raise TheorycheckError(f"{what}: cannot import {ref}: {type(exc).__name__}: {exc}") from None
    return obj


def call_factory(ref: str, *, what: str) -> Any:
    """What the factory behind ``"pkg.mod:factory"`` returns when called with no arguments; a one-line error naming
    ``what`` when it cannot be imported, is not callable or raises."""
    factory = import_object(ref, what=what)
    if not callable(factory):
        raise TheorycheckError(f"{what}: {ref} is not callable")
    try:
        return factory()
    except Exception as exc:
        raise TheorycheckError(f"{what}: {ref}() failed: {type(exc).__name__}: {exc}") from None
