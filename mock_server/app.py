"""The aiohttp application: one request pipeline, read top to bottom in :func:`_pipeline`.

route -> authenticate -> parse and validate the request -> operation (engine)
      -> validate the response -> record in the journal -> send
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .api import BASE_PATH, Api, Call, Operation, Reply
from .auth import authenticate
from .clock import Clock, SystemClock
from .contract import Contract
from .default_repository import default_repository
from .errors import JobError, RequestViolation, UnknownJob, Violation
from .jobs import JobEngine
from .journal import Exchange, Journal
from .repository import Repository
from .settings import Settings

__all__ = ["MOCK", "Mock", "create_app"]

log = logging.getLogger("aem_guides_mock")

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


@dataclass(slots=True)
class Mock:
    """Everything one running mock holds; reach it from a request as ``request.app[MOCK]``."""

    settings: Settings
    clock: Clock
    engine: JobEngine
    api: Api
    contract: Contract
    journal: Journal


MOCK = web.AppKey("mock", Mock)


class _Refusal(Exception):
    """An answer other than the operation's own: status, message and violations.

    ``breaks_contract`` tells whether the client under test broke the contract (a malformed or
    invalid request, a wrong path or method); the journal keeps those. Refusals that a correct
    client meets too (401, an unknown job, a job in the wrong state) do not break it.
    """

    def __init__(
        self,
        status: int,
        message: str,
        violations: Sequence[Violation] = (),
        headers: Mapping[str, str] | None = None,
        *,
        breaks_contract: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = tuple(violations)
        self.headers = dict(headers or {})
        self.breaks_contract = breaks_contract


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    repository: Repository | None = None,
    new_id: Callable[[], str] | None = None,
) -> web.Application:
    """The mock as an aiohttp application; every argument has the dev server's default."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine_args = {"new_id": new_id} if new_id else {}
    engine = JobEngine(repository or default_repository(), settings, clock, **engine_args)
    api = Api(engine, settings)
    mock = Mock(settings, clock, engine, api, Contract(settings), Journal())
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[MOCK] = mock
    by_path: dict[str, dict[str, Operation]] = {}
    for operation in api.operations:
        by_path.setdefault(operation.path, {})[operation.method] = operation
    for path, operations in by_path.items():
        app.router.add_route("*", path, _endpoint(operations))
    app.router.add_route("*", "/{tail:.*}", _unknown_path)
    return app


def _endpoint(operations: Mapping[str, Operation]) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
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
    request_violations: tuple[Violation, ...] = ()
    response_violations: tuple[Violation, ...] = ()
    try:
        if operation is None:
            if not allowed:
                message = f"no endpoint at {request.path}; the API lives under {BASE_PATH}"
                raise _Refusal(404, message, [Violation("path", message, "a path of the API", request.path)])
            message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
            raise _Refusal(
                405,
                message,
                [Violation("method", message, " or ".join(allowed), request.method)],
                headers={"Allow": ", ".join(allowed)},
            )
        user = authenticate(request.headers.get("Authorization"), mock.settings)
        if user is None:
            raise _Refusal(
                401,
                "authentication required: send HTTP Basic credentials (such as admin:admin) or "
                "'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": f'Basic realm="{mock.settings.realm}"'},
                breaks_contract=False,
            )
        query, violations = mock.contract.check_query(
            operation.query_schema, request.query_string, request.query.items()
        )
        body = await _read_json(request, operation) if operation.body_schema else None
        if operation.body_schema and body is not None:
            violations = violations + mock.contract.check_body(operation.body_schema, body)
        if violations:
            raise _Refusal(400, _summary(violations), violations)
        reply = _call(mock, operation, Call(user, query, body, request.headers.get("Accept", "")))
        if reply.stream is not None:
            return await _send_stream(request, reply, mock, operation, user)
        response, response_violations = _json_response(mock, reply)
    except _Refusal as refusal:
        request_violations = refusal.violations if refusal.breaks_contract else ()
        response, response_violations = _json_response(mock, _error(refusal, request.path))
    except Exception:  # a bug in the mock: answer 500, never crash the server
        log.exception("unexpected error answering %s %s", request.method, request.path)
        failure = _Refusal(500, "the mock failed unexpectedly; see the server log", breaks_contract=False)
        response, response_violations = _json_response(mock, _error(failure, request.path))
    _record(mock, request, response.status, user, operation, request_violations, response_violations)
    return response


