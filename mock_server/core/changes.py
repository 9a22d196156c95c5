"""What changed in one mock since it was last saved: the observer its job engine reports to.

Only ``serve --state`` gives an engine one (:attr:`~.jobs.JobEngine.changes`); without it the
engine reports nothing and nothing is kept. The engine reports each job as it enters a phase
(the one place a phase is set) and each job it forgets; the saver (:mod:`.state`) takes the lot
once a request is answered. The journal and the fault counters need no report: their counters
(``Journal.recorded``, ``FaultPlan.picks``) say when they moved.
"""

from __future__ import annotations

from .job import Job

__all__ = ["Changes"]


class Changes:
    """The jobs changed and forgotten since :meth:`take`; ``cleared`` when every job was forgotten."""

    __slots__ = ("cleared", "forgotten", "jobs")

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.forgotten: set[str] = set()
        self.cleared = False

    def __bool__(self) -> bool:
        return bool(self.jobs or self.forgotten or self.cleared)

    def changed(self, job: Job) -> None:
        self.jobs[job.processing_id] = job

    def forgot(self, processing_id: str) -> None:
        self.jobs.pop(processing_id, None)
        self.forgotten.add(processing_id)

    def clear_all(self) -> None:
        """Every job was forgotten (a reset): what was reported before no longer matters."""
        self.jobs.clear()
        self.forgotten.clear()
        self.cleared = True

    def take(self) -> tuple[list[Job], set[str], bool]:
        """The changed jobs, the forgotten ids and whether all were cleared; then start afresh."""
        taken = (list(self.jobs.values()), self.forgotten, self.cleared)
        self.jobs, self.forgotten, self.cleared = {}, set(), False
        return taken
