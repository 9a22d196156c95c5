"""The jobs the engine keeps: by id, oldest first, within their caps, and read a page at a time.

Past ``max_jobs`` jobs or ``jobs_bytes`` bytes (the requests and logs of the kept jobs, counted by
one :class:`~.bounded.Meter`), the jobs that finished first are forgotten; a job that has not
finished is never forgotten. :meth:`JobStore.view` reads them without copying them all: the admin
API and the dashboard show a page of 10,000 jobs at the cost of the page.

A finished job taken back from a state file may be kept as a :class:`StoredJob`, its record
unread, and made a :class:`~.job.Job` (by :attr:`JobStore.thaw`) when it is first read: a restart
with 10,000 finished jobs reads the few that history shows, not all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from .bounded import Meter
from .job import Job

__all__ = ["JobStore", "JobsView", "StoredJob"]


@dataclass(frozen=True, slots=True)
class StoredJob:
    """A finished job as a state file keeps it, not read yet: when it ended, the bytes it takes
    (its request's and its log's, counted as the job would count them) and its record, which
    :attr:`JobStore.thaw` makes the job of."""

    processing_id: str
    ended_at: int
    bytes: int
    record: str


class JobsView(Sequence[Job]):
    """The kept jobs, oldest first, costing only what is read: ``len`` is O(1), a slice of n jobs
    O(n) in Python (the jobs before it are skipped in C, from the nearer end). A live view: read it
    at once, before the engine moves on."""

    __slots__ = ("_jobs", "_store")

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._jobs = store._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return map(self._store.awake, self._jobs.values())

    def __reversed__(self) -> Iterator[Job]:
        return map(self._store.awake, reversed(self._jobs.values()))

    @overload
    def __getitem__(self, index: int) -> Job: ...

    @overload
    def __getitem__(self, index: slice) -> list[Job]: ...

    def __getitem__(self, index: int | slice) -> Job | list[Job]:
        size = len(self._jobs)
        if isinstance(index, slice):
            start, stop, step = index.indices(size)
            if step != 1:  # no caller pages with a step: read them all
                return list(self)[index]
            return self._between(start, stop)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(f"job index {index} out of range ({size} jobs)")
        return self._between(position, position + 1)[0]

    def _between(self, start: int, stop: int) -> list[Job]:
        size = len(self._jobs)
        if stop <= start:
            return []
        awake, jobs = self._store.awake, self._jobs.values()  # only the jobs of the slice are woken
        if start < size - stop:
            return list(map(awake, itertools.islice(jobs, start, stop)))
        newest_first = list(map(awake, itertools.islice(reversed(jobs), size - stop, size - start)))
        newest_first.reverse()
        return newest_first


class JobStore:
    """The kept jobs by id, in the order they were started, and the order the finished ones ended in."""

    __slots__ = ("_finished", "_jobs", "meter", "thaw")

    def __init__(self) -> None:
        self._jobs: dict[str, Job | StoredJob] = {}
        self._finished: dict[str, None] = {}  # ENDED jobs' ids, in the order they ended
        self.meter = Meter()
        """The bytes the kept jobs take: their requests and logs."""
        self.thaw: Callable[[StoredJob], Job] | None = None
        """Makes a stored job's record the job, its log counted on :attr:`meter` (set with the
        first :class:`StoredJob` kept)."""

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, processing_id: object) -> bool:
        return processing_id in self._jobs

    def get(self, processing_id: str) -> Job | None:
        job = self._jobs.get(processing_id)
        return self.awake(job) if isinstance(job, StoredJob) else job

    def view(self) -> JobsView:
        return JobsView(self)

    def add(self, job: Job | StoredJob) -> None:
        """Keep a new job, and count its request's bytes (a stored job's: all of its bytes)."""
        self._jobs[job.processing_id] = job
        self.meter.bytes += job.bytes if isinstance(job, StoredJob) else job.request_bytes

    def awake(self, job: Job | StoredJob) -> Job:
        """``job``, made from its record first if it is stored (and kept so, in its place)."""
        if not isinstance(job, StoredJob):
            return job
        if self.thaw is None:
            raise RuntimeError("a StoredJob is kept without JobStore.thaw to read it")
        self.meter.bytes -= job.bytes  # the log counts its own bytes as it is made
        awake = self.thaw(job)
        self.meter.bytes += awake.request_bytes
        self._jobs[job.processing_id] = awake  # a key that is there: the order stays
        return awake

    def ended(self, job: Job | StoredJob) -> None:
        """``job`` has finished: it may be forgotten, after those that finished before it."""
        self._finished[job.processing_id] = None

    def reopened(self, job: Job) -> None:
        """The finished ``job`` is resumed: it is never forgotten to make room for itself."""
        del self._finished[job.processing_id]

    def forget_old(self, max_jobs: int, max_bytes: int) -> list[str]:
        """Past ``max_jobs`` jobs or ``max_bytes`` bytes, forget the jobs that finished first;
        answer their ids."""
        forgotten: list[str] = []
        while self._finished and (len(self._jobs) > max_jobs or self.meter.bytes > max_bytes):
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            job = self._jobs.pop(oldest)
            self.meter.bytes -= job.bytes if isinstance(job, StoredJob) else job.request_bytes + job.log.bytes
            forgotten.append(oldest)
        return forgotten
