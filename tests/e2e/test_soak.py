"""Soak: the dev server under constant load stays flat in memory, file descriptors and tasks.

Bounded: 60 s by default (set AEM_MOCK_SOAK_SECONDS for longer), loopback only. The server
is a real process, so its RSS and descriptors are read from /proc.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.support.constants import BASE
from tests.support.dev_server import serving, stop

SECONDS = float(os.environ.get("AEM_MOCK_SOAK_SECONDS", "60"))
WARM_UP = min(15.0, SECONDS / 4)
WORKERS = 6
SCENARIO = """
description: soak
settings: {per_asset: 1ms, counting: 1ms, journal_size: 500, max_jobs: 200}
repository:
  base: empty
  generate: [{folder: /content/dam/soak, folders: 50, per_folder: {DITATOPIC: 5, DITAMAP: 1}}]
"""
AUTH = {"Authorization": "Basic YWRtaW46YWRtaW4="}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def load(port: int, worker: int, until: float, counts: list[int], failures: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    try:
        while time.monotonic() < until:
            n += 1
            folder = (worker * 1000 + n) % 50 + 1
            body = json.dumps({"path": f"/content/dam/soak/f{folder}", "type": "ASSET_PROCESSING"})
            connection.request(
                "POST", "/bin/guides/v1/assets/process", body, {**AUTH, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status == 200:
                pid = answer["processingId"]
                for path in ("status", "logs", "logs/download", "status"):
                    connection.request(
                        "GET", f"/bin/guides/v1/assets/process/{path}?processingId={pid}", headers=AUTH
                    )
                    response = connection.getresponse()
                    response.read()
                    if response.status >= 500:
                        failures.append(f"{path}: {response.status}")
            elif response.status != 400:
                failures.append(f"start: {response.status}")
            connection.request("GET", f"{BASE}/history", headers=AUTH)
            response = connection.getresponse()
            response.read()
            counts[worker] += 6
    finally:
        connection.close()


def stats(port: int) -> dict[str, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/__admin/stats")
        return dict(json.loads(connection.getresponse().read()))
    finally:
        connection.close()


@pytest.mark.slow
def test_constant_load_leaves_memory_descriptors_and_tasks_flat(tmp_path: Path) -> None:
    scenario = tmp_path / "soak.yaml"
    scenario.write_text(SCENARIO)
    with serving("--scenario", str(scenario)) as (process, url, _):
        port = int(url.rsplit(":", 1)[1])
        began = time.monotonic()
        until = began + SECONDS
        counts, failures = [0] * WORKERS, list[str]()
        workers = [
            threading.Thread(target=load, args=(port, w, until, counts, failures)) for w in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        samples = []
        while time.monotonic() < until:
            time.sleep(2)
            samples.append(
                (time.monotonic() - began, rss_kb(process.pid), descriptors(process.pid), stats(port))
            )
        for worker in workers:
            worker.join(timeout=30)
        assert failures == []
        assert sum(counts) > 1000  # it was loaded
        settled = [s for s in samples if s[0] >= WARM_UP]
        base_rss = settled[0][1]
        assert max(s[1] for s in settled) < base_rss * 1.10, [s[1] for s in samples]
        assert max(s[2] for s in settled) - min(s[2] for s in settled) <= WORKERS + 2, [s[2] for s in samples]
        # A task per connection and one per request in flight, at most: bounded, and no trend.
        tasks = [s[3]["tasks"] for s in settled]
        assert max(tasks) <= 2 * WORKERS + 5, tasks
        half = len(tasks) // 2
        assert max(tasks[half:]) <= max(tasks[:half]) + 2, tasks
        assert all(s[3]["journal"] <= 500 and s[3]["jobs"] <= 200 for s in samples)
        assert stop(process) < 5
