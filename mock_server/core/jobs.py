"""The job engine: a job's whole lifecycle as a pure function of its events and the clock.

No thread, no timer, no aiohttp. Every public call first brings the engine up to the clock's time
(:meth:`JobEngine.sync`), replaying what happened since, at the simulated instants it happened:
a job that ended 3 s ago ended 3 s ago, and the next queued job started then. Each call runs to the
end without yielding, so no request can observe a half-made transition, whatever the interleaving.

A job moves through the phases of :class:`~.job.Phase` (:mod:`.job` shows the status of each)::

    QUEUED -> COUNTING -> PROCESSING -> ENDED (SUCCESS)
    counting or an asset fails -> ENDED (FAILED)
    cancel (QUEUED, COUNTING, PROCESSING) -> ENDED (CANCELLED)
    resume (FAILED, CANCELLED) -> QUEUED -> PROCESSING from the checkpoint (COUNTING if no count yet)

Each phase is entered in one method, through :meth:`~JobEngine._enter` (the one place a phase is
set): :meth:`~JobEngine._queue_up`, :meth:`~JobEngine._begin_counting`,
:meth:`~JobEngine._begin_processing` and :meth:`~JobEngine._finish`.

Every command costs O(1) in the number of jobs: the queue, the busy paths and the finished jobs are
each kept in their own index (the jobs in :mod:`.jobstore`, which also reads them a page at a time).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .bounded import Meter
from .changes import Changes
from .clock import Clock
from .errors import InvalidTransition, JobConflict, JobError, QueueFull, UnknownJob
from .job import Job, JobScript, Lifecycle, Phase, StartRequest, Status
from .job_variation import log_extras
from .joblog import JobLog
from .jobqueue import JobQueue
from .jobstore import JobStore, JobsView, StoredJob
from .logformat import counted_text, failed_text, java_list
from .repository import Repository, normalize_path
from .settings import Settings

__all__ = ["Job", "JobEngine", "JobScript", "JobsView", "Lifecycle", "Phase", "StartRequest", "Status"]

#: ``createdBy`` of the system job (§3.29), as the Guides UI shows it.
SYSTEM_USER = "System"
#: The most system jobs one sync creates when the clock jumped far ahead (the latest ones).
MAX_SYSTEM_CATCH_UP = 1000


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
        self.changes: Changes | None = None
        """Told of every job that changes or is forgotten, when the mock's state is kept (``--state``)."""
        self.ids_drawn = 0
        """How many ids the generator gave: a restored engine draws as many to go on where it was."""
        self.reset()

    def set_id_generator(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self.ids_drawn = 0

    def find(self, processing_id: str) -> Job | None:
        """The job, if there is one, without bringing it up to the clock."""
        return self._kept.get(processing_id)

    def reset(self) -> None:
        """Forget every job."""
        self._kept = JobStore()  # every job, within max_jobs and jobs_bytes
        self._queue = JobQueue()
        self._running: list[Job] = []  # COUNTING or PROCESSING, at most `concurrency`
        self._active: dict[str, Job] = {}  # not ENDED, by path (§3.12)
        self._free: list[int] = [0] * self.settings.concurrency  # since when each idle runner is free
        self._last_start = 0  # FIFO: no job starts before the one queued ahead of it
        self._now = 0
        self._starts = 0
        every = self._system_interval()
        self._system_due = self.clock.now_ms() + every if self.settings.system_job else None
        if self.changes is not None:
            self.changes.clear_all()

    # --- queries
    def get(self, processing_id: str) -> Job:
        self.sync()
        job = self._kept.get(processing_id)
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
        if self.changes is not None and job.polls <= job.lifecycle.wait_polls:
            self.changes.changed(job)  # the polls that release it are state; the ones after, not
        return job

    def history(self) -> list[Job]:
        """The last ``history_size`` jobs, newest first (§3.4)."""
        self.sync()
        newest = reversed(self._kept.view())
        return [job for _, job in zip(range(self.settings.history_size), newest, strict=False)]

    def jobs(self) -> list[Job]:
        """Every job kept, oldest first."""
        return list(self.view())

    def view(self) -> JobsView:
        """Every job kept, oldest first, read by the slice: a page costs O(page), not O(jobs)."""
        self.sync()
        return self._kept.view()

    @property
    def bytes_kept(self) -> int:
        """About how much memory the kept jobs take (their requests and logs), against ``jobs_bytes``."""
        return self._kept.meter.bytes

    def next_change_at(self) -> int | None:
        """When the next job changes phase (leaves the queue, ends counting, ends), or the next
        system job is due; None when nothing is due by the clock alone (idle, or waiting for polls)."""
        self.sync()
        due = [self._system_due] if self._system_due is not None else []
        for job in self._running:
            if job.phase is Phase.COUNTING:
                due.append(job.phase_since + job.lifecycle.counting_ms)
            elif job.phase is Phase.PROCESSING:
                due.append(job.phase_since + (job.stop_index() - job.run_first) * job.lifecycle.per_asset_ms)
        head = self._queue.head()
        if head is not None and self._free and (at := self._activation_time(head)) is not None:
            due.append(at)
        return min(due, default=None)  # after sync() every time due lies ahead

    def active_count(self) -> int:
        """How many jobs are WAITING or IN_PROGRESS."""
        return len(self._active)

    # --- commands
    def start(self, request: StartRequest, user: str, lifecycle: Lifecycle | None = None) -> Job:
        """Queue a job for ``request.path`` (normalized); it runs when the jobs before it ended."""
        self.sync()
        request = self._checked(request)
        self._refuse_if_busy(request.path, "wait for it or cancel it first")
        self._refuse_if_full()
        self._starts += 1
        script = next((i for i, s in enumerate(self.scripts) if s.matches(request.path, self._starts)), None)
        if lifecycle is None:
            lifecycle = self._lifecycle(script)
        job = self._enqueue(request, user, lifecycle, script, self._now)
        self.sync()
        return job

    def _checked(self, request: StartRequest) -> StartRequest:
        """``request`` with its path normalized; JobError unless the path exists and the filter's
        times are in order."""
        if request.path != request.path.strip():  # Sling looks the path up as sent (§3.35)
            raise JobError(
                f"path {request.path!r} does not exist in the repository: it starts or ends with "
                "whitespace, which an author looks up as part of the name; send the path without it"
            )
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
        return request

    def _enqueue(
        self, request: StartRequest, user: str, lifecycle: Lifecycle, script: int | None, at: int
    ) -> Job:
        processing_id = self._draw_id()
        while processing_id in self._kept:
            processing_id = self._draw_id()
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
            log=JobLog(selection, meter=self._kept.meter),
            phase_since=at,
            as_of=at,
            script=script,
            request_bytes=request.memory_bytes(),
        )
        self._kept.add(job)
        self._queue_up(job, at)
        self._forget_old_jobs()
        return job

    def _draw_id(self) -> str:
        self.ids_drawn += 1
        return self._new_id()

    def cancel(self, processing_id: str) -> Job:
        job = self.get(processing_id)
        if job.finished:
            raise InvalidTransition(
                f"job {processing_id!r} is {job.status} and cannot be cancelled; "
                "only WAITING or IN_PROGRESS jobs can"
            )
        now = self._now
        if job.phase is Phase.QUEUED:
            self._queue.drop(job)
        else:
            self._running.remove(job)  # at most `concurrency` (64) long
            self._free.append(now)
        if job.phase is Phase.COUNTING:
            job.calculation_status = Status.CANCELLED
        job.hold_spent = True
        done = f"{job.triggered_count}/{job.total_files}"
        job.log.write(now, f"Bulk processing job cancelled by {job.created_by} [processed={done}]")
        job.log.write(now, f"Checkpoint saved [processed={done}]")
        self._finish(job, now, Status.CANCELLED, "")
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
        self._kept.reopened(job)
        try:
            self._refuse_if_full()
        except QueueFull:
            self._kept.ended(job)
            raise
        done = f"{job.triggered_count}/{job.total_files}"
        job.log.write(self._now, f"Bulk processing job resumed from checkpoint [processed={done}]")
        self._queue_up(job, self._now)
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

    def _lifecycle(self, script: int | None) -> Lifecycle:
        """The settings' pace at speed 1, changed by the job's script if it has one, then scaled
        by the speed."""
        lifecycle = Lifecycle(self.settings.counting_ms, self.settings.per_asset_ms)
        if script is not None:
            lifecycle = self.scripts[script].lifecycle(lifecycle)
        return lifecycle.scaled(self.settings.speed)

    def _system_interval(self) -> int:
        return max(1, self.settings.scaled(self.settings.system_job_interval_ms))

    # --- the simulation
    def sync(self) -> None:
        """Bring every job up to the clock's time."""
        now = max(self._now, self.clock.now_ms())  # a system clock may step back: never follow
        due = self._system_due
        if due is not None and due <= now:
            every = self._system_interval()
            overdue = (now - due) // every + 1
            if overdue > MAX_SYSTEM_CATCH_UP:  # a clock moved by a year: the latest runs only
                self._system_due = due + (overdue - MAX_SYSTEM_CATCH_UP) * every
        while self._system_due is not None and self._system_due <= now:
            due = self._system_due
            self._run_until(due)
            self._system_job(due)
        self._run_until(now)

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
            self._enqueue(StartRequest(path), SYSTEM_USER, self._lifecycle(None), None, at)

    def _run_until(self, now: int) -> None:
        """Move the running jobs to ``now``; each runner freed on the way takes the next job."""
        self._now = now
        while True:
            for job in list(self._running):  # each runs on its own: its end frees its runner
                self._step(job, now)
            head = self._queue.head()
            if head is None or not self._free:
                return
            at = self._activation_time(head)
            if at is None or at > now:
                return  # the head of the queue is held: the queue waits behind it (FIFO)
            self._queue.pop()
            self._free.remove(min(self._free))
            self._last_start = at
            self._activate(head, at)

    def _activation_time(self, job: Job) -> int | None:
        """When the queued ``job`` may take a runner, or None while it waits for polls."""
        released = job.release_time()
        if released is None:
            return None
        return max(min(self._free), released, self._last_start)

    def _step(self, job: Job, now: int) -> None:
        """Move one running job to ``now``, through counting, processing and its end."""
        if job.phase is Phase.COUNTING:
            counted_at = job.phase_since + job.lifecycle.counting_ms
            if now < counted_at:
                return
            self._finish_counting(job, counted_at)
        if job.phase is Phase.PROCESSING:
            self._advance(job, now)

    # --- the moves from phase to phase
    def _enter(self, job: Job, phase: Phase, at: int) -> None:
        """The job is in ``phase`` from ``at``."""
        job.phase = phase
        job.phase_since = at
        job.as_of = at
        if self.changes is not None:
            self.changes.changed(job)

    def _queue_up(self, job: Job, at: int) -> None:
        """-> QUEUED, at the back of the queue."""
        self._enter(job, Phase.QUEUED, at)
        job.outcome = None
        job.started_at = None  # a WAITING job shows no start and no count in progress (§3.2)
        job.calculation_status = Status.WAITING
        job.comments = ""
        self._queue.push(job)
        self._active[job.request.path] = job

    def _activate(self, job: Job, at: int) -> None:
        """QUEUED -> COUNTING, or PROCESSING when the job has been counted: it takes a runner."""
        self._running.append(job)
        job.started_at = at
        job.hold_spent = True
        if job.first_started_at is None:
            job.first_started_at = at
            request = job.request
            job.log.write(
                at,
                f"Bulk processing job started [processingId={job.processing_id}, "
                f"path={request.path}, excludedPaths={java_list(request.excluded_paths)}, "
                f"user={job.created_by}]",
            )
        if job.counted:
            self._begin_processing(job, at)
        else:
            self._begin_counting(job, at)

    def _begin_counting(self, job: Job, at: int) -> None:
        """-> COUNTING, until ``counting_ms`` later."""
        self._enter(job, Phase.COUNTING, at)
        job.calculation_status = Status.IN_PROGRESS
        job.log.write(at, f"Calculating assets to process under {job.request.path}")

    def _finish_counting(self, job: Job, at: int) -> None:
        """COUNTING -> PROCESSING, or ENDED when the count fails as scripted."""
        total = len(job.selection)  # first: nothing below may fail half-way
        failure = job.lifecycle.counting_failure
        if failure is not None and not job.counting_failure_spent:
            job.counting_failure_spent = True
            job.calculation_status = Status.FAILED
            self._end(job, at, Status.FAILED, failure)
            return
        job.counted = True
        job.total_files = total
        job.log.write(at, counted_text(total))
        self._write_extras(job, at, "counted")
        self._begin_processing(job, at)

    def _begin_processing(self, job: Job, at: int) -> None:
        """-> PROCESSING: a stretch of processing from the checkpoint, one asset each ``per_asset_ms``."""
        self._enter(job, Phase.PROCESSING, at)
        job.calculation_status = Status.SUCCESS
        job.run_first = job.triggered_count
        job.log.open_run(at, job.run_first, job.lifecycle.per_asset_ms)

    def _advance(self, job: Job, now: int) -> None:
        """Move the processing job to ``now``, and end it when its last asset is done."""
        pace = job.lifecycle.per_asset_ms
        stop = job.stop_index()
        done = min(stop, job.run_first + (now - job.phase_since) // pace)
        job.triggered_count = done
        job.as_of = now
        job.log.grow_run(done - job.run_first)
        end_at = job.phase_since + (stop - job.run_first) * pace
        if done < stop or now < end_at:
            return
        if stop < job.total_files:
            job.processing_failure_spent = True
            asset = job.selection[stop]
            self._end(job, end_at, Status.FAILED, f"{job.lifecycle.failure_comment}: {asset.path}")
        else:
            self._end(job, end_at, Status.SUCCESS, "")

    def _write_extras(self, job: Job, at: int, stage: str) -> None:
        """With ``vary``: lines of other levels and a stack trace, as a real author may write."""
        if self.settings.vary is not None:
            for level, text in log_extras(self.settings.vary, job.processing_id, stage):
                job.log.write(at, text, level)

    def _end(self, job: Job, at: int, outcome: Status, comment: str) -> None:
        """A running job ends on its own: its runner is free from ``at``."""
        if outcome is Status.FAILED:
            job.log.write(at, failed_text(comment), level="ERROR")
            self._write_extras(job, at, "failed")
        job.log.write(at, f"Bulk processing job completed [status={outcome}]. Exiting...")
        self._running.remove(job)
        self._free.append(at)
        self._finish(job, at, outcome, comment)

    def _finish(self, job: Job, at: int, outcome: Status, comment: str) -> None:
        """-> ENDED, as ``outcome`` says: the path is free again."""
        self._enter(job, Phase.ENDED, at)
        job.outcome = outcome
        job.comments = comment
        del self._active[job.request.path]
        self._kept.ended(job)

    # --- limits
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
        if self.bytes_kept > self.settings.jobs_bytes:
            raise QueueFull(
                f"the jobs kept take about {self.bytes_kept} bytes, more than jobs_bytes "
                f"({self.settings.jobs_bytes}), and none has finished to make room; wait for some to "
                "end or cancel some, then try again"
            )

    def _forget_old_jobs(self) -> None:
        """Past ``max_jobs`` or ``jobs_bytes``, forget the jobs that finished first."""
        forgotten = self._kept.forget_old(self.settings.max_jobs, self.settings.jobs_bytes)
        if forgotten and self.changes is not None:
            for processing_id in forgotten:
                self.changes.forgot(processing_id)

    # --- the state ``--state`` keeps (:mod:`.state`)
    @property
    def meter(self) -> Meter:
        """The meter of the kept jobs' bytes, which a restored job's log counts against."""
        return self._kept.meter

    def saved(self) -> dict[str, Any]:
        """The engine's own state beside its jobs', as :meth:`restore` takes it back."""
        return {
            "now": self._now, "free": self._free, "lastStart": self._last_start, "starts": self._starts,
            "systemDue": self._system_due, "ids": self.ids_drawn, "pushed": self._queue.pushed,
        }  # fmt: skip

    def restore(
        self,
        jobs: Sequence[Job | StoredJob],
        saved: Mapping[str, Any],
        thaw: Callable[[StoredJob], Job] | None = None,
    ) -> None:
        """Take back ``jobs`` (oldest first, their logs on :attr:`meter`) and what :meth:`saved`
        gave, then catch up with the clock: a job that was running runs on as the clock says. The
        engine must be new (the jobs' logs count on its :attr:`meter`). A finished job may come
        as a :class:`~.jobstore.StoredJob`, which ``thaw`` makes the job when it is first read."""
        assert not self._kept, "restore() takes a new engine"
        if self._new_id is _new_uuid:  # random: nothing to go on from (10,000 draws cost 0.1 s)
            self.ids_drawn = saved["ids"]
        else:
            for _ in range(saved["ids"]):  # a seeded generator goes on where it was, not from its start
                self._draw_id()
        self._kept.thaw = thaw
        live: list[Job] = []
        ended: list[tuple[int, Job | StoredJob]] = []
        for job in jobs:
            self._kept.add(job)
            if isinstance(job, StoredJob):
                ended.append((job.ended_at, job))
            elif job.finished:
                ended.append((job.phase_since, job))
            else:
                live.append(job)
                self._active[job.request.path] = job
        ended.sort(key=lambda pair: pair[0])  # stable: of two ended at once, the one started first
        for _, job in ended:
            self._kept.ended(job)
        self._queue.restore(sorted((j for j in live if j.phase is Phase.QUEUED), key=lambda j: j.ticket),
                            saved["pushed"])  # fmt: skip
        running = (j for j in live if j.phase in (Phase.COUNTING, Phase.PROCESSING))
        self._running = sorted(running, key=lambda j: (j.started_at or 0, j.ticket))
        self._free, self._last_start = list(saved["free"]), saved["lastStart"]
        self._now, self._starts, self._system_due = saved["now"], saved["starts"], saved["systemDue"]
        self.sync()
