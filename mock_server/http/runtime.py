"""One running mock: its scenario and everything built from it, swapped as a whole on reload.

The app reads ``mock.engine``, ``mock.contract``… afresh on every request, so :meth:`Mock.load`
takes effect at once and a request never sees half of two scenarios. Loads read in a worker thread
(:meth:`Mock.load_in_thread`: ``PUT /__admin/scenario``, ``--watch``) take turns
(:meth:`Mock.load_turn`): a 1 MiB scenario peaks near 120 MB while it is read, and two at once
would pass the mock's memory goal. Of aiohttp only the app key :data:`MOCK` is here, beside the
class it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..api.operations import Api
from ..contract.rules import Contract
from ..core.clock import Clock, ManualClock, PerPollClock, SystemClock
from ..core.errors import ScenarioError, ScenarioSuperseded
from ..core.faults import FaultPlan
from ..core.ims import TokenIssuer
from ..core.job_variation import seeded_ids
from ..core.jobs import JobEngine
from ..core.journal import Journal
from ..core.repository import Repository
from ..core.settings import Settings, resolve, spelled
from ..scenarios.masking import masked_yaml
from ..scenarios.scenario import Scenario
from ..scenarios.warnings import scenario_warnings
from .auth import Authenticator
from .parts import SharedParts

__all__ = [
    "DEFAULT_SCENARIO",
    "MOCK",
    "SESSION_MOCK",
    "CsrfTokens",
    "LoadBusy",
    "Mock",
    "Prepared",
    "mock_of",
    "server_mock",
]

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = Scenario(
    name="default", description="The embedded default repository, the default lifecycle, no faults."
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything a scenario makes, built off the event loop, installed at once by :meth:`Mock.install`."""

    scenario: Scenario
    overrides: Mapping[str, Any]
    settings: Settings
    clock: Clock
    engine: JobEngine
    contract: Contract
    faults: FaultPlan
    warnings: tuple[str, ...]
    shown_yaml: str
    """The scenario's text with its secrets masked (:func:`~..scenarios.masking.masked_yaml`)."""


class LoadBusy(Exception):
    """Another scenario load kept its turn longer than the caller would wait."""


