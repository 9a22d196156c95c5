"""The connection guard over real sockets: late headers are cut, and the open connections are capped.

The in-process tests run :func:`start_site` (or a :class:`GuardedRunner` on a small app) with a
header timeout of half a second; the last one is the issue's own test, the dev server in a
process limited to 1,024 files against 1,100 idle sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mock_server import create_app
from mock_server.http.connections import GuardedRunner, backlog_for, connection_cap, file_reserve
from mock_server.http.serving import start_site
from tests.support.constants import BASIC_ADMIN as BASIC
from tests.support.dev_server import ready_url
from tests.support.sockets import accepted_and_read
from tests.support.waiting import until, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="file limits are POSIX")

HISTORY = "/bin/guides/v1/assets/process/history"
TIMEOUT = 0.5  # the header timeout of the in-process tests, in seconds
REQUEST = f"GET {HISTORY} HTTP/1.1\r\nHost: mock\r\nAuthorization: {BASIC}\r\n\r\n".encode()

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


# --- helpers
@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[GuardedRunner, str]]]]:
    """Start the mock with :func:`start_site` and the given guard settings; stop it at teardown."""
    runners: list[GuardedRunner] = []

    async def start(header_timeout: float = 10.0, max_connections: int = 1000) -> tuple[GuardedRunner, str]:
        runner, url = await start_site(
            create_app(), "127.0.0.1", 0, header_timeout=header_timeout, max_connections=max_connections
        )
        runners.append(runner)
        return runner, url

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def dial() -> AsyncIterator[Callable[[str], Awaitable[Stream]]]:
    """Open raw connections to a base URL; all are closed at teardown."""
    writers: list[asyncio.StreamWriter] = []

    async def open_connection(url: str) -> Stream:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writers.append(writer)
        return reader, writer

    yield open_connection
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def exchange(stream: Stream, request: bytes = REQUEST) -> int:
    """Send ``request`` and read the whole answer; return its status."""
    reader, writer = stream
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if line)
    await reader.readexactly(int(fields.get("Content-Length", "0")))
    return int(lines[0].split()[1])


async def seconds_until_closed(reader: asyncio.StreamReader, limit: float = 5.0) -> float:
    """How long until the server closes the connection, without answering."""
    began = time.monotonic()
    data = await asyncio.wait_for(reader.read(), limit)  # fails the test when still open after ``limit``
    assert data == b"", f"the server answered instead of closing: {data[:200]!r}"
    return time.monotonic() - began


async def get(url: str) -> int:
    """A normal client's request on a fresh connection; its status."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + HISTORY, headers={"Authorization": BASIC}) as response,
    ):
        await response.read()
        return response.status


def is_closed(stream: Stream) -> bool:
    """Whether the server has closed the connection (EOF already received)."""
    reader, _ = stream
    return reader.at_eof() or (reader.exception() is not None)


