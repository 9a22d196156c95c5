"""The companion API's status jobs (§3.40): the post-processing status of the assets under some
paths, derived from the bulk jobs on the clock, never copied from them.

A status job keeps only its request (``paths``, ``excludedPaths``). Each read of it walks the
repository for the assets those paths name and asks the bulk engine's kept jobs, newest first,
what became of each::

    a bulk job processed it (before its checkpoint)          -> SUCCESS
    a running (IN_PROGRESS) job selected it, not yet reached  -> PROCESSING
    a job failed on it, and nothing processed it since        -> FAILURE
    no job reached it (or only waiting or cancelled ones)     -> PENDING
    the path names nothing in the repository                 -> PENDING, ``exists: false``

Everything is bounded: at most :data:`MAX_PATHS` paths a request, :data:`MAX_STATUS_JOBS` status
jobs kept (the oldest forgotten first) and :data:`MAX_ASSETS` assets an answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import UnknownStatusJob
from .job import Job, Status
from .jobs import JobEngine
from .repository import AssetBlock, AssetFilter, normalize_path

__all__ = [
    "MAX_ASSETS",
    "MAX_PATHS",
    "MAX_STATUS_JOBS",
    "AssetReport",
    "AssetStatus",
    "StatusJob",
    "StatusJobs",
    "asset_uuid",
]

#: The most paths (and excluded paths) one request names; the request schema says the same.
MAX_PATHS = 1000
#: The most status jobs kept; past it the oldest is forgotten (its jobId then answers unknown).
MAX_STATUS_JOBS = 1000
#: The most assets one answer lists, in the order the paths name them.
MAX_ASSETS = 10_000
#: The status of the job itself: WAITING when started, SUCCESS when read (the page's two examples).
STARTED, DONE = "WAITING", "SUCCESS"

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:aem-guides-mock:asset")


class AssetStatus(StrEnum):
    """An asset's post-processing status, as the page lists them."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    PROCESSING = "PROCESSING"
    PENDING = "PENDING"


def asset_uuid(path: str) -> str:
    """The asset's ``uuid``: the same for the same path, in every run (the page's ``GUID-…`` form)."""
    return f"GUID-{uuid.uuid5(_UUID_NAMESPACE, path)}"


@dataclass(frozen=True, slots=True)
class StatusJob:
    """What a status request asked for: its paths and excluded paths, as sent."""

    job_id: str
    paths: tuple[str, ...]
    excluded_paths: tuple[str, ...]
    created_by: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AssetReport:
    """One item of ``assets``."""

    path: str
    uuid: str
    status: AssetStatus
    exists: bool

    def payload(self) -> dict[str, object]:
        return {"path": self.path, "uuid": self.uuid, "status": str(self.status), "exists": self.exists}


def _new_uuid() -> str:
    return str(uuid.uuid4())


