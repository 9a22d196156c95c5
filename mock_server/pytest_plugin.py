"""The pytest plugin: the ``aem_mock`` fixture, the ``aem_scenario`` marker and strict mode.

One server serves the whole session and is reset before each test (jobs, journal, clock, fault
counters). In strict mode (the default) a test whose client broke the API contract fails at
teardown, with every violation named; ``aem_strict("warnings")`` (or ``aem_mock.strict =
"warnings"``) also fails it on warnings: requests an author serves but the documented contract does
not promise (an unknown query parameter, a repeated one…). Importing this module loads nothing
heavy: the server is imported when a test first asks for it.

    def test_client_polls_to_the_end(aem_mock):
        client = MyClient(aem_mock.url, auth=aem_mock.auth)
        job = client.start("/content/dam/22858")
        aem_mock.advance(2)
        assert client.status(job)["status"] == "SUCCESS"

    @pytest.mark.aem_scenario("fail-midway", per_asset_ms=50)
    def test_client_reports_a_failure(aem_mock): ...

With ``--aem-url URL`` (or ``AEM_GUIDES_MOCK_URL``) no server starts: each test gets a fresh session
of the server at URL (``mock_server.remote.RemoteMock``), its own scenario, settings, manual clock,
jobs and journal, dropped after the test; xdist workers and suites in other languages share that
server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from .core.journal import Exchange
    from .http.options import ScenarioSource
    from .remote import Admin, RemoteMock
    from .server import MockServer

__all__ = ["AemMock"]

OPT_OUT = (
    "To allow this (say, in a test of your client's error handling), mark the test "
    "@pytest.mark.aem_strict(False) or set aem_mock.strict = False in it; for a whole run, "
    "pass --aem-no-strict."
)
OPT_OUT_WARNINGS = (
    "An author serves these, but the documented contract does not promise them. To allow them, mark "
    "the test @pytest.mark.aem_strict(True) (errors only) or set aem_mock.strict = True in it."
)
#: The environment variables of ``--aem-url`` and ``--aem-admin-token``.
URL_VARIABLE = "AEM_GUIDES_MOCK_URL"
TOKEN_VARIABLE = "AEM_GUIDES_MOCK_ADMIN_TOKEN"
_ADMIN = pytest.StashKey["Admin | None"]()
#: What ``strict`` may be: False, True (fail on errors), or "warnings" (fail on warnings too).
Strictness = bool | Literal["warnings"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aem-guides-mock", "the AEM Guides bulk asset processing mock")
    group.addoption(
        "--aem-scenario",
        metavar="NAME|PATH",
        help="the scenario the aem_mock fixture serves (default: the embedded default)",
    )
    group.addoption(
        "--aem-tls",
        action="store_true",
        help="the aem_mock fixture's server speaks HTTPS, its certificate from a test CA (aem_mock.ca_path)",
    )
    group.addoption(
        "--aem-no-strict",
        action="store_true",
        help="do not fail tests whose client breaks the API contract",
    )
    group.addoption(
        "--aem-url",
        metavar="URL",
        help="run no server: each test gets a fresh session of the aem-guides-mock serving at URL, "
        f"such as http://127.0.0.1:4502 ({URL_VARIABLE})",
    )
    group.addoption(
        "--aem-admin-token",
        metavar="TOKEN",
        help=f"the X-Admin-Token of that server's admin API, if it has one ({TOKEN_VARIABLE})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aem_scenario(name_or_path=None, **overrides): the scenario and settings aem_mock serves",
    )
    config.addinivalue_line(
        "markers",
        "aem_strict(enabled=True): aem_strict(False) lets the client break the contract; "
        'aem_strict("warnings") also fails a test on warnings',
    )


def _remote(config: pytest.Config) -> Admin | None:
    """The admin API of the ``--aem-url`` server, or None when tests run their own server."""
    if _ADMIN not in config.stash:
        url = config.getoption("--aem-url") or os.environ.get(URL_VARIABLE) or None
        token = config.getoption("--aem-admin-token") or os.environ.get(TOKEN_VARIABLE) or None
        if url is None:
            config.stash[_ADMIN] = None
        else:
            from .remote import Admin, RemoteError

            try:
                config.stash[_ADMIN] = Admin(url, token)
            except RemoteError as error:
                raise pytest.UsageError(f"--aem-url: {error}") from None
    return config.stash[_ADMIN]


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``--aem-url``, check once (not on each xdist worker) that the server is there and ours."""
    admin = _remote(session.config)
    if admin is None or hasattr(session.config, "workerinput"):
        return
    from .remote import RemoteError

    try:
        admin.probe()
    except RemoteError as error:
        raise pytest.UsageError(f"--aem-url: {error}") from None


