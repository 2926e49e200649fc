"""The study runner: store layout, resume, corruption, kill-and-resume, Dask workers, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from theorycheck.cli import main
from theorycheck.study import load_results, load_study, run_study


def _metas(out: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (out / "cells").glob("*/meta.json")}


def test_run_writes_verdicts_evidence_and_provenance(tiny_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_study(tiny_study, out)
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert [v["claim"] for v in verdicts] == ["sg.sec3_1", "sg.lemma7", "sg.thm6_proof", "sg.lemma9"]
    for v in verdicts:
        assert set(v) >= {
            "claim",
            "verdict",
            "predicted",
            "measured",
            "ci",
            "rel_dev",
            "n_networks",
            "negative_control",
            "evidence",
        }
        assert v["negative_control"] == "refuted", v["claim"]
        for path in v["evidence"]:
            assert (out / path).exists()
            assert len(pd.read_parquet(out / path)) > 0
    assert res.verdict("sg.lemma7") == "verified"
    study = json.loads((out / "study.json").read_text())
    for key in ("theorycheck", "git_revision", "torch", "numpy", "device", "precision", "seed", "runtime_seconds"):
        assert key in study["provenance"]
    meta = json.loads(next((out / "cells").glob("*/meta.json")).read_text())
    for key in ("cell_id", "key", "seed", "study_seed", "rows_sha256", "seconds", "provenance"):
        assert key in meta
    assert not list(out.rglob("*.tmp")), "no temporary file may be left behind"
    assert not list(out.rglob("*.pkl")) and not list(out.rglob("*.pickle"))


def test_rerun_reuses_complete_cells_and_recomputes_broken_ones(tiny_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_study(tiny_study, out).verdicts
    before = _metas(out)
    time.sleep(0.01)
    assert run_study(tiny_study, out).verdicts == first
    assert _metas(out) == before, "complete cells must not be recomputed"

    cells = sorted((out / "cells").iterdir())
    truncated, unmarked = cells[0], cells[1]
    data = (truncated / "rows.parquet").read_bytes()
    (truncated / "rows.parquet").write_bytes(data[: len(data) // 2])  # corrupt rows
    (unmarked / "meta.json").unlink()  # partial cell: rows without the completeness marker
    again = run_study(tiny_study, out).verdicts
    assert again == first
    after = _metas(out)
    changed = {p for p in after if after[p] != before.get(p)}
    assert changed == {str(truncated / "meta.json"), str(unmarked / "meta.json")}


def test_changed_parameters_recompute_only_affected_cells(tiny_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_study(tiny_study, out)
    before = _metas(out)
    tiny_study.write_text(tiny_study.read_text().replace("networks = 400", "networks = 300"))
    run_study(tiny_study, out)
    after = _metas(out)
    assert len(after) > len(before)  # new cells for the new range; old ones left in place
    assert all(after[p] == before[p] for p in before)


@pytest.mark.slow  # 7-8 s on 2 cores: a real process, killed and resumed
def test_kill_and_resume_loses_nothing(tmp_path: Path) -> None:
    study = tmp_path / "slow.toml"
    study.write_text(
        '[study]\nseed = 2\nclaims = ["sg.thm4_coord"]\n[claims."sg.thm4_coord"]\n'
        "resolutions = [8, 12, 16, 20, 24, 28]\nchannels = 8\nnetworks = 600\n"
    )
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    proc = subprocess.Popen(
        [sys.executable, "-m", "theorycheck", "run", str(study), "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((killed / "cells").glob("*/meta.json"))) < 2:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((killed / "cells").glob("*/meta.json")))
    assert 2 <= done < 12, f"the kill should land mid-study ({done} of 12 cells done)"
    assert not (killed / "verdicts.json").exists()
    survivors = _metas(killed)
    resumed = run_study(study, killed)
    assert all(_metas(killed)[p] == m for p, m in survivors.items()), "completed cells must be kept"
    full = run_study(study, reference)
    assert resumed.verdicts == [{**v, "evidence": v["evidence"]} for v in full.verdicts]
    for ev in full.verdicts[0]["evidence"]:
        pd.testing.assert_frame_equal(pd.read_parquet(killed / ev), pd.read_parquet(reference / ev))


def test_dask_workers_give_identical_results(tiny_study: Path, tmp_path: Path) -> None:
    local = run_study(tiny_study, tmp_path / "local")
    dask = run_study(tiny_study, tmp_path / "dask", workers=2)
    assert dask.verdicts == local.verdicts
    for v in local.verdicts:
        for ev in v["evidence"]:
            pd.testing.assert_frame_equal(
                pd.read_parquet(tmp_path / "dask" / ev), pd.read_parquet(tmp_path / "local" / ev)
            )


def test_device_cells_in_process_next_to_cpu_workers(tiny_study: Path, tmp_path: Path) -> None:
    """What a CUDA study does with --workers: Monte Carlo cells here, the other cells on the workers."""
    local = run_study(tiny_study, tmp_path / "local")
    mixed = run_study(tiny_study, tmp_path / "mixed", workers=2, device_cells_in_process=True)
    assert mixed.verdicts == local.verdicts
    metas = [json.loads(p.read_text()) for p in (tmp_path / "mixed" / "cells").glob("*/meta.json")]
    assert {m["kind"] for m in metas} > {"sample"}
    for m in metas:
        assert (m["process"] == os.getpid()) == (m["kind"] == "sample"), m["cell_id"]


def test_cli_run_exit_codes(tiny_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_study), "--out", str(tmp_path / "a"), "--json"]) == 0
    verdicts = json.loads(capsys.readouterr().out)
    strict = main(["run", str(tiny_study), "--out", str(tmp_path / "a"), "--strict"])
    capsys.readouterr()
    assert strict == (1 if any(v["verdict"] in ("refuted", "inconclusive") for v in verdicts) else 0)
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "malformed TOML" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_strict_fails_on_a_refuted_claim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "refuted.toml"
    study.write_text('[study]\nseed = 1\nclaims = ["sg.symmetry"]\n')  # refuted: the strided counterexample
    assert main(["run", str(study), "--out", str(tmp_path / "o")]) == 0
    assert main(["run", str(study), "--out", str(tmp_path / "o"), "--strict"]) == 1


def test_load_results_api(tiny_study: Path, tmp_path: Path) -> None:
    run_study(load_study(tiny_study), tmp_path / "o")
    res = load_results(tmp_path / "o")
    frame = res.to_frame()
    assert list(frame["claim"]) == [v["claim"] for v in res.verdicts]
    ev = res.verdicts[0]["evidence"][0]
    assert "network" in res.rows(ev).columns
    assert res.results["sg.sec3_1"]["parts"][0]["fit"]["slope"] == res.verdicts[0]["measured"]


def test_three_levels_of_prediction_per_monte_carlo_cell(tiny_study: Path, tmp_path: Path) -> None:
    """(H), kernel and measured E[(∂f/∂x_i)²] per cell: equal predictions for dense nets, and for the
    average-pooled nets of Theorem 6 a kernel value that departs from (H) (computed independently here)."""
    import numpy as np

    from theorycheck.theory import kernel_predict, predict

    run_study(load_study(tiny_study), tmp_path / "o")
    res = load_results(tmp_path / "o")
    dense = res.results["sg.sec3_1"]["levels"]
    assert [lv["cell"] for lv in dense] == ["main/d=16", "main/d=64", "main/d=256"]
    for lv in dense:  # (H) is exact for dense ReLU stacks, and d·E[(∂f/∂x_i)²] does not depend on d
        assert lv["kernel"] == pytest.approx(lv["h"], rel=1e-12)
        assert lv["h"] * int(lv["input"]) == pytest.approx(dense[0]["h"] * int(dense[0]["input"]), rel=1e-12)
        half_999 = (lv["ci"][1] - lv["ci"][0]) / 2 * 3.29 / 1.96  # the 95% CI widened to 99.9% (3 cells)
        assert abs(lv["measured"] - lv["h"]) <= half_999
    pooled = [lv for lv in res.results["sg.thm6_proof"]["levels"] if "pooled" in lv["cell"]]
    assert pooled
    for lv in pooled:
        x = np.random.default_rng(0).standard_normal(int(np.prod([int(t) for t in lv["input"].split("x")])))
        kernel = kernel_predict(lv["architecture"], lv["input"], x).coord_var_map
        h = predict(lv["architecture"], lv["input"]).coord_var_map
        assert kernel is not None and h is not None
        assert lv["kernel"] == float(kernel.mean()) and lv["h"] == float(h.mean())
        assert lv["kernel"] > lv["h"] * 1.01  # the pooled positions' correlations survive infinite width


CONV_STUDY = """
[study]
name = "conv"
seed = 2
conv_kernel = "{kernel}"
claims = ["sg.thm6_proof"]

