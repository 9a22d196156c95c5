"""The job engine: a job's whole lifecycle as a pure function of its events and the clock.

No thread, no timer, no aiohttp. Every public call first brings the engine up to the clock's time
(:meth:`JobEngine.sync`), replaying what happened since, at the simulated instants it happened:
a job that ended 3 s ago ended 3 s ago, and the next queued job started then. Each call runs to the
end without yielding, so no request can observe a half-made transition, whatever the interleaving.

Lifecycle (the status tokens are the internal ones; :class:`~.settings.Settings` renames them)::

    WAITING (queued; startedAt unset, calculationStatus WAITING)
        -> IN_PROGRESS (counting: calculationStatus IN_PROGRESS; then triggeredCount grows)
        -> SUCCESS
    counting or an asset fails -> FAILED
    cancel (WAITING, IN_PROGRESS) -> CANCELLED
    resume (FAILED, CANCELLED) -> WAITING -> continues from the checkpoint (no second count)

Every command costs O(1) in the number of jobs: the queue, the busy paths and the finished jobs are
each kept in their own index.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from .bounded import Meter
from .clock import Clock
from .errors import InvalidTransition, JobConflict, JobError, QueueFull, UnknownJob
from .joblog import JobLog
from .repository import AssetFilter, Repository, Selection, normalize_path
from .settings import Settings

__all__ = ["Job", "JobEngine", "Lifecycle", "StartRequest"]

WAITING, IN_PROGRESS, SUCCESS, FAILED, CANCELLED = (
    "WAITING",
    "IN_PROGRESS",
    "SUCCESS",
    "FAILED",
    "CANCELLED",
)
FINISHED = frozenset({SUCCESS, FAILED, CANCELLED})
#: ``createdBy`` of the system job (§3.29), as the Guides UI shows it.
SYSTEM_USER = "System"
#: The most system jobs one sync creates when the clock jumped far ahead (the latest ones).
MAX_SYSTEM_CATCH_UP = 1000


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """How one job runs: its pace and the failures scripted for it (none by default)."""

    counting_ms: int
    per_asset_ms: int
    counting_failure: str | None = None
    """When set, counting fails with this comment."""
    fail_at_asset: int | None = None
    """When set, processing fails on this asset (1-based): assets before it are done."""
    failure_comment: str = "Processing failed"
    wait_ms: int = 0
    """The job stays WAITING at least this long after it was queued, even when the runner is free."""
    wait_polls: int = 0
    """The job stays WAITING until it has been polled this many times."""

    def scaled(self, speed: float) -> Lifecycle:
        """The same lifecycle at ``speed`` (§3.28): every duration divided by it."""
        if speed == 1:
            return self
        return replace(
            self,
            counting_ms=round(self.counting_ms / speed),
            per_asset_ms=max(1, round(self.per_asset_ms / speed)),
            wait_ms=round(self.wait_ms / speed),
        )


class JobScript(Protocol):
    """What a scenario's job script offers the engine (see :mod:`mock_server.scenarios`)."""

    def matches(self, path: str, nth: int) -> bool:
        """True when this script runs the ``nth`` start request (1-based), for ``path``."""
        ...

    def lifecycle(self, default: Lifecycle) -> Lifecycle:
        """The lifecycle of a job this script runs, from the default one (both at speed 1)."""
        ...


@dataclass(frozen=True, slots=True)
class StartRequest:
    """A start request after validation: ``path`` normalized, ``excluded_paths`` as sent."""

    path: str
    type: str = "ASSET_PROCESSING"
    excluded_paths: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    start_time: int | None = None
    end_time: int | None = None
    filter_processed_assets: bool = False
    """Only lenient mode lets it in (§3.11); it is echoed, it changes nothing."""

    @property
    def asset_filter(self) -> AssetFilter:
        return AssetFilter(frozenset(self.file_types), self.start_time, self.end_time)