class AemMock:
    """What the ``aem_mock`` fixture hands a test: the server's address and its controls."""

    def __init__(self, server: MockServer | RemoteMock, strict: Strictness = True) -> None:
        self.server = server
        self.strict: Strictness = strict
        """Fail the test at teardown when its client broke the contract (``"warnings"``: or when it
        sent what the documented contract does not promise)."""

    @property
    def url(self) -> str:
        """The server's base URL, such as ``http://127.0.0.1:40123`` (with ``--aem-url``, the test's
        session's: ``http://host:4502/sessions/NAME``)."""
        return self.server.url

    @property
    def base_url(self) -> str:
        """``url`` + ``/bin/guides/v1/assets/process``."""
        return self.server.base_url

    @property
    def ca_path(self) -> Path | None:
        """Over HTTPS (``--aem-tls``, ``aem_mock_factory(tls=True)``), the test CA's certificate a
        client trusts (``requests``' ``verify=``, ``cafile=``); None over plain HTTP."""
        return getattr(self.server, "ca_path", None)

    @property
    def auth(self) -> tuple[str, str]:
        """The Basic credentials, ``("admin", "admin")`` unless the scenario says otherwise."""
        return self.server.auth

    @property
    def headers(self) -> dict[str, str]:
        """An ``Authorization`` header with those credentials."""
        return self.server.headers

    def advance(self, seconds: float) -> int:
        """Move the mock's manual clock; return the new time in epoch ms."""
        return self.server.advance(seconds)

    def load_scenario(self, scenario: ScenarioSource, **overrides: Any) -> None:
        """Serve another scenario (a shipped name, a file, a YAML document or a Scenario) from now on."""
        self.server.load_scenario(scenario, **overrides)

    def reset(self) -> None:
        self.server.reset()

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """Every job, as the contract's job object."""
        return self.server.jobs

    @property
    def journal(self) -> list[Exchange]:
        """Every exchange of this test, oldest first."""
        return self.server.journal

    def calls(
        self,
        operation: str | None = None,
        *,
        method: str | None = None,
        status: int | None = None,
        violations: bool | None = None,
        warnings: bool | None = None,
    ) -> list[Exchange]:
        """The exchanges of this test that match every filter given, oldest first: see
        :meth:`MockServer.calls <mock_server.MockServer.calls>`.
        ``assert len(aem_mock.calls("start", status=400)) == 1``."""
        return self.server.calls(
            operation, method=method, status=status, violations=violations, warnings=warnings
        )

    @property
    def violations(self) -> list[Exchange]:
        """The exchanges of this test in which the client broke the contract."""
        return self.server.violations

    @property
    def warnings(self) -> list[Exchange]:
        """The exchanges of this test in which the client sent what an author serves but the
        documented contract does not promise."""
        return self.server.warnings

    def check(self) -> None:
        """Raise :class:`~mock_server.RequestViolation` if the client broke the contract, or, when
        ``strict`` is ``"warnings"``, if it sent what the contract does not promise: the server's
        :meth:`~mock_server.MockServer.assert_no_violations`, its last line naming the markers."""
        __tracebackhide__ = True
        from .core.reports import OptOut

        opt_out = OptOut(OPT_OUT, OPT_OUT_WARNINGS)
        self.server.assert_no_violations(warnings=self.strict == "warnings", opt_out=opt_out)

    @property
    def vary(self) -> int | None:
        """The seed answers are varied with (``aem_scenario(vary=SEED)``), or None."""
        from .remote import RemoteMock

        if isinstance(self.server, RemoteMock):
            return self.server.vary
        return self.server.mock.settings.vary


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test that fails against varied answers says which variations its client met last."""
    report = yield
    handle = getattr(item, "funcargs", {}).get("aem_mock")
    if report.failed and isinstance(handle, AemMock) and handle.vary is not None:
        report.sections.append(("aem-guides-mock vary", describe_variations(handle.journal, handle.vary)))
    return report


def describe_variations(exchanges: list[Exchange], seed: int, last: int = 10) -> str:
    """The variations of the last ``last`` varied answers: where a brittle client broke."""
    varied = [e for e in exchanges if e.variations][-last:]
    lines = [f"The mock varied its answers within the contract (vary={seed}); the last varied answers:"]
    for number, exchange in enumerate(varied, 1):
        query = f"?{exchange.query}" if exchange.query else ""
        lines.append(f"  {number}. {exchange.method} {exchange.path}{query} -> {exchange.status}")
        lines.extend(f"     {variation}" for variation in exchange.variations)
    if not varied:
        lines.append("  (none: the test failed before any varied answer)")
    lines.append(f"Each is legal: a client that fails on one leans on what the contract does not promise. "
                 f"@pytest.mark.aem_scenario(vary={seed}) repeats them exactly.")  # fmt: skip
    return "\n".join(lines)


def _strict(request: pytest.FixtureRequest) -> Strictness:
    if request.config.getoption("--aem-no-strict"):
        return False
    marker = request.node.get_closest_marker("aem_strict")
    if marker is None:
        return True
    enabled = marker.args[0] if marker.args else marker.kwargs.get("enabled", True)
    if enabled == "warnings":
        return "warnings"
    if isinstance(enabled, str):
        raise pytest.UsageError(f'aem_strict({enabled!r}): give True, False or "warnings"')
    return bool(enabled)


@pytest.fixture(scope="session")
def aem_mock_server(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """The session's server, shared by every test; prefer ``aem_mock``, which resets it."""
    from .server import MockServer

    tls = bool(request.config.getoption("--aem-tls"))
    with MockServer(request.config.getoption("--aem-scenario"), tls=tls) as server:
        yield server


