"""Claims about families of networks, on the papers' own families: Simon-Gabriel et al.'s theorems (defined once
in :mod:`theorycheck.claims.theorems`) and eq. 9's variance.

Each builder gives its theorem the built-in family (and its negative control: the same family with a layer's
fan-in scaling dropped, or Theorem 6's strided conv in place of the pooling) from the study parameters. Cells keep
the names and parameters they had before the theorems were shared with user families, so stored results are
reused and the numbers are the same (``tests/unit/test_catalogue_forms.py`` holds that).

Only eq. 9's variance stays claim-specific: it is a ratio paired per network (the loss gradient's variance against
the softmax factor measured on the same network), which no public form expresses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from theorycheck.claims._archs import DIMS, ID_EXACT, RES, ROLES, cnn, fc, networks
from theorycheck.claims._base import Cell, CellData, Claim, Entry, Part, make_claim
from theorycheck.claims._params import Param, loss_class, positive_int, positive_int_list, square_pools, sweep
from theorycheck.claims._parts import exact_part, paired_ratio_part, sample_cell
from theorycheck.claims.theorems import FamilySpec, theorem_claim
from theorycheck.theory import predict

__all__ = [
    "BUILT_IN_FAMILIES",
    "cor5",
    "eq8",
    "eq9_var",
    "sec3_1",
    "thm3",
    "thm4_coord",
    "thm4_l2",
    "thm6",
    "thm6_proof",
    "thm6_res",
]


def _sec3_1_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.sec3_1's families in the catalogue, each with its negative control."""
    fields = {"arch": "dense(1,gain=1)", "input": "{d}", "sweep": {"d": p["dims"]}}
    return [FamilySpec(fields, {"arch": "dense(1,gain=1,scaling=none)"})]


def sec3_1(entry: Entry) -> Claim:
    """Section 3.1: one linear output neuron on d inputs (the control: no fan-in scaling)."""
    return theorem_claim(entry, _sec3_1_families, {"dims": DIMS, "networks": networks(2000)})


