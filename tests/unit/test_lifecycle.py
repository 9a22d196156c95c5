"""The lifecycle rules verify holds an author to (mock_server.contract.lifecycle), one by one."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.contract.lifecycle import FLAGS, check_step


def job(status: str, done: int = 0, total: int = 6, completed: int = 0, **changes: Any) -> dict[str, Any]:
    cancellable, resumable, restartable = FLAGS[status]
    return {"status": status, "triggeredCount": done, "migrationSet": {"totalFiles": total},
            "startedAt": 1000, "completedAt": completed, "cancellable": cancellable,
            "resumable": resumable, "restartable": restartable, **changes}  # fmt: skip


def test_a_legal_run_breaks_nothing() -> None:
    steps = [job("WAITING"), job("IN_PROGRESS", 2), job("IN_PROGRESS", 5), job("SUCCESS", 6, completed=2000)]
    assert [check_step(a, b) for a, b in zip([None, *steps], steps, strict=False)] == [[]] * 4


@pytest.mark.parametrize(
    ("before", "after", "acted", "phrase"),
    [
        (
            job("SUCCESS", 6, completed=2000),
            job("IN_PROGRESS", 6),
            None,
            "status went from SUCCESS to IN_PROGRESS",
        ),
        (job("IN_PROGRESS", 3), job("WAITING", 3), None, "status went from IN_PROGRESS to WAITING"),
        (
            job("FAILED", 3, completed=2000),
            job("SUCCESS", 6, completed=3000),
            None,
            "status went from FAILED",
        ),
        (job("IN_PROGRESS", 4), job("IN_PROGRESS", 3), None, "triggeredCount went back from 4 to 3"),
        (None, job("IN_PROGRESS", 7), None, "above migrationSet.totalFiles"),
        (None, job("SUCCESS", 5, completed=2000), None, "processed 5 of its 6"),
        (None, job("SUCCESS", 6, completed=0), None, "completedAt 0"),
        (None, job("IN_PROGRESS", 2, completed=5), None, "0 until it ends"),
        (None, job("SUCCESS", 6, completed=500), None, "before startedAt"),
        (None, job("SUCCESS", 6, completed=2000, cancellable=True), None, "flags"),
    ],
)
def test_each_rule(before: Any, after: Any, acted: str | None, phrase: str) -> None:
    assert any(phrase in rule for rule in check_step(before, after, acted)), check_step(before, after, acted)


def test_a_clients_action_explains_a_step_back() -> None:
    assert check_step(job("CANCELLED", 3), job("WAITING", 3), "resume") == []
    assert check_step(job("IN_PROGRESS", 3), job("CANCELLED", 3), "cancel") == []
    assert check_step(job("SUCCESS", 6, completed=2000), job("WAITING", 0), "restart") == []
    assert check_step(None, {**job("SUCCESS", 6, 2000), "status": "DONE"}) == []  # the schema says so