# --- the header timeout
async def test_a_half_sent_request_line_is_closed_after_the_timeout_while_others_are_served(
    serve: Callable[..., Awaitable[tuple[GuardedRunner, str]]], dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url = await serve(header_timeout=TIMEOUT)
    reader, writer = await dial(url)
    writer.write(b"GET /bin/gui")
    began = time.monotonic()
    closing = asyncio.create_task(seconds_until_closed(reader))
    assert await get(url) == 200  # served on another connection meanwhile
    assert not closing.done()
    await closing
    assert TIMEOUT - 0.1 <= time.monotonic() - began <= TIMEOUT + 2


async def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_timeout(
    serve: Callable[..., Awaitable[tuple[GuardedRunner, str]]], dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url = await serve(header_timeout=TIMEOUT)
    reader, writer = await dial(url)
    began = time.monotonic()
    for byte in REQUEST:  # a byte every 50 ms: the request would take seconds
        with contextlib.suppress(ConnectionError):
            writer.write(bytes([byte]))
        with contextlib.suppress(TimeoutError):
            if await asyncio.wait_for(reader.read(1), 0.05) == b"":
                break
    else:
        pytest.fail("the server let headers trickle in for the whole request")
    assert TIMEOUT - 0.1 <= time.monotonic() - began <= TIMEOUT + 1


async def test_an_idle_keep_alive_connection_outlives_the_header_timeout(
    serve: Callable[..., Awaitable[tuple[GuardedRunner, str]]], dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url = await serve(header_timeout=TIMEOUT)
    stream = await dial(url)
    assert await exchange(stream) == 200
    await asyncio.sleep(2 * TIMEOUT)  # idle past the header timeout: the time is the subject
    assert not is_closed(stream)
    assert await exchange(stream) == 200  # the same connection, kept alive


async def test_on_a_keep_alive_connection_the_timeout_counts_from_the_next_requests_first_byte(
    serve: Callable[..., Awaitable[tuple[GuardedRunner, str]]], dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url = await serve(header_timeout=TIMEOUT)
    stream = await dial(url)
    assert await exchange(stream) == 200
    await asyncio.sleep(1.5 * TIMEOUT)  # idle: not timed
    stream[1].write(b"GET /bin/gui")
    assert TIMEOUT - 0.1 <= await seconds_until_closed(stream[0]) <= TIMEOUT + 2


async def body_echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


Echo = tuple[GuardedRunner, str, asyncio.Event]


@pytest.fixture
async def echo_runner() -> AsyncIterator[Echo]:
    """A guarded app that echoes the body, or holds a request while ``/hold`` waits for its event."""
    app = web.Application()
    release = asyncio.Event()

    async def hold(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="held")

    app.router.add_post("/", body_echo)
    app.router.add_get("/hold", hold)
    runner = GuardedRunner(app, header_timeout=TIMEOUT, max_connections=3, keepalive_timeout=1.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=runner.backlog)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield runner, f"http://{host}:{port}", release
    finally:
        release.set()
        await runner.cleanup()


async def test_a_body_slower_than_the_header_timeout_is_not_cut_by_it(
    echo_runner: Echo, dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url, _ = echo_runner
    reader, writer = await dial(url)
    writer.write(b"POST / HTTP/1.1\r\nHost: mock\r\nContent-Length: 6\r\n\r\n")
    for byte in b"abcdef":  # 1.2 s of body, a byte every 0.2 s
        await asyncio.sleep(0.2)  # the slow client is the subject
        writer.write(bytes([byte]))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert await reader.readexactly(6) == b"abcdef"


async def test_keepalive_timeout_closes_an_idle_connection(
    echo_runner: Echo, dial: Callable[[str], Awaitable[Stream]]
) -> None:
    _, url, _ = echo_runner
    stream = await dial(url)
    assert await exchange(stream, b"POST / HTTP/1.1\r\nHost: mock\r\nContent-Length: 0\r\n\r\n") == 200
    assert 1.0 <= await seconds_until_closed(stream[0]) <= 4  # keepalive_timeout=1.5 s


# --- the cap
async def test_at_the_cap_the_oldest_idle_connections_make_room(
    serve: Callable[..., Awaitable[tuple[GuardedRunner, str]]], dial: Callable[[str], Awaitable[Stream]]
) -> None:
    runner, url = await serve(header_timeout=10, max_connections=20)
    assert runner.max_connections == 20
    streams = []
    for n in range(1, 31):
        streams.append(await dial(url))
        assert runner.open_connections <= 20

        def made_room(n: int = n) -> bool:  # the server accepted it, closing the oldest idle at the cap
            return runner.open_connections == min(n, 20) and sum(map(is_closed, streams)) == max(0, n - 20)

        await until(made_room, f"connection {n} accepted, {max(0, n - 20)} closed to make room")
        assert runner.open_connections <= 20
    assert await get(url) == 200
    assert runner.open_connections <= 20
    await until(lambda: sum(map(is_closed, streams)) == 11, "the 11th close to reach its client")
    # 30 idle, then the normal client: the 11 oldest made room, in accept order.
    assert [is_closed(stream) for stream in streams] == [True] * 11 + [False] * 19
    assert await exchange(streams[-1]) == 200  # a kept one still works


async def test_at_the_cap_with_every_connection_busy_a_new_one_is_closed_at_once(
    echo_runner: Echo, dial: Callable[[str], Awaitable[Stream]]
) -> None:
    runner, url, release = echo_runner
    busy = [await dial(url) for _ in range(3)]
    for _, writer in busy:
        writer.write(b"GET /hold HTTP/1.1\r\nHost: mock\r\n\r\n")
    await until(lambda: runner.open_connections == 3, "the three busy connections accepted")
    reader, _ = await dial(url)
    assert await seconds_until_closed(reader, limit=1) < 1
    assert runner.open_connections == 3
    release.set()
    for stream in busy:  # the requests in progress were kept
        head = await asyncio.wait_for(stream[0].readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200"), head


def test_the_cap_leaves_the_reserve_of_the_file_limit_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert connection_cap(1000) == 1024 - file_reserve()
    assert file_reserve() >= 3 * 64  # the process's own files, and more than one backlog in flight
    assert connection_cap(100) == 100
    monkeypatch.setattr(resource, "getrlimit", lambda _: (256, 256))  # macOS's default soft limit
    assert backlog_for(256) == 16 and connection_cap(1000) == 256 - file_reserve(16) >= 64
    monkeypatch.setattr(resource, "getrlimit", lambda _: (60, 60))
    assert connection_cap(1000) == 1  # never none at all
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert connection_cap(1000) == 1000


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [("header_timeout", 0, "header_timeout must be a positive"), ("max_connections", 0, "at least 1")],
)
def test_bad_limits_are_refused_by_name(argument: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GuardedRunner(web.Application(), **{argument: value})  # type: ignore[arg-type]


async def test_a_handler_argument_aiohttp_does_not_know_fails_the_setup() -> None:
    runner = GuardedRunner(web.Application(), keepalive_timeuot=5)
    with pytest.raises(TypeError, match="keepalive_timeuot"):
        await runner.setup()
    await runner.cleanup()


# --- the test: the dev server under `ulimit -n 1024`
LIMIT = 1024
IDLE = 1100


@contextlib.contextmanager
def own_file_limit_raised(needed: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the test holds {IDLE} sockets; this process may open only {hard} files (hard limit)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def limited_to_1024_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def test_1100_idle_sockets_under_ulimit_1024_leave_the_server_answering(tmp_path: Path) -> None:
    ready, errors = tmp_path / "ready", tmp_path / "stderr"
    with errors.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=limited_to_1024_files,
        )
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert server.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the server did not start within 20 s"
            time.sleep(0.02)
        url = ready.read_text().strip()
        port = int(url.rsplit(":", 1)[1])
        with own_file_limit_raised(IDLE + 256):
            # Paced, so the listen queue keeps up, until the server holds about as many sockets
            # as its limit allows; then the last 100 at once, as a burst it must absorb at its cap.
            for n in range(IDLE):
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10))
                if n < IDLE - 100 and n % 16 == 15:
                    time.sleep(0.002)  # the pace is the subject: the listen queue keeps up
            wait_until(lambda: accepted_and_read(port, 0), "the burst accepted")
            request = urllib.request.Request(url + HISTORY, headers={"Authorization": BASIC})
            began = time.monotonic()
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
            assert time.monotonic() - began < 5
            for sock in sockets:
                sock.setblocking(False)
            closed = sum(1 for sock in sockets if _closed_by_peer(sock))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            for sock in sockets:
                sock.close()
    log = errors.read_text()
    assert "Too many open files" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert server.returncode == 0, log[-3000:]
    # It must have shed idle sockets: holding all of them would take more than its 1,024 files.
    assert closed >= IDLE - LIMIT, f"only {closed} of {IDLE} idle sockets were closed by the server"


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def soft_limit_256() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


@pytest.mark.parametrize(
    "limits", [soft_limit_256, lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))]
)
def test_a_low_file_limit_still_serves_clients_at_once(tmp_path: Path, limits: Any) -> None:
    """macOS's default soft limit is 256: serve lifts it to the hard one where it can, and under a
    hard 256 it still serves dozens of clients at once, not one."""
    scenario, ready = tmp_path / "slow.yaml", tmp_path / "ready"
    scenario.write_text("description: slow history\nfaults: [{endpoint: history, latency: 1s}]\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--scenario", str(scenario),
         "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limits,
    )  # fmt: skip
    try:
        url = ready_url(ready, server) + HISTORY
        codes: list[int] = []

        def slow_call() -> None:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": BASIC})) as r:
                codes.append(r.status)

        threads = [threading.Thread(target=slow_call) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert codes == [200] * 20  # twenty slow requests at once, all served
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)
