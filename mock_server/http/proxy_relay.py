"""One request forwarded to the upstream, its answer streamed back as it comes.

* Where to: :func:`upstream_url` is the upstream's own scheme, host, port and base path with the
  request's path and query, built from parts: nothing a target says can name another host (and a
  target that is not a path is refused before, see :mod:`.proxy_intake`).
* What is kept: the first bytes of the answer, for the checks and the tape: at most
  :data:`~..recording.tape.MAX_BODY_BYTES` of one answer and, for every exchange in flight
  together, the proxy's budget of answers (:mod:`.proxy_budget`). Past either, the rest goes to
  the client but is not kept: the answer is then not checked, and the tape notes the truncation.
* How it ends: whole; or cut short by the upstream (an error or ``timeout``: the client's
  connection is closed before the end, so the client sees a cut-off answer, never a short one);
  or by the client, which went away (or read nothing for ``timeout`` seconds) after
  :attr:`Relay.sent` bytes: the upstream's answer is then dropped, and :attr:`Relay.client_left`
  says why. The whole exchange must end within ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..recording.tape import MAX_BODY_BYTES, TapeResponse
from .proxy_budget import Lease

__all__ = ["HOP_BY_HOP", "Relay", "upstream_url"]
#: Headers about one connection, not the message (RFC 9110 §7.6.1): never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "trailers", "transfer-encoding", "upgrade"}
)  # fmt: skip
#: Headers the client library would add on its own: the upstream gets the client's, or none.
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_CHUNK = 64 * 1024


def upstream_url(upstream: URL, target: str) -> URL:
    """``upstream`` with the path (appended to its own) and query of ``target``, an origin-form
    target (``/path?query``) as sent, its escapes kept: ``//host/x``, ``/@host`` or ``/%2F%2Fhost``
    are paths on the upstream, like any other."""
    if not target.startswith("/"):  # refused before it comes here (see proxy_intake): never followed
        raise ValueError(f"the target {target[:40]!r} is not a path; only a path is joined to the upstream")
    path, _, query = target.partition("#")[0].partition("?")
    return URL.build(
        scheme=upstream.scheme,
        authority=upstream.raw_authority,
        path=upstream.raw_path.rstrip("/") + path,
        query_string=query,
        encoded=True,
    )


class Relay:
    """Forwards one request and streams the answer back; keeps what :meth:`forward` found out."""

    def __init__(self, request: web.Request, lease: Lease) -> None:
        self.request = request
        self.lease = lease
        self.response: web.StreamResponse | None = None
        """The answer to the client, once its status line was sent."""
        self.sent = 0
        """Bytes of the answer's body sent to the client."""
        self.client_left: str | None = None
        """Why the client did not get the whole answer, when it did not (it went away, or stopped reading)."""
        self._writing = False

    async def forward(
        self,
        session: aiohttp.ClientSession,
        url: URL,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout: float,
    ) -> TapeResponse | None:
        """The upstream's answer, sent on to the client as it comes, with its first bytes kept; None
        when the client left before its end (:attr:`client_left` says how). An upstream that fails
        raises ``aiohttp.ClientError`` or ``TimeoutError`` (:attr:`response` is set when that
        happened mid-answer)."""
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(session, url, headers, body)
        except ConnectionError:
            if not self._writing:
                raise  # the upstream's connection failed
            self.client_left = f"the client went away after {self.sent} bytes of the answer"
        except TimeoutError:
            if not self._writing:
                raise  # the upstream's fault
            self.client_left = (f"the client read nothing for the rest of the {timeout:g} s the exchange may "
                                f"take (timeout), after {self.sent} bytes of the answer")  # fmt: skip
        return None

    async def _exchange(
        self, session: aiohttp.ClientSession, url: URL, headers: list[tuple[str, str]], body: bytes
    ) -> TapeResponse:
        request = self.request
        named = {token.strip().lower() for token in request.headers.get("Connection", "").split(",")}
        dropped = HOP_BY_HOP | named | {"host", "content-length"}  # aiohttp sets Host and the length
        async with session.request(
            request.method,
            url,
            headers=CIMultiDict((k, v) for k, v in headers if k.lower() not in dropped),
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
            await self._to_client(response.prepare(request))
            kept = bytearray()
            keeping = True
            async for chunk in answer.content.iter_chunked(_CHUNK):
                await self._to_client(response.write(chunk))
                self.sent += len(chunk)
                if keeping:  # at most one more byte than the tape keeps: that says there was more
                    wanted = min(len(chunk), MAX_BODY_BYTES + 1 - len(kept))
                    granted = self.lease.take(wanted)
                    kept += chunk[:granted]
                    keeping = granted == len(chunk)  # a prefix is kept, never pieces
            await self._to_client(response.write_eof())
            return TapeResponse(answer.status, list(answer.headers.items()), bytes(kept), self.sent)

    async def _to_client(self, writing: Awaitable[object]) -> None:
        """Await a write to the client, noting that the exchange waits on the client meanwhile (a
        failure or a timeout in it is the client's); not reset when it fails, which says so."""
        self._writing = True
        await writing
        self._writing = False
