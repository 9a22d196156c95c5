"""The admin API under ``/__admin``: the scenario, the clock, the journal and the jobs, at runtime.

An aiohttp sub-application whose guard is a middleware: loopback only, unless ``admin_token`` is
set (then the header ``X-Admin-Token`` must carry it, from any address); ``admin_enabled: false``
switches the API off (404). A loopback-only request must also name a loopback host (``Host``, and
the authority of an absolute-form target) and, when it has an ``Origin``, a loopback origin; one
that changes something must also prove it was not sent for a page of another origin
(:mod:`.origins` says how): a web page on another site, or on another port of this machine, cannot
drive it, even through DNS rebinding. These routes are the mock's own, not AEM's: they are not
checked against the contract and not kept in the journal.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..api.operations import OPERATION_NAMES, OPERATIONS
from ..core.clock import MAX_ADVANCE_S, ManualClock
from ..core.errors import ScenarioError, ScenarioSuperseded, SettingError
from ..core.journal import Exchange
from ..scenarios.reading import load_scenario, parse_scenario, shipped_scenarios
from ..scenarios.scenario import MAX_BYTES as MAX_SCENARIO_BYTES
from ..scenarios.scenario import Scenario
from .admin_jobs import JOB_ROUTES
from .answers import admin_error, json_answer
from .dashboard import UI_ROUTES
from .inflate import BodyTooLarge, BodyUnreadable, read_body
from .origins import cross_site_request, foreign_request, from_loopback
from .runtime import LoadBusy, mock_of, server_mock
from .sessions import SESSION_ROUTES

__all__ = ["ADMIN_PATH", "HEALTH_PATH", "admin_app", "exchanges_answer", "foreign_request", "from_loopback"]
__all__ += ["health", "json_answer"]

log = logging.getLogger("aem_guides_mock")

ADMIN_PATH = "/__admin"
#: The health probe (a container's ``HEALTHCHECK``, a readiness probe): a route of the server's own,
#: not of the admin API, so that no guard stands in front of it and it tells nothing but that the
#: server answers.
HEALTH_PATH = ADMIN_PATH + "/health"
#: The most an admin request body may hold: a scenario document, or far less for the others.
_MAX_SMALL_BODY = 4096
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Through a container's port mapping the client is never loopback: the setting to name is the variable.
_LOOPBACK_ONLY = (
    "the admin API answers loopback only; set admin.token (the environment's AEM_GUIDES_MOCK_ADMIN_TOKEN) "
    "to open it wider, then send it in the header 'X-Admin-Token'"
)


# --- the guard --------------------------------------------------------------------------------------


@web.middleware
async def _guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
    settings = server_mock(request).settings  # a session's scenario neither opens nor closes it
    if not settings.admin_enabled:
        return json_answer(404, "the admin API is switched off (admin.enabled: false)")
    if any(name.lower() in ("token", "x-admin-token", "admin_token") for name in request.query):
        return json_answer(400, "never put the admin token in a URL; send it in the header 'X-Admin-Token'")
    if settings.admin_token is not None:
        given = request.headers.get("X-Admin-Token", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, settings.admin_token.encode()):
            return json_answer(401, "the admin API needs the header 'X-Admin-Token'")
    elif not from_loopback(request.remote):
        return json_answer(403, _LOOPBACK_ONLY)
    elif (reason := foreign_request(request) or cross_site_request(request)) is not None:
        return json_answer(403, f"admin request refused: {reason}")
    try:
        return await handler(request)
    except (_TooLarge, _Unreadable) as error:
        return error.answer()
    except TimeoutError:
        message = "the body did not arrive within the body timeout (body_timeout_ms); send it whole"
        return json_answer(408, message, headers={"Connection": "close"})
    except web.HTTPMethodNotAllowed as error:
        allowed = sorted(error.allowed_methods)
        message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
        return json_answer(405, message, headers={"Allow": ", ".join(allowed)})
    except web.HTTPNotFound:
        return json_answer(404, f"no admin route at {request.path[:200]}; GET {ADMIN_PATH} lists them")
    except web.HTTPException:
        raise
    except Exception:  # a bug in the mock: a JSON 500, as on the API, never aiohttp's plain text
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return json_answer(500, "the admin API failed unexpectedly; see the server log")


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 before it is read when it says it is larger than ``limit``, and
    cut off when it turns out to be; a compressed one is inflated in a worker thread, at most to
    ``limit`` (see :mod:`.inflate`). A trickle is cut off with 408 (``TimeoutError``)."""
    try:
        return await read_body(request, limit, mock_of(request).settings.body_timeout_ms / 1000)
    except BodyTooLarge:
        raise _TooLarge(limit) from None
    except BodyUnreadable as error:  # a Content-Encoding the body does not have
        raise _Unreadable(error.reason) from None


