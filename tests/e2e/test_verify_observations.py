"""``verify`` holds every observation of a job to the lifecycle, in the order observed: status polls,
history items, cancel and resume answers; a rule broken between two names both. A status answer it
cannot read ends the step at once, not at ``--timeout``."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aiohttp import web

from mock_server.api.operations import BASE_PATH
from tests.support.verify import STATUS, Handler, findings, json_drift, run_verify

HISTORY = f"{BASE_PATH}/history"


def violations_of(report: Any, step: str) -> list[str]:
    return [f for f in findings(report, "violation") if f.startswith(f"{step}: ")]


def in_history(change: Any) -> Any:
    """A drift that applies ``change`` to each ended job history lists."""

    def items(page: Any) -> Any:
        jobs = [change(j) if j.get("status") == "SUCCESS" else j for j in page["executionHistory"]]
        return {**page, "executionHistory": jobs}

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, items if request.path == HISTORY else lambda j: j)

    return drift


async def test_a_history_item_in_progress_after_a_success_poll_names_both() -> None:
    drift = in_history(lambda j: {**j, "status": "IN_PROGRESS", "completedAt": 0, "cancellable": True,
                                  "restartable": False})  # fmt: skip
    report, _ = await run_verify(drift)
    assert report.exit_code == 1, report.summary()
    (found,) = [f for f in violations_of(report, "history-has-job") if "status went" in f]
    assert "status went from SUCCESS to IN_PROGRESS with no resume in between" in found
    assert f"(seen in history-has-job: GET {HISTORY}, its item " in found
    assert f", after follow: GET {STATUS}?processingId=" in found


async def test_a_triggered_count_back_between_a_poll_and_a_history_item_names_both() -> None:
    report, _ = await run_verify(in_history(lambda j: {**j, "triggeredCount": j["triggeredCount"] - 1}))
    assert report.exit_code == 1, report.summary()
    found = [f for f in violations_of(report, "history-has-job") if "triggeredCount went back" in f]
    assert len(found) == 1 and "from 6 to 5 (seen in history-has-job" in found[0], report.summary()
    assert "after follow: GET" in found[0]


async def test_a_cancel_answer_then_a_poll_that_goes_back_names_both() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        cancel = request.path == f"{BASE_PATH}/cancel"
        return await json_drift(request, handler, lambda j: {**j, "triggeredCount": 5} if cancel else j)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1, report.summary()
    found = [f for f in violations_of(report, "cancel-resume") if "triggeredCount went back" in f]
    assert found and f"after cancel-resume: POST {BASE_PATH}/cancel)" in found[0], report.summary()
    assert found[0].startswith("cancel-resume: triggeredCount went back from 5 to 0 (seen in cancel-resume: ")


async def test_a_resume_answer_then_a_poll_that_goes_back_names_both() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        resume = request.path == f"{BASE_PATH}/resume"
        return await json_drift(request, handler, lambda j: {**j, "triggeredCount": 99} if resume else j)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1, report.summary()
    found = [f for f in violations_of(report, "cancel-resume") if "triggeredCount went back from 99" in f]
    assert found and f"after cancel-resume: POST {BASE_PATH}/resume)" in found[0], report.summary()


async def test_a_cancel_answer_is_held_to_the_rules_of_one_answer_too() -> None:
    """The cancel answer itself is an observation: a job that ended before it started breaks a rule."""

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        cancel = request.path == f"{BASE_PATH}/cancel"
        ended = {"status": "CANCELLED", "completedAt": 1}
        return await json_drift(request, handler, lambda j: {**j, **ended, "startedAt": 2} if cancel else j)

    report, _ = await run_verify(drift)
    assert "cancel-resume: completedAt 1 is before startedAt 2" in violations_of(report, "cancel-resume"), (
        report.summary()
    )


def unreadable(kind: str) -> Any:
    """Every 200 status answer made unreadable as ``kind`` says."""

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.path != STATUS or response.status != 200:
            return response
        if kind == "not JSON":
            return web.Response(text="<html>Sling</html>", content_type="text/html")
        change = {
            "no status": lambda j: {k: v for k, v in j.items() if k != "status"},
            "a list": lambda j: [j],
            "a number status": lambda j: {**j, "status": 2},
        }[kind]
        return await json_drift(request, lambda _: _answer(response), change)

    return drift


async def _answer(response: web.StreamResponse) -> web.StreamResponse:
    return response


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("no status", "the status answer has no `status`"),
        ("not JSON", "the status answer is not JSON (text/html)"),
        ("a list", "the status answer is a JSON list, not an object"),
        ("a number status", "the status answer's `status` is 2, not a string"),
    ],
)
async def test_a_status_answer_it_cannot_read_ends_the_step_at_once(kind: str, why: str) -> None:
    began = time.monotonic()
    report, _ = await run_verify(unreadable(kind), timeout_s=60)
    assert time.monotonic() - began < 20, report.summary()  # not the 54 s the steps get
    assert report.exit_code == 1, report.summary()
    assert f"follow: {why}: the job cannot be followed, the step ends here" in findings(report, "violation")
    assert report.steps["follow"] == "failed"
    assert report.steps["logs"] == report.steps["cancel-resume"] == "not exercised", report.steps
    assert "setup error" not in report.kinds(), report.summary()


async def test_a_cancel_answer_that_names_no_job_is_no_observation_of_it() -> None:
    """No false alarm: ``{"status": "SUCCESS"}`` for a cancel may say the call went well (the contract
    documents no answer), and a poll may show the job IN_PROGRESS while its cancel takes."""
    cancelled: set[str] = set()

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.path == f"{BASE_PATH}/cancel":
            assert isinstance(response, web.Response) and isinstance(response.body, bytes)
            cancelled.add(json.loads(response.body)["processingId"])  # the mock's answer: the job
            return web.json_response({"status": "SUCCESS"})
        pid = request.query.get("processingId")
        if request.path == STATUS and pid in cancelled:
            cancelled.discard(pid)  # the first poll after the cancel: still going
            running = {"status": "IN_PROGRESS", "completedAt": 0, "cancellable": True, "resumable": False}
            return await json_drift(request, lambda _: _answer(response), lambda j: {**j, **running})
        return response

    report, _ = await run_verify(drift)
    lifecycle = [f for f in violations_of(report, "cancel-resume") if "went" in f]
    assert lifecycle == [], report.summary()
    assert report.steps["cancel-resume"] == "failed", report.summary()  # the cancel answer's shape
