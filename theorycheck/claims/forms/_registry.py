"""Registering claims: from Python (:func:`register`), from a study's ``plugins`` and from installed packages.

The convention is pytest's: a module that holds claims calls :func:`register` when it is imported; a study lists
such modules (``[study] plugins = ["mypkg.claims"]``); an installed package can also declare them under the
entry-point group ``theorycheck.claims`` (in ``pyproject.toml``)::

    [project.entry-points."theorycheck.claims"]
    mypkg = "mypkg.claims"

An entry point names a module (imported: its :func:`register` calls count) or a function returning claims.
A duplicate ID or an import error is reported in one line, naming the plugin.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from contextvars import ContextVar
from importlib import metadata

from theorycheck._options import CLAIMS_ENTRY_POINT_GROUP
from theorycheck.claims._base import Claim
from theorycheck.errors import TheorycheckError

__all__ = [
    "ENTRY_POINT_GROUP",
    "from_plugins",
    "load_entry_points",
    "load_plugins",
    "register",
    "registered",
    "unregister",
]

ENTRY_POINT_GROUP = CLAIMS_ENTRY_POINT_GROUP
_REGISTERED: dict[str, tuple[Claim, str]] = {}
_LOADING: ContextVar[str] = ContextVar("plugin", default="")
#: entry points already loaded in this process (each is loaded once, as a module is imported once)
_LOADED_ENTRY_POINTS: set[tuple[str, str]] = set()


def _catalogue() -> dict[str, Claim]:
    from theorycheck.claims import CATALOGUE

    return CATALOGUE


def register(*claims: Claim) -> None:
    """Make ``claims`` available to studies, ``theorycheck claims`` and reports by their IDs.

    Registering the same claim object again is a no-op; another claim under a taken ID is an error."""
    origin = _LOADING.get() or "Python"
    for claim in claims:
        if not isinstance(claim, Claim):
            raise TheorycheckError(f"{origin}: register() takes claims (theorycheck.claims.scaling, …), got {claim!r}")
        if claim.id in _catalogue():
            raise TheorycheckError(f"{origin}: claim ID {claim.id!r} is taken by the catalogue; choose another ID")
        known = _REGISTERED.get(claim.id)
        if known is not None and known[0] is not claim:
            raise TheorycheckError(f"duplicate claim ID {claim.id!r}: registered by {known[1]} and by {origin}")
        _REGISTERED[claim.id] = (claim, origin)


def unregister(*claim_ids: str) -> None:
    """Forget registered claims (tests; a plugin module is imported once per process)."""
    for cid in claim_ids:
        _REGISTERED.pop(cid, None)


def registered() -> dict[str, Claim]:
    """Every registered user claim, by ID."""
    return {cid: claim for cid, (claim, _) in _REGISTERED.items()}


def from_plugins(modules: Iterable[str]) -> dict[str, Claim]:
    """The registered claims that the given plugin modules added, by ID."""
    origins = {f"plugin {m}" for m in modules}
    return {cid: claim for cid, (claim, origin) in _REGISTERED.items() if origin in origins}


def load_plugins(modules: Iterable[str], *, where: str = "study.plugins", search: Iterable[str] = ()) -> list[str]:
    """Import each module (its :func:`register` calls add claims); returns the IDs each added, in order.

    Modules are found on ``sys.path``, after the ``search`` folders (a study's folder) and the working directory,
    as ``python -m`` and pytest would find them."""
    from theorycheck._imports import searchable

    searchable(search)
    added: list[str] = []
    for name in modules:
        if not isinstance(name, str) or not name or not all(p.isidentifier() for p in name.split(".")):
            raise TheorycheckError(f"{where}: {name!r} is not a module name (e.g. 'mypkg.claims')")
        before = set(_REGISTERED)
        token = _LOADING.set(f"plugin {name}")
        try:
            importlib.import_module(name)
        except TheorycheckError:
            raise
        except Exception as exc:
            raise TheorycheckError(f"{where}: cannot import {name!r}: {type(exc).__name__}: {exc}") from None
        finally:
            _LOADING.reset(token)
        added += [cid for cid in _REGISTERED if cid not in before]
    return added


def load_entry_points() -> list[str]:
    """Load every ``theorycheck.claims`` entry point of the installed packages; returns the IDs they added."""
    added: list[str] = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if (ep.name, ep.value) in _LOADED_ENTRY_POINTS:
            continue
        _LOADED_ENTRY_POINTS.add((ep.name, ep.value))
        before = set(_REGISTERED)
        token = _LOADING.set(f"entry point {ep.name} ({ep.value})")
        try:
            obj = ep.load()
            if callable(obj):
                result = obj()
                if result is not None:
                    register(*result)
        except TheorycheckError:
            raise
        except Exception as exc:
            raise TheorycheckError(
                f"entry point {ep.name!r} ({ep.value}) of group {ENTRY_POINT_GROUP}: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            _LOADING.reset(token)
        added += [cid for cid in _REGISTERED if cid not in before]
    return added
