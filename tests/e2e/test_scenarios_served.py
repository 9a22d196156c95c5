"""Black-box: every shipped scenario, served by the CLI on the real clock and driven only by HTTP
requests (as curl would send them), shows what its description promises, in seconds.

Each server runs as ``aem-guides-mock serve --scenario NAME`` (``--speed`` where the scenario's pace
is minutes long), so these are the scenarios a user meets in the dev server, not in the fixture.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mock_server.scenarios.reading import shipped_scenarios
from tests.support.constants import BASE
from tests.support.constants import BASIC_ADMIN as BASIC
from tests.support.dev_server import serving

PROCESSED = re.compile(r"Processing asset \[(\d+)/")
#: How long a check may wait for what it is looking for; every check is done well within 60 s.
PATIENCE_S = 30.0


class Client:
    """Requests as curl sends them: a method, a URL, a header or two, maybe a JSON body."""

    def __init__(self, url: str, banner: list[str]) -> None:
        self.url = url
        self.banner = "".join(banner)
        self.auth = BASIC

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **query: Any
    ) -> tuple[int, dict[str, str], bytes]:
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Authorization": self.auth, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(target, data, {**sent, **(headers or {})}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        status, _, raw = self.call(method, path, body, **query)
        return status, json.loads(raw)

    def start(self, path: str, **fields: Any) -> str:
        status, body = self.json("POST", BASE, {"path": path, "type": "ASSET_PROCESSING", **fields})
        assert status == 200, body
        return str(body["processingId"])

    def status(self, pid: str) -> dict[str, Any]:
        status, body = self.json("GET", f"{BASE}/status", processingId=pid)
        assert status == 200, body
        return dict(body)

    def action(self, name: str, pid: str) -> dict[str, Any]:
        status, body = self.json("POST", f"{BASE}/{name}", {"processingId": pid})
        assert status == 200, body
        return dict(body)

    def until(self, pid: str, done: Callable[[dict[str, Any]], bool], every: float = 0.05) -> dict[str, Any]:
        """Poll the job until ``done`` holds; fail after :data:`PATIENCE_S`."""
        deadline = time.monotonic() + PATIENCE_S
        while True:
            job = self.status(pid)
            if done(job):
                return job
            assert time.monotonic() < deadline, f"still {job['status']} after {PATIENCE_S} s: {job}"
            time.sleep(every)

    def processed(self, pid: str) -> list[int]:
        lines = self.json("GET", f"{BASE}/logs", processingId=pid, limit=500)[1]["lines"]
        return [int(m.group(1)) for line in lines if (m := PROCESSED.search(line))]


@contextmanager
def served(name: str, *args: str) -> Iterator[Client]:
    with serving("--scenario", name, *args) as (_, url, banner):
        yield Client(url, banner)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("SUCCESS", "FAILED", "CANCELLED")


def test_default() -> None:
    with served("default", "--speed", "10") as mock:
        assert "clock:       real, jobs at x10 speed" in mock.banner
        job = mock.until(mock.start("/content/dam/22858"), finished)
        assert (job["status"], job["triggeredCount"], job["migrationSet"]["totalFiles"]) == ("SUCCESS", 6, 6)


def test_fail_midway() -> None:
    with served("fail-midway", "--speed", "20") as mock:
        pid = mock.start("/content/dam")
        job = mock.until(pid, finished)
        assert (job["status"], job["triggeredCount"], job["resumable"]) == ("FAILED", 36, True)
        assert job["comments"].startswith("Could not extract metadata: /content/dam/")
        mock.action("resume", pid)
        job = mock.until(pid, finished)
        assert (job["status"], job["triggeredCount"]) == ("SUCCESS", 167)
        assert mock.processed(pid) == list(range(1, 168))  # from the checkpoint: none twice, none skipped


def test_cancel_and_resume() -> None:
    with served("cancel-and-resume", "--speed", "10") as mock:  # 100 ms per asset
        pid = mock.start("/content/dam/22858")
        mock.until(pid, lambda job: job["triggeredCount"] >= 2)
        cancelled = mock.action("cancel", pid)
        assert cancelled["status"] == "CANCELLED" and 2 <= cancelled["triggeredCount"] < 6
        time.sleep(0.5)  # the wall clock moves (the subject): a cancelled job does not
        assert mock.status(pid)["triggeredCount"] == cancelled["triggeredCount"]  # it stays put
        mock.action("resume", pid)
        assert mock.until(pid, finished)["status"] == "SUCCESS"
        assert mock.processed(pid) == [1, 2, 3, 4, 5, 6]


def test_counting_failure() -> None:
    with served("counting-failure", "--speed", "10") as mock:
        pid = mock.start("/content/dam/22858")
        job = mock.until(pid, finished)
        assert (job["status"], job["migrationSet"]) == (
            "FAILED",
            {"totalFiles": 0, "calculationStatus": "FAILED"},
        )
        assert job["comments"] == "Asset count query timed out after 2 s"
        mock.action("resume", pid)
        job = mock.until(pid, finished)
        assert (job["status"], job["migrationSet"]["totalFiles"]) == ("SUCCESS", 6)


def test_slow_queue() -> None:
    with served("slow-queue", "--speed", "10") as mock:  # the first job waits 3 s
        began = time.monotonic()
        first = mock.start("/content/dam/22858")
        mock.until(first, lambda job: job["status"] != "WAITING")
        assert time.monotonic() - began >= 2.9  # held in the queue for its 30 s / 10
        second = mock.start("/content/dam/demo1")
        time.sleep(0.3)  # time passes (the subject): the queue counts polls, not time
        polled = [mock.status(second) for _ in range(3)]  # it leaves the queue at its 3rd poll
        assert [job["status"] for job in polled[:2]] == ["WAITING", "WAITING"]
        assert polled[2]["status"] == "IN_PROGRESS" and polled[2]["startedAt"] > 0


def test_auth_expiry() -> None:
    with served("auth-expiry") as mock:
        assert "Bearer token(s): dev-token-24h (developer)" in mock.banner
        mock.auth = "Bearer dev-token-24h"
        codes = [mock.call("GET", f"{BASE}/history")[0] for _ in range(12)]
        assert codes == [200] * 10 + [401, 401]
        mock.auth = BASIC  # HTTP Basic does not lapse
        assert [mock.call("GET", f"{BASE}/history")[0] for _ in range(3)] == [200] * 3


def test_flaky_status() -> None:
    with served("flaky-status") as mock:
        pid = mock.start("/content/dam/22858")
        answers = [mock.call("GET", f"{BASE}/status", processingId=pid) for _ in range(60)]
        codes = [status for status, _, _ in answers]
        assert all(code == 503 for code in codes[2::3])
        assert all(headers["Retry-After"] == "1" for status, headers, _ in answers if status == 503)
        assert 500 in codes and 200 in codes and set(codes) == {200, 500, 503}


def test_large_repository() -> None:
    with served("large-repository") as mock:
        pid = mock.start("/content/dam/large")
        job = mock.until(pid, lambda job: job["triggeredCount"] > 1000)
        assert job["migrationSet"]["totalFiles"] == 1_000_000 and job["eta"]["value"] > 900
        page = mock.json("GET", f"{BASE}/logs", processingId=pid, offset=503, limit=2)[1]
        assert [PROCESSED.search(line).group(1) for line in page["lines"]] == ["501", "502"]  # type: ignore[union-attr]
        assert mock.status(pid)["triggeredCount"] > job["triggeredCount"]  # it runs on


def test_database_backend() -> None:
    with served("database-backend") as mock:
        status, body = mock.json("GET", "/bin/guides/v1/system/status")
        assert (status, body["isDatabase"], body["databaseConnectionCheck"]) == (200, True, "passed")


def test_filtered() -> None:
    with served("filtered", "--speed", "10") as mock:
        maps = mock.until(mock.start("/content/dam/filtered", filter={"fileTypes": ["DITAMAP"]}), finished)
        window = {"startTime": 1_740_787_200_000, "endTime": 1_748_736_000_000}
        timed = mock.until(mock.start("/content/dam/filtered", filter=window), finished)
        assert (maps["migrationSet"]["totalFiles"], timed["migrationSet"]["totalFiles"]) == (10, 24)


def test_csrf_browser() -> None:
    with served("csrf-browser") as mock:
        browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"}
        start = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
        assert mock.call("POST", BASE, start, browser)[0] == 403
        token = json.loads(mock.call("GET", "/libs/granite/csrf/token.json")[2])["token"]
        assert mock.call("POST", BASE, start, {**browser, "CSRF-Token": token})[0] == 200
        assert "login-token cookie(s): ui-session-7f3a%3acrx.default (admin)" in mock.banner


def test_contract_fuzzing() -> None:
    with served("contract-fuzzing") as mock:
        assert mock.call("GET", f"{BASE}/status", processingId="unknown")[0] == 404
        mock.start("/content/dam")  # 167 assets: still running at the second start
        assert mock.call("POST", BASE, {"path": "/content/dam", "type": "ASSET_PROCESSING"})[0] == 409


def test_seeded_replay() -> None:
    def session() -> list[bytes]:
        with served("seeded-replay") as mock:
            assert "clock:       manual" in mock.banner
            assert f"{mock.url}/__admin/clock/advance" in mock.banner  # the curl that moves it
            pid = mock.start("/content/dam/22858")
            bodies = []
            for _ in range(3):
                status, _, _ = mock.call("POST", "/__admin/clock/advance", {"seconds": 0.7})
                assert status == 200
                bodies.append(mock.call("GET", f"{BASE}/status", processingId=pid)[2])
            bodies.append(mock.call("GET", f"{BASE}/logs", processingId=pid)[2])
            bodies.append(mock.call("GET", f"{BASE}/history")[2])
            return bodies

    first, second = session(), session()
    assert first == second
    assert json.loads(first[2])["status"] == "SUCCESS"


def test_poll_driven() -> None:
    with served("poll-driven") as mock:
        assert "clock:       per-poll: each status poll moves it 500 ms" in mock.banner
        pid = mock.start("/content/dam/22858")
        assert [mock.status(pid)["status"] for _ in range(4)] == [
            "IN_PROGRESS",
            "IN_PROGRESS",
            "SUCCESS",
            "SUCCESS",
        ]


def test_system_job() -> None:
    with served("system-job", "--speed", "20") as mock:  # every 3 s
        deadline = time.monotonic() + PATIENCE_S
        while not (history := mock.json("GET", f"{BASE}/history")[1]["executionHistory"]):
            assert time.monotonic() < deadline, "no system job came"
            time.sleep(0.1)
        assert (history[0]["createdBy"], history[0]["path"]) == ("System", "/content/dam")


def test_cloud_service() -> None:
    """``serve --scenario cloud-service`` (a real clock): a token from IMS opens the API; past five
    status polls a second from one client the CDN's 429 with Retry-After 30 answers."""
    with served("cloud-service") as mock:
        assert "IMS:         POST " in mock.banner and "aem-pipeline" in mock.banner
        assert "pipeline-secret" not in mock.banner
        credentials = {"client_id": "aem-pipeline", "client_secret": "pipeline-secret", "scope": "openid"}
        form = urllib.parse.urlencode({"grant_type": "client_credentials", **credentials}).encode()
        request = urllib.request.Request(mock.url + "/ims/token/v3", form,
                                         {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            issued = json.load(answer)
        assert issued["expires_in"] == 3600
        bearer = {"Authorization": f"Bearer {issued['access_token']}"}
        status, _, raw = mock.call(
            "POST", BASE, {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}, bearer
        )
        assert status == 200, raw
        pid = json.loads(raw)["processingId"]
        answers = [mock.call("GET", f"{BASE}/status", None, bearer, processingId=pid)[:2] for _ in range(60)]
        statuses = [status for status, _ in answers]
        assert statuses[0] == 200 and 429 in statuses, statuses  # 60 polls in well under 10 s: past 50
        assert answers[statuses.index(429)][1]["Retry-After"] == "30", statuses


def test_every_shipped_scenario_is_served_here() -> None:
    tests = {name.removeprefix("test_").replace("_", "-") for name in globals() if name.startswith("test_")}
    assert set(shipped_scenarios()) <= tests


@pytest.mark.parametrize("clock", ["manual", "per-poll:250ms"])
def test_the_host_chooses_the_clock(clock: str) -> None:
    with served("fail-midway", "--clock", clock) as mock:
        pid = mock.start("/content/dam/22858")
        time.sleep(1.5)  # the wall clock moves; these clocks do not
        assert mock.status(pid)["triggeredCount"] == 0
