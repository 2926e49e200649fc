"""Running claims without a study file: ``theorycheck check``, :mod:`theorycheck.testing` and notebooks.

The claims go through the same runner as a study (cells, store, sequential looks, verdicts, controls), so a
claim checked here gets the verdict it would get in a study with the same seed and budget.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from theorycheck.claims import Claim
from theorycheck.errors import TheorycheckError
from theorycheck.study._runner import Progress, StudyResult, run_study
from theorycheck.study._spec import StudySpec, _validate_cells

__all__ = ["run_claims"]


def run_claims(
    claims: list[Claim],
    *,
    networks: int | None = None,
    seed: int = 0,
    device: str = "auto",
    precision: str = "fp32",
    max_networks: int | None = None,
    out: str | Path | None = None,
    name: str = "check",
    progress: Progress | None = None,
) -> StudyResult:
    """Run ``claims`` as a study (into ``out``, or a temporary folder) and return its results.

    Args:
        networks: networks per cell (default: each claim's own default).
        max_networks: doubling budget per cell stream for inconclusive claims (default: no doubling).
    """
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise TheorycheckError(f"claims listed twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    params = {}
    for claim in claims:
        overrides = {"networks": networks} if networks is not None and "networks" in claim.params else {}
        params[claim.id] = claim.resolve(overrides, f"claim {claim.id!r}")
        _validate_cells(claim, params[claim.id], f"claim {claim.id!r}")
    spec = StudySpec(
        name=name,
        seed=seed,
        device=device,
        precision=precision,
        max_networks=max_networks or 0,
        claims=params,
        source="<python>",
        registry={c.id: c for c in claims},
    )
    if out is not None:
        return run_study(spec, out, progress=progress)
    with tempfile.TemporaryDirectory(prefix="theorycheck-") as tmp:
        result = run_study(spec, tmp, progress=progress)
        result.results = dict(result.results)  # read before the folder goes
        return result
