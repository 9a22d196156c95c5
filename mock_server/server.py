"""Running the app on a real socket: the dev server's lifecycle, on aiohttp's own runner."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TextIO

from aiohttp import web

from .api import BASE_PATH
from .app import MOCK

__all__ = ["banner", "run", "start_site"]

SHUTDOWN_TIMEOUT_S = 2.0


async def start_site(
    app: web.Application, host: str, port: int, *, access_log: bool = False
) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``host:port`` (0 picks a free port); return the runner and the base URL."""
    runner = web.AppRunner(
        app,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    shown_host = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return runner, f"http://{shown_host}:{bound[1]}"


def banner(app: web.Application, url: str) -> str:
    """What the dev server prints once it accepts connections."""
    settings = app[MOCK].settings
    user, password = next(iter(settings.users.items()), ("admin", "admin"))
    lines = [
        f"aem-guides-mock serving AEM Guides' bulk asset processing API at {url}",
        f"  base path:   {url}{BASE_PATH}",
        f"  credentials: {user}:{password} (HTTP Basic)"
        + (f"; {len(settings.tokens)} Bearer token(s)" if settings.tokens else ""),
        f"  pace:        {settings.effective_per_asset_ms} ms per asset (speed x{settings.speed:g})",
        "  try:",
        f"    curl -u {user}:{password} -H 'Content-Type: application/json' "
        f'-d \'{{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}}\' {url}{BASE_PATH}',
        f"    curl -u {user}:{password} '{url}{BASE_PATH}/history'",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


async def _serve_until_stopped(
    app: web.Application, host: str, port: int, out: TextIO, access_log: bool
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner, url = await start_site(app, host, port, access_log=access_log)
    try:
        print(banner(app, url), file=out, flush=True)
        await stop.wait()
        print("stopping...", file=out, flush=True)
    finally:
        await runner.cleanup()


def run(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 4502,
    *,
    out: TextIO | None = None,
    access_log: bool = False,
) -> int:
    """Serve ``app`` until SIGINT or SIGTERM; return the exit status."""
    try:
        asyncio.run(_serve_until_stopped(app, host, port, out or sys.stdout, access_log))
    except OSError as error:
        print(f"aem-guides-mock: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0
