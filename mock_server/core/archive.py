"""A job's log as a ZIP file, written as a stream: memory stays flat however long the log.

The ZIP is the plainest one every reader takes (§3.20): its one entry's CRC-32 and sizes are in the
local header (no data descriptor: flag bit 3 clear), and ZIP64 records appear only past
:data:`ZIP64_LIMIT`. Java's ``ZipInputStream``, which reads the local headers only, refuses a
ZIP64 entry with a data descriptor under 4 GiB (it expects the descriptor's 32-bit form), which is
what Python's ``zipfile`` writes to a stream. Sizes in the local header mean knowing them before the
first byte: the log is derived, and the same on each reading, so a first pass deflates it only to
measure it (memory flat, the event loop yielded between batches, as while streaming), or takes the
measure from :class:`Measures`; the second pass streams it and checks it against the measure.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

__all__ = ["ZIP64_LIMIT", "ArchiveChanged", "Measure", "Measures", "zip_stream"]

#: Lines per step: one step costs the event loop a millisecond or so, then others get their turn.
_LINES_PER_CHUNK = 250

#: Past this many bytes (an entry's size or size deflated, the central directory's offset or size)
#: the ZIP is a ZIP64 one. Python's ``zipfile`` draws the line at 2 GiB too, so that a reader that
#: takes the 32-bit fields as signed reads them right. A parameter of :func:`zip_stream`, so that a
#: test can take the ZIP64 path without a 2 GiB log.
ZIP64_LIMIT = (1 << 31) - 1

#: What a 32-bit field holds when the value is in the ZIP64 record instead.
_MAGIC32 = 0xFFFF_FFFF

#: ZIP timestamps lie between 1980 and 2107.
_ZIP_EPOCH_MS = 315_532_800_000
_ZIP_END_MS = 4_354_819_199_000

_DEFLATED = 8
_UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8
_UNIX = 3 << 8  # "version made by": its high byte is the host system, so that attributes are Unix modes
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_ZIP64_EXTRA = 0x0001


class ArchiveChanged(RuntimeError):
    """The log read differently the second time: the ZIP's headers would lie, so the stream stops."""


@dataclass(frozen=True, slots=True)
class Measure:
    """What the local header says of the entry: its CRC-32, its size, and its size deflated."""

    crc: int
    size: int
    compressed: int


class Measures:
    """The measures of the last ``most`` logs downloaded, by a key that changes whenever the log does
    (such as :attr:`..joblog.JobLog.version`): a second download of the same log is one pass."""

    def __init__(self, most: int = 64) -> None:
        self._most = most
        self._kept: OrderedDict[Hashable, Measure] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable) -> Measure | None:
        measure = self._kept.get(key)
        if measure is not None:
            self._kept.move_to_end(key)
        return measure

    def put(self, key: Hashable, measure: Measure) -> None:
        self._kept[key] = measure
        self._kept.move_to_end(key)
        while len(self._kept) > self._most:
            self._kept.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._kept.pop(key, None)


def zip_stream(
    entry_name: str,
    lines: Callable[[], Iterable[str]],
    modified_ms: int,
    *,
    measures: Measures | None = None,
    key: Hashable | None = None,
    zip64_limit: int = ZIP64_LIMIT,
) -> Iterator[bytes]:
    """The bytes of a ZIP holding one entry, ``entry_name``, made of the lines ``lines()`` gives
    (newline-ended), one chunk per :data:`_LINES_PER_CHUNK` lines (a chunk may be empty while the
    compressor fills, and all are empty during the first pass).

    ``lines`` is called twice and must give the same lines each time; if it does not, the stream
    raises :class:`ArchiveChanged` before its end, so that no client takes a ZIP whose headers lie
    for a whole one. With ``measures`` and a ``key``, a log measured before is read once."""
    measure = measures.get(key) if measures is not None and key is not None else None
    if measure is None:
        tally = _Tally()
        for _ in _deflated(lines(), tally):
            yield b""  # the event loop's turn: measuring a million lines takes a second or so
        measure = tally.measure()
        if measures is not None and key is not None:
            measures.put(key, measure)
    local, central = _headers(entry_name, modified_ms, measure, zip64_limit)
    yield local
    tally = _Tally()
    yield from _deflated(lines(), tally)
    if tally.measure() != measure:
        if measures is not None and key is not None:
            measures.forget(key)
        raise ArchiveChanged(f"the lines of {entry_name} changed between two readings: "
                             f"{measure} first, {tally.measure()} then")  # fmt: skip
    yield central


class _Tally:
    """The CRC-32 and the sizes of what went through :func:`_deflated`."""

    __slots__ = ("compressed", "crc", "size")

    def __init__(self) -> None:
        self.crc = self.size = self.compressed = 0

    def measure(self) -> Measure:
        return Measure(self.crc, self.size, self.compressed)


def _deflated(lines: Iterable[str], tally: _Tally) -> Iterator[bytes]:
    """Raw deflate of the lines, one chunk per batch of lines (often empty), counted in ``tally``."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    taken = iter(lines)
    while batch := list(islice(taken, _LINES_PER_CHUNK)):
        data = ("\n".join(batch) + "\n").encode()
        tally.crc = zlib.crc32(data, tally.crc)
        tally.size += len(data)
        chunk = compressor.compress(data)
        tally.compressed += len(chunk)
        yield chunk
    chunk = compressor.flush()
    tally.compressed += len(chunk)
    yield chunk


def _headers(name: str, modified_ms: int, measure: Measure, limit: int) -> tuple[bytes, bytes]:
    """The local header, and what follows the entry's data: the central directory and its end.

    Past ``limit``, the entry's sizes read 0xFFFFFFFF and a ZIP64 extra field holds them (both,
    in the local and in the central header, since both are then 0xFFFFFFFF: Java's ``ZipFile``
    wants exactly the fields marked so); past it, the central directory's offset or size is in a
    ZIP64 end record with its locator, the plain end record marking them 0xFFFFFFFF."""
    encoded, flags = (name.encode("ascii"), 0) if name.isascii() else (name.encode(), _UTF8_NAME)
    moment = dt.datetime.fromtimestamp(min(max(modified_ms, _ZIP_EPOCH_MS), _ZIP_END_MS) // 1000, tz=dt.UTC)
    time = moment.hour << 11 | moment.minute << 5 | moment.second // 2
    date = (moment.year - 1980) << 9 | moment.month << 5 | moment.day
    zip64 = measure.size > limit or measure.compressed > limit
    version = 45 if zip64 else 20  # 4.5: ZIP64; 2.0: deflate
    if zip64:
        compressed = size = _MAGIC32
        extra = struct.pack("<HHQQ", _ZIP64_EXTRA, 16, measure.size, measure.compressed)
    else:
        compressed, size, extra = measure.compressed, measure.size, b""
    fields = (flags, _DEFLATED, time, date, measure.crc, compressed, size, len(encoded), len(extra))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, version, *fields) + encoded + extra
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, _UNIX | version, version, *fields, 0, 0, 0, _FILE_MODE, 0
    )  # then no comment, disk 0, no internal attributes, a file's mode, the local header at 0
    central += encoded + extra
    offset, length = len(local) + measure.compressed, len(central)
    end = b""
    if offset > limit or length > limit:
        end += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _UNIX | 45, 45, 0, 0, 1, 1, length, offset)
        end += struct.pack("<IIQI", 0x07064B50, 0, offset + length, 1)
    end += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1,
        _MAGIC32 if length > limit else length, _MAGIC32 if offset > limit else offset, 0,
    )  # fmt: skip
    return local, central + end
