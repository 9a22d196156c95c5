"""The plan ``verify`` runs against an author, step by step, and what each step checks.

The oracle is the mock's own: every answer is checked against the schemas the mock validates
itself against (:class:`~mock_server.contract.rules.Contract`), and every observation of a job
(status polls, history items, cancel and resume answers) against the lifecycle rules
(:mod:`mock_server.contract.lifecycle`), in the order observed (:meth:`.Run.observe`). It starts jobs
only on ``Options.sandbox``: without one, only the readonly plan runs. Jobs the plan started are
cancelled when it stops, whatever happened.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from ..api.operations import BASE_PATH, SYSTEM_STATUS_PATH
from ..contract.lifecycle import ENDED
from ..core.logformat import estimate_pace, read_log
from .asset_status import STEPS as ASSET_STATUS_STEPS
from .asset_status import asset_status, unknown_job_id
from .findings import Report
from .logs import download, logs
from .run import Options, Run
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
    *ASSET_STATUS_STEPS,
)


async def run_plan(target: Target, report: Report, options: Options, began: float | None = None) -> None:
    """Run the plan, recording into ``report``, within ``options.timeout_s`` from ``began`` (a
    ``time.monotonic()``; now by default), every request included: the steps stop at the timeout less
    :attr:`~.Options.cleanup_s`, which goes to cancelling the jobs they started and that have not
    ended. Whatever goes wrong becomes a finding; nothing is raised but a cancellation, which is a
    finding too (naming the step it stopped, and :attr:`.Report.stopped`): the clean-up then runs
    within :attr:`~.Options.cleanup_s` from the cancellation, and the cancellation goes on."""
    began = time.monotonic() if began is None else began
    steps_end, end = began + options.timeout_s - options.cleanup_s, began + options.timeout_s
    run, stopped = Run(target, report, options, deadline=steps_end), False
    for name, _, _ in PLAN:
        report.steps[name] = "pending"
    try:
        async with asyncio.timeout(max(0.0, steps_end - time.monotonic())):
            await _steps(run)
    except SetupError as error:
        report.add("setup error", _current(run), str(error))
    except TimeoutError:
        report.add(
            "setup error",
            _current(run),
            f"the plan did not end within {options.timeout_s:g} s (--timeout; its steps get "
            f"{options.timeout_s - options.cleanup_s:g} s, the clean-up the last {options.cleanup_s:g} s)",
        )
    except Exception as error:  # an answer verify did not foresee, or a bug: a finding, not a traceback
        report.add(
            "setup error",
            _current(run),
            f"verify stopped: {type(error).__name__}: {error} (a bug of verify's: please report it)",
        )
    except asyncio.CancelledError:  # a signal (the command cancels the plan on SIGTERM and SIGINT)
        stopped = True
        report.add(
            "setup error",
            _current(run),
            f"the run was stopped ({report.stopped or 'cancelled'}) in this step, before the plan's end; the "
            f"jobs it started are cancelled in the next {options.cleanup_s:g} s at most (see clean-up)",
        )
        raise
    finally:
        for name, outcome in list(report.steps.items()):
            if outcome == "pending":
                report.steps[name] = "not exercised"
        why = "the timeout came"
        if stopped:  # the clean-up gets its share of the timeout from the stop, not all that is left of it
            end, why = min(end, time.monotonic() + options.cleanup_s), "the stop's clean-up time ended"
        await _clean_up(run, end, why)


def _current(run: Run) -> str:
    """The step the plan stopped in: that of its last request, else the first that did not run."""
    pending = (n for n, outcome in run.report.steps.items() if outcome == "pending")
    return run.step or next(pending, "plan")


async def _steps(run: Run) -> None:
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
    await unknown_job_id(run)
    if (why := run.options.readonly) is not None:
        ended = _newest_ended(listed.fields())
        if ended is not None:
            await download(run, ended, await logs(run, ended))
        else:
            for name in ("logs", "tail", "download"):
                run.skip(name, "history lists no ended job whose log the readonly plan could read")
        for name, _, readonly in PLAN:
            if not readonly:
                run.skip(name, why)
        return
    bad = await run.call("bad-input", None, "POST", base, body={"type": "ASSET_PROCESSING"})
    run.expect("bad-input", bad.status == 400, f"a start without a path answers 400, not {bad.status}", bad)
    r.ran("bad-input")
    pid = await _start(run, "start")
    if pid is None:
        return
    r.ran("start")
    job = await _follow(run, "follow", pid)
    if job is None:  # an answer it could not read: the job is not known to have ended
        for name in ("logs", "tail", "download", "history-has-job", "status-after-end", "asset-status",
                     "cancel-resume"):  # fmt: skip
            run.skip(name, f"the job {pid} could not be followed to its end (see follow)")
        return
    r.ran("follow")
    lines = await logs(run, pid)
    await download(run, pid, lines)
    history = await run.call("history-has-job", "history.response", "GET", f"{base}/history")
    ids = _observe_history(run, "history-has-job", history)
    run.expect("history-has-job", pid in ids, f"history lists the job {pid}", history)
    r.ran("history-has-job")
    again = await run.call("status-after-end", "job", "GET", f"{base}/status", query={"processingId": pid})
    run.observe("status-after-end", pid, again.fields(), again)
    r.ran("status-after-end")
    await asset_status(run, job)
    await _cancel_resume(run)
    r.pace.update(_pace(lines or []))


def _newest_ended(history: dict[str, Any]) -> str | None:
    """The id of the newest job that history lists as ended (history is newest first)."""
    jobs = history.get("executionHistory")
    for job in jobs if isinstance(jobs, list) else ():
        if isinstance(job, dict) and _ended(job) and isinstance(job.get("processingId"), str):
            return str(job["processingId"])
    return None


def _ended(job: dict[str, Any]) -> bool:
    """Whether a status answer says its job ended (a status of another type, a list: it does not)."""
    status = job.get("status")
    return isinstance(status, str) and status in ENDED


def _observe_history(run: Run, step: str, history: Answer) -> list[Any]:
    """The ids history lists; each item of a job the plan has seen is an observation of it (in the
    order observed: an item that shows its job back IN_PROGRESS after a SUCCESS poll breaks a rule)."""
    jobs = history.fields().get("executionHistory")
    items = [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []
    for item in items:
        pid = item.get("processingId")
        if isinstance(pid, str) and pid in run.seen:
            run.observe(step, pid, item, history, part=f", its item {pid}")
    return [item.get("processingId") for item in items]


async def _start(run: Run, step: str) -> str | None:
    assert run.options.sandbox is not None, "the plan starts jobs only on a sandbox named"
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
    pid = answer.fields().get("processingId")
    if not isinstance(pid, str) or not pid:  # the schema check said so: no job to follow
        run.expect(step, False, "a start that answers 200 names its job's processingId", answer)
        return None
    run.started.append(pid)
    return pid


async def _follow(run: Run, step: str, pid: str, acted: str | None = None) -> dict[str, Any] | None:
    """Poll until the job ends; every answer checked against the schema and, with every observation
    of the job before it, the lifecycle (``acted``: the client's action before the first poll). A 200
    it cannot read (not JSON, not an object, no string ``status``) ends the step at once: None."""
    while True:
        if time.monotonic() > run.deadline:
            raise TimeoutError
        answer = await run.call(step, "job", "GET", f"{BASE_PATH}/status", query={"processingId": pid})
        if answer.status != 200:
            run.expect(
                step, answer.status in (429, 500, 502, 503), f"a status poll answers {answer.status}", answer
            )
        elif (unread := _unreadable(answer)) is not None:
            if unread:  # else over a size cap: the check said so, as a setup error
                run.expect(step, False, f"{unread}: the job cannot be followed, the step ends here", answer)
            return None
        else:
            job = answer.fields()
            run.observe(step, pid, job, answer, acted)
            acted = None
            if _ended(job):
                return job
        await asyncio.sleep(run.options.poll_s)


def _unreadable(answer: Answer) -> str | None:
    """Why the status answer ``answer`` (a 200) says no status to follow; "" when verify could not
    read it within its caps (a setup error, not the author's); None when it is readable."""
    job = answer.json()
    limit = answer.limit()
    if job is None and limit is not None and limit.cap != "depth":
        return ""
    if job is None:
        return f"the status answer is not JSON ({answer.content_type})" if limit is None else str(limit)
    if not isinstance(job, dict):
        return f"the status answer is a JSON {type(job).__name__}, not an object"
    status = job.get("status")
    if not isinstance(status, str):
        return (
            "the status answer has no `status`"
            if status is None
            else (f"the status answer's `status` is {json.dumps(status)[:40]}, not a string")
        )
    return None


async def _cancel_resume(run: Run) -> None:
    step = "cancel-resume"
    pid = await _start(run, step)
    if pid is None:
        return
    cancel = await run.call(step, "job", "POST", f"{BASE_PATH}/cancel", body={"processingId": pid})
    if cancel.status != 200:
        run.skip(step, f"the job could not be cancelled ({cancel.status}): it may have ended first")
        await _follow(run, step, pid)
        return
    run.observe(step, pid, _job_of(cancel, pid), cancel, "cancel")
    job = await _follow(run, step, pid, "cancel")
    if job is None:
        return
    if job.get("status") != "CANCELLED":
        run.skip(step, f"the job ended {job.get('status')} before the cancel took")
        return
    resume = await run.call(step, "job", "POST", f"{BASE_PATH}/resume", body={"processingId": pid})
    if run.expect(step, resume.status == 200, f"resuming a CANCELLED job answers {resume.status}", resume):
        run.observe(step, pid, _job_of(resume, pid), resume, "resume")
        await _follow(run, step, pid, "resume")
    run.report.ran(step)


def _job_of(answer: Answer, pid: str) -> dict[str, Any]:
    """A cancel or resume answer as an observation of the job ``pid``: only one that names it (the
    contract documents no answer to either; ``{"status": "SUCCESS"}`` may say the call went well)."""
    fields = answer.fields()
    return fields if fields.get("processingId") == pid else {}


async def _clean_up(run: Run, end: float, why: str) -> None:
    """Cancel what the plan started and has not ended, by ``end``: a verify run leaves the author as it
    was, or says which jobs may still run. Each job on its own: what goes wrong with one (no answer,
    an answer of another shape, a bug) names it, and the next is cancelled still. ``why``: what
    ``end`` is, to say when it comes first."""
    left, unsure = list(run.started), list[str]()
    try:
        async with asyncio.timeout(max(0.0, end - time.monotonic())):
            while left:
                pid = left[0]
                try:
                    status = await run.target.call("GET", f"{BASE_PATH}/status", query={"processingId": pid})
                    if not _ended(status.fields()):
                        cancel = await run.target.call(
                            "POST", f"{BASE_PATH}/cancel", body={"processingId": pid}
                        )
                        if cancel.status >= 500 or cancel.status in (401, 403):
                            unsure.append(f"{pid} (the cancel answered {cancel.status})")
                except SetupError as error:
                    unsure.append(f"{pid} ({error})")
                except Exception as error:  # a bug of verify's: this job named, the next one cancelled
                    unsure.append(f"{pid} (verify stopped: {type(error).__name__}: {error})")
                left.pop(0)
    except (TimeoutError, asyncio.CancelledError) as error:
        run.report.add(
            "setup error",
            "clean-up",
            f"the job(s) {', '.join(left)} may still run: "
            + (why if isinstance(error, TimeoutError) else "verify was stopped again")
            + f" before verify could cancel them; cancel them with POST {BASE_PATH}/cancel",
        )
        if isinstance(error, asyncio.CancelledError):
            raise
    if unsure:
        run.report.add(
            "setup error",
            "clean-up",
            f"the job(s) {'; '.join(unsure)} may still run: verify could not cancel them; cancel them "
            f"with POST {BASE_PATH}/cancel",
        )


def _pace(lines: list[str]) -> dict[str, int]:
    """The author's pace from its log's timestamps: counting time and time per asset (ms)."""
    pace = estimate_pace([read_log(lines)])
    found = {"per_asset_ms": pace.per_asset_ms, "counting_ms": pace.counting_ms}
    return {key: ms for key, ms in found.items() if ms is not None}
