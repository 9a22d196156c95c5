"""Untrusted JSON and ZIPs, read within caps: what the tape reader, ``scenario-from`` and ``verify`` share.

A parse costs memory in proportion to what it makes, not to its bytes: 16 MiB of ``[{},{},…]`` makes
5.6 million dicts, some 400 MB. So a text is measured before ``json.loads`` sees it, how many values it
holds and how deep it nests, counted in C (``bytes.count``, one regular expression, ``translate``),
never by a Python loop over its bytes (:func:`loads`).

A ZIP is opened only once its end record shows few members and a small central directory (``zipfile``
parses the whole directory when it opens one: a 10 MiB ZIP of 121,835 entries costs 65 MB before a
member is read); its members are then checked from their declared sizes (a ratio of inflated to
compressed bytes, a total) before a byte is inflated (:func:`check_members`; :func:`unreadable` says
which Python cannot read: encrypted, another method), and each is read as a stream, within its
declared size (``zipfile`` yields no more: :func:`member_chunks`), split into lines no longer than a
cap (:func:`open_zip`, :func:`member_lines`). This is the one ZIP gate: the tape reader, ``verify``,
the recorder and the audit all go through it. Pure: no aiohttp.
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
import struct
import zipfile
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Literal

from ..contract.fastpath import reject_constant

__all__ = ["JsonCaps", "LimitError", "ZipCaps", "json_depth", "loads", "measure", "member_lines", "open_zip"]
__all__ += ["check_members", "member_chunks", "split_lines", "unreadable", "zip_lines"]

Cap = Literal["depth", "values", "members", "ratio", "inflated", "line"]


class LimitError(ValueError):
    """Over a cap; ``cap`` names which (``depth``, ``values``, ``members``, ``ratio``, ``inflated``,
    ``line``), so that a caller tells its own limit from a broken input without reading the message."""

    def __init__(self, message: str, cap: Cap) -> None:
        super().__init__(message)
        self.cap = cap


@dataclass(frozen=True, slots=True)
class JsonCaps:
    """How much one JSON text may make. The defaults hold every answer of the contract with room to
    spare (a log page of 1,000 lines is about 1,000 values, a history of 20 jobs about 500, and none
    nests more than 4 levels) and cost at most some 20 MB of Python objects."""

    max_depth: int = 64
    """Levels of arrays and objects, one inside the other."""
    max_values: int = 200_000
    """Values: arrays, objects, strings, numbers and literals (an object's keys are not counted)."""


@dataclass(frozen=True, slots=True)
class ZipCaps:
    """How much of a ZIP is read. A log ZIP holds one member and deflates some 15 to 1 (the mock's,
    a 10,000-line log: 16 to 1); a ZIP bomb deflates about 1,000 to 1."""

    max_members: int = 16
    max_ratio: int = 200
    """Inflated bytes per compressed byte of a member, by its declared sizes."""
    max_inflated: int = 64 * 1024 * 1024
    """Inflated bytes of all the members read, by their declared sizes."""
    max_line: int = 1024 * 1024
    """Characters of one line."""
    ratio_free: int = 0
    """Inflated bytes a member may hold before ``max_ratio`` applies (a small log of one line
    repeated deflates past any ratio)."""


# --- JSON ------------------------------------------------------------------------------------------------

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes and all
_SPACE = b" \t\r\n"
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


def _values(raw: bytes) -> int:
    """An upper bound of the values in ``raw``: one, and one more for each comma and each container
    (its first value). Exact once strings and spaces are left out, and empty containers with them."""
    empty = raw.count(b"{}") + raw.count(b"[]")
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") - empty + 1


def json_depth(raw: bytes) -> int:
    """How deep ``raw`` nests, brackets inside strings left out (one pass in C over its brackets)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(memoryview(brackets.translate(_STEPS)).cast("b")), default=0)


def measure(raw: bytes, caps: JsonCaps) -> None:
    """Raise :class:`LimitError` when ``raw`` would nest deeper or make more values than ``caps``
    allow. Counted first with brackets in strings (cheap, and an upper bound), then without."""
    values, openers = _values(raw), raw.count(b"[") + raw.count(b"{")
    if values <= caps.max_values and openers <= caps.max_depth:
        return  # the usual answer: three counts in C, nothing more
    stripped = _STRING.sub(b"", raw).translate(None, _SPACE)
    if (values := _values(stripped)) > caps.max_values:
        raise LimitError(f"it holds {values} JSON values; at most {caps.max_values} are read", "values")
    if (depth := json_depth(stripped)) > caps.max_depth:
        raise LimitError(f"it nests {depth} levels deep; at most {caps.max_depth} are read", "depth")


def loads(raw: bytes, caps: JsonCaps | None = None) -> Any:
    """``json.loads`` within ``caps``: :class:`LimitError` over them, :class:`ValueError` for what
    is not JSON (NaN and Infinity included: they are Python's, not JSON), UnicodeDecodeError for
    what is not UTF-8. Never a RecursionError, never more memory than the caps allow."""
    measure(raw, caps or JsonCaps())
    return json.loads(raw.decode("utf-8"), parse_constant=reject_constant)


# --- lines and ZIPs ----------------------------------------------------------------------------------


_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines cuts at


def split_lines(chunks: Iterable[bytes], max_line: int, errors: str = "replace") -> Iterator[str]:
    """The lines of a UTF-8 stream as ``str.splitlines`` cuts them, one chunk at a time (undecodable
    bytes as ``errors`` says); :class:`LimitError` for a line longer than ``max_line`` characters."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)
    pending = ""
    for chunk in itertools.chain(chunks, [None]):
        pending += decoder.decode(chunk or b"", final=chunk is None)
        lines = pending.splitlines(keepends=True)
        # the last piece may go on in the next chunk (a "\r" too: its "\n" may follow)
        pending = lines.pop() if lines and chunk is not None else ""
        for line in lines:
            text = line.rstrip(_BREAKS)  # its one line break: there is none inside, or it was cut there
            if len(text) > max_line:
                raise LimitError(f"a line is longer than {max_line} characters", "line")
            yield text
        if len(pending) > max_line:
            raise LimitError(f"a line is longer than {max_line} characters", "line")


_END = struct.Struct("<4s4H2LH")  # the end of central directory record
_LOCATOR = struct.Struct("<4sLQL")  # the ZIP64 end of central directory locator
_END64 = struct.Struct("<4sQ2H2L4Q")  # the ZIP64 end of central directory record


def _directory(file: IO[bytes]) -> tuple[int, int]:
    """The members a ZIP's end record declares and the size of its central directory; (0, 0) when
    there is no end record (zipfile then says it is not a ZIP)."""
    size = file.seek(0, 2)
    tail_at = max(0, size - _END.size - 0xFFFF)
    file.seek(tail_at)
    tail = file.read(size - tail_at)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        return 0, 0
    _, _, _, _, members, directory, _, _ = _END.unpack_from(tail, at)
    if at >= _LOCATOR.size and tail[at - _LOCATOR.size : at - _LOCATOR.size + 4] == b"PK\x06\x07":
        offset = _LOCATOR.unpack_from(tail, at - _LOCATOR.size)[2]  # ZIP64: its record's counts
        file.seek(offset)
        record = file.read(_END64.size)
        if len(record) == _END64.size and record[:4] == b"PK\x06\x06":
            members, directory = _END64.unpack(record)[6:8]  # what zipfile goes by, then
    return members, directory


@contextmanager
def open_zip(file: IO[bytes], caps: ZipCaps | None = None) -> Iterator[zipfile.ZipFile]:
    """The ZIP in ``file`` (seekable, binary), opened once its end record shows at most
    ``caps.max_members`` members in a central directory of at most 1 KiB each; :class:`LimitError`
    otherwise, ``zipfile.BadZipFile`` for what is not a ZIP."""
    caps = caps or ZipCaps()
    members, directory = _directory(file)
    if members > caps.max_members or directory > caps.max_members * 1024:
        raise LimitError(
            f"its directory lists {members} members in {directory} bytes; at most "
            f"{caps.max_members} members are read",
            "members",
        )
    file.seek(0)
    with zipfile.ZipFile(file) as archive:
        yield archive


def member_lines(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    caps: ZipCaps | None = None,
    errors: str = "replace",
    chunk: int = 64 * 1024,
) -> Generator[tuple[str, str], None, None]:
    """``(member name, line)`` for every line of ``members``, in order, each read as a stream.

    :class:`LimitError` names the cap they are over, checked from their declared sizes before a byte
    is inflated (``zipfile`` yields no more than a member declares); ``zipfile.BadZipFile``,
    ``zlib.error`` and ``EOFError`` say a member is broken; ``errors="strict"`` makes a byte that is
    not UTF-8 a UnicodeDecodeError.
    """
    caps = caps or ZipCaps()
    check_members(members, caps)
    for info in members:
        for line in split_lines(member_chunks(archive, info, chunk), caps.max_line, errors):
            yield info.filename, line


_READABLE = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


def unreadable(info: zipfile.ZipInfo) -> str | None:
    """Why Python cannot read the member ``info`` (encrypted, compressed by another method), or None."""
    if info.flag_bits & 0x1:
        return f"member {info.filename[:80]!r} is encrypted"
    if info.compress_type not in _READABLE:
        return f"member {info.filename[:80]!r} is compressed by method {info.compress_type}"
    return None


def check_members(members: list[zipfile.ZipInfo], caps: ZipCaps) -> int:
    """The bytes ``members`` declare they inflate to, once each is checked against ``caps`` (its
    ratio, the total) before a byte is inflated: :class:`LimitError` for one past them."""
    total = 0
    for info in members:
        ratio = info.file_size / max(1, info.compress_size)
        if ratio > caps.max_ratio and info.file_size > caps.ratio_free:
            raise LimitError(
                f"member {info.filename[:80]!r} inflates {ratio:.0f} to 1 ({info.file_size} bytes "
                f"from {info.compress_size}); at most {caps.max_ratio} to 1 is read",
                "ratio",
            )
        if (total := total + info.file_size) > caps.max_inflated:
            raise LimitError(
                f"its members inflate to {total} bytes or more; at most {caps.max_inflated} are read",
                "inflated",
            )
    return total


def member_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """The inflated bytes of one member, ``chunk`` at a time, no more than it declares (``zipfile``
    checks its CRC at the end: a member that lies raises ``zipfile.BadZipFile``)."""
    with archive.open(info) as member:
        yield from _blocks(member, chunk)


def zip_lines(file: IO[bytes], caps: ZipCaps | None = None) -> Generator[tuple[str, str], None, None]:
    """``(member name, line)`` of every member of the ZIP in ``file``, within ``caps``."""
    with open_zip(file, caps) as archive:
        yield from member_lines(archive, archive.infolist(), caps)


def _blocks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    while block := stream.read(size):
        yield block
