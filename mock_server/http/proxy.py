"""The validating proxy: forwards every request to a real author, checks both directions against the
mock's contract, journals each exchange and, when recording, writes it to a tape.

It never refuses a request for breaking the contract: in front of a real author, what matters is
what the author does with it. The violations are kept instead, in a journal served at
``/__admin/journal`` and ``/__admin/violations`` (the mock's shapes; loopback only). An answer's
undocumented key is a warning, not an error: a newer author may add keys, and a tolerant client
ignores them. The answer goes to the client as it came: status, headers but the hop-by-hop ones,
the body's very bytes (compressed ones too), streamed. An upstream that cannot be reached is a 502
(one that does not answer in time a 504) with the mock's error body.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..api.operations import OPERATIONS, Operation
from ..contract.validation import Contract
from ..core.errors import MAX_SHOWN, NO_VIOLATIONS, Violation, Violations
from ..core.journal import Exchange, Journal
from ..core.settings import Settings
from ..recording.redaction import redact_query
from ..recording.tape import MAX_BODY_BYTES, Recorder, TapeRequest, TapeResponse, public_origin

# The admin API's helpers, so that the proxy's journal has the mock's shapes and loopback guard.
from .admin import ADMIN_PATH, exchanges_answer, foreign_request, from_loopback, json_answer
from .proxy_checks import check_answer, check_request, masked

__all__ = ["DEFAULT_TIMEOUT_S", "HOP_BY_HOP", "PROXY", "Proxy", "proxy_app"]

log = logging.getLogger("aem_guides_mock")

DEFAULT_TIMEOUT_S = 30.0
#: Headers about one connection, not the message (RFC 9110 §7.6.1): never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "trailers", "transfer-encoding", "upgrade"}
)  # fmt: skip
#: A request body larger than this is refused by aiohttp (413); an author's are a few hundred bytes.
_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Headers the client library would add on its own: the upstream gets the client's, or none.
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
#: The request bodies aiohttp inflates before the handler reads them (and refuses when it cannot).
_INFLATED = frozenset({"gzip", "deflate", "br", "zstd"})
_ROUTES = {(op.method, op.path): op for op in OPERATIONS}


@dataclasses.dataclass(slots=True)
class Proxy:
    """What a proxy app holds: where it forwards to, the checks, the journal and the recorder."""

    upstream: str
    """The base URL requests are forwarded under (their path and query appended)."""
    contract: Contract
    journal: Journal
    recorder: Recorder | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    session: aiohttp.ClientSession | None = None


PROXY = web.AppKey("proxy", Proxy)


def proxy_app(
    upstream: str,
    *,
    recorder: Recorder | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    settings: Settings | None = None,
) -> web.Application:
    """The proxy to ``upstream`` (an http(s) URL, no credentials) as an aiohttp application; it
    checks against the contract of ``settings`` (default: the mock's defaults) and writes every
    exchange to ``recorder``, if given (closing it, and so its audit, is the caller's)."""
    public_origin(upstream)  # a ValueError for anything but an http(s) URL without credentials
    proxy = Proxy(upstream.rstrip("/"), Contract(settings or Settings()), Journal(), recorder, timeout)
    app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
    app[PROXY] = proxy
    app.cleanup_ctx.append(_session)
    admin = web.Application(middlewares=[_guard])
    admin.router.add_get("/journal", _every_exchange)
    admin.router.add_get("/violations", _violations)
    app.add_subapp(ADMIN_PATH, admin)
    app.router.add_route("*", "/{tail:.*}", _forward)
    return app


async def _session(app: web.Application) -> AsyncIterator[None]:
    """One client session for the app's life. No cookie jar: one client's cookies must never be
    sent with another's requests. No decompression: the client gets the bytes the author sent."""
    proxy = app[PROXY]
    timeout = aiohttp.ClientTimeout(total=proxy.timeout)
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar, auto_decompress=False) as session:
        proxy.session = session
        yield
    proxy.session = None


async def _forward(request: web.Request) -> web.StreamResponse:
    """The pipeline, top to bottom: read -> check the request -> forward, streaming the answer back
    -> check the answer -> journal -> record. Nothing is refused for breaking the contract."""
    proxy = request.app[PROXY]
    at_ms = proxy.recorder.stamp() if proxy.recorder is not None else 0
    operation = _ROUTES.get(("GET" if request.method == "HEAD" else request.method, request.path))
    encoding = request.headers.get("Content-Encoding", "")
    try:
        body = await request.read()
    except web.RequestPayloadError as error:  # aiohttp inflates a compressed body, or fails to
        message = f"the body is not what 'Content-Encoding: {encoding[:40]}' says ({error}); fix either"
        wrong = Violation("header:Content-Encoding", message, "a body its Content-Encoding describes")
        _journal(proxy, request, 400, operation, (Violations.of([wrong]), NO_VIOLATIONS), NO_VIOLATIONS)
        refused = json_answer(400, message, path=request.path[:MAX_SHOWN])
        refused.force_close()  # the rest of the body cannot be read: the connection is done
        return refused
    inflated = encoding.isascii() and encoding.lower() in _INFLATED  # then it goes on as it is now
    sent = [(k, v) for k, v in request.headers.items() if not (inflated and k.lower() == "content-encoding")]
    request_errors, warnings = check_request(proxy.contract, operation, request, sent, body)
    began = time.monotonic()
    relay = _Relay(request)
    try:
        answer = await relay.forward(proxy, sent, body)
    except (aiohttp.ClientError, TimeoutError) as error:
        if relay.response is not None:  # the status went out already: all left is to cut it short
            broke = Violation("body:/", f"the answer broke off after {relay.size} bytes: {error!r}"[:300],
                              "a whole body")  # fmt: skip
            _journal(proxy, request, relay.response.status, operation, (request_errors, warnings), [broke])
            raise  # aiohttp closes the connection: the client sees a cut-off answer, not a short one
        status, what = (
            (504, f"did not answer within {proxy.timeout:g} s")
            if isinstance(error, TimeoutError)
            else (502, f"cannot be reached ({error})")
        )
        message = f"the upstream {proxy.upstream} {what}; is it running, and is --upstream right?"
        _journal(proxy, request, status, operation, (request_errors, warnings), NO_VIOLATIONS)
        return json_answer(status, message, path=request.path[:MAX_SHOWN])
    answer = dataclasses.replace(answer, elapsed_ms=int((time.monotonic() - began) * 1000))
    found = check_answer(proxy.contract, operation, request.method, answer)
    _journal(proxy, request, answer.status, operation, (request_errors, warnings), found)
    if proxy.recorder is not None:
        taped = TapeRequest(request.method, request.path, request.rel_url.raw_query_string, sent, body)
        try:
            proxy.recorder.record(operation.name if operation else None, taped, answer, at_ms)
        except OSError as error:  # the answer is sent; the tape misses this exchange
            log.error("could not record %s %s on the tape: %s", request.method, request.path, error)
    assert relay.response is not None
    return relay.response


class _Relay:
    """One request forwarded, its answer streamed back as it comes; the first bytes kept."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None
        self.size = 0

    async def forward(self, proxy: Proxy, sent: list[tuple[str, str]], body: bytes) -> TapeResponse:
        request = self.request
        named = {token.strip().lower() for token in request.headers.get("Connection", "").split(",")}
        dropped = HOP_BY_HOP | named | {"host", "content-length"}  # aiohttp sets Host and the length
        headers = CIMultiDict((k, v) for k, v in sent if k.lower() not in dropped)
        assert proxy.session is not None, "the proxy app is not running"
        async with proxy.session.request(
            request.method,
            URL(proxy.upstream + request.raw_path, encoded=True),  # the path and query as sent
            headers=headers,
            data=body or None,
            allow_redirects=False,
            skip_auto_headers=_AUTO_HEADERS,
        ) as answer:
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    response.headers.add(name, value)
            if answer.content_length is not None and request.method != "HEAD":
                response.content_length = answer.content_length
            self.response = response
            await response.prepare(request)
            kept = bytearray()
            async for chunk in answer.content.iter_chunked(64 * 1024):
                await response.write(chunk)
                self.size += len(chunk)
                kept += chunk[: MAX_BODY_BYTES + 1 - len(kept)]
            await response.write_eof()
            return TapeResponse(answer.status, list(answer.headers.items()), bytes(kept), self.size)


def _journal(
    proxy: Proxy,
    request: web.Request,
    status: int,
    operation: Operation | None,
    sent: tuple[Violations, Violations],
    answer: Violations | list[Violation],
) -> None:
    """Journal the exchange: ``sent`` are the request's errors and warnings, ``answer`` the answer's
    violations. The query is kept redacted: the journal is served, and ``?token=`` must not be."""
    errors, warnings = sent
    answered = answer.listed if isinstance(answer, Violations) else tuple(answer)
    proxy.journal.record(
        Exchange(
            int(time.time() * 1000), request.method, request.path[:MAX_SHOWN],
            redact_query(request.rel_url.raw_query_string)[:1024], status, None,
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
