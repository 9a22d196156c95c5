"""The operations of the API: one table (:data:`OPERATIONS`), one handler each. No aiohttp here.

A row of the table says everything about an operation: its name (the operationId, the target of a
scenario's faults, the journal's ``operation``), method and path, the schemas of its query, body and
answer, the statuses it may answer, its summary, and its handler. Routing (:mod:`..http.app`), the
OpenAPI document (:mod:`.openapi`), the fault targets of scenarios, the Hypothesis strategies and the
admin API's ``/operations`` view all walk this table; adding an operation is one row and one handler.

Each handler gets a :class:`Call` whose query and body already passed their schemas, and answers a
:class:`Reply` whose JSON payload the app checks against ``Reply.schema`` before sending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from ..core.archive import Measures, zip_stream
from ..core.asset_status import DONE, STARTED, StatusJobs
from ..core.clock import Clock, PerPollClock
from ..core.errors import RequestViolation, Violation
from ..core.jobs import JobEngine, StartRequest
from ..core.settings import Settings
from .payloads import SerializedJobs, job_payload

__all__ = [
    "ASSET_STATUS_PATH",
    "BASE_PATH",
    "OPERATIONS",
    "OPERATION_NAMES",
    "PATHS",
    "RESTART_PATH",
    "Api",
    "Call",
    "Operation",
    "Reply",
    "operation_named",
]

BASE_PATH = "/bin/guides/v1/assets/process"
SYSTEM_STATUS_PATH = "/bin/guides/v1/system/status"
#: The companion API (§3.40): the post-processing status of the assets under some paths.
ASSET_STATUS_PATH = "/bin/guides/v1/assets/status"
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
    is_error: bool = False
    """The payload is the mock's error object (sent as Sling's HTML page when that is switched on)."""


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True, slots=True, eq=False)
class Operation:
    """One operation of the API: a row of :data:`OPERATIONS`; rows compare by identity."""

    name: str
    """The operationId; also what a scenario's fault names in ``endpoint`` and the journal records."""
    method: str
    path: str
    handler: Callable[[Api, Call], Reply]
    _: KW_ONLY
    summary: str
    response: str
    """The schema of a 200 answer."""
    statuses: frozenset[int]
    """Every status it may answer of its own, listed by the OpenAPI document (a scenario's injected
    faults may answer any other)."""
    query: str = "no-parameters.query"
    """The schema of its query parameters."""
    body: str | None = None
    """The schema of its JSON body, if it takes one."""
    body_required: bool = False
    id_in_body: bool = False
    """It takes ``processingId`` in its JSON body or, failing that, in the query (§3.14, §3.15)."""
    media_types: tuple[str, ...] = ("application/json",)
    """What a 200 answer may be sent as, the default first."""
    starts_job: bool = False
    """It answers the ``processingId`` of a new job (the OpenAPI document links it onwards)."""
    served: Callable[[Settings], bool] = _always
    """Whether a mock with these settings serves it (404 otherwise)."""
    how_to_serve: str = ""
    """What serves it when ``served`` says no: for messages."""


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    """A single string as a one-item list (§3.6, §3.7)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class Api:
    """The handlers of the operations, bound to one engine; ``operations`` are those it serves."""

    def __init__(self, engine: JobEngine, settings: Settings, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._serialized = SerializedJobs(settings)
        self._measures = Measures()  # the sizes of the ZIPs downloaded last: a second download is one pass
        self.status_jobs = StatusJobs(engine)
        self.operations = tuple(operation for operation in OPERATIONS if operation.served(settings))
        self.routes: dict[str, dict[str, Operation]] = {path: {} for path in PATHS}
        for operation in self.operations:
            self.routes[operation.path][operation.method] = operation

    def serves(self, operation: Operation) -> bool:
        return operation in self.operations

    def answer(self, operation: Operation, call: Call) -> Reply:
        """``operation``'s handler's answer to ``call``."""
        return operation.handler(self, call)

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
        log = job.log.snapshot()  # read twice (measured, then streamed): the same lines each time
        return Reply(
            stream=zip_stream(
                f"{name}.log",
                lambda: log.lines(0, len(log)),
                self.engine.clock.now_ms() if job.completed_at is None else job.completed_at,
                measures=self._measures,
                key=log.version,
            ),
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

    def asset_status_start(self, call: Call) -> Reply:
        """§3.40: a status job for the assets under ``paths`` (and ``path``, the parameter table's
        name, served with a warning); its status is read by :meth:`asset_status`."""
        body = call.body
        paths = (*_as_tuple(body.get("paths")), *_as_tuple(body.get("path")))
        job = self.status_jobs.start(paths, _as_tuple(body.get("excludedPaths")), call.user)
        return Reply({"jobId": job.job_id, "status": STARTED}, "asset-status.response")

    def asset_status(self, call: Call) -> Reply:
        """§3.40: the status job's assets, each with its status as the bulk jobs make it now."""
        job = self.status_jobs.get(call.query["jobId"])
        assets = [report.payload() for report in self.status_jobs.assets(job)]
        return Reply({"jobId": job.job_id, "status": DONE, "assets": assets}, "asset-status-job")

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


