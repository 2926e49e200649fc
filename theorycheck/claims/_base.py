"""The claim framework: claims, the cells of work they need, and their results.

A claim turns study parameters into *cells* (deterministic units of work: a
batch of sampled networks, path products, or a graph computation), then turns
the cells' per-network rows into *parts* (sub-claims, each with a decision)
and a verdict. The same evaluation runs on the claim's negative control, a
mutant that breaks the claim, which must come out refuted.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

import pandas as pd

from theorycheck.claims._entries import PK as PK
from theorycheck.claims._entries import SG as SG
from theorycheck.claims._entries import TC as TC
from theorycheck.claims._entries import Entry as Entry
from theorycheck.claims._entries import Paper as Paper
from theorycheck.claims._params import Param
from theorycheck.errors import TheorycheckError
from theorycheck.stats import Combined, Decision, combine

__all__ = [
    "Cell",
    "CellData",
    "Claim",
    "ClaimResult",
    "Entry",
    "Paper",
    "Param",
    "Part",
    "make_claim",
    "strict_problems",
]

#: how a part is decided, and what backs its verdict
METHODS: dict[str, str] = {
    "exact": "a fact decided exactly (from the graph, or evaluated in float64 within a stated round-off bound)",
    "search": "a counterexample search (random, hypothesis target(), gradient ascent) with a budget",
    "attack": "bounds against the smallest class-changing perturbation a minimal-norm attack finds, per input",
    "mean": "a Student-t interval of a mean over networks",
    "slope": "a GLM (Gamma, log link) slope with HC1 errors",
    "slope-clustered": "a GLM (Gamma, log link) slope with errors clustered by network (one network, several steps)",
    "ratio": "a delta-method interval of the log ratio of two independent means",
    "ratio-slope": "a GLM slope of a ratio of two independent arms",
    "paired-ratio": "a delta-method interval of the log ratio of two paired means",
    "loo-line": "a normal interval of one arm's mean against a weighted least-squares line through the other arms'",
    "less-than": "a one-sided comparison of two means (delta-method log ratio)",
    "batch-means": "a normal interval over independent batches",
    "extrapolation": "a weighted least-squares extrapolation in the width",
}


@dataclass(frozen=True)
class Cell:
    """One unit of work. Its random stream depends only on the study seed and :attr:`random_stream` (the claim and
    name, or for a public-form claim the networks it draws).

    ``kind`` is ``sample`` (the batched sampler), ``paths`` (path products of
    tiny nets) or ``graph`` (exact theory only). ``start`` and ``networks``
    select a range of networks: doubling a cell adds the range after it.
    """

    claim: str
    name: str
    kind: str
    params: dict[str, Any]
    networks: int = 0
    start: int = 0
    #: what the executor needs besides the (JSON) parameters, e.g. the property a search cell searches: it travels
    #: with the cell (to Dask workers too, by cloudpickle) and is not part of the cell's identity
    payload: Any = field(default=None, compare=False, repr=False)
    #: the random stream's name when it is not the cell's own (``claim/name``): a claim written in the public forms
    #: names its networks by what they are (``family/<hash of the architecture, input, init, data, recipe>``), so
    #: every claim on one family draws the same networks from one study seed (paired)
    seed_stream: str = ""

    @property
    def stream(self) -> str:
        """Identity of the cell's stream of ranges (not of one range): its claim and name."""
        return f"{self.claim}/{self.name}"

    @property
    def random_stream(self) -> str:
        """What the cell's seed derives from (with the study seed): ``seed_stream``, else :attr:`stream`."""
        return self.seed_stream or self.stream

    @property
    def id(self) -> str:
        """Unique identity: stream and network range."""
        return f"{self.stream}@{self.start}-{self.start + self.networks}"

    def spec_hash(self) -> str:
        """Hash of everything that determines the cell's rows (with the study seed added by the store)."""
        blob = json.dumps(
            {
                "kind": self.kind,
                "params": self.params,
                "networks": self.networks,
                "start": self.start,
                "stream": self.stream,
                **({"seed_stream": self.seed_stream} if self.seed_stream else {}),
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def extended(self) -> Cell:
        """The next range of the same stream, of the same size (used to double an inconclusive claim)."""
        return replace(self, start=self.start + self.networks)

    def after(self, networks: int) -> Cell:
        """The range of ``networks`` networks that follows this one in the same stream."""
        return replace(self, networks=networks, start=self.start + self.networks)


class CellData:
    """Rows of a claim's cells, by cell name (ranges of one stream concatenated in order),
    and the per-input maps of sample cells that asked for them (summed over ranges)."""

    def __init__(self, frames: dict[str, pd.DataFrame], maps: dict[str, dict[str, Any]] | None = None) -> None:
        self._frames = frames
        self._maps = maps or {}

    def maps(self, name: str) -> dict[str, Any]:
        """``{"<gradient>": Σ_networks g_i² (ndarray), ...}`` of cell ``name``."""
        try:
            return self._maps[name]
        except KeyError:
            raise KeyError(f"no maps for cell {name!r}") from None

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self._frames[name]
        except KeyError:
            raise KeyError(f"no data for cell {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._frames

    def names(self) -> list[str]:
        return list(self._frames)


@dataclass
class Part:
    """One sub-claim: what is measured, its decision, and data for the report's figures."""

    name: str
    description: str
    decision: Decision
    table: list[dict[str, Any]] = field(default_factory=list)
    fit: dict[str, Any] | None = None
    #: the estimate as the number of networks grows: [{"n", "estimate", "lo", "hi"}]
    convergence: list[dict[str, float]] = field(default_factory=list)
    #: per-input maps for figures: {"predicted": [...], "measured": [...], "shape": [...]}
    maps: dict[str, Any] | None = None
    #: values for a histogram figure: {"values": [...], "threshold": float, "xlabel": str}
    histogram: dict[str, Any] | None = None
    #: False for a part shown for information only (it takes no part in the verdict)
    counts: bool = True
    #: a counterexample that refutes the part: structure, inputs, violation, digits, method, text
    counterexample: dict[str, Any] | None = None
    #: rows this part adds to its claim's grid table (a claim about a family: one per grid point)
    grid: list[dict[str, Any]] | None = None
    #: how the part was decided (:data:`METHODS`): its guarantee is that method's
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "decision": self.decision.to_dict(),
            "table": self.table,
            "fit": self.fit,
            "convergence": self.convergence,
            "maps": self.maps,
            "histogram": self.histogram,
            "counts": self.counts,
            "counterexample": self.counterexample,
            "method": self.method,
        }


@dataclass
class ClaimResult:
    """A claim's verdict, its parts, and its negative control."""

    claim: str
    verdict: str
    parts: list[Part]
    control_parts: list[Part]
    n_networks: int
    evidence: list[str]
    notes: list[str] = field(default_factory=list)
    #: per Monte Carlo cell: (H), kernel and measured E[(∂f/∂x_i)²] (see ``claims._levels``)
    levels: list[dict[str, Any]] = field(default_factory=list)
    #: the sequential design: planned looks, looks taken, α per look and α spent (set by the study runner)
    sequential: dict[str, Any] = field(default_factory=dict)
    #: for claims about a family: one row per grid point (variables, d, estimate, CI, prediction)
    grid: list[dict[str, Any]] = field(default_factory=list)
    #: what backs the verdict, from how its parts were decided (set by the study runner)
    guarantee: dict[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> Combined:
        """The verdict of the counted parts, and on how many of them it rests."""
        return combine([p.decision.verdict for p in self.parts if p.counts])

    @property
    def not_covered(self) -> list[str]:
        """Every counted part the theory does not cover, with its reason."""
        return [
            f"{p.name}: {p.decision.explanation}"
            for p in self.parts
            if p.counts and p.decision.verdict == "not covered"
        ]

    @property
    def counterexample(self) -> dict[str, Any] | None:
        """The counterexample of the first refuted part that has one (the simplest of its phases')."""
        return next(
            (p.counterexample for p in self.parts if p.counts and p.counterexample and p.decision.verdict == "refuted"),
            None,
        )

    @property
    def control_verdict(self) -> str | None:
        counted = [p.decision.verdict for p in self.control_parts if p.counts]
        return combine(counted).verdict if counted else None

    @property
    def control_unable_to_fail(self) -> bool:
        """True when the mutant was not refuted and the claim was not refuted either: nothing shows that the check
        can fail (a refuted claim has shown it)."""
        return self.control_verdict is not None and self.control_verdict != "refuted" and self.verdict != "refuted"

    @property
    def headline(self) -> Part | None:
        """The part that decides the verdict: the first most severe one, preferring measured numbers."""
        deciding = [p for p in self.parts if p.counts and p.decision.verdict == self.verdict]
        numeric = [p for p in deciding if p.decision.estimate is not None]
        if numeric or deciding:
            return (numeric or deciding)[0]
        return self.parts[0] if self.parts else None

    def to_dict(self, claim: Claim) -> dict[str, Any]:
        head = self.headline
        d = head.decision if head else None
        scope = self.scope
        return {
            "claim": self.claim,
            "source": claim.source,
            "kind": claim.kind,
            "statement": claim.statement,
            "prediction_formula": claim.formula,
            "verdict": self.verdict,
            "judged": scope.judged,
            "parts_counted": scope.parts,
            "partial": scope.partial,
            "scope": scope.scope(),
            "not_covered": self.not_covered,
            "predicted": None if d is None else d.predicted,
            "measured": None if d is None else d.estimate,
            "ci": None if d is None or d.ci is None else list(d.ci),
            "rel_dev": None if d is None else d.deviation,
            "deviation_kind": None if d is None or d.margins is None else d.margins.kind,
            "headline_part": None if head is None else head.name,
            "n_networks": self.n_networks,
            "counterexample": self.counterexample,
            "negative_control": self.control_verdict,
            "control_unable_to_fail": self.control_unable_to_fail,
            "evidence": self.evidence,
            "parts": [p.to_dict() for p in self.parts],
            "control_parts": [p.to_dict() for p in self.control_parts],
            "notes": self.notes,
            "levels": self.levels,
            "sequential": self.sequential,
            "grid": self.grid,
            "guarantee": self.guarantee,
            "definition": claim.definition,
        }


def make_claim(entry: Entry, **how: Any) -> Claim:
    """The claim with ``entry``'s metadata and ``how`` it is checked (``params``, ``make_cells``, …)."""
    return Claim(entry.id, entry.source, entry.kind, entry.statement, entry.formula, **how)


@dataclass
class Claim:
    """A claim: of the catalogue (see ``../shared/CLAIMS.md``), or a user's (``theorycheck.claims.scaling`` …)."""

    id: str
    source: str
    kind: str
    statement: str
    formula: str
    _: KW_ONLY
    params: dict[str, Param] = field(default_factory=dict)
    make_cells: Callable[[dict[str, Any]], list[Cell]] | None = None
    evaluate_parts: Callable[[dict[str, Any], CellData, str], list[Part]] | None = None
    #: how a user claim was declared (its study-file table), for results.json
    definition: dict[str, Any] = field(default_factory=dict)
    #: in place of ``evaluate_parts``: both roles at once, ``(main parts, control parts)``, for a claim whose control
    #: depends on its own measurement (the public forms' automatic control moves away from it)
    evaluate_both: Callable[[dict[str, Any], CellData], tuple[list[Part], list[Part]]] | None = None

    def __post_init__(self) -> None:
        for key, param in self.params.items():
            problem = param.check(param.default)
            if problem:
                raise TypeError(f"{self.id}.{key}: the default {param.default!r} fails its own validator: {problem}")

    def resolve(self, overrides: dict[str, Any], where: str) -> dict[str, Any]:
        """Defaults updated by ``overrides``; unknown or invalid fields raise, naming the field."""
        out = {k: p.default for k, p in self.params.items()}
        for key, value in overrides.items():
            if key not in self.params:
                close = difflib.get_close_matches(key, list(self.params), n=1)
                hint = (
                    f"; did you mean '{close[0]}'?"
                    if close
                    else f"; {self.id} takes: {', '.join(self.params) or 'none'}"
                )
                raise TheorycheckError(f"{where}.{key}: unknown parameter of {self.id}{hint}")
            problem = self.params[key].check(value)
            if problem:
                shown = repr(value)
                shown = shown if len(shown) <= 80 else shown[:77] + "..."
                raise TheorycheckError(f"{where}.{key} {problem}, got {shown}")
            out[key] = value
        return out

    def cells(self, params: dict[str, Any]) -> list[Cell]:
        """The cells this claim needs under ``params`` (resolved by :meth:`resolve`)."""
        assert self.make_cells is not None
        return self.make_cells(params)

    def evaluate(self, params: dict[str, Any], data: CellData) -> ClaimResult:
        """Parts of the claim (role ``main``) and of its negative control (role ``control``)."""
        if self.evaluate_both is not None:
            parts, control = self.evaluate_both(params, data)
        else:
            assert self.evaluate_parts is not None
            parts = self.evaluate_parts(params, data, "main")
            control = self.evaluate_parts(params, data, "control")
        n = sum(len(data[name]) for name in data.names() if name.startswith("main") and "network" in data[name])
        evidence = sorted(data.names())
        verdict = combine([p.decision.verdict for p in parts if p.counts]).verdict
        result = ClaimResult(self.id, verdict, parts, control, n, evidence)
        result.grid = [row for p in parts if p.counts for row in (p.grid or [])]
        return result


def strict_problems(verdict: dict[str, Any], *, accept: tuple[str, ...]) -> list[str]:
    """Why a claim's verdict (a ``verdicts.json`` entry) fails a strict check (``run --strict``, ``check
    --strict``, :func:`theorycheck.testing.assert_holds`); empty when it passes.

    It fails when the verdict is not in ``accept``; when it was judged on part of the claim's scope and the study
    did not opt in (``allow_partial = true``); and when the negative control was not refuted (a check that cannot
    fail proves nothing)."""
    problems = []
    if verdict["verdict"] not in accept:
        problems.append(f"the verdict is {verdict['verdict']} (accepted: {', '.join(accept)})")
    if verdict.get("partial") and not verdict.get("allow_partial"):
        problems.append(f"{verdict['scope']}: the rest is not covered (allow_partial = true accepts that)")
    if verdict.get("control_unable_to_fail"):
        problems.append("the negative control was not refuted: the check is unable to fail")
    return problems
