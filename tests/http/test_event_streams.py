"""The dashboard's event streams are bounded in time (``mock_server/http/events.py``): a client that
stops reading loses its place, a stream ends at its age, and a tab that finds every place taken is
told, in a 200 event stream, when to come back. Over real sockets, with small limits."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from mock_server import ManualClock, create_app
from mock_server.api.operations import BASE_PATH
from mock_server.http.dashboard import EVENT_STREAMS, EVENTS_STOPPING, EventStreams
from tests.support.constants import BASIC_ADMIN

Serve = Callable[..., Awaitable[tuple[TestClient[Any, Any], EventStreams]]]
#: How many places the tests hold: the default.
SLOTS = EventStreams().slots


@pytest.fixture
def serve(aiohttp_client: Any) -> Serve:
    """The mock on a real socket, its event streams with the limits given."""

    async def make(**limits: Any) -> tuple[TestClient[Any, Any], EventStreams]:
        app = create_app(clock=ManualClock())
        app[EVENT_STREAMS] = streams = EventStreams(**limits)
        return await aiohttp_client(app), streams

    return make


def stalled_stream(client: TestClient[Any, Any]) -> socket.socket:
    """A dashboard tab whose reader is stuck: it asks for the stream, then never reads a byte.
    A small receive buffer, so that the server's writes back up soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", client.port))
    sock.sendall(b"GET /__admin/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock


async def first_event(client: TestClient[Any, Any]) -> tuple[str, dict[str, Any], int]:
    """A new stream's first event, its data and the ``retry:`` it set; the stream is closed."""
    async with client.get("/__admin/events") as answer, asyncio.timeout(5):
        assert answer.status == 200 and answer.headers["Content-Type"] == "text/event-stream"
        received = b""
        async for chunk in answer.content.iter_any():  # a state may be megabytes on one line
            received += chunk
            if (
                found := re.search(rb"retry: (\d+)\n\nevent: (\w+)\ndata: ([^\n]*)\n\n", received)
            ) is not None:
                return found[2].decode(), json.loads(found[3]), int(found[1])
    raise AssertionError(f"the stream ended before its first event: {received[:200]!r}")


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Wait for ``check()`` to hold, at most ``within`` seconds; how long it took."""
    began = time.monotonic()
    while not await check():
        assert time.monotonic() - began < within, f"{what}: not within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def test_a_tab_finding_every_place_taken_is_told_when_to_come_back(serve: Serve) -> None:
    """A browser's EventSource gives up for good after a non-200 answer: this one is a 200."""
    client, streams = await serve(slots=1, busy_retry_ms=1234)
    async with client.get("/__admin/events") as held:
        await until("the first stream to hold its place", lambda: _true(len(streams.open) == 1), 2)
        async with client.get("/__admin/events") as busy:
            assert busy.status == 200 and busy.headers["Content-Type"] == "text/event-stream"
            body = (await asyncio.wait_for(busy.content.read(), 2)).decode()  # it ends by itself
        assert body.startswith("retry: 1234\n\nevent: busy\ndata: ") and body.endswith("\n\n")
        data = json.loads(body.split("data: ", 1)[1])
        assert data["retryMs"] == 1234 and "1 event streams are open already" in data["message"]
        assert held.status == 200
    assert len(streams.open) <= 1


async def test_streams_that_stop_reading_lose_their_places_while_the_server_writes(serve: Serve) -> None:
    """16 tabs stuck on a page that never reads, while API requests change what the streams carry
    (jobs of 800 KB each: the kernel's buffers fill at once). Each stuck stream is cut within the
    write timeout, and a new tab gets a place."""
    client, streams = await serve(write_timeout_s=0.5, tick_s=0.05)
    stuck = [stalled_stream(client) for _ in range(SLOTS)]
    try:
        await until("every stuck tab to hold a place", lambda: _true(len(streams.open) == SLOTS), 5)
        assert (await first_event(client))[0] == "busy"
        headers = {"Authorization": BASIC_ADMIN}
        for n in range(3):  # API requests, each changing the snapshot every stream sends
            excluded = [f"/content/dam/{n}-{i}-" + "x" * 4000 for i in range(200)]
            body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "excludedPaths": excluded}
            async with client.post(BASE_PATH, json=body, headers=headers) as started:
                assert started.status == 200, await started.text()
                job = {"processingId": (await started.json())["processingId"]}
            async with client.post(f"{BASE_PATH}/cancel", json=job, headers=headers) as cancelled:
                assert cancelled.status == 200  # the path is free again, and the job changed
        await until("the stuck streams to be cut", lambda: _true(not streams.open), 0.5 + 1)  # from the last
        assert (await first_event(client))[0] == "state"  # a new tab gets a place
        for sock in stuck:  # and the stuck connections are gone, their megabytes with them
            assert cut_off(sock) == "reset"
    finally:
        for sock in stuck:
            sock.close()


