"""A stateful property test: Hypothesis drives the live mock through start, poll, clock moves,
cancel, resume, logs, download and history, against a small reference model."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from mock_server import MockServer

from .conftest import FLAGS

SCENARIO = """
description: stateful test; jobs for demo1 fail at their 3rd asset
jobs:
  - match: {path: /content/dam/demo1}
    processing: {fail_at: 3, comment: broken}
"""
PATHS = ["/content/dam/22858", "/content/dam/demo1", "/content/dam/dita-templates", "/content/dam/demo"]
ACTIVE = {"WAITING", "IN_PROGRESS"}
PROCESSED = re.compile(r"Processing asset \[(\d+)/")
#: One server per number of runners (§3.12's concurrency), started on first use.
SERVERS = {runners: MockServer(SCENARIO + f"settings: {{concurrency: {runners}}}\n") for runners in (1, 2)}


class Mock:
    """A tiny synchronous client of the mock."""

    def __init__(self, server: MockServer) -> None:
        self.server = server

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, bytes]:
        url = self.server.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.server.headers, **({"Content-Type": "application/json"} if data else {})}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method)) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        status, raw = self.call(method, path, body, **query)
        return status, json.loads(raw)


class LifecycleMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    runners = 1

    def __init__(self) -> None:
        super().__init__()
        self.server = SERVERS[self.runners]
        if not self.server.url:
            self.server.start()
        self.server.reset()
        self.http = Mock(self.server)
        self.seen: dict[str, dict[str, Any]] = {}  # the model: each job as last polled
        self.order: list[str] = []  # start order
        self.resumed: set[str] = set()

    @initialize()
    def fresh(self) -> None:
        assert self.server.jobs == []

    # --- rules
    @rule(target=jobs, path=st.sampled_from(PATHS))
    def start(self, path: str) -> Any:
        busy = any(job["path"] == path and job["status"] in ACTIVE for job in self.seen.values())
        status, body = self.http.json("POST", "", {"path": path, "type": "ASSET_PROCESSING"})
        if busy:
            assert status == 400, body
            return "unknown-id"
        assert status == 200, body
        self.order.append(body["processingId"])
        return body["processingId"]

    @rule(seconds=st.floats(0, 3))
    def advance(self, seconds: float) -> None:
        self.server.advance(seconds)

    @rule(job=jobs)
    def cancel(self, job: str) -> None:
        before = self.seen.get(job)
        status, body = self.http.json("POST", "/cancel", {"processingId": job})
        if before is None:
            assert status == 400
        elif before["status"] in ACTIVE:
            assert (status, body["status"]) == (200, "CANCELLED")
        else:
            assert status == 400 and "cannot be cancelled" in body["message"]

    @rule(job=jobs)
    def resume(self, job: str) -> None:
        before = self.seen.get(job)
        status, body = self.http.json("POST", "/resume", {"processingId": job})
        busy = before is not None and any(
            other["path"] == before["path"] and other["status"] in ACTIVE
            for other_id, other in self.seen.items()
            if other_id != job
        )
        if before is not None and before["status"] in ("FAILED", "CANCELLED") and busy:
            assert status == 400 and "is already" in body["message"], body
        elif before is not None and before["status"] in ("FAILED", "CANCELLED"):
            assert status == 200 and body["status"] in ACTIVE
            assert body["triggeredCount"] == before["triggeredCount"]  # from the checkpoint
            self.resumed.add(job)
        else:
            assert status == 400

    @rule(job=jobs, size=st.integers(1, 7), tail=st.integers(0, 12))
    def logs(self, job: str, size: int, tail: int) -> None:
        if job not in self.seen:
            return
        whole = self.http.json("GET", "/logs", processingId=job, limit=500)[1]["lines"]
        pages: list[str] = []
        while True:
            page = self.http.json("GET", "/logs", processingId=job, offset=len(pages), limit=size)[1]
            pages += page["lines"]
            if not page["hasMore"]:
                break
        assert pages == whole
        ending = self.http.json("GET", "/logs", processingId=job, tail=tail)[1]
        assert ending["lines"] == (whole[-tail:] if tail else [])
        processed = [
            line.split("Processing asset [")[1].split("/")[0]
            for line in whole
            if "Processing asset [" in line
        ]
        assert processed == [str(n) for n in range(1, len(processed) + 1)]  # no asset twice

    @rule(job=jobs)
    def download(self, job: str) -> None:
        if job not in self.seen:
            return
        whole = self.http.json("GET", "/logs", processingId=job, limit=500)[1]["lines"]
        status, raw = self.http.call("GET", "/logs/download", processingId=job)
        assert status == 200
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            assert archive.read(f"{job}.log").decode().splitlines() == whole

    @rule()
    def history(self) -> None:
        listed = [job["processingId"] for job in self.http.json("GET", "/history")[1]["executionHistory"]]
        assert listed == self.order[::-1][:20]

    # --- the model follows the server; every poll checks the invariants
    @invariant()
    def every_job_is_legal(self) -> None:
        running = 0
        for job_id in self.order:
            status, job = self.http.json("GET", "/status", processingId=job_id)
            assert status == 200
            before = self.seen.get(job_id)
            if before is not None:
                assert job["triggeredCount"] >= before["triggeredCount"]
                if before["status"] in ("SUCCESS", "FAILED", "CANCELLED") and job_id not in self.resumed:
                    assert job["status"] == before["status"]  # finished stays finished
            assert (
                0 <= job["triggeredCount"] <= job["migrationSet"]["totalFiles"] or job["status"] == "WAITING"
            )
            assert (job["cancellable"], job["resumable"], job["restartable"]) == FLAGS[job["status"]]
            running += job["status"] == "IN_PROGRESS"
            self.seen[job_id] = job
        self.resumed.clear()
        assert running <= self.runners


TestLifecycle = LifecycleMachine.TestCase
TestLifecycle.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


class TwoRunnersMachine(LifecycleMachine):
    """The same rules and model with two runners: the model never assumed one, but for the count."""

    runners = 2


TestTwoRunners = TwoRunnersMachine.TestCase
TestTwoRunners.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)


def teardown_module() -> None:
    for server in SERVERS.values():
        server.stop()
