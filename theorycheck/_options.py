"""Limits and choices shared by the command line and the library, in a module that imports nothing, so that
building the command line's parser (``--version``, ``--help``) stays fast."""

__all__ = ["CLAIMS_ENTRY_POINT_GROUP", "MAX_NETWORKS", "PRECISIONS"]

#: largest number of networks one cell (or a study's doubling budget) may ask for
MAX_NETWORKS = 10_000_000

#: numerical precisions of the sampler (:mod:`theorycheck.sampler._precision` says what each one means)
PRECISIONS: tuple[str, ...] = ("fp64", "fp32", "tf32", "bf16")

#: the entry-point group under which installed packages register their claims
CLAIMS_ENTRY_POINT_GROUP = "theorycheck.claims"
