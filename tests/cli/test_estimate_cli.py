"""``theorycheck estimate`` and ``theorycheck bench`` as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests._cli import CliResult, run_cli
from theorycheck.bench import BenchConfig, run_bench
from theorycheck.cli import main


def run(*args: str) -> CliResult:
    return run_cli(*args)


def test_estimate_json_mirrors_predict(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "estimate",
                "dense(64) relu dense(64) relu dense(10)",
                "--input",
                "128",
                "--networks",
                "500",
                "--seed",
                "3",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in ("coord_var", "grad_sq_norm", "grad_l1", "grad_linf"):
        est = out[key]
        assert set(est) >= {"mean", "ci", "predicted", "rel_dev"}
        assert est["ci"][0] <= est["mean"] <= est["ci"][1]
        assert est["rel_dev"] == pytest.approx((est["mean"] - est["predicted"]) / est["predicted"])
    assert out["coord_var"]["predicted"] == pytest.approx(2 / 128)
    assert out["n_networks"] == 500 and out["d"] == 128
    prov = out["provenance"]
    assert prov["precision"] == "fp32" and prov["seed"] == 3 and prov["method"] == "conditional"


def test_estimate_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["estimate", "conv(4,3) relu flatten dense(3)", "--input", "2x6x6", "--networks", "64", "--json"]
    main(args)
    first = json.loads(capsys.readouterr().out)
    main(args)
    second = json.loads(capsys.readouterr().out)
    assert first["coord_var"] == second["coord_var"]


def test_estimate_not_covered_still_measures(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["estimate", "conv(4,3) relu globalmaxpool dense(3)", "--input", "2x6x6", "--networks", "64", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["covered"] is False and out["coord_var"]["predicted"] is None and out["coord_var"]["mean"] > 0


def test_estimate_readable_output() -> None:
    res = run("estimate", "dense(32) relu dense(4)", "--input", "16", "--networks", "200", "--target", "loss")
    assert res.returncode == 0, res.stderr
    assert "rel. dev (95% CI)" in res.stdout and "eq. 9" in res.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--networks", "0"], "expected a positive integer"),
        (["--device", "cuda"], "CUDA is not available"),
        (["--method", "conditional", "--input", "1x4x4", "ARCH=conv(2,3) flatten dense(2)"], "does not apply"),
        (["--loss-class", "7", "--target", "loss"], "out of range"),
    ],
)
def test_estimate_bad_input_exits_2(
    args: list[str], fragment: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the no-CUDA path, on any machine
    arch = next((a.split("=", 1)[1] for a in args if a.startswith("ARCH=")), "dense(8) relu dense(2)")
    rest = [a for a in args if not a.startswith("ARCH=")]
    if "--input" not in rest:
        rest += ["--input", "4"]
    if "--networks" not in rest:
        rest += ["--networks", "8"]
    try:
        code = main(["estimate", arch, *rest])
    except SystemExit as exc:  # argparse rejects bad values itself, with status 2
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert fragment in captured.err
    assert captured.out == ""


@pytest.mark.slow  # 8-9 s on 2 cores: it times every peer
def test_bench_reports_every_peer_on_a_tiny_config() -> None:
    configs = [
        BenchConfig("tiny dense", "dense(16) relu dense(2)", (8,), 64, 4),
        BenchConfig("tiny cnn", "conv(4,3,padding=circular) relu globalavgpool dense(2)", (1, 6, 6), 32, 4),
    ]
    results = run_bench("cpu", configs=configs)
    assert [r.method for r in results] == ["conditional", "explicit"]
    assert set(results[0].peers) == {"loop", "vmap", "bmm"} and set(results[1].peers) == {"loop", "vmap"}
    for r in results:
        assert r.nets_per_s > 0 and all(v > 0 for v in r.peers.values())
        assert r.ratios["loop"] == pytest.approx(r.nets_per_s / r.peers["loop"])
        assert r.flops_per_net > 0 and r.peak_tflops > 0
