"""``theorycheck check``: one scaling or value claim about a family, from the shell, without a study file."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

from theorycheck.cli._args import network_count, nonnegative_int
from theorycheck.errors import TheorycheckError

__all__ = ["add_check"]

_DESCRIPTION = """\
Check one claim about a family of architectures: a scaling law (--slope) or a value at every grid point
(--predicted). The architecture and the input shape are templates whose {name} placeholders the --sweep options
bind; the claim runs through the study runner with its negative control (automatic: the same data against the
prediction moved by twice the band, which the check must refute), and prints the verdict, the fit, the grid
and the control. A verdict that rests on the grid points the theory covers says so ("judged on 1 of 4
parts"). Exit status: 0 when complete, 2 on bad input, and with --strict 1 unless verified on every point
with the control refuted (--allow-partial accepts the covered points alone).
"""
_EPILOG = """\
examples:
  theorycheck check "dense(256) relu dense(256) relu dense(10)" --input "{d}" --sweep d=64,256,1024 \\
      --statistic coord_var --slope -1
  theorycheck check "[conv({c},3,padding=circular) relu]*2 flatten dense(10,gain=1)" --input "3x{r}x{r}" \\
      --sweep r=8,16,32 --sweep c=8 --statistic grad_sq_norm --slope H
  theorycheck check "dense(128) relu dense(10)" --input "{d}" --sweep d=64,256 --predicted "2/d"
expressions (--against, --predicted, --scale): numbers, sweep names, d (input dimension), width (widest
layer), + - * / ^, parentheses, sqrt log exp abs, the constants pi and e.
"""
_SWEEP = re.compile(r"([A-Za-z_]\w*)=(.+)", re.ASCII)


def _sweep(text: str) -> tuple[str, Any]:
    """``name=v1,v2,…`` → ``(name, [values])``; one value is a fixed name. Numbers become int or float."""
    m = _SWEEP.fullmatch(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE[,VALUE...], e.g. d=64,256,1024")
    values: list[Any] = []
    for raw in m.group(2).split(","):
        raw = raw.strip()
        if not raw:
            raise argparse.ArgumentTypeError(f"{text!r} has an empty value; write e.g. d=64,256,1024")
        try:
            values.append(int(raw))
        except ValueError:
            try:
                values.append(float(raw))
            except ValueError:
                values.append(raw)
    return m.group(1), values if len(values) > 1 else values[0]


def _slope(text: str) -> float | str:
    if text == "H":
        return "H"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or H") from None


def add_check(sub: Any) -> None:
    """The ``check`` subcommand's arguments."""
    c = sub.add_parser(
        "check",
        help="check one scaling or value claim about a family of architectures",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument(
        "arch", metavar="ARCH_TEMPLATE", help='architecture with {name} placeholders, e.g. "dense({w}) relu dense(10)"'
    )
    c.add_argument(
        "--input", required=True, metavar="SHAPE_TEMPLATE", help='input shape template, e.g. "{d}" or "3x{r}x{r}"'
    )
    c.add_argument(
        "--sweep",
        type=_sweep,
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="bind a placeholder: several values make an axis, one value fixes it (repeatable)",
    )
    c.add_argument("--zip", action="store_true", help="pair the sweep axes instead of taking their product")
    c.add_argument(
        "--statistic",
        default="coord_var",
        help="coord_var (default), coord_abs, grad_sq_norm, grad_l1, grad_l2, grad_linf, grad_lq",
    )
    c.add_argument("--q", type=float, default=None, help="the q of grad_lq")
    c.add_argument("--target", choices=("logit", "logits", "loss"), default="logit", help="gradient of (default logit)")
    c.add_argument(
        "--loss-class", default="random", metavar="C", help="loss target: random (default), argmax or an index"
    )
    form = c.add_mutually_exclusive_group(required=True)
    form.add_argument(
        "--slope",
        type=_slope,
        metavar="X|H",
        help="scaling claim: E[statistic] ∝ against^X (H: the (H) engine's exponent)",
    )
    form.add_argument(
        "--predicted", metavar="EXPR|H|kernel", help="value claim: E[statistic] = EXPR at every grid point"
    )
    c.add_argument("--against", default="d", metavar="EXPR", help="the regressor of a scaling claim (default d)")
    c.add_argument("--scale", default=None, metavar="EXPR", help="multiply the statistic by EXPR per point")
    c.add_argument(
        "--margin", type=float, default=None, help="equivalence margin (0.05 absolute for slopes, 5%% for values)"
    )
    c.add_argument("--networks", type=network_count, default=2000, metavar="N", help="networks per grid point (2000)")
    c.add_argument(
        "--max-networks",
        type=network_count,
        default=None,
        metavar="N",
        help="double an inconclusive claim's networks up to N per point (α split over the looks)",
    )
    c.add_argument("--seed", type=nonnegative_int, default=0, help="seed (default 0)")
    c.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    c.add_argument("--id", default="check", help="the claim's ID in the output (default: check)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--report", default=None, metavar="PDF", help="also typeset the report")
    c.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 unless verified on every grid point, with the negative control refuted",
    )
    c.add_argument(
        "--allow-partial",
        action="store_true",
        help="with --strict: accept a verdict judged on the points the theory covers only",
    )
    c.set_defaults(func=_cmd_check)


def _claim(args: argparse.Namespace) -> Any:
    from theorycheck.claims.forms._define import build
    from theorycheck.claims.forms._judging import as_claim

    names = [n for n, _ in args.sweep]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise TheorycheckError(f"--sweep: {dup} is given twice; give its values once, comma-separated")
    loss_class: Any = int(args.loss_class) if args.loss_class.isdigit() else args.loss_class
    fields: dict[str, Any] = {
        "arch": args.arch,
        "input": args.input,
        "sweep": dict(args.sweep),
        "zip": args.zip,
        "statistic": args.statistic,
        "target": args.target,
        "loss_class": loss_class,
        "q": args.q,
        "against": args.against if args.slope is not None else None,
        "slope": args.slope,
        "predicted": args.predicted,
        "scale": args.scale,
        "margin": args.margin,
        "networks": args.networks,
        "statement": "",
    }
    form = "scaling" if args.slope is not None else "value"
    return as_claim(build(args.id, form, "check", source="user claim (theorycheck check)", **fields))


def _cmd_check(args: argparse.Namespace) -> int:
    from theorycheck._paths import check_output_file
    from theorycheck.cli._progress import cell_progress
    from theorycheck.study._adhoc import run_claims

    if args.report is not None:
        check_output_file(args.report, "--report")
    claim = _claim(args)
    t0 = time.perf_counter()
    import tempfile

    with cell_progress() as progress, tempfile.TemporaryDirectory(prefix="theorycheck-check-") as tmp:
        result = run_claims(
            [claim],
            networks=args.networks,
            seed=args.seed,
            device=args.device,
            max_networks=args.max_networks,
            out=tmp,
            progress=progress,
        )
        if args.report is not None:
            from theorycheck.report import build_report

            build_report(tmp, args.report)
    r = result.results[claim.id]
    summary = _summary(r, args, time.perf_counter() - t0, result.study.get("provenance", {}))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary, r)
    if args.strict:
        from theorycheck.claims._base import strict_problems

        problems = strict_problems({**r, "allow_partial": args.allow_partial}, accept=("verified",))
        if problems:
            print(f"theorycheck check --strict: {'; '.join(problems)}", file=sys.stderr)
            return 1
    return 0


