"""``aem-guides-mock proxy`` stopped by SIGTERM while everything that can hold it is in flight: slow
uploads, requests to an upstream that never answers, trickling downloads, idle connections and a
compression bomb. It must exit within 5 s, with its documented status, and no traceback. And the
parts of that stop in process: the tape's last line, and the recorder's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mock_server.api.operations import BASE_PATH
from mock_server.http import proxy as proxy_module
from mock_server.recording.tape import Recorder
from tests.support.client import MakeServer
from tests.support.dev_server import ready_url
from tests.support.proxy import FakeAuthor, proxy_on_socket, raw_exchange, status_of
from tests.support.proxy import until as async_until
from tests.support.waiting import wait_until as until

PATIENCE_S = 10.0
UPLOAD = (f"POST {BASE_PATH} HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
          "Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n").encode()  # fmt: skip


class StuckUpstream:
    """An author that never answers a request, except a download, which it trickles a byte at a
    time; counts the requests whose headers came."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self._counting = threading.Lock()  # one thread per connection counts
        self.closing = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                connection, _ = self.listener.accept()
                self._connections.append(connection)
                threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head:
                head += connection.recv(4096) or b"\r\n\r\n"
            with self._counting:
                self.requests += 1
            if b"/logs/download" in head:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 9999\r\n\r\n"
                )
                while not self.closing.wait(0.05):
                    connection.sendall(b"P")
            self.closing.wait()

    def close(self) -> None:
        self.closing.set()
        self.listener.close()
        for connection in self._connections:
            connection.close()


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    sock.settimeout(PATIENCE_S)
    got = b""
    while marker not in got:
        chunk = sock.recv(4096)
        assert chunk, f"closed before {marker!r}: {got[:300]!r}"
        got += chunk
    return got


def send_bomb(sock: socket.socket) -> None:
    """A deflate stream of zeros, 1 MiB in 1 KiB, sent until the connection is closed: a proxy that
    inflates the rest of a refused body never sees its end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    more = (packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)) * 64  # zeros after zeros
    head = (f"POST {BASE_PATH} HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
            f"Content-Encoding: deflate\r\nContent-Length: {1 << 30}\r\n\r\n").encode()  # fmt: skip
    with contextlib.suppress(OSError):
        sock.sendall(head + first)
        while True:
            sock.sendall(more)


@contextlib.contextmanager
def proxy_process(upstream: int, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "proxy", "--upstream", f"http://127.0.0.1:{upstream}",
         "--port", "0", "--record", str(tmp_path / "tape"), "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield process, int(ready_url(ready, process).rsplit(":", 1)[1])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def journaled(port: int) -> list[dict[str, Any]]:
    """The proxy's journal, as its admin API serves it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/journal", timeout=PATIENCE_S) as answer:
        exchanges: list[dict[str, Any]] = json.load(answer)["exchanges"]
    return exchanges


