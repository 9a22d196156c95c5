"""The dev server as a user starts it: a real process, a real socket, a real signal."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
BASE = "/bin/guides/v1/assets/process"
START_22858 = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
MODULE = (sys.executable, "-m", "mock_server")


@contextlib.contextmanager
def serving(
    *args: str, command: Sequence[str] = MODULE, cwd: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Run ``COMMAND serve --port 0 ARGS``; yield the process, its base URL and its banner."""
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(8)]
        assert " at http://127.0.0.1:" in banner[0], banner
        yield process, banner[0].rsplit(" ", 1)[1].strip(), banner
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


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


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> float:
    """Send ``signum`` and wait for the exit; return how long it took in seconds."""
    began = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=10)
    return time.monotonic() - began


def test_serve_prints_the_url_credentials_and_a_curl_line() -> None:
    with serving() as (_, url, banner):
        text = "".join(banner)
        assert "credentials: admin:admin" in text
        assert "curl -u admin:admin" in text
        assert f"{url}{BASE}" in text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_within_5_seconds(signum: int) -> None:
    with serving("--speed", "10") as (process, url, _):
        start_and_poll(url)
        assert stop(process, signum) < 5
        assert process.returncode == 0


def test_a_bad_flag_is_explained() -> None:
    result = subprocess.run([*MODULE, "serve", "--speed", "fast"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "expected a number such as 2 or 0.5, got 'fast'" in result.stderr


def test_a_busy_port_is_explained() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*MODULE, "serve", "--port", str(port)], capture_output=True, text=True, timeout=20
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
