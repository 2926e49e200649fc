"""Simon-Gabriel et al. (2019): the scaling theorems on their built-in families, written in the public forms.

Each claim here is a list of :mod:`theorycheck.claims.forms` claims (scaling laws and values on a family, with a
control family) sharing cells; only Theorem 4's (S) check is claim-specific (a graph fact, decided exactly).
Cells keep the names and parameters they had before the public forms existed, so studies reuse stored results
and give the same numbers (``tests/unit/test_catalogue_forms.py`` holds that).
"""

from __future__ import annotations

from typing import Any

from theorycheck.claims._base import SG, CellData, Claim, Part
from theorycheck.claims._common import fixed_verdict_part
from theorycheck.claims._params import Param, positive_int, sweep
from theorycheck.claims._sg import DIMS, RES, cnn, fc, networks
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._composite import composite_claim
from theorycheck.claims.forms._define import build
from theorycheck.theory import predict

__all__ = ["CLAIMS"]

_LOSS = {"target": "loss", "loss_class": "random"}


def _form(claim_id: str, form: str, **fields: Any) -> UserClaim:
    return build(claim_id, form, f"{claim_id} (catalogue)", source=SG, **fields)


def _sec3_1(p: dict[str, Any]) -> list[UserClaim]:
    fam = {"arch": "dense(1,gain=1)", "input": "{d}", "sweep": {"d": p["dims"]}, "networks": p["networks"]}
    ctl = {"control": {"arch": "dense(1,gain=1,scaling=none)"}}
    return [
        _form("sg.sec3_1", "scaling", statistic="coord_abs", slope=-0.5, title="coordinates ∝ d^-1/2", **fam, **ctl),
        _form("sg.sec3_1", "scaling", statistic="grad_l1", slope=0.5, title="ε∞‖∂ₓo‖₁ ∝ d^1/2", **fam, **ctl),
    ]


def _thm3(p: dict[str, Any]) -> list[UserClaim]:
    arch = fc(p["width"], p["depth"], classes=p["classes"])
    control = {"arch": fc(p["width"], p["depth"], first=",scaling=none", classes=p["classes"])}
    fam = {"arch": arch, "input": "{d}", "sweep": {"d": p["dims"]}, "networks": p["networks"], "control": control}
    return [
        _form("sg.thm3", "scaling", statistic="coord_abs", slope=-0.5, title="coordinates of ∂ₓf_k ∝ d^-1/2", **fam),
        _form("sg.thm3", "scaling", statistic="grad_l1", slope=0.5, title="‖∂ₓL‖₁ ∝ d^1/2 (q = 1)", **fam, **_LOSS),
        _form("sg.thm3", "scaling", statistic="grad_l2", slope=0.0, title="‖∂ₓL‖₂ ∝ d^0 (q = 2)", **fam, **_LOSS),
        _form(
            "sg.thm3",
            "scaling",
            statistic="grad_linf",
            slope=-0.5,
            scale="1/sqrt(2*log(2*d))",
            title="‖∂ₓL‖∞ / √(2 ln 2d) ∝ d^-1/2 (q = ∞; the max of d coordinates carries √(2 ln 2d))",
            **fam,
            **_LOSS,
        ),
    ]


def _thm4_l2(p: dict[str, Any]) -> list[UserClaim]:
    families = [
        ("FC", fc(p["width"], 2), fc(p["width"], 2, first=",scaling=none"), "{d}", {"d": p["dims"]}),
        (
            "CNN circular",
            cnn(p["channels"]),
            cnn(p["channels"], last=",gain=1,scaling=none"),
            "3x{r}x{r}",
            {"r": p["resolutions"]},
        ),
    ]
    out = []
    for name, arch, mutant, shape, grid in families:
        fam = {
            "arch": arch,
            "input": shape,
            "sweep": grid,
            "label": f"{name}/d={{d}}",
            "networks": p["networks"],
            "control": {"arch": mutant},
            "statistic": "grad_sq_norm",
        }
        out.append(_form("sg.thm4_l2", "scaling", slope=0.0, title=f"E‖∂ₓf_k‖₂² independent of d ({name})", **fam))
        out.append(_form("sg.thm4_l2", "value", predicted="1", title=f"E‖∂ₓf_k‖₂² ({name})", **fam))
    return out


def _cnn_pair(claim_id: str, p: dict[str, Any], arch: str, mutant: str, label: str, name: str = "") -> list[UserClaim]:
    """Theorem 4 / Corollary 5 on one CNN family: coordinates ∝ d^-1/2 and eq. 7 with q = 1."""
    fam = {
        "arch": arch,
        "input": "3x{r}x{r}",
        "sweep": {"r": p["resolutions"]},
        "label": label,
        "networks": p["networks"],
        "control": {"arch": mutant},
    }
    return [
        _form(
            claim_id,
            "scaling",
            statistic="coord_abs",
            slope=-0.5,
            title=f"coordinates ∝ d^-1/2{f' ({name})' if name else ''}",
            **fam,
        ),
        _form(
            claim_id,
            "scaling",
            statistic="grad_l1",
            slope=0.5,
            title=f"‖∂ₓL‖₁ ∝ d^1/2{f' ({name})' if name else ''}",
            **fam,
            **_LOSS,
        ),
    ]


