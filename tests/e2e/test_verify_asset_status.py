"""verify's companion-API steps (§3.40) against an author that drifts: each thing they check,
broken, is a violation of that step."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mock_server.api.operations import ASSET_STATUS_PATH
from tests.support.verify import Handler, findings, json_drift, run_verify


def violations_of(report: Any, step: str) -> list[str]:
    return [f for f in findings(report, "violation") if f.startswith(f"{step}: ")]


async def test_the_mock_passes_both_steps() -> None:
    report, _ = await run_verify()
    assert report.steps["asset-status-unknown"] == report.steps["asset-status"] == "passed"
    assert violations_of(report, "asset-status") == violations_of(report, "asset-status-unknown") == []


async def test_an_unknown_job_id_answered_200_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.path == ASSET_STATUS_PATH and request.method == "GET" and response.status in (400, 404):
            return web.json_response({"jobId": request.query["jobId"], "status": "SUCCESS", "assets": []})
        return response

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    found = violations_of(report, "asset-status-unknown")
    assert any("answers 400 or 404, not 200" in f for f in found), report.summary()
    assert violations_of(report, "asset-status") == [], report.summary()


def on_poll(request: web.Request, change: Any) -> Any:
    """``change`` applied to the status job's answer (the GET), nothing else changed."""
    return change if request.path == ASSET_STATUS_PATH and request.method == "GET" else (lambda j: j)


async def test_an_answer_of_the_wrong_shape_is_a_violation() -> None:
    def drop_uuid(job: Any) -> Any:
        return {**job, "assets": [{k: v for k, v in a.items() if k != "uuid"} for a in job.get("assets", [])]}

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, on_poll(request, drop_uuid))

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any(".uuid` is required" in f for f in violations_of(report, "asset-status")), report.summary()


async def test_a_start_without_a_job_id_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        post = request.path == ASSET_STATUS_PATH and request.method == "POST"
        return await json_drift(
            request, handler, (lambda j: {"status": "WAITING"}) if post else (lambda j: j)
        )

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    found = violations_of(report, "asset-status")
    assert any("answers 200 with a jobId" in f for f in found), report.summary()


async def test_an_asset_not_success_after_a_success_job_is_a_violation() -> None:
    def pending(job: Any) -> Any:
        return {**job, "assets": [{**a, "status": "PENDING"} for a in job.get("assets", [])]}

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, on_poll(request, pending))

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    found = violations_of(report, "asset-status")
    assert any("after a SUCCESS job every asset is SUCCESS" in f for f in found), report.summary()


async def test_a_sandbox_asset_said_not_to_exist_is_a_violation() -> None:
    def missing(job: Any) -> Any:
        return {**job, "assets": [{**a, "exists": False} for a in job.get("assets", [])]}

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, on_poll(request, missing))

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any("every asset of the sandbox exists" in f for f in violations_of(report, "asset-status")), (
        report.summary()
    )


async def test_a_poll_that_answers_an_error_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == ASSET_STATUS_PATH and request.method == "GET" and "jobId" in request.query:
            response = await handler(request)
            if response.status == 200:
                return web.json_response({"status": 500, "message": "broken"}, status=500)
            return response
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    found = violations_of(report, "asset-status")
    assert any("the status job answers 200, not 500" in f for f in found), report.summary()
