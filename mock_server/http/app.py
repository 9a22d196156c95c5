"""The aiohttp application: one request pipeline, read top to bottom in :func:`_pipeline`.

route -> authenticate -> CSRF (when enforced) -> parse and validate the request
      -> injected fault? -> operation (engine) -> validate the response -> journal -> send
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..api.error_statuses import error_status
from ..api.operations import BASE_PATH, PATHS, RESTART_PATH, Call, Operation, Reply
from ..core.clock import Clock
from ..core.errors import MAX_SHOWN, NO_VIOLATIONS, MockError, RequestViolation, Violation, Violations
from ..core.faults import Chosen
from ..core.journal import MAX_DETAIL_BODY, MAX_DETAIL_HEADERS, Detail, Exchange
from ..core.repository import Repository
from ..core.sessions import SWEEP_EVERY_S, SessionLimits
from ..core.settings import LOGIN_COOKIE, Settings
from .admin import ADMIN_PATH, HEALTH_PATH, admin_app, health
from .auth import ims_grant, login_cookies, session_user
from .bodies import ABSENT, REQUEST_BODY, id_from_query, read_json
from .dashboard import EVENT_STREAMS, EVENTS_STOPPING, EventStreams, stop_event_streams
from .downloads import STREAMS, cut_downloads, cut_stream, send_stream
from .error_pages import sling_error_page
from .ims import IMS_TOKEN_PATH, ims_token
from .inflate import HANDLER_ARGS
from .options import ScenarioSource, build_mock, clock_option
from .refusals import Refusal, error_reply, refusal_for
from .runtime import MOCK, Mock, mock_of
from .sessions import SESSIONS, TARGETS, select_session, sessions_for, sweeping, targets_cache
from .sling import SLING_SUFFIX, sling_allow, suffix_warning

__all__ = ["CSRF_TOKEN_PATH", "OPENAPI_PATH", "WARNINGS_HEADER", "app_for", "create_app"]

log = logging.getLogger("aem_guides_mock")

CSRF_TOKEN_PATH = "/libs/granite/csrf/token.json"
OPENAPI_PATH = "/openapi.json"
#: aiohttp's own cap; the mock enforces ``Settings.max_body_bytes`` itself, so a scenario can change it.
_CLIENT_MAX_SIZE = 100 * 1024 * 1024
#: The answer's count of warnings: what the client sent that an author serves but the documented
#: contract does not promise (the journal and ``/__admin/violations`` say what).
WARNINGS_HEADER = "X-Aem-Mock-Warnings"
#: How many variations an answer was sent with (``vary``); the journal names them.
VARIATIONS_HEADER = "X-Aem-Mock-Variations"
_NO_QUERY: Mapping[str, Any] = {}
#: How much of a query string the journal keeps.
_MAX_QUERY_KEPT = 1024


def create_app(
    settings: Settings | None = None,
    *,
    scenario: ScenarioSource = None,
    overrides: Mapping[str, Any] | None = None,
    clock: Clock | str | None = None,
    repository: Repository | None = None,
    environ: Mapping[str, str] | None = None,
    new_id: Callable[[], str] | None = None,
    default_clock: str | None = None,
) -> web.Application:
    """The mock as an aiohttp application, for ``aiohttp.test_utils`` or your own runner.

    The options and their defaults are those of :class:`~mock_server.MockServer` and the fixtures
    (see :mod:`.options`): ``scenario`` a name, a path, YAML text or a Scenario (default: the
    embedded default); ``clock`` a name (default ``"manual"``) or a clock object; ``environ``
    defaults to ``os.environ``. ``default_clock=NAME`` is the deprecated spelling of ``clock=NAME``.
    """
    mock = build_mock(
        scenario,
        settings=settings,
        overrides=overrides,
        clock=clock_option(clock, default_clock),
        repository=repository,
        environ=environ,
        new_id=new_id,
    )
    return app_for(mock)


def app_for(
    mock: Mock, *, sessions: SessionLimits | None = None, now: Callable[[], float] = time.monotonic
) -> web.Application:
    """An aiohttp application serving ``mock`` as its default session, and other sessions within
    ``sessions`` (see :mod:`.sessions`); ``now`` is the real clock their idle time is measured on."""
    app = web.Application(
        client_max_size=_CLIENT_MAX_SIZE, handler_args=HANDLER_ARGS, middlewares=[select_session]
    )
    app[MOCK] = mock
    app[SESSIONS] = sessions_for(mock, sessions, now)
    app[TARGETS] = targets_cache()
    app.cleanup_ctx.append(sweeping(min(SWEEP_EVERY_S, app[SESSIONS].limits.ttl_s / 2)))
    app[STREAMS] = set()
    app.on_shutdown.append(cut_downloads)
    app[EVENTS_STOPPING] = asyncio.Event()
    app[EVENT_STREAMS] = EventStreams()
    app.on_shutdown.append(stop_event_streams)
    app.router.add_route("*", HEALTH_PATH, health)  # the server's, not the admin API's: no guard in front
    app.add_subapp(ADMIN_PATH, admin_app())
    app.router.add_route("*", CSRF_TOKEN_PATH, _csrf_token)
    app.router.add_route("*", IMS_TOKEN_PATH, ims_token)
    app.router.add_get(OPENAPI_PATH, _openapi)
    for path in PATHS:
        app.router.add_route("*", path, _endpoint(path))
    for path in PATHS:  # after the exact paths, which stay a dictionary look-up
        app.router.add_route("*", path + "{sling_suffix:" + SLING_SUFFIX + "}", _endpoint(path, spelled=True))
    app.router.add_route("*", "/{tail:.*}", _unknown_path)
    return app


def _endpoint(path: str, spelled: bool = False) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of an API path: the pipeline itself, told the path (no coroutine in between);
    ``spelled``: the path as Sling also resolves it (see :data:`.sling.SLING_SUFFIX`)."""
    return functools.partial(_pipeline, path=path, spelled=spelled)


