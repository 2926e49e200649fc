"""Studies: TOML files → cells → result store → verdicts."""

from theorycheck.study._runner import StudyResult as StudyResult
from theorycheck.study._runner import load_results as load_results
from theorycheck.study._runner import run_study as run_study
from theorycheck.study._spec import StudySpec as StudySpec
from theorycheck.study._spec import load_study as load_study
from theorycheck.study._spec import parse_study as parse_study
from theorycheck.study._store import ResultStore as ResultStore

__all__ = ["ResultStore", "StudyResult", "StudySpec", "load_results", "load_study", "parse_study", "run_study"]
