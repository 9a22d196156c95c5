"""MockServer: the mock on a real socket inside a test's process, for tests in any framework.

The dev server's lifecycle (``serve``) is in :mod:`.devserver`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from .api.operations import BASE_PATH, OPERATION_NAMES
from .api.payloads import job_payload
from .core.clock import Clock, ManualClock
from .core.journal import Exchange, select
from .core.reports import SERVER_OPT_OUT, OptOut, no_violations
from .core.repository import Repository
from .core.settings import Settings
from .http.app import app_for
from .http.options import ScenarioSource, as_scenario, build_mock, clock_option
from .http.runtime import Mock
from .http.serving import start_site
from .http.tls import local_ca, write_ca

T = TypeVar("T")

__all__ = ["MockServer"]


class MockServer:
    """The mock on a real socket, for tests in any framework.

    In a background thread with its own event loop::

        with MockServer(scenario="fail-midway") as server:
            requests.post(server.url + BASE_PATH, json=..., auth=server.auth)
            server.advance(5)

    or in the running event loop, for asyncio code::

        async with MockServer() as server:
            ...

    It takes the options of :func:`~mock_server.create_app` and the fixtures, with the same
    defaults (see :mod:`mock_server.http.options`): ``scenario`` a shipped name, a path, YAML text
    or a :class:`~mock_server.Scenario` (default: the embedded default); ``settings``, the base;
    ``overrides``, settings on top of everything; ``clock``, a name (default ``"manual"``: moved
    only by :meth:`advance`, unless the scenario, the environment or ``overrides`` name another)
    or a clock object; ``repository``; ``environ``, where ``AEM_GUIDES_MOCK_*`` settings are read
    (default ``os.environ``; ``{}`` reads none); ``new_id``. ``default_clock=NAME`` is the
    deprecated spelling of ``clock=NAME``. The port is picked free (port 0) unless given.
    ``tls=True`` serves HTTPS with a certificate from a test CA made for it (the ``tls`` extra):
    :attr:`ca_path` while it serves, :meth:`client_ssl_context` for a client that trusts it.
    Calls from other threads run in the server's loop, so a test never races a request.
    """

    def __init__(
        self,
        scenario: ScenarioSource = None,
        *,
        settings: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        clock: Clock | str | None = None,
        repository: Repository | None = None,
        environ: Mapping[str, str] | None = None,
        new_id: Callable[[], str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        default_clock: str | None = None,
        tls: bool = False,
    ) -> None:
        self.mock = build_mock(
            scenario,
            settings=settings,
            overrides=overrides,
            clock=clock_option(clock, default_clock),
            repository=repository,
            environ=environ,
            new_id=new_id,
        )
        _say_warnings(self.mock)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._tls = local_ca([host]) if tls else None
        self.ca_path: Path | None = None
        """While it serves with ``tls=True``: the test CA's certificate (PEM) a client trusts, in a
        folder of its own removed when it stops; None over plain HTTP or when stopped."""

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
        self._forget_ca()

    def _forget_ca(self) -> None:
        if self.ca_path is not None:
            shutil.rmtree(self.ca_path.parent, ignore_errors=True)
            self.ca_path = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        self._runner, self.url = await self._start_site()
        return self

    async def _start_site(self) -> tuple[web.AppRunner, str]:
        settings = self.mock.settings  # the listener's limits, as the dev server takes them
        if self._tls is not None and self.ca_path is None:
            folder = Path(tempfile.mkdtemp(prefix="aem-guides-mock-tls-"))
            self.ca_path = write_ca(self._tls, folder / "ca.pem")
        try:
            return await self._listen(settings)
        except BaseException:
            self._forget_ca()  # no server, no CA left behind
            raise

    async def _listen(self, settings: Settings) -> tuple[web.AppRunner, str]:
        return await start_site(
            app_for(self.mock),
            self._host,
            self._port,
            header_timeout=settings.header_timeout_ms / 1000,
            max_connections=settings.max_connections,
            ssl_context=None if self._tls is None else self._tls.context,
        )

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's test CA (``tls=True``), for ``urllib``,
        ``aiohttp`` or ``httpx``; ``requests`` takes ``verify=server.ca_path``."""
        if self.ca_path is None:
            raise RuntimeError("this MockServer serves plain HTTP: make it with tls=True")
        return ssl.create_default_context(cafile=str(self.ca_path))

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner, self.url = None, ""
        self._forget_ca()

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

    def load_scenario(self, scenario: ScenarioSource, *, origin: str = "load_scenario()",
                      **overrides: Any) -> None:  # fmt: skip
        """Load a shipped scenario, a file, a YAML document or a :class:`Scenario` (None: the
        embedded default), with settings ``overrides`` on top (``origin`` names them in an error)."""
        loaded = as_scenario(scenario)
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

    def assert_no_violations(self, warnings: bool = False, *, opt_out: OptOut = SERVER_OPT_OUT) -> None:
        """Raise :class:`~mock_server.RequestViolation` (an AssertionError) if the client broke the
        contract, with the report the pytest plugin's strict mode prints: each request, each field,
        what the schema wanted and what came. With ``warnings=True``, also if it sent what the
        documented contract does not promise. ``opt_out`` is the report's last line, how to allow
        what it names (the plugin's names its markers)."""
        __tracebackhide__ = True
        no_violations(self.violations, self.warnings if warnings else [], opt_out)


def _say_warnings(mock: Mock) -> None:
    """What the loaded scenario asks for in vain, where a test run shows it: the log."""
    for warning in mock.warnings:
        logging.getLogger("aem_guides_mock").warning("%s", warning)


#: The dev server's lifecycle, which lived here before it had a module of its own.
_MOVED_TO_DEVSERVER = frozenset({"run", "banner", "watch_scenario"})


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_DEVSERVER:
        import importlib
        import warnings

        warnings.warn(
            f"mock_server.server.{name} moved to mock_server.devserver.{name}: import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("mock_server.devserver"), name)
    raise AttributeError(f"module 'mock_server.server' has no attribute {name!r}")
