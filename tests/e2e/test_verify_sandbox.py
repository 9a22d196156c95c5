"""``verify`` starts nothing unless ``--sandbox PATH`` is given: without it the readonly plan runs, and
every report (console, JSON, JUnit) says why the rest was not exercised."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mock_server import create_app
from mock_server.cli import main
from mock_server.http.runtime import MOCK
from mock_server.verify import PLAN, Credentials, Options, verify
from mock_server.verify.run import NO_SANDBOX
from tests.support.verify import HELD, Handler

#: The steps that start, cancel or resume a job: none of them runs without a sandbox.
WRITING = {name for name, _, readonly in PLAN if not readonly}


def spied() -> tuple[web.Application, list[str]]:
    """The default DAM, and the methods of every request it is sent."""
    methods: list[str] = []

    async def spy(request: web.Request, handler: Handler) -> web.StreamResponse:
        methods.append(request.method)
        return await handler(request)

    app = create_app(scenario=HELD, overrides={"speed": 20, "clock": "real"})
    app.middlewares.append(web.middleware(spy))
    return app, methods


async def test_the_command_without_a_sandbox_starts_nothing_and_every_report_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, methods = spied()
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        argv = ["verify", "--target", url, "--user", "admin", "--password-env", "I22_PW", "--poll", "20ms",
                "--rate", "1000/s", "--report", f"json={tmp_path / 'r.json'}",
                "--report", f"junit={tmp_path / 'r.xml'}"]  # fmt: skip
        with pytest.MonkeyPatch.context() as env:
            env.setenv("I22_PW", "admin")
            code = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert set(methods) == {"GET"} and app[MOCK].engine.jobs() == [], methods
    report = json.loads((tmp_path / "r.json").read_text())
    skipped = {f["step"]: f["rule"] for f in report["findings"] if f["kind"] == "not exercised"}
    assert {step for step, rule in skipped.items() if rule == NO_SANDBOX} == WRITING, skipped
    assert all(report["steps"][step] == "not exercised" for step in WRITING), report["steps"]
    assert f"[not exercised] start: {NO_SANDBOX}" in out
    junit = (tmp_path / "r.xml").read_text()
    assert f'<testcase classname="verify" name="start"><skipped message="{NO_SANDBOX}"' in junit


async def test_options_without_a_sandbox_start_nothing() -> None:
    """The library's default too: ``Options()`` names no sandbox."""
    app, methods = spied()
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        options = Options(poll_s=0.02, timeout_s=20)
        report = await verify(url, Credentials("admin", "admin"), options, rate=1000)
    assert set(methods) == {"GET"} and app[MOCK].engine.jobs() == [], report.summary()
    assert report.exit_code == 0 and report.steps["start"] == "not exercised", report.summary()


def test_a_dry_run_without_a_sandbox_says_what_it_would_skip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--target", "http://127.0.0.1:9", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "sandbox none" in out and out.count("[skipped: no --sandbox]") == len(WRITING), out
    assert NO_SANDBOX in out
    assert main(["verify", "--target", "http://127.0.0.1:9", "--dry-run", "--sandbox", "/content/dam/x"]) == 0
    assert "[skipped" not in capsys.readouterr().out
