"""What the proxy's tests share: a fake author, a canary host that must never be called, the proxy
on a real socket (with the connection guard, as the command runs it), and raw-socket exchanges
(aiohttp and urllib normalize a target; a socket sends it as written)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from mock_server.http.proxy import PROXY, Proxy, proxy_app
from mock_server.http.serving import start_site
from tests.support import waiting

#: How long a raw exchange may take before the test fails instead of hanging.
PATIENCE_S = 5.0


class FakeAuthor:
    """A tiny upstream: answers ``answers[path]`` (status, JSON) or ``{}``, and keeps what it got."""

    def __init__(self, answers: dict[str, tuple[int, Any]], headers: dict[str, str] | None = None) -> None:
        self.answers = answers
        self.headers = headers or {}
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.raw_path, dict(request.headers), await request.read()))
        status, body = self.answers.get(request.path, (200, {}))
        if callable(body):
            body = body(request)
            if isinstance(body, Awaitable):
                body = await body
        if isinstance(body, web.StreamResponse):
            return body
        return web.json_response(body, status=status, headers=self.headers)


class Canary:
    """A listening socket that keeps the first bytes of every connection it gets: a host the proxy
    must never contact."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.contacts: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Canary:
        self._server = await asyncio.start_server(self._contacted, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _contacted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.contacts.append(await asyncio.wait_for(reader.read(300), PATIENCE_S))
        finally:
            writer.close()

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


@contextlib.asynccontextmanager
async def proxy_on_socket(upstream: str, **options: Any) -> AsyncIterator[tuple[str, Proxy]]:
    """The proxy to ``upstream`` served by :func:`start_site`, as the command serves it: its URL and
    its state. ``options`` go to :func:`proxy_app`."""
    app = proxy_app(upstream, **options)
    runner, url = await start_site(app, "127.0.0.1", 0)
    try:
        yield url, app[PROXY]
    finally:
        await runner.cleanup()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def open_raw(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port_of(url))


async def raw_exchange(url: str, data: bytes) -> bytes:
    """Send ``data`` as it is on a new connection; everything that comes back until it closes."""
    reader, writer = await open_raw(url)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), PATIENCE_S)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    """The status of a raw answer (``HTTP/1.1 400 Bad Request…``)."""
    return int(answer.split(b" ", 2)[1])


def json_of(answer: bytes) -> Any:
    """The JSON body of a raw answer that is not chunked."""
    return json.loads(answer.partition(b"\r\n\r\n")[2])


async def until(condition: Callable[[], bool], what: str, deadline_s: float = PATIENCE_S) -> None:
    """Wait for ``condition`` (polled on the loop), failing with ``what`` after the deadline."""
    await waiting.until(condition, what, deadline_s)
