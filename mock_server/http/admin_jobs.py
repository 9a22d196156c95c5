"""The admin API's job routes: every job, one job, its log by pages or as a ZIP, start, cancel and resume.

These are the mock's own routes (no credentials of the simulated author, no contract check, no
journal entry): what the dashboard's buttons call, and what a test may call to look or to act
without going through the API under test.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..api.operations import BASE_PATH, Call
from ..api.payloads import job_payload
from ..contract.fastpath import parse_json, reject_constant
from ..core.errors import JobError, MockError, UnknownJob
from ..core.job import Job
from .answers import admin_error, json_answer
from .downloads import send_stream
from .inflate import BodyTooLarge, BodyUnreadable, read_body
from .runtime import Mock, mock_of

__all__ = ["DASHBOARD_USER", "JOBS_PAGE", "JOB_ROUTES", "MAX_JOBS_PAGE", "MAX_LOG_PAGE"]

#: Who a job started through the admin API (the dashboard's form) is created by.
DASHBOARD_USER = "admin"

#: The most log lines one admin page holds.
MAX_LOG_PAGE = 1000
#: How many jobs one page of ``GET /__admin/jobs`` holds by default, and at most: 500 jobs are
#: worded and serialized in about 10 ms, a time the other clients wait.
JOBS_PAGE = 100
MAX_JOBS_PAGE = 500


def _error(status: int, message: str) -> web.Response:
    return json_answer(status, message)


def _job_or_404(request: web.Request) -> Job | web.Response:
    try:
        return mock_of(request).engine.get(request.match_info["processing_id"])
    except UnknownJob as error:
        return admin_error(error)


def _shown(job: Job, mock: Mock, **extra: Any) -> dict[str, Any]:
    return {**job_payload(job, mock.settings), "script": job.script, **extra}


async def _jobs(request: web.Request) -> web.Response:
    """``?offset=&limit=``: a page of the kept jobs, listed oldest first, each with its job script.

    Without ``offset``, the **newest** page: the last ``limit`` jobs (all of them while they are
    fewer), so that a client finds the job it just started however many are kept; ``offset`` then
    says how many older ones precede it. With ``offset``, the page from there (``offset=0``: the
    oldest). ``limit`` is :data:`JOBS_PAGE` (100) by default and at most :data:`MAX_JOBS_PAGE`
    (500). The answer says where the page is and whether newer jobs follow it::

        {"jobs": [...], "offset": 9900, "limit": 100, "total": 10000, "hasMore": false}

    A page costs O(limit), however many jobs are kept (``max_jobs``, 10,000 by default).
    """
    mock = mock_of(request)
    try:
        limit = _int_param(request, "limit", JOBS_PAGE, MAX_JOBS_PAGE)
        offset = _int_param(request, "offset", -1, 2**62)
    except ValueError as error:
        return _error(400, str(error))
    kept = mock.engine.view()
    total = len(kept)
    if offset < 0:  # none given: the newest page
        offset = max(0, total - limit)
    page = [_shown(job, mock) for job in kept[offset : offset + limit]]
    more = offset + len(page) < total
    return web.json_response({"jobs": page, "offset": offset, "limit": limit, "total": total,
                              "hasMore": more})  # fmt: skip


async def _job(request: web.Request) -> web.Response:
    job = _job_or_404(request)
    if isinstance(job, web.Response):
        return job
    return web.json_response(_shown(job, mock_of(request), polls=job.polls))


def _int_param(request: web.Request, name: str, default: int, most: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > most:
        raise ValueError(f"?{name}={raw[:40]!r}: give a whole number from 0 to {most}")
    return int(raw)


async def _logs(request: web.Request) -> web.Response:
    """``?offset=&limit=`` (at most :data:`MAX_LOG_PAGE`) lines of the job's log, and its length."""
    job = _job_or_404(request)
    if isinstance(job, web.Response):
        return job
    total = len(job.log)
    try:
        offset = _int_param(request, "offset", 0, 2**62)
        limit = _int_param(request, "limit", 100, MAX_LOG_PAGE)
    except ValueError as error:
        return _error(400, str(error))
    lines = job.log.page(offset, limit)
    return web.json_response({"lines": lines, "offset": offset, "limit": limit, "total": total})


async def _download(request: web.Request) -> web.StreamResponse:
    """The job's log as the API's ZIP (the same bytes), without the author's credentials."""
    job = _job_or_404(request)
    if isinstance(job, web.Response):
        return job
    mock = mock_of(request)
    reply = mock.api.download(Call("admin", {"processingId": job.processing_id}, accept="application/zip"))
    if reply.stream is None:  # download_mode json: the author answers paths, not a file
        return web.json_response(reply.payload)
    return await send_stream(request, reply, lambda: None)


async def _act(request: web.Request, action: str) -> web.Response:
    job = _job_or_404(request)
    if isinstance(job, web.Response):
        return job
    mock = mock_of(request)
    engine = mock.engine
    try:
        moved = engine.cancel(job.processing_id) if action == "cancel" else engine.resume(job.processing_id)
    except JobError as error:
        return admin_error(error)
    return web.json_response(_shown(moved, mock))


async def _start(request: web.Request) -> web.Response:
    """The API's start body (``{"path", "type", "excludedPaths"?, "filter"?}``), checked as the API
    checks it, started as :data:`DASHBOARD_USER` without credentials: the dashboard's form. Not
    journaled (the journal holds the client's exchanges): 200 with the job."""
    mock = mock_of(request)
    settings = mock.settings
    try:
        raw = await read_body(request, settings.max_body_bytes, settings.body_timeout_ms / 1000)
    except BodyTooLarge:
        return _error(413, f"the body is larger than {settings.max_body_bytes} bytes (max_body_bytes)")
    except BodyUnreadable as error:
        return _error(400, f"the body could not be read ({error.reason})")
    try:
        body, integral_floats = parse_json(raw.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError):
        return _error(400, 'send the API\'s start body as JSON, such as {"path": "/content/dam/x", '
                           '"type": "ASSET_PROCESSING"}')  # fmt: skip
    operation = mock.api.routes[BASE_PATH]["POST"]
    assert operation.body is not None  # the start operation takes a body
    body, errors, _ = mock.contract.read_body(operation.body, body, integral_floats)
    if errors:
        return json_answer(400, errors.summary(), violations=[v.to_json() for v in errors.listed])
    try:
        reply = mock.api.start(Call(DASHBOARD_USER, {}, body))
        job = mock.engine.get(reply.payload["processingId"])
    except MockError as error:
        return admin_error(error)
    return web.json_response(_shown(job, mock))


async def _cancel(request: web.Request) -> web.Response:
    return await _act(request, "cancel")


async def _resume(request: web.Request) -> web.Response:
    return await _act(request, "resume")


JOB_ROUTES = [
    ("GET", "/jobs", _jobs),
    ("POST", "/jobs", _start),
    ("GET", "/jobs/{processing_id}", _job),
    ("GET", "/jobs/{processing_id}/logs", _logs),
    ("GET", "/jobs/{processing_id}/download", _download),
    ("POST", "/jobs/{processing_id}/cancel", _cancel),
    ("POST", "/jobs/{processing_id}/resume", _resume),
]