class _Unreadable(Exception):
    def answer(self) -> web.Response:
        message = (f"the body could not be read ({self.args[0]}); send it as its Content-Encoding says, "
                   "or without one")  # fmt: skip
        return json_answer(400, message, headers={"Connection": "close"})


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")

    def answer(self) -> web.Response:
        return json_answer(413, str(self), headers={"Connection": "close"})


# --- the routes -------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    """``GET /__admin/health``: ``{"status": "ok"}`` to anyone, whatever the admin API's guard and
    whether it is switched on; nothing else (no version, no scenario, no count). Another method is
    a 405 here too, never handed to the guard."""
    if request.method not in ("GET", "HEAD"):
        message = f"{request.method} is not allowed on {HEALTH_PATH}; use GET or HEAD"
        return json_answer(405, message, headers={"Allow": "GET, HEAD"})
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def _index(request: web.Request) -> web.Response:
    routes = sorted(
        {f"{r.method} {r.resource.canonical}" for r in request.app.router.routes() if r.resource is not None}
    )
    return web.json_response({"routes": routes})


async def _get_scenario(request: web.Request) -> web.Response:
    """The active scenario, its YAML as written but with its secrets masked (passwords, tokens):
    masked once, when it was loaded."""
    mock = mock_of(request)
    scenario = mock.scenario
    return web.json_response(
        {"name": scenario.name, "description": scenario.description, "origin": scenario.origin,
         "yaml": mock.shown_yaml}
    )  # fmt: skip


async def _put_scenario(request: web.Request) -> web.Response:
    """A shipped name as ``{"name": "…"}``, or a whole YAML document; parsed and built in a worker
    thread, so that a large one does not hold up the requests served meanwhile.

    One load at a time (:meth:`~.runtime.Mock.load_turn`), in the order they came: a PUT that finds
    another load under way waits for it, its body unread, for at most the body timeout
    (``body_timeout_ms``); past that it is a 409 with ``Retry-After``, its body never read."""
    mock = mock_of(request)
    try:
        async with mock.load_turn(mock.settings.body_timeout_ms / 1000):
            return await _load_posted(request)
    except LoadBusy as busy:
        message = f"the scenario was not loaded: {busy}; the last good one stays, send it again"
        return json_answer(409, message, headers={"Retry-After": "1"})


async def _load_posted(request: web.Request) -> web.Response:
    mock = mock_of(request)
    raw = await _read_body(request, MAX_SCENARIO_BYTES)  # over the cap: 413, from the guard
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return json_answer(400, f"the scenario is not UTF-8 text (byte {error.start})")
    make: Callable[[], Scenario]
    if request.content_type == "application/json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            document = None
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str):
            return json_answer(400, 'send {"name": "<shipped scenario>"} or a YAML document')
        if name not in shipped_scenarios():
            return json_answer(400, "the scenario was not loaded; the last good one stays",
                           problems=[f"{name[:200]}: no shipped scenario of that name"])  # fmt: skip
        make = lambda: load_scenario(name)  # noqa: E731 (read in the worker thread)
    else:
        make = lambda: parse_scenario(text, "<admin>", "posted")  # noqa: E731
    try:
        scenario = await mock.load_in_thread(make)
    except ScenarioSuperseded as error:  # the host loaded one meanwhile (MockServer.load_scenario, a marker)
        return admin_error(error, "the scenario was not loaded: a later load came first")
    except (ScenarioError, SettingError) as error:
        return admin_error(error, "the scenario was not loaded; the last good one stays")
    return web.json_response(
        {"name": scenario.name, "description": scenario.description, "warnings": list(mock.warnings)}
    )


async def _scenarios(request: web.Request) -> web.Response:
    listing = []
    for name in shipped_scenarios():
        listing.append({"name": name, "description": load_scenario(name).description})
    return web.json_response({"scenarios": listing})


async def _reset(request: web.Request) -> web.Response:
    mock_of(request).reset()
    return web.json_response({"reset": True})


async def _clock(request: web.Request) -> web.Response:
    clock = mock_of(request).clock
    return web.json_response({"now": clock.now_ms(), "kind": type(clock).__name__})


async def _advance(request: web.Request) -> web.Response:
    """``{"seconds": N}`` moves a manual clock N seconds; ``{"to": "next"}`` moves it to the next
    moment a job changes phase (leaves the queue, ends counting, ends) or a system job is due."""
    mock = mock_of(request)
    clock = mock.clock
    if not isinstance(clock, ManualClock):
        return json_answer(409, "the clock is the real one; serve with --clock manual (or a scenario that "
                            "pins 'clock: manual') to move it")  # fmt: skip
    try:
        document = json.loads(await _read_body(request, _MAX_SMALL_BODY))
    except (ValueError, RecursionError):
        document = None
    wanted = document if isinstance(document, dict) else {}
    if wanted.get("to") == "next":
        due = mock.engine.next_change_at()
        if due is None:
            return json_answer(409, "no job changes by the clock alone now (none queued or running, or "
                                "each waits for polls); start a job first")  # fmt: skip
        try:
            clock.set(max(due, clock.now_ms()))
        except ValueError as error:  # the next change lies past the end of year 9999
            return json_answer(409, f"the next change cannot be reached: {error}")
        return web.json_response({"now": clock.now_ms(), "kind": type(clock).__name__})
    seconds = wanted.get("seconds")
    try:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(f"got {seconds!r}")
        clock.advance(seconds)
    except (ValueError, OverflowError) as error:
        return json_answer(400, f'send {{"seconds": N}} with 0 <= N <= {MAX_ADVANCE_S:.0f}, or '
                            f'{{"to": "next"}}: {error}')  # fmt: skip
    return web.json_response({"now": clock.now_ms(), "kind": type(clock).__name__})


async def _stats(request: web.Request) -> web.Response:
    """What a soak test watches: tasks, jobs and journal against their caps."""
    mock = mock_of(request)
    return web.json_response(
        {
            "tasks": len(asyncio.all_tasks()),
            "jobs": len(mock.engine.view()),  # O(1): no list of every job
            "maxJobs": mock.settings.max_jobs,
            "activeJobs": mock.engine.active_count(),
            "maxActiveJobs": mock.settings.max_active_jobs,
            "journal": len(mock.journal),
            "journalSize": mock.settings.journal_size,
            "journalBytes": mock.journal.bytes,
            "maxJournalBytes": mock.settings.journal_bytes,
        }
    )


async def _journal(request: web.Request) -> web.Response:
    """The exchanges kept, oldest first; ``?operation=NAME`` keeps one operation's."""
    return exchanges_answer(request, list(mock_of(request).journal))


