"""The aiohttp application: one request pipeline, read top to bottom in :func:`_pipeline`.

route -> authenticate -> CSRF (when enforced) -> parse and validate the request
      -> injected fault? -> operation (engine) -> validate the response -> journal -> send
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from ..api.operations import BASE_PATH, PATHS, RESTART_PATH, Call, Operation, Reply
from ..contract.validation import parse_json
from ..core.clock import Clock
from ..core.errors import (
    MAX_SHOWN,
    JobConflict,
    JobError,
    QueueFull,
    RequestViolation,
    UnknownJob,
    Violation,
    Violations,
)
from ..core.faults import Chosen
from ..core.journal import Exchange
from ..core.repository import Repository
from ..core.settings import Settings
from ..scenarios.scenario import Scenario
from .admin import ADMIN_PATH, admin_app
from .error_pages import sling_error_page
from .runtime import DEFAULT_SCENARIO, MOCK, Mock

__all__ = ["CSRF_TOKEN_PATH", "OPENAPI_PATH", "app_for", "create_app"]

log = logging.getLogger("aem_guides_mock")

#: The downloads streaming now: a shutdown cuts them at once rather than wait out its grace period.
_STREAMS: web.AppKey[set[asyncio.Task[Any] | None]] = web.AppKey("streams")
CSRF_TOKEN_PATH = "/libs/granite/csrf/token.json"
OPENAPI_PATH = "/openapi.json"
#: aiohttp's own cap; the mock enforces ``Settings.max_body_bytes`` itself, so a scenario can change it.
_CLIENT_MAX_SIZE = 100 * 1024 * 1024
#: The most bytes an error body takes; violations are dropped (and counted) to keep within it.
MAX_ERROR_BYTES = 64 * 1024
#: How much of a query string the journal keeps.
_MAX_QUERY_KEPT = 1024


class _Refusal(Exception):
    """An answer other than the operation's own: status, message and violations.

    ``breaks_contract`` tells whether the client under test broke the contract (a malformed or
    invalid request, a wrong path or method); the journal keeps those. Refusals that a correct
    client meets too (401, an unknown job, a job in the wrong state, a fault) do not break it.
    """

    def __init__(
        self,
        status: int,
        message: str,
        violations: Sequence[Violation] | Violations = (),
        headers: Mapping[str, str] | None = None,
        *,
        breaks_contract: bool = True,
        body: Any = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = violations if isinstance(violations, Violations) else Violations.of(violations)
        self.headers = dict(headers or {})
        self.breaks_contract = breaks_contract
        self.body = body
        self.close = close
        """Close the connection after answering (a client that cannot be read from any more)."""


def create_app(
    settings: Settings | None = None,
    *,
    scenario: Scenario | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    repository: Repository | None = None,
    new_id: Callable[[], str] | None = None,
    default_clock: str | None = None,
) -> web.Application:
    """The mock as an aiohttp application; every argument has the dev server's default.

    Settings merge lowest first: ``settings`` (the base), ``default_clock``, the scenario,
    ``environ`` (``AEM_GUIDES_MOCK_*``; none are read unless given), ``overrides``.
    """
    mock = Mock(
        scenario or DEFAULT_SCENARIO,
        base=settings,
        environ=environ,
        overrides=overrides,
        clock=clock,
        repository=repository,
        new_id=new_id,
        default_clock=default_clock,
    )
    return app_for(mock)


def app_for(mock: Mock) -> web.Application:
    """An aiohttp application serving ``mock``."""
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
    app[MOCK] = mock
    app[_STREAMS] = set()
    app.on_shutdown.append(_cut_downloads)
    app.add_subapp(ADMIN_PATH, admin_app())
    app.router.add_route("*", CSRF_TOKEN_PATH, _csrf_token)
    app.router.add_get(OPENAPI_PATH, _openapi)
    for path in PATHS:
        app.router.add_route("*", path, _endpoint(path))
    app.router.add_route("*", "/{tail:.*}", _unknown_path)
    return app


def _endpoint(path: str) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        operations = request.app[MOCK].api.routes[path]
        method = "GET" if request.method == "HEAD" else request.method
        return await _pipeline(request, operations.get(method), sorted(operations))

    return handle


async def _unknown_path(request: web.Request) -> web.StreamResponse:
    return await _pipeline(request, None, ())


async def _pipeline(
    request: web.Request, operation: Operation | None, allowed: Sequence[str]
) -> web.StreamResponse:
    mock = request.app[MOCK]
    user: str | None = None
    fault: Chosen | None = None
    request_violations = response_violations = Violations()
    close = False
    try:
        if operation is None:
            raise _no_route(request, allowed)
        user = _authenticate(request, mock)
        _check_csrf(request, mock)
        query, violations = mock.contract.check_query(
            operation.query, request.query_string, request.query.items()
        )
        body, integral_floats = await _read_json(request, operation, mock.settings)
        body = _id_from_query(operation, query, body)
        if operation.body and body is not ABSENT:
            violations = violations + mock.contract.check_body(operation.body, body, integral_floats)
        else:
            body = None
        if violations:
            raise _Refusal(_status_for(violations, mock), violations.summary(), violations)
        fault = _pick_fault(mock, operation, query, body, request.headers.get("Authorization", ""))
        if fault is not None and await _start_fault(request, fault, mock.settings.realm):
            _record(mock, request, 0, user, operation, Violations(), Violations(), fault)
            return web.Response(status=500)  # never sent: the connection is gone
        reply = _call(mock, operation, Call(user, query, body, request.headers.get("Accept", "")))
        if reply.stream is not None:
            if fault is not None and fault.fault.malformed:
                reply.stream = _cut(reply.stream)
            return await _send_stream(request, reply, mock, operation, user, fault)
        response, response_violations = _json_response(mock, reply)
        if fault is not None and fault.fault.malformed and isinstance(response.body, bytes):
            response.body = response.body[: max(1, len(response.body) // 2)]  # cut-off JSON
    except _Refusal as refusal:
        request_violations = refusal.violations if refusal.breaks_contract else Violations()
        response, response_violations = _json_response(mock, _error(refusal, request.path))
        close = refusal.close
    except Exception:  # a bug in the mock: answer 500, never crash the server
        log.exception("unexpected error answering %s %s", request.method, request.path)
        failure = _Refusal(500, "the mock failed unexpectedly; see the server log", breaks_contract=False)
        response, response_violations = _json_response(mock, _error(failure, request.path))
    if close:
        response.force_close()
    _record(mock, request, response.status, user, operation, request_violations, response_violations, fault)
    return response


# --- the steps of the pipeline ---------------------------------------------------------------------


def _no_route(request: web.Request, allowed: Sequence[str]) -> _Refusal:
    if not allowed:
        message = f"no endpoint at {request.path}; the API lives under {BASE_PATH}"
        if request.path == RESTART_PATH:
            message = (
                f"{request.path} is not served: the contract documents no restart endpoint (§3.16); "
                "switch it on with the setting restart_endpoint"
            )
        return _Refusal(404, message, [Violation("path", message, "a path of the API", request.path)])
    message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
    return _Refusal(
        405,
        message,
        [Violation("method", message, " or ".join(allowed), request.method)],
        headers={"Allow": ", ".join(allowed)},
    )


def _authenticate(request: web.Request, mock: Mock) -> str:
    user = mock.authenticate(request.headers.get("Authorization"))
    if user is None:
        raise _Refusal(
            401,
            "authentication required: send HTTP Basic credentials (such as admin:admin) or "
            "'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": f'Basic realm="{mock.settings.realm}"'},
            breaks_contract=False,
        )
    return user


def _check_csrf(request: web.Request, mock: Mock) -> None:
    """AEM's CSRF filter: a browser's POST needs a ``CSRF-Token`` from the token endpoint."""
    if not mock.settings.csrf or request.method != "POST":
        return
    if "Mozilla/" not in request.headers.get("User-Agent", ""):
        return  # AEM exempts non-browser clients
    if mock.csrf_tokens.valid(request.headers.get("CSRF-Token", "")):
        return
    raise _Refusal(
        403,
        f"a POST from a browser needs the 'CSRF-Token' header: GET {CSRF_TOKEN_PATH} and send its token",
        breaks_contract=False,
    )


async def _openapi(request: web.Request) -> web.StreamResponse:
    """The OpenAPI 3.1 document, generated from the running contract's schemas."""
    from ..api.openapi import openapi_document

    mock = request.app[MOCK]
    return web.json_response(openapi_document(mock.api, mock.contract.schemas))


