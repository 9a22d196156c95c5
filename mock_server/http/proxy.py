"""The validating proxy: forwards every request to a real author, checks both directions against the
mock's contract, journals each exchange and, when recording, writes it to a tape.

It never refuses a request for breaking the contract: in front of a real author, what matters is
what the author does with it. The violations are kept instead, in a journal served at
``/__admin/journal`` and ``/__admin/violations`` (the mock's shapes; loopback only). An answer's
undocumented key is a warning, not an error: a newer author may add keys, and a tolerant client
ignores them. The answer goes to the client as it came: status, headers but the hop-by-hop ones,
the body's very bytes (compressed ones too), streamed. An upstream that cannot be reached is a 502
(one that does not answer in time a 504) with the mock's error body.

It is held to the mock's bounds (each a keyword of :func:`proxy_app`): it talks to its upstream
only (a target that is not a path is a 400, see :mod:`.proxy_intake`); a request body must come
whole within ``body_timeout`` (408) and hold at most ``max_body_bytes``, inflated (413), read as
the mock reads one; the answers kept in memory for the checks and the tape share ``max_kept_bytes``,
and the request bodies as much again, apart (:mod:`.proxy_budget`); an exchange ends within
``timeout``. The connection guard (header timeout, connection cap) is the runner's:
:func:`~..server.start_site` gives it to the proxy as to the mock. A body over 64 KiB (inflated)
is checked, and every exchange is taped, in one worker thread: the loop serves the others meanwhile.

Every exchange is journaled, refused or cut short ones too: a client that goes away mid-answer is
a warning saying after how many bytes. The tape holds whole exchanges only: one whose answer did
not reach its end (the upstream broke off, the client left, a timeout) is journaled, never taped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from ..api.operations import OPERATIONS, Operation
from ..contract.rules import Contract
from ..core.errors import MAX_SHOWN, NO_VIOLATIONS, Violation, Violations
from ..core.journal import Exchange, Journal
from ..core.settings import Settings
from ..recording.redaction import Secrets, redact_path, redact_query
from ..recording.secrets import DEFAULT_NAMES, SecretNames
from ..recording.tape import Recorder, TapeRequest, TapeResponse, public_origin

# The admin API's helpers, so that the proxy's journal has the mock's shapes and loopback guard.
from .admin import ADMIN_PATH, exchanges_answer, foreign_request, from_loopback, json_answer
from .inflate import HANDLER_ARGS, content_encoding
from .proxy_budget import DEFAULT_MAX_KEPT_BYTES, Budget, Lease
from .proxy_checks import check_answer, check_request, inflated_over, masked
from .proxy_intake import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    Refused,
    read_body,
    refusal_answer,
    send_and_close,
    target_refusal,
)
from .proxy_relay import HOP_BY_HOP, Relay, upstream_url
from .proxy_worker import Worker

__all__ = ["DEFAULT_BODY_TIMEOUT_S", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_KEPT_BYTES", "DEFAULT_TIMEOUT_S"]
__all__ += ["DEFAULT_STOP_GRACE_S", "HOP_BY_HOP", "PROXY", "Proxy", "proxy_app"]

log = logging.getLogger("aem_guides_mock")

#: How long one exchange may take, the answer's body included.
DEFAULT_TIMEOUT_S = 30.0
#: How long a stop lets the exchanges in flight end before it cuts them (as the mock's downloads).
DEFAULT_STOP_GRACE_S = 2.0
#: How long, after the cut, the worker may go on with what it was given (the tape's last lines)
#: before what is left is dropped: the recorder's audit needs the rest of the stop's time.
STOP_DRAIN_S = 1.0
_ROUTES = {(op.method, op.path): op for op in OPERATIONS}
#: A body larger than this, inflated, is checked in the worker thread: checking 8 MiB of JSON that
#: breaks its schema takes most of a second, which would stall every other client on the loop.
_CHECKED_ON_LOOP_BYTES = 64 * 1024


@dataclasses.dataclass(slots=True)
class Proxy:
    """What a proxy app holds: where it forwards to, its limits, the checks, the journal and the
    recorder."""

    upstream: str
    """The base URL requests are forwarded under (their path and query joined to it)."""
    contract: Contract
    journal: Journal
    recorder: Recorder | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S
    budget: Budget = dataclasses.field(default_factory=lambda: Budget(DEFAULT_MAX_KEPT_BYTES))
    """The answers' bodies kept for the checks and the tape."""
    request_budget: Budget = dataclasses.field(default_factory=lambda: Budget(DEFAULT_MAX_KEPT_BYTES))
    """The request bodies, read and kept until their exchange ends: apart, so that answers kept
    never refuse a request."""
    stop_grace: float = DEFAULT_STOP_GRACE_S
    session: aiohttp.ClientSession | None = None
    worker: Worker | None = None
    """The thread for the slow work: checking large bodies, and every write to the tape."""
    in_flight: set[asyncio.Task[Any]] = dataclasses.field(default_factory=set)
    """The tasks of the exchanges under way, cut at a stop once ``stop_grace`` is over."""
    answering: set[asyncio.Task[Any]] = dataclasses.field(default_factory=set)
    """The tasks of the requests being answered (the admin API's and refusals too), cut with the
    exchanges: aiohttp's own shutdown then waits on none of them."""

    @property
    def base(self) -> URL:
        return URL(self.upstream)


