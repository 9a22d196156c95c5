"""Scenario files: YAML that scripts settings, the repository, job lifecycles and faults.

YAML is read defensively (:mod:`.safe_yaml`: no Python tags, size, node and depth caps, duplicate
keys refused), then the document is checked against ``schemas/scenario.schema.json``. Every
problem names the file, the line and the key path, and says what is wrong::

    scenarios/x.yaml:12: jobs[0].wait.for: expected a duration such as '2s', …, got "soon"
"""

from __future__ import annotations

import difflib
import functools
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..api.operations import OPERATION_NAMES, OPERATIONS
from ..contract.formats import SCENARIO_FORMATS
from ..contract.formats import timestamp_ms as timestamp_ms  # its home was here
from ..contract.schemas import load_schemas
from ..contract.validation import SchemaCheck
from ..contract.wording import field_name
from ..core.default_dam import BASE_MS, default_repository
from ..core.errors import ScenarioError
from ..core.faults import Fault, Trigger
from ..core.jobs import Lifecycle
from ..core.repository import Repository
from ..core.settings import STATUSES, Settings, duration_ms

__all__ = [
    "Glob",
    "Scenario",
    "ScenarioError",
    "check_files",
    "load_scenario",
    "parse_scenario",
    "scenario_warnings",
    "shipped_scenarios",
]

MAX_FOLDERS = 10_000
"""Generated folders per scenario, all ``generate`` items together (each is built at load)."""
_NAMES = {
    "DITATOPIC": "topic-{n}.dita",
    "DITAMAP": "map-{n}.ditamap",
    "MARKDOWN": "doc-{n}.md",
    "HTML/CSS": "page-{n}.html",
    "DITAVAL": "filter-{n}.ditaval",
    "OTHERS": "file-{n}.png",
    "CONTENT_FRAGMENT": "fragment-{n}",
}
YEAR_MS = 365 * 86_400_000


# --- values ------------------------------------------------------------------------------------------


class Glob:
    """A path glob: ``*`` matches within a segment, ``**`` across segments, ``?`` one character.

    Matched by moving every position of the glob along the path at once, as bits of one integer
    (no backtracking): a match costs a few integer operations per character of the path, whatever
    the glob, so seven ``**`` against 80 slashes, or a 1,000-character glob against a 4,096-character
    path, stay within milliseconds. Build one with :func:`glob`, which keeps the compiled ones.
    """

    __slots__ = ("_accept", "_any", "_literal", "_one", "_skip", "_star", "glob")

    def __init__(self, glob: str) -> None:
        self.glob = glob
        self._literal: dict[str, int] = {}  # the positions each character moves on from
        self._one = self._star = self._any = self._skip = 0
        position = 0
        for part in re.split(r"(\*\*|\*|\?)", glob):
            if part in ("*", "**"):
                if part == "**" and position and self._any >> (position - 1) & 1:
                    continue  # '****' is '**'
                if part == "*":
                    self._star |= 1 << position
                else:
                    self._any |= 1 << position
                self._skip |= 1 << position  # it may match nothing: on to the next position
                position += 1
            elif part == "?":
                self._one |= 1 << position
                position += 1
            else:
                for char in part:
                    self._literal[char] = self._literal.get(char, 0) | 1 << position
                    position += 1
        self._accept = 1 << position

    def _closure(self, states: int) -> int:
        """``states`` and every position reached by letting ``*``/``**`` match nothing."""
        while True:
            reached = states | (states & self._skip) << 1
            if reached == states:
                return states
            states = reached

    def matches(self, path: str) -> bool:
        states = self._closure(1)
        for char in path:
            moved = (states & self._literal.get(char, 0)) << 1 | states & self._any
            if char != "/":
                moved |= (states & self._one) << 1 | states & self._star
            states = self._closure(moved)
            if not states:
                return False
        return bool(states & self._accept)


@functools.lru_cache(maxsize=1024)
def glob(pattern: str) -> Glob:
    """The compiled glob (a bounded cache: scenarios hold at most 1,000 scripts)."""
    return Glob(pattern)


