"""The module-family sampler (torch.func) against the DSL sampler, on a model both can run: the paper's CNN.

Two-sample test of E[(∂f/∂x_i)²] (mean over inputs, per network) between 6000 DSL networks and 6000 module
networks (He init). The per-network values have a coefficient of variation near 0.45 here, so the relative
difference of the means has a standard error of about 0.45·√(2/6000) = 0.8%: a 2% shift is 2.5 standard errors
away, and the planted 2% shift below (the logit layer's gain 2.04 instead of 2) must be rejected at α = 5%.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from examples.modules import bn_resnet, paper_cnn
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import he_init, sample, sample_module

pytestmark = pytest.mark.statistical

NETWORKS = 6000
ALPHA = 0.05
PAPER_CNN = "conv(8,3,padding=circular) relu conv(8,3,stride=2,padding=circular) relu flatten dense(10)"


def _p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's two-sided test of equal means."""
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


@pytest.fixture(scope="module")
def dsl() -> np.ndarray:
    return sample(PAPER_CNN, "3x16x16", networks=NETWORKS, seed=21).rows["logit.coord_var"]


def test_module_and_dsl_samplers_agree(dsl: np.ndarray) -> None:
    mod = sample_module(paper_cnn, "3x16x16", networks=NETWORKS, seed=22, init=he_init).rows["logit.coord_var"]
    cv = math.sqrt(dsl.var() / dsl.mean() ** 2)
    assert 2.0 * cv * math.sqrt(2 / NETWORKS) < 0.02, "the stated power does not hold at this budget"
    assert _p_value(dsl, mod) > ALPHA, (dsl.mean(), mod.mean())


def test_a_two_percent_shift_is_seen(dsl: np.ndarray) -> None:
    def shifted(module: torch.nn.Module, generator: torch.Generator) -> None:
        he_init(module, generator)
        with torch.no_grad():
            module[-1].weight.mul_(math.sqrt(1.02))  # type: ignore[index,union-attr,operator]

    mod = sample_module(paper_cnn, "3x16x16", networks=NETWORKS, seed=22, init=shifted).rows["logit.coord_var"]
    assert _p_value(dsl, mod) < ALPHA, (dsl.mean(), mod.mean())


def test_rows_do_not_depend_on_the_chunk() -> None:
    a = sample_module(paper_cnn, "3x16x16", networks=40, seed=3, chunk=8, targets=("logit", "loss"))
    b = sample_module(paper_cnn, "3x16x16", networks=40, seed=3, chunk=40, targets=("logit", "loss"))
    for key in ("logit.coord_var", "loss.l1", "f0"):
        assert np.array_equal(a.rows[key], b.rows[key]), key
    c = sample_module(paper_cnn, "3x16x16", networks=20, seed=3, start=20, chunk=8, targets=("logit", "loss"))
    assert np.array_equal(c.rows["loss.l1"], b.rows["loss.l1"][20:])


def test_a_wrong_input_shape_is_one_clear_error() -> None:
    from theorycheck.errors import TheorycheckError

    with pytest.raises(TheorycheckError, match=r"the module fails on inputs of shape \(1, \*\(3, 8, 8\)\)"):
        sample_module(paper_cnn, "3x8x8", networks=4, seed=0)


def test_a_batchnorm_factory_is_measured() -> None:
    res = sample_module(bn_resnet, "3x16x16", networks=64, seed=1, targets=("logits", "loss"), loss_class="random")
    assert res.n_networks == 64 and np.isfinite(res.rows["loss.sq_norm"]).all()
    assert len(res.gradients) == 11  # 10 logits and the loss


def test_module_families_in_a_study_with_their_report(tmp_path: Path) -> None:
    """examples/module_claims.toml: the BatchNorm ResNet is measured (verified ∝ 1/d), the plain one follows the
    (H) engine's exponent; both controls refuted; the report typesets their sections."""
    from theorycheck.report import build_report
    from theorycheck.study import run_study

    res = run_study(Path(__file__).parents[2] / "examples" / "module_claims.toml", tmp_path / "run")
    assert {v["claim"]: (v["verdict"], v["negative_control"]) for v in res.verdicts} == {
        "mine.bn_resnet": ("verified", "refuted"),
        "mine.plain_resnet": ("verified", "refuted"),
    }
    assert build_report(tmp_path / "run", tmp_path / "modules.pdf").stat().st_size > 10_000


