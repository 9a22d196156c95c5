"""The audit: every secret a recorder saw, looked for in every byte it wrote, as it writes it.

An :class:`Auditor` looks through each line of the tape and each side file as the recorder writes
them (in the proxy's worker thread), against the needles (:mod:`.needles`) known then, all at once
with Aho-Corasick automata (``ahocorasick-rs``, which lets go of the GIL while it searches). A needle
that arrives later (a CSRF token handed out after some exchanges were written) must still be looked
for in what came before it: the auditor owes that, and pays it back in bounded steps as recording
goes on (:meth:`Auditor.catch_up`, a few MiB an exchange), in passes over the tape and side files
written so far: one pass under way, and one waiting that gathers the needles arriving meanwhile. At
the end (:meth:`Auditor.finish`) only what is still owed is read, within a deadline: past it the
audit fails closed.

A compressed file hides its bytes from a plain read, so the members of a ZIP (through the one ZIP
gate, :mod:`.limits`) and gzip data (through the one inflater, :mod:`..core.compression`), gzip
members of a ZIP included, are inflated and read too, within limits (:data:`MAX_MEMBERS` members and
:data:`MAX_INFLATED` bytes in all, :data:`MAX_RATIO` times a member's compressed size past its first
MiB). What cannot be looked through whole within them (a bomb, a ZIP that lies about its sizes, an
encrypted member, a format no one here reads: :func:`.formats.opaque`) is a finding like a leak: the
audit fails closed. The recorder keeps no such file (:mod:`.side_files`), so an honest tape never
comes this far. :func:`leaks` audits a whole directory at once. No aiohttp.
"""

from __future__ import annotations

import itertools
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ahocorasick_rs

from ..core.compression import NotInflatable, inflate_chunks
from .formats import is_gzip, opaque
from .limits import LimitError, ZipCaps, check_members, member_chunks, open_zip, unreadable

__all__ = ["MAX_INFLATED", "MAX_MEMBERS", "MAX_RATIO", "RATIO_FREE", "SIDE_ZIP", "Allowance", "Auditor"]
__all__ += ["Findings", "gunzip", "leaks"]

#: A chunk read at once: the matches of one chunk are listed (a few MiB at worst), then dropped.
_CHUNK = 1024 * 1024
#: The most members of all ZIPs of a tape looked through.
MAX_MEMBERS = 10_000
#: The most bytes inflated from all compressed files of a tape (the audit's time is in its reads).
MAX_INFLATED = 128 * 1024 * 1024
#: The most a member may inflate to, per byte compressed, past its first MiB (a log: 5 to 50).
MAX_RATIO = 200
RATIO_FREE = 1024 * 1024
#: What one ZIP a recorder keeps may hold: the audit reads it through this gate again.
SIDE_ZIP = ZipCaps(max_members=256, max_ratio=MAX_RATIO, max_inflated=16 * 1024 * 1024, ratio_free=RATIO_FREE)
#: Needles this few are looked for with a SIMD prefilter: 256 MiB in some 30 ms. More are added to
#: the automaton of all the others, rebuilt then (20 to 40 ms for 2,048 needles, holding the GIL).
_FEW = 64
#: What reading a ZIP or gzip file that lies about itself raises.
_UNREADABLE = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError,
               zlib.error, struct.error)  # fmt: skip


class _Unaudited(Exception):
    """A file that cannot be looked through whole within the limits; the message says why."""


