"""Simon-Gabriel et al. (2019): eq. 8's constant, eq. 9's variance, and Theorem 6 (strided conv vs pooling)."""

from __future__ import annotations

import math
from typing import Any

from theorycheck.claims._base import Cell, CellData, Claim, Part
from theorycheck.claims._common import (
    CONSTANT,
    exact_part,
    mean_part,
    paired_ratio_part,
    predicted_skewness,
    ratio_scaling_part,
    sample_cell,
)
from theorycheck.claims._params import (
    Param,
    loss_class,
    positive_int,
    positive_int_list,
    square_pools,
)
from theorycheck.claims._sg import ID_EXACT, ROLES, col, fc, networks, sg_claim
from theorycheck.theory import predict

__all__ = ["CLAIMS"]


# -- sg.eq8 ----------------------------------------------------------------------------------
def _eq8_arch(p: dict[str, Any], gain: str, role: str) -> str:
    first = ",scaling=none" if role == "control" else ""
    return fc(p["width"], p["depth"], first=first, logit_gain="" if gain == "2" else ",gain=1")


def _eq8_cells(p: dict[str, Any]) -> list[Cell]:
    return [
        sample_cell("sg.eq8", role, f"gain={g}/d={d}", _eq8_arch(p, g, role), str(d), p["networks"], targets=["logit"])
        for role in ROLES
        for g in ("1", "2")
        for d in p["dims"]
    ]


def _eq8_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    parts = []
    for g in ("1", "2"):
        constant = None
        for d in p["dims"]:
            pred = predict(_eq8_arch(p, g, "main"), str(d))
            assert pred.coord_var is not None
            constant = d * pred.coord_var.mean
            values = d * data[f"{role}/gain={g}/d={d}"]["logit.coord_var"].to_numpy()
            parts.append(
                mean_part(
                    f"d·E[(∂f_k/∂x_i)²] = {constant:.6g} (logit gain {g}, d={d})",
                    "d times the mean squared coordinate; the constant follows from the graph",
                    values,
                    constant,
                    CONSTANT,
                    skewness=predicted_skewness(_eq8_arch(p, g, role), str(d)),
                )
            )
        if g == "1" and role == "main":
            assert constant is not None
            parts.append(
                exact_part(
                    "the paper's constant is 1 (logit layer Var = 1/fan_in)",
                    "exact constant from the graph, He on hidden layers and gain 1 on the logits",
                    abs(constant - 1.0) < ID_EXACT,
                    constant,
                    1.0,
                    f"graph constant {constant:.15g}",
                )
            )
    return parts


def _thm3_arch(p: dict[str, Any], role: str) -> str:
    """Theorem 3's FC net (the control drops the fan-in scaling of the first layer)."""
    return fc(p["width"], p["depth"], first=",scaling=none" if role == "control" else "", classes=p["classes"])


# -- sg.eq9_var ------------------------------------------------------------------------------
def _eq9_cells(p: dict[str, Any]) -> list[Cell]:
    return [
        sample_cell(
            "sg.eq9_var",
            role,
            f"d={d}",
            _thm3_arch(p, role),
            str(d),
            p["networks"],
            targets=["loss"],
            loss_class=p["loss_class"],
        )
        for role in ROLES
        for d in p["dims"]
    ]


def _eq9_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    parts = []
    for d in p["dims"]:
        pred = predict(_thm3_arch(p, "main"), str(d))
        assert pred.coord_var is not None
        constant = d * pred.coord_var.mean
        df = data[f"{role}/d={d}"]
        parts.append(
            paired_ratio_part(
                f"d·E[(∂L/∂x_i)²] / (C·E[(1−q_c)² + Σ q_k²]) = 1 (d={d})",
                f"measured loss-gradient variance against eq. 9's, with the logit constant C = {constant:.6g} "
                "from the graph and q measured per network",
                d * df["loss.coord_var"].to_numpy(),
                constant * df["eq9_factor"].to_numpy(),
                1.0,
            )
        )
    return parts


# -- sg.thm6 and sg.thm6_proof: strided conv vs conv + average pooling ----------------------
def _thm6_arch(p: dict[str, Any], n: int, arm: str) -> str:
    s = math.isqrt(n)
    c = p["channels"]
    first = f"conv({c},3,padding=circular) relu"
    if arm == "pooled":
        return f"{first} conv({c},3,padding=circular) relu avgpool({s}) flatten dense(10,gain=1)"
    return f"{first} conv({c},3,stride={s},padding=circular) relu flatten dense(10,gain=1)"


def _thm6_cells(p: dict[str, Any]) -> list[Cell]:
    shape = f"3x{p['resolution']}x{p['resolution']}"
    out = []
    for n in p["pools"]:
        for arm in ("pooled", "strided"):
            out.append(
                sample_cell(
                    "sg.thm6",
                    "main",
                    f"{arm}/n={n}",
                    _thm6_arch(p, n, arm),
                    shape,
                    p["networks"],
                    targets=["logit", "loss"],
                    loss_class="random",
                )
            )
        # negative control: a strided conv in place of the pooling (an independent stream)
        out.append(
            sample_cell(
                "sg.thm6",
                "control",
                f"pooled/n={n}",
                _thm6_arch(p, n, "strided"),
                shape,
                p["networks"],
                targets=["logit", "loss"],
                loss_class="random",
            )
        )
    return out


