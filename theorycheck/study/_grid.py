"""The grid of a claim's result as a text table: one row per grid point, numbers to five significant digits.

Used by ``theorycheck check`` and by :meth:`theorycheck.testing.ClaimCheck.table` (a failing ``assert_holds``),
so both show the same table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["grid_lines"]


#: columns the report reads that a text table leaves out: the interval (shown as its own column) and the report's
#: curve labels of trained claims
_HIDDEN = ("ci", "series", "quantity")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.5g}"
    return str(v)


def grid_lines(rows: list[dict[str, Any]], *, indent: str = "") -> list[str]:
    """A header and one line per row of ``rows`` (the ``grid`` of a result): every column but ``ci``, then the
    95% interval as ``[lo, hi]``; right-aligned, at least 12 characters wide."""
    cols = [k for k in (rows[0] if rows else {}) if k not in _HIDDEN]
    if not cols:
        return []
    table = [[*cols, "95% CI"]]
    for row in rows:
        ci = row.get("ci") or [None, None]
        table.append([_fmt(row.get(c)) for c in cols] + [f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"])
    widths = [max(12, *(len(line[j]) for line in table)) for j in range(len(table[0]))]
    return [indent + "  ".join(f"{cell:>{w}}" for cell, w in zip(line, widths, strict=True)) for line in table]