@dataclass(slots=True, eq=False, weakref_slot=True)
class Job:
    """One job. Read it through :class:`JobEngine`, which keeps it up to the clock.

    Unset times are None here; the payload writes them as the wire's 0 (§3.21).
    """

    processing_id: str
    request: StartRequest
    created_by: str
    created_at: int
    selection: Selection
    lifecycle: Lifecycle
    log: JobLog
    status: str = WAITING
    calculation_status: str = WAITING
    total_files: int = 0
    triggered_count: int = 0
    started_at: int | None = None
    """When the job last left the queue; None while it waits (§3.2)."""
    completed_at: int | None = None
    comments: str = ""
    queued_at: int = 0
    ticket: int = 0
    """Which queue entry is this job's: older entries (before a cancel and resume) are stale."""
    request_bytes: int = 0
    """About how much memory its request takes, kept twice (the job and its serialized answer)."""
    as_of: int = 0
    """The engine's time when it last moved this job."""
    script: int | None = None
    """The index of the scenario job script that runs this job, if one does."""
    polls: int = 0
    released_at: int = 0
    """When the job's scripted wait ended (its ``wait_polls``-th poll)."""
    activations: int = 0
    """How often the job has left the queue."""
    counted: bool = False
    """Counting succeeded once: a resumed job does not count again."""
    # The running stretch: counting ends at ``phase_end``; processing started at ``run_start``
    # from asset ``run_first``.
    counting: bool = False
    phase_end: int = 0
    run_start: int = 0
    run_first: int = 0
    counting_failure_spent: bool = False
    processing_failure_spent: bool = False
    hold_spent: bool = False
    """A scripted wait, like a scripted failure, happens once: not again after a cancel and resume."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def cancellable(self) -> bool:
        return self.status in (WAITING, IN_PROGRESS)

    @property
    def resumable(self) -> bool:
        return self.status in (FAILED, CANCELLED)

    @property
    def restartable(self) -> bool:
        return self.status == SUCCESS

    def remaining_ms(self) -> int:
        """What is left of the job as of the engine's last look: the assets to go, less the time
        already spent on the current one (0 while counting: the total is not known yet)."""
        if self.status != IN_PROGRESS or self.counting:
            return 0
        pace = self.lifecycle.per_asset_ms
        spent = (self.as_of - self.run_start) - (self.triggered_count - self.run_first) * pace
        return max(0, (self.total_files - self.triggered_count) * pace - max(0, spent))


def _request_bytes(request: StartRequest) -> int:
    texts = (request.path, *request.excluded_paths, *request.file_types)
    return 2 * (400 + sum(60 + len(text) for text in texts))


def _new_uuid() -> str:
    return str(uuid.uuid4())


class JobEngine:
    """All jobs, the FIFO queue and its runners: one by default (§3.12), ``concurrency`` in all."""

    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        clock: Clock,
        new_id: Callable[[], str] = _new_uuid,
        scripts: Sequence[JobScript] = (),
    ) -> None:
        self.repository = repository
        self.settings = settings
        self.clock = clock
        self.scripts = tuple(scripts)
        self._new_id = new_id
        self.reset()

    def set_id_generator(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id

    def find(self, processing_id: str) -> Job | None:
        """The job, if there is one, without bringing it up to the clock."""
        return self._jobs.get(processing_id)

    def reset(self) -> None:
        """Forget every job."""
        self._jobs: dict[str, Job] = {}
        self._queue: deque[tuple[int, Job]] = deque()  # (ticket, job); stale tickets are skipped
        self._stale = 0
        self._running: list[Job] = []
        self._active: dict[str, Job] = {}  # WAITING or IN_PROGRESS, by path (§3.12)
        self._finished: dict[str, None] = {}  # finished jobs' ids, in the order they finished
        self._meter = Meter()  # the bytes the kept jobs take: requests and logs
        self._free: list[int] = [0] * self.settings.concurrency  # since when each idle runner is free
        self._last_start = 0  # FIFO: no job starts before the one queued ahead of it
        self._now = 0
        self._starts = 0
        every = self._system_interval()
        self._system_due = self.clock.now_ms() + every if self.settings.system_job else None

    # --- queries
    def get(self, processing_id: str) -> Job:
        self.sync()
        job = self._jobs.get(processing_id)
        if job is None:
            raise UnknownJob(processing_id)
        return job

    def poll(self, processing_id: str) -> Job:
        """:meth:`get` for a status poll: it counts towards a scripted ``wait_polls``."""
        job = self.get(processing_id)
        job.polls += 1
        if job.polls == job.lifecycle.wait_polls:
            job.released_at = self._now
            self.sync()
        return job

    def history(self) -> list[Job]:
        """The last ``history_size`` jobs, newest first (§3.4)."""
        self.sync()
        newest = reversed(self._jobs.values())
        return [job for _, job in zip(range(self.settings.history_size), newest, strict=False)]

    def jobs(self) -> list[Job]:
        """Every job kept, oldest first."""
        self.sync()
        return list(self._jobs.values())

    def active_count(self) -> int:
        """How many jobs are WAITING or IN_PROGRESS."""
        return len(self._active)

    # --- commands
    def start(self, request: StartRequest, user: str, lifecycle: Lifecycle | None = None) -> Job:
        """Queue a job for ``request.path`` (normalized); it runs when the jobs before it ended."""
        now = self.sync()
        try:
            path = normalize_path(request.path)
        except ValueError as error:
            raise JobError(f"path {request.path!r}: {error}") from None
        if path != request.path:
            request = replace(request, path=path)
        if not self.repository.exists(request.path):
            raise JobError(
                f"path {request.path!r} does not exist in the repository; "
                "give the absolute path of a folder or asset, such as '/content/dam/22858'"
            )
        start, end = request.start_time, request.end_time
        if start is not None and end is not None and start > end:
            raise JobError(
                f"filter.startTime ({start}) is after filter.endTime ({end}); give startTime <= endTime"
            )
        self._refuse_if_busy(request.path, "wait for it or cancel it first")
        self._refuse_if_full()
        self._starts += 1
        script = next((i for i, s in enumerate(self.scripts) if s.matches(request.path, self._starts)), None)
        if lifecycle is None:
            lifecycle = self._default_lifecycle()
            if script is not None:
                lifecycle = self.scripts[script].lifecycle(lifecycle)
            lifecycle = lifecycle.scaled(self.settings.speed)
        job = self._enqueue(request, user, lifecycle, script, now)
        self.sync()
        return job

    def _enqueue(
        self, request: StartRequest, user: str, lifecycle: Lifecycle, script: int | None, at: int
    ) -> Job:
        processing_id = self._new_id()
        while processing_id in self._jobs:
            processing_id = self._new_id()
        selection = self.repository.select(
            request.path, request.excluded_paths, request.asset_filter, self.settings.ignored_paths
        )
        job = Job(
            processing_id=processing_id,
            request=request,
            created_by=user,
            created_at=at,
            selection=selection,
            lifecycle=lifecycle,
            log=JobLog(selection, meter=self._meter),
            script=script,
            request_bytes=_request_bytes(request),
        )
        self._meter.bytes += job.request_bytes
        self._jobs[processing_id] = job
        self._queue_up(job, at)
        self._forget_old_jobs()
        return job

    def _queue_up(self, job: Job, at: int) -> None:
        job.status = WAITING
        job.queued_at = at
        job.ticket += 1
        self._queue.append((job.ticket, job))
        self._active[job.request.path] = job

    def cancel(self, processing_id: str) -> Job:
        job = self.get(processing_id)
        if job.finished:
            raise InvalidTransition(
                f"job {processing_id!r} is {job.status} and cannot be cancelled; "
                "only WAITING or IN_PROGRESS jobs can"
            )
        now = self._now
        if job in self._running:
            self._running.remove(job)  # at most `concurrency` (64) long
            self._free.append(now)
        else:
            self._stale += 1  # its queue entry: skipped when it comes up
        job.hold_spent = True
        if job.counting:
            job.counting = False
            job.calculation_status = CANCELLED
        done = f"{job.triggered_count}/{job.total_files}"
        job.log.write(now, f"Bulk processing job cancelled by {job.created_by} [processed={done}]")
        job.log.write(now, f"Checkpoint saved [processed={done}]")
        self._finish(job, now, CANCELLED, job.comments)
        self._compact_queue()
        self.sync()
        return job

    def resume(self, processing_id: str) -> Job:
        job = self.get(processing_id)
        if not job.resumable:
            raise InvalidTransition(
                f"job {processing_id!r} is {job.status} and cannot be resumed; "
                "only FAILED or CANCELLED jobs can"
            )
        self._refuse_if_busy(job.request.path, "wait for it or cancel it, then resume this one")
        del self._finished[job.processing_id]  # ours again: never forgotten to make room for itself
        try:
            self._refuse_if_full()
        except QueueFull:
            self._finished[job.processing_id] = None
            raise
        now = self._now
        job.started_at = None  # a WAITING job shows no start and no count in progress (§3.2)
        job.completed_at = None
        job.comments = ""
        job.calculation_status = WAITING
        job.log.write(
            now,
            f"Bulk processing job resumed from checkpoint "
            f"[processed={job.triggered_count}/{job.total_files}]",
        )
        self._queue_up(job, now)
        self.sync()
        return job

    def restart(self, processing_id: str, user: str) -> Job:
        """A new job for the request of a SUCCESS job (the optional endpoint of §3.16)."""
        job = self.get(processing_id)
        if not job.restartable:
            raise InvalidTransition(
                f"job {processing_id!r} is {job.status} and cannot be restarted; only SUCCESS jobs "
                "can (resume a FAILED or CANCELLED one)"
            )
        return self.start(job.request, user)

    def _default_lifecycle(self) -> Lifecycle:
        """The settings' pace at speed 1 (scripts change it, then the speed scales it)."""
        return Lifecycle(self.settings.counting_ms, self.settings.per_asset_ms)

    def default_lifecycle(self) -> Lifecycle:
        """The settings' pace at the settings' speed."""
        return self._default_lifecycle().scaled(self.settings.speed)

    def _system_interval(self) -> int:
        return max(1, self.settings.scaled(self.settings.system_job_interval_ms))

    # --- the simulation
    def sync(self) -> int:
        """Bring every job up to the clock's time; return that time."""
        now = max(self._now, self.clock.now_ms())  # a system clock may step back: never follow
        due = self._system_due
        if due is not None and due <= now:
            every = self._system_interval()
            overdue = (now - due) // every + 1
            if overdue > MAX_SYSTEM_CATCH_UP:  # a clock moved by a year: the latest runs only
                self._system_due = due + (overdue - MAX_SYSTEM_CATCH_UP) * every
        while self._system_due is not None and self._system_due <= now:
            self._system_job(self._run_until(self._system_due))
        return self._run_until(now)

    def _system_job(self, at: int) -> None:
        """§3.29's switch: the system job for its path, unless a job for that path is still going
        (or the queue is full)."""
        self._system_due = at + self._system_interval()  # first: a run that fails is not retried forever
        path = self.settings.system_job_path
        if (
            path not in self._active
            and len(self._active) < self._max_active()
            and self.repository.exists(path)
        ):
            self._enqueue(StartRequest(path), SYSTEM_USER, self.default_lifecycle(), None, at)

    def _run_until(self, now: int) -> int:
        self._now = now
        while True:
            for job in list(self._running):  # each runs on its own: its end frees its runner
                self._step(job, now)
            head = self._queue_head()
            if head is None or not self._free:
                return now
            at = self._activation_time(head)
            if at is None or at > now:
                return now  # the head of the queue is held: the queue waits behind it (FIFO)
            self._queue.popleft()
            self._free.remove(min(self._free))
            self._last_start = at
            self._activate(head, at)

    def _queue_head(self) -> Job | None:
        """The first job still waiting in the queue; stale entries in front are dropped."""
        while self._queue:
            ticket, job = self._queue[0]
            if ticket == job.ticket and job.status == WAITING:
                return job
            self._queue.popleft()
            self._stale -= 1
        return None

    def _compact_queue(self) -> None:
        """Drop stale entries once they are most of the queue: memory stays O(waiting jobs)."""
        if self._stale > 64 and self._stale * 2 > len(self._queue):
            self._queue = deque((t, j) for t, j in self._queue if t == j.ticket and j.status == WAITING)
            self._stale = 0

    def _step(self, job: Job, now: int) -> None:
        """Move one running job to ``now``, through counting, processing and its end."""
        if job.counting:
            if now < job.phase_end:
                return
            self._finish_counting(job)
            if job.finished:
                return
        self._advance(job, now)

    def _activation_time(self, job: Job) -> int | None:
        """When ``job`` may leave the queue, or None while it waits for polls."""
        at = max(min(self._free), job.queued_at, self._last_start)
        if job.activations or job.hold_spent:  # a resumed job is not held again
            return at
        if job.polls < job.lifecycle.wait_polls:
            return None
        return max(at, job.queued_at + job.lifecycle.wait_ms, job.released_at)

    def _activate(self, job: Job, at: int) -> None:
        self._running.append(job)
        job.activations += 1
        job.started_at = at
        job.status = IN_PROGRESS
        job.as_of = at
        if job.activations == 1:
            request = job.request
            job.log.write(
                at,
                f"Bulk processing job started [processingId={job.processing_id}, "
                f"path={request.path}, excludedPaths={list(request.excluded_paths)}, "
                f"user={job.created_by}]",
            )
        if job.counted:
            job.calculation_status = SUCCESS
            self._open_run(job, at)
        else:
            job.counting = True
            job.calculation_status = IN_PROGRESS
            job.phase_end = at + job.lifecycle.counting_ms
            job.log.write(at, f"Calculating assets to process under {job.request.path}")

    def _finish_counting(self, job: Job) -> None:
        at = job.phase_end
        total = len(job.selection)  # first: nothing below may fail half-way
        job.counting = False
        lifecycle = job.lifecycle
        if lifecycle.counting_failure is not None and not job.counting_failure_spent:
            job.counting_failure_spent = True
            job.calculation_status = FAILED
            self._end(job, at, FAILED, lifecycle.counting_failure)
            return
        job.calculation_status = SUCCESS
        job.counted = True
        job.total_files = total
        job.log.write(at, f"Counting completed [totalFiles={job.total_files}]")
        self._open_run(job, at)

    def _open_run(self, job: Job, at: int) -> None:
        job.run_start = at
        job.run_first = job.triggered_count
        job.log.open_run(at, job.run_first, job.lifecycle.per_asset_ms)

    def _stop_index(self, job: Job) -> int:
        """The index processing stops at: the end, or just before the asset that fails."""
        fail_at = job.lifecycle.fail_at_asset
        if fail_at is not None and not job.processing_failure_spent and fail_at <= job.total_files:
            return max(fail_at - 1, job.run_first)
        return job.total_files

    def _advance(self, job: Job, now: int) -> None:
        """Move the running job to ``now``, and end it when its last asset is done."""
        pace = job.lifecycle.per_asset_ms
        stop = self._stop_index(job)
        done = min(stop, job.run_first + (now - job.run_start) // pace)
        job.triggered_count = done
        job.as_of = now
        job.log.grow_run(done - job.run_first)
        end_at = job.run_start + (stop - job.run_first) * pace
        if done < stop or now < end_at:
            return
        if stop < job.total_files:
            job.processing_failure_spent = True
            asset = job.selection[stop]
            self._end(job, end_at, FAILED, f"{job.lifecycle.failure_comment}: {asset.path}")
        else:
            self._end(job, end_at, SUCCESS, "")

    def _end(self, job: Job, at: int, status: str, comment: str) -> None:
        """A running job ends on its own: its runner is free from ``at``."""
        if status == FAILED:
            job.log.write(at, f"Bulk processing job failed: {comment}", level="ERROR")
        job.log.write(at, f"Bulk processing job completed [status={status}]. Exiting...")
        self._running.remove(job)
        self._free.append(at)
        self._finish(job, at, status, comment)

    def _finish(self, job: Job, at: int, status: str, comment: str) -> None:
        job.status = status
        job.completed_at = at
        job.comments = comment
        job.as_of = at
        del self._active[job.request.path]
        self._finished[job.processing_id] = None

    def _refuse_if_busy(self, path: str, advice: str) -> None:
        """§3.12: no second job for a path while one is WAITING or IN_PROGRESS."""
        other = self._active.get(path)
        if other is not None:
            raise JobConflict(
                f"a job for {path!r} is already {other.status} "
                f"(processingId {other.processing_id!r}); {advice}"
            )

    def _max_active(self) -> int:
        return min(self.settings.max_active_jobs, self.settings.max_jobs)

    def _refuse_if_full(self) -> None:
        most = self._max_active()
        if len(self._active) >= most:
            raise QueueFull(
                f"{most} jobs are WAITING or IN_PROGRESS already (the setting max_active_jobs); "
                "wait for some to end or cancel some, then start again"
            )
        self._forget_old_jobs()
        if self._meter.bytes > self.settings.jobs_bytes:
            raise QueueFull(
                f"the jobs kept take about {self._meter.bytes} bytes, more than jobs_bytes "
                f"({self.settings.jobs_bytes}), and none has finished to make room; wait for some to "
                "end or cancel some, then try again"
            )

    def _forget_old_jobs(self) -> None:
        """Past ``max_jobs`` or ``jobs_bytes``, forget the jobs that finished first."""
        settings = self.settings
        while self._finished and (
            len(self._jobs) > settings.max_jobs or self._meter.bytes > settings.jobs_bytes
        ):
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            job = self._jobs.pop(oldest)
            self._meter.bytes -= job.request_bytes + job.log.bytes
