"""``serve --state FILE``: the server's sessions kept in a state file (:mod:`..core.state`) as
they change, and taken back at start.

One hook: :func:`keep_changes`, a middleware after the session's choice, saves what a request
changed in its session (the jobs its engine reported, the clock, the new exchanges, the fault
counters) in one transaction before the answer leaves: an answered start, cancel or resume is on
disk. A request that changed only the journal and the fault counters (a poll) is written with
the next change, or within :data:`DEFER_S`, or at a clean stop: a ``kill -9`` may lose the last
fraction of a second of polls from the journal, never a job's change. Sessions are saved as they
are made and forgotten as they are deleted or expire.

At start (:func:`keep_state`) every session kept is made again as it was made (its scenario's
text, its settings, its TTL, counted afresh) and gets its jobs, clock, journal and fault counters
back; a finished job's record is read when the job is first asked for (a history page reads its
page's), so a restart with 10,000 finished jobs reads none of them. A manual clock comes back
where it stood; on the real clock the time the server was down counts, as on a real author: a
job that was running has run on meanwhile. A session made with
other settings or another scenario than the server now has would run its jobs differently: that
is refused (:class:`~..core.state.StateError`), never served half right.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ..core.changes import Changes
from ..core.clock import ManualClock
from ..core.errors import ScenarioError, SettingError
from ..core.jobs import JobEngine, StartRequest
from ..core.jobstore import StoredJob
from ..core.repository import Selection
from ..core.sessions import DEFAULT_NAME, Session, Sessions
from ..core.state import SavedSession, StateError, StateFile
from ..core.state_records import (
    exchange_from_json,
    exchange_to_json,
    job_from_json,
    job_to_json,
    status_job_from_json,
    status_job_to_json,
    thawer,
)
from ..scenarios.reading import parse_scenario
from ..scenarios.scenario import Scenario
from .answers import json_answer
from .runtime import Mock, mock_of
from .sessions import SESSIONS

__all__ = ["KEEPER", "Keeper", "keep_changes", "keep_state"]

log = logging.getLogger(__name__)
#: How long an exchange that changed nothing else (a poll) may wait to be written, with others: a
#: transaction per poll would cost a third of the polling throughput.
DEFER_S = 0.2
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class _Seen:
    """What of a session's mock was saved last."""

    name: str
    mock: Mock
    engine: JobEngine | None = None
    recorded: int = 0
    clock_ms: int | None = None
    picks: int = -1
    status_started: int = 0


def _fingerprint(mock: Mock) -> str:
    """What decides how a session runs its jobs: its scenario's text and its settings."""
    return hashlib.sha256(f"{mock.scenario.text}\n{mock.settings!r}".encode()).hexdigest()


def _scenario(saved: dict[str, Any] | None) -> Scenario | None:
    if saved is None:
        return None
    return parse_scenario(saved["text"], "<state file>", saved["name"])


def _scenario_record(scenario: Scenario | None) -> dict[str, Any] | None:
    return None if scenario is None else {"text": scenario.text, "name": scenario.name}