def cut_off(sock: socket.socket) -> str:
    """How the server left ``sock``: ``reset`` (what it had sent is dropped with the connection),
    ``closed`` (only once every byte it had sent is read) or ``open``."""
    sock.settimeout(2)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "open"
    return "closed"


async def test_an_idle_stream_ends_at_its_age_so_a_stuck_tab_frees_its_place(serve: Serve) -> None:
    """Nothing changes, so nothing fills a buffer: the stream's age is what frees the place. A
    reading tab gets the end with a short retry, and its browser comes back at once."""
    client, streams = await serve(max_age_s=0.5, tick_s=0.05)
    stuck = [stalled_stream(client) for _ in range(SLOTS - 1)]
    try:
        async with client.get("/__admin/events") as reading:
            await until("every tab to hold a place", lambda: _true(len(streams.open) == SLOTS), 5)
            assert (await first_event(client))[0] == "busy"
            began = time.monotonic()
            body = (await asyncio.wait_for(reading.content.read(), 5)).decode()  # the stream ends
            assert time.monotonic() - began < 0.5 + 1
        assert body.startswith("retry: 2000\n\nevent: state\ndata: ") and body.endswith("\n\nretry: 250\n\n")
        await until("the stuck tabs' places to be free", lambda: _true(not streams.open), 1)
        assert (await first_event(client))[0] == "state"
    finally:
        for sock in stuck:
            sock.close()


def mocked_stream_request(transport: mock.Mock, writer: Any = None) -> web.Request:
    app = web.Application()
    app[EVENTS_STOPPING] = asyncio.Event()
    extra = {"writer": writer} if writer is not None else {}
    return make_mocked_request("GET", "/__admin/events", app=app, transport=transport, **extra)


async def test_a_write_buffer_that_never_empties_cuts_the_stream() -> None:
    """The kernel took part of a write and the rest waits in the transport, below the size at
    which a write would block: no write times out, yet nobody reads. (A stand-in transport: on a
    socket this state lasts too short to test on purpose.)"""
    transport = mock.Mock(
        is_closing=mock.Mock(return_value=False), get_write_buffer_size=mock.Mock(return_value=1)
    )
    streams = EventStreams(write_timeout_s=0.2, tick_s=0.02)
    await asyncio.wait_for(streams.serve(mocked_stream_request(transport), lambda: "{}"), 2)
    transport.abort.assert_called_once()
    assert not streams.open


async def test_every_write_has_a_timeout() -> None:
    """A write that never completes (a stand-in writer; on a socket the test above shows it)."""
    transport = mock.Mock(
        is_closing=mock.Mock(return_value=False), get_write_buffer_size=mock.Mock(return_value=0)
    )
    writer = mock.Mock(write_headers=mock.AsyncMock(), write=mock.AsyncMock(side_effect=never),
                       write_eof=mock.AsyncMock(), drain=mock.AsyncMock())  # fmt: skip
    streams = EventStreams(write_timeout_s=0.2, tick_s=0.02)
    await asyncio.wait_for(streams.serve(mocked_stream_request(transport, writer), lambda: "{}"), 2)
    transport.abort.assert_called_once()
    assert not streams.open


async def never(*args: Any, **kwargs: Any) -> None:
    await asyncio.Event().wait()


async def _true(value: bool) -> bool:
    return value
