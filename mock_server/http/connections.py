"""The connection guard: aiohttp's runner with a header timeout and a cap on open connections.

Why: aiohttp's ``RequestHandler`` waits for a request's headers as long as its keep-alive timeout
(3630 s by default) and accepts connections until ``accept()`` fails with EMFILE, which asyncio
logs with a "Too many open files" traceback while nobody new is served. A few slow or idle
clients would hold the dev server. With the guard:

* a connection must complete the headers of a request within ``header_timeout`` seconds of its
  accept or, on a keep-alive connection, of the first byte of its next request; otherwise it is
  closed, without an answer and with one INFO log line. A keep-alive connection that sends
  nothing after a complete request is idle, not slow: aiohttp's ``keepalive_timeout`` (75 s here)
  closes it.
* at most :attr:`GuardedRunner.max_connections` connections are open: the given maximum, fewer
  when the process's file limit (``RLIMIT_NOFILE``) asks for it, see :func:`connection_cap`. A
  connection arriving at the cap closes the oldest idle one (waiting for headers, or between
  requests), or is closed itself when every open connection has a request in progress.

It is aiohttp's own lifecycle: :class:`GuardedRunner` is an ``AppRunner`` whose server is a
:class:`ConnectionGuard`, a ``web.Server`` that makes a guarded ``RequestHandler`` for each
connection. aiohttp offers no hook for "headers complete", so the handler reads a few of
``RequestHandler``'s attributes (``_request_count``, ``_messages``, ``_waiter``); the tests pin
them. One gap is known: bytes of a next request that arrive in the same read as the end of the
previous request are not timed (the parser does not say where the request ended); the
keep-alive timeout and the cap still bound such a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import sys
from typing import Any

from aiohttp import StreamReader, web
from aiohttp.http_exceptions import HttpProcessingError

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_KEEPALIVE_TIMEOUT",
    "ConnectionGuard",
    "GuardedRunner",
    "backlog_for",
    "connection_cap",
    "file_reserve",
    "raise_file_limit",
]

log = logging.getLogger("aem_guides_mock")

#: How many connections the listening socket queues, and asyncio accepts per loop iteration.
DEFAULT_BACKLOG = 64
DEFAULT_KEEPALIVE_TIMEOUT = 75.0
#: The process's own files: stdio, the selector and its self-pipe, the listening sockets, files
#: opened by requests (scenarios, schemas) and by logging.
_OWN_FILES = 64
#: Sockets beyond the cap that the guard has not seen yet, or has closed but asyncio has not yet
#: let go of, in units of the backlog. asyncio accepts up to ``backlog`` sockets per listening
#: socket and loop iteration, makes their protocol (:meth:`ConnectionGuard.__call__`, where the
#: guard admits them) one iteration later, and closes a socket one iteration after it is told to:
#: under a flood, two iterations' accepts when the guard closes idle connections, three when it
#: refuses new ones (a refused socket can be closed only once its transport is made). Measured:
#: one backlog is not enough (EMFILE), two are. A host name may listen twice (IPv4 and IPv6),
#: each socket accepting its own backlog.
_BACKLOGS_IN_FLIGHT = 3
_LISTENING_SOCKETS = 2
#: ``web.Server``'s own keyword arguments; the rest go to each ``RequestHandler``.
_SERVER_ONLY = frozenset({"request_factory", "handler_cancellation"})


def _check_limits(header_timeout: float, max_connections: int) -> None:
    if not header_timeout > 0:
        raise ValueError(f"header_timeout must be a positive number of seconds, not {header_timeout!r}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")


def file_reserve(backlog: int = DEFAULT_BACKLOG) -> int:
    """How many of the process's files the cap leaves free, for its own files and accepts in flight."""
    return _OWN_FILES + _BACKLOGS_IN_FLIGHT * _LISTENING_SOCKETS * backlog


