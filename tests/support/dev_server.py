"""The dev server as a user starts it: ``python -m mock_server serve`` as a process, its banner read."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.support.constants import AUTH, BASE, START_22858
from tests.support.waiting import wait_until

MODULE = (sys.executable, "-m", "mock_server")


@contextlib.contextmanager
def serving(
    *args: str,
    command: Sequence[str] = MODULE,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Run ``COMMAND serve --port 0 ARGS``; yield the process, its base URL and its banner."""
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or not banner[-1].startswith("Press Ctrl-C"):
            line = read_line(process)
            assert line, "".join(banner) + (process.stderr.read() if process.stderr else "")
            banner.append(line)
        assert " at http://127.0.0.1:" in banner[0] or " at https://127.0.0.1:" in banner[0], banner
        yield process, banner[0].rsplit(" ", 1)[1].strip(), banner
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


_LINES: dict[int, queue.Queue[str]] = {}


def read_line(process: subprocess.Popen[str], timeout: float = 15) -> str:
    """The process's next line of output; fail rather than hang when none comes."""
    if process.pid not in _LINES:
        lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        _LINES[process.pid] = lines
    try:
        return _LINES[process.pid].get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no output within {timeout} s") from None


def call(url: str, data: dict[str, object] | None = None) -> dict[str, object]:
    request = urllib.request.Request(url, headers=AUTH, data=json.dumps(data).encode() if data else None)
    if data:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, object] = json.load(response)
        return result


def start_and_poll(url: str) -> None:
    """Start a job on the documented example and read its status back."""
    job = call(f"{url}{BASE}", START_22858)
    status = call(f"{url}{BASE}/status?processingId={job['processingId']}")
    assert status["path"] == "/content/dam/22858"
    assert status["processingId"] == job["processingId"]


def stopped_output(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM ``process`` and what it wrote (stdout, stderr); killed if it has not exited in 10 s."""
    try:
        process.send_signal(signal.SIGTERM)
        return process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> float:
    """Send ``signum`` and wait for the exit; return how long it took in seconds."""
    began = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=10)
    return time.monotonic() - began


def ready_url(ready: Path, process: subprocess.Popen[Any], within_s: float = 20) -> str:
    """The URL a ``serve`` or ``proxy`` process wrote to its ``--ready-file``, once it has; fail with
    what it said (when its stderr is a pipe) if it exits first or is not listening within ``within_s``."""
    wait_until(lambda: ready.exists() or process.poll() is not None, "the ready file", within_s)
    assert process.poll() is None, process.communicate() if process.stderr else process.returncode
    return ready.read_text().strip()
