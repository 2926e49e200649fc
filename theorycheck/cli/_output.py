"""What the commands print: predictions, estimates, verdict tables, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable


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
    grid = pred.get("method") == "grid"
    bound = f"   (grid method, quadrature error ≤ {pred['quadrature_error']:.2g})" if grid else ""
    print(f"E‖∂f‖₂²       {_fmt(pred['grad_sq_norm'])}{bound}")
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
    grid = pred.get("method") == "grid"
    bound = f"   (grid method, quadrature error ≤ {pred['quadrature_error']:.2g})" if grid else ""
    print(f"E‖∂f‖₂²       {_fmt(pred['grad_sq_norm'])}{bound}")
    print(f"E‖∂f‖₁        {_fmt(pred['grad_l1'])}   (independent-Gaussian approximation)")
    print(f"E‖∂f‖_∞       {_fmt(pred['grad_linf'])}   (independent-Gaussian approximation)")


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


_VERDICT_ORDER = {"error": -1, "refuted": 0, "inconclusive": 1, "approximate": 2, "verified": 3, "not covered": 4}


def _fmt_num(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else "-"


def verdict_label(v: dict) -> str:
    """``verified``, or ``verified (1/4 parts)`` for a verdict judged on part of the claim's scope."""
    return f"{v['verdict']} ({v['judged']}/{v['parts_counted']} parts)" if v.get("partial") else v["verdict"]


def _print_verdicts(verdicts: list[dict], study: dict) -> None:
    prov = study.get("provenance", {})
    print(
        f"study {study.get('name')}: seed {study.get('seed')}, {prov.get('device_name')}, "
        f"{study.get('precision')}, {prov.get('runtime_seconds', 0):.1f} s "
        f"(all cells: {prov.get('compute_seconds', 0):.1f} s of compute)"
    )
    w = max([17, *(len(v["claim"]) + 2 for v in verdicts)])
    vw = max([14, *(len(verdict_label(v)) + 2 for v in verdicts)])
    print(f"{'claim':<{w}}{'verdict':<{vw}}{'predicted':>11}{'measured':>11}  {'95% CI':<22}{'n':>8}  control")
    for v in sorted(verdicts, key=lambda v: (_VERDICT_ORDER.get(v["verdict"], 9), v["claim"])):
        ci = f"[{_fmt_num(v['ci'][0])}, {_fmt_num(v['ci'][1])}]" if v.get("ci") else "-"
        control = v["negative_control"] or "-"
        if v.get("control_unable_to_fail"):
            control += " (UNABLE TO FAIL)"
        print(
            f"{v['claim']:<{w}}{verdict_label(v):<{vw}}{_fmt_num(v['predicted']):>11}{_fmt_num(v['measured']):>11}  "
            f"{ci:<22}{v['n_networks']:>8}  {control}"
        )
    for v in verdicts:
        if v.get("counterexample"):
            print(f"{v['claim']}: counterexample ({v['counterexample']['method']}): {v['counterexample']['text']}")
    partial = [v for v in verdicts if v.get("partial")]
    for v in partial:
        print(f"{v['claim']}: {v['scope']}; not covered: {'; '.join(v.get('not_covered') or [])}")