def _summary(r: dict[str, Any], args: argparse.Namespace, seconds: float, prov: dict[str, Any]) -> dict[str, Any]:
    head = next((p for p in r["parts"] if p["name"] == r.get("headline_part")), r["parts"][0] if r["parts"] else None)
    out: dict[str, Any] = {
        "claim": r["claim"],
        "form": r["kind"],
        "statement": r["statement"],
        "verdict": r["verdict"],
        "judged": r["judged"],
        "parts_counted": r["parts_counted"],
        "partial": r["partial"],
        "scope": r["scope"],
        "not_covered": r["not_covered"],
        "counterexample": r["counterexample"],
        "measured": r["measured"],
        "ci": r["ci"],
        "negative_control": r["negative_control"],
        "control_unable_to_fail": r["control_unable_to_fail"],
        "n_networks": r["n_networks"],
        "explanation": None if head is None else head["decision"]["explanation"],
        "fit": None if head is None else head.get("fit"),
        "points": r.get("grid") or [],
        "control": [
            {"name": p["name"], "verdict": p["decision"]["verdict"], "explanation": p["decision"]["explanation"]}
            for p in r.get("control_parts", [])
        ],
        "seconds": seconds,
        "provenance": prov,
    }
    if args.slope is not None:
        out["slope"] = r["predicted"]
        out["against"] = args.against
    else:
        out["predicted"] = args.predicted
    return out


def _print(s: dict[str, Any], r: dict[str, Any]) -> None:
    print(f"{s['claim']}: {r['prediction_formula']}")
    scope = f" ({s['scope']})" if s["partial"] else ""
    print(f"verdict: {s['verdict']}{scope} — {s['explanation']}")
    for reason in s["not_covered"]:
        print(f"not covered: {reason}")
    if s.get("slope") is not None:
        fit = s.get("fit") or {}
        print(
            f"fit: slope {fit.get('slope', float('nan')):.4g} ± {fit.get('slope_se', float('nan')):.2g} "
            f"against {s['against']} over {fit.get('levels', len(s['points']))} points (predicted {s['slope']:.4g})"
        )
    from theorycheck.study._grid import grid_lines

    for line in grid_lines(s["points"]):
        print(line)
    for c in s["control"]:
        print(f"negative control: {c['verdict']} — {c['name']}: {c['explanation']}")
    if s["control_unable_to_fail"]:
        print("WARNING: the negative control was not refuted: this check is unable to fail", file=sys.stderr)
    print(f"{s['n_networks']} networks, {s['seconds']:.1f} s on {s['provenance'].get('device_name', '?')}")
