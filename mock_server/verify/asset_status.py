"""``verify``'s steps for the companion API (§3.40): an unknown jobId, then a status job for the sandbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from ..api.operations import ASSET_STATUS_PATH
from .run import Run

__all__ = ["STEPS", "asset_status", "unknown_job_id"]

#: verify's steps for the companion API, as :data:`.plan.PLAN` lists them.
STEPS: tuple[tuple[str, str, bool], ...] = (
    ("asset-status-unknown", f"GET {ASSET_STATUS_PATH}?jobId=<unknown>: 400 or 404", True),
    ("asset-status", f"POST {ASSET_STATUS_PATH} for the sandbox, then GET its job until it is listed: "
     "every asset exists, and after a SUCCESS job every asset is SUCCESS", False),
)  # fmt: skip
#: The status job's own statuses that say its assets are not listed yet.
_NOT_YET = ("WAITING", "IN_PROGRESS")


async def unknown_job_id(run: Run) -> None:
    step = "asset-status-unknown"
    answer = await run.call(step, None, "GET", ASSET_STATUS_PATH, query={"jobId": str(uuid.uuid4())})
    run.expect(
        step, answer.status in (400, 404), f"an unknown jobId answers 400 or 404, not {answer.status}", answer
    )
    run.report.ran(step)


async def asset_status(run: Run, job: dict[str, Any]) -> None:
    """A status job for the sandbox after ``job`` (the followed bulk job over it) ended."""
    step = "asset-status"
    body = {"paths": [run.options.sandbox]}
    started = await run.call(step, "asset-status.response", "POST", ASSET_STATUS_PATH, body=body)
    job_id = started.fields().get("jobId") if started.status == 200 else None
    if not isinstance(job_id, str) or not job_id:
        run.expect(
            step,
            False,
            f"a status request for the sandbox answers 200 with a jobId, not {started.status}",
            started,
        )
        return
    while True:
        if time.monotonic() > run.deadline:
            raise TimeoutError
        answer = await run.call(step, "asset-status-job", "GET", ASSET_STATUS_PATH, query={"jobId": job_id})
        listed = answer.fields() if answer.status == 200 else {}
        if listed.get("status") not in _NOT_YET:
            break
        await asyncio.sleep(run.options.poll_s)
    assets = listed.get("assets")
    items = [a for a in assets if isinstance(a, dict)] if isinstance(assets, list) else []
    run.expect(step, answer.status == 200, f"the status job answers 200, not {answer.status}", answer)
    run.expect(step, all(a.get("exists") is True for a in items), "every asset of the sandbox exists", answer)
    if job.get("status") == "SUCCESS":
        failing = [a.get("path") for a in items if a.get("status") != "SUCCESS"]
        run.expect(
            step, not failing, f"after a SUCCESS job every asset is SUCCESS; not {failing[:3]}", answer
        )
    run.report.ran(step)
