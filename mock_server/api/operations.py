"""The operations of the API, one function each, over the engine. No aiohttp here.

Each operation gets a :class:`Call` whose query and body already passed their schemas, and answers a
:class:`Reply` whose JSON payload the app checks against ``Reply.schema`` before sending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.archive import zip_stream
from ..core.clock import Clock, PerPollClock
from ..core.errors import RequestViolation, Violation
from ..core.jobs import JobEngine, StartRequest
from ..core.settings import Settings
from .payloads import SerializedJobs, job_payload

__all__ = ["BASE_PATH", "ENDPOINTS", "PATHS", "RESTART_PATH", "Api", "Call", "Endpoint", "Operation", "Reply"]

BASE_PATH = "/bin/guides/v1/assets/process"
SYSTEM_STATUS_PATH = "/bin/guides/v1/system/status"
RESTART_PATH = f"{BASE_PATH}/restart"


@dataclass(frozen=True, slots=True)
class Call:
    user: str
    query: dict[str, Any]
    body: Any = None
    accept: str = ""


@dataclass(slots=True)
class Reply:
    payload: Any = None
    schema: str | None = None
    status: int = 200
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    """The payload already serialized (then ``payload`` may be None)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One endpoint: where it is, what its input must look like, and what answers it."""

    name: str
    method: str
    path: str
    query_schema: str
    handler: Callable[[Call], Reply]
    body_schema: str | None = None
    body_required: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What the contract says of one endpoint: where it is and which schemas its input follows."""

    name: str
    method: str
    path: str
    query_schema: str
    body_schema: str | None = None
    body_required: bool = False


