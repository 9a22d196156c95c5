"""The records ``--state`` keeps, as JSON: a job, an exchange of the journal.

Each record is a plain JSON object (a column of :mod:`.state`'s tables) made from the engine's
own data and read back into it. A job keeps what it has done (its phase, counts, times and log
segments); its selection of assets is not kept but selected again from the session's repository,
which the same scenario builds the same.

A finished job's record is read only when the job is (:class:`~.jobstore.StoredJob`,
:func:`thawer`): the file keeps beside it when the job ended and the bytes it takes
(:func:`job_columns`), all a restart needs of it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from .asset_status import StatusJob
from .bounded import Meter
from .errors import Violation
from .job import Job, Lifecycle, Phase, StartRequest, Status
from .joblog import JobLog
from .jobstore import StoredJob
from .journal import Exchange
from .repository import Repository, Selection

__all__ = ["exchange_from_json", "exchange_to_json", "job_columns", "job_from_json", "job_to_json", "thawer"]
__all__ += ["status_job_from_json", "status_job_to_json"]

#: The fields of a job kept as they are (numbers, strings, booleans, None).
_PLAIN = (
    "created_by", "created_at", "phase_since", "as_of", "total_files", "triggered_count", "run_first",
    "started_at", "first_started_at", "comments", "ticket", "request_bytes", "script", "polls",
    "released_at", "counted", "hold_spent", "counting_failure_spent", "processing_failure_spent",
)  # fmt: skip
#: The enums' members by value: a look-up costs a tenth of calling the enum (10,000 jobs, 3 each).
_PHASES = {phase.value: phase for phase in Phase}
_MOST_LIFECYCLES = 64
_lifecycles: dict[tuple[tuple[str, Any], ...], Lifecycle] = {}
_STATUSES = {status.value: status for status in Status}
#: The selections a :func:`thawer` keeps for the jobs of the same request (emptied when full).
_MOST_SELECTIONS = 256


def job_to_json(job: Job) -> dict[str, Any]:
    record = {name: getattr(job, name) for name in _PLAIN}
    record.update(
        id=job.processing_id,
        request=dataclasses.asdict(job.request),
        lifecycle=dataclasses.asdict(job.lifecycle),
        phase=job.phase.value,
        outcome=None if job.outcome is None else job.outcome.value,
        calculation_status=job.calculation_status.value,
        log=job.log.saved(),
    )
    return record


def job_from_json(
    record: dict[str, Any],
    repository: Repository,
    ignored: tuple[str, ...],
    meter: Meter,
    selections: dict[StartRequest, Selection] | None = None,
) -> Job:
    """The job ``record`` keeps, its assets selected again in ``repository``; its log counted on
    ``meter``. Jobs of the same request share one selection (it never changes) through ``selections``."""
    raw = dict(record["request"])
    request = StartRequest(**{**raw, "excluded_paths": tuple(raw["excluded_paths"]),
                              "file_types": tuple(raw["file_types"])})  # fmt: skip
    selection = None if selections is None else selections.get(request)
    if selection is None:
        selection = repository.select(request.path, request.excluded_paths, request.asset_filter, ignored)
        if selections is not None:
            selections[request] = selection
    lifecycle = record["lifecycle"]
    key = tuple(lifecycle.items())
    shared = _lifecycles.get(key)
    if shared is None:  # frozen: jobs of one pace share one (a bounded cache: a few paces)
        shared = Lifecycle(**lifecycle)
        if len(_lifecycles) < _MOST_LIFECYCLES:
            _lifecycles[key] = shared
    return Job(
        processing_id=record["id"],
        request=request,
        selection=selection,
        lifecycle=shared,
        log=JobLog.restored(selection, record["log"], meter),
        phase=_PHASES[record["phase"]],
        outcome=None if record["outcome"] is None else _STATUSES[record["outcome"]],
        calculation_status=_STATUSES[record["calculation_status"]],
        **{name: record[name] for name in _PLAIN},
    )


def job_columns(record: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """``(ended_at, bytes)`` of a job's record: when it ended and the bytes its request and log
    take. Both None for a job that has not ended, or a record too old to say its log's bytes: such
    a record is read at start; the others when their job is first read."""
    if record.get("phase") != Phase.ENDED.value:
        return None, None
    log_bytes, request_bytes = record.get("log", {}).get("bytes"), record.get("request_bytes")
    if log_bytes is None or request_bytes is None:
        return None, None
    return record["phase_since"], request_bytes + log_bytes


def thawer(repository: Repository, ignored: tuple[str, ...], meter: Meter) -> Callable[[StoredJob], Job]:
    """What makes a stored job's record its job (see :func:`job_from_json`), for
    :attr:`~.jobstore.JobStore.thaw`. The jobs of one request share a selection."""
    selections: dict[StartRequest, Selection] = {}

    def thaw(stored: StoredJob) -> Job:
        if len(selections) >= _MOST_SELECTIONS:
            selections.clear()
        return job_from_json(json.loads(stored.record), repository, ignored, meter, selections)

    return thaw


def exchange_to_json(exchange: Exchange) -> list[Any]:
    """The exchange as a list of its fields in order, each violation an object of its fields."""
    fields: list[Any] = list(exchange)
    fields[7] = [dataclasses.asdict(v) for v in exchange.request_violations]
    fields[8] = [dataclasses.asdict(v) for v in exchange.response_violations]
    fields[11] = [dataclasses.asdict(v) for v in exchange.warnings]
    fields[12] = list(exchange.variations)
    return fields


def exchange_from_json(fields: list[Any]) -> Exchange:
    taken = list(fields)
    for index in (7, 8, 11):  # request_violations, response_violations, warnings
        taken[index] = tuple(Violation(**v) for v in taken[index])
    taken[12] = tuple(taken[12])
    return Exchange(*taken)


def status_job_to_json(job: StatusJob) -> dict[str, Any]:
    return dataclasses.asdict(job)


def status_job_from_json(record: dict[str, Any]) -> StatusJob:
    return StatusJob(
        **{**record, "paths": tuple(record["paths"]), "excluded_paths": tuple(record["excluded_paths"])}
    )