def test_sigterm_stops_the_proxy_within_5_s_whatever_is_in_flight(tmp_path: Path) -> None:
    """Every request is known to have reached the proxy before the signal (a refused bomb is in the
    journal, an upload has its 100 Continue, a stuck request and a download reached the upstream), so
    how many are cut is known, and the time is measured from the signal."""
    upstream = StuckUpstream()
    sockets: list[socket.socket] = []
    bombs, stuck, downloads, uploads = 2, 5, 2, 20
    try:
        with proxy_process(upstream.port, tmp_path) as (process, port):

            def connect() -> socket.socket:
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S))
                return sockets[-1]

            for _ in range(bombs):  # refused (413) at once, where the rest would be inflated for 10 s
                threading.Thread(target=send_bomb, args=(connect(),), daemon=True).start()
            until(lambda: sum(e["status"] == 413 for e in journaled(port)) == bombs, "the bombs refused")
            for _ in range(stuck):
                connect().sendall(f"GET {BASE_PATH}/history HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
            for _ in range(downloads):
                download = connect()
                download.sendall(f"GET {BASE_PATH}/logs/download HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
                read_until(download, b"\r\n\r\nP")
            until(lambda: upstream.requests == stuck + downloads, "the upstream to get every request")
            uploading = time.monotonic()
            for _ in range(uploads):  # uploads that never end: the proxy has begun reading once it says 100
                upload = connect()
                upload.sendall(UPLOAD)
                read_until(upload, b"100 Continue\r\n\r\n")
                upload.sendall(b'{"pa')
            for _ in range(50):  # idle (fewer than the listening backlog: no SYN is dropped and resent)
                connect()
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=PATIENCE_S)
            took = time.monotonic() - signalled
    finally:
        for sock in sockets:
            sock.close()
        upstream.close()
    assert took < 5, f"the proxy took {took:.1f} s to stop"
    assert process.returncode == 0 and "Traceback" not in err, err[-3000:]
    cut = re.search(r"cut (\d+) exchange\(s\) still in flight after the 2 s grace", err)
    assert cut is not None, err[-3000:]
    # An upload older than its body timeout (10 s) by the end of the grace is a 408, not cut: only a
    # machine slow enough to take 8 s over the uploads sees it (then the others are the least cut).
    in_flight = stuck + downloads + (uploads if signalled - uploading + 2 < 10 else 0)
    assert in_flight <= int(cut[1]) <= stuck + downloads + uploads, err[-3000:]
    assert "recording closed: 0 exchange(s)" in out  # none whole, so none taped; the audit ran


async def test_a_stop_does_not_wait_past_its_time_for_a_tape_line(
    aiohttp_server: MakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tape line under way when the time after the cut is over is not waited for: the app stops,
    and says the worker is busy, so that the tape is not closed under it."""
    upstream = f"http://127.0.0.1:{(await aiohttp_server(FakeAuthor({}).app())).port}"
    recorder = Recorder(tmp_path / "tape", upstream)
    writing, written = threading.Event(), threading.Event()
    recording = recorder.record

    def slow(*args: Any) -> None:
        writing.set()
        written.wait(PATIENCE_S)
        recording(*args)

    monkeypatch.setattr(recorder, "record", slow)
    monkeypatch.setattr(proxy_module, "STOP_DRAIN_S", 0.3)
    loop = asyncio.get_running_loop()
    try:
        async with proxy_on_socket(upstream, recorder=recorder, stop_grace=0.2) as (url, proxy):
            answer = asyncio.create_task(
                raw_exchange(url, b"GET /x HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
            )
            await async_until(writing.is_set, "the tape line begun")
            stopping = loop.time()
        took = loop.time() - stopping
        assert proxy.worker is not None and not proxy.worker.idle
        assert "a line was still being written to the tape 0.3 s after the cut" in caplog.text
    finally:
        written.set()
    assert took < 0.2 + 0.3 + 1.0, f"the stop took {took:.1f} s"
    assert status_of(await answer) == 200  # it went out whole before its tape line was begun
    await async_until(lambda: proxy.worker is not None and proxy.worker.idle, "the tape line written")
    assert recorder.close().exchanges == 1


async def test_a_stop_cuts_an_answer_of_the_admin_api_that_does_not_end(
    aiohttp_server: MakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only the exchanges: any answer under way is cut after the grace (aiohttp's own shutdown
    would wait twice its 2 s for it)."""
    begun, never = asyncio.Event(), asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        begun.set()
        await never.wait()
        raise AssertionError("never reached")

    monkeypatch.setattr(proxy_module, "_every_exchange", stuck)
    upstream = f"http://127.0.0.1:{(await aiohttp_server(FakeAuthor({}).app())).port}"
    loop = asyncio.get_running_loop()
    async with proxy_on_socket(upstream, stop_grace=0.2) as (url, _):
        asking = asyncio.create_task(
            raw_exchange(url, b"GET /__admin/journal HTTP/1.1\r\nHost: localhost\r\n\r\n")
        )
        await async_until(begun.is_set, "the admin answer begun")
        stopping = loop.time()
    took = loop.time() - stopping
    assert took < 0.2 + 1.0, f"the stop took {took:.1f} s"
    assert await asking == b""  # closed without an answer
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