def _thm6_cells_by_role(p: dict[str, Any], role: str) -> list[tuple[float, str, str]]:
    return [(n, f"{role}/pooled/n={n}", f"main/strided/n={n}") for n in p["pools"]]


def _thm6_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    cells = _thm6_cells_by_role(p, role)
    return [
        ratio_scaling_part(
            "output gradients divided by n",
            "ratio of E‖∂ₓf_k‖₁ (pooled / strided) against n; the statement predicts n^-1",
            data,
            cells,
            col("logit.l1"),
            -1.0,
        ),
        ratio_scaling_part(
            "loss gradients divided by n",
            "ratio of E‖∂ₓL‖₁ (pooled / strided) against n",
            data,
            cells,
            col("loss.l1"),
            -1.0,
        ),
    ]


def _thm6_proof_parts(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    cells = _thm6_cells_by_role(p, role)
    parts = [
        ratio_scaling_part(
            "gradient variance × 1/n",
            "ratio of E[(∂f_k/∂x_i)²] (pooled / strided) against n",
            data,
            cells,
            col("logit.coord_var"),
            -1.0,
        ),
        ratio_scaling_part(
            "coordinate size × 1/√n",
            "ratio of E‖∂ₓf_k‖₁ (pooled / strided) against n",
            data,
            cells,
            col("logit.l1"),
            -0.5,
        ),
        ratio_scaling_part(
            "loss-gradient variance × 1/n",
            "ratio of E[(∂L/∂x_i)²] against n",
            data,
            cells,
            col("loss.coord_var"),
            -1.0,
        ),
    ]
    if role == "main":
        shape = f"3x{p['resolution']}x{p['resolution']}"
        table = []
        for n in p["pools"]:
            a, b = predict(_thm6_arch(p, n, "pooled"), shape), predict(_thm6_arch(p, n, "strided"), shape)
            assert a.grad_sq_norm is not None and b.grad_sq_norm is not None
            table.append({"n": n, "(H) variance ratio": a.grad_sq_norm / b.grad_sq_norm})
        exact = all(abs(row["(H) variance ratio"] * row["n"] - 1) < ID_EXACT for row in table)
        parts.append(
            exact_part(
                "(H) prediction: variance ratio = 1/n exactly",
                "from the graph (Theorem 6's proof)",
                exact,
                float(table[0]["(H) variance ratio"]),
                1 / p["pools"][0],
                "graph ratios: " + ", ".join(f"n={r['n']}: {r['(H) variance ratio']:.6g}" for r in table),
                table,
            )
        )
    return parts


CLAIMS: list[Claim] = [
    sg_claim(
        "sg.eq8",
        "mc",
        "Fully connected ReLU nets under (H): E[(∂ₓf_k)²] = C/d; the paper's constant is 1, the "
        "exact constant for a given init follows from the graph (eq. 8).",
        'd dot EE[(partial f_k \\/ partial x_i)^2] = C_"graph"',
        {
            "dims": Param([64, 1024], "input dimensions", positive_int_list),
            "width": Param(256, "width", positive_int),
            "depth": Param(2, "hidden layers", positive_int),
            "networks": networks(2000),
        },
        _eq8_cells,
        _eq8_parts,
    ),
    sg_claim(
        "sg.eq9_var",
        "mc",
        "The variance of the coordinates of ∂ₓL is ((1−q_c)² + Σ_{k≠c} q_k²)/d times the "
        "logit constant (Theorem 3, step 2).",
        "EE[(partial cal(L) \\/ partial x_i)^2] = C dot EE[(1-q_c)^2 + sum_(k != c) q_k^2] \\/ d",
        {
            "dims": Param([256], "input dimensions", positive_int_list),
            "width": Param(256, "width", positive_int),
            "depth": Param(2, "hidden layers", positive_int),
            "classes": Param(10, "logits", positive_int),
            "loss_class": Param("random", "class c: random, argmax or a class index", loss_class),
            "networks": networks(4000),
        },
        _eq9_cells,
        _eq9_parts,
    ),
    sg_claim(
        "sg.thm6",
        "scaling",
        "Statement of Theorem 6: replacing a strided conv that keeps 1 neuron out of n by a "
        "stride-1 conv followed by average-pooling over n divides all output and loss gradients by n.",
        'EE norm(nabla_x f)_"pooled" \\/ EE norm(nabla_x f)_"strided" prop n^(-1)',
        {
            "pools": Param([4, 9, 16], "pool sizes n (stride √n)", square_pools),
            "resolution": Param(12, "image resolution (divisible by every √n)", positive_int),
            "channels": Param(8, "channels", positive_int),
            "networks": networks(2000),
        },
        _thm6_cells,
        _thm6_parts,
    ),
    sg_claim(
        "sg.thm6_proof",
        "scaling",
        "Proof of Theorem 6 (appendix A.2): the replacement multiplies the gradient "
        "variance by 1/n and the average coordinate size by 1/√n.",
        'EE[(partial f \\/ partial x_i)^2]_"pooled" \\/ EE[(partial f \\/ partial x_i)^2]_"strided" prop n^(-1), quad "size ratio" prop n^(-1\\/2)',
        {
            "pools": Param([4, 9, 16], "pool sizes n (stride √n)", square_pools),
            "resolution": Param(12, "image resolution", positive_int),
            "channels": Param(8, "channels", positive_int),
            "networks": networks(2000),
        },
        _thm6_cells,
        _thm6_proof_parts,
    ),
]
