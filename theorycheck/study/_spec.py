"""Study files: TOML, validated with errors that name the field.

[study]
name = "quick"
seed = 0
device = "auto"          # auto, cpu, cuda
precision = "fp32"       # fp64, fp32, tf32, bf16
conv_kernel = "grouped"  # or "triton" (CUDA, fp32/tf32): how Monte Carlo cells run stride-1 convolutions
claims = "all"           # or a list of claim IDs
max_networks = 16000     # per cell stream: inconclusive claims double their networks up to this

[claims."sg.thm3"]       # per-claim parameters (see `theorycheck claims --json`)
dims = [64, 256, 1024]
networks = 1000
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theorycheck.claims import CATALOGUE, Claim
from theorycheck.claims._params import MAX_NETWORKS
from theorycheck.claims.forms import from_table, load_entry_points, load_plugins, registered
from theorycheck.claims.forms._registry import from_plugins
from theorycheck.claims.theorems import on_family
from theorycheck.errors import TheorycheckError, suggest
from theorycheck.sampler import PRECISIONS

__all__ = ["StudySpec", "load_study", "parse_study"]

_STUDY_KEYS = {
    "name": "a name for the study",
    "description": "free text",
    "seed": "integer: every cell's seed derives from it and the cell's identity",
    "device": "auto, cpu or cuda",
    "precision": "fp64, fp32, tf32 or bf16",
    "conv_kernel": "grouped (default) or triton: the sampler's convolution kernel (triton: CUDA, fp32 or tf32)",
    "claims": '"all" or a list of claim IDs',
    "max_networks": "positive integer: budget per cell stream when doubling inconclusive claims",
    "plugins": "list of modules to import; their theorycheck.claims.register(...) calls add claims",
    "power": 'number in [0.5, 0.9999]: the probability of a decisive verdict networks = "auto" plans for (0.95)',
}


@dataclass(frozen=True)
class StudySpec:
    """A validated study: settings and the resolved parameters of each selected claim."""

    name: str
    seed: int
    device: str
    precision: str
    max_networks: int
    claims: dict[str, dict[str, Any]]
    description: str = ""
    source: str | None = field(default=None, compare=False)
    conv_kernel: str = "grouped"
    #: the claim objects of the selected IDs (catalogue, plugins and the study's own claims)
    registry: dict[str, Claim] = field(default_factory=dict, compare=False, repr=False)
    plugins: tuple[str, ...] = ()
    #: how each of the study's own claims is declared (its table), part of the study's identity
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: claims with ``networks = "auto"``: the runner sizes their budget by a pilot (``theorycheck plan``)
    auto: tuple[str, ...] = ()
    #: claims whose verdict may rest on part of their scope under ``--strict`` (``allow_partial = true``)
    allow_partial: tuple[str, ...] = ()
    #: the probability of a decisive verdict that ``networks = "auto"`` budgets are planned for
    power: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "device": self.device,
            "conv_kernel": self.conv_kernel,
            "precision": self.precision,
            "max_networks": self.max_networks,
            "claims": self.claims,
            "plugins": list(self.plugins),
            "definitions": self.definitions,
            "auto": list(self.auto),
            "allow_partial": list(self.allow_partial),
            "power": self.power,
        }

    def spec_hash(self) -> str:
        """Hash of the whole resolved study."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def claim(self, claim_id: str) -> Claim:
        return self.registry.get(claim_id) or CATALOGUE[claim_id]


def _err(where: str, message: str) -> TheorycheckError:
    return TheorycheckError(f"{where}: {message}")


def _validate_cells(claim: Claim, params: dict[str, Any], where: str) -> None:
    """Build every cell of the claim now, so a bad parameter fails before any work starts."""
    from theorycheck.graph import Architecture, parse_input_shape
    from theorycheck.theory._frames import annotate

    try:
        cells = claim.cells(params)
    except (ValueError, KeyError, TypeError) as exc:
        raise _err(where, f"invalid parameters: {exc}") from None
    for cell in cells:
        if "arch" not in cell.params:
            continue
        try:
            arch = Architecture.parse(cell.params["arch"])
            annotate(arch, parse_input_shape(cell.params["input"]))  # shapes, and the memory every value needs
        except TheorycheckError as exc:
            raise _err(where, f"cell {cell.name}: {exc}") from None


