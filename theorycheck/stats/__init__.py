"""Statistics that turn per-network measurements into estimates and verdicts."""

from theorycheck.stats._estimators import Estimate as Estimate
from theorycheck.stats._estimators import mean_ci as mean_ci
from theorycheck.stats._estimators import relative_deviation as relative_deviation
from theorycheck.stats._estimators import running_means as running_means

__all__ = ["Estimate", "mean_ci", "relative_deviation", "running_means"]