class Keeper:
    """The state file of one server, and what of each session it saved last."""

    def __init__(self, file: StateFile, sessions: Sessions[Mock]) -> None:
        self.file = file
        self.sessions = sessions
        self._seen: dict[int, _Seen] = {}  # by id(mock): a mock is kept here while it is watched
        self._base: dict[str, str] = {}  # each session's fingerprint as made, before any load
        self._deferred: dict[int, Mock] = {}  # mocks with exchanges or fault counts not yet written
        self._timer: asyncio.TimerHandle | None = None

    # --- start
    def restore(self) -> None:
        """Make every kept session again (see the module); StateError if one cannot be."""
        kept = {saved.name: saved for saved in self.file.load()}
        default = self.sessions.default
        if DEFAULT_NAME in kept:
            self._restore(default.mock, kept.pop(DEFAULT_NAME))
            self._watch(DEFAULT_NAME, default.mock, restored=True)
        else:
            self.file.save_session(DEFAULT_NAME, self._made(default))
            self._watch(DEFAULT_NAME, default.mock)
        for name, saved in kept.items():
            try:
                mock = default.mock.sibling(_scenario(saved.made["scenario"]), saved.made["overrides"])
            except (SettingError, ScenarioError) as error:
                raise StateError(f"the session {name!r} kept in {self.file.path} cannot be made again with "
                                 f"this server's settings ({error}); serve as it was served, or give --state "
                                 "another file") from None  # fmt: skip
            mock.made_with = (_scenario(saved.made["scenario"]), saved.made["overrides"])
            self._restore(mock, saved)
            self.sessions.add(name, mock, saved.made["ttl"])
            self._watch(name, mock, restored=True)
        self.sessions.on_change = self._session_changed

    def _restore(self, mock: Mock, saved: SavedSession) -> None:
        expected = saved.made["fingerprint"]
        loaded = saved.made.get("loaded")
        if loaded is not None:  # a scenario loaded at runtime (PUT /__admin/scenario, --watch)
            try:
                mock.load(_scenario(loaded) or mock.scenario, loaded["overrides"])
            except (SettingError, ScenarioError) as error:
                raise StateError(f"the scenario {loaded['name']!r} kept in {self.file.path} cannot be loaded "
                                 f"again ({error}); give --state another file") from None  # fmt: skip
            expected = loaded["fingerprint"]  # the server's flags still count: they are in the settings
        if expected != _fingerprint(mock):
            where = "this server" if saved.name == DEFAULT_NAME else f"the session {saved.name!r}"
            raise StateError(
                f"the state file {self.file.path} holds the jobs of {where} as served with another scenario "
                "or other settings, which would run them differently; serve with the same --scenario and "
                "flags as before, or give --state another file (or move it away to start afresh)"
            )
        self._base[saved.name] = saved.made["fingerprint"]
        engine = mock.engine
        engine.changes = Changes()  # first: the jobs the catch-up with the clock moves are saved again
        if saved.live is not None:
            if isinstance(mock.clock, ManualClock) and saved.live["clock"] is not None:
                mock.clock.set(max(saved.live["clock"], mock.clock.now_ms()))
            ignored = mock.settings.ignored_paths
            shared: dict[StartRequest, Selection] = {}  # 10,000 jobs of a few requests: a few selections
            repository, meter = engine.repository, engine.meter
            jobs = [
                record
                if isinstance(record, StoredJob)
                else job_from_json(record, repository, ignored, meter, shared)
                for record in saved.jobs
            ]  # a finished job (StoredJob) is read when it is first asked for: history reads a page
            engine.restore(jobs, saved.live["engine"], thawer(repository, ignored, meter))
        printer, mock.journal.on_violation = mock.journal.on_violation, None
        for seq, record in saved.journal:
            mock.journal.record(exchange_from_json(record))
            mock.journal.recorded = seq
        mock.journal.on_violation = printer
        if saved.faults is not None:
            mock.faults.restore(saved.faults)
        mock.api.status_jobs.restore(
            [(seq, status_job_from_json(record)) for seq, record in saved.status_jobs]
        )

    def _made(self, session: Session[Mock], loaded: bool = False) -> dict[str, Any]:
        mock = session.mock
        scenario, overrides = mock.made_with
        made: dict[str, Any] = {
            "scenario": _scenario_record(scenario),
            "overrides": overrides,
            "ttl": None if session.name == DEFAULT_NAME else session.ttl_s,
            "fingerprint": self._base.setdefault(session.name, _fingerprint(mock)),
        }
        if loaded:
            made["loaded"] = {
                **(_scenario_record(mock.scenario) or {}),
                "overrides": dict(mock.load_overrides),
                "fingerprint": _fingerprint(mock),
            }
        return made

    def _watch(self, name: str, mock: Mock, restored: bool = False) -> None:
        """Save ``mock``'s changes from now on: all of it, or (``restored``) what changed since it was
        restored (the catch-up with the clock), not the thousands of jobs read back unchanged."""
        seen = _Seen(name, mock)
        if restored:
            seen.engine, seen.recorded, seen.picks = mock.engine, mock.journal.recorded, mock.faults.picks
            seen.status_started = mock.api.status_jobs.started
            seen.clock_ms = mock.clock.now_ms() if isinstance(mock.clock, ManualClock) else None
        self._seen[id(mock)] = seen
        self.flush(mock)

    def _session_changed(self, name: str, session: Session[Mock] | None) -> None:
        for key, seen in list(self._seen.items()):
            if seen.name == name:
                del self._seen[key]
        self._base.pop(name, None)
        if session is None:
            self.file.drop_session(name)
            return
        self.file.save_session(name, self._made(session))
        self._watch(name, session.mock)

    # --- as requests are answered
    def flush(self, mock: Mock, deferring: bool = False) -> bool:
        """Save what changed in ``mock``'s session since it was last saved (nothing if nothing did).

        ``deferring``: new exchanges and fault counts alone (a poll's) are not written now but left
        for :meth:`flush_deferred` (then this answers True); jobs and clocks are written at once."""
        seen = self._seen.get(id(mock))
        if seen is None or seen.mock is not mock:
            return False
        engine, journal, clock = mock.engine, mock.journal, mock.clock
        if engine is not seen.engine:  # new (a scenario was loaded): every job is new
            if seen.engine is not None:
                session = self.sessions.find(seen.name)
                if session is not None:
                    self.file.save_session(seen.name, self._made(session, loaded=True))
            engine.changes = Changes()
            engine.changes.clear_all()
            for job in engine.jobs():
                engine.changes.changed(job)
            seen.engine, seen.picks, seen.clock_ms, seen.status_started = engine, -1, None, 0
        clock_ms = clock.now_ms() if isinstance(clock, ManualClock) else None
        changes = engine.changes
        jobs, forgotten, cleared = changes.take() if changes else ([], set(), False)
        status = mock.api.status_jobs
        new_status = min(status.started - seen.status_started, len(status))
        # a status job started is as an answered start: written at once, never deferred
        moved = jobs or forgotten or cleared or clock_ms != seen.clock_ms or new_status > 0
        new = min(journal.recorded - seen.recorded, len(journal))
        picks = mock.faults.picks
        if not (moved or new or journal.recorded != seen.recorded or picks != seen.picks):
            return False
        if deferring and not moved:
            self._deferred[id(mock)] = mock
            return True
        self._deferred.pop(id(mock), None)
        first = journal.recorded - new + 1  # the sequence number of the first new exchange
        self.file.save(
            seen.name,
            live={"engine": engine.saved(), "clock": clock_ms} if moved else None,
            jobs=[(job.processing_id, job_to_json(job)) for job in jobs],
            forgotten=forgotten,
            cleared=cleared,
            exchanges=[(first + i, exchange_to_json(e)) for i, e in enumerate(journal.newest(new))],
            journal_from=journal.recorded - len(journal) + 1,
            faults=mock.faults.saved() if picks != seen.picks else None,
            status_jobs=[(seq, status_job_to_json(job)) for seq, job in status.newest(new_status)],
            status_from=status.started - len(status) + 1,
        )
        seen.recorded, seen.clock_ms, seen.picks = journal.recorded, clock_ms, picks
        seen.status_started = status.started
        return False

    def flush_deferred(self) -> None:
        """Write what :meth:`flush` left for later."""
        self._timer = None
        deferred, self._deferred = list(self._deferred.values()), {}
        for mock in deferred:
            self.flush(mock)

    def defer(self) -> None:
        """Write what was left for later within :data:`DEFER_S` (on the running event loop)."""
        if self._timer is None and self._deferred:
            self._timer = asyncio.get_running_loop().call_later(DEFER_S, self._flush_deferred_logged)

    def _flush_deferred_logged(self) -> None:
        try:
            self.flush_deferred()
        except sqlite3.Error:
            log.exception("cannot write the state file %s", self.file.path)


