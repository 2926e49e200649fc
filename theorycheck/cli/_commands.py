"""The subcommands: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from theorycheck.cli._output import _print_estimate, _print_kernel, _print_prediction, _print_verdicts, _progress_bar
from theorycheck.errors import TheorycheckError


def _module_arch(args: argparse.Namespace) -> Any:
    """ARCH, or the graph of ``--module pkg.mod:factory`` (imported, as pytest imports plugins; never evaluated)."""
    if (args.arch is None) == (args.module is None):
        raise TheorycheckError("give an architecture ARCH or --module PKG.MOD:FACTORY (one of the two)")
    if args.module is None:
        return args.arch
    from theorycheck._imports import import_object
    from theorycheck.graph import from_module

    factory = import_object(args.module, what="--module")
    if not callable(factory):
        raise TheorycheckError(f"--module: {args.module} is not callable")
    try:
        module = factory()
    except Exception as exc:
        raise TheorycheckError(f"--module: {args.module}() failed: {type(exc).__name__}: {exc}") from None
    return from_module(module, args.input)


def _cmd_predict(args: argparse.Namespace) -> int:
    from theorycheck.theory import kernel_summary, predict

    args.arch = _module_arch(args)

    if args.level == "kernel":
        from tqdm import tqdm

        with tqdm(desc="kernel level", unit="coord", file=sys.stderr, disable=None, leave=False) as bar:

            def step(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            kern = kernel_summary(args.arch, args.input, inputs=args.inputs, seed=args.seed, progress=step).to_dict()
        print(json.dumps(kern, indent=2)) if args.json else _print_kernel(kern)
        return 0
    pred = predict(args.arch, args.input, output=args.output).to_dict()
    if args.json:
        print(json.dumps(pred, indent=2))
    else:
        _print_prediction(pred)
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from theorycheck._estimate import MAX_SECONDS, estimate

    then = "kernel level (infinite width; --no-kernel skips it)" if not args.no_kernel else None
    update, close = _progress_bar(args.networks, "estimate", then)
    try:
        report = estimate(
            args.arch,
            args.input,
            networks=args.networks,
            seed=args.seed,
            target=args.target,
            output=args.output,
            loss_class=_loss_class(args.loss_class),
            device=args.device,
            precision=args.precision,
            method=args.method,
            chunk=args.chunk,
            progress=update,
            kernel=not args.no_kernel,
            conv_kernel=args.conv_kernel,
            max_seconds=None if args.yes else MAX_SECONDS,
        ).to_dict()
    finally:
        close()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_estimate(report)
    return 0


def _cmd_bound(args: argparse.Namespace) -> int:
    from theorycheck.attacks import bound_report

    items = bound_report(
        args.arch, args.input, networks=args.networks, seed=args.seed, start=args.start, attack=not args.no_attack
    )
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for item in items:
        print(
            f"network {item['network']} (seed {args.seed}): label {item['label']}, "
            f"softmax bound κ = {item['kappa_softmax']:.6g} (Theorem A.3, at the logits layer's input)"
        )
        print(f"  {'layer':<40}{'rule':<50}{'gain':>10}{'κ out':>12}{'κ in':>12}{'Δout/L(Δin)':>13}")
        for layer in reversed(item["layers"]):
            along = layer.get("ratio_along_attack")
            flag = "" if along is None else f"{along:>12.3g}{' !' if along > 1 + 1e-9 else ''}"
            print(
                f"  {layer['layer'][:39]:<40}{layer['rule'][:49]:<50}{layer['gain']:>10.4g}"
                f"{layer['kappa_out']:>12.4g}{layer['kappa_in']:>12.4g}{flag:>13}"
            )
        print(f"  input bound (chain): ‖r‖ ≥ {item['bound']:.6g}")
        if item["fc_bound"] is not None:
            print(f"  input bound (Taylor, A.2, whole MLP): ‖r‖ ≥ {item['fc_bound']:.6g}")
        att = item.get("attack")
        if att is not None:
            if att["success"]:
                verdict = "bound holds" if att["ratio"] <= 1 + 1e-9 else "BOUND EXCEEDS A VERIFIED PERTURBATION"
                print(
                    f"  smallest perturbation found: ‖r‖ = {att['norm']:.6g} ({att['method']}; label "
                    f"{att['label']} → {att['adv_label']}, verified); bound/attack = {att['ratio']:.4g}: {verdict}"
                )
            else:
                print("  the attack found no class-changing perturbation")
        if any((layer.get("ratio_along_attack") or 0) > 1 + 1e-9 for layer in item["layers"]):
            print("  ! marks a layer rule whose forward inequality Δout ≤ L(Δin) fails along the attack")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from theorycheck.bench import run_bench

    def note(name: str) -> None:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)

    results = run_bench(args.device, args.precision, progress=note, conv_kernel=args.conv_kernel)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    print(f"matmul peak measured on this device: {results[0].peak_tflops:.3g} TFLOP/s ({args.precision})")
    print(
        f"{'config':<24}{'method':<12}{'nets/s':>10}  {'peers (nets/s)':<38}{'×loop':>8}{'×vmap':>8}{'×bmm':>8}"
        f"{'TFLOP/s':>9}{'MB/net':>8}"
    )
    for r in results:
        peers = ", ".join(f"{k} {v:.4g}" for k, v in r.peers.items())
        bmm = f"{r.ratios['bmm']:.3g}" if "bmm" in r.ratios else "-"
        mem = f"{r.peak_memory_per_net_mb:.3g}" if r.peak_memory_per_net_mb is not None else "n/a"
        print(
            f"{r.config:<24}{r.method:<12}{r.nets_per_s:>10.4g}  {peers:<38}{r.ratios['loop']:>8.3g}"
            f"{r.ratios['vmap']:>8.3g}{bmm:>8}{r.tflops:>9.3g}{mem:>8}"
        )
    return 0


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


def _cmd_claims(args: argparse.Namespace) -> int:
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
    w = max([17, *(len(r["id"]) + 2 for r in rows)])
    print(f"{'id':<{w}}{'kind':<12}statement")
    for r in rows:
        statement = r["statement"] if len(r["statement"]) <= 90 else r["statement"][:87] + "..."
        print(f"{r['id']:<{w}}{r['kind']:<12}{statement}")
    catalogue = [r for r in rows if r["id"] in CATALOGUE]
    extra = len(rows) - len(catalogue)
    print(f"{len(catalogue)} catalogue claims" + (f"; {extra} registered user claims" if extra else ""))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from theorycheck._paths import check_output_file
    from theorycheck.report import build_report

    check_output_file(args.output, "--output")
    path = build_report(args.dir, args.output)
    print(f"report: {path}")
    return 0


def _loss_class(text: str) -> str | int:
    return int(text) if text.isdigit() else text


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
