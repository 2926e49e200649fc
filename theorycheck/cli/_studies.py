"""The commands on studies and the catalogue: ``run``, ``plan``, ``report``, ``claims`` and ``calibrate``; each
``add_<command>`` beside the command it parses for."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from theorycheck.cli._args import bounded_positive_int, positive_int
from theorycheck.cli._output import _print_verdicts, _progress_bar
from theorycheck.errors import TheorycheckError

__all__ = ["RUN_STRICT_ACCEPTS", "add_calibrate", "add_claims", "add_plan", "add_report", "add_run"]


def add_run(sub: Any) -> None:
    """``run STUDY.toml --out DIR``: run or resume a study."""
    r = sub.add_parser(
        "run",
        help="run a TOML study: every selected claim, with verdicts and evidence",
        description=(
            "Run (or resume) a study. Each claim's cells (batches of sampled networks, path products, graph "
            "computations) are stored in OUT as Parquet rows with JSON metadata; complete cells are reused, "
            "partial or corrupt ones recomputed, so an interrupted run loses nothing. Writes OUT/verdicts.json "
            "(claim, verdict, predicted, measured, ci, rel_dev, n_networks, negative_control, evidence) and "
            "OUT/results.json (every part). Exit status: 0 when complete, 2 on bad input, and with --strict 1 if "
            "a verdict is refuted, inconclusive or an error, rests on part of its claim (allow_partial = true in "
            "the claim's table accepts that), or comes with a negative control that was not refuted."
        ),
    )
    r.add_argument("study", metavar="STUDY.toml", help="study file (see studies/)")
    r.add_argument("--out", required=True, metavar="DIR", help="output directory (created; reused to resume)")
    r.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help=(
            "run cells on a local Dask cluster of N worker processes; with a CUDA device the Monte Carlo cells "
            "stay in this process (one owner of the card) while the workers run the CPU cells at the same time"
        ),
    )
    r.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="use an existing Dask cluster (OUT must be on a filesystem its workers share)",
    )
    r.add_argument("--report", default=None, metavar="PDF", help="also build the PDF report")
    r.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    r.add_argument(
        "--strict",
        action="store_true",
        help=(
            "exit 1 if any verdict is refuted, inconclusive or an error, is judged on part of its claim, or has a "
            "negative control that was not refuted"
        ),
    )
    r.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from theorycheck._paths import check_output_dir, check_output_file
    from theorycheck.study import load_study, run_study

    check_output_dir(args.out, "--out")
    if args.report is not None:
        check_output_file(args.report, "--report")
    from theorycheck.cli._progress import cell_progress

    spec = load_study(args.study)
    with cell_progress() as progress:
        result = run_study(spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=progress)
    if args.report:
        from theorycheck.report import build_report

        build_report(args.out, args.report)
    if args.json:
        print(json.dumps(result.verdicts, indent=2))
    else:
        _print_verdicts(result.verdicts, result.study)
        print(f"verdicts: {Path(args.out) / 'verdicts.json'}" + (f"; report: {args.report}" if args.report else ""))
    for v in result.verdicts:
        if v["verdict"] == "error":
            print(f"theorycheck run: {v['claim']}: {'; '.join(result.results[v['claim']]['notes'])}", file=sys.stderr)
    if args.strict:
        from theorycheck.claims._base import strict_problems

        failing = {v["claim"]: strict_problems(v, accept=RUN_STRICT_ACCEPTS) for v in result.verdicts}
        failing = {cid: why for cid, why in failing.items() if why}
        for cid, why in failing.items():
            print(f"theorycheck run --strict: {cid}: {'; '.join(why)}", file=sys.stderr)
        if failing:
            return 1
    return 0


#: verdicts ``run --strict`` accepts (refuted, inconclusive and error fail it)
RUN_STRICT_ACCEPTS = ("verified", "approximate", "not covered")


def add_plan(sub: Any) -> None:
    """``plan STUDY.toml``: size each claim's network budget by a pilot."""
    pl = sub.add_parser(
        "plan",
        help="size each claim's network budget by a pilot: networks for a decisive verdict, and the time",
        description=(
            "Run a pilot of N networks per cell for every claim of the study that has a network budget, then report "
            "for each the networks per cell that give a decisive verdict (verified, refuted or approximate rather "
            "than inconclusive) with probability [study] power (default 95%%) at its margins, from the pilot's "
            "deviation and standard error "
            "(a normal power calculation, α split over the planned looks), and the estimated time on this device. "
            'A study may write networks = "auto" to use the plan (capped by max_networks).'
        ),
    )
    pl.add_argument("study", metavar="STUDY.toml", help="the study file")
    pl.add_argument("--pilot", type=positive_int, default=200, metavar="N", help="networks per cell in the pilot")
    pl.add_argument("--json", action="store_true", help="print JSON rows")
    pl.set_defaults(func=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    from theorycheck.cli._progress import cell_progress
    from theorycheck.study import load_study
    from theorycheck.study._plan import plan_study

    spec = load_study(args.study)
    with cell_progress() as progress:
        rows = plan_study(spec, pilot=args.pilot, progress=progress)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    w = max([8, *(len(r.claim) + 2 for r in rows)])
    print(
        f"pilot: {args.pilot} networks per cell; budgets for a decisive verdict with probability {spec.power:.4g} at "
        "each claim's "
        "margins (α split over the planned looks)"
    )
    print(f"{'claim':<{w}}{'pilot':<14}{'configured':>11}{'planned':>10}{'est. time':>11}  why")
    total = 0.0
    for r in rows:
        planned = "-" if r.networks is None else str(r.networks)
        secs = "-" if r.seconds is None else f"{r.seconds:.0f} s"
        total += r.seconds or 0.0
        configured = "-" if r.configured is None else str(r.configured)
        print(f"{r.claim:<{w}}{r.pilot_verdict:<14}{configured:>11}{planned:>10}{secs:>11}  {r.reason}")
    print(f"estimated time of the planned budgets on this device: {total:.0f} s (claims without a budget excluded)")
    return 0


def add_report(sub: Any) -> None:
    """``report DIR -o PDF``: typeset a study's report."""
    rep = sub.add_parser(
        "report",
        help="typeset the PDF report of a study's output directory",
        description="Build the typeset PDF report (typst) of a study: title page with provenance, "
        "summary table, one section per claim with its regression table, verdict, "
        "negative control and figures.",
    )
    rep.add_argument("dir", metavar="DIR", help="output directory of `theorycheck run`")
    rep.add_argument("-o", "--output", required=True, metavar="PDF", help="path of the PDF to write")
    rep.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from theorycheck._paths import check_output_file
    from theorycheck.report import build_report

    check_output_file(args.output, "--output")
    path = build_report(args.dir, args.output)
    print(f"report: {path}")
    return 0


def add_claims(sub: Any) -> None:
    """``claims``: list the catalogue and the registered claims."""
    c = sub.add_parser(
        "claims",
        help="list the claim catalogue (and registered user claims)",
        description="Every claim of CLAIMS.md (ID, source, kind, statement), in its order; then the claims "
        "registered by installed packages (entry-point group theorycheck.claims) and by --plugin modules; with "
        "--json also its statement, prediction and study parameters with defaults.",
    )
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import MODULE and list the claims it registers (repeatable; entry points are always listed)",
    )
    c.set_defaults(func=_cmd_claims)


