"""A stateful property test: Hypothesis drives the live mock through start, clock moves, cancel,
resume, logs, download and history, and checks every answer against a reference model.

The model (:class:`~tests.support.lifecycle_model.Reference`) predicts each job from the commands the test
sent and the manual clock alone: it never reads a value back from the server. After every step each
job's status is compared with the prediction, field by field; a failure names the job, the field,
the expected value and the one received. ``tools/mutants.py`` shows the engine mutants it kills.
"""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse
import zipfile
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from mock_server import ManualClock, MockServer
from mock_server.api.operations import BASE_PATH
from tests.support.hypothesis_profiles import examples
from tests.support.lifecycle_model import (
    ACTIVE,
    HISTORY_SIZE,
    PATHS,
    START_MS,
    STOPPED,
    UNKNOWN,
    ModelJob,
    Reference,
    flatten,
)

# Seconds each (0.8 to 1.5 s in one process): in the slow step, which .ci/run runs with every example.
pytestmark = pytest.mark.slow

SCENARIO = """
description: stateful test; jobs for demo1 fail at their 3rd asset
jobs:
  - match: {path: /content/dam/demo1}
    processing: {fail_at: 3, comment: broken}
"""


def serve(runners: int, start_ms: int = START_MS) -> MockServer:
    """A server of the scenario with ``runners`` runners (§3.12's concurrency) and a manual clock
    that starts at ``start_ms``."""
    return MockServer(SCENARIO + f"settings: {{concurrency: {runners}}}\n", clock=ManualClock(start_ms))


#: One server per machine (runners, where its clock starts), started on first use.
SERVERS = {(1, START_MS): serve(1), (2, START_MS): serve(2), (1, 0): serve(1, start_ms=0)}

#: Clock moves: round numbers land on the pace's boundaries, the others between them; 4 s lets the
#: longest job (demo, 18 assets: 3.7 s) end in one move.
DELAYS = st.one_of(st.sampled_from([0, 99, 100, 101, 200, 300, 1000, 4000]), st.integers(0, 3000))


