"""Statistics that turn per-network measurements into estimates and verdicts."""

from theorycheck.stats._convergence import mean_convergence as mean_convergence
from theorycheck.stats._convergence import slope_convergence as slope_convergence
from theorycheck.stats._estimators import Estimate as Estimate
from theorycheck.stats._estimators import bootstrap_mean_ci as bootstrap_mean_ci
from theorycheck.stats._estimators import mean_ci as mean_ci
from theorycheck.stats._estimators import relative_deviation as relative_deviation
from theorycheck.stats._estimators import running_means as running_means
from theorycheck.stats._regression import PowerLawFit as PowerLawFit
from theorycheck.stats._regression import fit_power_law as fit_power_law
from theorycheck.stats._regression import fit_ratio_power_law as fit_ratio_power_law
from theorycheck.stats._regression import log_ratio as log_ratio
from theorycheck.stats._tails import MIN_TAIL_INDEX as MIN_TAIL_INDEX
from theorycheck.stats._tails import SkewnessRule as SkewnessRule
from theorycheck.stats._tails import TailDiagnostic as TailDiagnostic
from theorycheck.stats._tails import cochran_networks as cochran_networks
from theorycheck.stats._tails import skewness_rule as skewness_rule
from theorycheck.stats._tails import tail_diagnostic as tail_diagnostic
from theorycheck.stats._verdict import SEVERITY as SEVERITY
from theorycheck.stats._verdict import VERDICTS as VERDICTS
from theorycheck.stats._verdict import Combined as Combined
from theorycheck.stats._verdict import Decision as Decision
from theorycheck.stats._verdict import Margins as Margins
from theorycheck.stats._verdict import alpha_share as alpha_share
from theorycheck.stats._verdict import combine as combine
from theorycheck.stats._verdict import decide as decide
from theorycheck.stats._verdict import looks as looks
from theorycheck.stats._verdict import worst as worst

__all__ = [
    "MIN_TAIL_INDEX",
    "SEVERITY",
    "VERDICTS",
    "Combined",
    "Decision",
    "Estimate",
    "Margins",
    "PowerLawFit",
    "SkewnessRule",
    "TailDiagnostic",
    "alpha_share",
    "bootstrap_mean_ci",
    "cochran_networks",
    "combine",
    "decide",
    "fit_power_law",
    "fit_ratio_power_law",
    "log_ratio",
    "looks",
    "mean_ci",
    "mean_convergence",
    "relative_deviation",
    "running_means",
    "skewness_rule",
    "slope_convergence",
    "tail_diagnostic",
    "worst",
]
