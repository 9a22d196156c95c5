"""The audit: every secret a recorder saw, looked for in every byte it wrote.

:func:`leaks` reads each file of a tape's directory once, in chunks that overlap by the longest
needle less one byte (a secret across two chunks is found), and looks for all the needles at once
with an Aho-Corasick automaton (``ahocorasick-rs``): its time grows with the bytes read, and only
slowly with the number of needles, where one ``in`` per needle would take minutes. There is no
cap on the needles here: the recorder bounds how many secrets it keeps (:mod:`.secrets`).

A compressed file hides its bytes from that read, so the members of a ZIP and the content of a
gzip file are inflated and read too, within limits (:data:`MAX_MEMBERS` members,
:data:`MAX_INFLATED` bytes in all, at most :data:`MAX_RATIO` times a member's compressed size past
its first MiB). A file that cannot be looked through whole within them (a bomb, a ZIP that lies
about its sizes, an encrypted member) is a finding like a leak: the audit fails closed. The
recorder checks a ZIP's declared sizes before it keeps one (:func:`side_file_problem`), so an honest
download never comes this far. No aiohttp.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ahocorasick_rs

from ..core.compression import NotInflatable, inflate_chunks

__all__ = ["MAX_INFLATED", "MAX_MEMBERS", "MAX_RATIO", "Allowance", "Findings", "gunzip", "leaks"]
__all__ += ["side_file_problem"]

#: A chunk read at once: the matches of one chunk are listed (a few MiB at worst), then dropped.
_CHUNK = 1024 * 1024
#: The most members of all ZIPs of a tape looked through.
MAX_MEMBERS = 10_000
#: The most bytes inflated from all compressed files of a tape (the audit's time is in its reads).
MAX_INFLATED = 128 * 1024 * 1024
#: The most a member may inflate to, per byte compressed, past its first MiB (a log: 5 to 50).
MAX_RATIO = 200
_RATIO_FREE = 1024 * 1024
_GZIP = b"\x1f\x8b"
#: What reading a ZIP or gzip file that lies about itself raises.
_UNREADABLE = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError,
               zlib.error)  # fmt: skip
_READ = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


class _Unaudited(Exception):
    """A file that cannot be looked through whole within the limits; the message says why."""


class _Finder:
    """All the needles at once; the kinds of those found in a stream of chunks."""

    def __init__(self, needles: Mapping[bytes, str]) -> None:
        self._kinds = list(needles.values())
        self._automaton = ahocorasick_rs.BytesAhoCorasick(list(needles))
        self._overlap = max(map(len, needles)) - 1

    def found(self, chunks: Iterable[bytes]) -> list[str]:
        """The kinds found in the first chunk that holds any: the file has leaked, and reading on
        would only list more of the same (a file of one secret repeated would list millions)."""
        tail = b""
        for chunk in chunks:
            window = tail + chunk if tail else chunk
            # Standard, non-overlapping: when any needle occurs, at least one match is reported.
            matches = self._automaton.find_matches_as_indexes(window)
            if matches:
                return list(dict.fromkeys(self._kinds[index] for index, _, _ in matches))
            tail = window[len(window) - self._overlap :] if self._overlap else b""
        return []


class _Budget:
    """What is left of the limits on inflating, for one audit."""

    def __init__(self) -> None:
        self.members = MAX_MEMBERS
        self.inflated = MAX_INFLATED

    def take(self, size: int) -> None:
        self.inflated -= size
        if self.inflated < 0:
            raise _Unaudited(f"the tape's compressed files inflate past the audit's {MAX_INFLATED} bytes")


def _bounded(chunks: Iterator[bytes], compressed: int, budget: _Budget, what: str) -> Iterator[bytes]:
    """``chunks`` of what inflates from ``compressed`` bytes, within the ratio and the ``budget``."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        budget.take(len(chunk))
        if size > _RATIO_FREE + MAX_RATIO * compressed:
            raise _Unaudited(f"{what} inflates more than {MAX_RATIO} times its size (a bomb)")
        yield chunk


@dataclass(frozen=True, slots=True)
class Findings:
    """What an audit found: each kind of secret with the file (and ZIP member) it is in, and each
    file it could not look through whole, with why."""

    leaks: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.leaks or self.unread)


