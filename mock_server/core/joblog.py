"""A job's log, derived on demand, in bounded memory.

The log is a short list of *segments*: single lines (job started, counting done, cancelled…) and
runs of per-asset lines, one run per stretch of processing. A run stores where it starts and how
many assets it has covered; its lines are formatted only when a page asks for them. A page of
``n`` lines costs O(n + log(segments)) and the memory of a 1,000,000-asset job's log stays flat.

Every cancel and resume adds segments (three lines and a run). So that a job cancelled and
resumed a million times keeps a log of bounded size, the log keeps its first :data:`KEEP_FIRST`
segments (the job's start, its count, its first stretches) and its last :data:`KEEP_LAST` whole;
the segments between are *folded* into one, which remembers how many lines they held and when
they were written, and answers each of those lines as a placeholder that says so. Line numbers
never move: a client paging the log (``offset``) finds every line where it was, its length only
grows, and the lines of the first and last segments are as written. A realistic job (dozens of
cancels) never folds.

Its lines are written as :mod:`.logformat` says (a Guides job log's format).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .bounded import Meter
from .logformat import Entry, format_timestamp, one_line, write, write_run
from .repository import Selection

__all__ = ["KEEP_FIRST", "KEEP_LAST", "JobLog"]

#: What a segment (a line, or a run of asset lines) takes beyond its text, measured: about 200 bytes.
_SEGMENT_BYTES = 200
#: The segments a log keeps whole at its start and at its end; those between are folded into one.
KEEP_FIRST = 64
KEEP_LAST = 1024
#: Versions of logs: every change of every log takes the next, so that a version names one state of
#: one log (a key for what is derived from all its lines, such as a ZIP's sizes).
_VERSIONS = itertools.count(1)
#: Folding moves the kept segments down the list: it is done once this many more have been
#: written, so that a segment costs O(1) however many came before it.
_FOLD_EVERY = 256


@dataclass(slots=True)
class _Line:
    at_ms: int
    text: str
    level: str | None = "INFO"  # None: a line of a stack trace, written as it is

    def __len__(self) -> int:
        return 1


@dataclass(slots=True)
class _AssetRun:
    """Assets ``first .. first+count-1`` of the selection, asset i done at start + (i+1)·pace."""

    start_ms: int
    first: int
    pace_ms: int
    count: int = 0

    def __len__(self) -> int:
        return self.count


@dataclass(slots=True)
class _Folded:
    """``count`` lines that are no longer kept, written from ``first_ms`` to ``last_ms``."""

    first_ms: int
    last_ms: int
    count: int

    def __len__(self) -> int:
        return self.count


_Segment = _Line | _AssetRun | _Folded


def _first_ms(segment: _Segment) -> int:
    if isinstance(segment, _Line):
        return segment.at_ms
    return segment.start_ms if isinstance(segment, _AssetRun) else segment.first_ms


def _last_ms(segment: _Segment) -> int:
    if isinstance(segment, _Line):
        return segment.at_ms
    if isinstance(segment, _AssetRun):
        return segment.start_ms + segment.count * segment.pace_ms
    return segment.last_ms


def _size(segment: _Segment) -> int:
    """About how many bytes ``segment`` takes."""
    return _SEGMENT_BYTES + (len(segment.text) if isinstance(segment, _Line) else 0)


def _saved(segment: _Segment) -> list[Any]:
    if isinstance(segment, _Line):
        return ["line", segment.at_ms, segment.text, segment.level]
    if isinstance(segment, _AssetRun):
        return ["run", segment.start_ms, segment.first, segment.pace_ms, segment.count]
    return ["folded", segment.first_ms, segment.last_ms, segment.count]


def _segment(item: list[Any]) -> _Segment:
    kind, *fields = item
    if kind == "line":
        return _Line(*fields)
    return _AssetRun(*fields) if kind == "run" else _Folded(*fields)


class JobLog:
    """The lines one job has written so far."""

    __slots__ = (
        "_meter", "_packed", "_segments", "_selection", "_starts", "_tag", "_total", "_version", "bytes",
    )  # fmt: skip

    def __init__(
        self, selection: Selection, tag: str = "ASSET_PROCESSING", meter: Meter | None = None
    ) -> None:
        self._selection = selection
        self._tag = tag
        self._segments: list[_Segment] = []
        self._starts: list[int] = []  # the line number each segment starts at, for bisection
        self._packed: list[list[Any]] | None = None  # restored, not yet read: the segments as saved
        self._total = 0
        self._meter = Meter() if meter is None else meter
        self._version = next(_VERSIONS)
        self.bytes = 0
        """About how much memory the log takes (its runs are derived, so they take little)."""

    def __len__(self) -> int:
        return self._total

    @property
    def version(self) -> int:
        """This state of this log: a number no other log, and no other state of it, ever had."""
        return self._version

    def snapshot(self) -> JobLog:
        """The log as it is now, to be read more than once (a ZIP measured, then streamed): what
        is written or folded later changes none of its lines. It copies the list of segments only
        (bounded), and counts nothing against the server's memory meter."""
        self._unpack()
        copy = JobLog(self._selection, self._tag)
        copy._segments, copy._starts = [*self._segments], [*self._starts]
        copy._total, copy._version, copy.bytes = self._total, self._version, self.bytes
        return copy

    @property
    def segments(self) -> int:
        """How many segments the log keeps: at most ``KEEP_FIRST + 1 + KEEP_LAST`` and a few more."""
        self._unpack()
        return len(self._segments)

    def write(self, at_ms: int, text: str, level: str | None = "INFO") -> None:
        """Append one line; its line breaks become spaces (one item per physical line). A line
        without a ``level`` is written without timestamp or level: a frame of a stack trace."""
        self._append(_Line(at_ms, one_line(text), level))
        self._total += 1

    def open_run(self, start_ms: int, first: int, pace_ms: int) -> None:
        """Start a run of per-asset lines from selection index ``first``."""
        self._append(_AssetRun(start_ms, first, pace_ms))

    def _append(self, segment: _Line | _AssetRun) -> None:
        self._unpack()
        self._version = next(_VERSIONS)
        self._starts.append(self._total)
        self._segments.append(segment)
        size = _size(segment)
        self.bytes += size
        self._meter.bytes += size
        if len(self._segments) > KEEP_FIRST + 1 + KEEP_LAST + _FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        """Fold the segments between the first and the last kept ones (and the fold before) into one."""
        begin, end = KEEP_FIRST, len(self._segments) - KEEP_LAST
        taken = self._segments[begin:end]
        count = sum(len(segment) for segment in taken)
        folded = _Folded(_first_ms(taken[0]), _last_ms(taken[-1]), count)
        freed = sum(_size(segment) for segment in taken) - _size(folded)
        self._segments[begin:end] = [folded]
        self._starts[begin:end] = [self._starts[begin]]
        self.bytes -= freed
        self._meter.bytes -= freed

    def saved(self) -> dict[str, Any]:
        """The log as JSON (``--state``), as :meth:`restored` takes it back: its segments, not its
        lines, and how many lines and bytes they make (so that a restore need not count them)."""
        packed = self._packed
        segments = [_saved(segment) for segment in self._segments] if packed is None else packed
        return {"tag": self._tag, "segments": segments, "lines": self._total, "bytes": self.bytes}

    @classmethod
    def restored(cls, selection: Selection, saved: dict[str, Any], meter: Meter) -> JobLog:
        """The log :meth:`saved` gave, over ``selection``, its bytes counted on ``meter``. Its
        segments are made when it is first read or written (:meth:`_unpack`): a restart with
        thousands of finished jobs makes none of the logs nobody reads."""
        log = cls(selection, saved["tag"], meter)
        items: list[list[Any]] = saved["segments"]
        total, size = saved.get("lines"), saved.get("bytes")
        if total is None or size is None:  # a record of a file written before they were kept
            segments = [_segment(item) for item in items]
            total, size = sum(map(len, segments)), sum(map(_size, segments))
        log._packed, log._total, log.bytes = items, total, size
        meter.bytes += size
        return log

    def _unpack(self) -> None:
        """Make the segments of a restored log (once, before any is read or written)."""
        items = self._packed
        if items is None:
            return
        self._packed = None
        begins = 0
        for item in items:
            segment = _segment(item)
            self._starts.append(begins)
            self._segments.append(segment)
            begins += len(segment)

    def grow_run(self, count: int) -> None:
        """Set how many assets the last run has covered (it only grows)."""
        self._unpack()
        run = self._segments[-1]
        assert isinstance(run, _AssetRun), "grow_run() without open_run()"
        if count > run.count:
            self._version = next(_VERSIONS)
            self._total += count - run.count
            run.count = count

    def page(self, offset: int, limit: int) -> list[str]:
        """Lines ``offset`` .. ``offset + limit - 1`` (fewer at the end)."""
        return list(self.lines(offset, offset + limit))

    def __iter__(self) -> Iterator[str]:
        return self.lines(0, self._total)

    def lines(self, start: int, stop: int) -> Iterator[str]:
        """Lines ``start`` .. ``stop - 1``, formatted as they are taken; lines written after
        the call are not included, so a stream stays consistent while the log grows (or folds)."""
        self._unpack()
        stop = min(stop, self._total)
        position = start
        while position < stop:
            # The segment holding line `position`, found by bisection each time: a page costs
            # O(page + log segments), and a fold made while the stream waited moves no line.
            index = max(0, bisect.bisect_right(self._starts, position) - 1)
            begins, segment = self._starts[index], self._segments[index]
            lo, hi = position - begins, min(len(segment), stop - begins)
            if hi <= lo:  # cannot happen (an empty segment is never the last one before a line)
                return
            if isinstance(segment, _Line):
                yield self._format(segment.at_ms, segment.level, segment.text)
            elif isinstance(segment, _AssetRun):
                yield from self._asset_lines(segment, lo, hi)
            else:
                yield from self._folded_lines(segment, lo, hi)
            position = begins + hi

    def _folded_lines(self, folded: _Folded, lo: int, hi: int) -> Iterator[str]:
        span = f"from={format_timestamp(folded.first_ms)}, to={format_timestamp(folded.last_ms)}"
        for i in range(lo, hi):
            yield self._format(
                folded.first_ms, "INFO", f"Log line folded to bound memory [line={i + 1}/{folded.count}, "
                f"{span}, kept whole: the first {KEEP_FIRST} and last {KEEP_LAST} entries]"
            )  # fmt: skip

    def _asset_lines(self, run: _AssetRun, lo: int, hi: int) -> Iterator[str]:
        """Lines ``lo .. hi - 1`` of a run; the assets are walked in order, not looked up one by one."""
        assets, total = self._selection.walk(run.first + lo, run.first + hi), len(self._selection)
        yield from write_run(run.start_ms, run.pace_ms, run.first, total, assets, self._tag, lo)

    def _format(self, at_ms: int, level: str | None, text: str) -> str:
        if level is None:
            return text
        return write(Entry(at_ms, level, self._tag, text))