@pytest.fixture
def aem_mock(request: pytest.FixtureRequest) -> Iterator[AemMock]:
    """The mock for this test: reset, serving the test's ``aem_scenario`` (or the session's); with
    ``--aem-url``, a fresh session of that server, deleted after the test."""
    __tracebackhide__ = True
    marker = request.node.get_closest_marker("aem_scenario")
    wanted = marker.args[0] if marker and marker.args else request.config.getoption("--aem-scenario")
    overrides = dict(marker.kwargs) if marker else {}
    admin = _remote(request.config)
    if admin is not None:
        yield from _in_session(admin, request, wanted, overrides)
        return
    aem_mock_server: MockServer = request.getfixturevalue("aem_mock_server")
    _serve(aem_mock_server, wanted, overrides)
    handle = AemMock(aem_mock_server, _strict(request))
    yield handle
    if handle.strict:
        handle.check()


def _in_session(
    admin: Admin, request: pytest.FixtureRequest, wanted: str | None, overrides: dict[str, Any]
) -> Iterator[AemMock]:
    """A fresh session for this test on the ``--aem-url`` server; checked, then deleted."""
    __tracebackhide__ = True
    from .remote import RemoteMock, session_name

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    remote = RemoteMock(admin, session_name(request.node.nodeid, worker), wanted, overrides).start()
    handle = AemMock(remote, _strict(request))
    try:
        yield handle
        if handle.strict:
            handle.check()
    finally:
        remote.stop()


def _serve(server: MockServer, wanted: str | None, overrides: dict[str, Any]) -> None:
    """Load ``wanted`` unless it is already served as asked; then reset."""
    from .http.options import as_scenario

    scenario = as_scenario(wanted)
    served = server.mock.scenario
    same = (served.origin, served.text) == (scenario.origin, scenario.text)  # the same file, or YAML text
    if not same or server.mock.load_overrides != overrides:
        server.load_scenario(scenario, origin="the aem_scenario marker", **overrides)
    server.reset()


@pytest.fixture
def aem_mock_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., AemMock]]:
    """Start more servers: ``aem_mock_factory("flaky-status", speed=4)``; each stops after the test,
    checked as ``aem_mock`` is.

    It takes :class:`~mock_server.MockServer`'s options with their defaults (``scenario``,
    ``settings``, ``overrides``, ``clock``, ``repository``, ``environ``, ``new_id``, ``host``,
    ``port``, ``tls``); any other keyword is a setting, added to ``overrides``."""
    __tracebackhide__ = True
    from .http.options import OPTIONS
    from .server import MockServer

    handles: list[AemMock] = []
    own = {*OPTIONS, "host", "port", "default_clock", "tls"}

    def make(scenario: ScenarioSource = None, **options: Any) -> AemMock:
        settings = {name: value for name, value in options.items() if name not in own}
        chosen = {name: value for name, value in options.items() if name in own}
        chosen["overrides"] = {**(chosen.get("overrides") or {}), **settings}
        handle = AemMock(MockServer(scenario, **chosen).start(), _strict(request))
        handles.append(handle)
        return handle

    yield make
    try:
        for handle in handles:
            if handle.strict:
                handle.check()
    finally:
        for handle in handles:
            handle.server.stop()