def leaks(directory: Path, needles: Mapping[bytes, str]) -> Findings:
    """The audit of the files under ``directory``; nothing found when ``needles`` is empty."""
    if not needles:
        return Findings()
    finder = _Finder(needles)
    budget = _Budget()
    found: list[str] = []
    unread: list[str] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(directory).as_posix().removesuffix(".partial")
        with path.open("rb") as file:
            head = file.read(len(_GZIP))
            file.seek(0)
            found += [f"{kind} in {name}" for kind in finder.found(iter(lambda: file.read(_CHUNK), b""))]
        try:
            if zipfile.is_zipfile(path):  # a deflated member hides its bytes from the read above
                for member, chunks in _members(path, budget):
                    found += [f"{kind} in {name} ({member[:100]})" for kind in finder.found(chunks)]
            elif head == _GZIP:
                found += [f"{kind} in {name} (inflated)" for kind in finder.found(_gunzipped(path, budget))]
        except _Unaudited as error:
            unread.append(f"{name} could not be looked through: {error}")
        except _UNREADABLE as error:
            unread.append(f"{name} could not be looked through: {type(error).__name__}: {str(error)[:200]}")
    return Findings(tuple(dict.fromkeys(found)), tuple(unread))


def _members(path: Path, budget: _Budget) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each member of the ZIP at ``path`` with its inflated bytes in chunks, within ``budget``."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            budget.members -= 1
            if budget.members < 0:
                raise _Unaudited(f"the tape's ZIPs hold more than {MAX_MEMBERS} members")
            chunks = _read(archive.open(info))  # it checks the CRC at the end: a member that lies raises
            yield info.filename, _bounded(chunks, info.compress_size, budget, info.filename[:100])


def _read(member: IO[bytes]) -> Iterator[bytes]:
    with member:
        while chunk := member.read(_CHUNK):
            yield chunk


def _gunzipped(path: Path, budget: _Budget) -> Iterator[bytes]:
    """The content of the gzip file at ``path`` (all its members), inflated in chunks."""
    with path.open("rb") as file:
        yield from _bounded(gunzip(iter(lambda: file.read(_CHUNK), b"")), path.stat().st_size, budget, "it")


def gunzip(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """The content of a gzip stream (all its members), inflated in chunks of at most 1 MiB; what
    follows its last member and is no gzip is left (the raw read sees it)."""
    try:
        yield from inflate_chunks(compressed, "gzip", chunk=_CHUNK, trailing=True)
    except NotInflatable as error:
        raise zlib.error(str(error)) from None  # what the callers already take for "does not inflate"


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the side files kept so far leave of the audit's limits on inflating."""

    inflated: int = MAX_INFLATED
    members: int = MAX_MEMBERS


def side_file_problem(data: bytes, cut: bool, left: Allowance) -> tuple[str | None, Allowance]:
    """Why the audit could not look through ``data`` whole, were it kept as a side file (a ZIP cut
    short, one it cannot read or past what is ``left`` of its limits, a gzip stream that does not
    inflate), or None; and what is left of the limits once it is kept."""
    buffer = io.BytesIO(data)
    if data.startswith(b"PK\x03\x04") or zipfile.is_zipfile(buffer):
        return ("a ZIP cut short (its members cannot be read)", left) if cut else _zip(buffer, left)
    if data.startswith(_GZIP):
        size = 0
        try:
            for chunk in gunzip([data]):
                size += len(chunk)
                if size > min(left.inflated, _RATIO_FREE + MAX_RATIO * len(data)):
                    return f"gzip data that inflates past the audit's limits ({size} bytes and more)", left
        except zlib.error:
            return "gzip data that does not inflate", left
        return None, Allowance(left.inflated - size, left.members)
    return None, left


def _zip(buffer: io.BytesIO, left: Allowance) -> tuple[str | None, Allowance]:
    try:
        with zipfile.ZipFile(buffer) as archive:
            infos = archive.infolist()
    except _UNREADABLE as error:
        return f"a ZIP that does not open ({type(error).__name__})", left
    declared = sum(info.file_size for info in infos)
    if any(info.flag_bits & 0x1 for info in infos):
        return "a ZIP with an encrypted member (the audit cannot look into it)", left
    if any(info.compress_type not in _READ for info in infos):
        return "a ZIP compressed in a way Python does not read", left
    if any(info.file_size > _RATIO_FREE + MAX_RATIO * info.compress_size for info in infos):
        return f"a ZIP whose member inflates more than {MAX_RATIO} times its size", left
    if len(infos) > left.members:
        return f"a ZIP of {len(infos)} members, past the {MAX_MEMBERS} the audit looks through in all", left
    if declared > left.inflated:
        return (
            f"a ZIP that inflates to {declared} bytes, past the {MAX_INFLATED} the audit inflates in all",
            left,
        )
    return None, Allowance(left.inflated - declared, left.members - len(infos))