PROXY = web.AppKey("proxy", Proxy)


def proxy_app(
    upstream: str,
    *,
    recorder: Recorder | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    settings: Settings | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S,
    max_kept_bytes: int = DEFAULT_MAX_KEPT_BYTES,
    stop_grace: float = DEFAULT_STOP_GRACE_S,
) -> web.Application:
    """The proxy to ``upstream`` (an http(s) URL, no credentials) as an aiohttp application; it
    checks against the contract of ``settings`` (default: the mock's defaults) and writes every
    exchange to ``recorder``, if given (closing it, and so its audit, is the caller's).

    Its bounds: an exchange ends within ``timeout`` seconds (30); a request body arrives whole
    within ``body_timeout`` seconds (10) and holds at most ``max_body_bytes`` (1 MiB), inflated;
    the answers kept in memory for the checks and the tape take at most ``max_kept_bytes`` (32 MiB)
    for all exchanges in flight, and the request bodies as much again, apart (so it must be at least
    ``max_body_bytes``). When the app stops, the exchanges in flight have ``stop_grace`` seconds (2)
    to end; then they are cut (their clients' connections closed, nothing journaled or taped), and
    the worker has :data:`STOP_DRAIN_S` to write the tape's last lines. A ValueError names a bad
    bound."""
    public_origin(upstream)  # a ValueError for anything but an http(s) URL without credentials
    for name, value in (("timeout", timeout), ("body_timeout", body_timeout), ("stop_grace", stop_grace)):
        if not 0 <= value < float("inf") or (value == 0 and name != "stop_grace"):
            raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    if max_body_bytes < 0:
        raise ValueError(f"max_body_bytes must be 0 or more, not {max_body_bytes!r}")
    if max_kept_bytes < max(1, max_body_bytes):  # else a body the cap allows would never find room
        raise ValueError(f"max_kept_bytes must be at least max_body_bytes ({max_body_bytes}) and 1, "
                         f"not {max_kept_bytes!r}: a request body within the cap must fit")  # fmt: skip
    contract = Contract(settings or Settings())
    proxy = Proxy(upstream.rstrip("/"), contract, Journal(), recorder, timeout, max_body_bytes, body_timeout,
                  Budget(max_kept_bytes), Budget(max_kept_bytes), stop_grace)  # fmt: skip
    # Bodies are read as the mock reads them (HANDLER_ARGS: aiohttp inflates nothing, read_body does,
    # off the loop); aiohttp's own cap stays out of the way: read_body refuses with the mock's body.
    app = web.Application(
        client_max_size=max_body_bytes + 1, middlewares=[_bounds], handler_args=HANDLER_ARGS
    )
    app[PROXY] = proxy
    app.cleanup_ctx.append(_session)
    app.on_shutdown.append(_cut_exchanges)
    admin = web.Application(middlewares=[_guard])
    admin.router.add_get("/journal", _every_exchange)
    admin.router.add_get("/violations", _violations)
    app.add_subapp(ADMIN_PATH, admin)
    app.router.add_route("*", "/{tail:.*}", _forward)
    return app


