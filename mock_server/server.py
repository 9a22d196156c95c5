"""Running the app on a real socket: the dev server's lifecycle, on aiohttp's own runner."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, TypeVar

from aiohttp import web

from ._version import __version__
from .api.operations import BASE_PATH, OPERATION_NAMES
from .api.payloads import job_payload
from .core.clock import ManualClock
from .core.journal import Exchange, select
from .core.settings import Settings
from .exits import Exit, fail
from .http.app import app_for
from .http.connections import GuardedRunner
from .http.runtime import DEFAULT_SCENARIO, MOCK, Mock
from .scenarios.reading import load_scenario, parse_scenario, read_file
from .scenarios.scenario import Scenario

T = TypeVar("T")

__all__ = ["MockServer", "banner", "run", "start_site"]

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
) -> tuple[GuardedRunner, str]:
    """Serve ``app`` on ``host:port`` (0 picks a free port); return the runner and the base URL.

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
    site = web.TCPSite(runner, host, port, backlog=runner.backlog)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()  # a failed start leaves nothing running
        raise
    bound = runner.addresses[0]
    shown_host = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return runner, f"http://{shown_host}:{bound[1]}"


def banner(app: web.Application, url: str) -> str:
    """What the dev server prints once it accepts connections: where, who, which clock, and a
    curl line to start with (and one to move a manual clock)."""
    mock = app[MOCK]
    settings = mock.settings
    user, password = next(iter(settings.users.items()), ("admin", "admin"))
    admin = (
        "off"
        if not settings.admin_enabled
        else f"{_from_here(url)}/__admin"
        + (" (X-Admin-Token)" if settings.admin_token else " (loopback only)")
    )
    credentials = f"{user}:{password} (HTTP Basic)"
    if settings.tokens:  # development credentials, shown like the Basic one
        tokens = ", ".join(f"{token} ({who})" for token, who in settings.tokens.items())
        credentials += f"; Bearer token(s): {tokens}"
    if settings.login_tokens:
        sessions = ", ".join(f"{cookie} ({who})" for cookie, who in settings.login_tokens.items())
        credentials += f"; login-token cookie(s): {sessions}"
    lines = [
        f"aem-guides-mock {__version__} serving AEM Guides' bulk asset processing API at {url}",
        f"  base path:   {url}{BASE_PATH}",
        f"  scenario:    {mock.scenario.name}: {mock.scenario.description}",
        f"  admin API:   {admin}",
        *([f"  dashboard:   {_from_here(url)}/__admin/ui/"] if settings.admin_enabled else []),
        f"  credentials: {credentials}",
        f"  pace:        {settings.effective_per_asset_ms} ms per asset (speed x{settings.speed:g})",
        f"  clock:       {_clock_line(settings)}",
        "  try:",
        f"    curl -u {user}:{password} -H 'Content-Type: application/json' "
        f'-d \'{{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}}\' {url}{BASE_PATH}',
        f"    curl -u {user}:{password} '{url}{BASE_PATH}/history'",
    ]
    if settings.clock == "manual" and settings.admin_enabled:
        token = f" -H 'X-Admin-Token: {settings.admin_token}'" if settings.admin_token else ""
        lines.append(
            f"    curl -X POST{token} -H 'Content-Type: application/json' -d '{{\"seconds\": 5}}' "
            f"{_from_here(url)}/__admin/clock/advance   # move the clock 5 s"
        )
    if settings.vary is not None:
        lines.append(f"  vary:        seed {settings.vary}: answers vary within the contract; "
                     f"{_from_here(url)}/__admin/journal names how")  # fmt: skip
    lines += [f"  warning:     {warning}" for warning in mock.warnings]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _from_here(url: str) -> str:
    """``url`` as a client on this machine calls it: a wildcard address is not a host to call (and
    the admin API answers loopback names only)."""
    return url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")


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
    )
    # The file's stamp is taken now, before the banner and the ready file: an edit made as soon as
    # the server is ready must count as a change.
    watcher = asyncio.create_task(watch_scenario(app, watch, out, since=_stamp(watch))) if watch else None
    try:
        print(banner(app, url), file=out, flush=True)
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
) -> int:
    """Serve ``app`` until SIGINT or SIGTERM; reload the scenario file ``watch`` when it changes.

    Once it accepts connections it writes its base URL to ``ready_file``, if given; the file is
    removed first, and again at exit, so that a harness never reads a stale URL. Returns the exit
    status."""
    _remove(ready_file)
    try:
        asyncio.run(_serve_until_stopped(app, host, port, out or sys.stdout, access_log, watch, ready_file))
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


