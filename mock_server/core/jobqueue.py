"""The FIFO queue of the jobs waiting for a runner.

A cancelled job leaves the queue in O(1): its entry is not searched for, it goes stale (the job's
``ticket`` moves on) and is skipped when it comes to the front. Once stale entries are most of the
queue they are swept out, so memory stays O(waiting jobs) whatever the cancels.
"""

from __future__ import annotations

from collections import deque

from .job import Job

__all__ = ["JobQueue"]

#: Stale entries are swept out only past this many (and once they are most of the queue).
_SWEEP_AFTER = 64


class JobQueue:
    """Queued jobs, first in first out."""

    __slots__ = ("_entries", "_stale", "pushed")

    def __init__(self) -> None:
        self._entries: deque[tuple[int, Job]] = deque()  # (ticket, job); stale tickets are skipped
        self._stale = 0
        self.pushed = 0
        """How many entries were ever pushed: the last ticket given (tickets rise in queue order)."""

    def push(self, job: Job) -> None:
        """Put ``job`` at the back, with a ticket above every earlier one (a saved queue's order)."""
        self.pushed += 1
        job.ticket = self.pushed
        self._entries.append((job.ticket, job))

    def restore(self, queued: list[Job], pushed: int) -> None:
        """Queue ``queued`` (in their order, their tickets kept), as a saved queue was."""
        self._entries.extend((job.ticket, job) for job in queued)
        self.pushed = pushed

    def head(self) -> Job | None:
        """The job at the front, if any; stale entries in front of it are dropped."""
        while self._entries:
            ticket, job = self._entries[0]
            if ticket == job.ticket:
                return job
            self._entries.popleft()
            self._stale -= 1
        return None

    def pop(self) -> None:
        """Take the job at the front off the queue (after :meth:`head` found it)."""
        self._entries.popleft()

    def drop(self, job: Job) -> None:
        """Take the queued ``job`` off the queue, wherever it stands."""
        job.ticket = 0  # its entry is stale now (no entry has ticket 0)
        self._stale += 1
        if self._stale > _SWEEP_AFTER and self._stale * 2 > len(self._entries):
            self._entries = deque((t, j) for t, j in self._entries if t == j.ticket)
            self._stale = 0
