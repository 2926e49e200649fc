"""Measured coverage of the intervals behind the verdicts, where the truth is known exactly.

* :mod:`~theorycheck.calibration._means`: interval methods on sampler rows (means, exponents, heavy tails);
* :mod:`~theorycheck.calibration._claims`: the verdicts' own parts, true claims judged replicate by replicate;
* :mod:`~theorycheck.calibration._stopping`: optional stopping under the runner's α-spending;
* :mod:`~theorycheck.calibration._measured`: what the committed table measured, by interval method and setting
  class, quoted in each claim's guarantee.

Run ``theorycheck calibrate`` (the full table, ``benchmarks/CALIBRATION.md``) or ``--quick`` (CI-sized).
"""

from theorycheck.calibration._claims import CLAIM_SETTINGS as CLAIM_SETTINGS
from theorycheck.calibration._claims import ClaimSetting as ClaimSetting
from theorycheck.calibration._claims import claim_coverage as claim_coverage
from theorycheck.calibration._means import METHODS as METHODS
from theorycheck.calibration._means import SETTINGS as SETTINGS
from theorycheck.calibration._means import Setting as Setting
from theorycheck.calibration._means import coverage as coverage
from theorycheck.calibration._means import run_calibration as run_calibration
from theorycheck.calibration._measured import MEASURED_COVERAGE as MEASURED_COVERAGE
from theorycheck.calibration._rows import CoverageRow as CoverageRow
from theorycheck.calibration._rows import markdown_table as markdown_table
from theorycheck.calibration._stopping import SPENDING as SPENDING
from theorycheck.calibration._stopping import optional_stopping as optional_stopping

__all__ = [
    "CLAIM_SETTINGS",
    "MEASURED_COVERAGE",
    "METHODS",
    "SETTINGS",
    "SPENDING",
    "ClaimSetting",
    "CoverageRow",
    "Setting",
    "claim_coverage",
    "coverage",
    "markdown_table",
    "optional_stopping",
    "run_calibration",
]
