"""The journal: every exchange the mock answered, in a ring buffer bounded in entries and bytes."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from .errors import Violation

__all__ = ["Exchange", "Journal", "select"]


class Exchange(NamedTuple):
    """One request and its answer. ``violations`` are the client's (request) or the mock's.

    A named tuple: made once per request, it is the cheapest immutable record Python has (a frozen
    dataclass costs five times as much, a tenth of the polling throughput all told)."""

    at_ms: int
    method: str
    path: str
    query: str
    status: int
    user: str | None = None
    operation: str | None = None
    request_violations: tuple[Violation, ...] = ()
    response_violations: tuple[Violation, ...] = ()
    fault: str | None = None
    """The injected fault that answered, if one did."""
    more_violations: int = 0
    """The client's violations found beyond those listed (at most 20 are)."""
    warnings: tuple[Violation, ...] = ()
    """What the client sent that an author serves but the documented contract does not promise."""
    variations: tuple[str, ...] = ()
    """How the answer was varied (the ``vary`` setting), in words."""

    def size(self) -> int:
        """About how many bytes this exchange takes in memory."""
        size = 400 + len(self.path) + len(self.query) + len(self.user or "") + len(self.fault or "")
        if self.variations:
            size += sum(60 + len(v) for v in self.variations)
        if self.request_violations or self.response_violations or self.warnings:
            size += sum(
                300 + len(v.where) + len(v.message) + len(v.expected) + len(v.schema) + len(str(v.got))
                for v in (*self.request_violations, *self.response_violations, *self.warnings)
            )
        return size

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "user": self.user,
            "operation": self.operation,
            "requestViolations": [v.to_json() for v in self.request_violations],
            "warnings": [v.to_json() for v in self.warnings],
            "responseViolations": [v.to_json() for v in self.response_violations],
            "fault": self.fault,
            "moreViolations": self.more_violations,
            "variations": list(self.variations),
        }


def select(
    exchanges: Iterable[Exchange],
    *,
    operation: str | None = None,
    method: str | None = None,
    status: int | None = None,
    violations: bool | None = None,
    warnings: bool | None = None,
) -> list[Exchange]:
    """The exchanges that match every filter given (None: any), oldest first.

    ``method`` matches in any case; ``violations=True`` keeps the exchanges with a violation (the
    client's or the mock's), ``False`` those without; ``warnings`` likewise for the client's warnings.
    """
    wanted = method.upper() if method is not None else None
    return [
        e
        for e in exchanges
        if (operation is None or e.operation == operation)
        and (wanted is None or e.method == wanted)
        and (status is None or e.status == status)
        and (violations is None or bool(e.request_violations or e.response_violations) == violations)
        and (warnings is None or bool(e.warnings) == warnings)
    ]


class Journal:
    """The newest exchanges, oldest first: at most ``size`` of them and ``max_bytes`` in all."""

    def __init__(self, size: int = 1000, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._entries: deque[tuple[Exchange, int]] = deque()
        self._bytes = 0
        self.recorded = 0
        """How many exchanges were ever recorded (kept or not): tells a reader that new ones came."""
        self.on_violation: Callable[[Exchange], None] | None = None
        """Called with each exchange recorded with a violation (the client's or the mock's), as it is
        recorded (``serve`` prints a line); it must be quick, since it runs on the request's path."""

    def record(self, exchange: Exchange) -> None:
        self.recorded += 1
        cost = exchange.size()
        self._entries.append((exchange, cost))
        self._bytes += cost
        if len(self._entries) > self.size or self._bytes > self.max_bytes:
            self._trim()
        if self.on_violation is not None and (exchange.request_violations or exchange.response_violations):
            self.on_violation(exchange)

    def _trim(self) -> None:
        while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
            self._bytes -= self._entries.popleft()[1]

    def __iter__(self) -> Iterator[Exchange]:
        return iter([exchange for exchange, _ in self._entries])

    def __len__(self) -> int:
        return len(self._entries)

    def newest(self, count: int) -> list[Exchange]:
        """The newest ``count`` exchanges kept, oldest first: O(count)."""
        taken = [exchange for exchange, _ in itertools.islice(reversed(self._entries), count)]
        taken.reverse()
        return taken

    @property
    def bytes(self) -> int:
        """About how many bytes the exchanges kept take."""
        return self._bytes

    def client_violations(self) -> list[Exchange]:
        """The exchanges in which the client under test broke the contract (errors)."""
        return [e for e, _ in self._entries if e.request_violations]

    def client_warnings(self) -> list[Exchange]:
        """The exchanges in which the client sent what the documented contract does not promise."""
        return [e for e, _ in self._entries if e.warnings]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def resize(self, size: int, max_bytes: int | None = None) -> None:
        """Keep at most ``size`` exchanges (and ``max_bytes``) from now on, the newest."""
        self.size = size
        if max_bytes is not None:
            self.max_bytes = max_bytes
        self._trim()
