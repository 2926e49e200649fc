"""Bad input, whatever it is, gets one precise message and exit status 2, and nothing is written.

One row per case, grouped by class (issue "Hardening"): parser limits, sizes that would allocate before they
refuse, budgets, claim parameters, output paths, results directories, Dask addresses. Each row runs the real
command line in-process (``theorycheck.cli.main``) in an empty working directory, and checks the exit status,
that stderr names the problem (the fragment), that no traceback is printed, that the echo of a huge input stays
short, and that the directory is unchanged afterwards (what the row set up is still there, nothing more).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from theorycheck.cli import EXIT_INTERNAL, main

HUGE = "relu " * 20_000 + "dnse(3)"


@dataclass(frozen=True)
class Row:
    """``argv`` of one command; ``files`` to create first (path → text; a path ending in / is a directory)."""

    name: str
    argv: list[str]
    fragment: str
    files: dict[str, str] = field(default_factory=dict)


def study(claim: str, params: str = "", study_extra: str = "") -> dict[str, str]:
    table = f'[claims."{claim}"]\n{params}\n' if params else ""
    return {"s.toml": f'[study]\nseed = 0\nclaims = ["{claim}"]\n{study_extra}\n{table}'}


def srow(name: str, fragment: str, claim: str, params: str = "", study_extra: str = "") -> Row:
    """A row that runs a one-claim study with ``params`` in its claim table."""
    return Row(name, ["run", "s.toml", "--out", "out"], fragment, study(claim, params, study_extra))


RESULTS = {"res/study.json": "{}", "res/verdicts.json": "[]", "res/results.json": "{}"}

BAD = "tests.cli._bad_modules"
P = ["predict"]
E = ["estimate"]
ROWS: list[Row] = [
    # -- 1. parser limits ----------------------------------------------------------------------------------------
    Row("open paren at end", [*P, "dense(", "--input", "8"], "unclosed '(' of dense"),
    Row("open paren, argument", [*P, "dense(3", "--input", "8"], "expected ',' or ')'"),
    Row("open paren after comma", [*P, "dense(3,", "--input", "8"], "unclosed '(' of dense"),
    Row(
        "deep brackets", [*P, "[" * 400 + "relu" + "]*2" * 400 + " dense(1)", "--input", "8"], "nesting deeper than 64"
    ),
    Row("deep add", [*P, "add{" * 500 + "relu" + "|identity}" * 500 + " dense(1)", "--input", "8"], "nesting deeper"),
    Row("deep residual", [*P, "residual{" * 300 + "relu" + "}" * 300 + " dense(1)", "--input", "8"], "nesting deeper"),
    Row("huge repetition", [*P, "[relu]*1000000000 dense(3)", "--input", "8"], "exceeds the limit of 10000"),
    Row("repetition 10^30", [*P, "[relu]*10^30 dense(3)", "--input", "8"], "unexpected character '^'"),
    Row("repetition 31 digits", [*P, "[relu]*" + "1" + "0" * 30 + " dense(3)", "--input", "8"], "exceeds the limit"),
    Row("nested repetitions", [*P, "[[[relu]*10000]*10000]*2 dense(1)", "--input", "8"], "more than the limit of"),
    Row("full-width digits", [*P, "dense(１０)", "--input", "8"], "unexpected character '１'"),
    Row("arabic-indic digits", [*P, "dense(٣)", "--input", "8"], "unexpected character"),
    Row("huge width", [*P, "dense(99999999999999999999999)", "--input", "8"], "larger than the limit"),
    Row("width above limit", [*P, "dense(16777217)", "--input", "8"], "larger than the limit of 16777216"),
    Row("infinite gain", [*P, "dense(3,gain=1e400)", "--input", "8"], "must be a finite number"),
    Row("negative gain", [*P, "dense(3,gain=-2)", "--input", "8"], "gain must be a positive finite number"),
    Row("nan gain", [*P, "dense(3,gain=nan)", "--input", "8"], "'gain' must be a number"),
    Row("negative bias", [*P, "dense(3,bias=-0.1) relu dense(1)", "--input", "8"], "bias variance must be a finite"),
    Row("nan bias", [*P, "conv(2,3,bias=nan) flatten dense(1)", "--input", "1x4x4"], "'bias' must be a number"),
    Row("infinite bias", [*P, "dense(3,bias=1e999) dense(1)", "--input", "8"], "must be a finite number"),
    Row("unknown layer", [*P, "dense(3) rellu dense(1)", "--input", "8"], "did you mean 'relu'"),
    Row("empty architecture", [*P, "", "--input", "8"], "empty architecture"),
    Row("blank architecture", [*P, "   ", "--input", "8"], "empty architecture"),
    Row("stray bracket", [*P, "dense(3) ]", "--input", "8"], "']' without a matching '['"),
    Row("stray star", [*P, "*3 dense(3)", "--input", "8"], "'*N' must follow"),
    Row("one-branch add", [*P, "add{relu} dense(1)", "--input", "8"], "needs at least two branches"),
    Row("two-branch residual", [*P, "residual{relu | relu} dense(1)", "--input", "8"], "takes one branch"),
    Row("zero width", [*P, "dense(0)", "--input", "8"], "must be a positive integer, got 0"),
    Row("negative width", [*P, "dense(-3)", "--input", "8"], "must be a positive integer, got -3"),
    Row("fractional width", [*P, "dense(3.5)", "--input", "8"], "must be an integer, got '3.5'"),
    Row("unknown padding", [*P, "conv(4,3,padding=foo) flatten dense(1)", "--input", "3x8x8"], "unknown padding"),
    Row("word as gain", [*P, "dense(3,gain=abc)", "--input", "8"], "'gain' must be a number"),
    Row("unknown parameter", [*P, "dense(3,foo=1)", "--input", "8"], "has no parameter 'foo'"),
    Row("two positionals", [*P, "dense(3,3)", "--input", "8"], "at most 1 positional"),
    Row("argument twice", [*P, "dense(out=3,out=4)", "--input", "8"], "given twice"),
    Row("arguments of relu", [*P, "relu(3) dense(1)", "--input", "8"], "takes no arguments"),
    Row("conv without kernel", [*P, "conv(4) flatten dense(1)", "--input", "3x8x8"], "needs its 'kernel'"),
    Row("at sign", [*P, "dense(3) @ 8", "--input", "8"], "unexpected character '@'"),
    Row("nul byte", [*P, "dense(3)\x00", "--input", "8"], "unexpected character"),
    Row("newline inside", [*P, "dense(3)\nrelu\n$", "--input", "8"], "unexpected character '$'"),
    Row("100 kB text", [*P, HUGE, "--input", "8"], "unknown layer 'dnse'"),
    Row("pool larger than input", [*P, "avgpool(13) flatten dense(1)", "--input", "3x12x12"], "larger than its input"),
    Row(
        "circular pad too big",
        [*P, "conv(4,3,dilation=4,padding=circular) flatten dense(1)", "--input", "3x3x3"],
        "exceeds",
    ),
    Row("flatten a vector", [*P, "flatten dense(1)", "--input", "8"], "flatten"),
    Row("conv on a vector", [*P, "conv(4,3) flatten dense(1)", "--input", "8"], "needs an image input"),
    Row("no output layer", [*P, "conv(4,3) relu", "--input", "3x8x8"], "missing output layer"),
    # -- input shapes ---------------------------------------------------------------------------------------------
    Row("empty shape", [*P, "dense(3)", "--input", ""], "is not D or CxHxW"),
    Row("two dims", [*P, "dense(3)", "--input", "3x3"], "has 2 dimensions"),
    Row("four dims", [*P, "dense(3)", "--input", "3x3x3x3"], "has 4 dimensions"),
    Row("full-width shape", [*P, "dense(3)", "--input", "3x０x3"], "ASCII digits"),
    Row("huge shape", [*P, "dense(3)", "--input", "9" * 23], "larger than the limit"),
    Row("zero shape", [*P, "dense(3)", "--input", "0"], "non-positive size"),
    Row("negative shape", [*P, "dense(3)", "--input", "-3"], "is not D or CxHxW"),
    Row("word shape", [*P, "dense(3)", "--input", "abc"], "is not D or CxHxW"),
    Row("float shape", [*P, "dense(3)", "--input", "1e3"], "is not D or CxHxW"),
    Row("long shape", [*P, "dense(3)", "--input", "3x" * 500 + "3"], "is not D or CxHxW"),
    # -- 2. sizes that would allocate ---------------------------------------------------------------------------
    Row("10^9 inputs", [*P, "dense(3)", "--input", "1000000000"], "more than the"),
    Row("10^6 channels", [*P, "conv(1000000,3) relu flatten dense(1)", "--input", "3x32x32"], "needs about"),
    Row(
        "10^6 channels, kernel level",
        [*P, "conv(1000000,3) relu flatten dense(1)", "--input", "3x32x32", "--level", "kernel"],
        "needs about",
    ),
    Row("10^6 channels, estimate", [*E, "conv(1000000,3) relu flatten dense(1)", "--input", "3x32x32"], "needs about"),
    Row("huge input, estimate", [*E, "dense(3)", "--input", "2000000000"], "larger than the limit"),
    # -- 3. budgets -----------------------------------------------------------------------------------------------
    Row("one network", [*E, "dense(3)", "--input", "4", "--networks", "1"], "expected from 2"),
    Row("zero networks", [*E, "dense(3)", "--input", "4", "--networks", "0"], "expected a positive integer"),
    Row("10^10 as text", [*E, "dense(3)", "--input", "4", "--networks", "10^10"], "ASCII digits"),
    Row("10^10 networks", [*E, "dense(3)", "--input", "4", "--networks", "10000000000"], "to 10000000 networks"),
    Row("negative networks", [*E, "dense(3)", "--input", "4", "--networks", "-5"], "ASCII digits"),
    Row("full-width networks", [*E, "dense(3)", "--input", "4", "--networks", "１０"], "ASCII digits"),
    Row("negative seed", [*E, "dense(3)", "--input", "4", "--seed", "-1"], "non-negative integer"),
    Row("seed 2^63", [*E, "dense(3)", "--input", "4", "--seed", str(2**63)], "at most 2^63 - 1"),
    Row("negative output", [*P, "dense(3)", "--input", "4", "--output", "-1"], "non-negative integer"),
    Row("output out of range", [*P, "dense(10)", "--input", "4", "--output", "10"], "out of range"),
    Row("zero chunk", [*E, "dense(3)", "--input", "4", "--chunk", "0"], "positive integer"),
    Row(
        "zero kernel inputs", [*P, "dense(3)", "--input", "4", "--level", "kernel", "--inputs", "0"], "positive integer"
    ),
    Row(
        "chunk beyond memory",
        [*E, "conv(64,3) relu flatten dense(1)", "--input", "3x64x64", "--chunk", "1048576"],
        "--chunk",
    ),
    Row(
        "too many kernel inputs",
        [*P, "dense(3)", "--input", "4", "--level", "kernel", "--inputs", "100000"],
        "at most 1000",
    ),
    Row("unknown device", [*E, "dense(3)", "--input", "4", "--device", "tpu"], "unknown device 'tpu'"),
    Row("unknown precision", [*E, "dense(3)", "--input", "4", "--precision", "fp8"], "invalid choice"),
    Row("unknown target", [*E, "dense(3)", "--input", "4", "--target", "foo"], "invalid choice"),
    Row(
        "unknown loss class", [*E, "dense(3)", "--input", "4", "--target", "loss", "--loss-class", "foo"], "loss class"
    ),
    Row(
        "loss class out of range",
        [*E, "dense(3)", "--input", "4", "--target", "loss", "--loss-class", "7"],
        "out of range",
    ),
    Row("one-class bound", ["bound", "dense(4) relu dense(1)", "--input", "4"], "at least two classes"),
    Row("zero bound networks", ["bound", "dense(4) relu dense(2)", "--input", "4", "--networks", "0"], "positive"),
    Row("unknown command", ["frobnicate"], "invalid choice"),
    Row("unknown option", [*P, "dense(3)", "--input", "4", "--frob"], "unrecognized arguments"),
    Row("missing input", [*P, "dense(3)"], "required: --input"),
    # -- 4. claim parameters and study fields (all refused before any cell runs) -------------------------------------
    srow("eps_max a string", "eps_max must be a positive finite number", "sg.lemma1", 'eps_max = "abc"'),
    srow("eps_max negative", "eps_max must be a positive finite number", "sg.lemma1", "eps_max = -1"),
    srow("eps_max infinite", "eps_max must be a positive finite number", "sg.lemma1", "eps_max = inf"),
    srow("epsilon a string", "epsilon must be a positive finite number", "sg.fig1", 'epsilon = "x"'),
    srow("input_seed negative", "input_seed must be a non-negative", "tc.kernel_width", "input_seed = -3"),
    srow("input_seed a string", "input_seed must be a non-negative", "tc.kernel_width", 'input_seed = "s"'),
    srow("loss_class a word", "loss_class must be", "sg.eq9_var", 'loss_class = "foo"'),
    srow("loss_class a float", "loss_class must be", "sg.eq9_var", "loss_class = 3.5"),
    srow("pools not squares", "perfect squares", "sg.thm6", "pools = [5, 9]"),
    srow("one pool", "at least 2 distinct values", "sg.thm6", "pools = [4]"),
    srow("repeated pools", "must not repeat", "sg.thm6_proof", "pools = [4, 4]"),
    srow("spec without @", "exactly one @", "sg.lemma7", 'architectures = ["dense(3) relu dense(2)"]'),
    srow("spec with two @", "exactly one @", "sg.lemma8", 'architectures = ["dense(3) @ 8 @ 9"]'),
    srow("spec with bad shape", "not a valid architecture", "sg.lemma7", 'architectures = ["dense(3) @ 3x3"]'),
    srow("spec with bad arch", "unknown layer 'dnse'", "sg.pathsum", 'architectures = ["dnse(3) @ 3"]'),
    srow("empty spec list", "non-empty list", "sg.lemma9", "architectures = []"),
    srow("networks 2^63-1", "from 2 to 10000000", "sg.thm3", "networks = 9223372036854775807"),
    srow("networks one", "from 2 to 10000000", "sg.thm3", "networks = 1"),
    srow("networks a string", "from 2 to 10000000", "sg.thm3", 'networks = "many"'),
    srow("networks a bool", "from 2 to 10000000", "sg.thm3", "networks = true"),
    srow("dims one value", "at least 2 distinct values", "sg.thm3", "dims = [64]"),
    srow("dims with zero", "positive integers", "sg.thm3", "dims = [0, 64]"),
    srow("huge dims", "up to 16777216", "sg.sec3_1", "dims = [64, 200000000]"),
    srow("huge resolutions", "needs about", "sg.cor5", "resolutions = [8, 16000000]"),
    srow("odd kernel_width resolution", "even positive integer", "tc.kernel_width", "resolution = 13"),
    srow("two widths", "at least 3 distinct values", "tc.kernel_width", "widths = [4, 8]"),
    srow("zero residual blocks", "blocks must be a positive integer", "tc.post_activation", "blocks = 0"),
    srow("map_batches one", "from 2 to 1000", "sg.symmetry", "map_batches = 1"),
    srow("max_examples zero", "from 1 to 1000000", "pk.lemmaB3", "max_examples = 0"),
    srow("max_examples 10^9", "from 1 to 1000000", "pk.lemmaB3", "max_examples = 1000000000"),
    srow("unknown claim parameter", "did you mean 'networks'", "sg.thm3", "netwroks = 10"),
    srow("max_networks 2^62", "study.max_networks", "sg.thm3", "", "max_networks = 4611686018427387904"),
    Row("negative study seed", ["run", "s.toml", "--out", "out"], "study.seed", {"s.toml": "[study]\nseed = -1\n"}),
    Row("float seed", ["run", "s.toml", "--out", "out"], "study.seed", {"s.toml": "[study]\nseed = 1.5\n"}),
    srow("unknown study device", "study.device", "sg.thm3", "", 'device = "tpu"'),
    srow("unknown study precision", "study.precision", "sg.thm3", "", 'precision = "fp8"'),
    srow("unknown claim", "unknown claim 'sg.nope'", "sg.nope"),
    srow("unknown study field", "unknown field", "sg.thm3", "", "seeds = 3"),
    Row("unknown table", ["run", "s.toml", "--out", "out"], "unknown table", {"s.toml": "[stdy]\nseed = 0\n"}),
    Row("malformed TOML", ["run", "s.toml", "--out", "out"], "malformed TOML", {"s.toml": "[study\nseed = 0\n"}),
    Row("binary study file", ["run", "s.toml", "--out", "out"], "cannot read study file", {"s.toml": "\udcff"}),
    Row("missing study file", ["run", "missing.toml", "--out", "out"], "not found"),
    Row("study file is a directory", ["run", "sdir", "--out", "out"], "cannot read study file", {"sdir/": ""}),
    # -- 5. output paths, checked before the study is even read ------------------------------------------------------
    Row("empty --out", ["run", "s.toml", "--out", ""], "--out: the path is empty", study("sg.lemma7")),
    Row(
        "--out is a file",
        ["run", "s.toml", "--out", "f"],
        "is a file, not a directory",
        {**study("sg.lemma7"), "f": "x"},
    ),
    Row("--out under a file", ["run", "s.toml", "--out", "f/sub"], "f is a file", {**study("sg.lemma7"), "f": "x"}),
    Row(
        "empty --report",
        ["run", "s.toml", "--out", "o", "--report", ""],
        "--report: the path is empty",
        study("sg.lemma7"),
    ),
    Row(
        "--report a directory",
        ["run", "s.toml", "--out", "o", "--report", "d"],
        "is a directory",
        {**study("sg.lemma7"), "d/": ""},
    ),
    Row(
        "--report under a file",
        ["run", "s.toml", "--out", "o", "--report", "f/r.pdf"],
        "f is a file",
        {**study("sg.lemma7"), "f": "x"},
    ),
    Row("report -o empty", ["report", "res", "-o", ""], "--output: the path is empty", RESULTS),
    Row("report -o a directory", ["report", "res", "-o", "d"], "is a directory", {**RESULTS, "d/": ""}),
    Row("report -o under a file", ["report", "res", "-o", "f/r.pdf"], "f is a file", {**RESULTS, "f": "x"}),
    Row("report of a missing dir", ["report", "nowhere", "-o", "r.pdf"], "is not a study output directory"),
    Row("report of a file", ["report", "f", "-o", "r.pdf"], "is not a study output directory", {"f": "x"}),
    Row("report of an empty dir", ["report", "d", "-o", "r.pdf"], "not found", {"d/": ""}),
    Row(
        "calibrate, unknown setting",
        ["calibrate", "--setting", "wide resnet", "--replicates", "10"],
        "matches no setting",
    ),
    Row(
        "results of the wrong shape",
        ["report", "res", "-o", "r.pdf"],
        "results.json is not an object",
        {**RESULTS, "res/results.json": "[]"},
    ),
    Row(
        "verdicts of the wrong shape",
        ["report", "res", "-o", "r.pdf"],
        "verdicts.json is not a list",
        {**RESULTS, "res/verdicts.json": "{}"},
    ),
    Row(
        "study.json not an object",
        ["report", "res", "-o", "r.pdf"],
        "study.json is not a study",
        {**RESULTS, "res/study.json": "3"},
    ),
    Row(
        "results not JSON", ["report", "res", "-o", "r.pdf"], "is not valid JSON", {**RESULTS, "res/results.json": "{"}
    ),
    # -- Dask ---------------------------------------------------------------------------------------------------------
    Row(
        "scheduler not a url",
        ["run", "s.toml", "--out", "o", "--scheduler", "not a url"],
        "not a Dask scheduler address",
        study("sg.lemma7"),
    ),
    Row(
        "scheduler without port",
        ["run", "s.toml", "--out", "o", "--scheduler", "tcp://x"],
        "not a Dask scheduler",
        study("sg.lemma7"),
    ),
    Row("zero workers", ["run", "s.toml", "--out", "o", "--workers", "0"], "positive integer", study("sg.lemma7")),
    # -- from_module: modules the DSL cannot express (issue 24) -------------------------------------------------
    Row("module norm layers", [*P, "--module", f"{BAD}:bn_and_layernorm", "--input", "3x8x8"], "3 parts are not"),
    Row("module replicate pad", [*P, "--module", f"{BAD}:replicate_pad", "--input", "3x8x8"], "replicate padding"),
    Row("module grouped conv", [*P, "--module", f"{BAD}:grouped", "--input", "3x8x8"], "groups=3 (a grouped"),
    Row(
        "module pad then relu", [*P, "--module", f"{BAD}:pad_before_relu", "--input", "3x8x8"], "right before a Conv2d"
    ),
    Row("module view mixes", [*P, "--module", f"{BAD}:mixes_examples", "--input", "3x8x8"], "only flattening each"),
    Row(
        "module wrong shape", [*P, "--module", f"{BAD}:tutorial", "--input", "3x9x9"], "fails on inputs of shape 3x9x9"
    ),
]


def _tree(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return out


def test_the_table_covers_every_class() -> None:
    assert len(ROWS) >= 100
    assert len({r.name for r in ROWS}) == len(ROWS), "row names must be unique"


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_is_refused_cleanly(
    row: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for rel, text in row.files.items():
        path = tmp_path / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
    before = _tree(tmp_path)
    try:
        code = main(row.argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert row.fragment in err, err
    assert "Traceback" not in err
    assert len(err) < 1200, f"the message echoes too much input ({len(err)} characters)"
    assert _tree(tmp_path) == before, "a refused command wrote or removed files"


def test_an_internal_error_is_one_line_with_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What escapes a command (a bug) is one line naming the exception and the command, exit 3; --debug adds the
    traceback."""
    from theorycheck import theory

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(theory, "predict", broken)
    assert main(["predict", "dense(3)", "--input", "4"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError: planted" in err and "--debug" in err
    assert main(["--debug", "predict", "dense(3)", "--input", "4"]) == EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_results_json_is_read_only_in_the_shapes_run_writes(tmp_path: Path) -> None:
    """The report refuses each file of the wrong shape (above) but accepts what `run` writes (below)."""
    from theorycheck.study import load_results

    for name, text in RESULTS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "res/verdicts.json").write_text(json.dumps([{"claim": "x", "verdict": "verified"}]))
    (tmp_path / "res/results.json").write_text(json.dumps({"x": {"claim": "x"}}))
    assert load_results(tmp_path / "res").verdicts[0]["claim"] == "x"


@pytest.mark.parametrize(
    "command", ["predict", "estimate", "bound", "bench", "run", "claims", "calibrate", "report", "check", "plan"]
)
def test_every_help_text_renders(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """argparse formats help strings with %: an unescaped % breaks --help (it did once, for calibrate)."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert command in capsys.readouterr().out
