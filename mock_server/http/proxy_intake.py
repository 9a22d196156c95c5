"""What the proxy takes in of a request before it forwards it: the target, and the body within its
bounds. Everything wrong is a :class:`Refused` that says what and where, answered with the mock's
error body (:func:`refusal_answer`) on a connection that is then closed.

* The target must be in origin form (``/path?query``): the proxy forwards to its upstream and
  nowhere else, so an absolute-form target (``GET http://host/… HTTP/1.1``), an authority-form one
  (``CONNECT host:443``) or ``*`` is refused with 400, never followed.
* The body must arrive whole within ``body_timeout`` seconds (else 408) and hold at most
  ``max_body_bytes`` (else 413: refused from its ``Content-Length`` before a byte is read, or cut
  off as soon as it is larger). It is read as the mock reads one (:mod:`.inflate`, the app made
  with its :data:`~.inflate.HANDLER_ARGS`): raw, then a gzip, deflate, br or zstd body inflated in
  a worker thread, never past the cap: a bomb is refused once the cap is passed, never inflated
  whole, and never on the event loop.
* The bytes held count against the proxy's budget of request bodies (:mod:`.proxy_budget`),
  apart from the answers kept: a body waits for room (within ``body_timeout``) when uploads in
  flight hold it all, and is refused with 503 only when none came in that time, or when none
  could come (every byte held by a body waiting for more: the one that holds the most gives way).

A refused request's unread rest is never read: after the answer the connection is closed, where
aiohttp would otherwise read ("linger" over) it for up to 10 s, inflating a compressed one.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from ..core.errors import MAX_SHOWN, Violation
from . import inflate
from .answers import json_answer
from .proxy_budget import Lease, NoRoom

__all__ = ["DEFAULT_BODY_TIMEOUT_S", "DEFAULT_MAX_BODY_BYTES", "Refused", "read_body", "refusal_answer"]
__all__ += ["send_and_close", "target_refusal"]

#: An AEM Guides API body is a few hundred bytes; the mock's ``max_body_bytes`` is the same.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: As the mock's ``body_timeout_ms``.
DEFAULT_BODY_TIMEOUT_S = 10.0
_EXAMPLE = "GET /bin/guides/v1/assets/process/history HTTP/1.1"


class Refused(Exception):
    """A request the proxy does not forward: the status and the violation that says why."""

    def __init__(self, status: int, violation: Violation, headers: dict[str, str] | None = None) -> None:
        super().__init__(violation.message)
        self.status = status
        self.violation = violation
        self.headers = headers or {}


def target_refusal(request: web.Request, upstream: str) -> Refused | None:
    """Why the request's target is not one to forward (None when it is a path): the proxy must
    never be steered to another host than ``upstream``, which it names."""
    target = request.raw_path
    if request.method == "CONNECT":
        message = (f"CONNECT is not served: this proxy is no tunnel, it forwards requests to its upstream "
                   f"{upstream} only; send each request to its path, such as '{_EXAMPLE}'")  # fmt: skip
        return Refused(400, Violation("method", message, "a method of the API, not CONNECT", "CONNECT"))
    if target.startswith("/"):
        return None
    # An absolute target is not echoed: it may carry user:password@, and the violation is journaled.
    what = "is in absolute form (scheme://host/path)" if "://" in target else f"{target[:40]!r} is not a path"
    message = (f"the request target {what}: this proxy forwards to its upstream {upstream} only; "
               f"send the path and query alone, such as '{_EXAMPLE}'")  # fmt: skip
    return Refused(400, Violation("target", message, "a path starting with /", None))


async def read_body(request: web.Request, *, limit: int, timeout: float, lease: Lease) -> bytes:
    """The whole body, decoded from its ``Content-Encoding`` by the mock's own reader (raw bytes
    within the cap, inflated in a worker thread: :func:`.inflate.read_body`), or :class:`Refused`.
    Its bytes are held in ``lease``, on the budget of request bodies: as they come (all of them at
    once when its ``Content-Length`` says how many), waiting for room within ``timeout``."""
    declared = request.content_length
    reading = _Reading()

    async def room(read: int) -> None:
        reading.read = read
        wanted = max(read, declared or 0)
        if wanted > lease.held:
            reading.waiting = True
            await lease.reserve(wanted)
            reading.waiting = False

    try:
        body = await inflate.read_body(request, limit, timeout, room=room)
    except inflate.BodyTooLarge as error:
        raise _too_large(limit, reading, declared, error.inflated) from None
    except TimeoutError:
        raise (_no_room(lease, timeout) if reading.waiting else _late(reading, timeout)) from None
    except NoRoom as crowded:
        raise _crowded(lease, crowded.held) from None
    except ConnectionError:  # the client went away mid-body: the answer will find no one
        message = f"the client closed the connection after {reading.read} bytes of the body"
        raise Refused(400, Violation("body:/", message, "a whole body", None, severity="warning")) from None
    except inflate.BodyUnreadable as error:  # a body that is not what its headers say
        raise _unreadable(error) from None
    lease.settle(len(body))  # the raw bytes are let go; the body, inflated, is kept for the exchange
    return body


@dataclasses.dataclass(slots=True)
class _Reading:
    """How far :func:`read_body` came: raw bytes read, and whether it waits for room."""

    read: int = 0
    waiting: bool = False


def _too_large(limit: int, reading: _Reading, declared: int | None, inflated: bool) -> Refused:
    if declared is not None and reading.read == 0:  # refused from the header, before a byte was read
        size, got = f"its Content-Length says {declared}", declared
    else:
        size, got = ("it inflates to more" if inflated else "more came"), None
    message = (f"the request body is larger than {limit} bytes (max_body_bytes; {size}, counted "
               "inflated); an AEM Guides request is a few hundred bytes: send less")  # fmt: skip
    return Refused(413, Violation("body:/", message, f"at most {limit} bytes", got))


def _late(reading: _Reading, timeout: float) -> Refused:
    message = (f"the request body did not arrive whole within {timeout:g} s (body_timeout); "
               f"{reading.read} bytes came; send it at once")  # fmt: skip
    late = Violation("body:/", message, f"a body within {timeout:g} s", None, severity="warning")
    return Refused(408, late)


def _no_room(lease: Lease, timeout: float) -> Refused:
    """The body waited ``timeout`` for room in vain: uploads in flight held the whole budget."""
    message = (f"the proxy found no room for the request body within {timeout:g} s (body_timeout): the "
               f"request bodies in flight hold the {lease.budget.total} bytes it keeps of them at once "
               "(max_kept_bytes); retry in a moment")  # fmt: skip
    full = Violation("body:/", message, "room in the proxy's memory budget", None, severity="warning")
    return Refused(503, full, {"Retry-After": "1"})


def _crowded(lease: Lease, held: int) -> Refused:
    """The uploads in flight hold all the room, each waiting for more: this one, which holds the
    most, gives way so that the others go on."""
    message = (f"the proxy holds the {lease.budget.total} bytes it keeps of request bodies at once "
               f"(max_kept_bytes), all of them parts of bodies still coming; this one holds the most "
               f"({held} bytes) and is refused so that the others can go on; retry in a moment")  # fmt: skip
    full = Violation("body:/", message, "room in the proxy's memory budget", None, severity="warning")
    return Refused(503, full, {"Retry-After": "1"})


def _unreadable(error: inflate.BodyUnreadable) -> Refused:
    if error.encoding:
        encoding = error.encoding[:40]
        message = (f"the body is not what 'Content-Encoding: {encoding}' says ({error.reason}); send it "
                   "encoded that way, or leave the header out")  # fmt: skip
        wrong = Violation(
            "header:Content-Encoding", message, "a body its Content-Encoding describes", encoding
        )
        return Refused(400, wrong)
    message = f"the body could not be read ({error.reason}); check its Content-Length or chunked framing"
    return Refused(400, Violation("body:/", message, "a body framed as its headers say", None))


async def refusal_answer(request: web.Request, refused: Refused) -> web.StreamResponse:
    """Send the mock's error body for ``refused``, then close the connection: whatever is left of
    the request body is never read (nor inflated)."""
    violation = refused.violation
    response = json_answer(
        refused.status, violation.message, refused.headers,
        path=request.path[:MAX_SHOWN], violations=[violation.to_json()],
    )  # fmt: skip
    return await send_and_close(request, response)


async def send_and_close(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send ``response``, then close the connection: the request body's unread rest is never read.
    Closing the response alone would not do: aiohttp reads ("lingers" over) an unread body for up to
    10 s after the answer, and inflates a compressed one as it goes."""
    response.force_close()  # says "Connection: close"
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:  # the client is gone already: nobody to tell
        pass
    request.protocol.force_close()
    return response
