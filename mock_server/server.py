"""Running the app on a real socket: the dev server's lifecycle, on aiohttp's own runner."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TextIO

from aiohttp import web

from .api import BASE_PATH
from .app import MOCK
from .scenarios import ScenarioError, read_file

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
    mock = app[MOCK]
    admin = (
        "off"
        if not settings.admin_enabled
        else f"{url}/__admin" + (" (X-Admin-Token)" if settings.admin_token else " (loopback only)")
    )
    lines = [
        f"aem-guides-mock serving AEM Guides' bulk asset processing API at {url}",
        f"  base path:   {url}{BASE_PATH}",
        f"  scenario:    {mock.scenario.name}: {mock.scenario.description}",
        f"  admin API:   {admin}",
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
    app: web.Application, host: str, port: int, out: TextIO, access_log: bool, watch: Path | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner, url = await start_site(app, host, port, access_log=access_log)
    watcher = asyncio.create_task(watch_scenario(app, watch, out)) if watch else None
    try:
        print(banner(app, url), file=out, flush=True)
        await stop.wait()
        print("stopping...", file=out, flush=True)
    finally:
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()


async def watch_scenario(app: web.Application, path: Path, out: TextIO, interval: float = 0.3) -> None:
    """Reload the scenario at ``path`` whenever it changes; a broken edit keeps the last good one."""
    mock = app[MOCK]

    def stamp() -> tuple[float, int] | None:
        try:
            info = path.stat()
        except OSError:
            return None
        return (info.st_mtime, info.st_size)

    seen = stamp()
    while True:
        await asyncio.sleep(interval)
        now = stamp()
        if now == seen or now is None:
            continue
        seen = now
        try:
            scenario = read_file(path)
        except ScenarioError as error:
            print(
                f"scenario not reloaded; still serving {mock.scenario.name!r}:\n{error}", file=out, flush=True
            )
            continue
        mock.load(scenario)
        print(f"scenario reloaded: {scenario.name}: {scenario.description}", file=out, flush=True)


def run(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 4502,
    *,
    out: TextIO | None = None,
    access_log: bool = False,
    watch: Path | None = None,
) -> int:
    """Serve ``app`` until SIGINT or SIGTERM; reload the scenario file ``watch`` when it changes.

    Returns the exit status."""
    try:
        asyncio.run(_serve_until_stopped(app, host, port, out or sys.stdout, access_log, watch))
    except OSError as error:
        print(f"aem-guides-mock: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0
