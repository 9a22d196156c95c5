"""``verify`` against the mock (clean: exit 0, every step run) and against drifted mocks: each
drift caught with its class and exit code. Real sockets: the mock on aiohttp's TestServer, the
verifier's own HTTP client."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mock_server import create_app, load_scenario
from mock_server.api.operations import BASE_PATH
from mock_server.cli import main
from mock_server.core.job import StartRequest
from mock_server.http.runtime import MOCK
from mock_server.scenarios.reading import shipped_scenarios
from mock_server.verify import PLAN, Credentials, Options, verify
from tests.support.verify import (
    HELD,
    SANDBOX,
    STATUS,
    Handler,
    findings,
    json_drift,
    late_cancel,
    not_passed,
    run_verify,
)

# --- the mock keeps its own contract --------------------------------------------------------------


async def test_the_mock_passes_every_step() -> None:
    report, _ = await run_verify()
    assert report.exit_code == 0, report.summary()
    assert report.findings == []
    assert report.steps == {name: "passed" for name, _, _ in PLAN}  # full plan coverage
    assert set(report.pace) == {"counting_ms", "per_asset_ms"}
    assert report.pace["per_asset_ms"] == 10  # 200 ms per asset at speed 20


@pytest.mark.parametrize("scenario", sorted(shipped_scenarios()))
async def test_every_shipped_scenario_passes(scenario: str) -> None:
    """Faults included (flaky 5xx polls are answers a client must ride out, not violations). Each
    scenario's job on the sandbox is held until its first poll (:func:`held`): large-repository's ran
    at 1 ms an asset, and at speed 20 ended before cancel-resume's cancel came on a loaded machine."""
    report, _ = await run_verify(late_cancel, scenario=scenario)
    failing = not_passed(report)
    assert report.exit_code == 0 and failing == "every step passed", f"{scenario}:\n{failing}"


async def test_readonly_sends_gets_only_and_reports_what_it_did_not_exercise() -> None:
    methods: list[str] = []

    async def spy(request: web.Request, handler: Handler) -> web.StreamResponse:
        methods.append(request.method)
        return await handler(request)

    report, app = await run_verify(spy, profile="readonly")
    assert set(methods) == {"GET"}
    assert report.exit_code == 0
    skipped = {f.step for f in report.findings if f.kind == "not exercised"}
    assert skipped == {name for name, _, readonly in PLAN if not readonly} | {"logs", "tail", "download"}
    assert any("history lists no ended job" in f.rule for f in report.findings), report.summary()
    assert app[MOCK].engine.jobs() == []


async def test_readonly_reads_the_log_of_the_newest_ended_job_in_history() -> None:
    methods: list[str] = []

    async def spy(request: web.Request, handler: Handler) -> web.StreamResponse:
        methods.append(request.method)
        return await handler(request)

    app = create_app(scenario=load_scenario("default"), overrides={"speed": 20, "clock": "real"})
    app.middlewares.append(web.middleware(spy))
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        job = app[MOCK].engine.start(StartRequest(SANDBOX), "admin")
        async with asyncio.timeout(30):  # a condition waited on, within a bound
            while app[MOCK].engine.get(job.processing_id).status.name != "SUCCESS":
                await asyncio.sleep(0.05)
        options = Options(SANDBOX, "readonly", poll_s=0.02, timeout_s=20)
        report = await verify(url, Credentials("admin", "admin"), options, rate=1000)
    assert set(methods) == {"GET"} and report.exit_code == 0, report.summary()
    for step in ("logs", "tail", "download"):
        assert report.steps[step] == "passed", report.steps
    assert len(app[MOCK].engine.jobs()) == 1  # it started nothing


async def test_the_rate_is_kept() -> None:
    began = time.monotonic()
    await run_verify(profile="readonly", rate=10)  # 3 requests: at least 0.2 s apart in all
    assert time.monotonic() - began >= 0.2


