"""Server-sent event streams, bounded in number and in time.

The dashboard's live part (``GET /__admin/events``) is one such stream per open tab. A stream
holds one of :attr:`EventStreams.slots` slots while it is open, and gives it back when:

- its tab is closed (the transport says so; checked every tick, not at the next write);
- its client stops reading: a write does not complete within ``write_timeout_s``, or the
  transport's write buffer stays non-empty that long (the kernel's buffers are full: nobody reads);
  the connection is then reset, since a goodbye could not be delivered either;
- it has been open ``max_age_s``: it ends with ``retry: 250``, and a browser reconnects at once to
  a fresh stream. This is the backstop for an idle server, where a client that stopped reading is
  never written enough to fill a buffer;
- the server shuts down (:data:`EVENTS_STOPPING` is set).

A stream beyond the slots is not refused with an error: a browser's ``EventSource`` gives up for
good after a non-200 answer. It is answered ``200 text/event-stream`` with ``retry:
busy_retry_ms`` and one ``busy`` event saying why, then ends: the browser tries again after that
long, and the page says meanwhile that it waits for a place. While a client has not read what it was
sent, no newer state is queued behind it: it gets the latest one once it reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import socket
import struct
import time
from collections.abc import Callable

from aiohttp import web

__all__ = ["EVENTS_STOPPING", "EVENT_STREAMS", "EventStreams", "stop_event_streams"]

log = logging.getLogger("aem_guides_mock")

#: Set at shutdown: every event stream ends.
EVENTS_STOPPING: web.AppKey[asyncio.Event] = web.AppKey("events_stopping")
#: Where an app keeps its :class:`EventStreams`.
EVENT_STREAMS: web.AppKey[EventStreams] = web.AppKey("event_streams")
#: The reconnection delay a stream ended for its age asks for: short, the browser comes straight back.
_RENEW_MS = 250
_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Accel-Buffering": "no",  # nginx would otherwise hold the events back
}


class _Stalled(Exception):
    """The client has stopped reading."""


@dataclasses.dataclass
class EventStreams:
    """The open event streams of one app, their limits, and the state they share (made at most
    once a tick, however many tabs are open). Tests pass small limits."""

    slots: int = 16
    """How many streams may be open at once; another is told to come back (:meth:`serve`)."""
    write_timeout_s: float = 10.0
    """How long a write, or a write buffer that does not empty, may take before the stream is cut."""
    max_age_s: float = 300.0
    """How long a stream stays open before it ends and the browser opens a fresh one."""
    retry_ms: int = 2000
    """How long a browser waits before it reconnects to a stream that ended or failed."""
    busy_retry_ms: int = 5000
    """How long a browser told that the slots are full waits before it tries again."""
    tick_s: float = 0.25
    """How often a stream looks for a new state, a closed tab or a full buffer."""
    heartbeat_s: float = 15.0
    """A comment line after this long without an event: proxies close silent connections."""
    open: set[web.StreamResponse] = dataclasses.field(default_factory=set)
    _made: dict[object, tuple[float, str]] = dataclasses.field(default_factory=dict)

    def shared(self, make: Callable[[], str], key: object = None) -> str:
        """The state every stream of ``key`` (a session's mock: each has its own) sends: ``make()``,
        made again once it is half a tick old. At most one state per open stream is kept."""
        now = time.monotonic()
        made_at, state = self._made.get(key, (-math.inf, ""))
        if now - made_at >= self.tick_s / 2:
            if len(self._made) > self.slots:  # only streams ask: the stale ones are made again at once
                self._made = {k: v for k, v in self._made.items() if now - v[0] < self.tick_s}
            state = make()
            self._made[key] = (now, state)
        return state

    async def serve(
        self, request: web.Request, make: Callable[[], str], key: object = None
    ) -> web.StreamResponse:
        """A stream of ``state`` events, one whenever ``make()`` changes, until one of the ends of
        the module's docstring; or the ``busy`` answer when every slot is taken. Streams of the
        same ``key`` share the state they are sent (:meth:`shared`)."""
        if len(self.open) >= self.slots:
            return await self._busy(request)
        response = web.StreamResponse(headers=_HEADERS)
        self.open.add(response)  # before the first await: two tabs cannot take the last slot both
        try:
            await response.prepare(request)
            await self._stream(request, response, make, key)
            async with asyncio.timeout(self.write_timeout_s):
                await response.write_eof()  # here, bounded: aiohttp's own would wait unbounded
        except (_Stalled, TimeoutError):
            log.info("an event stream was cut: its client (%s) read nothing for %.1f s",
                     request.remote, self.write_timeout_s)  # fmt: skip
            _cut(request)
        except ConnectionError:
            pass  # the tab was closed while we wrote
        finally:
            self.open.discard(response)
        return response

    async def _stream(
        self, request: web.Request, response: web.StreamResponse, make: Callable[[], str], key: object
    ) -> None:
        stopping = request.config_dict[EVENTS_STOPPING]
        loop = asyncio.get_running_loop()
        born = loop.time()
        full_since: float | None = None
        last, quiet = "", 0.0
        await self._write(response, f"retry: {self.retry_ms}\n\n")
        while not stopping.is_set():
            transport, now = request.transport, loop.time()
            if transport is None or transport.is_closing():
                return  # the tab was closed: its slot is free now, not at the next write
            if transport.get_write_buffer_size() > 0:  # the kernel takes no more: is anyone reading?
                full_since = now if full_since is None else full_since
                if now - full_since >= self.write_timeout_s:
                    raise _Stalled
            else:
                full_since = None
                if now - born >= self.max_age_s:
                    await self._write(response, f"retry: {_RENEW_MS}\n\n")
                    return
                state = self.shared(make, key)
                if state != last:
                    await self._write(response, f"event: state\ndata: {state}\n\n")
                    last, quiet = state, 0.0
                elif quiet >= self.heartbeat_s:
                    await self._write(response, ": still here\n\n")
                    quiet = 0.0
            try:
                await asyncio.wait_for(stopping.wait(), self.tick_s)
            except TimeoutError:
                quiet += self.tick_s

    async def _write(self, response: web.StreamResponse, text: str) -> None:
        async with asyncio.timeout(self.write_timeout_s):
            await response.write(text.encode())

    async def _busy(self, request: web.Request) -> web.StreamResponse:
        """Every slot is taken: a short stream that tells the browser when to try again."""
        message = (f"{self.slots} event streams are open already (a dashboard tab each); close one: "
                   f"this page tries again every {self.busy_retry_ms / 1000:g} s")  # fmt: skip
        data = json.dumps({"message": message, "retryMs": self.busy_retry_ms})
        response = web.StreamResponse(headers=_HEADERS)
        try:
            await response.prepare(request)
            async with asyncio.timeout(self.write_timeout_s):
                await response.write(f"retry: {self.busy_retry_ms}\n\nevent: busy\ndata: {data}\n\n".encode())
                await response.write_eof()
        except (TimeoutError, ConnectionError):
            _cut(request)
        return response


def _cut(request: web.Request) -> None:
    """Close a connection whose client does not read, now: reset, so that neither asyncio nor the
    kernel keeps the megabytes it was sent (a plain close would wait for them to be read)."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def stop_event_streams(app: web.Application) -> None:
    """On shutdown: every event stream ends now, so that the server stops at once."""
    app[EVENTS_STOPPING].set()