async def _session(app: web.Application) -> AsyncIterator[None]:
    """One client session and one worker thread for the app's life. No cookie jar: one client's
    cookies must never be sent with another's requests. No decompression: the client gets the bytes
    the author sent. No proxy from the environment (``trust_env`` is off): the upstream is called
    directly. At a stop, the worker's job under way (a tape line) is waited for :data:`STOP_DRAIN_S`
    at most; :attr:`Worker.idle` then says whether the recorder may be closed."""
    proxy = app[PROXY]
    timeout = aiohttp.ClientTimeout(total=proxy.timeout)
    jar = aiohttp.DummyCookieJar()
    proxy.worker = worker = Worker("aem-guides-mock-proxy")
    try:
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar, auto_decompress=False) as session:
            proxy.session = session
            yield
    finally:
        proxy.session = None
        # The exchanges were cut already, and with them what they had queued: left is at most the
        # job under way, which a stop does not wait for past STOP_DRAIN_S.
        await worker.stop(time.monotonic() + STOP_DRAIN_S)
        if not worker.idle:  # said where the user looks: the recorder must not be closed under it
            log.warning("stopping: a line was still being written to the tape %g s after the cut; the "
                        "proxy did not wait for it", STOP_DRAIN_S)  # fmt: skip


async def _cut_exchanges(app: web.Application) -> None:
    """At a stop (the listener closed already), let the exchanges in flight and the other answers
    under way end within the grace, then cut them: a stuck upstream or a slow client must not hold
    the stop (aiohttp would wait twice its shutdown timeout for each)."""
    proxy = app[PROXY]
    if not proxy.in_flight | proxy.answering:
        return
    await asyncio.wait(proxy.in_flight | proxy.answering, timeout=proxy.stop_grace)
    cut = [task for task in proxy.in_flight if not task.done()]
    for task in (*cut, *proxy.answering):
        task.cancel()
    if cut:  # said where the user looks: these are not on the tape
        log.warning("stopping: cut %d exchange(s) still in flight after the %g s grace; they are not "
                    "recorded, nor journaled unless their answer had ended",
                    len(cut), proxy.stop_grace)  # fmt: skip


@web.middleware
async def _bounds(request: web.Request, handler: Any) -> web.StreamResponse:
    """Before any route, the admin API's too: a target that is not a path is refused. After any
    route: a body left unread is never read, the connection closed instead."""
    proxy = request.config_dict[PROXY]
    answering = asyncio.current_task()
    assert answering is not None  # aiohttp runs each request's handler in a task of its own
    proxy.answering.add(answering)
    try:
        refused = target_refusal(request, proxy.upstream)
        if refused is not None:
            _journal(proxy, request, refused.status, None, _as_found(refused.violation), NO_VIOLATIONS)
            return await refusal_answer(request, refused)
        response: web.StreamResponse = await handler(request)
        if response.prepared or request.content.is_eof():
            return response
        return await send_and_close(request, response)
    finally:
        proxy.answering.discard(answering)


async def _forward(request: web.Request) -> web.StreamResponse:
    """The exchange runs in a task of its own, shielded: a runner that cancels a handler whose client
    left (aiohttp's test server does) must not cut its journaling and recording short; only a stop
    cuts it (:func:`_cut_exchanges`)."""
    proxy = request.app[PROXY]
    exchange = asyncio.create_task(_exchange(proxy, request))
    proxy.in_flight.add(exchange)
    exchange.add_done_callback(proxy.in_flight.discard)
    return await asyncio.shield(exchange)


async def _exchange(proxy: Proxy, request: web.Request) -> web.StreamResponse:
    leases = proxy.request_budget.lease(), proxy.budget.lease()
    try:
        return await _pipeline(proxy, request, *leases)
    finally:
        for lease in leases:
            lease.release()