class Mock:
    """A tiny synchronous client of the mock, on one kept-alive connection (the machine polls a lot)."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        address = urllib.parse.urlsplit(server.url)
        self.connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, bytes]:
        url = BASE_PATH + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.server.headers, **({"Content-Type": "application/json"} if data else {})}
        self.connection.request(method, url, data, headers)
        with self.connection.getresponse() as response:
            return response.status, response.read()

    def json(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        status, raw = self.call(method, path, body, **query)
        return status, json.loads(raw)

    def close(self) -> None:
        self.connection.close()


class LifecycleMachine(RuleBasedStateMachine):
    """One runner; each run of the machine starts from a reset server and a fresh model."""

    jobs = Bundle("jobs")
    runners = 1
    start_ms = START_MS

    def __init__(self) -> None:
        super().__init__()
        self.server = SERVERS[self.runners, self.start_ms]
        if not self.server.url:
            self.server.start()
        self.server.reset()
        self.http = Mock(self.server)
        self.model = Reference(self.runners, self.start_ms)
        self.verified_lines: dict[str, int] = {}  # each log's length when last found as predicted

    def teardown(self) -> None:
        self.http.close()

    @initialize()
    def fresh(self) -> None:
        assert self.server.jobs == []
        assert self.server.advance(0) == self.start_ms, "the manual clock does not start where the model does"

    def check(self, job: ModelJob, got: Any, where: str) -> None:
        """``got`` is the job object the model predicts, field by field."""
        expected, received = flatten(self.model.payload(job)), flatten(got)
        wrong = [
            f"{key}: expected {expected.get(key, '<absent>')!r}, got {received.get(key, '<absent>')!r}"
            for key in dict.fromkeys([*expected, *received])
            if expected.get(key, "<absent>") != received.get(key, "<absent>")
        ]
        moment = self.model.now - self.start_ms
        assert not wrong, (
            f"{where}: job #{job.number} {job.processing_id} ({job.path}) at t={moment} ms:\n  "
            + "\n  ".join(wrong)
        )

    # --- rules
    def _start(self, path: str) -> str | None:
        status, body = self.http.json("POST", "", {"path": path, "type": "ASSET_PROCESSING"})
        if self.model.busy(path):
            assert status == 400 and "is already" in body["message"], (path, status, body)
            return None
        assert status == 200, (path, status, body)
        return self.model.start(body["processingId"], path).processing_id

    @rule(target=jobs, path=st.sampled_from(PATHS))
    def start(self, path: str) -> MultipleResults[str]:
        started = self._start(path)
        return multiple() if started is None else multiple(started)

    @rule(target=jobs, paths=st.lists(st.sampled_from(PATHS), min_size=2, max_size=4, unique=True))
    def start_several(self, paths: list[str]) -> MultipleResults[str]:
        """Several starts at one instant: a queue to wait in."""
        return multiple(*filter(None, map(self._start, paths)))

    @rule(ms=DELAYS)
    def advance(self, ms: int) -> None:
        self.server.advance(ms / 1000)
        self.model.advance(ms)

    @precondition(lambda self: self.model.next_event() is not None)
    @rule(nudge=st.sampled_from([-1, 0, 1]))
    def advance_to_next_event(self, nudge: int) -> None:
        """Land just before, on or just after the next predicted event: same-millisecond cases."""
        at = self.model.next_event()
        assert at is not None
        self.advance(max(0, at - self.model.now + nudge))

    @precondition(lambda self: self.model.running)
    @rule(nudge=st.sampled_from([-1, 0, 1]))
    def advance_to_an_end(self, nudge: int) -> None:
        """Land just before, on or just after the moment a running job should end."""
        self.advance(max(0, min(map(self.model.end_of, self.model.running)) - self.model.now + nudge))

    @rule(job=jobs)
    def cancel(self, job: str) -> None:
        known = self.model.jobs[job]
        status, body = self.http.json("POST", "/cancel", {"processingId": job})
        if known.status in ACTIVE:
            assert status == 200, (known.status, status, body)
            self.model.cancel(known)
            self.check(known, body, "the answer to cancel")
        else:
            assert status == 400 and "cannot be cancelled" in body["message"], (known.status, status, body)

    @rule(job=jobs)
    def resume(self, job: str) -> None:
        known = self.model.jobs[job]
        status, body = self.http.json("POST", "/resume", {"processingId": job})
        if known.status not in STOPPED:
            assert status == 400 and "cannot be resumed" in body["message"], (known.status, status, body)
        elif self.model.busy(known.path, but=known):
            assert status == 400 and "is already" in body["message"], (status, body)
        else:
            assert status == 200, (known.status, status, body)
            self.model.resume(known)
            self.check(known, body, "the answer to resume")

    # The bundle's jobs are mostly finished: these pick, through the model, a job the command fits.
    @precondition(lambda self: self.model.some(ACTIVE))
    @rule(pick=st.integers(0, 99))
    def cancel_active(self, pick: int) -> None:
        self.cancel(self.model.some(ACTIVE)[pick % len(self.model.some(ACTIVE))])

    @precondition(lambda self: self.model.some(STOPPED))
    @rule(pick=st.integers(0, 99))
    def resume_stopped(self, pick: int) -> None:
        self.resume(self.model.some(STOPPED)[pick % len(self.model.some(STOPPED))])

    @precondition(lambda self: self.model.some(("IN_PROGRESS",)))
    @rule(pick=st.integers(0, 99))
    def pause(self, pick: int) -> None:
        """Cancel a running job and resume it at once, as a client's pause button would."""
        running = self.model.some(("IN_PROGRESS",))
        job = running[pick % len(running)]
        self.cancel(job)
        self.resume(job)

    @rule()
    def unknown_job(self) -> None:
        """§3.13: an id the mock never handed out is a 400 everywhere."""
        for method, path in (("GET", "/status"), ("GET", "/logs"), ("GET", "/logs/download")):
            assert self.http.call(method, path, processingId=UNKNOWN)[0] == 400, path
        for action in ("/cancel", "/resume"):
            assert self.http.call("POST", action, {"processingId": UNKNOWN})[0] == 400, action

    @rule(job=jobs, size=st.integers(1, 7), tail=st.integers(0, 12))
    def logs(self, job: str, size: int, tail: int) -> None:
        known = self.model.jobs[job]
        lines, total, where = self.whole_log(known), len(known.log), self.log_name(known)
        # Paged to the end, the log is the same as in one page; each page is exactly its slice.
        offset = 0
        while True:
            status, page = self.http.json("GET", "/logs", processingId=job, offset=offset, limit=size)
            assert status == 200, page
            want = {
                "lines": lines[offset : offset + size],
                "offset": offset,
                "limit": size,
                "hasMore": offset + size < total,
            }
            assert page == want, f"{where}: page at offset {offset}, limit {size}"
            if not page["hasMore"]:
                break
            offset += size
        status, ending = self.http.json("GET", "/logs", processingId=job, tail=tail)
        assert status == 200, ending
        want = {
            "lines": lines[max(total - tail, 0) :] if tail else [],
            "offset": max(total - tail, 0),
            "limit": tail,
            "hasMore": False,
        }
        assert ending == want, f"{where}: tail {tail}"
        processed = [
            line.split("Processing asset [")[1].split("/")[0]
            for line in lines
            if "Processing asset [" in line
        ]
        assert processed == [str(n) for n in range(1, len(processed) + 1)], f"{where}: an asset twice"

    @rule(job=jobs)
    def download(self, job: str) -> None:
        known = self.model.jobs[job]
        whole = self.whole_log(known)
        status, raw = self.http.call("GET", "/logs/download", processingId=job)
        assert status == 200, raw[:300]
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            zipped = archive.read(f"{job}.log").decode().splitlines()
        assert zipped == whole, f"{self.log_name(known)}: the ZIP differs from the log"

    @rule()
    def history(self) -> None:
        status, body = self.http.json("GET", "/history")
        assert status == 200, body
        listed = body["executionHistory"]
        newest_first = list(self.model.jobs.values())[::-1][:HISTORY_SIZE]
        assert [job["processingId"] for job in listed] == [job.processing_id for job in newest_first], (
            "history: expected the jobs newest first, by start number: "
            f"{[job.number for job in newest_first]}"
        )
        for job, got in zip(newest_first, listed, strict=True):
            self.check(job, got, "history")

    # --- after every step, every job is as predicted
    @invariant()
    def every_job_as_predicted(self) -> None:
        """Poll every job; count the log lines of the active ones and of those whose log changed
        since it was last counted (the logs and download rules read whole logs)."""
        for job in self.model.jobs.values():
            status, body = self.http.json("GET", "/status", processingId=job.processing_id)
            assert status == 200, body
            self.check(job, body, "status")
            if job.status in ACTIVE or self.verified_lines.get(job.processing_id) != len(job.log):
                self.check_log_length(job)

    def log_name(self, job: ModelJob) -> str:
        moment = self.model.now - self.start_ms
        return f"the log of job #{job.number} {job.processing_id} ({job.path}) at t={moment} ms"

    def whole_log(self, job: ModelJob) -> list[str]:
        """The job's log in one page, each line as predicted."""
        expected, total, where = job.log, len(job.log), self.log_name(job)
        assert total <= 500, "the model's log outgrew one page: shorten the machine's runs"
        status, whole = self.http.json("GET", "/logs", processingId=job.processing_id, limit=500)
        assert status == 200, whole
        lines: list[str] = whole["lines"]
        assert (whole["offset"], whole["limit"], whole["hasMore"]) == (0, 500, False), whole
        assert len(lines) == total, (
            f"{where}: expected {total} lines, got {len(lines)}:\n  "
            + "\n  ".join(map(str, expected))
            + "\ngot:\n  "
            + "\n  ".join(lines)
        )
        for number, (line, got) in enumerate(zip(expected, lines, strict=True)):
            assert line.matches(got), f"{where}, line {number}: expected {line}, got {got!r}"
        return lines

    def check_log_length(self, job: ModelJob) -> None:
        """The log has as many lines as predicted: §3.19's ``tail=0`` answers the count as its offset."""
        status, body = self.http.json("GET", "/logs", processingId=job.processing_id, tail=0)
        assert status == 200, body
        assert body["offset"] == len(job.log), (
            f"{self.log_name(job)}: expected {len(job.log)} lines, got {body['offset']}; expected:\n  "
            + "\n  ".join(map(str, job.log))
        )
        self.verified_lines[job.processing_id] = len(job.log)


TestLifecycle = LifecycleMachine.TestCase
TestLifecycle.settings = settings(max_examples=examples(30), stateful_step_count=30, deadline=None)


class TwoRunnersMachine(LifecycleMachine):
    """The same rules and model with two runners: the model never assumed one."""

    runners = 2


TestTwoRunners = TwoRunnersMachine.TestCase
TestTwoRunners.settings = settings(max_examples=examples(20), stateful_step_count=30, deadline=None)


class EpochMachine(LifecycleMachine):
    """The same with a clock that starts at the epoch: a time of 0 is a time like any other, not
    "unset" (on the wire an unset time is 0 too, so the model predicts the same answers)."""

    start_ms = 0


TestEpoch = EpochMachine.TestCase
TestEpoch.settings = settings(max_examples=examples(15), stateful_step_count=30, deadline=None)


def teardown_module() -> None:
    for server in SERVERS.values():
        server.stop()
