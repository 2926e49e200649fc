"""Bad user claims, in a study file or on the `check` command line: one message naming the claim, the field and
the values, exit 2, nothing written (the rows run through the same check as ``test_bad_inputs.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import Row
from tests.cli.test_bad_inputs import test_bad_input_is_refused_cleanly as refused_cleanly

MLP = 'arch = "dense({w}) relu dense(10)"\ninput = "{d}"'


def mine(fields: str, *, claim: str = "mine.x", extra: str = "") -> dict[str, str]:
    return {"s.toml": f'[study]\nseed = 0\nclaims = ["{claim}"]\n{extra}\n[claims."{claim}"]\n{fields}\n'}


def urow(name: str, fragment: str, fields: str, **kw: str) -> Row:
    return Row(name, ["run", "s.toml", "--out", "out"], fragment, mine(fields, **kw))


SCALING = f'form = "scaling"\n{MLP}\nslope = -1\n'
#: a trained claim: its train table is left open for each row's settings
TRAINED = (
    'form = "scaling"\narch = "flatten dense(8) relu dense(10)"\ninput = "1x{r}x{r}"\nsweep = { r = [8, 16] }\n'
    'statistic = "grad_l1"\ntarget = "loss"\nslope = 0.5\ntrain = { data = "digits:{r}", '
)


def wrong_shapes() -> tuple:
    """A data factory whose labels do not match its inputs."""
    import numpy as np

    return np.ones((20, 1, 8, 8)), np.zeros(19, dtype=int), np.ones((20, 1, 8, 8)), np.zeros(20, dtype=int)


def twelve_classes() -> tuple:
    """A data factory with 12 classes, for a net with 10 logits."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(48, 1, 8, 8))
    return x, np.arange(48) % 12, x, np.arange(48) % 12