def parse_study(data: dict[str, Any], *, source: str = "<study>") -> StudySpec:
    """Validate a parsed TOML document."""
    unknown = set(data) - {"study", "claims"}
    if unknown:
        key = sorted(unknown)[0]
        raise _err(
            source,
            f'unknown table [{key}]{suggest(key, ["study", "claims"])}; a study has [study] and [claims."ID"] tables',
        )
    study = data.get("study")
    if not isinstance(study, dict):
        raise _err(source, "missing [study] table (with at least seed and claims)")
    for key in study:
        if key not in _STUDY_KEYS:
            raise _err(
                f"{source}: study.{key}", f"unknown field{suggest(key, _STUDY_KEYS)}; fields: {', '.join(_STUDY_KEYS)}"
            )
    seed = study.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise _err(f"{source}: study.seed", f"must be an integer from 0 to 2^63-1, got {seed!r}")
    device = study.get("device", "auto")
    if device not in ("auto", "cpu", "cuda") and not (isinstance(device, str) and device.startswith("cuda:")):
        raise _err(f"{source}: study.device", f"must be auto, cpu or cuda, got {device!r}")
    precision = study.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise _err(f"{source}: study.precision", f"must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    conv_kernel = study.get("conv_kernel", "grouped")
    if conv_kernel not in ("grouped", "triton"):
        raise _err(f"{source}: study.conv_kernel", f"must be grouped or triton, got {conv_kernel!r}")
    max_networks = study.get("max_networks", 0)
    if not isinstance(max_networks, int) or isinstance(max_networks, bool) or not 0 <= max_networks <= MAX_NETWORKS:
        raise _err(
            f"{source}: study.max_networks", f"must be an integer from 0 to {MAX_NETWORKS}, got {max_networks!r}"
        )
    power = study.get("power", 0.95)
    if isinstance(power, bool) or not isinstance(power, int | float) or not 0.5 <= power <= 0.9999:
        raise _err(f"{source}: study.power", f"must be a number from 0.5 to 0.9999, got {power!r}")
    name = study.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise _err(f"{source}: study.name", f"must be a non-empty string, got {name!r}")

    plugins = study.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(m, str) for m in plugins):
        raise _err(
            f"{source}: study.plugins", f'must be a list of module names, e.g. ["mypkg.claims"], got {plugins!r}'
        )
    load_plugins(plugins, where=f"{source}: study.plugins", search=[str(Path(source).resolve().parent)])
    load_entry_points()
    tables = data.get("claims", {})
    if not isinstance(tables, dict):
        raise _err(source, '[claims] must hold one table per claim, e.g. [claims."sg.thm3"]')
    known: dict[str, Claim] = {**CATALOGUE, **registered()}
    own = _own_claims(tables, known, source)
    ids = _selected(study.get("claims", "all"), {**known, **own}, own, plugins, source)
    registry: dict[str, Claim] = {}
    resolved: dict[str, dict[str, Any]] = {}
    auto: list[str] = []
    partial: list[str] = []
    for cid in ids:
        where = f'{source}: claims."{cid}"'
        table, allow = _runner_options(tables.get(cid, {}), where)
        if allow:
            partial.append(cid)
        if isinstance(table, dict) and table.get("networks") == "auto":  # sized by a pilot when the study runs
            table = {k: v for k, v in table.items() if k != "networks"}
            auto.append(cid)
        if cid in own:
            claim = own[cid]
            table = {"networks": table["networks"]} if "networks" in table else {}
        elif cid in CATALOGUE and isinstance(table, dict) and "arch" in table:
            claim, table = on_family(CATALOGUE[cid], table, where=where, source=source)
        else:
            claim = known.get(cid) or CATALOGUE[cid]
        registry[cid] = claim
        if cid in auto and "networks" not in claim.params:
            raise _err(f"{where}.networks", f'"auto" sizes a network budget, and {cid} has none')
        resolved[cid] = claim.resolve(table, where)
        _validate_cells(claim, resolved[cid], where)
    for cid in tables:
        if cid not in ids:
            raise _err(f'{source}: claims."{cid}"', "parameters given for a claim that study.claims does not select")
    definitions = {
        cid: _runner_options(tables[cid], "")[0]
        for cid in ids
        if cid in tables and registry[cid] is not CATALOGUE.get(cid)
    }
    description = str(study.get("description", ""))
    return StudySpec(
        name,
        seed,
        device,
        precision,
        max_networks,
        resolved,
        description,
        source,
        conv_kernel,
        registry,
        tuple(plugins),
        definitions,
        tuple(auto),
        tuple(partial),
        float(power),
    )


def _runner_options(table: Any, where: str) -> tuple[Any, bool]:
    """A claim's table without the runner's own options, and ``allow_partial`` (validated)."""
    if not isinstance(table, dict) or "allow_partial" not in table:
        return table, False
    allow = table["allow_partial"]
    if not isinstance(allow, bool):
        raise _err(f"{where}.allow_partial", f"must be true or false, got {allow!r}")
    return {k: v for k, v in table.items() if k != "allow_partial"}, allow


def _own_claims(tables: dict[str, Any], known: dict[str, Claim], source: str) -> dict[str, Claim]:
    """The study's own claims: tables whose ID is neither in the catalogue nor registered (they need ``form``)."""
    own = {}
    for cid, table in tables.items():
        where = f'{source}: claims."{cid}"'
        if not isinstance(table, dict):
            raise _err(where, "must be a table of parameters")
        if cid in known or cid in CATALOGUE:
            if "form" in table:
                raise _err(f"{where}.form", f"'{cid}' is already a claim; give your claim another ID")
            continue
        if "form" not in table:
            raise _err(
                where,
                f"unknown claim{suggest(cid, known)}; to declare your own, add form = 'scaling', 'value' or 'ratio'",
            )
        own[cid] = from_table(cid, _runner_options(table, where)[0], where=where, source=f"user claim ({source})")
    return own


def _selected(
    selected: Any, known: dict[str, Claim], own: dict[str, Claim], plugins: list[str], source: str
) -> list[str]:
    """The claim IDs ``study.claims`` selects: "all" is every catalogue claim, then the plugins' and
    the study's own claims."""
    if selected == "all":
        catalogue = list(CATALOGUE)
        return [*catalogue, *from_plugins(plugins), *own]
    if not (isinstance(selected, list) and selected and all(isinstance(c, str) for c in selected)):
        raise _err(f"{source}: study.claims", f'must be "all" or a non-empty list of claim IDs, got {selected!r}')
    ids: list[str] = []
    for cid in selected:
        if cid not in known:
            raise _err(f"{source}: study.claims", f"unknown claim '{cid}'{suggest(cid, known)}")
        if cid in ids:
            raise _err(f"{source}: study.claims", f"claim '{cid}' is listed twice")
        ids.append(cid)
    return ids


def load_study(path: str | Path) -> StudySpec:
    """Read and validate a study file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TheorycheckError(f"study file {str(p)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TheorycheckError(f"cannot read study file {str(p)!r}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TheorycheckError(f"{p}: malformed TOML: {exc}") from None
    return parse_study(data, source=str(p))