# --- the model ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobScriptSpec:
    """A scenario's job script: which start requests it takes and how their jobs run."""

    path: str | None = None
    nth: int | None = None
    wait_ms: int = 0
    wait_polls: int = 0
    counting_ms: int | None = None
    counting_failure: str | None = None
    per_asset_ms: int | None = None
    fail_at: int | None = None
    comment: str | None = None
    faults: tuple[Fault, ...] = ()

    def matches(self, path: str, nth: int) -> bool:
        if self.nth is not None and nth != self.nth:
            return False
        return self.path is None or glob(self.path).matches(path)

    def takes_every_start_of(self, other: JobScriptSpec) -> bool:
        """True when this script matches every start request that ``other`` matches."""
        any_path = self.path is None or glob(self.path).matches("") or self.path in ("/**", other.path)
        return any_path and (self.nth is None or self.nth == other.nth)

    def lifecycle(self, default: Lifecycle) -> Lifecycle:
        return Lifecycle(
            counting_ms=default.counting_ms if self.counting_ms is None else self.counting_ms,
            per_asset_ms=self.per_asset_ms or default.per_asset_ms,
            counting_failure=self.counting_failure,
            fail_at_asset=self.fail_at,
            failure_comment=self.comment or default.failure_comment,
            wait_ms=self.wait_ms,
            wait_polls=self.wait_polls,
        )


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded, checked scenario. ``text`` is the YAML it came from."""

    name: str
    description: str
    origin: str = "<default>"
    text: str = ""
    seed: int | None = None
    settings_changes: Mapping[str, Any] = field(default_factory=dict)
    """The settings the scenario sets, its ``clock`` among them when it pins one."""
    repository_spec: Mapping[str, Any] = field(default_factory=dict)
    jobs: tuple[JobScriptSpec, ...] = ()
    faults: tuple[Fault, ...] = ()
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict, repr=False, compare=False)
    """The line of each key path in ``text``, for messages."""

    def settings(self, base: Settings | None = None) -> Settings:
        """``base`` (the defaults) with the scenario's settings applied."""
        return (base or Settings()).replace(**self.settings_changes)

    @property
    def clock(self) -> str | None:
        """The clock the scenario pins (real, manual or per-poll), if it pins one."""
        clock = self.settings_changes.get("clock")
        return str(clock) if clock is not None else None

    def new_id(self) -> Callable[[], str] | None:
        """A seeded generator of UUIDv4 ids, or None for random ones."""
        if self.seed is None:
            return None
        rng = random.Random(self.seed)
        return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def repository(self) -> Repository:
        """A fresh repository built as the scenario says."""
        spec = self.repository_spec
        repo = Repository() if spec.get("base") == "empty" else default_repository()
        for folder in spec.get("folders", ()):
            repo.add_folder(folder)
        for asset in spec.get("assets", ()):
            repo.add_asset(asset["path"], asset["type"], timestamp_ms(asset.get("created", BASE_MS)))
        for index, block in enumerate(spec.get("generate", ())):
            _generate(repo, block, random.Random((self.seed or 0) * 1000 + index))
        return repo


def _generate(repo: Repository, block: Mapping[str, Any], rng: random.Random) -> None:
    folders = block.get("folders", 1)
    start = (
        timestamp_ms(block["created_from"]) if "created_from" in block else BASE_MS + rng.randrange(YEAR_MS)
    )
    until = timestamp_ms(block["created_until"]) if "created_until" in block else start + YEAR_MS
    for n in range(1, folders + 1):
        folder = block["folder"] if folders == 1 else f"{block['folder']}/f{n}"
        for asset_type, count in block["per_folder"].items():
            step = max(0, until - start) // max(count - 1, 1)
            repo.add_generated(folder, asset_type, count, _NAMES[asset_type], start, step)


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
    lines_by_pointer = {tuple(str(p) for p in path): line for path, line in lines.items()}
    for violation in _check().violations(document):
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
        settings_changes={
            **_clock(doc.get("clock")),
            **_settings(doc.get("settings", {})),
            **_admin(doc.get("admin", {})),
        },
        repository_spec=doc.get("repository", {}),
        jobs=tuple(_job(job) for job in doc.get("jobs", ())),
        faults=tuple(_fault(fault) for fault in doc.get("faults", ())),
        lines=lines,
    )


def _clock(given: Any) -> dict[str, Any]:
    """``clock: manual`` or ``clock: {per_poll: 500ms}``: a clock the scenario pins."""
    if given is None:
        return {}
    if isinstance(given, dict):
        return {"clock": "per-poll", "poll_step_ms": duration_ms(given["per_poll"])}
    return {"clock": given}


_RENAMED = {
    "counting": "counting_ms",
    "per_asset": "per_asset_ms",
    "download": "download_mode",
    "system_job_interval": "system_job_interval_ms",
    "body_timeout": "body_timeout_ms",
    "header_timeout": "header_timeout_ms",
}


