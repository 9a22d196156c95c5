"""The simulated DAM: folders and assets, and which assets a job would process.

Assets are stored as *blocks*: one explicit asset is a block of one; a generated run of assets
(``topic-{n}.dita``, n = 1..count, created ``step_ms`` apart) is one block however long it is. A job
never holds a list of its assets: it holds a :class:`Selection`, a few block slices, and derives
asset *k* on demand. A 1,000,000-asset job therefore costs a few kilobytes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "ASSET_TYPES",
    "CONTENT_FRAGMENT",
    "Asset",
    "AssetBlock",
    "AssetFilter",
    "Repository",
    "Selection",
    "normalize_path",
]

#: The file types a filter may name, as the contract spells them.
ASSET_TYPES = ("DITATOPIC", "DITAMAP", "MARKDOWN", "HTML/CSS", "DITAVAL", "OTHERS")
#: Content Fragments live in the DAM but are never processed.
CONTENT_FRAGMENT = "CONTENT_FRAGMENT"
ALL_TYPES = (*ASSET_TYPES, CONTENT_FRAGMENT)


class Asset(NamedTuple):
    path: str
    type: str
    created_ms: int


def normalize_path(path: str) -> str:
    """One spelling per path (§3.6, §3.12): a missing leading ``/`` added, doubled and trailing
    slashes dropped, ``.`` segments removed and ``..`` resolved; ValueError for a ``..`` above
    the root."""
    segments: list[str] = []
    for segment in path.strip().split("/"):
        if segment == "..":
            if not segments:
                raise ValueError("'..' leads above the root; give an absolute path without it")
            segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    return "/" + "/".join(segments)


def _normalized_or_none(path: str) -> str | None:
    try:
        return normalize_path(path)
    except ValueError:  # an excluded path above the root excludes nothing
        return None


def is_within(path: str, ancestor: str) -> bool:
    """True when ``path`` is ``ancestor`` or below it, comparing whole segments."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