def _file_limit() -> int | None:
    """The soft ``RLIMIT_NOFILE``, or None when there is none."""
    if sys.platform == "win32":  # no file limit to respect; the given maximum holds
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def backlog_for(limit: int | None) -> int:
    """The listening backlog for a file limit: :data:`DEFAULT_BACKLOG`, smaller under a low limit
    (macOS's default soft limit is 256), so that the reserve leaves room for connections."""
    if limit is None:
        return DEFAULT_BACKLOG
    return max(4, min(DEFAULT_BACKLOG, limit // 16))


def connection_cap(max_connections: int, backlog: int | None = None) -> int:
    """The effective cap: ``max_connections``, or fewer so that ``accept()`` never runs out of files.

    Under a low file limit the cap is the limit less :func:`file_reserve` of the backlog (by default
    :func:`backlog_for` the limit), and at least 1.
    """
    limit = _file_limit()
    if limit is None:
        return max_connections
    reserve = file_reserve(backlog_for(limit) if backlog is None else backlog)
    return max(1, min(max_connections, limit - reserve))


def raise_file_limit() -> None:
    """Lift the soft file limit to the hard one (at most 65,536): a dev server should not be held
    to a shell's low default (256 on macOS) when the system allows more."""
    if sys.platform == "win32":
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # not allowed here: keep the limit there is
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class _GuardedHandler(web.RequestHandler):
    """aiohttp's handler of one connection, closed when a request's headers are late."""

    __slots__ = ("_body", "_evicted", "_guard", "_header_timer")

    def __init__(self, guard: ConnectionGuard, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(guard, loop=loop, **kwargs)
        self._guard = guard
        self._header_timer: asyncio.TimerHandle | None = None
        #: The body of the last request whose headers came: the bytes after its headers are its
        #: body until it is complete, then they are the next request's.
        self._body: StreamReader | None = None
        self._evicted = False

    @property
    def idle(self) -> bool:
        """No request in progress: waiting for the first request's headers, or between requests."""
        if self._request_count == 0:
            return True
        waiter = self._waiter  # set while ``start()`` waits for the next request
        return waiter is not None and not waiter.done()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """A malformed request (a NUL in a header, a request line over 8,190 bytes…) is the
        client's fault, answered by aiohttp's own 400: one INFO line, not an ERROR with a
        traceback, so that a flood of them does not fill the log."""
        error = kw.get("exc_info")
        if isinstance(error, HttpProcessingError):
            log.info("refused a malformed request from %s: %s", _peer(self), error.message)
            return
        super().log_exception(*args, **kw)

    def evict(self) -> None:
        """Close the connection, now or as soon as its transport is made."""
        self._evicted = True
        if self.transport is not None:
            self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._evicted:  # room was made of it before asyncio finished setting it up
            self.force_close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:  # the headers of a request (or a parse error) came
            self._disarm_header_timer()
            if self._messages:
                self._body = self._messages[-1][1]
        elif (
            data
            and self._header_timer is None
            and self.transport is not None
            and not self._upgraded
            and (self._body is None or self._body.is_eof())
        ):
            self._arm_header_timer()  # the first byte of the next request

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self._guard.header_timeout, self._headers_late)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport is None:
            return
        log.info(
            "closed the connection from %s: no complete request headers within %g s",
            _peer(self),
            self._guard.header_timeout,
        )
        self.force_close()


def _peer(handler: web.RequestHandler) -> str:
    peer = handler.peername
    if isinstance(peer, tuple):
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "an unknown peer")


class ConnectionGuard(web.Server):
    """aiohttp's low-level server, keeping its connections in accept order to enforce the cap.

    ``max_connections`` is the cap itself (see :func:`connection_cap`); the other arguments are
    ``web.Server``'s, the keyword ones going on to each ``RequestHandler``.
    """

    def __init__(
        self,
        handler: Any,
        *,
        header_timeout: float,
        max_connections: int,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        _check_limits(header_timeout, max_connections)
        loop = loop or asyncio.get_running_loop()
        super().__init__(handler, loop=loop, **kwargs)
        handler_kwargs = {k: v for k, v in kwargs.items() if k not in _SERVER_ONLY}
        # aiohttp would only find out at the first connection, and then fall back to defaults.
        inspect.signature(web.RequestHandler).bind(self, loop=loop, **handler_kwargs)
        self._handler_kwargs = handler_kwargs
        self._event_loop = loop
        self._cap = max_connections
        self.header_timeout = header_timeout
        #: The connections counted against the cap, oldest first (a dict keeps insertion order).
        self._open: dict[_GuardedHandler, None] = {}

    @property
    def max_connections(self) -> int:
        """The cap on open connections."""
        return self._cap

    @property
    def open_connections(self) -> int:
        """How many connections are open, not counting those the guard has just closed."""
        return len(self._open)

    def __call__(self) -> web.RequestHandler:
        handler = _GuardedHandler(self, loop=self._event_loop, **self._handler_kwargs)
        self._admit(handler)
        return handler

    def _admit(self, handler: _GuardedHandler) -> None:
        if len(self._open) >= self._cap:
            victim = next((other for other in self._open if other.idle), None)
            if victim is None:
                log.info("refused a connection: all %d open ones have a request in progress", self._cap)
                handler.evict()
                return
            del self._open[victim]
            log.info("closed the idle connection from %s: %d connections are open", _peer(victim), self._cap)
            victim.evict()
        self._open[handler] = None

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        if isinstance(handler, _GuardedHandler):
            self._open.pop(handler, None)
        super().connection_lost(handler, exc)


class GuardedRunner(web.AppRunner):
    """``web.AppRunner`` serving through a :class:`ConnectionGuard`.

    Give its sites ``backlog=runner.backlog``: the cap leaves room for that many accepts in flight.
    Other keyword arguments are ``AppRunner``'s.
    """

    __slots__ = ("_backlog", "_cap", "_guard", "_header_timeout")

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float = 10.0,
        max_connections: int = 1000,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        backlog: int | None = None,
        **kwargs: Any,
    ) -> None:
        _check_limits(header_timeout, max_connections)
        super().__init__(app, keepalive_timeout=keepalive_timeout, **kwargs)
        self._header_timeout = header_timeout
        self._backlog = backlog_for(_file_limit()) if backlog is None else backlog
        self._cap = connection_cap(max_connections, self._backlog)
        self._guard: ConnectionGuard | None = None
        if self._cap < max_connections:  # said where the user looks, not only with --verbose
            log.warning(
                "at most %d connections at once (max_connections is %d): the process's file limit "
                "(ulimit -n %s) leaves no room for more; raise it to serve more clients at once",
                self._cap, max_connections, _file_limit(),
            )  # fmt: skip

    @property
    def backlog(self) -> int:
        """The backlog the cap allows for; pass it to the sites."""
        return self._backlog

    @property
    def max_connections(self) -> int:
        """The effective cap on open connections."""
        return self._cap

    @property
    def open_connections(self) -> int:
        """How many connections are open now (0 before :meth:`setup`)."""
        return 0 if self._guard is None else self._guard.open_connections

    async def _make_server(self) -> web.Server:
        # AppRunner's own runs the app's startup and freezes it; the server it makes carries the
        # handler arguments the app asks for (debug, handler_args), which the guard takes over.
        plain = await super()._make_server()
        self._guard = ConnectionGuard(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            header_timeout=self._header_timeout,
            max_connections=self._cap,
            **plain._kwargs,
        )
        return self._guard

    async def _cleanup_server(self) -> None:
        await super()._cleanup_server()
        self._guard = None