def _settings(given: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in given.items():
        if key in _RENAMED and key != "download":
            value = duration_ms(value)
        elif key == "backend":
            key, value = "is_database", value == "database"
        elif key == "status_names":
            value = {**{s: s for s in STATUSES}, **value}
        elif key in ("allowed_types", "ignored_paths"):
            value = tuple(value)
        changes[_RENAMED.get(key, key)] = value
    return changes


def _admin(given: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "enabled" in given:
        changes["admin_enabled"] = given["enabled"]
    if "token" in given:
        changes["admin_token"] = given["token"]
    return changes


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


def _fault(spec: Mapping[str, Any]) -> Fault:
    endpoint = spec.get("endpoint", "*")
    named = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    endpoints = frozenset(OPERATION_NAMES) if "*" in named else frozenset(named)
    ((kind, value),) = spec.get("when", {"always": True}).items()
    trigger = Trigger(kind)
    if kind in ("nth", "every", "from"):
        trigger = Trigger(kind, n=value)
    elif kind == "window":
        trigger = Trigger(kind, window_ms=(duration_ms(value[0]), duration_ms(value[1])))
    elif kind == "probability":
        trigger = Trigger(kind, probability=value)
    latency = spec.get("latency")
    bounds = None
    if latency is not None:
        low, high = (latency, latency) if not isinstance(latency, list) else latency
        bounds = (duration_ms(low), max(duration_ms(low), duration_ms(high)))
    return Fault(
        endpoints=endpoints,
        when=trigger,
        status=spec.get("status"),
        body=spec.get("body"),
        retry_after=spec.get("retry_after"),
        latency_ms=bounds,
        malformed=spec.get("malformed", False),
        connection=spec.get("connection"),
        description=spec.get("description", ""),
        auth=spec.get("auth"),
    )


# --- warnings ------------------------------------------------------------------------------------


def scenario_warnings(scenario: Scenario, settings: Settings, repository: Repository) -> list[str]:
    """What the scenario asks for that will never happen with ``settings`` and ``repository``:
    not errors (it loads and serves), but worth a word from ``check`` and ``serve``."""
    found: list[str] = []

    def at(*path: str | int) -> str:
        known = path
        while known and known not in scenario.lines:
            known = known[:-1]
        return f"{scenario.origin}:{scenario.lines.get(known, 1)}: warning: {field_name(path)}"

    faults: list[tuple[tuple[str | int, ...], Fault]] = []
    faults += [(("faults", i), f) for i, f in enumerate(scenario.faults)]
    for j, job in enumerate(scenario.jobs):
        faults += [(("jobs", j, "faults", i), f) for i, f in enumerate(job.faults)]
    every = frozenset(OPERATION_NAMES)
    unserved = [operation for operation in OPERATIONS if not operation.served(settings)]
    for where, fault in faults:
        for operation in unserved:
            if operation.name in fault.endpoints and fault.endpoints != every:
                found.append(f"{at(*where, 'endpoint')}: never fires on {operation.name}: {operation.name} "
                             f"is not served ({operation.how_to_serve})")  # fmt: skip
        if fault.auth == "bearer" and not settings.tokens:
            found.append(f"{at(*where, 'auth')}: never fires: no Bearer token is defined (settings.tokens)")
    for j, job in enumerate(scenario.jobs):
        earlier = next(
            (k for k, other in enumerate(scenario.jobs[:j]) if other.takes_every_start_of(job)), None
        )
        if earlier is not None:
            found.append(f"{at('jobs', j, 'match')}: never runs a job: jobs[{earlier}] takes every start "
                         "this one would (the first script that matches runs the job)")  # fmt: skip
        if job.path is not None and not re.search(r"[*?]", job.path) and not repository.exists(job.path):
            found.append(f"{at('jobs', j, 'match', 'path')}: {job.path} is not in the repository: "
                         "no start can match it")  # fmt: skip
    if settings.system_job and not repository.exists(settings.system_job_path):
        found.append(f"{at('settings', 'system_job_path')}: {settings.system_job_path} is not in the "
                     "repository: the system job never runs")  # fmt: skip
    return found


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
    from .safe_yaml import MAX_BYTES

    origin = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError([f"{origin}:1: the file is larger than {MAX_BYTES} bytes"])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError([f"{origin}:1: not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ScenarioError([f"{origin}: cannot read it: {error.strerror}"]) from None
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
