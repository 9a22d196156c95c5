"""A job's log, derived on demand.

The log is a short list of *segments*: single lines (job started, counting done, cancelled…) and
runs of per-asset lines, one run per stretch of processing. A run stores where it starts and how
many assets it has covered; its lines are formatted only when a page asks for them. A page of
``n`` lines costs O(n + log(segments)) and the memory of a 1,000,000-asset job's log stays flat.

Line format (UTC, colon before the milliseconds), as in a Guides job log::

    2026-02-26 08:59:10:755: INFO: [ASSET_PROCESSING] Bulk processing job completed [status=SUCCESS]...
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from .bounded import Meter
from .repository import Selection

__all__ = ["JobLog", "format_timestamp"]

#: What a segment (a line, or a run of asset lines) takes beyond its text, measured: about 200 bytes.
_SEGMENT_BYTES = 200


def format_timestamp(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss:SSS`` in UTC."""
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}:{ms % 1000:03d}"


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


class JobLog:
    """The lines one job has written so far."""

    __slots__ = ("_meter", "_segments", "_selection", "_starts", "_tag", "_total", "bytes")

    def __init__(
        self, selection: Selection, tag: str = "ASSET_PROCESSING", meter: Meter | None = None
    ) -> None:
        self._selection = selection
        self._tag = tag
        self._segments: list[_Line | _AssetRun] = []
        self._starts: list[int] = []  # the line number each segment starts at, for bisection
        self._total = 0
        self._meter = Meter() if meter is None else meter
        self.bytes = 0
        """About how much memory the log takes (its runs are derived, so they take little)."""

    def __len__(self) -> int:
        return self._total

    def write(self, at_ms: int, text: str, level: str | None = "INFO") -> None:
        """Append one line; its line breaks become spaces (one item per physical line). A line
        without a ``level`` is written without timestamp or level: a frame of a stack trace."""
        line = " ".join(text.splitlines())
        self._append(_Line(at_ms, line, level), _SEGMENT_BYTES + len(line))
        self._total += 1

    def open_run(self, start_ms: int, first: int, pace_ms: int) -> None:
        """Start a run of per-asset lines from selection index ``first``."""
        self._append(_AssetRun(start_ms, first, pace_ms), _SEGMENT_BYTES)

    def _append(self, segment: _Line | _AssetRun, size: int) -> None:
        self._starts.append(self._total)
        self._segments.append(segment)
        self.bytes += size
        self._meter.bytes += size

    def grow_run(self, count: int) -> None:
        """Set how many assets the last run has covered (it only grows)."""
        run = self._segments[-1]
        assert isinstance(run, _AssetRun), "grow_run() without open_run()"
        if count > run.count:
            self._total += count - run.count
            run.count = count

    def page(self, offset: int, limit: int) -> list[str]:
        """Lines ``offset`` .. ``offset + limit - 1`` (fewer at the end)."""
        return list(self.lines(offset, offset + limit))

    def __iter__(self) -> Iterator[str]:
        return self.lines(0, self._total)

    def lines(self, start: int, stop: int) -> Iterator[str]:
        """Lines ``start`` .. ``stop - 1``, formatted as they are taken; lines written after
        the call are not included, so a stream stays consistent while the log grows."""
        stop = min(stop, self._total)
        if start >= stop:
            return
        # The segment holding line `start`, found by bisection: a page costs O(page + log segments),
        # however many cancel/resume cycles wrote segments before it.
        first = max(0, bisect.bisect_right(self._starts, start) - 1)
        for index in range(first, len(self._segments)):
            position, segment = self._starts[index], self._segments[index]
            if position >= stop:
                return
            size = len(segment)
            if position + size > start:
                lo = max(0, start - position)
                hi = min(size, stop - position)
                if isinstance(segment, _Line):
                    yield self._format(segment.at_ms, segment.level, segment.text)
                else:
                    yield from self._asset_lines(segment, lo, hi)

    def _asset_lines(self, run: _AssetRun, lo: int, hi: int) -> Iterator[str]:
        """Lines ``lo .. hi - 1`` of a run; the assets are walked in order, not looked up one by one."""
        total = len(self._selection)
        prefix_second: int | None = None  # the second the prefix is of, if one was made
        prefix = ""
        assets = self._selection.walk(run.first + lo, run.first + hi)
        for i, asset in zip(range(lo, hi), assets, strict=True):
            at_ms = run.start_ms + (i + 1) * run.pace_ms
            if at_ms // 1000 != prefix_second:  # one datetime per second of log, not per line
                prefix_second = at_ms // 1000
                prefix = format_timestamp(prefix_second * 1000)[:-3]
            text = f"Processing asset [{run.first + i + 1}/{total}] {asset.path} [type={asset.type}]"
            yield f"{prefix}{at_ms % 1000:03d}: INFO: [{self._tag}] {text}"

    def _format(self, at_ms: int, level: str | None, text: str) -> str:
        if level is None:
            return text
        return f"{format_timestamp(at_ms)}: {level}: [{self._tag}] {text}"