class Mock:
    """Everything one running mock holds.

    Settings come from one merge (:func:`~.settings.resolve`), lowest first: ``base`` (the
    defaults, with the host's clock: see :mod:`.options`), the scenario, ``environ``
    (``AEM_GUIDES_MOCK_*``; none unless given), the constructor's ``overrides`` (CLI flags) and a
    load's ``overrides`` (a fixture marker's). An explicit ``clock`` or ``repository`` wins over
    the scenario's. Build one with :func:`.options.build_mock`, which gives every option its default.
    """

    def __init__(
        self,
        scenario: Scenario = DEFAULT_SCENARIO,
        *,
        base: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        repository: Repository | None = None,
        new_id: Callable[[], str] | None = None,
        parts: SharedParts | None = None,
    ) -> None:
        self._base = base or Settings()
        self._environ = dict(environ or {})
        self._overrides = dict(overrides or {})
        self._fixed_clock = clock
        self._fixed_repository = repository
        self._fixed_new_id = new_id
        self.parts = parts or SharedParts()
        """The repositories and contracts this mock shares with its siblings (:mod:`.parts`)."""
        self.journal = Journal()
        self.csrf_tokens = CsrfTokens()
        self._loads = 0  # every load counts; a threaded one installs only if no later one began
        self._turn = asyncio.Lock()  # binds to the loop that first waits on it, not to this thread's
        self._turn_holder: asyncio.Task[Any] | None = None
        self.loads_waiting = 0
        """How many threaded loads wait for their turn."""
        self.pause_collector = False
        """Pause cyclic garbage collection, process-wide, while a scenario is read in its thread.
        Only ``serve`` sets it: there the process is the mock's; in a user's (a fixture, a
        ``MockServer``) the collector is left alone."""
        self.first_scenario = scenario
        """The scenario this mock was made with (a session made on first use loads it)."""
        self.made_with: tuple[Scenario | None, dict[str, Any]] = (None, {})
        """What :meth:`sibling` made this mock with: a scenario (None: the server's) and overrides
        (``--state`` keeps them to make the session again)."""
        self.load(scenario)

    def load(
        self, scenario: Scenario, overrides: Mapping[str, Any] | None = None, origin: str = "overrides"
    ) -> None:
        """Make ``scenario`` the active one (see :meth:`prepare` and :meth:`install`)."""
        self._loads += 1
        self.install(self.prepare(scenario, overrides, origin))

    def prepare(
        self, scenario: Scenario, overrides: Mapping[str, Any] | None = None, origin: str = "overrides"
    ) -> Prepared:
        """Build what ``scenario`` makes: settings, clock, repository, engine, contract, faults,
        and the text it is shown as, its secrets masked (once per load, here: a page or a GET
        that shows it does no YAML work).

        Touches nothing of the running mock, so it may run in another thread. ``overrides`` (a
        fixture marker's, named by ``origin`` in errors) add to the constructor's for this scenario
        only. Raises :class:`~.errors.SettingError` or :class:`~.errors.ScenarioError`.
        """
        layers = [("overrides", self._overrides), (origin, dict(overrides or {}))]
        contract = self.parts.contract(resolve(self._base, scenario.settings_changes, self._environ, layers))
        settings = contract.settings
        clock = self._fixed_clock or _clock_for(settings, getattr(self, "clock", None))
        try:
            repository = self._fixed_repository or self.parts.repository(scenario)
        except ValueError as error:
            raise ScenarioError([f"{scenario.origin}: repository: {error}"]) from None
        varied = seeded_ids(settings.vary) if settings.vary is not None else None
        new_id = self._fixed_new_id or varied or scenario.new_id()
        engine = JobEngine(
            repository, settings, clock, **({"new_id": new_id} if new_id else {}), scripts=scenario.jobs
        )
        faults = FaultPlan(scenario.faults, [job.faults for job in scenario.jobs], scenario.seed or 0)
        faults.reset(clock.now_ms())
        warnings = tuple(scenario_warnings(scenario, settings, repository))
        return Prepared(scenario, dict(overrides or {}), settings, clock, engine, contract,
                        faults, warnings, masked_yaml(scenario.text))  # fmt: skip

    def install(self, prepared: Prepared) -> None:
        """Swap everything at once: nothing awaits in between. The journal is kept."""
        self.scenario, self.load_overrides = prepared.scenario, prepared.overrides
        self.settings, self.clock, self.engine = prepared.settings, prepared.clock, prepared.engine
        self.contract, self.faults, self.warnings = prepared.contract, prepared.faults, prepared.warnings
        self.shown_yaml = prepared.shown_yaml
        self.api = Api(prepared.engine, prepared.settings, prepared.clock)
        settings = prepared.settings
        self.ims = TokenIssuer(settings.ims_clients, settings.ims_scopes, settings.ims_token_ttl_ms)
        self.authenticate = Authenticator(settings, ims=self.ims, now=prepared.clock.now_ms)
        self.journal.resize(prepared.settings.journal_size, prepared.settings.journal_bytes)

    @contextlib.asynccontextmanager
    async def load_turn(self, wait_s: float | None = None) -> AsyncIterator[None]:
        """Hold the one turn to load a scenario in a thread; turns are given in the order asked.

        Waits at most ``wait_s`` seconds (None: as long as it takes), then raises
        :class:`LoadBusy`. A caller that reads what it loads (a request's body) asks first, so
        that the loads waiting hold nothing. :meth:`load_in_thread` in the holder's task uses its turn.
        """
        self.loads_waiting += 1
        try:
            async with asyncio.timeout(wait_s):
                await self._turn.acquire()
        except TimeoutError:
            raise LoadBusy(f"another scenario load took its turn for over {wait_s:g} s") from None
        finally:
            self.loads_waiting -= 1
        self._turn_holder = asyncio.current_task()
        try:
            yield
        finally:
            self._turn_holder = None
            self._turn.release()

    async def load_in_thread(
        self, make: Callable[[], Scenario], overrides: Mapping[str, Any] | None = None
    ) -> Scenario:
        """Read a scenario with ``make`` and prepare it in a worker thread, then install it: a
        1 MiB scenario does not hold up the requests served meanwhile. It waits for its turn
        (:meth:`load_turn`) unless its task holds it. A :meth:`load` (on the loop, unthreaded) that
        began while it was read came later and wins: then this raises
        :class:`~.errors.ScenarioSuperseded` instead of replacing it."""
        if self._turn_holder is None or self._turn_holder is not asyncio.current_task():
            async with self.load_turn():
                return await self.load_in_thread(make, overrides)
        self._loads += 1
        mine = self._loads

        def build() -> Prepared:
            if not self.pause_collector:
                return self.prepare(make(), overrides)
            with _collector_paused():
                return self.prepare(make(), overrides)

        prepared = await asyncio.to_thread(build)
        if self._loads != mine:
            raise ScenarioSuperseded(
                [f"{prepared.scenario.origin}: not loaded: a later scenario load began while it was read"]
            )
        self.install(prepared)
        return prepared.scenario

    def sibling(self, scenario: Scenario | None, overrides: Mapping[str, Any]) -> Mock:
        """A new mock built as this one was (its base settings, environment, flags, ID maker, and
        its fixed repository unless ``scenario`` is given), loading ``scenario`` (None: the one this
        mock was made with) with ``overrides`` on top of its flags. It shares nothing that changes:
        its own clock (a fresh one of the kind its settings name), jobs, journal and faults; what
        never changes (a repository, a contract) it shares with this one (:mod:`.parts`)."""
        flags = {**spelled(self._overrides, "the server's overrides"), **spelled(overrides)}
        made = Mock(
            self.first_scenario if scenario is None else scenario,
            base=self._base,
            environ=self._environ,
            overrides=flags,
            repository=self._fixed_repository if scenario is None else None,
            new_id=self._fixed_new_id,
            parts=self.parts,
        )
        made.made_with = (scenario, dict(overrides))
        return made

    def reset(self) -> None:
        """Forget every job and exchange, and put a manual clock back to its start."""
        if isinstance(self.clock, ManualClock):
            self.clock.reset()
        self.engine.reset()
        self.api.status_jobs.reset()
        self.ims.clear()
        self.journal.clear()
        self.faults.reset(self.clock.now_ms())
        new_id = self._fixed_new_id or self.scenario.new_id()
        if new_id is not None:
            self.engine.set_id_generator(new_id)


