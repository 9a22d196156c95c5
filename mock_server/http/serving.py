"""Serving an app on a real socket, on aiohttp's own runner: for the dev server and MockServer alike."""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiohttp import web

from .connections import GuardedRunner

__all__ = ["SHUTDOWN_TIMEOUT_S", "start_site"]

SHUTDOWN_TIMEOUT_S = 2.0
"""How long a stop waits for requests in flight (downloads included) before it cuts them."""


async def start_site(
    app: web.Application,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    header_timeout: float = 10.0,
    max_connections: int = 1000,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[GuardedRunner, str]:
    """Serve ``app`` on ``host:port`` (0 picks a free port); return the runner and the base URL
    (``https://`` with an ``ssl_context``: :mod:`.tls`).

    A connection must send a request's headers within ``header_timeout`` seconds; at most
    ``max_connections`` are open, fewer under a low file limit (see :mod:`.connections`)."""
    runner = GuardedRunner(
        app,
        header_timeout=header_timeout,
        max_connections=max_connections,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    if ssl_context is None:
        site = web.TCPSite(runner, host, port, backlog=runner.backlog)
    else:
        site = _TlsSite(runner, host, port, backlog=runner.backlog, ssl_context=ssl_context)
        site.handshake_timeout = header_timeout
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()  # a failed start leaves nothing running
        raise
    bound = runner.addresses[0]
    shown_host = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    scheme = "https" if ssl_context is not None else "http"
    return runner, f"{scheme}://{shown_host}:{bound[1]}"


class _TlsSite(web.TCPSite):
    """aiohttp's TCP site, with a bound on the TLS handshake: a connection that has not finished
    its handshake within ``handshake_timeout`` seconds (the header timeout) is closed. asyncio's own
    bound is 60 s, and a connection in its handshake is not yet one the guard counts
    (:mod:`.connections`): silent connections would hold sockets that long. Mirrors
    ``TCPSite.start`` with the one argument aiohttp does not pass."""

    handshake_timeout = 10.0

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            ssl_handshake_timeout=self.handshake_timeout,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port
