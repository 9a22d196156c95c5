"""The reference model of the stateful test: what the mock should answer, predicted from the
commands sent and the manual clock alone, never read back from the server.

An event-by-event simulation of §3.1, §3.2, §3.12, §3.14, §3.15 and §3.28 (docs/contract.md),
written without the engine: a FIFO queue, N runners, counting 100 ms, then 200 ms per asset, the
test scenario's scripted failure at demo1's 3rd asset (once), cancel, resume from the checkpoint.
What the model knows comes from the contract and the default DAM, not from the engine.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.support.constants import FLAGS

#: Where a manual clock starts after a reset, unless told otherwise: 2026-01-01T00:00:00Z
#: (mock_server/core/clock.py).
START_MS = 1_767_225_600_000
#: §3.28's default pace.
COUNTING_MS, PER_ASSET_MS = 100, 200
#: §3.4: the last 20 jobs.
HISTORY_SIZE = 20
#: How many assets a job over each path processes, counted by hand in mock_server/core/default_dam.py
#: (Content Fragments left out): 22858 holds the 6 of the history example; dita-templates has 4
#: topics, 2 maps and a ditaval; demo 3 explicit assets, 12 topics and 3 images; demo1 a map,
#: 8 topics and 2 notes.
TOTAL_FILES = {
    "/content/dam/22858": 6,
    "/content/dam/demo1": 11,
    "/content/dam/dita-templates": 7,
    "/content/dam/demo": 18,
}
PATHS = list(TOTAL_FILES)
#: The scenario above: demo1's 3rd asset (demo1.ditamap, topic-1, topic-2 in walk order) fails, once.
FAILING_PATH, FAILING_ASSET, FAILING_INDEX = "/content/dam/demo1", "/content/dam/demo1/topic-2.dita", 3
FAILURE_COMMENT = f"broken: {FAILING_ASSET}"
USER = "admin"
ACTIVE = ("WAITING", "IN_PROGRESS")
STOPPED = ("FAILED", "CANCELLED")
UNKNOWN = "unknown-id"


def stamp(ms: int) -> str:
    """A log line's time, as §1's log line format writes it (UTC, a colon before the ms)."""
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}:{ms % 1000:03d}"


@dataclass(frozen=True)
class Line:
    """One predicted log line; an asset line is predicted up to its asset's number."""

    at_ms: int
    text: str
    level: str = "INFO"
    whole: bool = True

    def matches(self, got: str) -> bool:
        expected = f"{stamp(self.at_ms)}: {self.level}: [ASSET_PROCESSING] {self.text}"
        return got == expected if self.whole else got.startswith(expected)

    def __str__(self) -> str:
        return f"{stamp(self.at_ms)}: {self.level}: {self.text}" + ("" if self.whole else "…")


@dataclass
class ModelJob:
    """What the model knows of one job."""

    processing_id: str
    path: str
    number: int
    """1 for the first job started in this run of the machine."""
    status: str = "WAITING"
    calculation: str = "WAITING"
    total_files: int = 0
    triggered: int = 0
    started_at: int | None = None
    completed_at: int | None = None
    comments: str = ""
    counted: bool = False
    """Counting succeeded: a resume goes on without counting again (§3.2)."""
    failure_ahead: bool = False
    """demo1's scripted failure has not happened yet."""
    has_run: bool = False
    """It has left the queue once: the "job started" line is written then, and only then."""
    counting_until: int | None = None
    """While counting: when the count ends."""
    run_start: int = 0
    run_first: int = 0
    """The stretch of processing since the job last left the queue (or its count ended)."""
    log: list[Line] = field(default_factory=list)

    def next_event(self) -> int:
        """When this running job next changes: its count ends, or its next asset is done."""
        if self.counting_until is not None:
            return self.counting_until
        return self.run_start + (self.triggered - self.run_first + 1) * PER_ASSET_MS

    def processed(self) -> str:
        return f"[processed={self.triggered}/{self.total_files}]"


