"""Reading a scenario: a YAML text or file, checked against ``schemas/scenario.schema.json``.

YAML is read defensively (:mod:`.safe_yaml`: no Python tags, size, node and depth caps, duplicate
keys refused), then the document is checked against its schema and its own rules. Every problem
names the file, the line and the key path, and says what is wrong::

    scenarios/x.yaml:12: jobs[0].wait.for: expected a duration such as '2s', …, got "soon"
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..api.operations import OPERATION_NAMES
from ..contract.formats import SCENARIO_FORMATS
from ..contract.schema_check import SchemaCheck
from ..contract.schemas import load_schemas
from ..core.errors import ScenarioError, ScenarioUnreadable
from ..core.faults import Fault, Trigger
from ..core.settings import duration_ms, from_scenario
from .scenario import MAX_BYTES, MAX_FOLDERS, JobScriptSpec, Scenario
from .warnings import LINE_KEYS

__all__ = ["check_files", "load_scenario", "parse_scenario", "read_file", "scenario_dir", "shipped_scenarios"]


# --- reading YAML ------------------------------------------------------------------------------------


@functools.cache
def _check() -> SchemaCheck:
    """The scenario schema, a fault's ``endpoint`` naming the operations of the table."""
    schema = load_schemas()["scenario"]
    endpoint = schema["$defs"]["fault"]["properties"]["endpoint"]
    names = [*OPERATION_NAMES, "*"]
    endpoint["oneOf"][0]["enum"] = endpoint["oneOf"][1]["items"]["enum"] = names
    endpoint["x-expected"] = f"an endpoint ({', '.join(names)}) or a list of them"
    return SchemaCheck("scenario", schema, formats=SCENARIO_FORMATS)


def _parse_pointer(where: str) -> tuple[str, ...]:
    return tuple(p for p in where.removeprefix("body:").strip("/").split("/") if p)