[claims."sg.thm6_proof"]
pools = [4, 9]
channels = 2
networks = 6
"""


@pytest.mark.slow  # 16 s on 2 cores: the Triton kernel in its CPU interpreter
def test_triton_conv_kernel_study_matches_grouped_and_is_keyed_apart(tmp_path: Path) -> None:
    """``conv_kernel = "triton"`` (here in Triton's CPU interpreter): the same verdict and measurements to fp32
    round-off as the grouped convolution, stored under other cell keys (a grouped store is not reused)."""
    pytest.importorskip("triton")
    outs = {kernel: tmp_path / kernel for kernel in ("grouped", "triton")}
    results = {}
    for kernel, out in outs.items():
        path = tmp_path / f"{kernel}.toml"
        path.write_text(CONV_STUDY.format(kernel=kernel))
        results[kernel] = run_study(path, out)
    g, t = (results[k].verdicts[0] for k in ("grouped", "triton"))
    assert g["verdict"] == t["verdict"]
    assert abs(t["measured"] - g["measured"]) <= 1e-5 * abs(g["measured"]), (g["measured"], t["measured"])
    metas = {
        kernel: {p.parent.name: json.loads(p.read_text()) for p in (out / "cells").glob("*/meta.json")}
        for kernel, out in outs.items()
    }
    assert metas["grouped"].keys() == metas["triton"].keys() and metas["grouped"]
    for cell, meta in metas["triton"].items():
        assert meta["provenance"]["conv_kernel"] == "triton"
        assert metas["grouped"][cell]["provenance"]["conv_kernel"] == "grouped"
        assert meta["key"] != metas["grouped"][cell]["key"], cell


def test_triton_conv_kernel_refused_on_cpu_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    path = tmp_path / "s.toml"
    path.write_text(CONV_STUDY.format(kernel="triton").replace("seed = 2", 'seed = 2\ndevice = "cpu"'))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not list((tmp_path / "out").glob("cells/*"))


def test_two_claims_on_one_family_draw_the_same_networks() -> None:
    """Issue 24: a public-form claim's random stream is named by its networks, not by the claim's ID: two claims on
    one family (other IDs, other statistics) measure the same networks; another family (a different init) does not."""
    import theorycheck.claims as tc
    from theorycheck.testing import check

    family = {
        "arch": "conv(4,3,padding=circular) relu flatten dense(10)",
        "input": "1x{r}x{r}",
        "sweep": {"r": [8, 12]},
    }
    runs = [
        check(tc.scaling(cid, **family, statistic="grad_l1", slope=0.5), networks=64) for cid in ("mine.a", "mine.b")
    ]
    first, second = ([row["estimate"] for row in r.result["parts"][0]["table"]] for r in runs)
    assert first == second
    other = dict(family, arch="conv(4,3,padding=circular,init=uniform) relu flatten dense(10)")
    third = check(tc.scaling("mine.a", **other, statistic="grad_l1", slope=0.5), networks=64)
    assert [row["estimate"] for row in third.result["parts"][0]["table"]] != first
