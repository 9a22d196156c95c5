"""A job's log as a ZIP file, written as a stream: memory stays flat however long the log."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, cast

__all__ = ["zip_stream"]

#: Lines per step: one step costs the event loop a millisecond or so, then others get their turn.
_LINES_PER_CHUNK = 250


class _Sink:
    """A write-only, non-seekable file that hands out what was written so far."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


#: ZIP timestamps lie between 1980 and 2107.
_ZIP_EPOCH_MS = 315_532_800_000
_ZIP_END_MS = 4_354_819_199_000


def zip_stream(entry_name: str, lines: Iterable[str], modified_ms: int) -> Iterator[bytes]:
    """The bytes of a ZIP holding one entry, ``entry_name``, made of ``lines`` (newline-ended),
    one chunk per :data:`_LINES_PER_CHUNK` lines (a chunk may be empty while the compressor fills)."""
    sink = _Sink()
    moment = dt.datetime.fromtimestamp(min(max(modified_ms, _ZIP_EPOCH_MS), _ZIP_END_MS) // 1000, tz=dt.UTC)
    info = zipfile.ZipInfo(entry_name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile needs only write/tell/flush of a non-seekable sink: it then writes data descriptors.
    with (
        zipfile.ZipFile(cast(IO[bytes], sink), mode="w") as archive,
        archive.open(info, mode="w", force_zip64=True) as entry,
    ):
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == _LINES_PER_CHUNK:
                entry.write(("\n".join(batch) + "\n").encode())
                batch.clear()
                # Every batch, even one the compressor kept to itself (an empty chunk): a step
                # of the stream never costs more than one batch.
                yield sink.take()
        if batch:
            entry.write(("\n".join(batch) + "\n").encode())
    yield sink.take()
