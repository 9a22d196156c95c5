"""Sessions on the wire: which session a request is for, and the server's admin routes for them.

A request names a session by the path prefix ``/sessions/NAME`` in front of anything the server
serves (the API, the Sling and CSRF paths, ``/__admin`` and the dashboard), so that a client given
the base URL ``http://host:4502/sessions/NAME`` is isolated with no change, or by the header
:data:`HEADER`. The prefix wins; a prefix and a header naming two sessions is a 400. Neither is the
default session: the server's own mock, as before sessions. :func:`select_session` resolves it
once, before any handler: it puts the session's mock on the request (:data:`.runtime.SESSION_MOCK`,
read by :func:`.runtime.mock_of`) and serves a prefixed request again without its prefix, so every
route is the same code for every session. A session named that does not exist is made on first
use, with the server's scenario and settings.

``/__admin/sessions`` (:data:`SESSION_ROUTES`) creates, lists, resets and deletes sessions: routes
of the server's admin API, guarded like it, not of a session's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import hdrs, web
from yarl import URL

from ..core.bounded import BoundedCache
from ..core.errors import ScenarioError, SettingError
from ..core.sessions import (
    DEFAULT_NAME,
    NAME_RULE,
    Session,
    SessionError,
    SessionLimits,
    Sessions,
    check_name,
    ttl_seconds,
)
from ..core.settings import spelled
from ..scenarios.scenario import MAX_BYTES as MAX_SCENARIO_BYTES
from .answers import admin_error, json_answer
from .inflate import BodyTooLarge, BodyUnreadable, read_body
from .options import as_scenario, clock_kind
from .runtime import SESSION_MOCK, Mock, server_mock

__all__ = ["HEADER", "PREFIX", "SESSIONS", "SESSION_ROUTES", "listed", "select_session", "session_name"]
__all__ += ["TARGETS", "sessions_for", "sweeping", "targets_cache"]

#: The header that names a session, for clients that can add one.
HEADER = "X-Aem-Mock-Session"
#: The path prefix that names a session: ``/sessions/NAME/bin/guides/...``.
PREFIX = "/sessions/"
#: The server's sessions, the default one among them.
SESSIONS: web.AppKey[Sessions[Mock]] = web.AppKey("sessions")
#: The admin routes of sessions, under ``/__admin``: a header names no session on them.
_ADMIN_SESSIONS = "/__admin/sessions"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The unprefixed URLs of prefixed requests, by the prefixed request's path and query
#: (:func:`targets_cache`): a client polls the same URL again and again, and a URL made afresh is
#: parsed afresh (its path for the router, its query for the handler). yarl keeps 128; a team's
#: server polls thousands of jobs.
TARGETS: web.AppKey[BoundedCache[tuple[str, str], URL]] = web.AppKey("session_targets")
_TARGETS_KEPT = 4096
_TARGETS_BYTES = 4 * 1024 * 1024
#: About what a URL kept takes besides its text: the object, and what it parsed (its path, query).
_TARGET_BYTES = 1024


def targets_cache() -> BoundedCache[tuple[str, str], URL]:
    """A server's cache of :data:`TARGETS`: 4,096 URLs and 4 MiB at most."""
    return BoundedCache(_TARGETS_KEPT, _TARGETS_BYTES)


def sessions_for(
    mock: Mock, limits: SessionLimits | None = None, now: Callable[[], float] = time.monotonic
) -> Sessions[Mock]:
    """The sessions of a server whose own mock is ``mock``; ``now`` is the real clock idle time is
    measured on."""
    return Sessions(mock, limits, now)


def _made(
    server: Mock, limits: SessionLimits, scenario: Any = None, settings: Mapping[str, Any] | None = None
) -> Mock:
    """A session's mock: ``scenario`` (None: the server's) with ``settings`` over the server's,
    its jobs and journal within its share of the sessions' bytes (:class:`SessionLimits`)."""
    given = spelled(settings or {}, "the session's settings")
    caps = {
        "jobs_bytes": min(server.settings.jobs_bytes, limits.jobs_bytes),
        "journal_bytes": min(server.settings.journal_bytes, limits.journal_bytes),
    }
    for name, cap in caps.items():  # a session may ask for less, never for more
        wanted = given.get(name)
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            caps[name] = max(1, min(wanted, cap))
    return server.sibling(None if scenario is None else as_scenario(scenario), {**given, **caps})