class StatusJobs:
    """The status jobs of one engine: started, kept within :data:`MAX_STATUS_JOBS`, and read."""

    def __init__(self, engine: JobEngine, new_id: Callable[[], str] = _new_uuid) -> None:
        self.engine = engine
        self._new_id = new_id
        self._jobs: dict[str, StatusJob] = {}
        self.started = 0
        """How many status jobs were ever started (kept or not; a reset keeps counting): the
        ``started``-th is numbered so in a state file (:meth:`newest`, :meth:`restore`)."""

    def __len__(self) -> int:
        return len(self._jobs)

    def reset(self) -> None:
        self._jobs.clear()

    def start(self, paths: Sequence[str], excluded_paths: Sequence[str], user: str) -> StatusJob:
        """A new status job (``paths`` already checked by the request schema)."""
        job_id = self._new_id()
        while job_id in self._jobs:
            job_id = self._new_id()
        job = StatusJob(job_id, tuple(paths), tuple(excluded_paths), user, self.engine.clock.now_ms())
        self._jobs[job_id] = job
        self.started += 1
        while len(self._jobs) > MAX_STATUS_JOBS:
            del self._jobs[next(iter(self._jobs))]
        return job

    def get(self, job_id: str) -> StatusJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownStatusJob(job_id)
        return job

    def newest(self, count: int) -> list[tuple[int, StatusJob]]:
        """The newest ``count`` status jobs kept, oldest first, each with its number (the first ever
        started is 1)."""
        taken = self.recent(count)
        taken.reverse()
        return [(self.started - len(taken) + 1 + i, job) for i, job in enumerate(taken)]

    def restore(self, numbered: Sequence[tuple[int, StatusJob]]) -> None:
        """Take back the status jobs :meth:`newest` gave (oldest first); the count goes on from the last."""
        self._jobs = {job.job_id: job for _, job in numbered}
        self.started = numbered[-1][0] if numbered else 0

    def recent(self, most: int) -> list[StatusJob]:
        """The last ``most`` status jobs, newest first."""
        return [job for _, job in zip(range(most), reversed(self._jobs.values()), strict=False)]

    def assets(self, job: StatusJob) -> list[AssetReport]:
        """The assets ``job`` names and their status now (the engine brought up to the clock)."""
        named = list(self._named(job))
        blocks = {id(block) for block, _ in named if block is not None}
        covering = self._covering(blocks)
        reports: list[AssetReport] = []
        for block, item in named:
            if block is None:  # a path that names nothing
                reports.append(AssetReport(str(item), "", AssetStatus.PENDING, False))
                continue
            assert isinstance(item, int)
            path = block.asset(item).path
            status = _status_of(item, covering.get(id(block), ()))
            reports.append(AssetReport(path, asset_uuid(path), status, True))
        return reports

    def _named(self, job: StatusJob) -> Iterator[tuple[AssetBlock | None, int | str]]:
        """``(block, index)`` of each asset the paths name, once each, in their order, at most
        :data:`MAX_ASSETS`; ``(None, path)`` for a path that names nothing."""
        repository, ignored = self.engine.repository, self.engine.settings.ignored_paths
        seen: set[tuple[int, int]] = set()
        count = 0
        for path in job.paths:
            if not repository.exists(path):
                yield None, path
                count += 1
            else:
                selection = repository.select(
                    normalize_path(path), job.excluded_paths, AssetFilter(), ignored
                )
                for block, lo, hi, _ in selection.parts():
                    for i in range(lo, hi):
                        if count >= MAX_ASSETS:
                            return
                        if (id(block), i) not in seen:
                            seen.add((id(block), i))
                            count += 1
                            yield block, i
            if count >= MAX_ASSETS:
                return

    def _covering(self, blocks: set[int]) -> dict[int, list[tuple[Job, int, int, int]]]:
        """For each of ``blocks``: the kept jobs' slices of it ``(job, lo, hi, first)``, newest job first."""
        covering: dict[int, list[tuple[Job, int, int, int]]] = {}
        for bulk in reversed(self.engine.view()):  # view() brings every job up to the clock
            for block, lo, hi, first in bulk.selection.parts():
                if id(block) in blocks:
                    covering.setdefault(id(block), []).append((bulk, lo, hi, first))
        return covering


def _status_of(index: int, slices: Sequence[tuple[Job, int, int, int]]) -> AssetStatus:
    """What the newest job that decides it says of block asset ``index``; PENDING if none does."""
    for bulk, lo, hi, first in slices:
        if lo <= index < hi:
            decided = _decided_by(bulk, first + index - lo)
            if decided is not None:
                return decided
    return AssetStatus.PENDING


def _decided_by(bulk: Job, k: int) -> AssetStatus | None:
    """What ``bulk`` says of its ``k``-th asset, or None when it says nothing (it has not reached
    it, and is not running: waiting, cancelled, or failed before it)."""
    if k < bulk.triggered_count:
        return AssetStatus.SUCCESS
    if bulk.status is Status.IN_PROGRESS:
        return AssetStatus.PROCESSING
    if k == bulk.triggered_count and bulk.processing_failure_spent:
        return AssetStatus.FAILURE  # it failed on this asset, and has not run past it since
    return None
