"""Every code example in README.md and docs/ runs, so the documentation cannot rot.

Fenced blocks by their info string:

* ``python``: executed, in order, in one namespace per page; a block written as a doctest (``>>>``) has its
  shown output compared (doctest's rules);
* ``text`` whose first line is ``$ theorycheck …``: the command runs in-process and every shown line must appear,
  in order, in what it prints; numbers are compared to the last digit shown (one unit of it), since the rest of
  the line is the documentation's;
* ``dsl``: every line is an architecture of the text form and must parse;
* ``toml``: a study (``[study]``) is loaded and validated as ``theorycheck run`` would; a lone ``[claims."…"]``
  table is loaded inside a study of its own;
* ``bash``: every ``theorycheck`` command runs in-process, in a scratch folder with the repository's
  ``studies/`` and ``examples/``; the few that take minutes are parsed and their study loaded instead (each listed
  in :data:`NOT_RUN` with the reason, and a listed command that no page shows any more fails the test); install
  and tox commands are what ``.ci/run`` itself runs (checked), and scripts are syntax-checked with ``bash -n``.

A block of any other language fails the test: a new kind of example needs a rule here first.
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._cli import run_cli
from theorycheck.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "text", "dsl", "toml", "bash"}

#: commands the suite parses and whose study it loads, but does not run here, with the reason
NOT_RUN: dict[str, str] = {
    "theorycheck run studies/quick.toml": "the main job: about 5 minutes on 2 cores; every claim also runs at test "
    "budgets in tests/statistical/test_claims.py and tests/study/test_trained_claims.py",
    "theorycheck run examples/user_claims.toml": "run with its report by tests/statistical/test_user_claims.py",
}
#: shell commands that are not theorycheck's: what they are checked against
INSTALL = re.compile(r"^(python3 -m venv \.venv|\.venv/bin/pip install .*|python3 -m pip install .*)$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The fenced code blocks of a Markdown page (an unlabelled one has the language "")."""
    lines = page.read_text().split("\n")
    opening: tuple[int, str] | None = None
    body: list[str] = []
    for i, line in enumerate(lines):
        fence = re.match(r"^```(\S*)\s*$", line)
        if opening is None and fence:
            opening, body = (i + 1, fence.group(1)), []
        elif opening is not None and line.startswith("```"):
            yield Block(page, opening[0], opening[1], "\n".join(body))
            opening = None
        elif opening is not None:
            body.append(line)
    assert opening is None, f"{page}: the block opened on line {opening[0]} is never closed"


ALL = [b for page in PAGES for b in blocks(page)]