def _call(mock: Mock, operation: Operation, call: Call) -> Reply:
    try:
        return operation.handler(call)
    except UnknownJob as error:
        raise _Refusal(
            mock.settings.unknown_id_status,
            str(error),
            [Violation(_id_where(operation), str(error), "the processingId of an existing job",
                       error.processing_id[:80])],
            breaks_contract=False,
        ) from None  # fmt: skip
    except RequestViolation as error:
        raise _Refusal(400, _summary(error.violations), error.violations) from None
    except JobError as error:
        raise _Refusal(400, str(error), breaks_contract=False) from None


def _id_where(operation: Operation) -> str:
    return "body:/processingId" if operation.body_schema else "query:processingId"


async def _read_json(request: web.Request, operation: Operation) -> Any:
    """The request's JSON body (None when absent and optional); refusals say what is wrong."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[MOCK].settings.max_body_bytes
        message = f"the request body is larger than {limit} bytes; send less"
        raise _Refusal(413, message, [Violation("body:/", message, f"at most {limit} bytes")]) from None
    if not raw:
        if operation.body_required:
            raise _Refusal(
                400,
                f"{operation.method} {operation.path} needs a JSON body",
                [Violation("body:/", "a JSON body is required", "a JSON object", None)],
            )
        return None
    if request.content_type != "application/json":
        message = f"the body must be sent as 'Content-Type: application/json', not {request.content_type!r}"
        where = "header:Content-Type"
        raise _Refusal(415, message, [Violation(where, message, "application/json", request.content_type)])
    try:
        text = raw.decode("utf-8")
        body = json.loads(text, parse_constant=_reject_constant)
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be stored
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
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _invalid_json(message: str) -> _Refusal:
    return _Refusal(400, message, [Violation("body:/", message, "a JSON object", None)])


def _summary(violations: Sequence[Violation]) -> str:
    if len(violations) == 1:
        return violations[0].message
    return f"{len(violations)} contract violations: " + "; ".join(v.message for v in violations)


def _error(refusal: _Refusal, path: str) -> Reply:
    payload: dict[str, Any] = {
        "status": refusal.status,
        "error": _REASONS.get(refusal.status, "Error"),
        "message": refusal.message,
        "path": path,
    }
    if refusal.violations:
        payload["violations"] = [v.to_json() for v in refusal.violations]
    return Reply(payload, "error", refusal.status, headers=refusal.headers)


def _json_response(mock: Mock, reply: Reply) -> tuple[web.Response, tuple[Violation, ...]]:
    body = json.dumps(reply.payload, separators=(",", ":")).encode()
    violations = mock.contract.check_response(reply.schema, body, reply.payload) if reply.schema else []
    if violations:
        log.error(
            "BUG: the mock's own %s response breaks schema %r: %s; answering 500 instead",
            reply.status, reply.schema, _summary(violations),
        )  # fmt: skip
        payload = {
            "status": 500,
            "error": _REASONS[500],
            "message": f"the mock's response broke its schema {reply.schema!r} (a bug in the mock)",
            "violations": [v.to_json() for v in violations],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return web.Response(body=body, status=500, content_type="application/json"), tuple(violations)
    response = web.Response(body=body, status=reply.status, content_type=reply.content_type)
    response.headers.update(reply.headers)
    return response, ()


async def _send_stream(
    request: web.Request, reply: Reply, mock: Mock, operation: Operation, user: str
) -> web.StreamResponse:
    assert reply.stream is not None
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type
    _record(mock, request, reply.status, user, operation, (), ())
    await response.prepare(request)
    try:
        for chunk in reply.stream:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:  # the client went away mid-download: nothing to answer
        log.info("client closed the connection during %s", request.path)
    return response


def _record(
    mock: Mock,
    request: web.Request,
    status: int,
    user: str | None,
    operation: Operation | None,
    request_violations: tuple[Violation, ...],
    response_violations: tuple[Violation, ...],
) -> None:
    mock.journal.record(
        Exchange(
            at_ms=mock.clock.now_ms(),
            method=request.method,
            path=request.path,
            query=request.query_string,
            status=status,
            user=user,
            operation=operation.name if operation else None,
            request_violations=request_violations,
            response_violations=response_violations,
        )
    )