async def _unknown_path(request: web.Request) -> web.StreamResponse:
    return await _pipeline(request)


async def _pipeline(
    request: web.Request, path: str | None = None, allowed: Collection[str] = (), spelled: bool = False
) -> web.StreamResponse:
    """Answer ``request`` to the API ``path`` (None: no path of the API); ``allowed``: the methods
    a path that is not the API's takes (for a 405); ``spelled``: the path had an extension or a
    trailing slash (served, with a warning: §3.32)."""
    mock = mock_of(request)
    operation: Operation | None = None
    if path is not None:
        operations = mock.api.routes[path]
        operation = operations.get("GET" if request.method == "HEAD" else request.method)
        allowed = operations
    user: str | None = None
    fault: Chosen | None = None
    request_violations = response_violations = warnings = NO_VIOLATIONS
    variations: tuple[str, ...] = ()
    close = False
    try:
        user, session = _authenticate(request, mock)  # before the route: Sling authenticates first (§3.34)
        if operation is None:
            if request.method == "OPTIONS" and path is not None:  # Sling's doOptions (§3.33)
                allow = web.Response(headers={"Allow": sling_allow(allowed)})
                _record(mock, request, 200, user, None, NO_VIOLATIONS, NO_VIOLATIONS, answer=allow)
                return allow
            raise _no_route(request, allowed)
        _check_csrf(request, mock, session)
        query, violations, warnings = mock.contract.check_query(
            operation.query, request.query_string, lambda: request.query.items()
        )
        if spelled:
            warnings = warnings + Violations.of([suffix_warning(request.path, operation.path)])
        body = None
        if operation.body is not None:  # a GET reads no body
            body, integral_floats, noticed = await read_json(request, operation, mock.settings)
            if noticed:
                warnings = warnings + Violations.of(noticed)
            body = id_from_query(operation, query, body)
            if body is ABSENT:
                body = None
            else:
                body, errors, noted = mock.contract.read_body(operation.body, body, integral_floats)
                violations, warnings = violations + errors, warnings + noted
        if violations:
            raise refusal_for(RequestViolation(violations.summary(), violations), mock.settings)
        if mock.faults.armed:
            fault = _pick_fault(mock, operation, query, body, request)
        if fault is not None and await _start_fault(request, fault, mock.settings.realm):
            _record(mock, request, 0, user, operation, NO_VIOLATIONS, NO_VIOLATIONS, fault)
            return web.Response(status=500)  # never sent: the connection is gone
        reply = _call(mock, operation, Call(user, query, body, request.headers.get("Accept", "")))
        if reply.stream is not None:
            if fault is not None and fault.fault.malformed:
                reply.stream = cut_stream(reply.stream)
            sent_by, noted = user, warnings  # recorded once the download is sure to start
            if noted:
                reply.headers[WARNINGS_HEADER] = str(noted.total)
            return await send_stream(
                request,
                reply,
                lambda: _record(
                    mock,
                    request,
                    reply.status,
                    sent_by,
                    operation,
                    NO_VIOLATIONS,
                    NO_VIOLATIONS,
                    fault,
                    noted,
                ),
            )
        response, response_violations, variations = _json_response(mock, reply, query)
        if fault is not None and fault.fault.malformed and isinstance(response.body, bytes):
            response.body = response.body[: max(1, len(response.body) // 2)]  # cut-off JSON
    except Refusal as refusal:
        request_violations = refusal.violations if refusal.breaks_contract else NO_VIOLATIONS
        response, response_violations, variations = _json_response(mock, error_reply(refusal, request.path))
        close = refusal.close
    except Exception:  # a bug in the mock: answer 500, never crash the server
        log.exception("unexpected error answering %s %s", request.method, request.path)
        failure = Refusal(500, "the mock failed unexpectedly; see the server log", breaks_contract=False)
        response, response_violations, variations = _json_response(mock, error_reply(failure, request.path))
    if close:
        response.force_close()
    if warnings:
        response.headers[WARNINGS_HEADER] = str(warnings.total)
    _record(
        mock,
        request,
        response.status,
        user,
        operation,
        request_violations,
        response_violations,
        fault,
        warnings,
        variations,
        response,
    )
    return response


# --- the steps of the pipeline ---------------------------------------------------------------------


def _no_route(request: web.Request, methods: Collection[str]) -> Refusal:
    allowed = sorted(methods)
    if not allowed:
        message = f"no endpoint at {request.path}; the API lives under {BASE_PATH}"
        if request.path == RESTART_PATH:
            message = (
                f"{request.path} is not served: the contract documents no restart endpoint (§3.16); "
                "switch it on with the setting restart_endpoint"
            )
        return Refusal(404, message, [Violation("path", message, "a path of the API", request.path)])
    message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
    return Refusal(
        405,
        message,
        [Violation("method", message, " or ".join(allowed), request.method)],
        headers={"Allow": ", ".join(allowed)},
    )


def _authenticate(request: web.Request, mock: Mock) -> tuple[str, bool]:
    """Who sends ``request``, and whether a ``login-token`` session (the AEM UI's cookie) proves it
    (§3.41): the ``Authorization`` header first, the cookie when the header proves no one."""
    user = mock.authenticate(request.headers.get("Authorization"))
    if user is not None:
        return user, False
    cookies = login_cookies(request.headers.getall("Cookie", ()))
    user = session_user(cookies, mock.settings)
    if user is not None:
        return user, True
    _refuse_an_expired_ims_token(request.headers.get("Authorization", ""), mock)
    message = (
        "authentication required: send HTTP Basic credentials (such as admin:admin) or "
        "'Authorization: Bearer <token>'"
    )
    if cookies:
        message = (
            f"the {LOGIN_COOKIE} cookie names no session of this scenario (settings.login_tokens): "
            f"add its value there, or {message.removeprefix('authentication required: ')}"
        )
    raise Refusal(
        401,
        message,
        headers={"WWW-Authenticate": f'Basic realm="{mock.settings.realm}"'},
        breaks_contract=False,
    )


_EXPIRED_TOKEN = 'Bearer error="invalid_token", error_description="The access token expired"'


def _refuse_an_expired_ims_token(authorization: str, mock: Mock) -> None:
    """A 401 saying so for an IMS access token that has expired on the mock's clock, with RFC 6750's
    ``WWW-Authenticate: Bearer error="invalid_token"`` a client's refresh logic looks for."""
    issued = ims_grant(authorization, mock.ims)
    if issued is None:
        return
    expired = datetime.fromtimestamp(issued.expires_at_ms / 1000, UTC).isoformat(timespec="seconds")
    raise Refusal(
        401,
        f"the IMS access token expired at {expired} (the mock's clock): get a new one (POST "
        f"{IMS_TOKEN_PATH}) and send it",
        headers={
            "WWW-Authenticate": 'Bearer error="invalid_token", error_description="The access token expired"'
        },
        breaks_contract=False,
    )


def _check_csrf(request: web.Request, mock: Mock, session: bool) -> None:
    """AEM's CSRF filter: a POST from a browser, or in a ``login-token`` session whatever its
    user agent and whether or not ``csrf`` is on (§3.41), needs a ``CSRF-Token`` from the token
    endpoint."""
    if request.method != "POST":
        return
    if not session and (not mock.settings.csrf or "Mozilla/" not in request.headers.get("User-Agent", "")):
        return  # AEM exempts non-browser clients
    sent = request.headers.get("CSRF-Token")
    if mock.csrf_tokens.valid(sent or ""):
        return
    who = f"in a {LOGIN_COOKIE} session (a browser's)" if session else "from a browser"
    message = f"a POST {who} needs the 'CSRF-Token' header: GET {CSRF_TOKEN_PATH} and send its token"
    got = None if sent is None else "a token the token endpoint did not hand out"
    raise Refusal(
        403,
        message,
        [Violation("header:CSRF-Token", message, f"a token from GET {CSRF_TOKEN_PATH}", got)],
        breaks_contract=False,
    )


async def _openapi(request: web.Request) -> web.StreamResponse:
    """The OpenAPI 3.1 document, generated from the running contract's schemas."""
    from ..api.openapi import openapi_document

    mock = mock_of(request)
    return web.json_response(openapi_document(mock.api, mock.contract.schemas))


async def _csrf_token(request: web.Request) -> web.StreamResponse:
    """``GET /libs/granite/csrf/token.json`` → ``{"token": "…"}``, whether CSRF is enforced or not
    (§3.26): every author serves it, and an AEM client's first call is often this one."""
    mock = mock_of(request)
    if request.method not in ("GET", "HEAD"):
        return await _pipeline(request, allowed=("GET",))
    try:
        _authenticate(request, mock)
    except Refusal as refusal:
        return _json_response(mock, error_reply(refusal, request.path))[0]
    return web.json_response({"token": mock.csrf_tokens.issue()})


def _pick_fault(
    mock: Mock, operation: Operation, query: Mapping[str, Any], body: Any, request: web.Request
) -> Chosen | None:
    processing_id = query.get("processingId")
    if processing_id is None and isinstance(body, dict):
        processing_id = body.get("processingId")
    job = mock.engine.find(processing_id) if isinstance(processing_id, str) else None
    script = job.script if job is not None else None
    scheme = request.headers.get("Authorization", "").strip().partition(" ")[0].lower()
    client = request.remote or ""  # a rate limit counts each address apart, as the CDN's clientIp
    return mock.faults.pick(operation.name, mock.clock.now_ms(), script, processing_id or "", scheme, client)


async def _start_fault(request: web.Request, chosen: Chosen, realm: str) -> bool:
    """Apply a fault's latency, then answer its status, or drop the connection (answer True)."""
    fault = chosen.fault
    if chosen.latency_ms:
        await asyncio.sleep(chosen.latency_ms / 1000)
    if fault.connection is not None:
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport else None
        if fault.connection == "reset" and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if transport is not None:
            transport.close()
        return True
    if fault.status is not None:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{realm}"'
        message = f"injected fault: {fault.label()}"
        raise Refusal(fault.status, message, headers=headers, breaks_contract=False, body=fault.body)
    return False


def _call(mock: Mock, operation: Operation, call: Call) -> Reply:
    # The current scenario's handlers: a reload while the body was read has swapped the engine.
    api = mock.api
    if not api.serves(operation):  # the reloaded scenario does not serve it (restart switched off)
        raise Refusal(404, f"{operation.path} is no longer served: the scenario was reloaded",
                       breaks_contract=False)  # fmt: skip
    try:
        return api.answer(operation, call)
    except MockError as error:
        if error_status(error).bug:
            raise  # the pipeline logs it and answers 500
        raise refusal_for(error, mock.settings, operation.id_in_body) from None


def _json_response(
    mock: Mock, reply: Reply, query: Mapping[str, Any] = _NO_QUERY
) -> tuple[web.Response, Violations, tuple[str, ...]]:
    """The response of ``reply``, its violations of its schema, and (with ``vary``) the names of
    the variations it was sent with."""
    body = reply.body if reply.body is not None else json.dumps(reply.payload, separators=(",", ":")).encode()
    violations = (
        mock.contract.check_response(reply.schema, body, reply.payload) if reply.schema else NO_VIOLATIONS
    )
    if violations:
        log.error(
            "BUG: the mock's own %s response breaks schema %r: %s; answering 500 instead",
            reply.status, reply.schema, violations.summary(),
        )  # fmt: skip
        message = f"the mock's response broke its schema {reply.schema!r} (a bug in the mock)"
        reply = error_reply(Refusal(500, message, violations), "")
        body = reply.body or b""
    variations: tuple[str, ...] = ()
    content_type, charset = reply.content_type, None
    if reply.is_error and mock.settings.error_format == "sling-html":  # checked as JSON, sent as HTML
        body, content_type, charset = sling_error_page(reply.payload), "text/html", "utf-8"
    elif mock.contract.variation is not None and reply.schema and not violations:
        payload = reply.payload if reply.payload is not None else json.loads(body)
        varied, names, broken = mock.contract.vary(reply.schema, payload, body, query)
        if broken:  # a bug in the variation: the answer goes out as it was, the journal says why
            log.error("BUG: a varied %r answer breaks the contract: %s", reply.schema, broken.summary())
            violations = broken
        else:
            body, variations = varied, tuple(names)
    response = web.Response(body=body, status=reply.status, content_type=content_type, charset=charset)
    response.headers.update(reply.headers)
    if variations:
        response.headers[VARIATIONS_HEADER] = str(len(variations))
    return response, violations, variations


def _record(
    mock: Mock,
    request: web.Request,
    status: int,
    user: str | None,
    operation: Operation | None,
    request_violations: Violations,
    response_violations: Violations,
    fault: Chosen | None = None,
    warnings: Violations = NO_VIOLATIONS,
    variations: tuple[str, ...] = (),
    answer: web.Response | None = None,
) -> None:
    """Journal the exchange; ``answer``: the response sent whole (None: streamed, or never sent)."""
    mock.journal.record(
        Exchange(  # by position: the fields in their order (at_ms, method, path, query, status, …)
            mock.clock.now_ms(),
            request.method,
            request.path[:MAX_SHOWN],
            request.query_string[:_MAX_QUERY_KEPT],
            status,
            user,
            operation.name if operation else None,
            request_violations.listed,
            response_violations.listed,
            fault.fault.label() if fault else None,
            request_violations.more,
            warnings.listed,
            variations,
        ),
        _detail(request, answer),
    )


def _detail(request: web.Request, answer: web.Response | None) -> Detail:
    """The headers and the first bytes of the bodies, as they came: cheap (no copy of a header, a
    slice of each body); masked only when a page shows them."""
    sent = request.get(REQUEST_BODY, b"")
    headers = request.raw_headers[:MAX_DETAIL_HEADERS]
    if answer is None:
        return Detail(headers, sent[:MAX_DETAIL_BODY], len(sent), (), b"", -1)
    body = answer.body if isinstance(answer.body, bytes) else b""
    answered = tuple(answer.headers.items())[:MAX_DETAIL_HEADERS]
    return Detail(headers, sent[:MAX_DETAIL_BODY], len(sent), answered, body[:MAX_DETAIL_BODY], len(body))