class Reference:
    """The reference model: a FIFO queue, ``runners`` runners and a clock moved event by event,
    from ``start_ms``."""

    def __init__(self, runners: int, start_ms: int = START_MS) -> None:
        self.now = start_ms
        self.idle = runners
        self.queue: deque[ModelJob] = deque()
        self.running: list[ModelJob] = []
        self.jobs: dict[str, ModelJob] = {}  # in the order they were started

    def some(self, statuses: tuple[str, ...]) -> list[str]:
        """The ids of the jobs in one of ``statuses``, oldest first."""
        return [job.processing_id for job in self.jobs.values() if job.status in statuses]

    def busy(self, path: str, but: ModelJob | None = None) -> bool:
        """§3.12: a job for ``path`` (other than ``but``) is WAITING or IN_PROGRESS."""
        return any(job.path == path and job.status in ACTIVE and job is not but for job in self.jobs.values())

    # --- the clock
    def next_event(self) -> int | None:
        return min((job.next_event() for job in self.running), default=None)

    def end_of(self, job: ModelJob) -> int:
        """When a running job will end if nothing else happens (only to choose clock moves)."""
        last = FAILING_INDEX - 1 if job.failure_ahead else TOTAL_FILES[job.path]
        if job.counting_until is not None:
            return job.counting_until + (last - job.triggered) * PER_ASSET_MS
        return job.run_start + (last - job.run_first) * PER_ASSET_MS

    def advance(self, ms: int) -> None:
        """Move the clock by ``ms``, through every event on the way, in time order."""
        until = self.now + ms
        while (at := self.next_event()) is not None and at <= until:
            self.now = at
            for job in [job for job in self.running if job.next_event() == at]:
                self._event(job)
            self._dispatch()  # a runner freed at `at` takes the next job at `at`
        self.now = until

    def _dispatch(self) -> None:
        while self.idle and self.queue:
            self._leave_queue(self.queue.popleft())

    def _leave_queue(self, job: ModelJob) -> None:
        self.idle -= 1
        self.running.append(job)
        job.status, job.started_at = "IN_PROGRESS", self.now
        if not job.has_run:
            job.has_run = True
            job.log.append(
                Line(
                    self.now,
                    f"Bulk processing job started [processingId={job.processing_id}, path={job.path}, "
                    f"excludedPaths=[], user={USER}]",
                )
            )
        if job.counted:
            job.calculation = "SUCCESS"
            self._open_run(job)
        else:
            job.calculation = "IN_PROGRESS"
            job.counting_until = self.now + COUNTING_MS
            job.log.append(Line(self.now, f"Calculating assets to process under {job.path}"))

    def _event(self, job: ModelJob) -> None:
        if job.counting_until is not None:
            job.counting_until = None
            job.counted, job.calculation, job.total_files = True, "SUCCESS", TOTAL_FILES[job.path]
            job.log.append(Line(self.now, f"Counting completed [totalFiles={job.total_files}]"))
            self._open_run(job)
            return
        job.triggered += 1
        job.log.append(Line(self.now, f"Processing asset [{job.triggered}/{job.total_files}] ", whole=False))
        self._maybe_end(job)

    def _open_run(self, job: ModelJob) -> None:
        job.run_start, job.run_first = self.now, job.triggered
        self._maybe_end(job)

    def _maybe_end(self, job: ModelJob) -> None:
        """End the job once its last asset is done; fail it as soon as the failing asset is next
        (the scripted failure takes no time: the assets before it are done, §3.23's comment names it)."""
        if job.failure_ahead and job.triggered == FAILING_INDEX - 1:
            job.failure_ahead = False
            job.log.append(Line(self.now, f"Bulk processing job failed: {FAILURE_COMMENT}", "ERROR"))
            self._end(job, "FAILED", FAILURE_COMMENT)
        elif job.triggered == job.total_files:
            self._end(job, "SUCCESS", "")

    def _end(self, job: ModelJob, status: str, comment: str) -> None:
        job.log.append(Line(self.now, f"Bulk processing job completed [status={status}]. Exiting..."))
        self.running.remove(job)
        self.idle += 1
        job.status, job.completed_at, job.comments = status, self.now, comment

    # --- the commands (the caller has checked that the mock must accept them)
    def start(self, processing_id: str, path: str) -> ModelJob:
        job = ModelJob(processing_id, path, len(self.jobs) + 1, failure_ahead=path == FAILING_PATH)
        self.jobs[processing_id] = job
        self.queue.append(job)
        self._dispatch()
        return job

    def cancel(self, job: ModelJob) -> None:
        if job in self.running:
            self.running.remove(job)
            self.idle += 1
        else:
            self.queue.remove(job)
        if job.counting_until is not None:
            job.counting_until, job.calculation = None, "CANCELLED"
        job.log.append(Line(self.now, f"Bulk processing job cancelled by {USER} {job.processed()}"))
        job.log.append(Line(self.now, f"Checkpoint saved {job.processed()}"))
        job.status, job.completed_at = "CANCELLED", self.now
        self._dispatch()

    def resume(self, job: ModelJob) -> None:
        # §3.2: back in the queue, a job shows no start and no count in progress.
        job.status = job.calculation = "WAITING"
        job.started_at = job.completed_at = None
        job.comments = ""
        job.log.append(Line(self.now, f"Bulk processing job resumed from checkpoint {job.processed()}"))
        self.queue.append(job)
        self._dispatch()

    # --- the job object of section 2, as the mock must answer it now
    def payload(self, job: ModelJob) -> dict[str, Any]:
        eta = 0
        if job.status == "IN_PROGRESS" and job.counting_until is None:  # §3.3: until the last asset
            left = job.run_start + (job.total_files - job.run_first) * PER_ASSET_MS - self.now
            eta = -(-left // 1000)
        cancellable, resumable, restartable = FLAGS[job.status]
        return {
            "processingId": job.processing_id,
            "path": job.path,
            "excludedPaths": [],
            "status": job.status,
            "triggeredCount": job.triggered,
            "startedAt": 0 if job.started_at is None else job.started_at,  # unset is 0 (§3.21)
            "completedAt": 0 if job.completed_at is None else job.completed_at,
            "hasLogs": bool(job.log),
            "createdBy": USER,
            "type": "ASSET_PROCESSING",
            "migrationSet": {"totalFiles": job.total_files, "calculationStatus": job.calculation},
            "eta": {"value": eta, "unit": "SECONDS"},
            "comments": job.comments,
            "filter": {"fileTypes": [], "filterProcessedAssets": False},
            "restartable": restartable,
            "resumable": resumable,
            "cancellable": cancellable,
        }


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return flat
