"""The dev server's lifecycle (``aem-guides-mock serve``): serve until a signal, print the banner,
write the ready file, reload a watched scenario file. :class:`~.server.MockServer` is the mock on a
socket inside a test's process."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TextIO

from aiohttp import web

from ._version import __version__
from .api.operations import BASE_PATH
from .core.settings import Settings
from .exits import Exit, fail
from .http.runtime import MOCK
from .http.serving import start_site
from .http.tls import Tls
from .scenarios.reading import read_file

__all__ = ["banner", "run", "watch_scenario"]


def banner(app: web.Application, url: str, ca_path: Path | None = None) -> str:
    """What the dev server prints once it accepts connections: where, who, which clock, and a
    curl line to start with (and one to move a manual clock); over HTTPS, the CA to trust."""
    mock = app[MOCK]
    curl = "curl" if ca_path is None else f"curl --cacert {ca_path}"
    settings = mock.settings
    user, password = next(iter(settings.users.items()), ("admin", "admin"))
    wildcard = _from_here(url) != url  # bound to every address: a container's or a shared machine's
    call, port = _for_a_host(url), url.rsplit(":", 1)[-1]
    mapped = f"from outside a container, the host port mapped to this one, as with -p {port}:{port}"
    if not settings.admin_enabled:
        admin = "off"
    elif settings.admin_token:
        admin = f"{_from_here(url)}/__admin (X-Admin-Token)"
    elif wildcard:  # a client through a port mapping is not loopback
        admin = (f"{_from_here(url)}/__admin (loopback only: from outside this machine or container, "
                 "only with AEM_GUIDES_MOCK_ADMIN_TOKEN set)")  # fmt: skip
    else:
        admin = f"{_from_here(url)}/__admin (loopback only)"
    credentials = f"{user}:{password} (HTTP Basic)"
    if settings.tokens:  # development credentials, shown like the Basic one
        tokens = ", ".join(f"{token} ({who})" for token, who in settings.tokens.items())
        credentials += f"; Bearer token(s): {tokens}"
    if settings.login_tokens:
        sessions = ", ".join(f"{cookie} ({who})" for cookie, who in settings.login_tokens.items())
        credentials += f"; login-token cookie(s): {sessions}"
    lines = [
        f"aem-guides-mock {__version__} serving AEM Guides' bulk asset processing API at {url}",
        *([f"  from a host: {call} (or this machine's name; {mapped})"] if wildcard else []),
        f"  base path:   {call}{BASE_PATH}",
        f"  scenario:    {mock.scenario.name}: {mock.scenario.description}",
        f"  admin API:   {admin}",
        *([f"  dashboard:   {_from_here(url)}/__admin/ui/"] if settings.admin_enabled else []),
        f"  credentials: {credentials}",
        *_ims_lines(call, settings),
        f"  pace:        {settings.effective_per_asset_ms} ms per asset (speed x{settings.speed:g})",
        f"  clock:       {_clock_line(settings)}",
        *(_tls_lines(url, ca_path)),
        "  try:",
        f"    {curl} -u {user}:{password} -H 'Content-Type: application/json' "
        f'-d \'{{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}}\' {call}{BASE_PATH}',
        f"    {curl} -u {user}:{password} '{call}{BASE_PATH}/history'",
    ]
    if settings.clock == "manual" and settings.admin_enabled:
        token = f" -H 'X-Admin-Token: {settings.admin_token}'" if settings.admin_token else ""
        lines.append(
            f"    {curl} -X POST{token} -H 'Content-Type: application/json' -d '{{\"seconds\": 5}}' "
            f"{_from_here(url)}/__admin/clock/advance   # move the clock 5 s"
        )
    if settings.vary is not None:
        lines.append(f"  vary:        seed {settings.vary}: answers vary within the contract; "
                     f"{_from_here(url)}/__admin/journal names how")  # fmt: skip
    lines += [f"  warning:     {warning}" for warning in mock.warnings]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _ims_lines(call: str, settings: Settings) -> list[str]:
    if not settings.ims_clients:
        return []
    clients = ", ".join(sorted(settings.ims_clients))
    lasts = f"{settings.ims_token_ttl_ms / 1000:g} s"
    return [f"  IMS:         POST {call}/ims/token/v3 (client_credentials) for {clients} (secrets not "
            f"shown); a token lasts {lasts} on the mock's clock"]  # fmt: skip


def _tls_lines(url: str, ca_path: Path | None) -> list[str]:
    if not url.startswith("https://"):
        return []
    if ca_path is None:
        return ["  tls:         HTTPS with the certificate given (--tls-cert, --tls-key)"]
    return [
        f"  tls:         HTTPS; its certificate is issued by a test CA made at start: {ca_path}",
        f"               trust it: curl --cacert {ca_path}; NODE_EXTRA_CA_CERTS={ca_path}; Python "
        f"ssl.create_default_context(cafile=...); Java: keytool -importcert -file {ca_path}",
    ]


def _from_here(url: str) -> str:
    """``url`` as a client on this machine calls it: a wildcard address is not a host to call (and
    the admin API answers loopback names only)."""
    return url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")


def _for_a_host(url: str) -> str:
    """``url`` bound to every address, as a host calls it: ``localhost`` resolves to IPv4 or IPv6,
    whichever a port mapping (``docker run -p``) forwards."""
    return url.replace("://0.0.0.0:", "://localhost:").replace("://[::]:", "://localhost:")


def _clock_line(settings: Settings) -> str:
    if settings.clock == "manual":
        return "manual: jobs move only when the clock is advanced (the admin API below)"
    if settings.clock == "per-poll":
        return f"per-poll: each status poll moves it {settings.poll_step_ms} ms"
    return "real" + (f", jobs at x{settings.speed:g} speed" if settings.speed != 1 else "")


async def _serve_until_stopped(
    app: web.Application,
    host: str,
    port: int,
    out: TextIO,
    access_log: bool,
    watch: Path | None,
    ready_file: Path | None,
    tls: Tls | None,
    ca_path: Path | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    settings = app[MOCK].settings
    runner, url = await start_site(
        app,
        host,
        port,
        access_log=access_log,
        header_timeout=settings.header_timeout_ms / 1000,
        max_connections=settings.max_connections,
        ssl_context=None if tls is None else tls.context,
    )
    # The file's stamp is taken now, before the banner and the ready file: an edit made as soon as
    # the server is ready must count as a change.
    watcher = asyncio.create_task(watch_scenario(app, watch, out, since=_stamp(watch))) if watch else None
    try:
        print(banner(app, url, ca_path), file=out, flush=True)
        if ready_file is not None:  # written whole, then renamed: a reader never sees half a URL
            partial = ready_file.with_name(ready_file.name + ".partial")
            partial.write_text(url + "\n", encoding="utf-8")
            partial.replace(ready_file)
        await stop.wait()
        print("stopping...", file=out, flush=True)
    finally:
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


async def watch_scenario(
    app: web.Application,
    path: Path,
    out: TextIO,
    interval: float = 0.3,
    since: tuple[int, int] | None = None,
) -> None:
    """Reload the scenario at ``path`` whenever it changes from ``since`` (its stamp when read;
    by default, now); a broken edit keeps the last good one."""
    mock = app[MOCK]
    seen = since or _stamp(path)
    while True:
        await asyncio.sleep(interval)
        now = _stamp(path)
        if now == seen or now is None:
            continue
        seen = now
        try:
            scenario = await mock.load_in_thread(lambda: read_file(path))
        except Exception as error:  # whatever went wrong, the last good scenario keeps serving
            kept = mock.scenario.name
            print(f"scenario not reloaded; still serving {kept!r}:\n{error}", file=out, flush=True)
            continue
        print(f"scenario reloaded: {scenario.name}: {scenario.description}", file=out, flush=True)
        for warning in mock.warnings:
            print(f"  warning: {warning}", file=out, flush=True)


def run(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 4502,
    *,
    out: TextIO | None = None,
    access_log: bool = False,
    watch: Path | None = None,
    ready_file: Path | None = None,
    tls: Tls | None = None,
    ca_path: Path | None = None,
) -> int:
    """Serve ``app`` until SIGINT or SIGTERM (over HTTPS with ``tls``, its test CA written to
    ``ca_path``); reload the scenario file ``watch`` when it changes.

    Once it accepts connections it writes its base URL to ``ready_file``, if given; the file is
    removed first, and again at exit, so that a harness never reads a stale URL. Returns the exit
    status."""
    _remove(ready_file)
    try:
        asyncio.run(
            _serve_until_stopped(
                app, host, port, out or sys.stdout, access_log, watch, ready_file, tls, ca_path
            )
        )
    except OSError as error:  # a setup error: the port, or the ready file (which names itself)
        if error.filename is not None:
            return fail(f"cannot write {error.filename}: {error.strerror or error}", Exit.SETUP)
        return fail(f"cannot listen on {host}:{port}: {error.strerror}", Exit.SETUP)
    finally:
        _remove(ready_file)
    return 0


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
