"""The dashboard at ``/__admin/ui/``: jobs (live), one job with its log, the journal, the scenario
and the clock. Routes of the admin app, so the admin guard (loopback, token) covers them.

The pages are rendered here (:mod:`.dashboard_pages`); the live part is a server-sent event stream
at ``/__admin/events`` that ``app.js`` reads: a :func:`snapshot` whenever it changes, through
:mod:`.events` (at most 16 streams, each bounded in time, all ended at shutdown). Every action the
page takes (cancel, resume, move the clock) goes through the JSON admin API. The scenario's secrets
are masked in its YAML and its settings alike (:mod:`~mock_server.scenarios.masking`). Nothing here
runs on the API's own requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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
from ..scenarios.masking import masked_settings
from .admin_jobs import MAX_LOG_PAGE
from .answers import admin_error
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
from .events import EVENT_STREAMS, EVENTS_STOPPING, EventStreams, stop_event_streams
from .runtime import Mock, mock_of

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
    now = dt.datetime.fromtimestamp(mock.clock.now_ms() / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{now} ({'manual' if isinstance(mock.clock, ManualClock) else mock.settings.clock})"


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=_HEADERS)


async def _to_ui(request: web.Request) -> web.Response:
    raise web.HTTPFound("ui/")  # relative: right behind a proxy that mounts the mock under a prefix


async def _jobs(request: web.Request) -> web.Response:
    mock = mock_of(request)
    every = mock.engine.view()
    jobs = [job_payload(job, mock.settings) for job in every[-MAX_JOB_ROWS:]]  # the newest only
    page = jobs_page(jobs, clock=_clock_text(mock), scenario=mock.scenario.name, older=len(every) - len(jobs))
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
    return _html(asset_status_page(rows, clock=_clock_text(mock), scenario=mock.scenario.name, older=older))


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
    page = job_page(job_payload(job, mock.settings), lines, offset, limit, len(job.log),
                    clock=_clock_text(mock), scenario=mock.scenario.name)  # fmt: skip
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
    newest = list(reversed(list(mock.journal)))
    found = [e for e in newest if _matches(e, filters)]
    shown = [e.to_json() for e in found[:MAX_JOURNAL_ROWS]]  # only what the page holds is worded
    counts = {"kept": len(newest), "matching": len(found), "recorded": mock.journal.recorded}
    page = journal_page(shown, filters, list(OPERATION_NAMES), clock=_clock_text(mock),
                        scenario=mock.scenario.name, **counts)  # fmt: skip
    return _html(page)


async def _scenario(request: web.Request) -> web.Response:
    mock = mock_of(request)
    scenario = mock.scenario
    shown = {"name": scenario.name, "description": scenario.description, "origin": scenario.origin,
             "yaml": mock.shown_yaml}  # fmt: skip
    fields = {f.name: getattr(mock.settings, f.name) for f in dataclasses.fields(mock.settings)}
    settings = {name: _setting(value) for name, value in masked_settings(fields).items()}
    faults = [f"{', '.join(sorted(f.endpoints))}: {f.label()}, {f.when.describe()}" for f in scenario.faults]
    page = scenario_page(shown, settings, faults, clock=_clock_text(mock),
                         manual=isinstance(mock.clock, ManualClock))  # fmt: skip
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
        "jobs": [job_payload(job, mock.settings) for job in reversed(jobs)],
        "journal": mock.journal.recorded,
    }


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``state`` with :func:`snapshot` whenever it changes (:mod:`.events`)."""
    mock = mock_of(request)
    streams = request.config_dict[EVENT_STREAMS]
    return await streams.serve(request, lambda: json.dumps(snapshot(mock), separators=(",", ":")))


UI_ROUTES = [
    ("GET", "/ui", _to_ui),
    ("GET", "/ui/", _jobs),
    ("GET", "/ui/jobs/{processing_id}", _job),
    ("GET", "/ui/journal", _journal),
    ("GET", "/ui/asset-status", _asset_status),
    ("GET", "/ui/scenario", _scenario),
    ("GET", "/ui/app.js", _script),
    ("GET", "/ui/app.css", _style),
    ("GET", "/ui/favicon.svg", _icon),
    ("GET", "/events", _events),
]