class _Matcher:
    """Needles in two automata: one of the few that came last (nearly free to search with), one of
    all the others (rebuilt only when the few grow past :data:`_FEW`)."""

    def __init__(self, needles: Mapping[bytes, str] | None = None) -> None:
        self._all: list[tuple[bytes, str]] = []
        self._base: ahocorasick_rs.BytesAhoCorasick | None = None
        self._based = 0  # needles in the base automaton: _all[:_based]
        self._recent: ahocorasick_rs.BytesAhoCorasick | None = None
        self.overlap = 0
        """The longest needle less one byte: how much of one chunk the next must hold again."""
        if needles:
            self.add(needles)

    def __len__(self) -> int:
        return len(self._all)

    def add(self, needles: Mapping[bytes, str]) -> None:
        self._all += needles.items()
        self.overlap = max(self.overlap, *(len(needle) - 1 for needle in needles))
        if len(self._all) - self._based > _FEW:
            self._base, self._based = _automaton(self._all), len(self._all)
        self._recent = _automaton(self._all[self._based :]) if len(self._all) > self._based else None

    def find(self, window: bytes) -> list[str]:
        """The kinds of the needles in ``window`` (at least one of them when any is in it)."""
        found: list[str] = []
        for automaton, offset in ((self._base, 0), (self._recent, self._based)):
            if automaton is not None:
                found += (
                    self._all[offset + index][1] for index, _, _ in automaton.find_matches_as_indexes(window)
                )
        return list(dict.fromkeys(found))

    def scan(self, chunks: Iterable[bytes]) -> list[str]:
        """The kinds found in the first chunk (with the end of the one before) that holds any: the
        file has leaked, and reading on would only list more of the same."""
        tail = b""
        for chunk in chunks:
            window = tail + chunk if tail else chunk
            if found := self.find(window):
                return found
            tail = window[len(window) - self.overlap :] if self.overlap else b""
        return []


def _automaton(needles: list[tuple[bytes, str]]) -> ahocorasick_rs.BytesAhoCorasick:
    # Leftmost-first: any needle that occurs still gives a match, and a few needles get a prefilter.
    return ahocorasick_rs.BytesAhoCorasick(
        [n for n, _ in needles], matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
    )


class _Budget:
    """What is left of the limits on inflating, for one reading of a tape."""

    def __init__(self) -> None:
        self.members = MAX_MEMBERS
        self.inflated = MAX_INFLATED

    def take(self, size: int) -> None:
        self.inflated -= size
        if self.inflated < 0:
            raise _Unaudited(f"the tape's compressed files inflate past the audit's {MAX_INFLATED} bytes")

    def count(self, members: int) -> None:
        self.members -= members
        if self.members < 0:
            raise _Unaudited(f"the tape's ZIPs hold more than {MAX_MEMBERS} members")


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the side files kept so far leave of the audit's limits on inflating."""

    inflated: int = MAX_INFLATED
    members: int = MAX_MEMBERS


@dataclass(frozen=True, slots=True)
class Findings:
    """What an audit found: each kind of secret with the file (and ZIP member) it is in, and each
    file it could not look through whole, with why."""

    leaks: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.leaks or self.unread)


class _Report:
    """Findings as they come, each once."""

    def __init__(self) -> None:
        self.leaks: dict[str, None] = {}
        self.unread: dict[str, None] = {}

    def found(self, kinds: Iterable[str], where: str) -> None:
        self.leaks.update(dict.fromkeys(f"{kind} in {where}" for kind in kinds))

    def findings(self) -> Findings:
        return Findings(tuple(self.leaks), tuple(self.unread))


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    name: str
    """What messages call it (its path in the tape's directory)."""
    size: int | None = None
    """The bytes of it to read (the tape, which grows); None: all of it, compressed ones inflated."""


class _Pass:
    """Needles owed by everything written before they came: read in steps of a chunk."""

    def __init__(self, needles: Mapping[bytes, str], files: list[_File]) -> None:
        self.needles, self.files = dict(needles), files
        self._steps: Generator[int, None, None] | None = None

    def extend(self, needles: Mapping[bytes, str], files: list[_File]) -> None:
        """More needles, owed by more files (only before the pass has begun)."""
        assert self._steps is None, "a pass under way takes no more needles"
        self.needles.update(needles)
        self.files = files

    def step(self, report: _Report) -> int | None:
        """Read one more chunk (the bytes read), or None when the pass is over."""
        if self._steps is None:
            self._steps = _read_all(_Matcher(self.needles), self.files, report)
        return next(self._steps, None)

    def stop(self) -> None:
        if self._steps is not None:
            self._steps.close()  # GeneratorExit: the files and ZIPs it holds open are closed