# --- drifted servers ------------------------------------------------------------------------------


async def test_a_required_key_missing_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        drop = request.path == STATUS
        return await json_drift(
            request, handler, lambda j: {k: v for k, v in j.items() if k != "hasLogs" or not drop}
        )

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any("`hasLogs` is required" in f for f in findings(report, "violation")), report.summary()


async def test_an_undocumented_key_is_a_warning_and_fails_only_when_strict() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(
            request, handler, lambda j: {**j, "priority": 1} if request.path == STATUS else j
        )

    report, _ = await run_verify(drift)
    assert report.exit_code == 0
    assert any("`priority` is not a field" in f for f in findings(report, "undocumented")), report.summary()
    assert findings(report, "violation") == []
    strict, _ = await run_verify(drift, strict=True)
    assert strict.exit_code == 1


async def test_a_status_going_back_is_a_violation() -> None:
    ended: set[str] = set()

    def back(job: Any) -> Any:
        if job.get("status") == "SUCCESS" and job["processingId"] in ended:
            return {**job, "status": "IN_PROGRESS", "completedAt": 0}
        if job.get("status") == "SUCCESS":
            ended.add(job["processingId"])
        return job

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, back if request.path == STATUS else lambda j: j)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any("status went from SUCCESS to IN_PROGRESS" in f for f in findings(report, "violation")), (
        report.summary()
    )


async def test_a_triggered_count_going_back_is_a_violation() -> None:
    seen: dict[str, int] = {}

    def back(job: Any) -> Any:
        count = job.get("triggeredCount", 0)
        if job.get("status") == "IN_PROGRESS" and count >= 2 and "done" not in seen:
            if "high" not in seen:
                seen["high"] = count
            else:
                seen["done"] = 1
                return {**job, "triggeredCount": seen["high"] - 1}
        return job

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await json_drift(request, handler, back if request.path == STATUS else lambda j: j)

    report, _ = await run_verify(drift, speed=2)
    assert report.exit_code == 1
    assert any("triggeredCount went back" in f for f in findings(report, "violation")), report.summary()


async def test_a_gap_between_log_pages_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        query = dict(request.query)
        if request.path == f"{BASE_PATH}/logs" and int(query.get("offset", 0)) > 0 and "tail" not in query:
            query["offset"] = str(int(query["offset"]) + 1)  # one line skipped, the offset echoed shifted
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any(f.startswith("logs:") for f in findings(report, "violation")), report.summary()


async def test_a_duplicate_between_log_pages_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        query = dict(request.query)
        if request.path == f"{BASE_PATH}/logs" and int(query.get("offset", 0)) > 0 and "tail" not in query:
            query["offset"] = str(int(query["offset"]) - 1)
            response = await handler(request.clone(rel_url=request.rel_url.with_query(query)))
            assert isinstance(response, web.Response) and isinstance(response.body, bytes)
            page = json.loads(response.body)
            response.body = json.dumps({**page, "offset": page["offset"] + 1}).encode()  # it hides it
            return response
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any("a gap or a duplicate" in f for f in findings(report, "violation")), report.summary()


async def test_a_zip_whose_log_differs_from_the_pages_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/logs/download":
            job = request.app[MOCK].engine.find(request.query["processingId"])
            assert job is not None
            lines = list(job.log)[:-1]  # the last line lost
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as z:
                z.writestr(f"{job.processing_id}.log", "\n".join(lines) + "\n")
            return web.Response(body=archive.getvalue(), content_type="application/zip")
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert any(f.startswith("download: the ZIP's log") for f in findings(report, "violation")), (
        report.summary()
    )


async def test_a_500_on_start_is_a_violation_and_the_rest_not_exercised() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.path == BASE_PATH and "path" in await request.json():
            return web.json_response({"error": "boom"}, status=500)
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert findings(report, "violation") == ["start: a valid start answers 500"]
    assert report.steps["follow"] == report.steps["download"] == "not exercised"