async def _pipeline(proxy: Proxy, request: web.Request, sending: Lease, keeping: Lease) -> web.StreamResponse:
    """The pipeline, top to bottom: read -> check the request -> forward, streaming the answer back
    -> check the answer -> journal -> record. Nothing is refused for breaking the contract. The request
    body is held in ``sending``, the answer's kept in ``keeping``."""
    at_ms = proxy.recorder.stamp() if proxy.recorder is not None else 0
    operation = _ROUTES.get(("GET" if request.method == "HEAD" else request.method, request.path))
    worker = proxy.worker
    assert worker is not None, "the proxy app is not running"
    assert proxy.session is not None
    try:
        body = await read_body(request, limit=proxy.max_body_bytes, timeout=proxy.body_timeout, lease=sending)
    except Refused as refused:
        _journal(proxy, request, refused.status, operation, _as_found(refused.violation), NO_VIOLATIONS)
        return await refusal_answer(request, refused)
    inflated = content_encoding(request) is not None  # then it goes on as it is now
    sent = [(k, v) for k, v in request.headers.items() if not (inflated and k.lower() == "content-encoding")]
    checked = (proxy.contract, operation, request, sent, body)
    if inflated_over(body, _header(sent, "Content-Encoding"), _CHECKED_ON_LOOP_BYTES):
        request_errors, warnings = await worker.run(check_request, *checked)
    else:
        request_errors, warnings = check_request(*checked)
    began = time.monotonic()
    relay = Relay(request, keeping)
    url = upstream_url(proxy.base, request.raw_path)
    try:
        answer = await relay.forward(proxy.session, url, sent, body, proxy.timeout)
    except (aiohttp.ClientError, OSError) as error:  # TimeoutError and ConnectionError are OSErrors
        if relay.response is not None:  # the status went out already: all left is to cut it short
            broke = Violation("body:/", f"the answer broke off after {relay.sent} bytes: {error!r}"[:300],
                              "a whole body")  # fmt: skip
            _journal(proxy, request, relay.response.status, operation, (request_errors, warnings), [broke])
            request.protocol.force_close()  # the client sees a cut-off answer, not a short one
            return relay.response
        status, what = (
            (504, f"did not answer within {proxy.timeout:g} s")
            if isinstance(error, TimeoutError)
            else (502, f"cannot be reached ({error})")
        )
        message = f"the upstream {proxy.upstream} {what}; is it running, and is --upstream right?"
        _journal(proxy, request, status, operation, (request_errors, warnings), NO_VIOLATIONS)
        return json_answer(status, message, path=request.path[:MAX_SHOWN])
    response = relay.response
    assert response is not None
    if answer is None:  # the client left mid-answer: journaled, not taped (the tape holds whole exchanges)
        left = Violation("connection", relay.client_left or "", "the whole answer read", relay.sent,
                         keyword="clientLeft", severity="warning")  # fmt: skip
        noted = (request_errors, warnings + Violations.of([left]))
        _journal(proxy, request, response.status, operation, noted, NO_VIOLATIONS)
        request.protocol.force_close()
        return response
    answer = dataclasses.replace(answer, elapsed_ms=int((time.monotonic() - began) * 1000))
    judged = (proxy.contract, operation, request.method, answer)
    # By the size it inflates to: 3.6 KB of gzip may be 1 MiB of JSON to check.
    big = inflated_over(answer.body, _header(answer.headers, "Content-Encoding"), _CHECKED_ON_LOOP_BYTES)
    found = await worker.run(check_answer, *judged) if big else check_answer(*judged)
    _journal(proxy, request, answer.status, operation, (request_errors, warnings), found)
    if proxy.recorder is not None:
        taped = TapeRequest(request.method, request.path, request.rel_url.raw_query_string, sent, body)
        await worker.run(_record, proxy.recorder, operation, taped, answer, at_ms)
    return response


def _header(headers: Iterable[tuple[str, str]], name: str) -> str:
    """The first value of the header ``name`` among ``headers`` (name, value) pairs; "" for none."""
    return next((v for k, v in headers if k.lower() == name.lower()), "")


