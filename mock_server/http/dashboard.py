"""The dashboard at ``/__admin/ui/``: jobs (live, with a start form), one job with its log, the
journal and each exchange's headers and bodies (masked), the scenario and the clock, and on the
server's own dashboard its sessions. Routes of the admin app, so the admin guard (loopback, token,
the same-origin proof of every change) covers them; a session's dashboard is the same pages under
its prefix (``/sessions/NAME/__admin/ui/``).

The pages are rendered here (:mod:`.dashboard_pages`); the live part is a server-sent event stream
at ``/__admin/events`` that ``app.js`` reads: a :func:`snapshot` whenever it changes, through
:mod:`.events` (at most 16 streams, each bounded in time, all ended at shutdown). Every action the
page takes (start, cancel, resume, reset, move the clock, reset or delete a session) goes through
the JSON admin API. The scenario's secrets
are masked in its YAML and its settings alike (:mod:`~mock_server.scenarios.masking`). Nothing here
runs on the API's own requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from typing import Any

from aiohttp import web

from ..api.operations import OPERATION_NAMES
from ..api.payloads import job_payload
from ..core.clock import ManualClock
from ..core.errors import UnknownJob
from ..core.journal import Exchange
from ..core.sessions import SessionError
from ..scenarios.masking import masked_settings
from .admin_jobs import MAX_LOG_PAGE
from .answers import admin_error, json_answer
from .dashboard_exchange import exchange_page
from .dashboard_pages import (
    MAX_JOB_ROWS,
    MAX_JOURNAL_ROWS,
    MAX_STATUS_ROWS,
    asset_status_page,
    job_page,
    jobs_page,
    journal_page,
    scenario_page,
)
from .dashboard_sessions import sessions_page
from .events import EVENT_STREAMS, EVENTS_STOPPING, EventStreams, stop_event_streams
from .runtime import Mock, mock_of
from .sessions import listed, session_name

__all__ = [
    "EVENTS_STOPPING",
    "EVENT_STREAMS",
    "UI_ROUTES",
    "EventStreams",
    "snapshot",
    "stop_event_streams",
]

_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _clock_text(mock: Mock) -> str:
    now = dt.datetime.fromtimestamp(mock.clock.now_ms() / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{now} ({'manual' if isinstance(mock.clock, ManualClock) else mock.settings.clock})"


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=_HEADERS)


def _frame(request: web.Request, mock: Mock) -> dict[str, Any]:
    """What every page's header shows: the clock, the scenario, the session (None: the server's)."""
    return {"clock": _clock_text(mock), "scenario": mock.scenario.name, "session": session_name(request)}


def _shown_jobs(mock: Mock, jobs: Any) -> list[dict[str, Any]]:
    return [job_payload(job, mock.settings) for job in jobs]


async def _to_ui(request: web.Request) -> web.Response:
    raise web.HTTPFound("ui/")  # relative: right behind a proxy that mounts the mock under a prefix


async def _jobs(request: web.Request) -> web.Response:
    mock = mock_of(request)
    every = mock.engine.view()
    jobs = _shown_jobs(mock, every[-MAX_JOB_ROWS:])  # the newest only
    page = jobs_page(jobs, older=len(every) - len(jobs), **_frame(request, mock))
    return _html(page)


async def _asset_status(request: web.Request) -> web.Response:
    """§3.40: the newest asset-status jobs, each counted by status as the bulk jobs make it now."""
    mock = mock_of(request)
    status_jobs = mock.api.status_jobs
    rows = []
    for job in status_jobs.recent(MAX_STATUS_ROWS):
        reports = status_jobs.assets(job)
        counts = Counter(str(r.status) if r.exists else "missing" for r in reports)
        rows.append((job.job_id, job.paths, job.created_by, counts))
    older = len(status_jobs) - len(rows)
    return _html(asset_status_page(rows, older=older, **_frame(request, mock)))


async def _job(request: web.Request) -> web.Response:
    mock = mock_of(request)
    try:
        job = mock.engine.get(request.match_info["processing_id"])  # brought up to the clock
    except UnknownJob as error:
        return admin_error(error)
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = min(MAX_LOG_PAGE, max(1, int(request.query.get("limit", "100"))))
    except ValueError:
        offset, limit = 0, 100
    lines = job.log.page(offset, limit)
    page = job_page(
        job_payload(job, mock.settings), lines, offset, limit, len(job.log), **_frame(request, mock)
    )
    return _html(page)


def _matches(exchange: Exchange, filters: dict[str, str]) -> bool:
    if filters.get("operation") and exchange.operation != filters["operation"]:
        return False
    if filters.get("status") and str(exchange.status)[0] != filters["status"][0]:
        return False
    severity = filters.get("severity")
    if severity == "error" and not exchange.request_violations:
        return False
    return not (severity == "warning" and not exchange.warnings)


async def _journal(request: web.Request) -> web.Response:
    mock = mock_of(request)
    filters = {k: request.query.get(k, "")[:40] for k in ("operation", "status", "severity")}
    newest = list(reversed(mock.journal.numbered()))
    found = [(n, e) for n, e in newest if _matches(e, filters)]
    shown = [
        {**e.to_json(), "n": n} for n, e in found[:MAX_JOURNAL_ROWS]
    ]  # only what the page holds is worded
    page = journal_page(shown, filters, list(OPERATION_NAMES), kept=len(newest), matching=len(found),
                        recorded=mock.journal.recorded, **_frame(request, mock))  # fmt: skip
    return _html(page)


async def _scenario(request: web.Request) -> web.Response:
    mock = mock_of(request)
    scenario = mock.scenario
    shown = {"name": scenario.name, "description": scenario.description, "origin": scenario.origin,
             "yaml": mock.shown_yaml}  # fmt: skip
    fields = {f.name: getattr(mock.settings, f.name) for f in dataclasses.fields(mock.settings)}
    settings = {name: _setting(value) for name, value in masked_settings(fields).items()}
    faults = [f"{', '.join(sorted(f.endpoints))}: {f.label()}, {f.when.describe()}" for f in scenario.faults]
    frame = _frame(request, mock)
    del frame["scenario"]  # the page shows the scenario itself
    page = scenario_page(shown, settings, faults, manual=isinstance(mock.clock, ManualClock), **frame)
    return _html(page)


async def _exchange(request: web.Request) -> web.Response:
    """One exchange of the journal, by its number, with its headers and bodies masked."""
    mock = mock_of(request)
    raw = request.match_info["number"]
    found = mock.journal.find(int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if found is None:
        return json_answer(404, f"no exchange numbered {raw[:40]!r} is kept: the journal keeps the newest "
                           f"{mock.journal.size}; its page lists them")  # fmt: skip
    return _html(exchange_page(int(raw), *found, **_frame(request, mock)))


async def _sessions(request: web.Request) -> web.Response:
    """The server's sessions (on its own dashboard: under a session's prefix, a 404 that says where)."""
    try:
        rows, most = listed(request)
    except SessionError as error:
        return json_answer(error.status, str(error))
    mock = mock_of(request)
    page = sessions_page(rows, most=most, wall_now_ms=int(time.time() * 1000), clock=_clock_text(mock),
                         scenario=mock.scenario.name)  # fmt: skip
    return _html(page)


def _setting(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        value = dict(value)
    return json.dumps(value, default=str)


def _asset(name: str, content_type: str) -> web.Response:
    text = resources.files(__package__).joinpath("ui", name).read_text("utf-8")
    return web.Response(text=text, content_type=content_type, charset="utf-8", headers=_HEADERS)


async def _script(request: web.Request) -> web.Response:
    return _asset("app.js", "text/javascript")


async def _style(request: web.Request) -> web.Response:
    return _asset("app.css", "text/css")


async def _icon(request: web.Request) -> web.Response:
    return _asset("favicon.svg", "image/svg+xml")


def snapshot(mock: Mock) -> dict[str, Any]:
    """What the pages show live: the clock, the scenario, the newest jobs."""
    jobs = mock.engine.view()[-MAX_JOB_ROWS:]
    return {
        "clock": _clock_text(mock),
        "scenario": mock.scenario.name,
        "jobs": _shown_jobs(mock, reversed(jobs)),
        "journal": mock.journal.recorded,
    }


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``state`` with :func:`snapshot` whenever it changes (:mod:`.events`)."""
    mock = mock_of(request)
    streams = request.config_dict[EVENT_STREAMS]
    return await streams.serve(request, lambda: json.dumps(snapshot(mock), separators=(",", ":")), mock)


UI_ROUTES = [
    ("GET", "/ui", _to_ui),
    ("GET", "/ui/", _jobs),
    ("GET", "/ui/jobs/{processing_id}", _job),
    ("GET", "/ui/journal", _journal),
    ("GET", "/ui/exchanges/{number}", _exchange),
    ("GET", "/ui/sessions", _sessions),
    ("GET", "/ui/asset-status", _asset_status),
    ("GET", "/ui/scenario", _scenario),
    ("GET", "/ui/app.js", _script),
    ("GET", "/ui/app.css", _style),
    ("GET", "/ui/favicon.svg", _icon),
    ("GET", "/events", _events),
]
