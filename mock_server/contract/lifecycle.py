"""The lifecycle rules a job's observed answers must keep: the oracle of ``verify``.

The mock's engine keeps them by construction; a real author is held to them from outside, by
what its status answers show one after another (docs/contract.md §3.1, §3.17):

- statuses move forward: WAITING, then IN_PROGRESS, then one of SUCCESS, FAILED, CANCELLED, and an
  ended job stays ended, unless the client resumed or restarted it in between;
- ``triggeredCount`` never goes back, and never passes ``migrationSet.totalFiles`` once counted;
- a SUCCESS job processed all of its assets;
- the flags agree with the status (:data:`FLAGS`);
- ``completedAt`` is 0 until the job ends and not before ``startedAt`` after.

:func:`check_step` judges one answer against the one before it and says which rule it breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ENDED", "FLAGS", "check_step"]

#: §3.17: (cancellable, resumable, restartable) for each status.
FLAGS: dict[str, tuple[bool, bool, bool]] = {
    "WAITING": (True, False, False),
    "IN_PROGRESS": (True, False, False),
    "SUCCESS": (False, False, True),
    "FAILED": (False, True, False),
    "CANCELLED": (False, True, False),
}
ENDED = frozenset({"SUCCESS", "FAILED", "CANCELLED"})
_RANK = {"WAITING": 0, "IN_PROGRESS": 1, "SUCCESS": 2, "FAILED": 2, "CANCELLED": 2}


def _count(job: Mapping[str, Any], key: str) -> int | None:
    value = job.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _total(job: Mapping[str, Any]) -> int | None:
    counted = job.get("migrationSet")
    return _count(counted, "totalFiles") if isinstance(counted, Mapping) else None


def check_step(
    before: Mapping[str, Any] | None, job: Mapping[str, Any], acted: str | None = None
) -> list[str]:
    """The rules ``job`` (a status answer) breaks, given the answer ``before`` it (None: the
    first) and the client's action in between (``"cancel"``, ``"resume"``, ``"restart"``)."""
    broken: list[str] = []
    status = job.get("status")
    if status not in FLAGS:
        return broken  # not a status of the contract: the schema check says so
    flags = tuple(job.get(name) for name in ("cancellable", "resumable", "restartable"))
    if all(isinstance(flag, bool) for flag in flags) and flags != FLAGS[status]:
        want = dict(zip(("cancellable", "resumable", "restartable"), FLAGS[status], strict=True))
        broken.append(f"flags: a {status} job has {want}, got {dict(zip(want, flags, strict=True))}")
    done, total = _count(job, "triggeredCount"), _total(job)
    if done is not None and total and done > total:
        broken.append(f"triggeredCount {done} is above migrationSet.totalFiles {total}")
    if status == "SUCCESS" and done is not None and total is not None and done != total:
        broken.append(f"a SUCCESS job processed {done} of its {total} assets")
    completed, started = _count(job, "completedAt"), _count(job, "startedAt")
    if completed is not None:
        if status in ENDED and status != "CANCELLED" and completed == 0:
            broken.append(f"a {status} job has completedAt 0")
        if status not in ENDED and completed != 0:
            broken.append(f"a {status} job has completedAt {completed} (0 until it ends)")
        if completed and started and completed < started:
            broken.append(f"completedAt {completed} is before startedAt {started}")
    if before is None:
        return broken
    previous = before.get("status")
    went_back = previous in _RANK and (
        _RANK[status] < _RANK[previous] or (previous in ENDED and status != previous)
    )
    explained = acted in ("resume", "restart") or (acted == "cancel" and status == "CANCELLED")
    if went_back and not explained:
        broken.append(f"status went from {previous} to {status} with no resume in between")
    last = _count(before, "triggeredCount")
    if last is not None and done is not None and done < last and acted != "restart":
        broken.append(f"triggeredCount went back from {last} to {done}")
    return broken
