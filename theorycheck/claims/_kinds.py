"""Cell kinds: how each kind of cell is computed, registered next to the claims that own it (pytest's hook style).

A claim asks for cells (:class:`~theorycheck.claims.Cell`); a cell's ``kind`` names a registered executor that
turns it into rows (a ``pandas.DataFrame``), provenance and, for sampler cells, per-input maps. The study runner
knows no kind by name: it asks the registry whether a kind runs on the study's device, whether an inconclusive
claim may double its networks, and whether its rows are per-network measurements (which must be finite).

Register a kind with the decorator::

    @cell_kind("trained", device=True, doubling=True, per_network=True)
    def trained_rows(cell: Cell, context: CellContext) -> CellOutput:
        ...

A kind defined outside theorycheck is found on a Dask worker by importing the module named in the cell's
``kind_module`` parameter (the module that registers it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from theorycheck.errors import TheorycheckError

if TYPE_CHECKING:
    import pandas as pd

    from theorycheck.claims._base import Cell

__all__ = ["CellContext", "CellKind", "CellOutput", "cell_kind", "cell_kinds", "get_cell_kind"]

#: rows, provenance, per-input maps
CellOutput = tuple["pd.DataFrame", dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class CellContext:
    """What an executor gets besides the cell: its stream's seed and the study's device settings."""

    seed: int
    device: str
    precision: str
    conv_kernel: str = "grouped"


@dataclass(frozen=True)
class CellKind:
    """A registered kind of cell."""

    name: str
    execute: Callable[[Cell, CellContext], CellOutput]
    #: runs on the study's device (else always on the CPU)
    device: bool = False
    #: an inconclusive claim (or control) adds the next range of networks of such cells' streams
    doubling: bool = False
    #: rows are one per network, measurements that must be finite (a NaN makes the claim an error)
    per_network: bool = False


_KINDS: dict[str, CellKind] = {}


def cell_kind(
    name: str, *, device: bool = False, doubling: bool = False, per_network: bool = False
) -> Callable[[Callable[[Cell, CellContext], CellOutput]], Callable[[Cell, CellContext], CellOutput]]:
    """Register ``execute(cell, context) -> (rows, provenance, maps)`` as the executor of cells of kind ``name``."""

    def register(execute: Callable[[Cell, CellContext], CellOutput]) -> Callable[[Cell, CellContext], CellOutput]:
        known = _KINDS.get(name)
        if known is not None and known.execute is not execute and _ref(known.execute) != _ref(execute):
            raise TheorycheckError(
                f"cell kind {name!r} is registered twice: by {_ref(known.execute)} and {_ref(execute)}"
            )
        _KINDS[name] = CellKind(name, execute, device, doubling, per_network)
        return execute

    return register


def _ref(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


#: the module whose import registers the built-in kinds (each next to its claims), loaded by name as pytest loads
#: its built-in plugins: the registry stays below the claims that register into it
BUILT_IN_KINDS = "theorycheck.claims.catalogue"


def _load_built_in_kinds() -> None:
    importlib.import_module(BUILT_IN_KINDS)


def get_cell_kind(name: str, *, module: str | None = None) -> CellKind:
    """The registered kind ``name`` (the catalogue's kinds are registered when :mod:`theorycheck.claims.catalogue`
    is imported; ``module`` is imported first when the kind is not known yet, as on a Dask worker)."""
    _load_built_in_kinds()
    if name not in _KINDS and module:
        importlib.import_module(module)
    try:
        return _KINDS[name]
    except KeyError:
        raise TheorycheckError(f"unknown cell kind {name!r}; registered: {', '.join(sorted(_KINDS))}") from None


def cell_kinds() -> dict[str, CellKind]:
    """Every registered kind, by name."""
    _load_built_in_kinds()
    return dict(_KINDS)
