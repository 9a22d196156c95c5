"""The journal: every exchange the mock answered, in a ring buffer bounded in entries and bytes."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from .errors import Violation

__all__ = ["MAX_DETAIL_BODY", "MAX_DETAIL_HEADERS", "Detail", "Exchange", "Journal", "select"]

#: The most bytes of each body an exchange keeps (the rest is counted, not kept), and the most headers.
MAX_DETAIL_BODY = 16 * 1024
MAX_DETAIL_HEADERS = 64


class Detail(NamedTuple):
    """What was sent and answered, as received: the first :data:`MAX_DETAIL_HEADERS` headers of
    each, the first :data:`MAX_DETAIL_BODY` bytes of each body and its whole length. Kept as it
    came, secrets included (masking costs, and is done only when a page shows one exchange:
    ``http/dashboard_exchange.py``); never written anywhere by the journal."""

    request_headers: tuple[tuple[bytes, bytes], ...]
    request_body: bytes
    request_length: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    response_length: int
    """-1: the answer was streamed (a ZIP), and is not kept."""

    def size(self) -> int:
        headers = sum(40 + len(k) + len(v) for k, v in self.request_headers)
        headers += sum(80 + len(k) + len(v) for k, v in self.response_headers)
        return 200 + headers + len(self.request_body) + len(self.response_body)


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

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Exchange:
        """An exchange as :meth:`to_json` wrote it (``GET /__admin/journal``): what a test of a
        server in another process (``pytest --aem-url``) reads. A violation's ``keyword`` is lost."""

        def violations(key: str) -> tuple[Violation, ...]:
            return tuple(Violation.from_json(found) for found in entry.get(key) or ())

        return cls(
            entry["at"],
            entry["method"],
            entry["path"],
            entry["query"],
            entry["status"],
            entry.get("user"),
            entry.get("operation"),
            violations("requestViolations"),
            violations("responseViolations"),
            entry.get("fault"),
            entry.get("moreViolations", 0),
            violations("warnings"),
            tuple(entry.get("variations") or ()),
        )


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


#: An exchange as the journal keeps it, one flat tuple: its fields, the bytes it counts, then its
#: detail's fields (each list of headers one flat tuple) or None.
_Entry = tuple[Any, ...]
_FIELDS = len(Exchange._fields)


def _entry(exchange: Exchange, cost: int, detail: Detail | None) -> _Entry:
    if detail is None:
        return (*exchange, cost, None)
    sent, answered = _flat(detail.request_headers), _flat(detail.response_headers)
    return (*exchange, cost, sent, *detail[1:3], answered, *detail[4:])


def _exchange(entry: _Entry) -> Exchange:
    return Exchange._make(entry[:_FIELDS])


def _cost(entry: _Entry) -> int:
    return int(entry[_FIELDS])


def _detail(entry: _Entry) -> Detail | None:
    if entry[_FIELDS + 1] is None:
        return None
    sent, body, length, answered, answer, answer_length = entry[_FIELDS + 1 :]
    return Detail(_pairs(sent), body, length, _pairs(answered), answer, answer_length)


def _flat(pairs: Iterable[tuple[Any, Any]]) -> tuple[Any, ...]:
    return tuple(itertools.chain.from_iterable(pairs))


def _pairs(flat: tuple[Any, ...]) -> tuple[tuple[Any, Any], ...]:
    return tuple(zip(flat[::2], flat[1::2], strict=True))


class Journal:
    """The newest exchanges, oldest first: at most ``size`` of them and ``max_bytes`` in all.

    Each is kept as one plain tuple of its fields and its detail's (each list of headers a flat
    tuple in it), made an :class:`Exchange` (a :class:`Detail`) again when read. The collector
    stops following a plain tuple of strings and numbers (it untracks it), never a named tuple: a
    server of 1,000 sessions keeps a million exchanges, which every full collection would walk;
    and while the journals fill, each object an exchange keeps counts towards the next collection
    of the youngest generation."""

    def __init__(self, size: int = 1000, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._entries: deque[_Entry] = deque()
        self._bytes = 0
        self.recorded = 0
        """How many exchanges were ever recorded (kept or not): tells a reader that new ones came."""
        self.on_violation: Callable[[Exchange], None] | None = None
        """Called with each exchange recorded with a violation (the client's or the mock's), as it is
        recorded (``serve`` prints a line); it must be quick, since it runs on the request's path."""

    def record(self, exchange: Exchange, detail: Detail | None = None) -> None:
        """Keep ``exchange``, and its headers and bodies (``detail``) beside it when given: the
        dashboard's exchange page shows them (:meth:`find`); its bytes count towards ``max_bytes``."""
        self.recorded += 1
        cost = exchange.size() + (detail.size() if detail is not None else 0)
        self._entries.append(_entry(exchange, cost, detail))
        self._bytes += cost
        if len(self._entries) > self.size or self._bytes > self.max_bytes:
            self._trim()
        if self.on_violation is not None and (exchange.request_violations or exchange.response_violations):
            self.on_violation(exchange)

    def _trim(self) -> None:
        while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
            self._bytes -= _cost(self._entries.popleft())

    def __iter__(self) -> Iterator[Exchange]:
        return iter([_exchange(entry) for entry in self._entries])

    def __len__(self) -> int:
        return len(self._entries)

    def numbered(self) -> list[tuple[int, Exchange]]:
        """The exchanges kept, oldest first, each with its number: the 1st ever recorded is 1, and a
        number stays the exchange's while it is kept (the oldest leave first, a clear keeps counting)."""
        first = self.recorded - len(self._entries) + 1
        return [(first + index, _exchange(entry)) for index, entry in enumerate(self._entries)]

    def find(self, number: int) -> tuple[Exchange, Detail | None] | None:
        """The exchange numbered ``number`` (:meth:`numbered`) with its headers and bodies (None:
        not kept, as for the proxy's), if it is still kept."""
        index = number - (self.recorded - len(self._entries) + 1)
        if not 0 <= index < len(self._entries):
            return None
        entry = self._entries[index]
        return _exchange(entry), _detail(entry)

    def newest(self, count: int) -> list[Exchange]:
        """The newest ``count`` exchanges kept, oldest first: O(count)."""
        taken = [_exchange(entry) for entry in itertools.islice(reversed(self._entries), count)]
        taken.reverse()
        return taken

    @property
    def bytes(self) -> int:
        """About how many bytes the exchanges kept take."""
        return self._bytes

    def client_violations(self) -> list[Exchange]:
        """The exchanges in which the client under test broke the contract (errors)."""
        return [e for e in self if e.request_violations]

    def client_warnings(self) -> list[Exchange]:
        """The exchanges in which the client sent what the documented contract does not promise."""
        return [e for e in self if e.warnings]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def resize(self, size: int, max_bytes: int | None = None) -> None:
        """Keep at most ``size`` exchanges (and ``max_bytes``) from now on, the newest."""
        self.size = size
        if max_bytes is not None:
            self.max_bytes = max_bytes
        self._trim()