_pauses = 0
_paused_by_us = False
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a scenario is read: a 1 MiB document makes a million
    short-lived objects, and each full collection among them holds the interpreter (and so the
    event loop) for hundreds of milliseconds. They are freed by reference counting anyway.
    Process-wide, so only for a process that is the mock's (:attr:`Mock.pause_collector`).
    Loads may overlap: the collector comes back with the last of them, and only if a load paused it."""
    global _pauses, _paused_by_us
    with _pauses_lock:
        if _pauses == 0:
            _paused_by_us = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _paused_by_us:
                gc.enable()
                _paused_by_us = False


def _clock_for(settings: Settings, current: Clock | None) -> Clock:
    """The clock ``settings`` ask for, keeping ``current`` when it is of that kind."""
    if settings.clock == "manual":
        return current if type(current) is ManualClock else ManualClock()
    if settings.clock == "per-poll":
        if isinstance(current, PerPollClock) and current.step_ms == settings.poll_step_ms:
            return current
        return PerPollClock(settings.poll_step_ms)
    return current if isinstance(current, SystemClock) else SystemClock()


class CsrfTokens:
    """The CSRF tokens handed out, the newest ``size`` kept."""

    def __init__(self, size: int = 1000) -> None:
        self._tokens: dict[str, None] = {}
        self._size = size

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = None
        if len(self._tokens) > self._size:
            del self._tokens[next(iter(self._tokens))]
        return token

    def valid(self, token: str) -> bool:
        return bool(token) and token in self._tokens


#: Where an app keeps its running mock (the admin sub-app reads it through ``config_dict``).
MOCK = web.AppKey("mock", Mock)


#: Where a request keeps the mock of the session that serves it, when a path prefix or a header
#: named one (:mod:`.sessions` puts it there, once per request).
SESSION_MOCK = web.RequestKey("session_mock", Mock)


def mock_of(request: web.Request) -> Mock:
    """The running mock that serves ``request``: its session's (:data:`SESSION_MOCK`), else the
    server's own, from the app or a sub-app (the admin API) alike. Every handler reads this one."""
    found = request.get(SESSION_MOCK)
    return found if found is not None else request.config_dict[MOCK]


def server_mock(request: web.Request) -> Mock:
    """The server's own mock (the default session), whichever session ``request`` names: its
    settings guard the admin API of every session."""
    return request.config_dict[MOCK]
