"""Shared test setup: hypothesis profiles chosen by ``THEORYCHECK_PROFILE``.

* ``dev`` (default): quick, for local runs and CI.
* ``thorough``: many more examples, for a release or after touching the theory.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("THEORYCHECK_PROFILE", "dev"))