def _session(sessions: Sessions[Mock], name: str) -> Session[Mock]:
    server = sessions.default.mock
    return sessions.get(name, lambda _: _made(server, sessions.limits))


@web.middleware
async def select_session(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Serve ``request`` in the session it names (see the module), made on first use."""
    if SESSION_MOCK in request:  # served again without its prefix: resolved already
        return await handler(request)
    raw = request.rel_url.raw_path
    header = request.headers.get(HEADER)
    prefixed = raw.startswith(PREFIX)
    if not prefixed and (header is None or raw.startswith(_ADMIN_SESSIONS)):
        return await handler(request)  # the default session, as before sessions
    sessions = request.app[SESSIONS]
    name, _, rest = raw[len(PREFIX) :].partition("/") if prefixed else (header or "", "", "")
    try:
        if prefixed and header is not None and header != name:
            raise SessionError(400, f"the path names the session {name[:80]!r} and the header {HEADER} "
                               f"names {header[:80]!r}: name one session, or the same in both")  # fmt: skip
        session = _session(sessions, name)
    except SessionError as error:
        return json_answer(error.status, str(error))
    except (SettingError, ScenarioError) as error:  # the server's settings cannot make one
        return admin_error(error, "the session could not be made with the server's settings")
    if not prefixed:
        request[SESSION_MOCK] = session.mock
        return await handler(request)
    query = request.rel_url.raw_query_string
    targets = request.app[TARGETS]
    target = targets.get((rest, query))
    if target is None:
        target = URL.build(path="/" + rest, query_string=query, encoded=True)
        targets.put((rest, query), target, _TARGET_BYTES + 2 * (len(rest) + len(query)))
    if hdrs.EXPECT in request.headers:  # answered (100 Continue) already by the first dispatch
        headers = request.headers.copy()
        del headers[hdrs.EXPECT]
        inner = request.clone(rel_url=target, headers=headers)
    else:
        inner = request.clone(rel_url=target)
    inner[SESSION_MOCK] = session.mock
    # aiohttp routes a request once; serving it again without its prefix reuses every route, the
    # admin sub-app and its guard included (Application._handle is what the server itself calls).
    return await request.app._handle(inner)


# --- the admin routes -------------------------------------------------------------------------------


def _server_sessions(request: web.Request) -> Sessions[Mock]:
    if SESSION_MOCK in request:
        raise SessionError(404, f"sessions are made and listed on the server's admin API, {_ADMIN_SESSIONS}, "
                                "not under a session's prefix")  # fmt: skip
    return request.config_dict[SESSIONS]


def _shown(session: Session[Mock], now: float, base: str) -> dict[str, Any]:
    mock = session.mock
    default = session.name == DEFAULT_NAME
    return {
        "name": session.name,
        "baseUrl": base if default else f"{base}{PREFIX}{session.name}",
        "default": default,
        "scenario": mock.scenario.name,
        "clock": {
            "now": mock.clock.now_ms(),
            "kind": clock_kind(mock.clock),
        },
        "jobs": len(mock.engine.view()),
        "idleSeconds": None if default else round(now - session.last_used_s, 3),
        "expiresInSeconds": None if default else round(max(0.0, session.expires_s - now), 3),
        "ttlSeconds": None if default else session.ttl_s,
        "jobsBytes": mock.settings.jobs_bytes,
        "journalBytes": mock.settings.journal_bytes,
    }


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def listed(request: web.Request) -> tuple[list[dict[str, Any]], int]:
    """Each session as ``GET /__admin/sessions`` shows it, and the most there may be; a
    :class:`SessionError` (404) under a session's prefix."""
    sessions = _server_sessions(request)
    now, base = sessions.now(), _base_url(request)
    return [_shown(session, now, base) for session in sessions], sessions.limits.max_sessions


def session_name(request: web.Request) -> str | None:
    """The name of the session ``request`` is served in; None for the server's own (no prefix,
    no header)."""
    mock = request.get(SESSION_MOCK)
    if mock is None:
        return None
    return next((s.name for s in request.config_dict[SESSIONS] if s.mock is mock), "(deleted)")


async def _list(request: web.Request) -> web.Response:
    sessions = _server_sessions(request)
    now, base = sessions.now(), _base_url(request)
    shown = [_shown(session, now, base) for session in sessions]
    return web.json_response(
        {"sessions": shown, "count": len(sessions), "maxSessions": sessions.limits.max_sessions}
    )


async def _create(request: web.Request) -> web.Response:
    """``{"name"?, "scenario"?, "settings"?, "ttl"?}``: 201 with the session's base URL."""
    sessions = _server_sessions(request)
    try:
        raw = await read_body(
            request, 2 * MAX_SCENARIO_BYTES, server_mock(request).settings.body_timeout_ms / 1000
        )
    except BodyTooLarge:
        return json_answer(413, f"the body is larger than {2 * MAX_SCENARIO_BYTES} bytes",
                           headers={"Connection": "close"})  # fmt: skip
    except BodyUnreadable as error:
        return json_answer(
            400, f"the body could not be read ({error.reason})", headers={"Connection": "close"}
        )
    try:
        document = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        example = (
            '{"name": "abc", "scenario": "fail-midway", "settings": {"per_asset": "50ms"}, "ttl": "30m"}'
        )
        return json_answer(400, f"send a JSON object such as {example}; every field may be left out")
    unknown = sorted(set(document) - {"name", "scenario", "settings", "ttl"})
    if unknown:
        return json_answer(400, f"{unknown[0][:80]!r} is not a field of a new session; the fields are name, "
                           "scenario, settings and ttl")  # fmt: skip
    name, scenario, settings, ttl = (document.get(k) for k in ("name", "scenario", "settings", "ttl"))
    try:
        if name is not None and not isinstance(name, str):
            raise SessionError(400, f"name must be a string of {NAME_RULE}")
        if scenario is not None and not isinstance(scenario, str):
            raise SessionError(400, "scenario must be a string: a shipped scenario's name, a path to a "
                                    "scenario file on the server, or a YAML document")  # fmt: skip
        if settings is not None and not isinstance(settings, dict):
            raise SessionError(400, 'settings must be an object of settings as a scenario spells them, '
                                    'such as {"per_asset": "50ms", "clock": "manual"}')  # fmt: skip
        ttl_s = None if ttl is None else ttl_seconds(ttl)
        name = sessions.draw_name() if name is None else check_name(name)
        if sessions.find(name) is not None:
            raise SessionError(409, f"a session named {name!r} exists; delete it first, or pick another name")
        sessions.check_room()
        server = sessions.default.mock
        if scenario is None and not settings:  # parts shared with the other sessions: under 1 ms
            mock = _made(server, sessions.limits)
        else:  # a scenario read and parsed, a contract compiled: off the event loop
            mock = await asyncio.to_thread(_made, server, sessions.limits, scenario, settings)
        session = sessions.add(name, mock, ttl_s)
    except SessionError as error:
        return json_answer(error.status, str(error))
    except (SettingError, ScenarioError) as error:
        return admin_error(error, f"the session was not created: {error}")
    return web.json_response(_shown(session, sessions.now(), _base_url(request)), status=201)


def _named(request: web.Request) -> Session[Mock]:
    sessions = _server_sessions(request)
    name = request.match_info["name"]
    found = sessions.find(check_name(name))
    if found is None:
        raise SessionError(404, f"no session named {name!r}; GET {_ADMIN_SESSIONS} lists them")
    return found


async def _reset(request: web.Request) -> web.Response:
    """Forget the session's jobs and exchanges, and put its manual clock back to its start."""
    session = _named(request)
    session.mock.reset()
    return web.json_response({"name": session.name, "reset": True})


async def _delete(request: web.Request) -> web.Response:
    _server_sessions(request).delete(request.match_info["name"])
    return web.json_response({"name": request.match_info["name"], "deleted": True})


def _answering(handler: _Handler) -> _Handler:
    """``handler``, a :class:`SessionError` it raises answered as JSON with its status."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SessionError as error:
            return json_answer(error.status, str(error))

    return answer


SESSION_ROUTES: list[tuple[str, str, _Handler]] = [
    ("GET", "/sessions", _answering(_list)),
    ("POST", "/sessions", _answering(_create)),
    ("POST", "/sessions/{name}/reset", _answering(_reset)),
    ("DELETE", "/sessions/{name}", _answering(_delete)),
]


async def _sweep_forever(sessions: Sessions[Mock], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        sessions.sweep()


def sweeping(every_s: float) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """An app's ``cleanup_ctx``: drop the idle sessions every ``every_s`` seconds while it serves."""

    @contextlib.asynccontextmanager
    async def sweep(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep_forever(app[SESSIONS], every_s))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return sweep
