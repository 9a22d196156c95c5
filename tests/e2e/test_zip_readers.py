"""The log's ZIP read by real readers over a real socket (§3.20): Python's ``zipfile`` on a saved file
and on the bytes as they came, Info-ZIP's ``unzip -t``, and Java's ``ZipInputStream`` over the
``HttpClient``'s response stream and ``ZipFile`` on the saved file (``tests/support/readers/ReadZip.java``,
run as ``java ReadZip.java``), each in the plain form and in the ZIP64 form (forced by a small limit).

Without ``java`` or ``unzip`` a test is skipped with the apt command that installs it;
``AEM_MOCK_REQUIRE_CLIENTS=1`` (CI) turns that skip into a failure.
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import os
import shutil
import subprocess
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mock_server import MockServer
from mock_server.core.archive import zip_stream
from tests.adversarial.test_archive import check_structure
from tests.adversarial.test_hostile import START, address, big_server, finished_job, send
from tests.support.constants import BASE

READER = Path(__file__).resolve().parents[1] / "support" / "readers" / "ReadZip.java"


def tool(name: str, package: str) -> str:
    """The path of ``name``; else a skip that says how to install it (a failure when CI requires it)."""
    path = shutil.which(name)
    if path is None:
        reason = f"no {name} on PATH: install it with `sudo apt-get install {package}`"
        if os.environ.get("AEM_MOCK_REQUIRE_CLIENTS") == "1":
            pytest.fail(f"{reason} (AEM_MOCK_REQUIRE_CLIENTS=1 requires every reader)")
        pytest.skip(reason)
    return path


@dataclass
class Download:
    server: MockServer
    target: str
    data: bytes  # as it came over the socket, read in chunks
    path: Path  # the same, saved

    @property
    def url(self) -> str:
        return self.server.url + self.target

    def summary(self) -> tuple[str, int, str, int]:
        """(name, bytes, CRC-32, lines) of the one entry, as the Java reader prints them."""
        crc = size = lines = 0
        with zipfile.ZipFile(self.path) as archive:
            (name,) = archive.namelist()
            with archive.open(name) as entry:
                for chunk in iter(lambda: entry.read(1 << 20), b""):
                    crc, size, lines = zlib.crc32(chunk, crc), size + len(chunk), lines + chunk.count(b"\n")
        return name, size, f"{crc:08x}", lines


def download(server: MockServer, target: str, folder: Path) -> Download:
    connection = http.client.HTTPConnection(*address(server), timeout=120)
    try:
        connection.request("GET", target, headers=server.headers)
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "application/zip"
        data = b"".join(iter(lambda: response.read(1 << 16), b""))
    finally:
        connection.close()
    path = folder / "download.zip"
    path.write_bytes(data)
    return Download(server, target, data, path)


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture(params=["plain", "zip64"])
def six_assets(
    request: pytest.FixtureRequest, server: MockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Download:
    """A finished six-asset job's ZIP; in the ZIP64 form, the limit is 100 bytes instead of 2 GiB."""
    server.reset()
    zip64 = request.param == "zip64"
    if zip64:
        small = functools.partial(zip_stream, zip64_limit=100)
        monkeypatch.setattr("mock_server.api.operations.zip_stream", small)
    pid = json.loads(send(server, "POST", BASE, START)[2])["processingId"]
    server.advance(3600)
    got = download(server, f"{BASE}/logs/download?processingId={pid}", tmp_path)
    check_structure(got.data, zip64=zip64)
    return got


def test_python_reads_it_from_a_file_and_from_the_stream(six_assets: Download) -> None:
    pid = six_assets.target.rsplit("=", 1)[1]
    _, _, page = send(six_assets.server, "GET", f"{BASE}/logs?processingId={pid}&limit=500")
    lines = json.loads(page)["lines"]
    assert len(lines) == 10
    with zipfile.ZipFile(six_assets.path) as saved:
        assert saved.testzip() is None and saved.read(f"{pid}.log").decode().splitlines() == lines
    with zipfile.ZipFile(io.BytesIO(six_assets.data)) as streamed:
        assert streamed.read(f"{pid}.log").decode().splitlines() == lines


def test_unzip_tests_it(six_assets: Download) -> None:
    unzip_test(six_assets)


def test_javas_zip_input_stream_and_zip_file_read_it(six_assets: Download, tmp_path: Path) -> None:
    java_reads(six_assets, tmp_path)


@pytest.mark.slow
def test_every_reader_reads_a_million_asset_jobs_zip(tmp_path: Path) -> None:
    with big_server(1_000_000) as server:
        pid = finished_job(server)
        got = download(server, f"{BASE}/logs/download?processingId={pid}", tmp_path)
        check_structure(got.data)
        _, _, tail = send(server, "GET", f"{BASE}/logs?processingId={pid}&tail=3")
        name, _, _, count = got.summary()
        with zipfile.ZipFile(io.BytesIO(got.data)) as streamed, streamed.open(name) as entry:
            last = [line.rstrip("\n") for line in deque(io.TextIOWrapper(entry, encoding="utf-8"), maxlen=3)]
        assert (name, count) == (f"{pid}.log", len(server.mock.engine.get(pid).log))
        assert last == json.loads(tail)["lines"]
        unzip_test(got)
        java_reads(got, tmp_path)


def unzip_test(got: Download) -> None:
    unzip = tool("unzip", "unzip")
    done = subprocess.run([unzip, "-t", str(got.path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "No errors detected" in done.stdout, done.stdout + done.stderr


def java_reads(got: Download, folder: Path) -> None:
    """Java's two readers print what they read; it is what Python read, and Java saved the same bytes."""
    java = tool("java", "default-jdk-headless")
    saved = folder / "java.zip"
    argv = [java, str(READER), got.url, got.server.headers["Authorization"], str(saved)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    name, size, crc, lines = got.summary()
    expected = [f"{reader} {name} {size} {crc} {lines}" for reader in ("ZipInputStream", "ZipFile")]
    assert done.stdout.splitlines() == expected
    assert saved.read_bytes() == got.data
