"""The job log's line format, in one place: how a line is written, how one is read back, and the pace
(time per asset, time counting) a log's timestamps show.

The mock writes (:func:`write`, :func:`write_run` for a run of asset lines), ``verify`` and
``scenario-from`` read what a real author wrote (:func:`parse`, :func:`read_log`) and estimate its
pace (:func:`estimate_pace`). A line, as in a Guides job log (UTC, colon before the milliseconds)::

    2026-02-26 08:59:10:755: INFO: [ASSET_PROCESSING] Bulk processing job completed [status=SUCCESS]...

Reading is tolerant of what an author writes: a dot or a comma before the milliseconds, a level of
any case, no level or tag at all (the text is then all that follows the timestamp), a line's words
found wherever they are in its text, an asset line without its path or type. A line it cannot read
(a frame of a stack trace, a date such as 2026-13-45) is counted in :attr:`LogFacts.unread`, never
raised.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .repository import Asset

__all__ = [
    "Entry",
    "LogFacts",
    "Pace",
    "asset_text",
    "counted_text",
    "estimate_pace",
    "failed_text",
    "format_timestamp",
    "java_list",
    "one_line",
    "parse",
    "read_log",
    "write",
    "write_run",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The timestamp, then the canonical ": LEVEL: [TAG] text", else whatever follows it (the text).
_LINE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})[:.,]([0-9]{3})"
    r"(?::? +(\w+):? +\[([^\]]*)\] (.*)|:? *(.*))"
)
# Counts of 19 digits or more are no counts a job makes (and int() refuses 4,300 digits): other shapes
_ASSET = re.compile(r"Processing asset \[([0-9]{1,18})/([0-9]{1,18})\](?: (.+?))?(?: \[type=([^\]]+)\])?$")
_TOTAL = re.compile(r"\[totalFiles=([0-9]{1,18})\]")
_STARTED = "job started"
_COUNTED = "Counting completed"
_FAILED = "Bulk processing job failed: "


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a job log: when, at what level, under what tag, saying what (one line of text)."""

    at_ms: int
    level: str = "INFO"
    tag: str = "ASSET_PROCESSING"
    text: str = ""


