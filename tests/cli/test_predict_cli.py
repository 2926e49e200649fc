"""The ``theorycheck predict`` command, run as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests._cli import CliResult, run_cli
from theorycheck.cli import main


def run(*args: str) -> CliResult:
    return run_cli(*args)


def test_predict_json_fc_done_criterion() -> None:
    res = run("predict", "dense(256) relu dense(256) relu dense(10)", "--input", "1024", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {
        "d",
        "log10_paths",
        "lemma7_sum",
        "symmetric",
        "coord_var",
        "grad_sq_norm",
        "grad_l1",
        "grad_linf",
        "covered",
        "reason",
    }
    assert out["d"] == 1024
    assert out["coord_var"]["mean"] == pytest.approx(2 / 1024, rel=1e-15)
    assert out["lemma7_sum"] == pytest.approx(1.0, abs=1e-12)
    assert out["symmetric"] is True
    assert out["covered"] is True and out["reason"] is None


def test_predict_json_circular_vs_zero(capsys: pytest.CaptureFixture[str]) -> None:
    arch = "conv(16,3,padding={p}) relu conv(16,3,padding={p}) relu flatten dense(10)"
    assert main(["predict", arch.format(p="circular"), "--input", "3x16x16", "--json"]) == 0
    circ = json.loads(capsys.readouterr().out)
    assert main(["predict", arch.format(p="zero"), "--input", "3x16x16", "--json"]) == 0
    zero = json.loads(capsys.readouterr().out)
    assert circ["symmetric"] and circ["coord_var"]["min"] == pytest.approx(circ["coord_var"]["max"], rel=1e-14)
    assert not zero["symmetric"] and zero["coord_var"]["min"] < zero["coord_var"]["max"]


def test_not_covered_prints_null_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["predict", "[conv(8,3,dilation=2) relu]*2 globalmaxpool dense(12)", "--input", "3x16x16", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["covered"] is False
    assert out["coord_var"] is None and out["grad_sq_norm"] is None
    assert "globalmaxpool" in out["reason"]


def test_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "dense(64) relu dense(3)", "--input", "100"]) == 0
    text = capsys.readouterr().out
    assert "symmetry (S)  holds" in text
    assert "d·mean = 2" in text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["predict", "dens(256) dense(10)", "--input", "1024"], "did you mean 'dense'?"),
        (["predict", "dense(10)", "--input", "3x"], "input shape '3x'"),
        (["predict", "conv(8,3) relu", "--input", "3x8x8"], "missing output layer"),
        (["predict", "dense(10)", "--input", "4", "--output", "11"], "out of range"),
    ],
)
def test_bad_input_exits_2_with_one_message(args: list[str], fragment: str) -> None:
    res = run(*args)
    assert res.returncode == 2
    assert fragment in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


def test_help_explains_the_dsl() -> None:
    """The real entry point, in a subprocess (``python -m theorycheck``); the other CLI tests run in-process."""
    res = subprocess.run(
        [sys.executable, "-m", "theorycheck", "predict", "--help"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0
    for word in ("Lemma 7", "(S)", "circular", "residual{body}", "[layers]*N", "CxHxW"):
        assert word in res.stdout
    top = run("--help")
    assert top.returncode == 0 and "predict" in top.stdout


RESIDUAL = (
    "conv(8,3,padding=circular) relu residual{conv(8,3,padding=circular) relu conv(8,3,padding=circular)} relu "
    "globalavgpool dense(1)"
)


def test_residual_then_relu_is_noted_under_h_and_refused_at_kernel_level(capsys: pytest.CaptureFixture[str]) -> None:
    """relu(u) + b feeds the last ReLU: (H) still answers (the paper's hypothesis) and says H1 is implausible there,
    naming the node; the kernel level refuses with the node's position instead of a Gaussian formula."""
    assert main(["predict", RESIDUAL, "--input", "3x8x8"]) == 0
    text = capsys.readouterr().out
    assert "note          3 relu on 8x8x8: its input is neither non-negative nor centred" in text
    assert main(["predict", RESIDUAL, "--input", "3x8x8", "--level", "kernel", "--inputs", "1", "--json"]) == 0
    kern = json.loads(capsys.readouterr().out)
    assert kern["covered"] is False and kern["grad_sq_norm"] is None
    assert kern["reason"].startswith("3 relu on 8x8x8: its input is neither centred Gaussian nor non-negative")
    # the pre-activation form sums two centred Gaussians: no note, and the kernel level covers it
    pre = RESIDUAL.replace("relu residual{conv", "residual{relu conv")
    assert main(["predict", pre, "--input", "3x8x8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []
    assert main(["predict", pre, "--input", "3x8x8", "--level", "kernel", "--inputs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["covered"] is True


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["claims"], ["predict", "dense(8) relu dense(1)", "--input", "8"], ["run", "--help"]],
)
def test_the_first_commands_do_not_import_torch_or_pandas(argv: list[str]) -> None:
    """Issue 24: the commands of a first hour start in a fraction of a second (benchmarks/cli_startup.py: 0.04 to
    0.4 s, from 2.6 s); what keeps them there is that they never import torch, pandas or statsmodels."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom theorycheck.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'pandas', 'statsmodels') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"