# --- the table ------------------------------------------------------------------------------------

#: What any operation may answer: success, a contract violation, no credentials, an unknown job
#: (when unknown ids answer 404), a wrong method, a conflict (when conflicts answer 409), a failure.
_ANY = frozenset({200, 400, 401, 404, 405, 409, 500})
#: What an operation with a body may answer besides: a POST without its CSRF token from a browser
#: (when csrf is on) or in a login-token session (403), too slow (408), too large (413), not JSON (415).
_WITH_BODY = _ANY | {403, 408, 413, 415}
#: What an operation that queues a job may answer besides: the queue is full (429).
_QUEUES = _WITH_BODY | {429}

#: Every operation of the API, in the order the OpenAPI document lists them.
OPERATIONS: tuple[Operation, ...] = (
    Operation("start", "POST", BASE_PATH, Api.start,
              summary="Start bulk processing of the assets under a path",
              body="start.request", body_required=True, response="start.response", statuses=_QUEUES,
              starts_job=True),
    Operation("status", "GET", f"{BASE_PATH}/status", Api.status,
              summary="The status of a job",
              query="job.query", response="job", statuses=_ANY),
    Operation("logs", "GET", f"{BASE_PATH}/logs", Api.logs,
              summary="A page of a job's log",
              query="logs.query", response="logs.response", statuses=_ANY),
    Operation("download", "GET", f"{BASE_PATH}/logs/download", Api.download,
              summary="The job's log as a ZIP (or its paths, for Accept: application/json)",
              query="job.query", response="download.response", statuses=_ANY,
              media_types=("application/zip", "application/json")),
    Operation("cancel", "POST", f"{BASE_PATH}/cancel", Api.cancel,
              summary="Cancel a waiting or running job",
              query="job-action.query", body="job-action.request", id_in_body=True, response="job",
              statuses=_WITH_BODY),
    Operation("resume", "POST", f"{BASE_PATH}/resume", Api.resume,
              summary="Resume a cancelled or failed job from its checkpoint",
              query="job-action.query", body="job-action.request", id_in_body=True, response="job",
              statuses=_QUEUES),
    Operation("restart", "POST", RESTART_PATH, Api.restart,
              summary="Start a new job for the request of a finished (SUCCESS) job",
              query="job-action.query", body="job-action.request", id_in_body=True,
              response="start.response", statuses=_QUEUES, starts_job=True,
              served=lambda settings: settings.restart_endpoint,  # §3.16: off by default
              how_to_serve="set restart_endpoint: true"),
    Operation("history", "GET", f"{BASE_PATH}/history", Api.history,
              summary="The last jobs, newest first",
              response="history.response", statuses=_ANY),
    Operation("system-status", "GET", SYSTEM_STATUS_PATH, Api.system_status,
              summary="The system's status (JCR or database processing)",
              response="system-status.response", statuses=_ANY),
    Operation("asset-status-start", "POST", ASSET_STATUS_PATH, Api.asset_status_start,
              summary="Start a job that fetches the post-processing status of the assets under paths",
              body="asset-status.request", body_required=True, response="asset-status.response",
              statuses=_WITH_BODY),
    Operation("asset-status", "GET", ASSET_STATUS_PATH, Api.asset_status,
              summary="The assets of an asset-status job, each with its post-processing status",
              query="asset-status.query", response="asset-status-job", statuses=_ANY),
)  # fmt: skip
#: The name of every operation: what a scenario's fault may target.
OPERATION_NAMES = tuple(operation.name for operation in OPERATIONS)
#: Every path the API serves.
PATHS = tuple(dict.fromkeys(operation.path for operation in OPERATIONS))


def operation_named(name: str) -> Operation:
    """The operation called ``name``; a ValueError lists the names there are."""
    for operation in OPERATIONS:
        if operation.name == name:
            return operation
    raise ValueError(f"no operation {name!r}; the operations are {', '.join(OPERATION_NAMES)}")