def format_timestamp(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss:SSS`` in UTC."""
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}:{ms % 1000:03d}"


def java_list(items: Iterable[str]) -> str:
    """``items`` as the Java author's log prints a list (``List.toString``): ``[/a, b]``, not
    Python's ``['/a', 'b']`` (§3.37)."""
    return "[" + ", ".join(items) + "]"


def one_line(text: str) -> str:
    """``text`` with its line breaks as spaces: one item per physical line."""
    return " ".join(text.splitlines())


def write(entry: Entry) -> str:
    """The line ``entry`` is (its text's line breaks become spaces)."""
    return f"{format_timestamp(entry.at_ms)}: {entry.level}: [{entry.tag}] {one_line(entry.text)}"


def asset_text(number: int, total: int, path: str, kind: str) -> str:
    """The text of the line of asset ``number`` (1-based) of ``total``."""
    return f"Processing asset [{number}/{total}] {path} [type={kind}]"


def counted_text(total: int) -> str:
    """The text of the line that ends counting."""
    return f"Counting completed [totalFiles={total}]"


def failed_text(comment: str) -> str:
    """The text of the line of a failure."""
    return f"{_FAILED}{comment}"


def write_run(
    start_ms: int, pace_ms: int, first: int, total: int, assets: Iterable[Asset], tag: str, lo: int = 0
) -> Iterator[str]:
    """The lines of a run of ``assets``, the i-th (counted from ``lo``) done at ``start_ms + (i + 1) *
    pace_ms`` and numbered ``first + i + 1`` of ``total``: what :func:`write` makes of each, one
    datetime made per second of log, not per line."""
    prefix_second: int | None = None  # the second the prefix is of, if one was made
    prefix = ""
    for i, asset in enumerate(assets, lo):
        path, kind = asset.path, asset.type
        at_ms = start_ms + (i + 1) * pace_ms
        if at_ms // 1000 != prefix_second:
            prefix_second = at_ms // 1000
            prefix = format_timestamp(prefix_second * 1000)[:-3]
        yield f"{prefix}{at_ms % 1000:03d}: INFO: [{tag}] {asset_text(first + i + 1, total, path, kind)}"


def parse(line: str) -> Entry | None:
    """The entry ``line`` is; None for a line of no readable timestamp (a frame of a stack trace, a
    date that is none). A line of another shape after its timestamp is an entry of no level or tag."""
    m = _LINE.fullmatch(line)
    if m is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(f"{m[1]} {m[2]}:{m[3]}:{m[4]}").replace(tzinfo=dt.UTC)
    except ValueError:  # 2026-13-45: no moment
        return None
    at_ms = (moment - _EPOCH) // dt.timedelta(milliseconds=1) + int(m[5])
    if m[8] is not None:
        return Entry(at_ms, m[6], m[7], m[8])
    return Entry(at_ms, "", "", m[9])


@dataclass
class LogFacts:
    """What one job's log says: when it started and was counted, its assets, its failure, the time
    from each asset's line back to the line before (when that line was the count or the asset before),
    and how many lines could not be read."""

    started: int | None = None
    counted: int | None = None
    total: int = 0
    assets: dict[int, tuple[str, str]] = field(default_factory=dict)  # by 1-based number: path, type
    gaps: list[int] = field(default_factory=list)
    failure: tuple[int, str] | None = None  # assets done before it, its text
    numbers: list[int] = field(default_factory=list)  # the asset numbers, in the order of the lines
    unread: int = 0  # lines of no readable timestamp: frames of a stack trace, or another format


def read_log(lines: Iterable[str]) -> LogFacts:
    """What ``lines`` (one job's log, in order) say."""
    log = LogFacts()
    before: tuple[int, str, int | None] | None = None  # the last entry read: when, kind, asset number
    for line in lines:
        entry = parse(line)
        if entry is None:
            log.unread += 1
            continue
        at, text, kind, number = entry.at_ms, entry.text, "", None
        if _STARTED in text and not text.startswith(_FAILED):
            kind = "started"
            log.started = at if log.started is None else log.started
        elif _COUNTED in text and not text.startswith(_FAILED):
            kind = "counted"
            if log.counted is None:
                total = _TOTAL.search(text)
                log.counted, log.total = at, max(log.total, int(total[1]) if total else 0)
        elif text.startswith(_FAILED):
            if log.failure is None:
                log.failure = (max(log.assets, default=0), text.removeprefix(_FAILED))
        elif asset := _ASSET.search(text):
            number = int(asset[1])
            log.total = max(log.total, int(asset[2]))
            log.numbers.append(number)
            if asset[3] and (asset[4] or asset[3].startswith("/")):  # a path, not a word after the count
                log.assets[number] = (asset[3], asset[4] or "")
            if before is not None and (before[1] == "counted" or before[2] == number - 1):
                log.gaps.append(at - before[0])
        before = (at, kind, number)
    return log


@dataclass(frozen=True, slots=True)
class Pace:
    """Time per asset and time counting (ms), None where no log showed it."""

    per_asset_ms: int | None = None
    counting_ms: int | None = None


def _median(values: Iterable[int]) -> int | None:
    listed = list(values)
    return round(statistics.median(listed)) if listed else None


def estimate_pace(logs: Iterable[LogFacts]) -> Pace:
    """The pace ``logs`` show: the median of their asset gaps (1 ms at least) and of their times from
    the job's start to its count. A gap spans a line to the next only (a cancel's pause is no gap)."""
    facts = list(logs)
    per_asset = _median(gap for log in facts for gap in log.gaps)
    counting = _median(
        log.counted - log.started for log in facts if log.counted is not None and log.started is not None
    )
    return Pace(
        None if per_asset is None else max(1, per_asset), None if counting is None else max(0, counting)
    )