async def test_an_answer_that_is_not_json_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/history"):
            return web.Response(text="<html>Sling error</html>", content_type="text/html")
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    assert "history: the answer is not JSON (text/html)" in findings(report, "violation"), report.summary()


async def test_a_cancel_the_author_refuses_leaves_cancel_resume_not_exercised() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/cancel":
            return web.json_response({"status": 409, "message": "no"}, status=409)
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 0, report.summary()
    assert report.steps["cancel-resume"] == "not exercised"
    assert any("could not be cancelled (409)" in f.rule for f in report.findings), report.summary()


async def test_a_resume_the_author_refuses_is_a_violation() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/resume":
            return web.json_response({"status": 500, "message": "boom"}, status=500)
        return await handler(request)

    report, _ = await run_verify(drift, scenario="cancel-and-resume")
    assert report.exit_code == 1
    assert "cancel-resume: resuming a CANCELLED job answers 500" in findings(report, "violation")


async def test_a_log_that_never_ends_stops_at_the_timeout() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/logs":
            offset = int(request.query.get("offset", "0"))
            return web.json_response(
                {"lines": [f"line {offset}"], "offset": offset, "limit": 7, "hasMore": True}
            )
        return await handler(request)

    began = time.monotonic()
    report, _ = await run_verify(drift, timeout_s=2)
    assert time.monotonic() - began < 10
    assert report.exit_code == 3
    (finding,) = findings(report, "setup error")
    assert finding.startswith("logs: the plan did not end within 2 s (--timeout; its steps get 1.8 s")


async def test_401_on_every_call_is_a_setup_error() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.json_response({"error": "no"}, status=401)

    report, _ = await run_verify(drift)
    assert report.exit_code == 3
    assert findings(report, "setup error") == [
        "system-status: GET /bin/guides/v1/system/status: 401: the credentials were refused"
    ]
    assert all(outcome != "passed" for outcome in report.steps.values())


async def test_a_job_that_never_ends_is_a_setup_error_and_is_cancelled() -> None:
    report, app = await run_verify(speed=0.001, timeout_s=1.0)
    assert report.exit_code == 3
    assert any("did not end within 1 s" in f for f in findings(report, "setup error")), report.summary()
    (job,) = app[MOCK].engine.jobs()
    assert job.status == "CANCELLED"  # cleaned up


# --- the command ------------------------------------------------------------------------------------


async def test_the_command_writes_reports_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    secret = "pw-9f3k2-verify"
    app = create_app(scenario=HELD, overrides={"speed": 20, "clock": "real", "users": {"verifier": secret}})
    app.middlewares.append(web.middleware(late_cancel))
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        monkeypatch.setenv("AEM_PASSWORD", secret)
        reports = ["--report", f"json={tmp_path / 'r.json'}", "--report", f"junit={tmp_path / 'r.xml'}"]
        argv = ["verify", "--target", url, "--user", "verifier", "--sandbox", SANDBOX, "--poll", "20ms",
                "--rate", "1000/s", *reports, "--emit-settings", str(tmp_path / "pace.yaml")]  # fmt: skip
        code = await asyncio.to_thread(main, argv)
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exitCode"] == 0 and set(report["steps"].values()) == {"passed"}
    assert b'failures="0"' in (tmp_path / "r.xml").read_bytes()
    assert main(["check", str(tmp_path / "pace.yaml")]) == 0
    for name in ("r.json", "r.xml", "pace.yaml"):
        assert secret not in (tmp_path / name).read_text()


def test_a_dry_run_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--target", "http://127.0.0.1:9", "--dry-run", "--profile", "readonly"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing sent" in out and out.count("[skipped: readonly]") == 7


def test_an_unreachable_author_is_a_setup_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--target", "http://127.0.0.1:9", "--timeout", "5s"]) == 3
    assert "setup error" in capsys.readouterr().out
