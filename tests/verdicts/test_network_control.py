"""Monte Carlo claims without a control family get a control that changes the networks.

Planted defect: a user statistic that does not follow the networks (it reads the input, not the gradient). The old
automatic control re-judged the same data against a shifted prediction, which such a statistic passes (the
interval is precise); the control that changes the logit layer's variance leaves the statistic where it was, so
the claim is flagged unable to fail.
"""

from __future__ import annotations

import math

import torch

import theorycheck.claims as tc
from theorycheck.claims.forms._controls import BANDS, logit_layer_scaled
from theorycheck.testing import check

NETWORKS = 2000  # the control's deviation is 3 bands; at 2,000 networks its interval is a small fraction of a band


@tc.statistic("input_not_gradient", degree=2)
def input_not_gradient(grad: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """2‖x‖²/d, declared as a squared norm of the gradient: a statistic that ignores the networks."""
    return 2 * x.flatten(1).pow(2).mean(1)


def test_a_statistic_that_ignores_the_networks_is_caught() -> None:
    claim = tc.value(
        "mine.ignores", arch="dense(32) relu dense(1)", input="16", predicted="2", statistic="input_not_gradient"
    )
    outcome = check(claim, networks=NETWORKS)
    assert outcome.verdict == "verified"  # E[2‖x‖²/d] = 2: "true", and re-judging it would refute the shifted value
    assert outcome.negative_control == "verified" and outcome.control_unable_to_fail


def test_a_true_claim_refutes_its_changed_networks_and_says_which_control_ran() -> None:
    claim = tc.scaling(
        "mine.coords", arch="dense(64) relu dense(10)", input="{d}", sweep={"d": [64, 256, 1024]}, slope=-1
    )
    outcome = check(claim, networks=NETWORKS)
    assert outcome.verdict == "verified" and outcome.negative_control == "refuted"
    control = outcome.result["control_parts"][0]
    assert control["description"].startswith("control: the same family with the logit layer's variance")
    # the slope moves by exactly 3 bands: 0.45 for the default band 0.15
    assert abs(control["decision"]["deviation"] - BANDS * 0.15) < 0.03


def test_the_changed_networks_are_the_family_with_its_logit_layer_scaled() -> None:
    assert logit_layer_scaled("dense(64) relu dense(10)", 2.0) == ("dense(64) relu dense(10,gain=4)", "")
    assert logit_layer_scaled("conv(4,3) relu conv(2,3) relu globalavgpool", 3.0)[0] == (
        "conv(4,3) relu conv(2,3,gain=6) relu globalavgpool"
    )
    arch, why = logit_layer_scaled("dense(8) relu dense(2) tanh", 2.0)
    assert arch is None and "tanh" in why


def test_where_the_effect_is_not_known_the_prediction_is_moved_and_the_report_says_why() -> None:
    loss = tc.scaling(
        "mine.loss_l1",
        arch="dense(64) relu dense(10)",
        input="{d}",
        sweep={"d": [64, 256]},
        slope=0.5,
        statistic="grad_l1",
        target="loss",
    )
    outcome = check(loss, networks=500)
    description = outcome.result["control_parts"][0]["description"]
    assert description.startswith("control: the same data judged against the prediction moved")
    assert "softmax" in description


def test_module_families_scale_their_logits() -> None:
    claim = tc.value(
        "mine.module",
        module="examples.modules:bn_resnet",
        input="3x8x8",
        sweep={"c": 4},
        predicted="1",
        statistic="grad_sq_norm",
    )
    control_cells = [c for c in claim.cells({"networks": 10}) if c.name.startswith("control/")]
    # both directions: a squared norm (degree 2) is multiplied by c = output_scale², (1 + band)^±3 (band 0.2)
    scales = sorted(c.params["output_scale"] ** 2 for c in control_cells)
    assert len(scales) == 2 and math.isclose(scales[0], 1.2**-BANDS) and math.isclose(scales[1], 1.2**BANDS)
