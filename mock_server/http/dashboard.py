"""The dashboard at ``/__admin/ui/``: jobs (live), one job with its log, the journal, the scenario
and the clock. Routes of the admin app, so the admin guard (loopback, token) covers them.

The pages are rendered here (:mod:`.dashboard_pages`); the live part is a server-sent event stream
at ``/__admin/events`` that ``app.js`` reads. Every action the page takes (cancel, resume, move the
clock) goes through the JSON admin API. The stream sends a snapshot when it changes and a comment
line every 15 s (proxies close silent connections), at most :data:`MAX_EVENT_STREAMS` at a time,
and ends at once when the server shuts down. Nothing here runs on the API's own requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import math
import time
from collections.abc import Mapping
from importlib import resources
from typing import Any

from aiohttp import web

from ..api.operations import OPERATION_NAMES
from ..api.payloads import job_payload
from ..core.clock import ManualClock
from ..core.errors import UnknownJob
from ..core.journal import Exchange
from .admin_jobs import MAX_LOG_PAGE
from .answers import json_answer
from .dashboard_pages import MAX_JOB_ROWS, MAX_JOURNAL_ROWS, job_page, jobs_page, journal_page, scenario_page
from .runtime import Mock, mock_of

__all__ = [
    "EVENTS_STOPPING",
    "EVENT_STREAMS",
    "MAX_EVENT_STREAMS",
    "UI_ROUTES",
    "EventStreams",
    "snapshot",
    "stop_event_streams",
]

#: How many event streams may be open at once; another is answered 503.
MAX_EVENT_STREAMS = 16
#: Set at shutdown: every event stream ends.
EVENTS_STOPPING: web.AppKey[asyncio.Event] = web.AppKey("events_stopping")
EVENT_STREAMS: web.AppKey[EventStreams] = web.AppKey("event_streams")
_TICK_S = 0.25
_HEARTBEAT_S = 15.0
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


async def _job(request: web.Request) -> web.Response:
    mock = mock_of(request)
    try:
        job = mock.engine.get(request.match_info["processing_id"])  # brought up to the clock
    except UnknownJob as error:
        return json_answer(404, str(error))
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
             "yaml": scenario.text}  # fmt: skip
    settings = {name: _setting(value) for name, value in _settings_shown(mock.settings).items()}
    faults = [f"{', '.join(sorted(f.endpoints))}: {f.label()}, {f.when.describe()}" for f in scenario.faults]
    page = scenario_page(shown, settings, faults, clock=_clock_text(mock),
                         manual=isinstance(mock.clock, ManualClock))  # fmt: skip
    return _html(page)


def _settings_shown(settings: Any) -> dict[str, Any]:
    """A settings object's fields, secrets masked (the page may be on a shared screen)."""
    fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    for secret in ("users", "tokens", "admin_token"):
        if fields.get(secret):
            fields[secret] = "(set; not shown)"
    return fields


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


@dataclasses.dataclass
class EventStreams:
    """The open event streams, and the snapshot they share: made at most once a tick, however many
    tabs are open (a snapshot of 200 jobs costs about a millisecond)."""

    open: set[web.StreamResponse] = dataclasses.field(default_factory=set)
    _made_at: float = -math.inf
    _text: str = ""

    def state(self, mock: Mock) -> str:
        now = time.monotonic()
        if now - self._made_at >= _TICK_S / 2:
            self._text, self._made_at = json.dumps(snapshot(mock), separators=(",", ":")), now
        return self._text


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``state`` with :func:`snapshot` whenever it changes."""
    streams = request.config_dict[EVENT_STREAMS]
    stopping = request.config_dict[EVENTS_STOPPING]
    if len(streams.open) >= MAX_EVENT_STREAMS:
        return json_answer(503, f"{MAX_EVENT_STREAMS} event streams are open already; close a dashboard tab",
                           headers={"Retry-After": "5"})  # fmt: skip
    response = web.StreamResponse(headers={**_HEADERS, "Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})  # fmt: skip
    await response.prepare(request)
    streams.open.add(response)
    last, quiet = "", 0.0
    try:
        await response.write(b"retry: 2000\n\n")
        while not stopping.is_set():
            if request.transport is None or request.transport.is_closing():
                break  # the tab was closed: its place is free now, not at the next write
            state = streams.state(mock_of(request))
            if state != last:
                await response.write(f"event: state\ndata: {state}\n\n".encode())
                last, quiet = state, 0.0
            elif quiet >= _HEARTBEAT_S:
                await response.write(b": still here\n\n")
                quiet = 0.0
            try:
                await asyncio.wait_for(stopping.wait(), _TICK_S)
            except TimeoutError:
                quiet += _TICK_S
    except (ConnectionResetError, ConnectionError):
        pass  # the tab was closed while we wrote
    finally:
        streams.open.discard(response)
    return response


async def stop_event_streams(app: web.Application) -> None:
    """On shutdown: every event stream ends now, so that the server stops at once."""
    app[EVENTS_STOPPING].set()


UI_ROUTES = [
    ("GET", "/ui", _to_ui),
    ("GET", "/ui/", _jobs),
    ("GET", "/ui/jobs/{processing_id}", _job),
    ("GET", "/ui/journal", _journal),
    ("GET", "/ui/scenario", _scenario),
    ("GET", "/ui/app.js", _script),
    ("GET", "/ui/app.css", _style),
    ("GET", "/ui/favicon.svg", _icon),
    ("GET", "/events", _events),
]