def parse_scenario(text: str, origin: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Check and read a scenario document; raise :class:`ScenarioError` listing every problem."""
    from .safe_yaml import read_yaml  # PyYAML loads with the first scenario: the embedded default needs none

    document, lines = read_yaml(text, origin)
    if document is None:
        raise ScenarioError([f"{origin}:1: the scenario is empty; it needs at least `description`"])
    problems = []
    violations = list(_check().violations(document))
    # Only a refused document needs its lines by JSON pointer: for a valid 1 MiB one the table
    # would take 20 MB more at the peak of its load, which a second load's peak adds to the first's.
    lines_by_pointer = (
        {tuple(str(p) for p in path): line for path, line in lines.items()} if violations else {}
    )
    for violation in violations:
        path = _parse_pointer(violation.where)
        while path not in lines_by_pointer:
            path = path[:-1]
        message = re.sub(r"^`([^`]*)`(:)?", lambda m: m.group(1) + (m.group(2) or ""), violation.message)
        problems.append(f"{origin}:{lines_by_pointer[path]}: {message}")
    if problems:
        raise ScenarioError(problems)
    scenario = _read(document, text, origin, default_name, lines)
    _check_semantics(scenario, document, lines, origin)
    return scenario


def _check_semantics(
    scenario: Scenario, document: Mapping[str, Any], lines: Mapping[tuple[str | int, ...], int], origin: str
) -> None:
    """What the schema cannot say: settings that fit together, and a repository of bounded size."""
    problems = []
    try:
        scenario.settings()
    except ValueError as error:
        problems.append(f"{origin}:{lines.get(('settings',), 1)}: settings: {error}")
    generate = document.get("repository", {}).get("generate", ())
    folders = sum(item.get("folders", 1) for item in generate)
    if folders > MAX_FOLDERS:
        line = lines.get(("repository", "generate"), 1)
        problems.append(
            f"{origin}:{line}: repository.generate: {folders} folders in all; at most {MAX_FOLDERS} "
            "(put more assets in each folder instead)"
        )
    if problems:
        raise ScenarioError(problems)


def _read(
    doc: Mapping[str, Any],
    text: str,
    origin: str,
    default_name: str,
    lines: Mapping[tuple[str | int, ...], int],
) -> Scenario:
    return Scenario(
        name=doc.get("name", default_name),
        description=doc["description"],
        origin=origin,
        text=text,
        seed=doc.get("seed"),
        settings_changes=from_scenario(doc),
        repository_spec=doc.get("repository", {}),
        jobs=tuple(_job(job) for job in doc.get("jobs", ())),
        faults=tuple(_fault(fault) for fault in doc.get("faults", ())),
        lines={path: line for path, line in lines.items() if _named(path)},
    )


def _named(path: tuple[str | int, ...]) -> bool:
    """True for a key path that a message about the loaded scenario may name."""
    return all(isinstance(key, int) or key in LINE_KEYS for key in path)


def _job(spec: Mapping[str, Any]) -> JobScriptSpec:
    wait, counting, processing = spec.get("wait", {}), spec.get("counting", {}), spec.get("processing", {})
    return JobScriptSpec(
        path=spec["match"].get("path"),
        nth=spec["match"].get("nth"),
        wait_ms=duration_ms(wait.get("for", 0)),
        wait_polls=wait.get("polls", 0),
        counting_ms=duration_ms(counting["duration"]) if "duration" in counting else None,
        counting_failure=counting.get("fail"),
        per_asset_ms=max(1, duration_ms(processing["per_asset"])) if "per_asset" in processing else None,
        fail_at=processing.get("fail_at"),
        comment=processing.get("comment"),
        faults=tuple(_fault(fault) for fault in spec.get("faults", ())),
    )


@functools.lru_cache(maxsize=1024)  # the schema lets only operation names through: few sets
def _endpoints(named: tuple[str, ...]) -> frozenset[str]:
    """One set for all the faults that name the same endpoints: 40,000 faults need not hold
    40,000 copies (each set of nine names takes 728 bytes)."""
    return frozenset(OPERATION_NAMES) if "*" in named else frozenset(named)


def _fault(spec: Mapping[str, Any]) -> Fault:
    endpoint = spec.get("endpoint", "*")
    endpoints = _endpoints((endpoint,) if isinstance(endpoint, str) else tuple(endpoint))
    ((kind, value),) = spec.get("when", {"always": True}).items()
    trigger = Trigger(kind)
    if kind in ("nth", "every", "from"):
        trigger = Trigger(kind, n=value)
    elif kind == "window":
        trigger = Trigger(kind, window_ms=(duration_ms(value[0]), duration_ms(value[1])))
    elif kind == "probability":
        trigger = Trigger(kind, probability=value)
    elif kind == "rate_limit":  # a CDN rateLimit rule: answered 406 unless the fault names a status
        trigger = Trigger(kind, limit=value["limit"], per_ms=duration_ms(value.get("window", "10s")),
                          penalty_ms=duration_ms(value.get("penalty", "300s")))  # fmt: skip
    latency = spec.get("latency")
    bounds = None
    if latency is not None:
        low, high = (latency, latency) if not isinstance(latency, list) else latency
        bounds = (duration_ms(low), max(duration_ms(low), duration_ms(high)))
    return Fault(
        endpoints=endpoints,
        when=trigger,
        status=spec.get("status", 406 if kind == "rate_limit" else None),
        body=spec.get("body"),
        retry_after=spec.get("retry_after"),
        latency_ms=bounds,
        malformed=spec.get("malformed", False),
        connection=spec.get("connection"),
        description=spec.get("description", ""),
        auth=spec.get("auth"),
    )


# --- files -------------------------------------------------------------------------------------------


def scenario_dir() -> Path:
    """Where the shipped scenarios are: inside an installed wheel, or beside the package."""
    packaged = Path(str(resources.files("mock_server"))) / "_data" / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenarios by name."""
    return {path.stem: path for path in sorted(scenario_dir().glob("*.yaml"))}


def read_file(path: Path) -> Scenario:
    """Load the scenario file at ``path``."""
    origin = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError([f"{origin}:1: the file is larger than {MAX_BYTES} bytes"])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError([f"{origin}:1: not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ScenarioUnreadable([f"{origin}: cannot read it: {error.strerror}"]) from None
    return parse_scenario(text, origin, path.stem)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    shipped = shipped_scenarios()
    if isinstance(name_or_path, str) and name_or_path in shipped:
        return read_file(shipped[name_or_path])
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return read_file(path)
    close = difflib.get_close_matches(str(name_or_path), list(shipped), n=1)
    tip = f"did you mean {close[0]!r}? " if close else ""
    raise ScenarioError(
        [f"{name_or_path}: no such scenario file or shipped scenario; {tip}shipped: {', '.join(shipped)}"]
    )


def check_files(paths: Iterable[str]) -> Iterator[str]:
    """Every problem of every file, as ``file:line: what``."""
    for path in paths:
        try:
            read_file(Path(path))
        except ScenarioError as error:
            yield from error.problems