class Auditor:
    """The audit of one tape as it is written: :meth:`add` the needles known, :meth:`line` and
    :meth:`side_file` what was written, :meth:`catch_up` in steps, :meth:`finish` at the end."""

    def __init__(self, tape: Path, name: str) -> None:
        self._tape = _File(tape, name, 0)
        self._files: list[_File] = []
        self._matcher = _Matcher()
        self._known: set[bytes] = set()
        self._tail = b""  # the end of the last line: a needle across two lines is found
        self._active: _Pass | None = None
        self._waiting: _Pass | None = None
        self._report = _Report()

    @property
    def owed(self) -> bool:
        """Whether needles are still to be looked for in what was written before them."""
        return self._active is not None

    def add(self, needles: Mapping[bytes, str]) -> None:
        """The needles known now (those already added are left out): looked for in what is written
        from now on, and owed by what was written before."""
        new = {needle: kind for needle, kind in needles.items() if needle not in self._known}
        if not new:
            return
        self._known.update(new)
        files = [self._tape, *self._files]
        if self._waiting is not None:
            self._waiting.extend(new, files)
        elif self._active is not None:
            self._waiting = _Pass(new, files)
        else:
            self._active = _Pass(new, files)
        self._matcher.add(new)

    def line(self, data: bytes) -> None:
        """Look through ``data``, just written at the end of the tape."""
        window = self._tail + data
        self._report.found(self._matcher.scan(_pieces(window)), self._tape.name)
        self._tape = _File(self._tape.path, self._tape.name, (self._tape.size or 0) + len(data))
        overlap = self._matcher.overlap
        self._tail = window[len(window) - overlap :] if overlap else b""

    def side_file(self, path: Path, name: str, data: bytes, inflated: Iterable[tuple[str, bytes]]) -> None:
        """Look through a side file just written (``data``) and what inflates from it (each ZIP
        member, gzip content), as the recorder read them."""
        self._report.found(self._matcher.scan(_pieces(data)), name)
        for member, content in inflated:
            self._report.found(self._matcher.scan(_pieces(content)), f"{name} ({member[:100]})")
        self._files.append(_File(path, name))

    def catch_up(
        self, budget: int, seconds: float = 0.0, clock: Callable[[], float] = time.thread_time
    ) -> None:
        """Look for the needles owed in ``budget`` more bytes of what was written before them, then
        on while ``seconds`` of ``clock`` (this thread's CPU) have not passed: a few needles are read
        through hundreds of MiB in that time, 2,000 through a few."""
        until = clock() + seconds
        while self._active is not None and (budget > 0 or (seconds and clock() < until)):
            read = self._active.step(self._report)
            if read is None:
                self._active, self._waiting = self._waiting, None
            else:
                budget -= max(read, 1)

    def finish(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> bool:
        """Pay all that is owed, a chunk at a time, while ``clock()`` is before ``deadline``; False
        (and nothing more is read) when time ran out first."""
        while self._active is not None:
            if clock() >= deadline:
                self.stop()
                return False
            self.catch_up(_CHUNK)
        return True

    def stop(self) -> None:
        for owed in (self._active, self._waiting):
            if owed is not None:
                owed.stop()
        self._active = self._waiting = None

    def findings(self) -> Findings:
        return self._report.findings()


def leaks(directory: Path, needles: Mapping[bytes, str]) -> Findings:
    """The audit of the files under ``directory`` at once; nothing found when ``needles`` is empty."""
    report = _Report()
    if needles:
        files = [
            _File(path, path.relative_to(directory).as_posix().removesuffix(".partial"))
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        ]
        for _ in _read_all(_Matcher(needles), files, report):
            pass
    return report.findings()


def _pieces(data: bytes) -> Iterator[bytes]:
    """``data`` in chunks of :data:`_CHUNK`."""
    return (data[at : at + _CHUNK] for at in range(0, len(data), _CHUNK))


def _read_all(matcher: _Matcher, files: list[_File], report: _Report) -> Generator[int, None, None]:
    """Read ``files`` (compressed ones inflated) for the needles of ``matcher``, yielding the bytes
    of each chunk read: a caller reads as many steps as it has time for."""
    budget = _Budget()
    for file in files:
        try:
            for label, chunks in _streams(file, budget):
                yield from _scanned(matcher, chunks, report, label)
        except (_Unaudited, LimitError) as error:
            report.unread[f"{file.name} could not be looked through: {error}"] = None
        except _UNREADABLE as error:
            why = f"{type(error).__name__}: {str(error)[:200]}"
            report.unread[f"{file.name} could not be looked through: {why}"] = None


def _scanned(matcher: _Matcher, chunks: Iterable[bytes], report: _Report, label: str) -> Iterator[int]:
    """:meth:`_Matcher.scan`, a step a chunk: the findings go to ``report``."""
    tail = b""
    for chunk in chunks:
        window = tail + chunk if tail else chunk
        if found := matcher.find(window):
            report.found(found, label)
            yield len(chunk)
            return  # the file has leaked: reading on would only list more of the same
        tail = window[len(window) - matcher.overlap :] if matcher.overlap else b""
        yield len(chunk)


def _streams(file: _File, budget: _Budget) -> Iterator[tuple[str, Iterator[bytes]]]:
    """What to look through in ``file``: its bytes, then (but in the tape) what inflates from them,
    each with what messages call it. Opened once, closed when the iteration ends or is closed."""
    with file.path.open("rb") as stream:
        yield file.name, _read(stream, file.size)
        if file.size is not None:  # the tape: lines of JSON, nothing compressed in them
            return
        stream.seek(0)
        head = stream.read(_HEAD)
        if zipfile.is_zipfile(stream):  # its end record only: the gate below reads the rest
            stream.seek(0)
            yield from _members(stream, file.name, budget)
        elif is_gzip(head):
            stream.seek(0)
            compressed = stream.seek(0, 2)
            stream.seek(0)
            yield f"{file.name} (inflated)", _inflated(_read(stream, None), compressed, budget, file.name)
        elif (what := opaque(head)) is not None:
            raise _Unaudited(f"it is {what}, which the audit cannot look into")


#: The first bytes of a file or member, enough for its magic bytes.
_HEAD = 64 * 1024


def _members(stream: IO[bytes], name: str, budget: _Budget) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each member of the ZIP in ``stream`` (through the ZIP gate), then its gzip content inflated."""
    with open_zip(stream, SIDE_ZIP) as archive:
        infos = archive.infolist()
        budget.count(len(infos))
        for info in infos:
            if (why := unreadable(info)) is not None:
                raise _Unaudited(why)
        check_members(infos, SIDE_ZIP)
        for info in infos:
            label = f"{name} ({info.filename[:100]})"
            chunks = _bounded(member_chunks(archive, info, _CHUNK), info.compress_size, budget, label)
            head, chunks = _peeked(chunks, label)
            yield label, chunks
            if is_gzip(head):
                inflated = _inflated(member_chunks(archive, info, _CHUNK), info.file_size, budget, label)
                yield f"{label} (inflated)", inflated


def _peeked(chunks: Iterator[bytes], label: str) -> tuple[bytes, Iterator[bytes]]:
    """The first chunk of a member, its magic bytes checked: a format inside a ZIP that nothing here
    reads (a ZIP, bzip2…) is no member the audit looked through."""
    first = next(chunks, b"")
    if (what := opaque(first)) is not None:
        raise _Unaudited(f"{label} is {what}, which the audit cannot look into")
    return first, itertools.chain([first], chunks)


def _inflated(compressed: Iterable[bytes], size: int, budget: _Budget, label: str) -> Iterator[bytes]:
    """The content of gzip data, inflated within the ratio and the ``budget``; gzip or another
    format inside it is no content the audit looked through."""
    head, chunks = _peeked(_bounded(gunzip(compressed), size, budget, label), f"{label}, inflated,")
    if is_gzip(head):
        raise _Unaudited(f"{label} holds gzip data inside gzip data, which the audit does not inflate")
    return chunks


def _bounded(chunks: Iterator[bytes], compressed: int, budget: _Budget, what: str) -> Iterator[bytes]:
    """``chunks`` of what inflates from ``compressed`` bytes, within the ratio and the ``budget``."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        budget.take(len(chunk))
        if size > RATIO_FREE + MAX_RATIO * compressed:
            raise _Unaudited(f"{what} inflates more than {MAX_RATIO} times its size (a bomb)")
        yield chunk


def _read(stream: IO[bytes], size: int | None) -> Iterator[bytes]:
    """``size`` bytes of ``stream`` (None: all), a chunk at a time."""
    left = size
    while left is None or left > 0:
        chunk = stream.read(_CHUNK if left is None else min(_CHUNK, left))
        if not chunk:
            return
        left = None if left is None else left - len(chunk)
        yield chunk


def gunzip(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """The content of a gzip stream (all its members), inflated in chunks of at most 1 MiB; what
    follows its last member and is no gzip is left (the raw read sees it)."""
    try:
        yield from inflate_chunks(compressed, "gzip", chunk=_CHUNK, trailing=True)
    except NotInflatable as error:
        raise zlib.error(str(error)) from None  # what the callers already take for "does not inflate"
