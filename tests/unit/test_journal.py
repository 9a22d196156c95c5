"""The journal's ring: what it gives back is what it was given, kept in objects the collector can drop."""

from __future__ import annotations

import gc
from typing import Any

from mock_server.core.errors import Violation
from mock_server.core.journal import Detail, Exchange, Journal

_SENT = tuple((f"X-Header-{n}".encode(), f"value {n}".encode()) for n in range(8))
_ANSWERED = (("Content-Type", "application/json"), ("Content-Length", "17"))


def _exchange(n: int, **fields: Any) -> Exchange:
    return Exchange(n, "GET", f"/bin/guides/v1/assets/process/status/{n}", f"processingId={n}", 200, "admin",
                    "status", **fields)  # fmt: skip


def _detail(n: int) -> Detail:
    return Detail(_SENT, b"", 0, _ANSWERED, b'{"n": %d}' % n, 9)


def _objects(value: Any) -> list[Any]:
    """``value`` and every container it holds, however deep."""
    found = [value]
    if isinstance(value, tuple):
        for item in value:
            found += _objects(item)
    return found


def test_what_is_read_back_is_what_was_recorded() -> None:
    journal = Journal(size=3)
    violation = Violation("body:/path", "required", "a path")
    given = [(_exchange(n, request_violations=(violation,) if n == 3 else ()), _detail(n)) for n in range(5)]
    for exchange, detail in given:
        journal.record(exchange, detail if exchange.at_ms != 2 else None)
    assert list(journal) == [exchange for exchange, _ in given[2:]]
    assert journal.newest(2) == [given[3][0], given[4][0]]
    assert journal.numbered() == [(3, given[2][0]), (4, given[3][0]), (5, given[4][0])]
    assert journal.find(3) == (given[2][0], None)
    found = journal.find(5)
    assert found == given[4] and isinstance(found[0], Exchange) and isinstance(found[1], Detail)
    assert journal.client_violations() == [given[3][0]]
    assert journal.find(2) is None


def test_an_exchange_kept_is_a_few_plain_tuples_the_collector_stops_following() -> None:
    """A clean exchange (no violation) is kept in three tuples, however many headers it has, none of
    them a named tuple: collected twice (a tuple is untracked once what it holds is; the collector
    finds the headers' after the entry), none is followed by the collector again (a server of 1,000
    sessions keeps a million of them, which each full collection would otherwise walk)."""
    journal = Journal(size=10)
    for n in range(10):
        journal.record(_exchange(n), _detail(n))
    gc.collect()
    gc.collect()
    for entry in journal._entries:
        tuples = [o for o in _objects(entry) if isinstance(o, tuple) and o]
        assert all(type(o) is tuple for o in tuples)
        assert len(tuples) == 3, tuples  # the entry and its two lists of headers
        assert not any(gc.is_tracked(o) for o in tuples)
