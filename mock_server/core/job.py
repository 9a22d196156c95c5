"""A job as data: its request, its lifecycle, its phase and what it has done so far.

The engine (:mod:`.jobs`) moves a job from phase to phase; this module only says what a job is.

Phases and statuses (the status tokens are the internal ones; :class:`~.settings.Settings` renames
them on the wire)::

    phase        status        calculationStatus
    QUEUED       WAITING       WAITING
    COUNTING     IN_PROGRESS   IN_PROGRESS
    PROCESSING   IN_PROGRESS   SUCCESS
    ENDED        its outcome:  as it was when the job ended (FAILED if counting failed,
                 SUCCESS,      CANCELLED if cancelled while counting)
                 FAILED or
                 CANCELLED

Unset times are None here; the payload writes them as the wire's 0 (§3.21).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Protocol

from .joblog import JobLog
from .repository import AssetFilter, Selection

__all__ = ["Job", "JobScript", "Lifecycle", "Phase", "StartRequest", "Status"]


class Status(StrEnum):
    """A job's status (§3.1), and a count's (``calculationStatus``), as the engine names them."""

    WAITING = "WAITING"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Phase(Enum):
    """Where a job is in its lifecycle: the one value the engine decides on."""

    QUEUED = "queued"
    """In the queue, waiting for a runner (and for its scripted wait, if any)."""
    COUNTING = "counting"
    """On a runner, counting its assets: the count ends ``counting_ms`` after ``phase_since``."""
    PROCESSING = "processing"
    """On a runner, processing assets ``run_first``, ``run_first + 1``… one every ``per_asset_ms``
    from ``phase_since``."""
    ENDED = "ended"
    """Off the queue and the runners for good, unless resumed: its ``outcome`` says how it ended."""


#: The status of a job in each phase but the last (an ended job's status is its outcome).
_STATUS = {
    Phase.QUEUED: Status.WAITING,
    Phase.COUNTING: Status.IN_PROGRESS,
    Phase.PROCESSING: Status.IN_PROGRESS,
}


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

    def memory_bytes(self) -> int:
        """About how much memory the request takes, kept twice (the job and its serialized answer)."""
        texts = (self.path, *self.excluded_paths, *self.file_types)
        return 2 * (400 + sum(60 + len(text) for text in texts))


@dataclass(slots=True, eq=False, weakref_slot=True)
class Job:
    """One job. Read it through :class:`~.jobs.JobEngine`, which keeps it up to the clock."""

    processing_id: str
    request: StartRequest
    created_by: str
    created_at: int
    selection: Selection
    lifecycle: Lifecycle
    log: JobLog
    phase_since: int
    """When the job entered its phase: was queued, began counting, began this stretch of
    processing, or ended."""
    as_of: int
    """The engine's time when it last moved this job."""
    phase: Phase = Phase.QUEUED
    outcome: Status | None = None
    """How the job ended (SUCCESS, FAILED or CANCELLED); None until it has."""
    calculation_status: Status = Status.WAITING
    total_files: int = 0
    triggered_count: int = 0
    run_first: int = 0
    """The index of the first asset of this stretch of processing (the checkpoint it resumed from)."""
    started_at: int | None = None
    """When the job last left the queue; None while it waits (§3.2)."""
    first_started_at: int | None = None
    """When the job first left the queue: the "job started" line is written then, and only then."""
    comments: str = ""
    ticket: int = 0
    """Which queue entry is this job's: older entries (before a cancel and resume) are stale."""
    request_bytes: int = 0
    script: int | None = None
    """The index of the scenario job script that runs this job, if one does."""
    polls: int = 0
    released_at: int | None = None
    """When the job's scripted wait ended (its ``wait_polls``-th poll); None until then."""
    # What a resumed job keeps from its earlier runs: its count, and the scripted events that
    # happen once (a wait, a counting failure, a processing failure) and not again.
    counted: bool = False
    """Counting succeeded once: ``total_files`` is known and a resumed job does not count again."""
    hold_spent: bool = False
    """The scripted wait is over: the job has left the queue once, or was cancelled in it."""
    counting_failure_spent: bool = False
    processing_failure_spent: bool = False

    @property
    def status(self) -> Status:
        """The status of §3.1: the phase's, or for an ended job how it ended."""
        if self.phase is Phase.ENDED:
            assert self.outcome is not None, "an ended job has an outcome"
            return self.outcome
        return _STATUS[self.phase]

    @property
    def completed_at(self) -> int | None:
        """When the job ended; None until it has (and again once resumed)."""
        return self.phase_since if self.phase is Phase.ENDED else None

    @property
    def finished(self) -> bool:
        return self.phase is Phase.ENDED

    @property
    def cancellable(self) -> bool:
        return self.status in (Status.WAITING, Status.IN_PROGRESS)

    @property
    def resumable(self) -> bool:
        return self.status in (Status.FAILED, Status.CANCELLED)

    @property
    def restartable(self) -> bool:
        return self.status is Status.SUCCESS

    def release_time(self) -> int | None:
        """When the queued job's scripted wait lets it leave the queue; None while it waits for
        polls. A job that left the queue once, or was cancelled in it, is not held again."""
        if self.hold_spent:
            return self.phase_since
        lifecycle = self.lifecycle
        if self.polls < lifecycle.wait_polls:
            return None
        released = self.phase_since + lifecycle.wait_ms
        if self.released_at is not None:
            released = max(released, self.released_at)
        return released

    def stop_index(self) -> int:
        """The index processing stops at: the end, or just before the asset that fails."""
        fail_at = self.lifecycle.fail_at_asset
        if fail_at is not None and not self.processing_failure_spent and fail_at <= self.total_files:
            return max(fail_at - 1, self.run_first)
        return self.total_files

    def remaining_ms(self) -> int:
        """What is left of the job as of the engine's last look: the assets to go, less the time
        already spent on the current one (0 unless processing: while counting the total is not
        known yet)."""
        if self.phase is not Phase.PROCESSING:
            return 0
        pace = self.lifecycle.per_asset_ms
        spent = (self.as_of - self.phase_since) - (self.triggered_count - self.run_first) * pace
        return max(0, (self.total_files - self.triggered_count) * pace - max(0, spent))