@dataclass(frozen=True, slots=True)
class AssetBlock:
    """``count`` assets of one type in one folder; ``name`` holds ``{n}`` when count > 1."""

    folder: str
    type: str
    name: str
    count: int = 1
    created_ms: int = 0
    step_ms: int = 0

    def name_of(self, i: int) -> str:
        return self.name.format(n=i + 1) if "{n}" in self.name else self.name

    def asset(self, i: int) -> Asset:
        return Asset(f"{self.folder}/{self.name_of(i)}", self.type, self.created_ms + i * self.step_ms)

    def index_of(self, name: str) -> int | None:
        """The index of the asset called ``name`` in this block, if there is one."""
        if "{n}" not in self.name:
            return 0 if name == self.name else None
        prefix, _, suffix = self.name.partition("{n}")
        middle = name[len(prefix) : len(name) - len(suffix)] if suffix else name[len(prefix) :]
        if not (name.startswith(prefix) and name.endswith(suffix) and middle.isdigit()):
            return None
        n = int(middle)
        return n - 1 if 1 <= n <= self.count and str(n) == middle else None

    def index_range(self, start_ms: int | None, end_ms: int | None) -> tuple[int, int]:
        """The half-open index range of assets created within [start_ms, end_ms]."""
        lo, hi = 0, self.count
        if self.step_ms == 0:
            inside = (start_ms is None or self.created_ms >= start_ms) and (
                end_ms is None or self.created_ms <= end_ms
            )
            return (lo, hi) if inside else (0, 0)
        if start_ms is not None:
            lo = max(lo, -((self.created_ms - start_ms) // self.step_ms))  # ceil division
        if end_ms is not None:
            hi = min(hi, (end_ms - self.created_ms) // self.step_ms + 1)
        return (lo, max(lo, hi))


@dataclass(slots=True)
class Folder:
    path: str
    children: dict[str, Folder] = field(default_factory=dict)
    blocks: list[AssetBlock] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AssetFilter:
    """Which assets a job takes (§3.7, §3.8); an empty ``file_types`` means every type."""

    file_types: frozenset[str] = frozenset()
    start_ms: int | None = None
    end_ms: int | None = None

    def takes_type(self, asset_type: str) -> bool:
        if asset_type == CONTENT_FRAGMENT:
            return False
        return not self.file_types or asset_type in self.file_types


class Selection:
    """The assets one job processes, in processing order, derived on demand."""

    __slots__ = ("_offsets", "_slices")

    def __init__(self, slices: Iterable[tuple[AssetBlock, int, int]]) -> None:
        self._slices = [s for s in slices if s[2] > s[1]]
        self._offsets = [0, *itertools.accumulate(hi - lo for _, lo, hi in self._slices)]

    def __len__(self) -> int:
        return self._offsets[-1]

    def __getitem__(self, k: int) -> Asset:
        if not 0 <= k < len(self):
            raise IndexError(k)
        s = bisect.bisect_right(self._offsets, k) - 1
        block, lo, _ = self._slices[s]
        return block.asset(lo + k - self._offsets[s])

    def __iter__(self) -> Iterator[Asset]:
        return self.walk(0, len(self))

    def parts(self) -> Iterator[tuple[AssetBlock, int, int, int]]:
        """Its slices ``(block, lo, hi, first)``: block assets ``lo .. hi - 1`` are this selection's
        assets ``first ..`` on."""
        for (block, lo, hi), first in zip(self._slices, self._offsets, strict=False):
            yield block, lo, hi, first

    def walk(self, start: int, stop: int) -> Iterator[Asset]:
        """Assets ``start .. stop - 1`` in order, without a lookup per asset."""
        stop = min(stop, len(self))
        if start >= stop:
            return
        s = bisect.bisect_right(self._offsets, start) - 1
        k = start
        while k < stop:
            block, lo, hi = self._slices[s]
            first = lo + k - self._offsets[s]
            last = min(hi, first + stop - k)
            for i in range(first, last):
                yield block.asset(i)
            k += last - first
            s += 1


class Repository:
    """Folders and assets under ``/content/dam`` (or wherever they are added)."""

    def __init__(self) -> None:
        self._root = Folder("/")

    # --- building
    def add_folder(self, path: str) -> Folder:
        """The folder at ``path``, made with its parents when missing."""
        folder = self._root
        for segment in normalize_path(path).strip("/").split("/"):
            if not segment:
                continue
            child = folder.children.get(segment)
            if child is None:
                child = Folder(f"{folder.path.rstrip('/')}/{segment}")
                folder.children[segment] = child
            folder = child
        return folder

    def add_asset(self, path: str, asset_type: str, created_ms: int) -> None:
        parent, _, name = normalize_path(path).rpartition("/")
        self._add_block(AssetBlock(parent or "/", asset_type, name, 1, created_ms))

    def add_generated(
        self, folder: str, asset_type: str, count: int, name: str, created_ms: int, step_ms: int
    ) -> None:
        """``count`` assets named after ``name`` (which holds ``{n}``), created ``step_ms`` apart."""
        if "{n}" not in name:
            raise ValueError(f"a generated asset name needs '{{n}}', got {name!r}")
        self._add_block(AssetBlock(normalize_path(folder), asset_type, name, count, created_ms, step_ms))

    def _add_block(self, block: AssetBlock) -> None:
        if block.type not in ALL_TYPES:
            raise ValueError(f"unknown asset type {block.type!r}; expected one of {ALL_TYPES}")
        if block.count < 1:
            raise ValueError(f"a block needs at least one asset, got {block.count}")
        self.add_folder(block.folder).blocks.append(block)

    # --- reading
    def _folder(self, path: str) -> Folder | None:
        folder: Folder | None = self._root
        for segment in path.strip("/").split("/"):
            if segment and folder is not None:
                folder = folder.children.get(segment)
        return folder

    def _asset_block(self, path: str) -> tuple[AssetBlock, int] | None:
        parent, _, name = path.rpartition("/")
        folder = self._folder(parent or "/")
        for block in folder.blocks if folder else ():
            index = block.index_of(name)
            if index is not None:
                return block, index
        return None

    def exists(self, path: str) -> bool:
        """True when ``path`` names a folder or an asset."""
        try:
            path = normalize_path(path)
        except ValueError:  # above the root: nothing is there
            return False
        return self._folder(path) is not None or self._asset_block(path) is not None

    def folders(self) -> Iterator[str]:
        stack = [self._root]
        while stack:
            folder = stack.pop()
            yield folder.path
            stack.extend(reversed(folder.children.values()))

    def count(self, path: str = "/") -> int:
        """How many assets (of every type) lie at or under ``path``."""
        return len(self.select(path, (), AssetFilter(frozenset(ALL_TYPES)), (), keep_fragments=True))

    def select(
        self,
        path: str,
        excluded: Sequence[str],
        asset_filter: AssetFilter,
        ignored: Sequence[str],
        *,
        keep_fragments: bool = False,
    ) -> Selection:
        """The assets a job for ``path`` would process, in order: a folder's own assets first,
        then its subfolders by name. ``excluded`` and ``ignored`` match whole segments."""
        path = normalize_path(path)
        skip = {p for p in map(_normalized_or_none, (*excluded, *ignored)) if p is not None}
        # Excluded single assets, by folder: a block looks up its own folder's, not every path.
        names_in: dict[str, list[str]] = {}
        for excluded_path in skip:
            parent, _, name = excluded_path.rpartition("/")
            names_in.setdefault(parent or "/", []).append(name)

        def takes(block: AssetBlock) -> bool:
            if keep_fragments and block.type == CONTENT_FRAGMENT:
                return True
            return asset_filter.takes_type(block.type)

        def slices_of(block: AssetBlock, lo: int, hi: int) -> Iterator[tuple[AssetBlock, int, int]]:
            a, b = block.index_range(asset_filter.start_ms, asset_filter.end_ms)
            lo, hi = max(lo, a), min(hi, b)
            indexes = (block.index_of(name) for name in names_in.get(block.folder, ()))
            for cut in sorted(i for i in indexes if i is not None and lo <= i < hi):
                yield block, lo, cut
                lo = cut + 1
            yield block, lo, hi

        if any(is_within(path, p) for p in skip):  # the path itself, or a folder above it
            return Selection(())
        found = self._asset_block(path)
        if found is not None and self._folder(path) is None:
            block, index = found
            return Selection(slices_of(block, index, index + 1) if takes(block) else ())

        def walk(root: Folder) -> Iterator[tuple[AssetBlock, int, int]]:
            """Depth first, a folder's own assets before its subfolders by name; a stack, not
            recursion, so that a folder 2,000 levels deep is walked like any other."""
            stack = [root]
            while stack:
                folder = stack.pop()
                if folder.path in skip:
                    continue
                for block in folder.blocks:
                    if takes(block):
                        yield from slices_of(block, 0, block.count)
                stack.extend(folder.children[name] for name in sorted(folder.children, reverse=True))

        root = self._folder(path)
        return Selection(walk(root) if root is not None else ())