def _cmd_claims(args: argparse.Namespace) -> int:
    from importlib import metadata

    from theorycheck._options import CLAIMS_ENTRY_POINT_GROUP
    from theorycheck.claims._entries import ENTRIES

    # the catalogue alone (no plugin, no installed claims, no parameters asked for): listed without its builders
    if not args.json and not args.plugin and not metadata.entry_points(group=CLAIMS_ENTRY_POINT_GROUP):
        return _print_claims([{"id": e.id, "kind": e.kind, "statement": e.statement} for e in ENTRIES], len(ENTRIES))
    from theorycheck.claims import CATALOGUE, registered
    from theorycheck.claims.forms import load_entry_points, load_plugins

    load_plugins(args.plugin, where="--plugin")
    load_entry_points()

    rows: list[dict[str, Any]] = [
        {
            "id": c.id,
            "source": c.source,
            "kind": c.kind,
            "statement": c.statement,
            "prediction": c.formula,
            "parameters": {k: {"default": p.default, "help": p.help} for k, p in c.params.items()},
        }
        for c in [*CATALOGUE.values(), *registered().values()]
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    return _print_claims(rows, sum(r["id"] in CATALOGUE for r in rows))


def _print_claims(rows: list[dict[str, Any]], catalogue: int) -> int:
    """One line per claim (ID, kind, statement cut at 90 characters), then the counts."""
    w = max([17, *(len(r["id"]) + 2 for r in rows)])
    print(f"{'id':<{w}}{'kind':<12}statement")
    for r in rows:
        statement = r["statement"] if len(r["statement"]) <= 90 else r["statement"][:87] + "..."
        print(f"{r['id']:<{w}}{r['kind']:<12}{statement}")
    extra = len(rows) - catalogue
    print(f"{catalogue} catalogue claims" + (f"; {extra} registered user claims" if extra else ""))
    return 0


def add_calibrate(sub: Any) -> None:
    """``calibrate``: measure the coverage of the verdicts' intervals."""
    cal = sub.add_parser(
        "calibrate",
        help="measure the coverage of the verdicts' 95%% intervals where the truth is exact",
        description=(
            "Repeat each interval method (Student-t, the verdicts' interval for means; the BCa bootstrap, for "
            "comparison; the GLM HC1 slope and its WLS cross-check) on R independent replicates of settings whose "
            "truth is exact (FC He nets: E‖∂f‖² = 2, slope −1 in d; deep narrow nets for heavy tails), and print "
            "the fraction of intervals that contain the truth with its Clopper–Pearson interval. Replicates that "
            "fail the tail diagnostic (Cochran's rule with the theory's exact skewness where the graph is a "
            "Gaussian dense/ReLU chain, else Hill's index) are counted apart (the verdicts call them inconclusive)."
        ),
    )
    cal.add_argument("--replicates", type=bounded_positive_int, default=500, metavar="R", help="replicates (500)")
    cal.add_argument("--quick", action="store_true", help="only the CI-sized settings (n = 200 networks)")
    cal.add_argument(
        "--setting",
        action="append",
        default=None,
        metavar="TEXT",
        help="only the settings whose name contains TEXT (repeatable; e.g. 'moderate', 'n=2000')",
    )
    cal.add_argument("--json", action="store_true", help="print JSON rows")
    cal.add_argument("--output", default=None, metavar="FILE.md", help="also write the table with date and device")
    cal.set_defaults(func=_cmd_calibrate)


def _selected(name: str, wanted: list[str] | None) -> bool:
    return not wanted or any(w.lower() in name.lower() for w in wanted)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from theorycheck.calibration import CLAIM_SETTINGS, SETTINGS, claim_coverage, coverage

    if args.output is not None:
        from theorycheck._paths import check_output_file

        check_output_file(args.output, "--output", example="benchmarks/CALIBRATION.md")
    chosen: list[Any] = [s for s in SETTINGS if (s.quick or not args.quick) and _selected(s.name, args.setting)]
    chosen += [s for s in CLAIM_SETTINGS if (s.quick or not args.quick) and _selected(s.name, args.setting)]
    if not chosen:
        names = "; ".join([s.name for s in SETTINGS] + [s.name for s in CLAIM_SETTINGS])
        raise TheorycheckError(f"--setting {' / '.join(args.setting)} matches no setting; the settings are: {names}")
    update, close = _progress_bar(len(chosen), "settings")
    rows = []
    try:
        for i, setting in enumerate(chosen):
            measure = claim_coverage if setting in CLAIM_SETTINGS else coverage
            rows.extend(measure(setting, replicates=args.replicates))
            update(i + 1)
    finally:
        close()
    from theorycheck.calibration import SPENDING, markdown_table, optional_stopping

    table = markdown_table(rows)
    stopping_reps = 4000 if args.quick else 20_000
    stopping = {sp: optional_stopping(spending=sp, replicates=stopping_reps)[0] for sp in SPENDING}
    table += (
        "\n\nOptional stopping (true value exactly on the +5% margin, 4 looks at 200, 400, 800, 1600 networks, "
        f"{stopping_reps} replicates): false *verified* rate "
        + ", ".join(
            f"{sp} {rate:.2%} (±{1.96 * (rate * (1 - rate) / stopping_reps) ** 0.5:.2%})"
            for sp, rate in stopping.items()
        )
        + " against α = 5%."
    )
    if args.json:
        print(json.dumps({"coverage": [r.to_dict() for r in rows], "optional_stopping": stopping}, indent=2))
    else:
        print(table)
    if args.output is not None:
        from theorycheck.sampler import resolve_device
        from theorycheck.sampler._provenance import provenance
        from theorycheck.study._store import atomic_write_bytes

        prov = provenance(resolve_device("cpu"), "fp32", 0)
        header = (
            f"# Calibration: coverage of the 95% intervals behind the verdicts\n\n"
            f"`theorycheck calibrate --replicates {args.replicates}{' --quick' if args.quick else ''}`, "
            f"{time.strftime('%Y-%m-%d')}, {prov.get('device_name', prov.get('device'))}, "
            f"theorycheck {prov.get('theorycheck')}, torch {prov.get('torch')}.\n\n"
        )
        atomic_write_bytes(Path(args.output), (header + table + "\n").encode())
    return 0
