"""Shared test setup: hypothesis profiles chosen by ``THEORYCHECK_PROFILE``.

* ``dev`` (default): quick, for local runs and CI.
* ``thorough``: many more examples, for a release or after touching the theory.

Without a CUDA device, Triton kernels run in Triton's CPU interpreter: the switch must be
set before triton is first imported, so it is set here, before any test module loads.
"""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("THEORYCHECK_PROFILE", "dev"))
