"""The plan ``verify`` runs against an author, step by step, and what each step checks.

The oracle is the mock's own: every answer is checked against the schemas the mock validates
itself against (:class:`~mock_server.contract.validation.Contract`), and every status answer of a
followed job against the lifecycle rules (:mod:`mock_server.contract.lifecycle`). Jobs the plan
started are cancelled when it stops, whatever happened.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import statistics
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from ..api.operations import BASE_PATH, OPERATIONS, SYSTEM_STATUS_PATH
from ..contract.lifecycle import ENDED, check_step
from ..contract.validation import Contract
from ..core.settings import Settings
from .findings import Kind, Report
from .target import Answer, SetupError, Target

__all__ = ["PLAN", "Options", "run_plan"]

#: The steps, in order: (name, what it does, whether the readonly profile runs it). The readonly
#: profile reads the log of the newest ended job that history lists, instead of one it started.
PLAN: tuple[tuple[str, str, bool], ...] = (
    ("system-status", f"GET {SYSTEM_STATUS_PATH}: the system status answer", True),
    ("history", f"GET {BASE_PATH}/history: the last jobs", True),
    ("start", f"POST {BASE_PATH} on the sandbox: a job starts", False),
    ("follow", f"GET {BASE_PATH}/status until the job ends: every transition legal", False),
    ("logs", f"GET {BASE_PATH}/logs page by page to the end: contiguous, no duplicates", True),
    ("tail", f"GET {BASE_PATH}/logs?tail=N: the last lines of the paged log", True),
    ("download", f"GET {BASE_PATH}/logs/download: a ZIP whose log is the paged log", True),
    ("history-has-job", f"GET {BASE_PATH}/history: the job is listed", False),
    ("status-after-end", f"GET {BASE_PATH}/status: an ended job stays ended", False),
    ("cancel-resume", f"POST {BASE_PATH}/cancel and /resume on a second job, followed to its end", False),
    ("unknown-id", f"GET {BASE_PATH}/status?processingId=<unknown>: 400 or 404", True),
    ("bad-input", f"POST {BASE_PATH} without a path: 400", False),
)
#: Each operation's path, from the mock's own table of operations.
_PATH = {op.name: op.path for op in OPERATIONS}
_ASSET = re.compile(r"Processing asset \[(\d+)/(\d+)\]")
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}):(\d{3})")


@dataclass(frozen=True)
class Options:
    sandbox: str = "/content/dam"
    profile: str = "safe"
    poll_s: float = 1.0
    page: int = 7  # small pages: several of them, and boundaries inside the log
    timeout_s: float = 600.0


class _Run:
    def __init__(self, target: Target, report: Report, options: Options):
        self.target, self.report, self.options = target, report, options
        self.contract = Contract(Settings())
        self.started: list[str] = []
        self.deadline = time.monotonic() + options.timeout_s

    async def call(self, step: str, schema: str | None, method: str, path: str, **kwargs: Any) -> Answer:
        answer = await self.target.call(method, path, **kwargs)
        if answer.status in (401, 403):
            raise SetupError(f"{answer.request}: {answer.status}: the credentials were refused")
        if schema is not None and answer.status == 200:
            self.check(step, schema, answer)
        return answer

    def check(self, step: str, schema: str, answer: Answer) -> Any:
        payload = answer.json()
        if payload is None:
            self.report.add(
                "violation",
                step,
                f"the answer is not JSON ({answer.content_type})",
                answer.request,
                answer.excerpt(),
                answer.curl,
            )
            return None
        for v in self.contract.check_response(schema, answer.body, None):
            undocumented = v.keyword == "additionalProperties" or (
                v.keyword == "enum" and "status" in v.where
            )
            kind: Kind = "undocumented" if undocumented else "violation"
            self.report.add(
                kind, step, f"{v.where}: {v.message}", answer.request, answer.excerpt(), answer.curl
            )
        return payload

    def expect(self, step: str, ok: bool, rule: str, answer: Answer) -> bool:
        if not ok:
            self.report.add("violation", step, rule, answer.request, answer.excerpt(), answer.curl)
        return ok

    def skip(self, step: str, why: str) -> None:
        self.report.add("not exercised", step, why)


async def run_plan(target: Target, report: Report, options: Options) -> None:
    """Run the plan, recording into ``report``; cancels the jobs it started before it returns."""
    run = _Run(target, report, options)
    for name, _, _ in PLAN:
        report.steps[name] = "pending"
    try:
        await _steps(run)
    except SetupError as error:
        report.add("setup error", _current(report), str(error))
    except TimeoutError:
        report.add(
            "setup error",
            _current(report),
            f"the plan did not end within {options.timeout_s:g} s (--timeout)",
        )
    finally:
        for name, outcome in list(report.steps.items()):
            if outcome == "pending":
                report.steps[name] = "not exercised"
        await _clean_up(run)


def _current(report: Report) -> str:
    return next((n for n, outcome in report.steps.items() if outcome == "pending"), "plan")


async def _steps(run: _Run) -> None:
    r, base = run.report, BASE_PATH
    await run.call("system-status", "system-status.response", "GET", SYSTEM_STATUS_PATH)
    r.ran("system-status")
    listed = await run.call("history", "history.response", "GET", f"{base}/history")
    r.ran("history")
    unknown = await run.call(
        "unknown-id", None, "GET", f"{base}/status", query={"processingId": str(uuid.uuid4())}
    )
    run.expect(
        "unknown-id",
        unknown.status in (400, 404),
        f"an unknown id answers 400 or 404, not {unknown.status}",
        unknown,
    )
    r.ran("unknown-id")
    if run.options.profile == "readonly":
        ended = _newest_ended(listed.json())
        if ended is not None:
            await _download(run, ended, await _logs(run, ended))
        else:
            for name in ("logs", "tail", "download"):
                run.skip(name, "history lists no ended job whose log the readonly profile could read")
        for name, _, readonly in PLAN:
            if not readonly:
                run.skip(name, "the readonly profile sends GETs only")
        return
    bad = await run.call("bad-input", None, "POST", base, body={"type": "ASSET_PROCESSING"})
    run.expect("bad-input", bad.status == 400, f"a start without a path answers 400, not {bad.status}", bad)
    r.ran("bad-input")
    pid = await _start(run, "start")
    if pid is None:
        return
    r.ran("start")
    job = await _follow(run, "follow", pid)
    r.ran("follow")
    lines = await _logs(run, pid)
    await _download(run, pid, lines)
    history = await run.call("history-has-job", "history.response", "GET", f"{base}/history")
    ids = [
        j.get("processingId")
        for j in (history.json() or {}).get("executionHistory", [])
        if isinstance(j, dict)
    ]
    run.expect("history-has-job", pid in ids, f"history lists the job {pid}", history)
    r.ran("history-has-job")
    again = await run.call("status-after-end", "job", "GET", f"{base}/status", query={"processingId": pid})
    for rule in check_step(job, again.json() or {}):
        run.expect("status-after-end", False, rule, again)
    r.ran("status-after-end")
    await _cancel_resume(run)
    r.pace.update(_pace(lines))


def _newest_ended(history: Any) -> str | None:
    """The id of the newest job that history lists as ended (history is newest first)."""
    jobs = history.get("executionHistory") if isinstance(history, dict) else None
    for job in jobs if isinstance(jobs, list) else ():
        if isinstance(job, dict) and job.get("status") in ENDED and isinstance(job.get("processingId"), str):
            return str(job["processingId"])
    return None


async def _start(run: _Run, step: str) -> str | None:
    body = {"path": run.options.sandbox, "type": "ASSET_PROCESSING"}
    answer = await run.call(step, "start.response", "POST", BASE_PATH, body=body)
    if answer.status >= 500:
        run.expect(step, False, f"a valid start answers {answer.status}", answer)
        return None
    if answer.status != 200:
        raise SetupError(
            f"{answer.request}: the sandbox {run.options.sandbox} refused a job ({answer.status}: "
            f"{answer.excerpt()[:120]}); give --sandbox a folder with no job running"
        )
    pid = str((answer.json() or {}).get("processingId", ""))
    run.started.append(pid)
    return pid


async def _follow(
    run: _Run, step: str, pid: str, before: dict[str, Any] | None = None, acted: str | None = None
) -> dict[str, Any]:
    """Poll until the job ends; every answer checked against the schema and the previous one."""
    while True:
        if time.monotonic() > run.deadline:
            raise TimeoutError
        answer = await run.call(step, "job", "GET", f"{BASE_PATH}/status", query={"processingId": pid})
        job = answer.json() if answer.status == 200 else None
        if isinstance(job, dict):
            for rule in check_step(before, job, acted):
                run.expect(step, False, rule, answer)
            before, acted = job, None
            if job.get("status") in ENDED:
                return job
        else:
            run.expect(
                step, answer.status in (429, 500, 502, 503), f"a status poll answers {answer.status}", answer
            )
        await asyncio.sleep(run.options.poll_s)


async def _logs(run: _Run, pid: str) -> list[str]:
    step, page, lines = "logs", run.options.page, list[str]()
    while True:
        if time.monotonic() > run.deadline:  # a log that never ends, or one too long to page in time
            raise TimeoutError
        query = {"processingId": pid, "offset": len(lines), "limit": page}
        answer = await run.call(step, "logs.response", "GET", f"{BASE_PATH}/logs", query=query)
        got = answer.json() or {}
        if answer.status != 200 or not isinstance(got.get("lines"), list):
            run.expect(step, False, f"a log page answers {answer.status}", answer)
            return lines
        run.expect(step, got.get("offset") == len(lines), f"the page echoes offset {len(lines)}", answer)
        lines += got["lines"]
        if not got.get("hasMore") or not got["lines"] or len(lines) > 1_000_000:
            break
    whole = await run.call(
        step,
        "logs.response",
        "GET",
        f"{BASE_PATH}/logs",
        query={"processingId": pid, "offset": 0, "limit": 500},
    )
    one = (whole.json() or {}).get("lines", [])
    if len(lines) <= 500:
        run.expect(
            step,
            one == lines,
            f"the {len(lines)} lines paged by {page} are the lines of one page of "
            f"{len(one)} (a gap or a duplicate between pages)",
            whole,
        )
    numbers = [int(m.group(1)) for line in lines if (m := _ASSET.search(line))]
    repeats = [n for a, n in itertools.pairwise(numbers) if n <= a]
    run.expect(step, not repeats, f"asset lines repeat or go back at asset {repeats[:1]}", whole)
    run.report.ran(step)
    tail = await run.call(
        "tail", "logs.response", "GET", f"{BASE_PATH}/logs", query={"processingId": pid, "tail": 3}
    )
    got = tail.json() or {}
    run.expect(
        "tail", got.get("lines") == lines[-3:], "tail=3 answers the last 3 lines of the paged log", tail
    )
    run.expect("tail", got.get("hasMore") is False, "a tail answer has hasMore false", tail)
    run.report.ran("tail")
    return lines


async def _download(run: _Run, pid: str, lines: list[str]) -> None:
    answer = await run.call(
        "download",
        None,
        "GET",
        _PATH["download"],
        query={"processingId": pid},
        accept="application/zip",
    )
    if not run.expect("download", answer.status == 200, f"the download answers {answer.status}", answer):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(answer.body)) as archive:
            names = [n for n in archive.namelist() if n.endswith(".log")]
            text = archive.read(names[0]).decode("utf-8") if names else ""
    except (zipfile.BadZipFile, UnicodeDecodeError, KeyError) as error:
        run.expect("download", False, f"the download is not a ZIP of a UTF-8 log ({error})", answer)
        return
    run.expect("download", bool(names), "the ZIP holds a .log file", answer)
    run.expect(
        "download",
        text.splitlines() == lines,
        f"the ZIP's log ({len(text.splitlines())} lines) is the paged log ({len(lines)} lines)",
        answer,
    )
    run.report.ran("download")


async def _cancel_resume(run: _Run) -> None:
    step = "cancel-resume"
    pid = await _start(run, step)
    if pid is None:
        return
    cancel = await run.call(step, "job", "POST", f"{BASE_PATH}/cancel", body={"processingId": pid})
    if cancel.status != 200:
        run.skip(step, f"the job could not be cancelled ({cancel.status}): it may have ended first")
        await _follow(run, step, pid)
        return
    job = await _follow(run, step, pid, cancel.json(), "cancel")
    if job.get("status") != "CANCELLED":
        run.skip(step, f"the job ended {job.get('status')} before the cancel took")
        return
    resume = await run.call(step, "job", "POST", f"{BASE_PATH}/resume", body={"processingId": pid})
    if run.expect(step, resume.status == 200, f"resuming a CANCELLED job answers {resume.status}", resume):
        await _follow(run, step, pid, job, "resume")
    run.report.ran(step)


async def _clean_up(run: _Run) -> None:
    """Cancel what the plan started and has not ended: a verify run leaves the author as it was."""
    for pid in run.started:
        try:
            status = await run.target.call("GET", f"{BASE_PATH}/status", query={"processingId": pid})
            if (status.json() or {}).get("status") not in ENDED:
                await run.target.call("POST", f"{BASE_PATH}/cancel", body={"processingId": pid})
        except SetupError:
            pass


def _pace(lines: list[str]) -> dict[str, int]:
    """The author's pace from its log's timestamps: counting time and time per asset (ms)."""

    def stamp(line: str) -> int | None:
        m = _STAMP.match(line)
        if not m:
            return None
        from datetime import UTC, datetime

        moment = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000) + int(m.group(2))

    started = next((stamp(x) for x in lines if "job started" in x), None)
    counted = next((stamp(x) for x in lines if "Counting completed" in x), None)
    assets = [t for x in lines if _ASSET.search(x) and (t := stamp(x)) is not None]
    pace: dict[str, int] = {}
    if started is not None and counted is not None:
        pace["counting_ms"] = max(0, counted - started)
    steps = [b - a for a, b in itertools.pairwise(assets) if b >= a]
    if steps:
        pace["per_asset_ms"] = max(1, round(statistics.median(steps)))
    return pace