async def _csrf_token(request: web.Request) -> web.StreamResponse:
    """``GET /libs/granite/csrf/token.json`` → ``{"token": "…"}`` when CSRF is enforced."""
    mock = request.app[MOCK]
    if not mock.settings.csrf:
        return await _unknown_path(request)
    if request.method not in ("GET", "HEAD"):
        return await _pipeline(request, None, ("GET",))
    try:
        _authenticate(request, mock)
    except _Refusal as refusal:
        return _json_response(mock, _error(refusal, request.path))[0]
    return web.json_response({"token": mock.csrf_tokens.issue()})


class _Absent:
    """No body was sent (unlike a JSON ``null``, which is a body, and checked as one)."""


ABSENT = _Absent()


async def _read_json(request: web.Request, operation: Operation, settings: Settings) -> tuple[Any, bool]:
    """The request's JSON body (``ABSENT`` when none was sent), and whether it wrote an integral float
    such as 1.0 (see :func:`~..contract.validation.parse_json`); refusals say what is wrong.

    The body must arrive whole within ``body_timeout_ms``: a trickle is cut off with 408.
    """
    if operation.body is None:
        return ABSENT, False
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    raw = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout_ms / 1000):
            async for chunk in request.content.iter_chunked(64 * 1024):
                raw += chunk
                if len(raw) > limit:
                    raise _too_large(limit)
    except TimeoutError:
        seconds = settings.body_timeout_ms / 1000
        message = f"the request body did not arrive within {seconds:g} s (body_timeout_ms); send it whole"
        raise _Refusal(408, message, [Violation("body:/", message, f"a body within {seconds:g} s")],
                       breaks_contract=False, close=True) from None  # fmt: skip
    except ConnectionError:  # the client went away mid-body: there is no one to answer
        raise _Refusal(400, "the client closed the connection before the body ended", close=True) from None
    if not raw:
        if operation.body_required:
            raise _Refusal(
                400,
                f"{operation.method} {operation.path} needs a JSON body",
                [Violation("body:/", "a JSON body is required", "a JSON object", None, keyword="required")],
            )
        return ABSENT, False
    if request.content_type != "application/json":
        message = f"the body must be sent as 'Content-Type: application/json', not {request.content_type!r}"
        where = "header:Content-Type"
        raise _Refusal(415, message, [Violation(where, message, "application/json", request.content_type)])
    try:
        body, integral_floats = parse_json(raw.decode("utf-8"), parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(raw):  # only an escape can make a lone surrogate: look closer
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid_json(f"the body is not valid UTF-8 (byte {error.start})") from None
    except UnicodeEncodeError:
        raise _invalid_json("the body holds a lone UTF-16 surrogate escape; send valid Unicode") from None
    except json.JSONDecodeError as error:
        raise _invalid_json(f"the body is not valid JSON: {error.msg} at line {error.lineno} "
                            f"column {error.colno}") from None  # fmt: skip
    except RecursionError:
        raise _invalid_json("the body is nested too deeply") from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise _invalid_json(f"the body is not valid JSON: {error}") from None
    return body, integral_floats


def _id_from_query(operation: Operation, query: Mapping[str, Any], body: Any) -> Any:
    """Cancel, resume and restart read ``processingId`` from the body or, failing that, the query
    (§3.14, §3.15): a query id joins an absent or id-less body before the body is checked."""
    if not operation.id_in_body or "processingId" not in query:
        return body
    if body is ABSENT:
        return {"processingId": query["processingId"]}
    if isinstance(body, dict) and "processingId" not in body:
        return {**body, "processingId": query["processingId"]}
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _too_large(limit: int) -> _Refusal:
    message = f"the request body is larger than {limit} bytes (max_body_bytes); send less"
    return _Refusal(413, message, [Violation("body:/", message, f"at most {limit} bytes")])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _invalid_json(message: str) -> _Refusal:
    return _Refusal(400, message, [Violation("body:/", message, "a JSON object", None)])


def _pick_fault(
    mock: Mock, operation: Operation, query: Mapping[str, Any], body: Any, authorization: str
) -> Chosen | None:
    processing_id = query.get("processingId")
    if processing_id is None and isinstance(body, dict):
        processing_id = body.get("processingId")
    job = mock.engine.find(processing_id) if isinstance(processing_id, str) else None
    script = job.script if job is not None else None
    scheme = authorization.strip().partition(" ")[0].lower()
    return mock.faults.pick(operation.name, mock.clock.now_ms(), script, processing_id or "", scheme)


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
        raise _Refusal(fault.status, message, headers=headers, breaks_contract=False, body=fault.body)
    return False


def _call(mock: Mock, operation: Operation, call: Call) -> Reply:
    # The current scenario's handlers: a reload while the body was read has swapped the engine.
    api = mock.api
    if not api.serves(operation):  # the reloaded scenario does not serve it (restart switched off)
        raise _Refusal(404, f"{operation.path} is no longer served: the scenario was reloaded",
                       breaks_contract=False)  # fmt: skip
    try:
        return api.answer(operation, call)
    except UnknownJob as error:
        raise _Refusal(
            mock.settings.unknown_id_status,
            str(error),
            [Violation(_id_where(operation), str(error), "the processingId of an existing job",
                       error.processing_id[:80])],
            breaks_contract=False,
        ) from None  # fmt: skip
    except RequestViolation as error:
        status = _status_for(error.violations, mock)
        raise _Refusal(status, error.violations.summary(), error.violations) from None
    except QueueFull as error:
        raise _Refusal(429, str(error), headers={"Retry-After": "1"}, breaks_contract=False) from None
    except JobConflict as error:
        raise _Refusal(mock.settings.conflict_status, str(error), breaks_contract=False) from None
    except JobError as error:
        raise _Refusal(400, str(error), breaks_contract=False) from None


def _cut(stream: Iterator[bytes]) -> Iterator[bytes]:
    """The first half of a stream's first bytes: a ZIP cut off, for a malformed-body fault."""
    first = next((chunk for chunk in stream if chunk), b"")
    yield first[: max(1, len(first) // 2)]


def _status_for(violations: Violations, mock: Mock) -> int:
    """400, or the unknown-id status when all that is wrong is a missing processingId (§3.13)."""
    missing_id = not violations.more and all(
        v.where in _ID_PLACES and v.keyword == "required" for v in violations
    )
    return mock.settings.unknown_id_status if missing_id else 400


_ID_PLACES = ("query:processingId", "body:/processingId")


def _id_where(operation: Operation) -> str:
    return "body:/processingId" if operation.id_in_body else "query:processingId"


def _error(refusal: _Refusal, path: str) -> Reply:
    """The error object for ``refusal``, at most :data:`MAX_ERROR_BYTES` long."""
    if refusal.body is not None:  # a fault's own body, sent as the scenario gives it
        return Reply(refusal.body, None, refusal.status, headers=refusal.headers)
    listed, more = list(refusal.violations), refusal.violations.more
    while True:
        payload: dict[str, Any] = {
            "status": refusal.status,
            "error": HTTPStatus(refusal.status).phrase,
            "message": refusal.message[: MAX_ERROR_BYTES // 4],
            "path": path[:MAX_SHOWN],
        }
        if listed:
            payload["violations"] = [v.to_json() for v in listed]
        if more:
            payload["moreViolations"] = more
        body = json.dumps(payload, separators=(",", ":")).encode()
        if len(body) <= MAX_ERROR_BYTES or not listed:
            return Reply(payload, "error", refusal.status, headers=refusal.headers, body=body)
        listed, more = listed[:-1], more + 1


def _json_response(mock: Mock, reply: Reply) -> tuple[web.Response, Violations]:
    body = reply.body if reply.body is not None else json.dumps(reply.payload, separators=(",", ":")).encode()
    violations = (
        mock.contract.check_response(reply.schema, body, reply.payload) if reply.schema else Violations()
    )
    if violations:
        log.error(
            "BUG: the mock's own %s response breaks schema %r: %s; answering 500 instead",
            reply.status, reply.schema, violations.summary(),
        )  # fmt: skip
        message = f"the mock's response broke its schema {reply.schema!r} (a bug in the mock)"
        reply = _error(_Refusal(500, message, violations), "")
        body = reply.body or b""
    content_type, charset = reply.content_type, None
    if (
        reply.schema == "error" and mock.settings.error_format == "sling-html"
    ):  # checked as JSON, sent as HTML
        body, content_type, charset = sling_error_page(reply.payload), "text/html", "utf-8"
    response = web.Response(body=body, status=reply.status, content_type=content_type, charset=charset)
    response.headers.update(reply.headers)
    return response, violations


async def _send_stream(
    request: web.Request, reply: Reply, mock: Mock, operation: Operation, user: str, fault: Chosen | None
) -> web.StreamResponse:
    """A download, streamed. Whatever can fail fails before the headers go out (an answer of its
    own); the event loop is yielded between chunks, so that other requests, and a shutdown, are
    served while a million-line ZIP streams; an error after the headers cuts the connection,
    so a client never takes a broken ZIP for a whole one."""
    assert reply.stream is not None
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type
    _record(mock, request, reply.status, user, operation, Violations(), Violations(), fault)
    if request.method == "HEAD":  # the headers only: the ZIP is never built
        await response.prepare(request)
        return response
    first = next(reply.stream, b"")  # before the headers: a failure here is a 500 of its own
    await response.prepare(request)
    streams, task = request.app[_STREAMS], asyncio.current_task()
    streams.add(task)
    try:
        chunk: bytes | None = first
        while chunk is not None:
            if chunk:
                await response.write(chunk)
            await asyncio.sleep(0)  # let other requests (and a shutdown) in between chunks
            chunk = next(reply.stream, None)
        await response.write_eof()
    except ConnectionResetError:  # the client went away mid-download: nothing to answer
        log.info("client closed the connection during %s", request.path)
    except asyncio.CancelledError:  # the server stops: cut the transfer, never end it as if whole
        _abort(request)
        raise
    except Exception:
        log.exception("the download of %s failed after its headers went out; cutting the connection",
                      request.path)  # fmt: skip
        _abort(request)
    finally:
        streams.discard(task)
    return response


async def _cut_downloads(app: web.Application) -> None:
    """On shutdown: a download in flight is cut now (its client sees a cut transfer), so that a
    stop takes moments, not the whole grace period that ordinary requests get."""
    streams = app[_STREAMS]
    for task in [*streams]:
        if task is not None:
            task.cancel()


def _abort(request: web.Request) -> None:
    """Drop the connection without ending the body: the client sees a cut transfer, not a whole file."""
    if request.transport is not None:
        request.transport.abort()


def _record(
    mock: Mock,
    request: web.Request,
    status: int,
    user: str | None,
    operation: Operation | None,
    request_violations: Violations,
    response_violations: Violations,
    fault: Chosen | None = None,
) -> None:
    mock.journal.record(
        Exchange(
            at_ms=mock.clock.now_ms(),
            method=request.method,
            path=request.path[:MAX_SHOWN],
            query=request.query_string[:_MAX_QUERY_KEPT],
            status=status,
            user=user,
            operation=operation.name if operation else None,
            request_violations=request_violations.listed,
            response_violations=response_violations.listed,
            fault=fault.fault.label() if fault else None,
            more_violations=request_violations.more,
        )
    )
