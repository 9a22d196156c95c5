"""Serving an app on a real socket, on aiohttp's own runner: for the dev server and MockServer alike."""

from __future__ import annotations

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
    site = web.TCPSite(runner, host, port, backlog=runner.backlog, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()  # a failed start leaves nothing running
        raise
    bound = runner.addresses[0]
    shown_host = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    scheme = "https" if ssl_context is not None else "http"
    return runner, f"{scheme}://{shown_host}:{bound[1]}"
