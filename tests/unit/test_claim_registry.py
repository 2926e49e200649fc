"""Registration of user claims (Python, study plugins, entry points), user statistics and property claims."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import theorycheck.claims as tc
from theorycheck.claims.forms import _registry, load_entry_points
from theorycheck.errors import TheorycheckError
from theorycheck.sampler import sample

MLP = {"arch": "dense(8) relu dense(2)", "input": "{d}", "sweep": {"d": [4, 8]}, "slope": -1}


@pytest.fixture
def clean_registry() -> Any:
    before, loaded = dict(_registry._REGISTERED), set(_registry._LOADED_ENTRY_POINTS)
    yield
    _registry._REGISTERED.clear()
    _registry._REGISTERED.update(before)
    _registry._LOADED_ENTRY_POINTS.clear()
    _registry._LOADED_ENTRY_POINTS.update(loaded)


def test_register_and_duplicates(clean_registry: Any) -> None:
    a, b = tc.scaling("mine.reg", **MLP), tc.scaling("mine.reg", **MLP)
    tc.register(a)
    tc.register(a)  # the same object again: a no-op
    assert tc.registered()["mine.reg"] is a
    with pytest.raises(
        TheorycheckError, match=re.escape("duplicate claim ID 'mine.reg': registered by Python and by Python")
    ):
        tc.register(b)
    with pytest.raises(TheorycheckError, match=re.escape("'sg.thm3' is taken by the catalogue")):
        tc.register(tc.scaling("sg.thm3", **MLP))
    with pytest.raises(TheorycheckError, match="register\\(\\) takes claims"):
        tc.register("mine.reg")  # type: ignore[arg-type]
    assert tc.get_claim("mine.reg") is a


def test_plugins_in_a_study(tmp_path: Path, clean_registry: Any) -> None:
    (tmp_path / "plug_ok_xyz.py").write_text(
        "import theorycheck.claims as tc\n"
        "tc.register(tc.scaling('mine.plug', arch='dense(8) relu dense(2)', input='{d}', sweep={'d': [4, 8]},"
        " slope=-1))\n"
    )
    (tmp_path / "plug_bad_xyz.py").write_text("raise RuntimeError('broken plugin')\n")
    study = tmp_path / "s.toml"
    study.write_text('[study]\nclaims = "all"\nplugins = ["plug_ok_xyz"]\n')
    from theorycheck.study import load_study

    spec = load_study(study)
    assert "mine.plug" in spec.claims and "sg.thm3" in spec.claims  # "all": the catalogue, then the plugins'
    study.write_text('[study]\nclaims = ["mine.plug"]\nplugins = ["plug_bad_xyz"]\n')
    with pytest.raises(TheorycheckError, match="cannot import 'plug_bad_xyz': RuntimeError: broken plugin"):
        load_study(study)


def test_entry_points(monkeypatch: pytest.MonkeyPatch, clean_registry: Any) -> None:
    claim = tc.scaling("mine.ep", **MLP)
    ep = metadata.EntryPoint("mine", "tests.unit.test_claim_registry:_EP_TARGET", _registry.ENTRY_POINT_GROUP)
    globals()["_EP_TARGET"] = lambda: [claim]
    monkeypatch.setattr(metadata, "entry_points", lambda group: [ep] if group == _registry.ENTRY_POINT_GROUP else [])
    assert load_entry_points() == ["mine.ep"]
    assert load_entry_points() == []  # once per process: a study parsed twice does not register twice
    broken = metadata.EntryPoint("bad", "no_such_module_abc:x", _registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(metadata, "entry_points", lambda group: [broken])
    with pytest.raises(
        TheorycheckError, match=re.escape("entry point 'bad' (no_such_module_abc:x) of group theorycheck.claims")
    ):
        load_entry_points()


def _l1_again(grad: torch.Tensor, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return grad.flatten(1).abs().sum(1)


def test_a_user_statistic_sees_the_gradient_the_sampler_measures() -> None:
    """A reducer computing ‖g‖₁ gives the sampler's own l1 column exactly, on a conv net (shapes (B, C, H, W))."""
    res = sample("conv(3,3) relu flatten dense(2)", "2x5x5", networks=9, seed=4, reducers={"again": _l1_again})
    assert np.array_equal(res.rows["logit.again"], res.rows["logit.l1"])
    with pytest.raises(TheorycheckError, match="must return one value per network"):
        sample("dense(2)", "3", networks=4, seed=0, reducers={"bad": lambda g, f, x: g})
    with pytest.raises(TheorycheckError, match="statistic 'boom' failed on a batch"):
        sample("dense(2)", "3", networks=4, seed=0, reducers={"boom": lambda g, f, x: 1 / 0})


def test_statistic_registration_errors() -> None:
    with pytest.raises(TheorycheckError, match="is built in"):
        tc.statistic("coord_var")
    with pytest.raises(TheorycheckError, match="must be an identifier"):
        tc.statistic("grad l4")


def test_property_claims_validate_eagerly() -> None:
    def v(struct: dict, raw: dict) -> torch.Tensor:
        return raw["x"].sum() * 0 - 1

    with pytest.raises(TheorycheckError, match="structures: must be a non-empty list of dicts"):
        tc.property_claim("mine.p", statement="", violation=v, structures=[], shapes=lambda s: {"x": (2,)})
    with pytest.raises(TheorycheckError, match="shapes: shapes"):
        tc.property_claim("mine.p", statement="", violation=v, structures=[{}], shapes=lambda s: {"x": (0,)})
