"""``verify`` against hostile authors over real sockets: answers in two parts, no answer at all, answers
that trickle in, an endless ``hasMore``, JSON nested 100,000 levels deep, a ZIP bomb as the download, an
answer over the cap, a connection cut mid-answer; and the mock itself streaming a 10,000-line log's ZIP
in many parts. Each ends in a finding of the right kind (a violation is the author's doing, a setup error
verify's inability to read), within ``--timeout``, and in reports that are written whatever happened."""

from __future__ import annotations

import asyncio
import io
import json
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mock_server.api.operations import BASE_PATH
from mock_server.cli import main
from mock_server.contract.lifecycle import ENDED
from mock_server.http.runtime import MOCK
from mock_server.recording.limits import JsonCaps
from mock_server.verify import Options, Report, plan
from mock_server.verify.run import Run
from mock_server.verify.target import Answer as Reply
from mock_server.verify.target import SetupError
from tests.support.verify import SANDBOX, STATUS, Handler, findings, run_verify

Answer = Callable[[str, str], tuple[int, bytes] | None]  # None: no answer, ever


def plain_author(method: str, path: str) -> tuple[int, bytes] | None:
    """A small author's answers: enough for the plan to go on to a started job."""
    if path.startswith(f"{BASE_PATH}/status?"):
        known = "processingId=j" in path
        return (200, b'{"status": "IN_PROGRESS"}') if known else (404, b'{"status": 404}')
    if method == "POST" and path == BASE_PATH:
        return 200, b'{"processingId": "j"}'
    return 200, b"{}"


@asynccontextmanager
async def raw_author(how: str, answer: Answer = plain_author, pace_s: float = 0.0) -> AsyncIterator[str]:
    """An author on a raw socket, its URL. ``how`` it answers each request: ``silent`` (it reads the
    request and never answers), ``trickle`` (the headers, then the body a byte at a time over ``pace_s``) or
    ``cut`` (the headers and half the body it announces, then it closes the connection)."""
    writers: list[asyncio.StreamWriter] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]  # a handler runs in a task
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                method, target = head.split(b" ", 2)[:2]
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                await reader.readexactly(length)
                answered = answer(method.decode(), target.decode())
                if how == "silent" or answered is None:
                    await asyncio.Event().wait()
                    return
                status, body = answered
                announced = len(body) * (2 if how == "cut" else 1)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {announced}\r\n\r\n".encode())  # fmt: skip
                if how == "cut":
                    writer.write(body)
                    await writer.drain()
                    writer.close()
                    return
                for byte in range(len(body)):
                    writer.write(body[byte : byte + 1])
                    await writer.drain()
                    await asyncio.sleep(pace_s / len(body))  # the author's own pace: what the test is about
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the author stops (below): this connection's end, said nowhere

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # each ends here, not at the loop's close
        for writer in writers:
            writer.close()
        server.close()


#: What a loaded 2-core machine may add to ``--timeout`` before ``main`` returns (closing the session,
#: writing the reports, a thread waiting its turn for the GIL): a bound on hanging, not a benchmark.
MARGIN_S = 5.0


async def verify_cli(url: str, tmp_path: Path, timeout: str, *flags: str) -> tuple[int, float]:
    """``verify --target URL --timeout T --report json=… --report junit=…``: its exit code, and the
    seconds from ``main``'s call to its return, in its thread (as ``--timeout`` counts: not the time the
    thread waited to start)."""
    reports = ["--report", f"json={tmp_path / 'r.json'}", "--report", f"junit={tmp_path / 'r.xml'}"]
    argv = ["verify", "--target", url, "--timeout", timeout, "--poll", "20ms", "--rate", "1000/s",
            "--sandbox", SANDBOX, *reports, *flags]  # fmt: skip

    def timed() -> tuple[int, float]:
        began = time.monotonic()
        code = main(argv)
        return code, time.monotonic() - began

    return await asyncio.to_thread(timed)


def written(tmp_path: Path) -> dict[str, Any]:
    """The JSON report, after checking the JUnit report is XML."""
    ET.fromstring((tmp_path / "r.xml").read_bytes())
    return dict(json.loads((tmp_path / "r.json").read_text()))


# --- answers that come slowly, in parts, or not at all ------------------------------------------------


