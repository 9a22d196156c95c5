"""Clocks: where the mock gets the time from.

The job engine never reads the system time itself; it asks a clock injected at start-up. The dev
server uses :class:`SystemClock`; tests use :class:`ManualClock`, which moves only when told, so no
test ever sleeps to wait for a job state.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "PerPollClock", "SystemClock"]

#: 2026-01-01T00:00:00Z, where a manual clock starts unless told otherwise.
DEFAULT_MANUAL_START_MS = 1_767_225_600_000
#: The most one advance may move: 50 years (log timestamps and ZIP dates need a real calendar date).
MAX_ADVANCE_S = 50 * 365 * 86_400.0
#: The last millisecond of 9999-12-31 (UTC): log lines print four-digit years, so time stops there.
MAX_TIME_MS = 253_402_300_799_999


class Clock(Protocol):
    """Anything that tells the time in epoch milliseconds."""

    def now_ms(self) -> int:
        """The current time in milliseconds since the Unix epoch (UTC)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when :meth:`advance` or :meth:`set` is called."""

    def __init__(self, start_ms: int = DEFAULT_MANUAL_START_MS) -> None:
        self._start_ms = start_ms
        self._now_ms = start_ms

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> int:
        """Move the clock forward by ``seconds`` (never backward); return the new time in ms."""
        if not 0 <= seconds <= MAX_ADVANCE_S:  # NaN fails this too
            raise ValueError(f"advance() takes 0 to {MAX_ADVANCE_S:.0f} seconds, got {seconds!r}")
        self.set(self._now_ms + round(seconds * 1000))
        return self._now_ms

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``; it must not lie before the current time, nor after year 9999."""
        if now_ms < self._now_ms:
            raise ValueError(f"a clock only moves forward: {now_ms} is before {self._now_ms}")
        if now_ms > MAX_TIME_MS:
            raise ValueError(f"the clock stops at the end of year 9999 ({MAX_TIME_MS}); {now_ms} is past it")
        self._now_ms = now_ms

    def reset(self) -> None:
        """Go back to the time the clock started at (for a reset between tests)."""
        self._now_ms = self._start_ms

    def __repr__(self) -> str:
        return f"ManualClock(now_ms={self._now_ms})"


class PerPollClock(ManualClock):
    """A manual clock that also moves ``step_ms`` each time a job's status is polled.

    For clients that cannot move time themselves: each poll sees the job a step further on.
    The clock is shared, so a poll of one job moves every job.
    """

    def __init__(self, step_ms: int, start_ms: int = DEFAULT_MANUAL_START_MS) -> None:
        super().__init__(start_ms)
        self.step_ms = step_ms

    def polled(self) -> None:
        self._now_ms = min(self._now_ms + self.step_ms, MAX_TIME_MS)

    def __repr__(self) -> str:
        return f"PerPollClock(step_ms={self.step_ms}, now_ms={self._now_ms})"