def _paper_constant(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    """The paper's normalisation (He hidden layers, a gain-1 logit layer) makes eq. 8's constant exactly 1."""
    if role != "main":
        return []
    arch = fc(p["width"], p["depth"], logit_gain=",gain=1")
    pred = predict(arch, str(p["dims"][0]))
    assert pred.coord_var is not None
    constant = p["dims"][0] * pred.coord_var.mean
    return [
        exact_part(
            "the paper's constant is 1 (logit layer Var = 1/fan_in)",
            "exact constant from the graph, He on hidden layers and gain 1 on the logits",
            abs(constant - 1.0) < ID_EXACT,
            constant,
            1.0,
            f"graph constant {constant:.15g}",
        )
    ]


def _eq8_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.eq8's families in the catalogue, each with its negative control."""
    out = []
    for g, logit in (("1", ",gain=1"), ("2", "")):
        fields = {
            "arch": fc(p["width"], p["depth"], logit_gain=logit),
            "input": "{d}",
            "sweep": {"d": p["dims"]},
            "label": f"gain={g}/d={{d}}",
        }
        control = {"arch": fc(p["width"], p["depth"], first=",scaling=none", logit_gain=logit)}
        out.append(FamilySpec(fields, control))
    return out


def eq8(entry: Entry) -> Claim:
    """Eq. 8 on FC nets with a gain-1 and a gain-2 logit layer (the control drops the first layer's fan-in)."""
    params = {
        "dims": Param([64, 1024], "input dimensions", positive_int_list),
        "width": Param(256, "width", positive_int),
        "depth": Param(2, "hidden layers", positive_int),
        "networks": networks(2000),
    }
    return theorem_claim(entry, _eq8_families, params, extra=_paper_constant)


def _thm3_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.thm3's families in the catalogue, each with its negative control."""
    arch = fc(p["width"], p["depth"], classes=p["classes"])
    control = {"arch": fc(p["width"], p["depth"], first=",scaling=none", classes=p["classes"])}
    return [FamilySpec({"arch": arch, "input": "{d}", "sweep": {"d": p["dims"]}}, control)]


def thm3(entry: Entry) -> Claim:
    """Theorem 3 on an FC net (the control drops the first layer's fan-in scaling)."""
    params = {
        "dims": DIMS,
        "width": Param(256, "width", positive_int),
        "depth": Param(2, "hidden layers", positive_int),
        "classes": Param(10, "logits", positive_int),
        "networks": networks(2000),
    }
    return theorem_claim(entry, _thm3_families, params)


def _thm4_l2_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.thm4_l2's families in the catalogue, each with its negative control."""
    fc_fields = {"arch": fc(p["width"], 2), "input": "{d}", "sweep": {"d": p["dims"]}, "label": "FC/d={d}"}
    cnn_fields = {
        "arch": cnn(p["channels"]),
        "input": "3x{r}x{r}",
        "sweep": {"r": p["resolutions"]},
        "label": "CNN circular/d={d}",
    }
    return [
        FamilySpec(fc_fields, {"arch": fc(p["width"], 2, first=",scaling=none")}, "FC"),
        FamilySpec(cnn_fields, {"arch": cnn(p["channels"], last=",gain=1,scaling=none")}, "CNN circular"),
    ]


def thm4_l2(entry: Entry) -> Claim:
    """Theorem 4 on an FC net and a circular CNN, both with the paper's gain-1 logit layer (the control: the logit
    layer without fan-in scaling)."""
    params = {
        "dims": Param([64, 256, 1024], "FC input dimensions", sweep(2)),
        "resolutions": RES,
        "width": Param(128, "FC width", positive_int),
        "channels": Param(8, "CNN channels", positive_int),
        "networks": networks(2000),
    }
    return theorem_claim(entry, _thm4_l2_families, params)


_CNN = {"resolutions": RES, "channels": Param(8, "channels", positive_int), "networks": networks(2000)}


def _thm4_coord_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.thm4_coord's families in the catalogue, each with its negative control."""
    c = p["channels"]
    fields = {"arch": cnn(c), "input": "3x{r}x{r}", "sweep": {"r": p["resolutions"]}, "label": "r={r}"}
    return [FamilySpec(fields, {"arch": cnn(c, last=",gain=1,scaling=none")})]


def thm4_coord(entry: Entry) -> Claim:
    """Theorem 4's coordinates on a circular CNN, where (S) holds (the control: no fan-in scaling on the logits)."""
    return theorem_claim(entry, _thm4_coord_families, dict(_CNN))


def _cor5_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.cor5's families in the catalogue, each with its negative control."""
    out = []
    for name, stride2 in (("strided, zero padding", True), ("stride 1, zero padding", False)):
        c = p["channels"]
        fields = {
            "arch": cnn(c, padding="zero", stride2=stride2),
            "input": "3x{r}x{r}",
            "sweep": {"r": p["resolutions"]},
            "label": f"{name}/r={{r}}",
        }
        control = {"arch": cnn(c, padding="zero", stride2=stride2, last=",gain=1,scaling=none")}
        out.append(FamilySpec(fields, control, name))
    return out


def cor5(entry: Entry) -> Claim:
    """Corollary 5 on zero-padded CNNs, strided and not (the control: no fan-in scaling on the logits)."""
    return theorem_claim(entry, _cor5_families, dict(_CNN))


def _thm6_res_families(p: dict[str, Any]) -> list[FamilySpec]:
    """sg.thm6_res's families in the catalogue, each with its negative control."""
    c = p["channels"]
    fields = {"arch": cnn(c, head="globalavgpool"), "input": "3x{r}x{r}", "sweep": {"r": p["resolutions"]}}
    return [FamilySpec(fields, {"arch": cnn(c, head="flatten")})]


def thm6_res(entry: Entry) -> Claim:
    """Theorem 6's resolution statement on a CNN ending in global average pooling (the control: flattened)."""
    return theorem_claim(entry, _thm6_res_families, dict(_CNN))


# -- Theorem 6: a strided conv against a stride-1 conv and average pooling over n -------------------------------------
_FIRST = "conv({c},3,padding=circular) relu"
_POOLED = f"{_FIRST} conv({{c}},3,padding=circular) relu avgpool({{s}}) flatten dense(10,gain=1)"
_STRIDED = f"{_FIRST} conv({{c}},3,stride={{s}},padding=circular) relu flatten dense(10,gain=1)"


def _thm6_families(p: dict[str, Any]) -> list[FamilySpec]:
    """Pooled over strided at every pool size n = s² (the control: the strided conv in place of the pooling)."""
    sweep_ = {"n": p["pools"], "s": [math.isqrt(n) for n in p["pools"]], "c": p["channels"], "r": p["resolution"]}
    fields = {
        "arch": _POOLED,
        "baseline": {"arch": _STRIDED},
        "input": "3x{r}x{r}",
        "sweep": sweep_,
        "zip": True,
        "label": "n={n}",
        "against": "n",
    }
    return [FamilySpec(fields, {"arch": _STRIDED})]


_THM6 = {
    "pools": Param([4, 9, 16], "pool sizes n (stride √n)", square_pools),
    "resolution": Param(12, "image resolution (divisible by every √n)", positive_int),
    "channels": Param(8, "channels", positive_int),
    "networks": networks(2000),
}


def thm6(entry: Entry) -> Claim:
    """Theorem 6's statement on the pooled/strided pair."""
    return theorem_claim(entry, _thm6_families, dict(_THM6))


def thm6_proof(entry: Entry) -> Claim:
    """Theorem 6's proof on the same pair, on the statement's networks (the two claims share their cells)."""
    return theorem_claim(entry, _thm6_families, dict(_THM6))


#: per theorem of :data:`theorycheck.claims.theorems.THEOREMS`, the catalogue's families from its parameters: the
#: same theorem on one of them as a user family gives the same parts (``tests/unit/test_one_definition.py``)
BUILT_IN_FAMILIES: dict[str, Callable[[dict[str, Any]], list[FamilySpec]]] = {
    "sg.sec3_1": _sec3_1_families,
    "sg.eq8": _eq8_families,
    "sg.thm3": _thm3_families,
    "sg.thm4_l2": _thm4_l2_families,
    "sg.thm4_coord": _thm4_coord_families,
    "sg.cor5": _cor5_families,
    "sg.thm6": _thm6_families,
    "sg.thm6_proof": _thm6_families,
    "sg.thm6_res": _thm6_res_families,
}


# -- eq. 9: the loss gradient's variance, paired per network with its softmax factor ----------------------------------
def _eq9_arch(p: dict[str, Any], role: str) -> str:
    """Theorem 3's FC net (the control drops the fan-in scaling of the first layer)."""
    return fc(p["width"], p["depth"], first=",scaling=none" if role == "control" else "", classes=p["classes"])


def _eq9_cells(p: dict[str, Any]) -> list[Cell]:
    return [
        sample_cell(
            "sg.eq9_var",
            role,
            f"d={d}",
            _eq9_arch(p, role),
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
        pred = predict(_eq9_arch(p, "main"), str(d))
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


def eq9_var(entry: Entry) -> Claim:
    """Eq. 9's variance of the loss gradient's coordinates, per network."""
    params = {
        "dims": Param([256], "input dimensions", positive_int_list),
        "width": Param(256, "width", positive_int),
        "depth": Param(2, "hidden layers", positive_int),
        "classes": Param(10, "logits", positive_int),
        "loss_class": Param("random", "class c: random, argmax or a class index", loss_class),
        "networks": networks(4000),
    }
    return make_claim(entry, params=params, make_cells=_eq9_cells, evaluate_parts=_eq9_parts)