async def test_answers_in_two_parts_are_read_whole() -> None:
    async def in_two_parts(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response  # the download: already streamed, in many parts
        body, half = response.body, len(response.body) // 2
        parted = web.StreamResponse(status=response.status, headers=response.headers)
        await parted.prepare(request)
        await parted.write(body[:half])
        await asyncio.sleep(0.005)  # the author's pace: its second part comes later
        await parted.write(body[half:])
        await parted.write_eof()
        return parted

    report, _ = await run_verify(in_two_parts)
    assert report.exit_code == 0, report.summary()
    assert set(report.steps.values()) == {"passed"}


async def test_the_mock_streaming_a_long_log_passes(tmp_path: Path) -> None:
    """large-repository at speed: a 10,000-line log, its ZIP streamed in 40 parts."""
    report, _ = await run_verify(
        scenario="large-repository", options={"sandbox": "/content/dam/large/f1", "page": 500},
        clock="per-poll", poll_step_ms=60_000,  # each status poll moves the clock a minute: it ends at once
    )  # fmt: skip
    assert report.exit_code == 0, report.summary()
    assert set(report.steps.values()) == {"passed"}


async def test_an_author_that_never_answers_is_a_setup_error_within_the_timeout(tmp_path: Path) -> None:
    async with raw_author("silent") as url:
        code, took = await verify_cli(url, tmp_path, "1s")
    assert code == 3 and took < 1 + MARGIN_S
    report = written(tmp_path)
    assert report["exitCode"] == 3
    (finding,) = report["findings"]
    assert finding["kind"] == "setup error" and finding["step"] == "system-status"
    assert finding["rule"].startswith("the plan did not end within 1 s (--timeout")


async def test_an_author_that_trickles_cannot_stretch_the_timeout(tmp_path: Path) -> None:
    async with raw_author("trickle", pace_s=1.0) as url:  # each answer whole within its own timeout
        code, took = await verify_cli(url, tmp_path, "1.5s")
    assert code == 3 and took < 1.5 + MARGIN_S
    report = written(tmp_path)
    assert any(f["rule"].startswith("the plan did not end within 1.5 s") for f in report["findings"])
    assert not [f for f in report["findings"] if "not JSON" in f["rule"]]  # each read whole, slow as it came


async def test_the_clean_up_is_bounded_too_and_names_the_job_it_could_not_cancel(tmp_path: Path) -> None:
    def started_then_silent(method: str, path: str) -> tuple[int, bytes] | None:
        return None if "processingId=j" in path else plain_author(method, path)

    async with raw_author("trickle", started_then_silent) as url:
        code, took = await verify_cli(url, tmp_path, "2s")
    assert code == 3 and took < 2 + MARGIN_S
    rules = {f["step"]: f["rule"] for f in written(tmp_path)["findings"] if f["kind"] == "setup error"}
    assert rules["follow"].startswith("the plan did not end within 2 s")
    assert rules["clean-up"].startswith("the job(s) j may still run: the timeout came before verify")


async def test_a_connection_cut_mid_answer_is_a_setup_error_not_a_violation() -> None:
    async with raw_author("cut") as url:
        report = Report(url, "safe")
        from mock_server.verify import Credentials, verify

        await verify(url, Credentials(), Options(SANDBOX, timeout_s=5), rate=1000, report=report)
    assert report.exit_code == 3
    assert findings(report, "violation") == []
    (finding,) = findings(report, "setup error")
    assert finding.startswith("system-status: GET /bin/guides/v1/system/status: no whole answer came")


# --- answers too big or too deep -----------------------------------------------------------------------


async def test_an_endless_has_more_stops_at_the_cap_and_the_plan_goes_on() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/logs":
            offset = int(request.query.get("offset", "0"))
            return web.json_response(
                {"lines": [f"line {offset}"] * 7, "offset": offset, "limit": 7, "hasMore": True}
            )
        return await handler(request)

    report, _ = await run_verify(drift, timeout_s=20, options={"max_log_lines": 100})
    assert report.exit_code == 3
    (finding,) = findings(report, "setup error")
    assert finding.startswith("logs: the log of job ") and "goes on past 100 lines" in finding
    assert report.steps["tail"] == report.steps["download"] == "not exercised"
    assert report.steps["history-has-job"] == report.steps["cancel-resume"] == "passed"


async def test_json_nested_100000_deep_is_a_violation_naming_the_depth() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/history"):
            return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1, report.summary()
    assert "history: the answer is JSON nested too deeply for any answer of the contract: it nests " \
        "100000 levels deep; at most 64 are read" in findings(report, "violation")  # fmt: skip


async def test_json_of_too_many_values_is_a_setup_error() -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/system/status"):
            return web.Response(body=b"[" + b"{}," * 1000 + b"{}]", content_type="application/json")
        return await handler(request)

    report, _ = await run_verify(drift, options={"json": JsonCaps(max_values=500)})
    assert report.exit_code == 3
    assert "system-status: verify could not read the answer: it holds 1002 JSON values; at most 500 " \
        "are read" in findings(report, "setup error")  # fmt: skip


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_over_the_cap_is_a_setup_error(chunked: bool) -> None:
    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/system/status"):
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding() if chunked else response.__setattr__("content_length", 5000)
            await response.prepare(request)
            await response.write(b" " * 4998 + b"{}")
            return response
        return await handler(request)

    report, _ = await run_verify(drift, options={"max_answer": 1000})
    assert report.exit_code == 3
    (finding,) = findings(report, "setup error")
    said = "goes on past 1000 bytes" if chunked else "declares 5000 bytes"
    assert finding.startswith(f"system-status: GET /bin/guides/v1/system/status: the answer {said}")


async def test_a_zip_bomb_download_is_a_violation_found_before_it_inflates() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("job.log", "\n" * 4_000_000)

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == f"{BASE_PATH}/logs/download":
            return web.Response(body=archive.getvalue(), content_type="application/zip")
        return await handler(request)

    report, _ = await run_verify(drift)
    assert report.exit_code == 1
    (finding,) = findings(report, "violation")
    assert finding.startswith("download: the download is not a log's ZIP: member 'job.log' inflates")
    ET.fromstring(report.to_junit())  # its excerpt, the ZIP's bytes, is XML the report can hold


# --- whatever goes wrong, a report ----------------------------------------------------------------------


async def test_a_bug_of_verify_is_a_setup_error_in_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(lines: list[str]) -> dict[str, int]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(plan, "_pace", bug)  # the plan's last call: every job started has ended
    report, app = await run_verify()
    assert report.exit_code == 3
    assert findings(report, "setup error") == [
        "cancel-resume: verify stopped: RuntimeError: a bug (a bug of verify's: please report it)"
    ]
    assert all(job.status.name in ENDED for job in app[MOCK].engine.jobs())


#: The requests of each step whose answers become JSON of another type than an object.
SENT_BY: dict[str, Callable[[web.Request], bool]] = {
    "system-status": lambda r: r.path.endswith("/system/status"),
    "history": lambda r: r.path.endswith("/history"),
    "start": lambda r: r.method == "POST" and r.path == BASE_PATH,
    "status": lambda r: r.path == STATUS,
    "cancel": lambda r: r.path == f"{BASE_PATH}/cancel",
    "resume": lambda r: r.path == f"{BASE_PATH}/resume",
    "logs": lambda r: r.path == f"{BASE_PATH}/logs",
    "download": lambda r: r.path == f"{BASE_PATH}/logs/download",
}


@pytest.mark.parametrize("value", [["x"], "x", {"executionHistory": 5, "status": ["x"], "lines": 5}],
                         ids=["list", "string", "odd-fields"])  # fmt: skip
@pytest.mark.parametrize("sent_by", sorted(SENT_BY))
async def test_json_of_another_type_at_any_step_is_a_violation_never_a_crash(
    sent_by: str, value: Any
) -> None:
    """An answer whose JSON is not an object (or whose fields are of other types) is the author's
    violation; the plan goes on where it can, and every job it started ends (the clean-up reads the
    status answers of its own: when they are lists, it cancels the job all the same)."""

    async def drift(request: web.Request, handler: Handler) -> web.StreamResponse:
        if SENT_BY[sent_by](request):
            return web.json_response(value)  # 200, and the mock never sees the request
        return await handler(request)

    report, app = await run_verify(drift, timeout_s=3, speed=200)  # jobs of 7 ms: what matters is each answer
    bugs = [f.line() for f in report.findings if "verify stopped" in f.rule or "could not run" in f.rule]
    assert bugs == [], report.summary()
    assert report.exit_code == 1 or (sent_by == "status" and report.exit_code == 3), report.summary()
    assert all(job.status.name in ENDED for job in app[MOCK].engine.jobs()), report.summary()


async def test_the_clean_up_cancels_each_job_whatever_happens_with_the_one_before() -> None:
    """A status answer that is a list, a bug of verify's, no answer: each names its job, and the next
    job is cancelled still."""
    cancelled: list[str] = []

    class Author:
        async def call(self, method: str, path: str, query: Any = None, body: Any = None) -> Reply:
            pid = (query or body)["processingId"]
            if method == "POST":
                cancelled.append(pid)
                return Reply(200, b"{}", "application/json", f"POST {path}", "curl")
            if pid == "bug":
                raise RuntimeError("a bug")
            if pid == "silent":
                raise SetupError("GET status: no whole answer came")
            return Reply(200, b'["x"]', "application/json", f"GET {path}", "curl")

    report = Report("http://author", "safe")
    run = Run(Author(), report, Options(SANDBOX))  # type: ignore[arg-type]  # the Target calls it makes
    run.started = ["bug", "listed", "silent", "last"]
    await plan._clean_up(run, time.monotonic() + 10, "the timeout came")
    assert cancelled == ["listed", "last"]
    assert findings(report, "setup error") == [
        "clean-up: the job(s) bug (verify stopped: RuntimeError: a bug); silent (GET status: no whole "
        "answer came) may still run: verify could not cancel them; cancel them with POST "
        f"{BASE_PATH}/cancel"
    ]


async def test_a_report_that_cannot_be_written_is_said_with_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["verify", "--target", "http://127.0.0.1:9", "--timeout", "2s"]
    code = await asyncio.to_thread(main, [*argv, "--report", f"json={tmp_path / 'missing' / 'r.json'}"])
    assert code == 3
    out, err = capsys.readouterr()
    assert f"the folder {tmp_path / 'missing'} does not exist; nothing was sent" in err and out == ""
    code = await asyncio.to_thread(main, [*argv, "--report", "json=/dev/full"])
    out, err = capsys.readouterr()
    assert code == 3 and "exit 3" in out  # the summary first
    assert "cannot write the json report /dev/full: No space left on device" in err