async def _violations(request: web.Request) -> web.Response:
    """The exchanges in which the client broke the contract (``requestViolations``, each of severity
    ``error``) or sent what it does not promise (``warnings``); ``?severity=error`` or ``warning``
    keeps one kind, ``?operation=NAME`` one operation's."""
    journal = mock_of(request).journal
    severity = request.query.get("severity")
    if severity == "error":
        found = journal.client_violations()
    elif severity == "warning":
        found = journal.client_warnings()
    elif severity is None:
        found = [e for e in journal if e.request_violations or e.warnings]
    else:
        return json_answer(400, f"?severity={severity[:200]!r} is not a severity; give error or warning")
    return exchanges_answer(request, found)


def exchanges_answer(request: web.Request, exchanges: list[Exchange]) -> web.Response:
    wanted = request.query.get("operation")
    if wanted is not None:
        if wanted not in OPERATION_NAMES:
            return json_answer(400, f"?operation={wanted[:200]!r} names no operation; the operations are "
                                f"{', '.join(OPERATION_NAMES)}")  # fmt: skip
        exchanges = [e for e in exchanges if e.operation == wanted]
    return web.json_response({"exchanges": [e.to_json() for e in exchanges]})


async def _operations(request: web.Request) -> web.Response:
    """The table of operations: what each is, whether this scenario serves it, how often it was
    called (among the exchanges the journal keeps)."""
    mock = mock_of(request)
    calls: dict[str | None, int] = {}
    for exchange in mock.journal:
        calls[exchange.operation] = calls.get(exchange.operation, 0) + 1
    rows = [
        {
            "name": op.name,
            "method": op.method,
            "path": op.path,
            "summary": op.summary,
            "served": mock.api.serves(op),
            "querySchema": op.query,
            "bodySchema": op.body,
            "responseSchema": op.response,
            "mediaTypes": list(op.media_types),
            "statuses": sorted(op.statuses),
            "calls": calls.get(op.name, 0),
        }
        for op in OPERATIONS
    ]
    return web.json_response({"operations": rows})


_ROUTES: list[tuple[str, str, _Handler]] = [
    ("GET", "", _index),
    ("GET", "/scenario", _get_scenario),
    ("PUT", "/scenario", _put_scenario),
    ("GET", "/scenarios", _scenarios),
    ("POST", "/reset", _reset),
    ("GET", "/clock", _clock),
    ("POST", "/clock/advance", _advance),
    ("GET", "/journal", _journal),
    ("GET", "/stats", _stats),
    ("GET", "/violations", _violations),
    ("GET", "/operations", _operations),
]


def admin_app() -> web.Application:
    """The admin API, to mount at :data:`ADMIN_PATH` on an app that holds the mock under ``MOCK``."""
    admin = web.Application(middlewares=[_guard])
    for method, path, handler in (*_ROUTES, *SESSION_ROUTES, *JOB_ROUTES, *UI_ROUTES):
        admin.router.add_route(method, path, handler)
    return admin