_ACTION = ("job-action.query", "job-action.request")
#: Every endpoint of the API; :class:`Api` gives each its handler, the method named after it.
ENDPOINTS = (
    Endpoint("start", "POST", BASE_PATH, "no-parameters.query", "start.request", body_required=True),
    Endpoint("status", "GET", f"{BASE_PATH}/status", "job.query"),
    Endpoint("logs", "GET", f"{BASE_PATH}/logs", "logs.query"),
    Endpoint("download", "GET", f"{BASE_PATH}/logs/download", "job.query"),
    Endpoint("cancel", "POST", f"{BASE_PATH}/cancel", *_ACTION),
    Endpoint("resume", "POST", f"{BASE_PATH}/resume", *_ACTION),
    Endpoint("restart", "POST", RESTART_PATH, *_ACTION),  # served when switched on (§3.16)
    Endpoint("history", "GET", f"{BASE_PATH}/history", "no-parameters.query"),
    Endpoint("system-status", "GET", SYSTEM_STATUS_PATH, "no-parameters.query"),
)
#: Every path the API serves.
PATHS = tuple(dict.fromkeys(endpoint.path for endpoint in ENDPOINTS))


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    """A single string as a one-item list (§3.6, §3.7)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class Api:
    """The operations of the API, bound to one engine."""

    def __init__(self, engine: JobEngine, settings: Settings, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._serialized = SerializedJobs(settings)
        self.operations = tuple(
            Operation(e.name, e.method, e.path, e.query_schema, getattr(self, e.name.replace("-", "_")),
                      e.body_schema, e.body_required)
            for e in ENDPOINTS
            if e.name != "restart" or settings.restart_endpoint
        )  # fmt: skip
        self.by_name = {operation.name: operation for operation in self.operations}
        self.routes: dict[str, dict[str, Operation]] = {path: {} for path in PATHS}
        for operation in self.operations:
            self.routes[operation.path][operation.method] = operation

    def start(self, call: Call) -> Reply:
        body = call.body
        # The 2025-11 revision has no filter; lenient mode lets one through unchecked: ignore it.
        job_filter = body.get("filter") or {} if self.settings.contract_revision == "latest" else {}
        request = StartRequest(
            path=body["path"],
            type=body["type"],
            excluded_paths=_as_tuple(body.get("excludedPaths")),
            file_types=_as_tuple(job_filter.get("fileTypes")),
            start_time=job_filter.get("startTime"),
            end_time=job_filter.get("endTime"),
            # Only lenient mode lets it through (§3.11); it is echoed as sent.
            filter_processed_assets=job_filter.get("filterProcessedAssets") is True,
        )
        job = self.engine.start(request, call.user)
        return Reply({"processingId": job.processing_id}, "start.response")

    def status(self, call: Call) -> Reply:
        """A status poll: it moves a per-poll clock, and counts towards a scripted wait."""
        if isinstance(self.clock, PerPollClock) and self.engine.find(call.query["processingId"]):
            self.clock.polled()
        job = self.engine.poll(call.query["processingId"])
        return Reply(schema="job", body=self._serialized.of(job))

    def logs(self, call: Call) -> Reply:
        """A page of the log (§3.19): ``tail`` wins over ``offset``/``limit``."""
        log = self.engine.get(call.query["processingId"]).log
        total = len(log)
        most = self.settings.logs_limit
        tail = call.query.get("tail")
        if tail is not None:
            limit = min(tail, most)
            offset = max(total - limit, 0)
            lines = log.page(offset, limit)
            return Reply(
                {"lines": lines, "limit": limit, "offset": offset, "hasMore": False},
                "logs.response",
            )
        offset = call.query.get("offset", 0)
        limit = min(call.query.get("limit", most), most)
        lines = log.page(offset, limit)
        has_more = offset + len(lines) < total
        return Reply({"lines": lines, "limit": limit, "offset": offset, "hasMore": has_more}, "logs.response")

    def download(self, call: Call) -> Reply:
        """The whole log as a ZIP (§3.20), or its paths for a client that asks for JSON."""
        job = self.engine.get(call.query["processingId"])
        name = job.processing_id
        if self.settings.download_mode == "json" or _prefers_json(call.accept):
            paths = [f"{self.settings.log_dir}/{name}.log"]
            return Reply({"logFilePaths": paths}, "download.response")
        lines = job.log.lines(0, len(job.log))
        return Reply(
            stream=zip_stream(f"{name}.log", lines, job.completed_at or self.engine.clock.now_ms()),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )

    def cancel(self, call: Call) -> Reply:
        return Reply(job_payload(self.engine.cancel(self._action_id(call)), self.settings), "job")

    def resume(self, call: Call) -> Reply:
        return Reply(job_payload(self.engine.resume(self._action_id(call)), self.settings), "job")

    def restart(self, call: Call) -> Reply:
        """§3.16, when switched on: a new job for the request of a SUCCESS job; answers its id."""
        job = self.engine.restart(self._action_id(call), call.user)
        return Reply({"processingId": job.processing_id}, "start.response")

    def history(self, call: Call) -> Reply:
        jobs = [job_payload(job, self.settings) for job in self.engine.history()]
        return Reply({"executionHistory": jobs}, "history.response")

    def system_status(self, call: Call) -> Reply:
        database = self.settings.is_database
        bundles = ["com.adobe.fmdita", "com.adobe.guides.assets-processing"]
        if database:
            bundles.append("com.adobe.guides.database-connector")
        return Reply(
            {
                "isDatabase": database,
                "databaseConnectionCheck": "passed",
                "activeBundles": bundles,
                "inactiveBundles": [],
                "isCloud": bool(self.settings.tokens),
                "isUuid": True,
            },
            "system-status.response",
        )

    @staticmethod
    def _action_id(call: Call) -> str:
        """``processingId`` from the JSON body, or else from the query."""
        in_body = call.body.get("processingId") if isinstance(call.body, dict) else None
        in_query = call.query.get("processingId")
        if in_body is not None and in_query is not None and in_body != in_query:
            raise RequestViolation(
                "processingId differs between body and query",
                [Violation("query:processingId", "`processingId` in the query differs from the "
                           "one in the body; give it once", "the body's value", in_query)],
            )  # fmt: skip
        found = in_body if in_body is not None else in_query
        if found is None:
            raise RequestViolation(
                "processingId is required",
                [Violation("body:/processingId", '`processingId` is required: send the JSON body '
                           '{"processingId": "<id>"} (or ?processingId=<id>)', "a non-empty string", None,
                           keyword="required")],
            )  # fmt: skip
        return str(found)


def _prefers_json(accept: str) -> bool:
    """§3.20: JSON only when the client ranks it above a ZIP (by q-value, each type taking the most
    specific range that names it): ``application/json`` alone does, axios's
    ``application/json, text/plain, */*`` does not (a tie: the ZIP, as documented)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.setdefault(media.lower(), quality)

    def rank(media: str) -> float:
        kind = media.split("/")[0]
        for candidate in (media, f"{kind}/*", "*/*"):
            if candidate in ranges:
                return ranges[candidate]
        return 0.0

    return rank("application/json") > rank("application/zip")