#: The keeper of a server served with ``--state``.
KEEPER = web.AppKey("keeper", Keeper)


@web.middleware
async def keep_changes(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Save what ``request`` changed in its session before its answer leaves (see the module)."""
    response = await handler(request)
    keeper = request.app.get(KEEPER)
    if keeper is None:
        return response
    try:
        if keeper.flush(mock_of(request), deferring=True):
            keeper.defer()
    except sqlite3.Error as error:
        log.exception("cannot write the state file %s", keeper.file.path)
        return json_answer(
            503,
            f"the state file {keeper.file.path} could not be written ({error}); what this request "
            "changed may be lost on a restart; free disk space or check the file",
        )
    return response


def keep_state(app: web.Application, path: Path) -> Keeper:
    """Serve ``app`` with its sessions kept in ``path``: open it (locked), take back what it
    holds, and save every change from now on. Raises StateError naming the file and the fix."""
    file = StateFile(path)
    try:
        keeper = Keeper(file, app[SESSIONS])
        keeper.restore()
    except BaseException:
        file.close()
        raise
    app[KEEPER] = keeper
    app.middlewares.append(keep_changes)

    async def close(_: web.Application) -> None:
        keeper.flush_deferred()
        file.close()

    app.on_cleanup.append(close)
    return keeper
