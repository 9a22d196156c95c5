"""One running mock: its scenario and everything built from it, swapped as a whole on reload.

No aiohttp here. The app reads ``mock.engine``, ``mock.contract``… afresh on every request, so
:meth:`Mock.load` takes effect at once and a request never sees half of two scenarios.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from .api import Api
from .auth import Authenticator
from .clock import Clock, ManualClock, PerPollClock, SystemClock
from .contract import Contract
from .faults import ENDPOINTS, FaultPlan
from .jobs import JobEngine
from .journal import Journal
from .repository import Repository
from .scenarios import Scenario
from .settings import Settings

__all__ = ["DEFAULT_SCENARIO", "CsrfTokens", "Mock"]

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = Scenario(
    name="default", description="The embedded default repository, the default lifecycle, no faults."
)


class Mock:
    """Everything one running mock holds.

    Settings precedence, lowest first: ``base`` (the defaults) < the scenario < ``overrides``
    (environment, CLI flags, fixture markers). An explicit ``clock`` or ``repository`` wins over
    the scenario's.
    """

    def __init__(
        self,
        scenario: Scenario = DEFAULT_SCENARIO,
        *,
        base: Settings | None = None,
        overrides: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        repository: Repository | None = None,
        new_id: Callable[[], str] | None = None,
        default_clock: str = "real",
    ) -> None:
        self._base = base or Settings()
        self._default_clock = default_clock
        self._overrides = dict(overrides or {})
        self._fixed_clock = clock
        self._fixed_repository = repository
        self._fixed_new_id = new_id
        self.journal = Journal()
        self.csrf_tokens = CsrfTokens()
        self.load(scenario)

    def load(self, scenario: Scenario, overrides: Mapping[str, Any] | None = None) -> None:
        """Make ``scenario`` the active one: new settings, repository, jobs and fault counters.

        ``overrides`` (a fixture marker's) add to the constructor's for this scenario only. The
        journal is kept; a clock of the same kind is kept too.
        """
        self.load_overrides = dict(overrides or {})
        settings = scenario.settings(self._base).replace(**self._overrides, **self.load_overrides)
        clock = self._fixed_clock or self._clock_for(scenario, getattr(self, "clock", None))
        new_id = self._fixed_new_id or scenario.new_id()
        engine = JobEngine(
            self._fixed_repository or scenario.repository(),
            settings,
            clock,
            **({"new_id": new_id} if new_id else {}),
            scripts=scenario.jobs,
        )
        contract = Contract(settings)
        faults = FaultPlan(scenario.faults, [job.faults for job in scenario.jobs], scenario.seed or 0)
        faults.reset(clock.now_ms())
        # Swap everything together: nothing awaits in between.
        self.scenario, self.settings, self.clock = scenario, settings, clock
        self.engine, self.contract, self.faults = engine, contract, faults
        self.api = Api(engine, settings, clock)
        self.authenticate = Authenticator(settings)
        self.journal.resize(settings.journal_size)
        if not settings.restart_endpoint and any(
            "restart" in fault.endpoints and fault.endpoints != frozenset(ENDPOINTS)
            for fault in [*scenario.faults, *(f for job in scenario.jobs for f in job.faults)]
        ):  # named explicitly, not through "*": say so where the user looks, the server's log
            log.warning(
                "scenario %r: its faults on the restart endpoint never fire: restart is not served "
                "(set restart_endpoint: true)",
                scenario.name,
            )

    def _clock_for(self, scenario: Scenario, current: Clock | None) -> Clock:
        """The clock the scenario asks for, keeping ``current`` when it is of that kind."""
        kind = scenario.clock or self._default_clock
        if kind == "manual":
            return current if type(current) is ManualClock else ManualClock()
        if kind == "per_poll":
            return PerPollClock(scenario.poll_step_ms)
        return current if isinstance(current, SystemClock) else SystemClock()

    def reset(self) -> None:
        """Forget every job and exchange, and put a manual clock back to its start."""
        if isinstance(self.clock, ManualClock):
            self.clock.reset()
        self.engine.reset()
        self.journal.clear()
        self.faults.reset(self.clock.now_ms())
        new_id = self._fixed_new_id or self.scenario.new_id()
        if new_id is not None:
            self.engine.set_id_generator(new_id)


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
