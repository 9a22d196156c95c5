"""A scenario: what a YAML file scripts (settings, the repository, job lifecycles and faults).

:mod:`.reading` reads one from a file or a text; :mod:`.warnings` says what in it will never happen.
"""

from __future__ import annotations

import functools
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract.formats import timestamp_ms
from ..core.default_dam import BASE_MS, default_repository
from ..core.faults import Fault
from ..core.jobs import Lifecycle
from ..core.repository import Repository
from ..core.settings import Settings

__all__ = ["MAX_BYTES", "MAX_FOLDERS", "Glob", "JobScriptSpec", "Scenario", "glob"]

#: The most bytes a scenario document may hold (a file, or a text posted to the admin API).
MAX_BYTES = 1024 * 1024
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
    """The line of each key path in ``text`` that a message about the loaded scenario may name
    (see :data:`~.warnings.LINE_KEYS`)."""

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
