"""``aem-guides-mock proxy`` stopped by SIGTERM while everything that can hold it is in flight: slow
uploads, requests to an upstream that never answers, trickling downloads, idle connections and a
compression bomb. It must exit within 5 s, with its documented status, and no traceback."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from mock_server.api.operations import BASE_PATH

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


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


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
        until(lambda: ready.exists() or process.poll() is not None, "the proxy to listen")
        assert process.poll() is None, process.communicate()
        yield process, int(ready.read_text().strip().rsplit(":", 1)[1])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sigterm_stops_the_proxy_within_5_s_whatever_is_in_flight(tmp_path: Path) -> None:
    upstream = StuckUpstream()
    sockets: list[socket.socket] = []
    try:
        with proxy_process(upstream.port, tmp_path) as (process, port):

            def connect() -> socket.socket:
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S))
                return sockets[-1]

            for _ in range(2):  # refused (413) at once, where the rest would be inflated for 10 s
                threading.Thread(target=send_bomb, args=(connect(),), daemon=True).start()
            for _ in range(20):  # uploads that never end: the proxy has begun reading once it says 100
                upload = connect()
                upload.sendall(UPLOAD)
                read_until(upload, b"100 Continue\r\n\r\n")
                upload.sendall(b'{"pa')
            for _ in range(5):
                connect().sendall(f"GET {BASE_PATH}/history HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
            for _ in range(2):
                download = connect()
                download.sendall(f"GET {BASE_PATH}/logs/download HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
                read_until(download, b"\r\n\r\nP")
            until(lambda: upstream.requests == 7, "the upstream to get every request")
            for _ in range(50):  # idle (fewer than the listening backlog: no SYN is dropped and resent)
                connect()
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=PATIENCE_S)
            took = time.monotonic() - stopped
    finally:
        for sock in sockets:
            sock.close()
        upstream.close()
    assert took < 5, f"the proxy took {took:.1f} s to stop"
    assert process.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "cut 27 exchange(s) still in flight after the 2 s grace" in err  # uploads, stuck, downloads
    assert "recording closed: 0 exchange(s)" in out  # none whole, so none taped; the audit ran
