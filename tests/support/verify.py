"""``verify`` against the mock on aiohttp's TestServer, behind a drift (a middleware that changes what
the mock answers), with the sandbox's job held until its first poll so that no step races the clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from mock_server import create_app, load_scenario
from mock_server.api.operations import BASE_PATH
from mock_server.http.runtime import MOCK
from mock_server.scenarios.scenario import JobScriptSpec, Scenario, glob
from mock_server.verify import Credentials, Options, Report, verify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Drift = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
SANDBOX = "/content/dam/22858"
STATUS = f"{BASE_PATH}/status"


def held(scenario: Scenario, sandbox: str = SANDBOX) -> Scenario:
    """``scenario`` with each job on ``sandbox`` held WAITING until its first status poll: cancel-resume's
    cancel, sent before one, always finds its job running (at speed 20 a job of 7 assets takes 75 ms,
    and a loaded machine can take longer than that between a start and the next request). A script of
    the scenario's own that takes the sandbox's starts waits for the poll too (one that waits for a
    time is no such short job); a start no script takes gets a script that only waits."""
    scripts = [
        replace(s, wait_polls=max(1, s.wait_polls))
        if (s.path is None or glob(s.path).matches(sandbox)) and not s.wait_ms
        else s
        for s in scenario.jobs
    ]
    return replace(scenario, jobs=(*scripts, JobScriptSpec(path=sandbox, wait_polls=1)))


#: The default DAM, each job on the sandbox held WAITING until its first status poll (:func:`held`).
HELD = held(load_scenario("default"))


async def late_cancel(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A cancel passed on only once every job has ended or is held for a poll: the cancel of a loaded
    machine, which comes after a short job has ended, made the rule (:func:`held` wins that race;
    without it cancel-resume is not exercised, every time). The mock reads the body: this does not."""

    def settled() -> bool:
        engine = request.app[MOCK].engine
        jobs = [engine.get(job.processing_id) for job in engine.jobs()]  # brought up to the clock
        return all(
            job.finished or (job.status.name == "WAITING" and job.release_time() is None) for job in jobs
        )

    if request.method == "POST" and request.path == f"{BASE_PATH}/cancel":
        async with asyncio.timeout(10):  # a condition waited on, within a bound
            while not settled():
                await asyncio.sleep(0.005)
    return await handler(request)


async def run_verify(
    drift: Drift | None = None, scenario: str = "default", speed: float = 20, timeout_s: float = 20,
    strict: bool = False, profile: str = "safe", rate: float = 1000, options: dict[str, Any] | None = None,
    **overrides: Any,
) -> tuple[Report, web.Application]:  # fmt: skip
    """Verify the mock (``overrides``: its settings) behind ``drift``; ``options``: verify's, by name."""
    sandbox = (options or {}).get("sandbox", SANDBOX)
    app = create_app(
        scenario=held(load_scenario(scenario), sandbox),
        overrides={"speed": speed, "clock": "real", **overrides},
    )
    if drift is not None:
        app.middlewares.append(web.middleware(drift))  # type: ignore[arg-type]  # its Protocol names the parameters
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        chosen = Options(**{"sandbox": SANDBOX, "profile": profile, "poll_s": 0.02, "timeout_s": timeout_s,
                            **(options or {})})  # fmt: skip
        report = await verify(url, Credentials("admin", "admin"), chosen, rate=rate, strict=strict)
    return report, app


def findings(report: Report, kind: str) -> list[str]:
    return [f"{f.step}: {f.rule}" for f in report.findings if f.kind == kind]


def not_passed(report: Report) -> str:
    """Each step that did not pass, with its outcome and findings (what a failed assertion shows):
    ``cancel-resume not exercised: [not exercised] cancel-resume: the job could not be cancelled…``."""
    lines = [
        f"{step} {outcome}: " + ("; ".join(f.line() for f in report.findings if f.step == step) or "-")
        for step, outcome in report.steps.items()
        if outcome != "passed"
    ]
    return "\n".join(lines) or "every step passed"


async def json_drift(
    request: web.Request, handler: Handler, change: Callable[[Any], Any]
) -> web.StreamResponse:
    response = await handler(request)
    if isinstance(response, web.Response) and response.content_type == "application/json" and response.body:
        assert isinstance(response.body, bytes)
        response.body = json.dumps(change(json.loads(response.body))).encode()
    return response
