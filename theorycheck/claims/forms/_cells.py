"""The cells a user claim needs: one sampler cell per grid point and arm, and its negative control's.

Cell names (their streams' identity, hence their seeds, and the store's keys):

=================================== ======================================================================
``main/<point>``                    the family (scaling, value)
``main/treated/<point>``,           a ratio claim's two arms (named by its ``arms``: Theorem 6's are
``main/baseline/<point>``           ``pooled`` and ``strided``)
``control/<point>``                 the claim's own control family (``control/treated/<point>`` for a ratio
                                    claim, judged against the claim's own baseline)
``control/up/<tag>/<point>``,       the automatic control: the family with its logit layer changed both ways,
``control/down/<tag>/<point>``      half the networks each (``control/treated/up/…`` for a ratio claim); the
                                    tag (``slope-b0.15-h1``) names what fixes the change: a slope or a value
                                    moved, the band, the statistic's degree
=================================== ======================================================================
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from theorycheck.claims._base import Cell
from theorycheck.claims.forms._claim import UserClaim
from theorycheck.claims.forms._controls import NetworkControl, logit_layer_scaled, network_factors
from theorycheck.claims.forms._family import Family, Point

__all__ = [
    "NETWORK_KEYS",
    "SEED_KEYS",
    "cell_params",
    "claim_cells",
    "control_prefix",
    "family_cell",
    "kind_of",
    "network_control",
]


def kind_of(point: Point, claim: UserClaim | None = None) -> str:
    """The cell kind of a grid point: trained networks, the DSL sampler, or the module-family sampler."""
    if claim is not None and claim.training is not None:
        return "trained"
    return "sample" if point.module is None else "module"


def cell_params(claim: UserClaim, point: Point) -> dict[str, Any]:
    """What the sampler needs for one grid point (JSON: part of the cell's identity)."""
    params: dict[str, Any] = {"arch": point.arch, "input": point.input, "targets": [claim.target]}
    if point.module is not None:  # a module family: the factory, its variables and the init
        params = {
            "module": point.module,
            "variables": dict(point.variables),
            "input": point.input,
            "targets": [claim.target],
            "init": claim.init,
        }
    if claim.training is not None:  # every built-in statistic of the trained networks is in their rows
        from theorycheck.claims.forms._training import trained_params

        params.update(trained_params(claim.training, point))
        if claim.statistic.ref is not None:
            params["reducers"] = [[claim.statistic.name, claim.statistic.ref]]
        return params
    if claim.target == "loss":
        params["loss_class"] = claim.loss_class
    if claim.q is not None:
        params["q"] = claim.q
    if claim.statistic.ref is not None:
        params["reducers"] = [[claim.statistic.name, claim.statistic.ref]]
    return params


def network_control(claim: UserClaim) -> tuple[NetworkControl | None, str]:
    """The changed networks of the automatic control, or None and why the effect of a change is not known."""
    if claim.control is not None:
        return None, "the claim has its own control family"
    if claim.training is not None:
        return None, "training undoes a rescaled logit layer: its effect is known at initialisation only"
    if claim.target == "loss":
        return None, "the loss gradient is not homogeneous in the logits' scale (its softmax)"
    degree = claim.statistic.degree
    if degree is None:
        return None, f"statistic {claim.statistic.name} declares no degree of homogeneity"
    points = claim.family.points()
    moves = "slope" if claim.fits_slope else "value"
    factors = network_factors(moves, claim.margins, degree, [claim.against(p.scope) for p in points])
    archs: dict[str, list[str | None]] = {"up": [], "down": []}
    for point, factor in zip(points, factors, strict=True):
        for direction, c in (("up", factor), ("down", 1 / factor)):
            if point.module is not None:
                archs[direction].append(None)  # a module family: its logits are scaled by √c instead
                continue
            arch, why = logit_layer_scaled(point.arch, c)
            if arch is None:
                return None, f"{why} ({point.label})"
            archs[direction].append(arch)
    return NetworkControl(factors, tuple(archs["up"]), tuple(archs["down"])), ""


#: what makes two cells the same networks: the rest (targets, statistics, loss class) reads them differently
NETWORK_KEYS = ("arch", "module", "variables", "input", "init", "output_scale", "data", "train")
#: what draws a cell's initial networks (and their minibatch orders): the networks without their training, so a
#: trained claim starts from the init-time claim's networks, and two recipes train the same networks
SEED_KEYS = ("arch", "module", "variables", "input", "init", "output_scale")


def family_cell(claim: UserClaim, name: str, kind: str, params: dict[str, Any], networks: int) -> Cell:
    """A cell of a public-form claim, its random stream named by its networks (:data:`SEED_KEYS`), not by the
    claim: two claims on one family draw the same networks from one study seed, trained or not (unless the claim
    is not ``paired``: then ``claim/name``)."""
    if not claim.paired:
        return Cell(claim.id, name, kind, params, networks)
    identity = {k: params[k] for k in SEED_KEYS if k in params}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return Cell(claim.id, name, kind, params, networks, seed_stream=f"family/{digest}")


def _arm(claim: UserClaim, prefix: str, family: Family, networks: int) -> list[Cell]:
    return [
        family_cell(claim, prefix + p.label, kind_of(p, claim), cell_params(claim, p), networks)
        for p in family.points()
    ]


def claim_cells(claim: UserClaim, networks: int) -> list[Cell]:
    """Every cell of the claim and of its negative control (see the module's table)."""
    treated = claim.treated
    out = _arm(claim, f"main/{treated}", claim.family, networks)
    if claim.form == "ratio":
        assert claim.baseline is not None
        out += _arm(claim, claim.baseline_prefix, claim.baseline, networks)
    if claim.control is not None:
        return out + _arm(claim, f"control/{treated}", claim.control, networks)
    changed, _ = network_control(claim)
    if changed is None:
        return out  # the automatic control re-judges the claim's own data
    half = max(2, networks // 2)
    for direction, archs in (("up", changed.archs_up), ("down", changed.archs_down)):
        for point, factor, arch in zip(claim.family.points(), changed.factors, archs, strict=True):
            params = cell_params(claim, point)
            if arch is not None:
                params["arch"] = arch
            else:
                params["output_scale"] = math.sqrt(factor if direction == "up" else 1 / factor)
            name = f"{control_prefix(claim, direction)}{point.label}"
            out.append(family_cell(claim, name, kind_of(point), params, half))
    return out


def control_prefix(claim: UserClaim, direction: str) -> str:
    """The cells of the changed networks moved ``direction``: ``control/up/slope-b0.15-h1/``."""
    moves = "slope" if claim.fits_slope else "value"
    tag = f"{moves}-b{claim.margins.band:g}-h{claim.statistic.degree}"
    return f"control/{claim.treated}{direction}/{tag}/"