def _record(
    recorder: Recorder, operation: Operation | None, request: TapeRequest, answer: TapeResponse, at_ms: int
) -> None:
    """Write one exchange to the tape (in the worker thread); say so, once, when the recorder stops
    writing (the tape's cap, or more secrets than the audit looks for), where the user looks.

    Whatever the recorder raises costs the tape this exchange only: the answer went out and the
    exchange is journaled already. One line names it (its path redacted); the traceback is for
    ``--verbose`` (it may show what the recorder choked on)."""
    recording = recorder.stopped is None
    try:
        recorder.record(operation.name if operation else None, request, answer, at_ms)
    except Exception as error:  # an unencodable boundary, a broken Location, a full disk...
        where = _shown_path(request.path, recorder.names)
        log.error("could not record %s %s (answered %d) on the tape: %s; the tape misses this exchange",
                  request.method, where, answer.status, type(error).__name__,
                  exc_info=log.isEnabledFor(logging.INFO))  # fmt: skip
    if recording and recorder.stopped is not None:
        log.warning("%s", recorder.stopped)


def _shown_path(path: str, names: SecretNames = DEFAULT_NAMES) -> str:
    """``path`` as the journal and the log show it: a secret path parameter (``;jsessionid=…``)
    redacted, and cut to a length."""
    return redact_path(path, Secrets(), names)[:MAX_SHOWN]


def _as_found(violation: Violation) -> tuple[Violations, Violations]:
    """A refusal's violation as the request's errors, or its warnings."""
    listed = Violations.of([violation])
    return (listed, NO_VIOLATIONS) if violation.severity == "error" else (NO_VIOLATIONS, listed)


def _journal(
    proxy: Proxy,
    request: web.Request,
    status: int,
    operation: Operation | None,
    sent: tuple[Violations, Violations],
    answer: Violations | list[Violation],
) -> None:
    """Journal the exchange: ``sent`` are the request's errors and warnings, ``answer`` the answer's
    violations. The path and query are kept redacted (as the tape redacts them, with the names the
    recorder was given): the journal is served, and ``?token=`` or ``;jsessionid=`` must not be."""
    errors, warnings = sent
    answered = answer.listed if isinstance(answer, Violations) else tuple(answer)
    names = proxy.recorder.names if proxy.recorder is not None else DEFAULT_NAMES
    proxy.journal.record(
        Exchange(
            int(time.time() * 1000), request.method, _shown_path(request.path, names),
            redact_query(request.rel_url.raw_query_string, None, names)[:1024], status, None,
            operation.name if operation else None, masked(errors.listed), masked(answered), None,
            errors.more, masked(warnings.listed),
        )
    )  # fmt: skip


# --- the admin API: the journal, loopback only, in the mock's shapes ----------------------------------


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if not from_loopback(request.remote):
        return json_answer(403, "the proxy's admin API answers loopback only")
    if (reason := foreign_request(request)) is not None:
        return json_answer(403, f"admin request refused: {reason}")
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPNotFound:
        message = f"no admin route at {request.path[:200]}; the proxy's are /journal and /violations"
        return json_answer(404, message)
    return response


async def _every_exchange(request: web.Request) -> web.Response:
    """Every exchange kept, oldest first; ``?operation=NAME`` keeps one operation's."""
    return exchanges_answer(request, list(request.config_dict[PROXY].journal))


async def _violations(request: web.Request) -> web.Response:
    """The exchanges with a violation of the client's or the upstream's; ``?severity=error`` or
    ``warning`` keeps those with one of that severity."""
    severity = request.query.get("severity")
    if severity not in (None, "error", "warning"):
        return json_answer(400, f"?severity={severity[:200]!r} is not a severity; give error or warning")
    found = []
    for exchange in request.config_dict[PROXY].journal:
        violations = (*exchange.request_violations, *exchange.response_violations, *exchange.warnings)
        if any(severity in (None, v.severity) for v in violations):
            found.append(exchange)
    return exchanges_answer(request, found)
