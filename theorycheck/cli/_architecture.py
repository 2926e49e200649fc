"""The commands on one architecture: ``predict`` (the theory), ``estimate`` (Monte Carlo next to it), ``bound``
(Peck et al.'s chained bound against an attack) and ``bench`` (the sampler against its peers); each ``add_<command>``
beside the command it parses for."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from theorycheck.cli._args import (
    ARCH_HELP,
    EPILOG,
    INPUT_HELP,
    add_conv_kernel,
    bounded_positive_int,
    kernel_inputs,
    network_count,
    nonnegative_int,
    positive_int,
)
from theorycheck.cli._output import _print_estimate, _print_kernel, _print_prediction, _progress_bar
from theorycheck.errors import TheorycheckError

__all__ = ["add_bench", "add_bound", "add_estimate", "add_predict"]


def _module_arch(args: argparse.Namespace) -> Any:
    """ARCH, or the graph of ``--module pkg.mod:factory`` (imported, as pytest imports plugins; never evaluated)."""
    if (args.arch is None) == (args.module is None):
        raise TheorycheckError("give an architecture ARCH or --module PKG.MOD:FACTORY (one of the two)")
    if args.module is None:
        return args.arch
    import sys

    from theorycheck._imports import call_factory
    from theorycheck.graph import convert_module

    conversion = convert_module(call_factory(args.module, what="--module"), args.input)
    for note in conversion.notes:
        print(f"theorycheck: --module {args.module}: {note}", file=sys.stderr)
    return conversion.architecture


def add_predict(sub: Any) -> None:
    """``predict ARCH --input SHAPE``: exact (H) or kernel-level predictions."""
    p = sub.add_parser(
        "predict",
        help="exact (H)-theory predictions for an architecture",
        description=(
            "Compute, exactly and from the graph alone, what the theory of Simon-Gabriel et al. (2019) "
            "predicts for the input gradient of one logit: path counts, the Lemma 7 and Lemma 8 sums, "
            "whether the symmetry assumption (S) holds, and the predicted E[(∂f_k/∂x_i)²] map with "
            "E‖∂f_k‖₂², E‖∂f_k‖₁ and E‖∂f_k‖_∞."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", nargs="?", default=None, help=ARCH_HELP + "; or give --module")
    p.add_argument(
        "--module",
        default=None,
        metavar="PKG.MOD:FACTORY",
        help="an nn.Module from an importable factory (called without arguments), converted with torch.fx",
    )
    p.add_argument("--input", required=True, metavar="SHAPE", help=INPUT_HELP)
    p.add_argument("--output", type=nonnegative_int, default=0, metavar="K", help="index of the logit f_K (default 0)")
    p.add_argument(
        "--level",
        choices=("H", "kernel"),
        default="H",
        help="H: the papers' hypotheses (exact, input-independent); kernel: the infinite-width NNGP "
        "kernel's mixed derivative, averaged over --inputs random inputs (ReLU, conv, dense, "
        "average pooling; up to about 3x16x16 in seconds)",
    )
    p.add_argument(
        "--inputs", type=kernel_inputs, default=3, metavar="N", help="random inputs for --level kernel (1 to 1000)"
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the random inputs for --level kernel")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(func=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    from theorycheck.theory import predict

    args.arch = _module_arch(args)

    if args.level == "kernel":
        from tqdm import tqdm

        from theorycheck.theory import kernel_summary

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


def add_estimate(sub: Any) -> None:
    """``estimate ARCH --input SHAPE --networks N``: Monte Carlo estimates next to the predictions."""
    from theorycheck._options import PRECISIONS

    e = sub.add_parser(
        "estimate",
        help="Monte Carlo estimates over sampled networks, next to the predictions",
        description=(
            "Sample N independently He-initialised networks (each with its own weights and input), measure the "
            "input gradient of the target, and print the mean of each statistic with a 95%% confidence interval "
            "clustered by network, the theory's prediction and the relative deviation. coord_var is the mean over "
            "inputs of E[g_i²]; grad_sq_norm, grad_l1 and grad_linf are E‖g‖₂², E‖g‖₁ and E‖g‖_∞."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("arch", metavar="ARCH", help=ARCH_HELP)
    e.add_argument("--input", required=True, metavar="SHAPE", help=INPUT_HELP)
    e.add_argument(
        "--networks",
        type=network_count,
        default=2000,
        metavar="N",
        help="number of networks, 2 to 10^7 (default 2000); above 20,000 a pilot times the run first",
    )
    e.add_argument(
        "--yes",
        action="store_true",
        help="run even when the pilot estimates more than an hour (otherwise the run is refused with the estimate)",
    )
    e.add_argument(
        "--target",
        choices=("logit", "logits", "loss"),
        default="logit",
        help="gradient of logit K (default), of every logit (averaged per network), or of the cross-entropy loss",
    )
    e.add_argument(
        "--output", type=nonnegative_int, default=0, metavar="K", help="logit index for --target logit (default 0)"
    )
    e.add_argument(
        "--loss-class", default="argmax", metavar="C", help="class of the loss: argmax (default), random, or an index"
    )
    e.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    e.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="fp32 (default; TF32 off), fp64, tf32 or bf16"
    )
    add_conv_kernel(e)
    e.add_argument(
        "--method",
        choices=("auto", "explicit", "conditional"),
        default="auto",
        help="explicit weights, or exact conditional-Gaussian draws for dense stacks (auto picks)",
    )
    e.add_argument(
        "--chunk",
        type=positive_int,
        default=None,
        metavar="B",
        help="networks per step (default: from the memory available)",
    )
    e.add_argument("--seed", type=nonnegative_int, default=0, help="network i depends only on (seed, i) (default 0)")
    e.add_argument(
        "--no-kernel",
        action="store_true",
        help="skip the kernel-level (infinite-width) prediction (computed for layers of up to 1024 positions; "
        "smooth activations on 3x16x16 take about a minute)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_cmd_estimate)


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


def _loss_class(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def add_bound(sub: Any) -> None:
    """``bound ARCH --input SHAPE``: the chained robustness lower bound against a minimal-norm attack."""
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
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bd.add_argument("arch", metavar="ARCH", help=ARCH_HELP)
    bd.add_argument("--input", required=True, metavar="SHAPE", help=INPUT_HELP)
    bd.add_argument(
        "--networks", type=bounded_positive_int, default=1, metavar="N", help="networks (default 1, at most 10^7)"
    )
    bd.add_argument("--seed", type=nonnegative_int, default=0, help="network i depends only on (seed, i) (default 0)")
    bd.add_argument("--start", type=nonnegative_int, default=0, metavar="I", help="first network index (default 0)")
    bd.add_argument("--no-attack", action="store_true", help="only the bound, no minimal-norm attack")
    bd.add_argument("--json", action="store_true", help="print a JSON list, one object per network")
    bd.set_defaults(func=_cmd_bound)


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


def add_bench(sub: Any) -> None:
    """``bench``: the sampler against a per-network loop and torch.func.vmap."""
    from theorycheck._options import PRECISIONS

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
    add_conv_kernel(b, " (with triton, only the convolutional configs run)")
    b.add_argument("--json", action="store_true", help="print a JSON list")
    b.set_defaults(func=_cmd_bench)


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
