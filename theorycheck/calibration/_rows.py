"""One row of a calibration table: how often one interval method's 95% intervals contained the truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats as sps

__all__ = ["CoverageRow", "markdown_table"]


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of one method in one setting."""

    setting: str
    method: str
    replicates: int
    passed: int
    covered: int
    seconds: float

    @property
    def coverage(self) -> float:
        return self.covered / self.passed if self.passed else math.nan

    def coverage_ci(self) -> tuple[float, float]:
        """Clopper–Pearson 95% interval of the coverage."""
        if not self.passed:
            return (math.nan, math.nan)
        ci = sps.binomtest(self.covered, self.passed).proportion_ci(0.95, method="exact")
        return (float(ci.low), float(ci.high))

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.coverage_ci()
        return {
            "setting": self.setting,
            "method": self.method,
            "replicates": self.replicates,
            "passed_tail_diagnostic": self.passed,
            "coverage": self.coverage,
            "coverage_ci": [lo, hi],
            "seconds": self.seconds,
        }


def markdown_table(rows: list[CoverageRow]) -> str:
    """The committed table: setting, method, coverage with its 95% CI, replicates that passed the diagnostic."""
    lines = [
        "| setting | interval method | coverage | 95% CI (Clopper–Pearson) | replicates passing the tail diagnostic |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lo, hi = row.coverage_ci()
        cov = "—" if not row.passed else f"{row.coverage:.1%}"
        ci = "—" if not row.passed else f"[{lo:.1%}, {hi:.1%}]"
        lines.append(f"| {row.setting} | {row.method} | {cov} | {ci} | {row.passed} of {row.replicates} |")
    return "\n".join(lines)
