"""What ``serve`` says on its console as it happens: one bounded line per contract violation.

A line names the operation, the answer's status, the pointer and message of the first violation and
how many more there were (``/__admin/violations`` lists them all). It is cut at :data:`MAX_LINE`
characters, and at most :data:`MAX_PER_SECOND` lines are printed a second: a client that breaks
every request of a load test is said in a count, not in a flood that slows the request path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from .core.journal import Exchange

__all__ = ["MAX_LINE", "MAX_PER_SECOND", "ViolationPrinter", "violation_line"]

#: The longest line printed, in characters.
MAX_LINE = 300
#: How many lines are printed within one second at most; the rest are counted, then said in one line.
MAX_PER_SECOND = 20


def violation_line(exchange: Exchange) -> str:
    """``violation: start POST /path -> 400: body:/path: <message> (and 2 more)``, at most
    :data:`MAX_LINE` characters, on one line whatever the message holds."""
    listed = (*exchange.request_violations, *exchange.response_violations)
    whose = "violation" if exchange.request_violations else "violation by the mock"
    more = len(listed) - 1 + exchange.more_violations
    first = listed[0] if listed else None
    said = f"{first.where}: {first.message}" if first else "(none listed)"
    tail = f" (and {more} more)" if more else ""
    line = (
        f"{whose}: {exchange.operation or '-'} {exchange.method} {exchange.path} -> {exchange.status}: {said}"
    )
    line = " ".join(line.split())  # a message's newlines and tabs never break the line
    if len(line) + len(tail) > MAX_LINE:
        line = line[: MAX_LINE - len(tail) - 1] + "…"
    return line + tail


class ViolationPrinter:
    """A :attr:`~.core.journal.Journal.on_violation` that prints :func:`violation_line` to ``out``,
    at most :data:`MAX_PER_SECOND` lines a second; the lines left out are counted and said with the
    next line printed (a count with no later line is not said: the admin API has them all)."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.clock = out, clock
        self.window = -1.0
        self.printed = 0
        self.skipped = 0

    def __call__(self, exchange: Exchange) -> None:
        now = self.clock()
        if now - self.window >= 1.0:
            self.window, self.printed = now, 0
        if self.printed >= MAX_PER_SECOND:
            self.skipped += 1
            return
        self.printed += 1
        try:  # a console closed or full must never fail the request being recorded
            if self.skipped:
                print(f"… {self.skipped} more violation(s) not printed (GET /__admin/violations lists them)",
                      file=self.out)  # fmt: skip
                self.skipped = 0
            print(violation_line(exchange), file=self.out, flush=True)
        except (OSError, ValueError):
            pass
