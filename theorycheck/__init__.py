"""theorycheck: check theorems about random neural networks against the networks themselves.

The flow is one-directional: :mod:`theorycheck.graph` (architectures) →
:mod:`theorycheck.theory` (exact predictions) ∥ sampler → stats → claims →
study → report.

The names below load on first use (PEP 562), so ``import theorycheck`` and the command line's ``--version`` and
``--help`` do not pay for torch, scipy or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from theorycheck._version import __version__ as __version__
from theorycheck.errors import ArchitectureError as ArchitectureError
from theorycheck.errors import TheorycheckError as TheorycheckError

if TYPE_CHECKING:
    from theorycheck.graph import Architecture as Architecture
    from theorycheck.theory import Prediction as Prediction
    from theorycheck.theory import predict as predict

__all__ = ["Architecture", "ArchitectureError", "Prediction", "TheorycheckError", "__version__", "predict"]

_LAZY = {"Architecture": "theorycheck.graph", "Prediction": "theorycheck.theory", "predict": "theorycheck.theory"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'theorycheck' has no attribute {name!r}")
