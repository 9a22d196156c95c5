"""Engine objects as the contract's JSON: one serializer for status, cancel, resume and history (§3.5)."""

from __future__ import annotations

import json
import math
import weakref
from typing import Any

from ..core.jobs import Job
from ..core.settings import Settings

__all__ = ["SerializedJobs", "eta_value", "job_payload"]


def job_payload(job: Job, settings: Settings) -> dict[str, Any]:
    """The job object of section 2, every key always present."""
    names = settings.status_names
    request = job.request
    job_filter: dict[str, Any] = {
        "fileTypes": list(request.file_types),
        "filterProcessedAssets": request.filter_processed_assets,
    }
    if request.start_time is not None:
        job_filter["startTime"] = request.start_time
    if request.end_time is not None:
        job_filter["endTime"] = request.end_time
    return {
        "processingId": job.processing_id,
        "path": request.path,
        "excludedPaths": list(request.excluded_paths),
        "status": names[job.status],
        "triggeredCount": job.triggered_count,
        "startedAt": _wire_time(job.started_at),
        "completedAt": _wire_time(job.completed_at),
        "hasLogs": len(job.log) > 0,
        "createdBy": job.created_by,
        "type": request.type,
        "migrationSet": {
            "totalFiles": job.total_files,
            "calculationStatus": names[job.calculation_status],
        },
        "eta": {"value": eta_value(job, settings), "unit": settings.eta_unit},
        "comments": job.comments,
        "filter": job_filter,
        "restartable": job.restartable,
        "resumable": job.resumable,
        "cancellable": job.cancellable,
    }


def _wire_time(ms: int | None) -> int:
    """A time as the wire writes it: unset (None) is 0 (§3.21)."""
    return 0 if ms is None else ms


_UNIT_MS = {"SECONDS": 1000, "MINUTES": 60_000, "HOURS": 3_600_000}


def eta_value(job: Job, settings: Settings) -> int:
    """The remaining time in ``eta_unit``, rounded up (§3.3): 32 s is 1 MINUTES."""
    return math.ceil(job.remaining_ms() / _UNIT_MS[settings.eta_unit])


class SerializedJobs:
    """Each job's serialized object, remade only when the job has changed since the last ask.

    A status poll is the hot path of every client; most polls see the job as the last poll did.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: weakref.WeakKeyDictionary[Job, tuple[tuple[Any, ...], bytes]] = (
            weakref.WeakKeyDictionary()
        )

    def of(self, job: Job) -> bytes:
        state = (
            job.status, job.calculation_status, job.total_files, job.triggered_count, job.started_at,
            job.completed_at, job.comments, len(job.log) > 0, eta_value(job, self._settings),
        )  # fmt: skip
        cached = self._cache.get(job)
        if cached is not None and cached[0] == state:
            return cached[1]
        body = json.dumps(job_payload(job, self._settings), separators=(",", ":")).encode()
        self._cache[job] = (state, body)
        return body
