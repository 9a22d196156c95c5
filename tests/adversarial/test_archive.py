"""The log's ZIP, byte by byte (§3.20): sizes and CRC-32 in the local header, no data descriptor, ZIP64
only past the limit; measured once per state of the log; a log that reads differently is never sent whole.

The readers themselves (Python, Info-ZIP, Java) are in ``test_zip_readers.py``.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mock_server import MockServer
from mock_server.core.archive import ArchiveChanged, Measure, Measures, zip_stream
from mock_server.core.joblog import JobLog
from tests.adversarial.test_hostile import START, big_server, finished_job, send
from tests.support.constants import BASE

MAGIC32 = 0xFFFF_FFFF
LINES = [f"2026-02-26 08:59:10:{n % 1000:03d}: INFO: [ASSET_PROCESSING] line {n}" for n in range(2000)]


@dataclass
class Local:
    """A local file header, as Java's ``ZipInputStream`` reads it."""

    version: int
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    name: str
    zip64: tuple[int, int] | None  # (size, compressed) from a ZIP64 extra field
    data_at: int


def local_header(data: bytes) -> Local:
    signature, version, flags, method, _, _, crc, compressed, size, n, m = struct.unpack_from(
        "<IHHHHHIIIHH", data
    )
    assert signature == 0x04034B50
    name, extra = data[30 : 30 + n], data[30 + n : 30 + n + m]
    zip64 = None
    while extra:
        kind, length = struct.unpack_from("<HH", extra)
        if kind == 0x0001:
            zip64 = struct.unpack_from("<QQ", extra, 4)
        extra = extra[4 + length :]
    return Local(version, flags, method, crc, compressed, size, name.decode(), zip64, 30 + n + m)


def check_structure(data: bytes, *, zip64: bool = False) -> zipfile.ZipInfo:
    """The one entry's local header says what the central directory says; flag bit 3 is clear, and
    the central directory follows the data at once (no data descriptor); ZIP64 records iff ``zip64``."""
    local = local_header(data)
    (info,) = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert local.flags & 0x8 == 0, "a data descriptor (flag bit 3)"
    assert (local.method, local.name, local.crc) == (zipfile.ZIP_DEFLATED, info.filename, info.CRC)
    if zip64:
        assert (local.compressed, local.size, local.version) == (MAGIC32, MAGIC32, 45)
        assert local.zip64 == (info.file_size, info.compress_size)
        assert b"PK\x06\x06" in data[-100:] and b"PK\x06\x07" in data[-100:]  # ZIP64 end and locator
    else:
        assert (local.compressed, local.size, local.version, local.zip64) == (
            info.compress_size, info.file_size, 20, None,
        )  # fmt: skip
        assert info.extra == b""
        assert b"PK\x06\x06" not in data and b"PK\x06\x07" not in data
    assert data[local.data_at + info.compress_size :][:4] == b"PK\x01\x02", "not the central directory"
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    return info


def zipped(lines: list[str], **options: object) -> bytes:
    return b"".join(zip_stream("job.log", lambda: iter(lines), 1_772_096_350_755, **options))  # type: ignore[arg-type]


def test_sizes_and_crc_are_in_the_local_header() -> None:
    data = zipped(LINES)
    info = check_structure(data)
    assert zipfile.ZipFile(io.BytesIO(data)).read(info).decode() == "\n".join(LINES) + "\n"
    named = (info.filename, info.date_time, info.external_attr >> 16)
    assert named == ("job.log", (2026, 2, 26, 8, 59, 10), 0o100644)


def test_past_the_limit_the_sizes_are_in_zip64_records() -> None:
    data = zipped(LINES, zip64_limit=100)
    info = check_structure(data, zip64=True)
    assert zipfile.ZipFile(io.BytesIO(data)).read(info).decode() == "\n".join(LINES) + "\n"
    assert struct.unpack_from("<I", data, len(data) - 6)[0] == MAGIC32  # the plain end record's offset


def test_a_name_that_is_not_ascii_is_flagged_utf8() -> None:
    data = b"".join(zip_stream("jöb.log", lambda: iter(LINES), 0))
    assert local_header(data).flags == 0x800 and zipfile.ZipFile(io.BytesIO(data)).namelist() == ["jöb.log"]


def test_the_first_pass_yields_between_batches_and_sends_nothing() -> None:
    chunks = iter(zip_stream("job.log", lambda: iter(LINES), 0))
    measuring = []
    for chunk in chunks:
        if chunk:
            break
        measuring.append(chunk)
    assert len(measuring) >= len(LINES) // 250  # the event loop's turn at least once per batch
    assert chunk.startswith(b"PK\x03\x04")


def test_a_log_measured_before_is_read_once() -> None:
    readings: list[str] = []

    def lines() -> Iterator[str]:
        readings.append("read")
        return iter(LINES)

    measures = Measures(most=2)
    first = b"".join(zip_stream("job.log", lines, 0, measures=measures, key=1))
    assert len(readings) == 2
    assert b"".join(zip_stream("job.log", lines, 0, measures=measures, key=1)) == first
    assert len(readings) == 3
    for key in (2, 3):  # bounded: the oldest goes
        b"".join(zip_stream("job.log", lines, 0, measures=measures, key=key))
    assert len(measures) == 2 and measures.get(1) is None


def test_a_log_that_reads_differently_is_never_sent_whole() -> None:
    readings = iter([LINES, LINES[:-1]])
    measures = Measures()
    sent: list[bytes] = []
    stream = zip_stream("job.log", lambda: iter(next(readings)), 0, measures=measures, key=7)
    with pytest.raises(ArchiveChanged, match="changed between two readings"):
        sent.extend(stream)
    assert b"PK\x01\x02" not in b"".join(sent) and measures.get(7) is None  # no central directory
    stale = Measures()
    stale.put(8, measures_of(LINES[:-1]))  # a wrong measure kept is found out, and forgotten
    with pytest.raises(ArchiveChanged):
        b"".join(zip_stream("job.log", lambda: iter(LINES), 0, measures=stale, key=8))
    assert stale.get(8) is None


def measures_of(lines: list[str]) -> Measure:
    measures = Measures()
    b"".join(zip_stream("x", lambda: iter(lines), 0, measures=measures, key=0))
    measure = measures.get(0)
    assert measure is not None
    return measure


def test_a_six_asset_jobs_download_is_plain_and_measured_once(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reset()
    pid = json.loads(send(server, "POST", BASE, START)[2])["processingId"]
    server.advance(3600)
    readings: list[int] = []
    original = JobLog.lines

    def counted(self: JobLog, start: int, stop: int) -> Iterator[str]:
        readings.append(start)
        return original(self, start, stop)

    monkeypatch.setattr(JobLog, "lines", counted)
    target = f"{BASE}/logs/download?processingId={pid}"
    status, _, data = send(server, "GET", target)
    info = check_structure(data)
    assert status == 200 and info.filename == f"{pid}.log" and info.file_size == 1211
    lines = zipfile.ZipFile(io.BytesIO(data)).read(info).splitlines()
    assert len(lines) == len(server.mock.engine.get(pid).log)
    assert len(readings) == 2  # measured, then streamed
    assert send(server, "GET", target)[2] == data
    assert len(readings) == 3  # the same log again: streamed with the measure kept


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.mark.slow
def test_a_million_asset_jobs_download_is_plain() -> None:
    with big_server(1_000_000) as server:
        pid = finished_job(server)
        status, _, data = send(server, "GET", f"{BASE}/logs/download?processingId={pid}")
        info = check_structure(data)
        assert status == 200 and info.file_size > 100_000_000 and info.compress_size < MAGIC32