def _theory_on_module_family(claim_id: str, factory: str) -> str:
    """A (H)-slope claim on a module family under its default init: checked; its verdict must be "not covered",
    and the first part's explanation is returned."""
    from theorycheck.claims import scaling
    from theorycheck.testing import check

    family = {"module": factory, "input": "3x{r}x{r}", "sweep": {"r": [8, 16]}}
    outcome = check(scaling(claim_id, **family, statistic="grad_sq_norm", slope="H", networks=16))
    assert outcome.verdict == "not covered"
    return str(outcome.result["parts"][0]["decision"]["explanation"])


def test_theory_for_a_module_that_does_not_convert_is_not_covered() -> None:
    explanation = _theory_on_module_family("mine.bn_h", "examples.modules:bn_resnet")
    assert "does not convert to a graph: ResNet: 2 parts are not expressible" in explanation
    assert "blocks.0.body.2, blocks.1.body.2 (BatchNorm2d): normalisation layers" in explanation


def test_out_of_memory_halves_the_chunk_then_the_window_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted out-of-memory error above 8 networks per vmap: the chunk halves to the window (32: the same rows),
    then the window to 16 and 8, recorded, and the rows equal a plain run's to round-off."""
    from theorycheck.sampler import _modules

    real = _modules._batched_logits

    def tight(modules: list, x: torch.Tensor) -> torch.Tensor:
        if len(modules) > 8:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (planted)")
        return real(modules, x)

    monkeypatch.setattr(_modules, "_batched_logits", tight)
    res = sample_module(paper_cnn, "3x16x16", networks=20, seed=5, chunk=64)
    assert res.provenance["chunk_backoffs"] == [32]
    assert res.provenance["window_backoffs"] == [16, 8] and res.provenance["window"] == 8
    monkeypatch.setattr(_modules, "_batched_logits", real)
    ref = sample_module(paper_cnn, "3x16x16", networks=20, seed=5, chunk=8)
    np.testing.assert_allclose(res.rows["logit.coord_var"], ref.rows["logit.coord_var"], rtol=1e-5)


def test_theory_for_a_module_family_under_pytorchs_own_init_is_not_covered() -> None:
    """The theory engine predicts He-initialised networks with zero biases: a module family initialised by its own
    reset_parameters (the default) gets "not covered" with the reason, not a comparison of two inits."""
    assert 'set init = "he"' in _theory_on_module_family("mine.reset_h", "examples.modules:plain_resnet")


def test_torchvision_style_models_convert_or_list_what_blocks_them(tmp_path: Path) -> None:
    """examples/torchvision_style.py (issue 24): the originals get one error naming every BatchNorm and the biased
    fc; without them the same code converts (Dropout, inplace ReLUs and the ``view`` flatten read), and (H) notes
    the post-activation residual. examples/real_models.toml measures both: the plain ResNet's E||d_x f||^2 is
    about 50% above (H)'s value at every resolution, so that claim is refuted, with its control refuted too."""
    from examples import torchvision_style as tv
    from theorycheck.graph import convert_module
    from theorycheck.study import run_study
    from theorycheck.theory import predict

    with pytest.raises(TheorycheckError) as info:
        convert_module(tv.resnet(), "3x16x16")
    lines = str(info.value).splitlines()
    assert lines == [
        "ResNet: 6 parts are not expressible in the graph DSL:",
        "  bn1, layer1.bn1, layer1.bn2, layer2.bn1, layer2.bn2, layer2.downsample.1 (BatchNorm2d): normalisation "
        "layers are not in the theory; remove it, or measure it as a module family instead",
    ]
    biased = convert_module(tv.vgg(), "3x16x16")  # biases read as zero (He initialisation), and said so
    assert biased.architecture == convert_module(tv.plain_vgg(16), "3x16x16").architecture
    assert "features.0, features.3, classifier.0, classifier.3" in biased.notes[0]
    vgg = convert_module(tv.plain_vgg(16), "3x16x16")
    assert (
        vgg.architecture.to_text()
        == "conv(8,3) relu maxpool(2) conv(16,3) relu maxpool(2) flatten dense(32) relu dense(10)"
    )
    assert "classifier.2 (Dropout)" in vgg.notes[0]
    plain = convert_module(tv.plain_resnet(), "3x16x16").architecture
    assert any("H1's gate probability ½ is implausible" in n for n in predict(plain, "3x16x16").notes)

    res = run_study(Path(__file__).parents[2] / "examples" / "real_models.toml", tmp_path / "run")
    verdicts = {v["claim"]: (v["verdict"], v["negative_control"]) for v in res.verdicts}
    assert verdicts["mine.tv_plain_resnet"] == ("refuted", "refuted")
