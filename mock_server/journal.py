"""The journal: every exchange the mock answered, in a bounded ring buffer."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import Violation

__all__ = ["Exchange", "Journal"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer. ``violations`` are the client's (request) or the mock's."""

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
            "responseViolations": [v.to_json() for v in self.response_violations],
            "fault": self.fault,
        }


@dataclass(slots=True)
class Journal:
    """The last ``size`` exchanges, oldest first."""

    size: int = 1000
    _entries: deque[Exchange] = field(init=False)

    def __post_init__(self) -> None:
        self._entries = deque(maxlen=self.size)

    def record(self, exchange: Exchange) -> None:
        self._entries.append(exchange)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def client_violations(self) -> list[Exchange]:
        """The exchanges in which the client under test broke the contract."""
        return [e for e in self._entries if e.request_violations]

    def clear(self) -> None:
        self._entries.clear()

    def resize(self, size: int) -> None:
        """Keep at most ``size`` exchanges from now on (the newest, when shrinking)."""
        if size != self.size:
            self.size = size
            self._entries = deque(self._entries, maxlen=size)
