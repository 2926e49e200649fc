"""Memory the machine can give one command, and the refusal when a computation would not fit.

Every stage that allocates in proportion to its input (the theory engine per value of the graph, the
sampler per network) checks its estimate here first, so a huge input gets one message with the estimate
and the limit instead of running the machine out of memory.
"""

from __future__ import annotations

from theorycheck.errors import TheorycheckError

__all__ = ["FALLBACK_BYTES", "available_bytes", "format_bytes", "require_memory"]

#: assumed when /proc/meminfo cannot be read (non-Linux)
FALLBACK_BYTES = 8 << 30


def available_bytes() -> int:
    """Memory available to new allocations on this machine (``MemAvailable``)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        pass
    return FALLBACK_BYTES  # pragma: no cover


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def require_memory(
    needed: float, what: str, *, share: float = 0.5, hint: str = "use a smaller input, width or number of channels"
) -> None:
    """Refuse (:class:`TheorycheckError`) when ``needed`` bytes exceed ``share`` of the available memory."""
    limit = available_bytes() * share
    if needed > limit:
        raise TheorycheckError(
            f"{what} needs about {format_bytes(needed)} of memory, more than the {format_bytes(limit)} "
            f"this machine can give it ({share:.0%} of the {format_bytes(available_bytes())} available); {hint}"
        )