class MockServer:
    """The mock on a real socket, for tests in any framework.

    In a background thread with its own event loop::

        with MockServer(scenario="fail-midway") as server:
            requests.post(server.url + BASE_PATH, json=..., auth=server.auth)
            server.advance(5)

    or in the running event loop, for asyncio code::

        async with MockServer() as server:
            ...

    The port is picked free (port 0) unless given. The clock is a manual one, moved only by
    :meth:`advance`, unless the scenario pins another or the environment (``AEM_GUIDES_MOCK_CLOCK``)
    or ``overrides`` say otherwise: settings merge as everywhere (:func:`~.settings.resolve`).
    Calls from other threads run in the server's loop, so a test never races a request.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario | None = None,
        *,
        settings: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        default_clock: str = "manual",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.mock = Mock(
            _as_scenario(scenario),
            base=settings,
            environ=os.environ if environ is None else environ,
            overrides=overrides,
            default_clock=default_clock,
        )
        _say_warnings(self.mock)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- lifecycle
    def start(self) -> MockServer:
        """Serve in a background thread; return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this MockServer is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._runner, self.url = loop.run_until_complete(self._start_site())
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            left = asyncio.all_tasks(loop)  # handlers of connections cut by the stop: let them end
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left))
            loop.close()

        self._thread = threading.Thread(target=serve, name="aem-guides-mock", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join(timeout=10)
            self._thread, self._loop = None, None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread, self._loop, self.url = None, None, ""

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        self._runner, self.url = await self._start_site()
        return self

    async def _start_site(self) -> tuple[web.AppRunner, str]:
        settings = self.mock.settings  # the listener's limits, as the dev server takes them
        return await start_site(
            app_for(self.mock),
            self._host,
            self._port,
            header_timeout=settings.header_timeout_ms / 1000,
            max_connections=settings.max_connections,
        )

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner, self.url = None, ""

    # --- control
    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` in the server's loop (at once when there is no other thread)."""
        loop = self._loop
        if self._thread is None or loop is None or threading.current_thread() is self._thread:
            return function()

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    @property
    def base_url(self) -> str:
        """The URL of the bulk asset processing API: ``url`` + ``/bin/guides/v1/assets/process``."""
        return self.url + BASE_PATH

    @property
    def auth(self) -> tuple[str, str]:
        """The first Basic user and its password, e.g. for ``requests``' ``auth=``."""
        return next(iter(self.mock.settings.users.items()), ("admin", "admin"))

    @property
    def headers(self) -> dict[str, str]:
        """An ``Authorization`` header for the first Basic user."""
        user, password = self.auth
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    def advance(self, seconds: float) -> int:
        """Move the manual clock; return the new time in epoch ms."""
        clock = self.mock.clock
        if not isinstance(clock, ManualClock):
            raise TypeError(f"the clock is {clock!r}: only a manual clock can be advanced")
        return self.call(lambda: clock.advance(seconds))

    def reset(self) -> None:
        """Forget jobs and the journal, rewind a manual clock, restart fault counters."""
        self.call(self.mock.reset)

    def load_scenario(self, scenario: str | Path | Scenario, *, origin: str = "load_scenario()",
                      **overrides: Any) -> None:  # fmt: skip
        """Load a shipped scenario, a file, a YAML document or a :class:`Scenario`, with settings
        ``overrides`` on top (``origin`` names them in an error)."""
        loaded = _as_scenario(scenario)
        self.call(lambda: self.mock.load(loaded, overrides, origin))
        _say_warnings(self.mock)

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """Every job, as the job object of the contract, oldest first."""
        return self.call(lambda: [job_payload(job, self.mock.settings) for job in self.mock.engine.jobs()])

    @property
    def journal(self) -> list[Exchange]:
        """Every exchange so far, oldest first."""
        return self.call(lambda: list(self.mock.journal))

    def calls(
        self,
        operation: str | None = None,
        *,
        method: str | None = None,
        status: int | None = None,
        violations: bool | None = None,
        warnings: bool | None = None,
    ) -> list[Exchange]:
        """The journal's exchanges that match every filter given, oldest first, to assert on::

            assert len(server.calls("start", status=400)) == 1

        ``operation`` is a name of the operations table (``start``, ``status``, ``cancel``…);
        ``violations=True`` keeps the exchanges with a contract violation, ``warnings=True`` those
        with a warning (``False``: those without). An unknown operation is a ValueError naming
        the known ones, so that a misspelt name is not an empty list that passes an ``== []``."""
        if operation is not None and operation not in OPERATION_NAMES:
            raise ValueError(f"unknown operation {operation!r}: use one of {', '.join(OPERATION_NAMES)}")
        return select(
            self.journal,
            operation=operation,
            method=method,
            status=status,
            violations=violations,
            warnings=warnings,
        )

    @property
    def violations(self) -> list[Exchange]:
        """The exchanges in which the client broke the contract."""
        return self.call(self.mock.journal.client_violations)

    @property
    def warnings(self) -> list[Exchange]:
        """The exchanges in which the client sent what an author serves but the documented contract
        does not promise (an unknown query parameter, a repeated one…)."""
        return self.call(self.mock.journal.client_warnings)


def _say_warnings(mock: Mock) -> None:
    """What the loaded scenario asks for in vain, where a test run shows it: the log."""
    for warning in mock.warnings:
        logging.getLogger("aem_guides_mock").warning("%s", warning)


def _as_scenario(scenario: str | Path | Scenario | None) -> Scenario:
    if scenario is None:
        return DEFAULT_SCENARIO
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str) and "\n" in scenario:
        return parse_scenario(scenario, "<string>", "inline")
    return load_scenario(scenario)
