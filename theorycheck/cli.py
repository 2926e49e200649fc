"""The ``theorycheck`` command line.

Every subcommand prints one clear message and exits with status 2 on bad input
(an unknown layer, a bad shape, ...), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from theorycheck.errors import TheorycheckError

__all__ = ["main"]

_ARCH_HELP = (
    'architecture in the text form, e.g. "dense(256) relu dense(10)" or '
    '"[conv(64,3,padding=circular) relu]*4 globalavgpool dense(12)" (quote it)'
)
_INPUT_HELP = "input shape: D for a vector (e.g. 1024) or CxHxW for an image (e.g. 3x32x32)"

_EPILOG = """\
layers: dense(out) conv(out,k[,stride=,dilation=,padding=zero|valid|circular|reflect])
        avgpool(k[,stride]) maxpool(k[,stride]) relu tanh sigmoid softplus flatten
        globalavgpool globalmaxpool; weighted layers take gain=2 (He, Var=gain/fan_in),
        init=normal|uniform|rademacher, scaling=fan_in|none.
structure: [layers]*N repeats; add{a | b} and concat{a | b} run branches in
        parallel; residual{body} is add{body | identity}.
"""


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.6g}"


def _print_prediction(pred: dict) -> None:
    print(f"architecture  {pred['architecture']}")
    print(f"input         {pred['input']}  (d = {pred['d']}), output logit {pred['output']}, level (H)")
    print(f"paths         10^{_fmt(pred['log10_paths'])} input→output paths")
    print(
        f"Lemma 7       Σ_x Σ_p Π 1/d_p = {pred['lemma7_sum']:.15g}"
        + (f"  (+ {pred['orphan_mass']:.3g} ending at neurons with no input)" if pred["orphan_mass"] else "")
    )
    l8 = pred["lemma8"]
    print(
        f"Lemma 8       per-input sum: min {_fmt(l8['min'])}, mean {_fmt(l8['mean'])}, max {_fmt(l8['max'])}"
        f"  (1/d = {1 / pred['d']:.6g})"
    )
    print(f"symmetry (S)  {'holds' if pred['symmetric'] else 'fails'}")
    if not pred["covered"]:
        print(f"gradient      not covered: {pred['reason']}")
        return
    cv = pred["coord_var"]
    d = pred["d"]
    print(
        f"E[(∂f/∂x_i)²] min {_fmt(cv['min'])}, mean {_fmt(cv['mean'])}, max {_fmt(cv['max'])}"
        f"  (d·mean = {d * cv['mean']:.6g})"
    )
    print(f"E‖∂f‖₂²       {_fmt(pred['grad_sq_norm'])}")
    print(f"E‖∂f‖₁        {_fmt(pred['grad_l1'])}   (independent-Gaussian approximation)")
    print(f"E‖∂f‖_∞       {_fmt(pred['grad_linf'])}   (independent-Gaussian approximation, grows like √(2 ln 2d))")
    for note in pred.get("notes", []):
        print(f"note          {note}")


def _print_kernel(pred: dict) -> None:
    print(f"architecture  {pred['architecture']}")
    print(
        f"input         {pred['input']}  (d = {pred['d']}), level kernel (infinite width), "
        f"averaged over {pred['inputs']} Gaussian inputs (seed {pred['seed']})"
    )
    if not pred["covered"]:
        print(f"gradient      not covered: {pred['reason']}")
        return
    cv, d = pred["coord_var"], pred["d"]
    print(
        f"E[(∂f/∂x_i)²] min {_fmt(cv['min'])}, mean {_fmt(cv['mean'])}, max {_fmt(cv['max'])}"
        f"  (d·mean = {d * cv['mean']:.6g})"
    )
    print(f"E‖∂f‖₂²       {_fmt(pred['grad_sq_norm'])}")
    print(f"E‖∂f‖₁        {_fmt(pred['grad_l1'])}   (independent-Gaussian approximation)")
    print(f"E‖∂f‖_∞       {_fmt(pred['grad_linf'])}   (independent-Gaussian approximation)")


def _cmd_predict(args: argparse.Namespace) -> int:
    from theorycheck.theory import kernel_summary, predict

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


def _progress_bar(total: int, label: str, then: str | None = None) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A tqdm bar on stderr (silent when stderr is not a terminal); once complete it shows ``then``."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="net", file=sys.stderr, disable=None, leave=False)

    def update(done: int) -> None:
        bar.update(done - bar.n)
        if then and done >= total:
            bar.set_description(then)

    return update, bar.close


def _print_estimate(report: dict) -> None:
    prov = report["provenance"]
    conv = f" ({prov['conv_kernel']} conv kernel)" if prov.get("conv_kernel", "grouped") != "grouped" else ""
    print(f"architecture  {report['architecture']}")
    print(f"input         {report['input']}  (d = {report['d']}), target {report['target']}")
    print(
        f"networks      {report['n_networks']} on {prov['device_name']}, {prov['precision']}, seed {prov['seed']}, "
        f"{prov['method']} sampler{conv}, {prov['seconds']:.2f} s"
    )
    header = (
        f"{'statistic':<14}{'mean':>13}  {'95% CI (by network)':<27}{'predicted':>12}  "
        f"{'rel. dev (95% CI)':<31}{'kernel':>11}  {'rel. dev'}"
    )
    print(header)
    for key in ("coord_var", "grad_sq_norm", "grad_l1", "grad_linf"):
        e = report[key]
        ci = f"[{e['ci'][0]:.5g}, {e['ci'][1]:.5g}]"
        if e["predicted"] is None:
            pred, dev = "n/a", "n/a"
        else:
            pred = f"{e['predicted']:.5g}"
            lo, hi = e["rel_dev_ci"]
            dev = f"{e['rel_dev']:+.2%} [{lo:+.2%}, {hi:+.2%}]"
        kern = "n/a" if e.get("predicted_kernel") is None else f"{e['predicted_kernel']:.5g}"
        kdev = "n/a" if e.get("rel_dev_kernel") is None else f"{e['rel_dev_kernel']:+.2%}"
        print(f"{key:<14}{e['mean']:>13.5g}  {ci:<27}{pred:>12}  {dev:<31}{kern:>11}  {kdev}")
    if not report["covered"]:
        print(f"prediction    not covered: {report['reason']}")
    else:
        print(f"prediction    {report['prediction_note']}")
    if report.get("kernel_note"):
        print(f"              {report['kernel_note']}")


def _cmd_estimate(args: argparse.Namespace) -> int:
    from theorycheck._estimate import estimate

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


def _add_conv_kernel(p: argparse.ArgumentParser, more: str = "") -> None:
    p.add_argument(
        "--conv-kernel",
        choices=("grouped", "triton"),
        default="grouped",
        help="grouped (default): one grouped convolution per layer; triton: the implicit-GEMM Triton kernel for "
        "stride-1 zero/valid/circular convolutions (CUDA, fp32 or tf32; others stay grouped)" + more,
    )


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


_VERDICT_ORDER = {"error": -1, "refuted": 0, "inconclusive": 1, "approximate": 2, "verified": 3, "not covered": 4}


def _fmt_num(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else "-"


def _print_verdicts(verdicts: list[dict], study: dict) -> None:
    prov = study.get("provenance", {})
    print(
        f"study {study.get('name')}: seed {study.get('seed')}, {prov.get('device_name')}, "
        f"{study.get('precision')}, {prov.get('runtime_seconds', 0):.1f} s "
        f"(all cells: {prov.get('compute_seconds', 0):.1f} s of compute)"
    )
    print(f"{'claim':<17}{'verdict':<14}{'predicted':>11}{'measured':>11}  {'95% CI':<22}{'n':>8}  control")
    for v in sorted(verdicts, key=lambda v: (_VERDICT_ORDER.get(v["verdict"], 9), v["claim"])):
        ci = f"[{_fmt_num(v['ci'][0])}, {_fmt_num(v['ci'][1])}]" if v.get("ci") else "-"
        control = v["negative_control"] or "-"
        if v.get("control_unable_to_fail"):
            control += " (UNABLE TO FAIL)"
        print(
            f"{v['claim']:<17}{v['verdict']:<14}{_fmt_num(v['predicted']):>11}{_fmt_num(v['measured']):>11}  "
            f"{ci:<22}{v['n_networks']:>8}  {control}"
        )


def _cmd_run(args: argparse.Namespace) -> int:
    from theorycheck.study import load_study, run_study

    spec = load_study(args.study)
    bar: Any = None

    def progress(cell: str, done: int, total: int) -> None:
        nonlocal bar
        from tqdm import tqdm

        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, desc="cells", unit="cell", file=sys.stderr, disable=None, leave=False)
        bar.n = done
        bar.set_postfix_str(cell[-48:], refresh=True)

    try:
        result = run_study(spec, args.out, workers=args.workers, scheduler=args.scheduler, progress=progress)
    finally:
        if bar is not None:
            bar.close()
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
    if args.strict and any(v["verdict"] in ("refuted", "inconclusive", "error") for v in result.verdicts):
        return 1
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:
    from theorycheck.claims import CATALOGUE

    rows: list[dict[str, Any]] = [
        {
            "id": c.id,
            "source": c.source,
            "kind": c.kind,
            "implemented": c.implemented,
            "statement": c.statement,
            "prediction": c.formula,
            "parameters": {k: {"default": p.default, "help": p.help} for k, p in c.params.items()},
        }
        for c in CATALOGUE.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'id':<17}{'kind':<12}{'implemented':<13}statement")
    for r in rows:
        statement = r["statement"] if len(r["statement"]) <= 90 else r["statement"][:87] + "..."
        print(f"{r['id']:<17}{r['kind']:<12}{'yes' if r['implemented'] else 'no':<13}{statement}")
    print(f"{sum(r['implemented'] for r in rows)} of {len(rows)} claims implemented")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from theorycheck.report import build_report

    path = build_report(args.dir, args.output)
    print(f"report: {path}")
    return 0


def _loss_class(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="theorycheck",
        description="Check theorems about random neural networks against the networks themselves.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from theorycheck import __version__

    parser.add_argument("--version", action="version", version=f"theorycheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "predict",
        help="exact (H)-theory predictions for an architecture",
        description=(
            "Compute, exactly and from the graph alone, what the theory of Simon-Gabriel et al. (2019) "
            "predicts for the input gradient of one logit: path counts, the Lemma 7 and Lemma 8 sums, "
            "whether the symmetry assumption (S) holds, and the predicted E[(∂f_k/∂x_i)²] map with "
            "E‖∂f_k‖₂², E‖∂f_k‖₁ and E‖∂f_k‖_∞."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", help=_ARCH_HELP)
    p.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    p.add_argument("--output", type=int, default=0, metavar="K", help="index of the logit f_K (default 0)")
    p.add_argument(
        "--level",
        choices=("H", "kernel"),
        default="H",
        help="H: the papers' hypotheses (exact, input-independent); kernel: the infinite-width NNGP "
        "kernel's mixed derivative, averaged over --inputs random inputs (ReLU, conv, dense, "
        "average pooling; up to about 3x16x16 in seconds)",
    )
    p.add_argument("--inputs", type=_positive_int, default=3, metavar="N", help="random inputs for --level kernel")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs for --level kernel")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(func=_cmd_predict)

    from theorycheck.sampler import PRECISIONS

    e = sub.add_parser(
        "estimate",
        help="Monte Carlo estimates over sampled networks, next to the predictions",
        description=(
            "Sample N independently He-initialised networks (each with its own weights and input), measure the "
            "input gradient of the target, and print the mean of each statistic with a 95%% confidence interval "
            "clustered by network, the theory's prediction and the relative deviation. coord_var is the mean over "
            "inputs of E[g_i²]; grad_sq_norm, grad_l1 and grad_linf are E‖g‖₂², E‖g‖₁ and E‖g‖_∞."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("arch", metavar="ARCH", help=_ARCH_HELP)
    e.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    e.add_argument(
        "--networks", type=_positive_int, default=2000, metavar="N", help="number of networks (default 2000)"
    )
    e.add_argument(
        "--target",
        choices=("logit", "logits", "loss"),
        default="logit",
        help="gradient of logit K (default), of every logit (averaged per network), or of the cross-entropy loss",
    )
    e.add_argument("--output", type=int, default=0, metavar="K", help="logit index for --target logit (default 0)")
    e.add_argument(
        "--loss-class", default="argmax", metavar="C", help="class of the loss: argmax (default), random, or an index"
    )
    e.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    e.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="fp32 (default; TF32 off), fp64, tf32 or bf16"
    )
    _add_conv_kernel(e)
    e.add_argument(
        "--method",
        choices=("auto", "explicit", "conditional"),
        default="auto",
        help="explicit weights, or exact conditional-Gaussian draws for dense stacks (auto picks)",
    )
    e.add_argument(
        "--chunk",
        type=_positive_int,
        default=None,
        metavar="B",
        help="networks per step (default: from the memory available)",
    )
    e.add_argument("--seed", type=int, default=0, help="network i depends only on (seed, i) (default 0)")
    e.add_argument(
        "--no-kernel",
        action="store_true",
        help="skip the kernel-level (infinite-width) prediction (computed for layers of up to 1024 positions; "
        "smooth activations on 3x16x16 take about a minute)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_cmd_estimate)

    bd = sub.add_parser(
        "bound",
        help="Peck et al.'s layer-by-layer robustness lower bound, against a minimal-norm attack",
        description=(
            "For sampled He-initialised networks and Gaussian inputs (float64, CPU): the chained lower bound on "
            "the l2 norm of any class-changing perturbation. It starts at the logits (Theorem A.3: kappa) and "
            "goes back through every layer (dense + smooth activation: Taylor rule of A.2 with Algorithm A.1's "
            "M; dense: kappa/||W||_2; conv: kappa/||W||_F; pooling: kappa/t; 1-Lipschitz activations: kappa). "
            "Prints each layer's kappa, the input bound, the smallest verified perturbation found by DeepFool "
            "+ bisection, and, along it, each rule's ratio Dout/L(Din) (> 1: that rule fails there)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bd.add_argument("arch", metavar="ARCH", help=_ARCH_HELP)
    bd.add_argument("--input", required=True, metavar="SHAPE", help=_INPUT_HELP)
    bd.add_argument("--networks", type=_positive_int, default=1, metavar="N", help="networks (default 1)")
    bd.add_argument("--seed", type=int, default=0, help="network i depends only on (seed, i) (default 0)")
    bd.add_argument("--start", type=int, default=0, metavar="I", help="first network index (default 0)")
    bd.add_argument("--no-attack", action="store_true", help="only the bound, no minimal-norm attack")
    bd.add_argument("--json", action="store_true", help="print a JSON list, one object per network")
    bd.set_defaults(func=_cmd_bound)

    b = sub.add_parser(
        "bench",
        help="time the sampler against a per-network loop and torch.func.vmap",
        description=(
            "Time theorycheck's sampler (weight sampling + forward + input gradient of one logit) against what "
            "a user would otherwise write on the same networks, precision and count: a per-network nn.Module "
            "loop, torch.func.vmap over stacked parameters (stack_module_state + functional_call), and for dense "
            "nets torch.bmm over explicitly drawn weight matrices. Prints nets/s, the ratio to each peer, the achieved "
            "FLOP rate next to a matmul peak measured on the same device, and the peak memory per network (CUDA). "
            "Configs: dense 4x1024 at d in {3072, 49152, 196608} and the paper's CNN (8 conv layers, 64 channels, "
            "3x3, circular) at 32-256 px on CUDA; a smaller set on the CPU."
        ),
    )
    b.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    b.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp32 (default; TF32 off), tf32, ...")
    _add_conv_kernel(b, " (with triton, only the convolutional configs run)")
    b.add_argument("--json", action="store_true", help="print a JSON list")
    b.set_defaults(func=_cmd_bench)

    r = sub.add_parser(
        "run",
        help="run a TOML study: every selected claim, with verdicts and evidence",
        description=(
            "Run (or resume) a study. Each claim's cells (batches of sampled networks, path products, graph "
            "computations) are stored in OUT as Parquet rows with JSON metadata; complete cells are reused, "
            "partial or corrupt ones recomputed, so an interrupted run loses nothing. Writes OUT/verdicts.json "
            "(claim, verdict, predicted, measured, ci, rel_dev, n_networks, negative_control, evidence) and "
            "OUT/results.json (every part). Exit status: 0 when complete, 2 on bad input, and with --strict 1 if "
            "a verdict is refuted or inconclusive."
        ),
    )
    r.add_argument("study", metavar="STUDY.toml", help="study file (see studies/)")
    r.add_argument("--out", required=True, metavar="DIR", help="output directory (created; reused to resume)")
    r.add_argument(
        "--workers",
        type=_positive_int,
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
    r.add_argument("--strict", action="store_true", help="exit 1 if any verdict is refuted or inconclusive")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser(
        "claims",
        help="list the claim catalogue",
        description="Every claim of CLAIMS.md: ID, source, kind, whether it is implemented; with "
        "--json also its statement, prediction and study parameters with defaults.",
    )
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_cmd_claims)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``theorycheck`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except TheorycheckError as exc:
        print(f"theorycheck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"theorycheck {args.command}: error: out of memory; use a smaller input, width or --chunk", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print(f"theorycheck {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
