"""What the benchmarks share: server processes, plain requests, and CPU and memory readings."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import resource
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.api.operations import BASE_PATH

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
URL_AT_END = re.compile(r"https?://127\.0\.0\.1:(\d+)$")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[str]
    port: int


@contextmanager
def spawn(
    name: str, argv: list[str], timeout: float = 30.0, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start a server process (in ``cwd``, with ``env``), wait for its first line (ending with its
    URL), always kill it."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        match = URL_AT_END.search(first[0].strip()) if first else None
        if match is None:
            log.seek(0)
            raise RuntimeError(f"{name} did not start in {timeout:g} s: {first!r}\n{log.read()[-2000:]}")
        yield Server(name, process, int(match.group(1)))
    finally:
        end(process, 5)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def fetch(
    port: int, method: str, target: str, body: Any = None, timeout: float = 30.0
) -> tuple[int, str, bytes]:
    """One request with the admin credentials: (status, content type, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Authorization": AUTH}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def start_job(port: int, path: str) -> str:
    status, _, body = fetch(port, "POST", BASE_PATH, {"path": path, "type": "ASSET_PROCESSING"})
    if status != 200:
        raise RuntimeError(f"starting a job on {path} answered {status}: {body[:300]!r}")
    return str(json.loads(body)["processingId"])


def cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds used: by ``pid``; by the machine's busy cores when None; by finished children
    when 0 (the load generator)."""
    if pid == 0:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    if pid is None:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS  # all but idle and iowait
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def proc_status_mb(pid: int, field: str) -> float:
    """``VmRSS`` or ``VmHWM`` of ``pid`` in MB (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    """Samples a process's RSS every ``period`` seconds until stopped; keeps the peak."""

    def __init__(self, pid: int, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.period, self.peak, self.samples = pid, period, 0.0, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            self.peak = max(self.peak, proc_status_mb(self.pid, "VmRSS"))
            self.samples += 1


def end(process: subprocess.Popen[Any], within_s: float) -> None:
    """Terminate ``process``; kill it if it has not exited within ``within_s``."""
    process.terminate()
    try:
        process.wait(within_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(within_s)
