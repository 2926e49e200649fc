"""theorycheck: check theorems about random neural networks against the networks themselves.

The flow is one-directional: :mod:`theorycheck.graph` (architectures) →
:mod:`theorycheck.theory` (exact predictions) ∥ sampler → stats → claims →
study → report.
"""

from theorycheck._version import __version__ as __version__
from theorycheck.errors import ArchitectureError as ArchitectureError
from theorycheck.errors import TheorycheckError as TheorycheckError
from theorycheck.graph import Architecture as Architecture
from theorycheck.theory import Prediction as Prediction
from theorycheck.theory import predict as predict

__all__ = ["Architecture", "ArchitectureError", "Prediction", "TheorycheckError", "__version__", "predict"]
