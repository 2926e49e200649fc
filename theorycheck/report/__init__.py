"""The typeset PDF report of a study (typst; figures with seaborn)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from theorycheck._paths import check_output_file
from theorycheck.errors import TheorycheckError
from theorycheck.study import load_results

__all__ = ["build_report", "report_source"]


def report_source(results_dir: str | Path, work: Path) -> Path:
    """Write ``report.typ`` and its figures into ``work``; return the source path."""
    from theorycheck.report._document import document

    res = load_results(results_dir)
    study = dict(res.study)
    try:
        import statsmodels

        study.setdefault("provenance", {})["statsmodels"] = statsmodels.__version__
    except ImportError:  # pragma: no cover
        pass
    figures = work / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    source = work / "report.typ"
    source.write_text(document(work, figures, res.results, study, res.verdicts), encoding="utf-8")
    return source


def build_report(results_dir: str | Path, pdf: str | Path) -> Path:
    """Typeset the report of the study in ``results_dir`` into ``pdf`` (written atomically)."""
    import typst

    target = check_output_file(pdf, "report")
    load_results(results_dir)  # a missing or malformed results directory fails before typst runs
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="theorycheck-report-") as tmp:
        work = Path(tmp)
        source = report_source(results_dir, work)
        partial = work / "report.pdf"
        try:
            typst.compile(str(source), output=str(partial), root=str(work))
        except Exception as exc:  # typst reports the line of the generated source
            keep = target.with_suffix(".typ")
            shutil.copy(source, keep)
            raise TheorycheckError(f"typst could not typeset the report ({exc}); source kept in {keep}") from None
        fd, tmp_target = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            shutil.copy(partial, tmp_target)
            os.replace(tmp_target, target)
        except OSError as exc:
            raise TheorycheckError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
        finally:
            Path(tmp_target).unlink(missing_ok=True)
    return target