def _thm4_coord(p: dict[str, Any]) -> list[UserClaim]:
    c = p["channels"]
    return _cnn_pair("sg.thm4_coord", p, cnn(c), cnn(c, last=",gain=1,scaling=none"), "r={r}")


def _symmetric_family(p: dict[str, Any], data: CellData, role: str) -> list[Part]:
    """Theorem 4's (S) for the family, decided exactly from the graph."""
    if role != "main":
        return []
    sym = [predict(cnn(p["channels"]), f"3x{r}x{r}").symmetric for r in p["resolutions"]]
    verdict = "verified" if all(sym) else "refuted"
    return [
        fixed_verdict_part(
            "(S) holds for the family (graph)",
            "decided exactly from the graph",
            verdict,
            f"(S) at resolutions {p['resolutions']}: {sym}",
        )
    ]


def _cor5(p: dict[str, Any]) -> list[UserClaim]:
    c, out = p["channels"], []
    for name, stride2 in (("strided, zero padding", True), ("stride 1, zero padding", False)):
        arch = cnn(c, padding="zero", stride2=stride2)
        mutant = cnn(c, padding="zero", stride2=stride2, last=",gain=1,scaling=none")
        out += _cnn_pair("sg.cor5", p, arch, mutant, f"{name}/r={{r}}", name)
    return out


def _thm6_res(p: dict[str, Any]) -> list[UserClaim]:
    c = p["channels"]
    fam = {
        "arch": cnn(c, head="globalavgpool"),
        "input": "3x{r}x{r}",
        "sweep": {"r": p["resolutions"]},
        "networks": p["networks"],
        "control": {"arch": cnn(c, head="flatten")},
    }
    return [
        _form(
            "sg.thm6_res",
            "scaling",
            statistic="grad_l1",
            slope=0.0,
            **fam,
            **_LOSS,
            title="ε∞‖∂ₓL‖₁ independent of resolution",
        )
    ]


def _claim(
    claim_id: str, statement: str, formula: str, params: dict[str, Param], members: Any, extra: Any = None
) -> Claim:
    return composite_claim(
        claim_id,
        statement=statement,
        source=SG,
        members=members,
        params=params,
        kind="scaling",
        formula=formula,
        extra_parts=extra,
    )


_CNN = {"resolutions": RES, "channels": Param(8, "channels", positive_int), "networks": networks(2000)}

CLAIMS: list[Claim] = [
    _claim(
        "sg.sec3_1",
        "One linear output neuron on d inputs with weight variance 1/d: the coordinates "
        "of ∂ₓo have size ∝ 1/√d and ε∞‖∂ₓo‖₁ ∝ √d (Section 3.1).",
        "EE abs((partial o)/(partial x_i)) prop d^(-1\\/2), quad epsilon_oo EE norm(nabla_x o)_1 prop d^(1\\/2)",
        {"dims": DIMS, "networks": networks(2000)},
        _sec3_1,
    ),
    _claim(
        "sg.thm3",
        "Fully connected ReLU nets: coordinates of ∂ₓf_k scale as 1/√d, ‖∂ₓL‖_q ∝ "
        "d^{1/q−1/2}, and ε_p‖∂ₓL‖_q ∝ √d (Theorem 3, eq. 7), for q ∈ {1, 2, ∞}.",
        "EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2), quad norm(nabla_x cal(L))_q prop d^(1\\/q - 1\\/2), "
        "quad epsilon_p norm(nabla_x cal(L))_q prop d^(1\\/2)",
        {
            "dims": DIMS,
            "width": Param(256, "width", positive_int),
            "depth": Param(2, "hidden layers", positive_int),
            "classes": Param(10, "logits", positive_int),
            "networks": networks(2000),
        },
        _thm3,
    ),
    _claim(
        "sg.thm4_l2",
        "Any feedforward ReLU net under (H): E‖∂ₓf_k‖₂² is independent of d, and equals 1 "
        "in the paper's normalisation; (S) is not needed (Theorem 4).",
        'EE norm(nabla_x f_k)_2^2 = 1 " for every " d',
        {
            "dims": Param([64, 256, 1024], "FC input dimensions", sweep(2)),
            "resolutions": RES,
            "width": Param(128, "FC width", positive_int),
            "channels": Param(8, "CNN channels", positive_int),
            "networks": networks(2000),
        },
        _thm4_l2,
    ),
    _claim(
        "sg.thm4_coord",
        "Under (S), the coordinates of ∂ₓf_k scale as 1/√d and eq. 7 holds for any such net (Theorem 4).",
        'EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2) " under (S)"',
        dict(_CNN),
        _thm4_coord,
        _symmetric_family,
    ),
    _claim(
        "sg.cor5",
        "CNNs, strided or not: coordinates ∝ 1/√d and eq. 7 holds as the image resolution grows (Corollary 5).",
        "EE abs(partial f_k \\/ partial x_i) prop d^(-1\\/2), quad norm(nabla_x cal(L))_1 prop d^(1\\/2)",
        dict(_CNN),
        _cor5,
    ),
    _claim(
        "sg.thm6_res",
        "If conv and average-pooling layers reduce every channel to 1 pixel, the ℓ∞ "
        "vulnerability ε∞‖∂ₓL‖₁ does not depend on the resolution (Theorem 6).",
        "epsilon_oo norm(nabla_x cal(L))_1 prop d^0",
        dict(_CNN),
        _thm6_res,
    ),
]