def test_every_block_has_a_rule() -> None:
    unknown = [f"{b.id} ({b.language})" for b in ALL if b.language not in LANGUAGES]
    assert not unknown, f"code blocks of a language no rule runs: {unknown}"
    assert len(PAGES) >= 8 and len(ALL) >= 20


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory in which ``studies/`` and ``examples/`` are the repository's."""
    for name in ("studies", "examples", "benchmarks"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    return tmp_path


# -- python --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [p for p in PAGES if any(b.language == "python" for b in blocks(p))], ids=str)
def test_python_blocks_run(page: Path, scratch: Path) -> None:
    from theorycheck.claims._kinds import _KINDS, cell_kinds
    from theorycheck.claims.forms import _registry, _statistics

    cell_kinds()  # the built-in kinds are registered (the catalogue loads on first use) before the snapshot
    # what the examples register (claims, statistics, cell kinds) is taken back afterwards
    registries: list[dict] = [_registry._REGISTERED, _statistics._USER, _statistics._FUNCTIONS, _KINDS]
    saved = [dict(r) for r in registries]
    try:
        _run_python_blocks(page)
    finally:
        for registry, before in zip(registries, saved, strict=True):
            registry.clear()
            registry.update(before)


def _run_python_blocks(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for block in (b for b in blocks(page) if b.language == "python"):
        if ">>>" in block.text:
            test = doctest.DocTestParser().get_doctest(block.text, namespace, block.id, str(page), block.line)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=sys.stderr.write, clear_globs=False)
            assert runner.failures == 0, f"{block.id}: the doctest's output differs (see stderr)"
            namespace.update(test.globs)
        else:
            exec(compile(block.text, block.id, "exec"), namespace)


# -- text: a command and what it prints ---------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _same_line(shown: str, printed: str) -> bool:
    """Equal text, and numbers equal to one unit of the last digit shown."""
    if _NUMBER.sub("#", shown).split() != _NUMBER.sub("#", printed).split():
        return False
    for a, b in zip(_NUMBER.findall(shown), _NUMBER.findall(printed), strict=True):
        mantissa, _, exponent = a.lower().partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        unit = 10.0 ** (int(exponent or 0) - decimals)
        if abs(float(a) - float(b)) > unit * 1.0001:
            return False
    return True


def _contains_in_order(shown: list[str], printed: list[str]) -> str | None:
    """None when every shown line matches a printed line, in order; else the first shown line that does not."""
    at = 0
    for line in shown:
        while at < len(printed) and not _same_line(line, printed[at]):
            at += 1
        if at == len(printed):
            return line
        at += 1
    return None


def test_line_comparison_can_fail() -> None:
    """The comparison refuses a changed word, a number off by more than its last digit, and a lost line."""
    assert _same_line("slope -0.9981 ± 0.0027", "slope -0.9982 ± 0.0027")
    assert not _same_line("slope -0.9981 ± 0.0027", "slope -0.9961 ± 0.0027")
    assert not _same_line("verdict: verified", "verdict: refuted")
    assert not _same_line("TOST p = 1.8e-69", "TOST p = 1.8e-68")
    assert _contains_in_order(["a 1", "c 3"], ["a 1", "b 2", "c 3"]) is None
    assert _contains_in_order(["c 3", "a 1"], ["a 1", "b 2", "c 3"]) == "a 1"


TEXT = [b for b in ALL if b.language == "text" and b.text.startswith("$ theorycheck ")]


@pytest.mark.parametrize("block", TEXT, ids=[b.id for b in TEXT])
def test_shown_output_is_what_the_command_prints(block: Block, scratch: Path) -> None:
    command, *shown = block.text.split("\n")
    result = run_cli(*shlex.split(command[2:])[1:])
    printed = (result.stdout + result.stderr).split("\n")
    missing = _contains_in_order([s for s in shown if s.strip()], printed)
    assert missing is None, f"{block.id}: shown but not printed: {missing!r}\nprinted:\n" + "\n".join(printed)


# -- dsl and toml ---------------------------------------------------------------------------------------------------
def test_dsl_blocks_parse() -> None:
    from theorycheck.graph import Architecture

    texts = [line for b in ALL if b.language == "dsl" for line in b.text.split("\n") if line.strip()]
    assert texts
    for text in texts:
        assert Architecture.parse(text).to_text()


TOML = [b for b in ALL if b.language == "toml"]


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_toml_blocks_load_as_studies(block: Block, scratch: Path) -> None:
    from theorycheck.study import parse_study

    data = tomllib.loads(block.text)
    if "study" not in data:
        data["study"] = {"name": "docs", "claims": list(data["claims"])}
    spec = parse_study(data, source=block.id)
    assert spec.claims


# -- bash ----------------------------------------------------------------------------------------------------------
def _commands(text: str) -> Iterator[str]:
    """The shell commands of a block: continuations joined, comments and blank lines dropped, ``&&`` split."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.split("\n"):
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            yield from (c.strip() for c in line.split("&&"))


BASH = [(b, c) for b in ALL if b.language == "bash" for c in _commands(b.text)]


def _not_run(command: str) -> str | None:
    return next((why for prefix, why in NOT_RUN.items() if command.startswith(prefix)), None)


@pytest.mark.parametrize(("block", "command"), BASH, ids=[f"{b.id}:{c[:50]}" for b, c in BASH])
def test_shell_commands_work(block: Block, command: str, scratch: Path) -> None:
    rest = re.sub(r"^(?:[A-Z_]+=\S+ )+", "", command)  # environment assignments
    if rest.startswith(".venv/bin/theorycheck "):
        rest = rest.removeprefix(".venv/bin/")
    if rest.startswith("theorycheck "):
        argv = shlex.split(rest)[1:]
        if _not_run(rest) is None:
            result = run_cli(*argv)
            assert result.returncode == 0, f"{block.id}: {rest}\n{result.stdout}\n{result.stderr}"
            return
        args = build_parser().parse_args(argv)  # the arguments parse
        if args.command in ("run", "plan"):
            from theorycheck.study import load_study

            assert load_study(args.study).claims
        return
    if rest.startswith("bash "):
        script = ROOT / shlex.split(rest)[1]
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0, f"{block.id}: {script}"
        return
    if rest.startswith("python3 -m tox"):
        assert "python3 -m tox" in (ROOT / ".ci" / "run").read_text(), ".ci/run must run the README's tests"
        return
    assert INSTALL.match(rest), f"{block.id}: no rule checks {rest!r}"
    if "install -e ." in rest:
        assert (ROOT / "pyproject.toml").is_file()


def test_every_command_that_is_not_run_is_still_shown() -> None:
    shown = [c for _, c in BASH] + [b.text.split("\n")[0][2:] for b in TEXT]
    shown = [c.removeprefix(".venv/bin/") for c in shown]
    stale = [prefix for prefix in NOT_RUN if not any(c.startswith(prefix) for c in shown)]
    assert not stale, f"NOT_RUN lists commands no page shows: {stale}"


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    first = next(b for b in ALL if b.page.name == "README.md")
    assert first.language == "bash"
    commands = list(_commands(first.text))
    assert commands[-1] == "python3 -m tox" and "theorycheck run studies/quick.toml" in " ".join(commands)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m pip install --quiet 'tox>=4.20,<5'" in ci and "python3 -m tox" in ci
    assert len((ROOT / "README.md").read_text().split("\n")) <= 250


def test_links_between_pages_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to a missing {target}"