C = ["check", "dense({w}) relu dense(10)", "--input", "{d}"]
ROWS = [
    # -- families --------------------------------------------------------------------------------------------------
    urow(
        "unbound placeholder",
        'claims."mine.x".arch: placeholder {w} at position 6 is not bound',
        SCALING + "sweep = { d = [8, 16] }",
    ),
    urow(
        "unknown placeholder in input",
        "input: placeholder {r} at position 0 is not bound",
        'form = "scaling"\narch = "flatten dense(2)"\ninput = "{r}x4x4"\nslope = 0\nsweep = { d = [1] }',
    ),
    urow(
        "unused sweep name",
        "sweep.k: no placeholder {k} in arch, input or label uses it",
        SCALING + "sweep = { d = [8, 16], w = 4, k = [1, 2] }",
    ),
    urow(
        "grid point fails shape inference",
        "sweep: r=4 gives 'conv(4,5,padding=valid) relu flatten dense(2)' on 3x4x4",
        'form = "scaling"\narch = "conv(4,5,padding=valid) relu flatten dense(2)"\ninput = "3x{r}x{r}"\n'
        "sweep = { r = [8, 4] }\nslope = 0",
    ),
    urow(
        "zip of unequal axes",
        "zip = true needs axes of one length",
        SCALING + "sweep = { d = [8, 16], w = [1, 2, 3] }\nzip = true",
    ),
    urow("derived name swept", "'width' is derived", SCALING + "sweep = { d = [8, 16], w = 4, width = [1, 2] }"),
    urow(
        "swept d disagrees",
        "d=4 but the input 3x4x4 has dimension 48",
        'form = "scaling"\narch = "flatten dense(2)"\ninput = "3x{d}x{d}"\nsweep = { d = [4, 8] }\nslope = 0',
    ),
    urow(
        "grid too large",
        "more than the limit of 1000",
        SCALING
        + "sweep = { d = ["
        + ",".join(map(str, range(1, 60)))
        + "], w = ["
        + ",".join(map(str, range(1, 60)))
        + "] }",
    ),
    # -- expressions ---------------------------------------------------------------------------------------------
    urow(
        "expression with python",
        "against: unexpected character at position 11",
        SCALING + "sweep = { d = [8, 16], w = 4 }\nagainst = \"__import__('os')\"",
    ),
    urow(
        "expression unknown name",
        "against: unknown name 'k'",
        SCALING + 'sweep = { d = [8, 16], w = 4 }\nagainst = "k^2"',
    ),
    urow(
        "expression not finite",
        "predicted: '1/(d-8)' cannot be evaluated at",
        f'form = "value"\n{MLP}\nsweep = {{ d = [8, 16], w = 4 }}\npredicted = "1/(d-8)"',
    ),
    urow(
        "against not positive",
        "must be positive at every grid point",
        SCALING + 'sweep = { d = [8, 16], w = 4 }\nagainst = "d-8"',
    ),
    # -- forms and fields ----------------------------------------------------------------------------------------------
    urow("missing form", "to declare your own, add form = 'scaling'", f"{MLP}\nslope = -1"),
    urow(
        "unknown form",
        "form: must be one of scaling, value, ratio, got 'scalling'; did you mean 'scaling'",
        f'form = "scalling"\n{MLP}',
    ),
    urow(
        "scaling without slope",
        "slope: a scaling claim needs slope",
        f'form = "scaling"\n{MLP}\nsweep = {{ d = [8, 16], w = 4 }}',
    ),
    urow(
        "value without prediction",
        "predicted: a value claim needs predicted",
        f'form = "value"\n{MLP}\nsweep = {{ d = [8, 16], w = 4 }}',
    ),
    urow(
        "ratio without baseline",
        "baseline: a ratio claim needs baseline",
        f'form = "ratio"\n{MLP}\nsweep = {{ d = [8, 16], w = 4 }}\npredicted = "1"',
    ),
    urow(
        "unknown statistic",
        "statistic: unknown statistic 'grad_l3'",
        SCALING + 'sweep = { d = [8, 16], w = 4 }\nstatistic = "grad_l3"',
    ),
    urow("unknown field", "colour: unknown field", SCALING + 'sweep = { d = [8, 16], w = 4 }\ncolour = "red"'),
    urow("one-point slope", "a slope needs at least two distinct values of d", SCALING + "sweep = { d = [8], w = 4 }"),
    urow(
        "control of another grid",
        "control.sweep: d=8 but the input 5 has dimension 5",
        SCALING + 'sweep = { d = [8, 16], w = 4 }\ncontrol = { arch = "dense(3) relu dense(10)", input = "5" }',
    ),
    urow("claim id taken", "'sg.thm3' is already a claim", 'form = "scaling"', claim="sg.thm3"),
    urow(
        "networks negative",
        "networks: must be an integer from 2",
        SCALING + "sweep = { d = [8, 16], w = 4 }\nnetworks = -3",
    ),
    # -- catalogue theorems on a family -----------------------------------------------------------------------------
    urow(
        "theorem without family",
        "sg.thm4_l2 on your family takes",
        'arch = "dense(3) dense(10)"\ninput = "8"\ndims = [8, 16]',
        claim="sg.thm4_l2",
    ),
    urow(
        "theorem that takes no family",
        "sg.eq9_var does not take a user family",
        'arch = "dense(3) dense(10)"',
        claim="sg.eq9_var",
    ),
    # -- plugins ----------------------------------------------------------------------------------------------------
    urow(
        "plugin not importable",
        "study.plugins: cannot import 'no_such_module_xyz': ModuleNotFoundError",
        SCALING + "sweep = { d = [8, 16], w = 4 }",
        extra='plugins = ["no_such_module_xyz"]',
    ),
    urow(
        "plugin not a module name",
        "is not a module name",
        SCALING + "sweep = { d = [8, 16], w = 4 }",
        extra='plugins = ["../evil"]',
    ),
    # -- trained networks ------------------------------------------------------------------------------------------
    urow("train: negative lr", 'claims."mine.x".train.lr: must be a finite number from', TRAINED + "lr = -1 }"),
    urow("train: unknown setting", "train.stepz: unknown setting; did you mean 'steps'", TRAINED + "stepz = 3 }"),
    urow("train: no data", "train.data: missing: name the dataset", TRAINED.replace('data = "digits:{r}", ', "") + "}"),
    urow(
        "train: data of another shape",
        "at r=8 the dataset digits:16 has inputs of shape 1x16x16, but input is 1x8x8",
        TRAINED.replace("digits:{r}", "digits:16") + "steps = 3 }",
    ),
    urow(
        "train: factory with wrong shapes",
        "y_train has shape (19,); expected (20,), one label per example",
        TRAINED.replace("digits:{r}", "tests.cli.test_bad_user_claims:wrong_shapes") + "steps = 3 }",
    ),
    urow(
        "train: labels beyond the logits",
        "has 12 classes, but the architecture has 10 logits",
        TRAINED.replace("digits:{r}", "tests.cli.test_bad_user_claims:twelve_classes") + "steps = 3 }",
    ),
    urow(
        "train: a minibatch larger than the data",
        "train.batch: 5000 is more than the 1437 training examples of digits:8",
        TRAINED + "batch = 5000 }",
    ),
    urow(
        "train: an (H) slope",
        "slope: the theory engine predicts networks at initialisation",
        TRAINED.replace("slope = 0.5", 'slope = "H"') + "steps = 3 }",
    ),
    # -- the check command ------------------------------------------------------------------------------------------
    Row("check: unbound placeholder", [*C, "--sweep", "d=8,16", "--slope", "-1"], "check.arch: placeholder {w}"),
    Row("check: bad sweep", [*C, "--sweep", "d:8,16", "--slope", "-1"], "is not NAME=VALUE"),
    Row("check: empty sweep value", [*C, "--sweep", "d=8,,16", "--slope", "-1"], "has an empty value"),
    Row(
        "check: sweep twice",
        [*C, "--sweep", "d=8,16", "--sweep", "d=4", "--sweep", "w=3", "--slope", "-1"],
        "--sweep: d is given twice",
    ),
    Row(
        "check: slope and predicted",
        [*C, "--sweep", "d=8,16", "--sweep", "w=3", "--slope", "-1", "--predicted", "2/d"],
        "not allowed with argument",
    ),
    Row("check: neither slope nor predicted", [*C, "--sweep", "d=8,16", "--sweep", "w=3"], "one of the arguments"),
    Row(
        "check: slope not a number",
        [*C, "--sweep", "d=8,16", "--sweep", "w=3", "--slope", "fast"],
        "is not a number or H",
    ),
    Row("check: bad expression", [*C, "--sweep", "d=8,16", "--sweep", "w=3", "--predicted", "2/"], "check.predicted"),
    Row(
        "check: report path is a directory",
        [*C, "--sweep", "d=8,16", "--sweep", "w=3", "--slope", "-1", "--report", "r/"],
        "--report",
        {"r/": ""},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_user_claim_is_refused_cleanly(
    row: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refused_cleanly(row, tmp_path, monkeypatch, capsys)


def test_rows_are_unique() -> None:
    assert len({r.name for r in ROWS}) == len(ROWS)
