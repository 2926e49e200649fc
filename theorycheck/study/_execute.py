"""Executing one cell: its rows (one per network, or one per architecture for graph cells)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from theorycheck.claims import Cell
from theorycheck.graph import parse_input_shape

__all__ = ["cell_seed", "execute_cell"]


def cell_seed(study_seed: int, cell: Cell) -> int:
    """Seed of a cell's stream: a function of the study seed and the stream identity only."""
    digest = hashlib.sha256(f"{study_seed}/{cell.stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _graph_row(arch: str, shape: str) -> dict[str, Any]:
    from theorycheck.theory import lemma7_sum, predict

    p = predict(arch, shape)
    lemma8 = p.lemma8_map
    spread = float((lemma8.max() - lemma8.min()) / lemma8.mean()) if lemma8.mean() > 0 else float("nan")
    cv = p.coord_var_map
    cv_spread = float((cv.max() - cv.min()) / cv.mean()) if cv is not None and cv.mean() > 0 else None
    interior_uniform = False
    if lemma8.ndim == 3 and lemma8.shape[1] > 8 and lemma8.shape[2] > 8:
        inner = lemma8[:, 4:-4, 4:-4]
        interior_uniform = bool(np.allclose(inner, inner.flat[0], rtol=1e-12, atol=0))
    return {
        "d": p.d,
        "lemma7_sum": p.lemma7_sum,
        "orphan_mass": p.orphan_mass,
        "lemma7_nominal": lemma7_sum(arch, shape, degrees="nominal"),
        "symmetric": p.symmetric,
        "lemma8_min": p.lemma8.min,
        "lemma8_mean": p.lemma8.mean,
        "lemma8_max": p.lemma8.max,
        "lemma8_spread": spread,
        "coord_var_spread": cv_spread,
        "interior_uniform": interior_uniform,
        "log10_paths": p.log10_paths,
        "covered": p.covered,
        "coord_var_mean": None if p.coord_var is None else p.coord_var.mean,
        "lemma8_map": lemma8.ravel().tolist(),
        "map_shape": list(lemma8.shape),
        "coord_var_map": None if p.coord_var_map is None else p.coord_var_map.ravel().tolist(),
    }


def _reducers(refs: list[list[str]]) -> dict[str, Any] | None:
    """User statistics of a cell, ``[[name, "module:qualname"], ...]``, imported where the cell runs."""
    from theorycheck.claims.forms._statistics import load_reducer

    return {name: load_reducer(ref) for name, ref in refs} or None


def execute_cell(
    cell: Cell, *, study_seed: int, device: str, precision: str, conv_kernel: str = "grouped"
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows of ``cell``, its provenance, and per-input maps (sample cells with ``maps``; else ``{}``).

    ``conv_kernel`` is the sampler's convolution kernel for Monte Carlo (``sample``) cells."""
    seed = cell_seed(study_seed, cell)
    params = cell.params
    if cell.kind == "sample":
        from theorycheck.sampler import sample

        res = sample(
            params["arch"],
            params["input"],
            networks=cell.networks,
            start=cell.start,
            seed=seed,
            targets=tuple(params.get("targets", ["logit"])),
            output=params.get("output", 0),
            loss_class=params.get("loss_class", "argmax"),
            method=params.get("method", "auto"),
            fgsm=params.get("fgsm"),
            device=device,
            precision=precision,
            maps=bool(params.get("maps", False)),
            inputs=params.get("inputs", "gaussian"),
            input_seed=params.get("input_seed"),
            conv_kernel=conv_kernel,
            q=params.get("q"),
            reducers=_reducers(params.get("reducers", [])),
        )
        return pd.DataFrame(res.rows), res.provenance, res.maps
    if cell.kind == "module":
        from theorycheck._imports import import_object
        from theorycheck.sampler import he_init, sample_module

        res = sample_module(
            import_object(params["module"], what="module"),
            params["input"],
            networks=cell.networks,
            start=cell.start,
            seed=seed,
            variables=params.get("variables", {}),
            targets=tuple(params.get("targets", ["logit"])),
            loss_class=params.get("loss_class", "argmax"),
            init=he_init if params.get("init") == "he" else None,
            device=device,
            precision=precision,
            q=params.get("q"),
            reducers=_reducers(params.get("reducers", [])),
            output_scale=float(params.get("output_scale", 1.0)),
        )
        return pd.DataFrame(res.rows), res.provenance, {}
    if cell.kind == "paths":
        from theorycheck.sampler._paths import lemma9_rows, path_products

        pp = path_products(params["arch"], params["input"], networks=cell.networks, seed=seed, start=cell.start)
        rows = {"network": np.arange(cell.start, cell.start + cell.networks), **lemma9_rows(pp)}
        return pd.DataFrame(rows), {"seed": seed, "n_paths": int(pp.omega.shape[1]), "precision": "fp64"}, {}
    if cell.kind == "pathsum":
        from theorycheck.sampler._paths import path_sum

        out = []
        for i in range(cell.start, cell.start + cell.networks):
            r = path_sum(
                params["arch"],
                params["input"],
                seed=seed,
                network=i,
                ignore_gates=bool(params.get("ignore_gates", False)),
            )
            out.append(
                {
                    "network": i,
                    "max_abs_error": r.max_abs_error,
                    "tolerance": float(r.tolerance().max()),
                    "holds": r.holds,
                    "n_paths": r.n_paths,
                    "grad_max": float(np.abs(r.autograd).max()),
                }
            )
        return pd.DataFrame(out), {"seed": seed, "precision": "fp64"}, {}
    if cell.kind == "epsilon":
        from theorycheck.claims.attacks import scan_rows

        rows = scan_rows(
            params["arch"],
            params["input"],
            networks=cell.networks,
            seed=seed,
            start=cell.start,
            eps_max=float(params["eps_max"]),
            mutant=bool(params["mutant"]),
        )
        frame = pd.DataFrame({"network": np.arange(cell.start, cell.start + cell.networks), **rows})
        return frame, {"seed": seed, "precision": "fp64"}, {}
    if cell.kind == "bound":
        from theorycheck.attacks._robustness import bound_attack_rows

        rows = bound_attack_rows(
            params["arch"],
            params["input"],
            networks=cell.networks,
            seed=seed,
            start=cell.start,
            bound=params["bound"],
            mutant=bool(params["mutant"]),
        )
        return pd.DataFrame(rows), {"seed": seed, "precision": "fp64", "device": "cpu"}, {}
    if cell.kind == "property":
        import json as _json

        from theorycheck.properties import Property, search

        prop = cell.payload
        if not isinstance(prop, Property):
            raise TypeError(f"property cell {cell.id} carries no property (payload {prop!r})")
        results = search(prop, budget=int(params["budget"]), seed=seed % 2**32)
        table = [
            {
                "method": r.method,
                "evaluations": r.evaluations,
                "max_violation": r.max_violation,
                "found": r.found,
                "counterexample": _json.dumps(r.counterexample),
                "nan_evaluations": r.nan_evaluations,
                "error": _json.dumps(r.error),
            }
            for r in results
        ]
        return pd.DataFrame(table), {"seed": seed, "precision": "fp64"}, {}
    if cell.kind == "graph":
        parse_input_shape(params["input"])
        return pd.DataFrame([_graph_row(params["arch"], params["input"])]), {"precision": "fp64 (exact)"}, {}
    raise ValueError(f"unknown cell kind {cell.kind!r}")
