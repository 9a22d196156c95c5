"""``verify`` stopped from outside, as a process: SIGTERM (a CI job cancelled) and SIGINT (Ctrl-C) mid-plan,
and a name lookup that never returns. Each ends within a bound with exit 3, its reports written, and the
job the plan started cancelled (or named). Subprocesses: signals and the interpreter's exit are the
process's, not a test's."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mock_server.api.operations import BASE_PATH
from tests.adversarial.test_verify_hostile import plain_author, raw_author, written
from tests.support.verify import SANDBOX

#: What a loaded 2-core machine may add to a bound: the interpreter's start and imports, the reports.
MARGIN_S = 10.0


def verify_argv(url: str, tmp_path: Path, timeout: str) -> list[str]:
    return ["verify", "--target", url, "--timeout", timeout, "--poll", "20ms", "--rate", "1000/s",
            "--sandbox", SANDBOX, "--report", f"json={tmp_path / 'r.json'}",
            "--report", f"junit={tmp_path / 'r.xml'}"]  # fmt: skip


@pytest.mark.parametrize(
    ("signum", "stalls"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-the-clean-up-stalls"],
)
async def test_a_signal_mid_plan_cancels_the_started_job_and_writes_the_reports(
    tmp_path: Path, signum: signal.Signals, stalls: bool
) -> None:
    """The job is cancelled on the way out; when its author does not answer the clean-up either, the
    clean-up stops after its 5 s (not at the 120 s timeout) and names the job."""
    polled, cancels = asyncio.Event(), list[str]()

    def stalls_on_its_first_poll(method: str, path: str) -> tuple[int, bytes] | None:
        if method == "POST" and path == f"{BASE_PATH}/cancel":
            cancels.append(path)
            return 200, b'{"status": "CANCELLED"}'
        if (
            path.startswith(f"{BASE_PATH}/status?")
            and "processingId=j" in path
            and (stalls or not polled.is_set())
        ):
            polled.set()
            return None  # the plan waits here for an answer that never comes: where the signal finds it
        return plain_author(method, path)  # the job: IN_PROGRESS, for the clean-up to cancel

    async with raw_author("trickle", stalls_on_its_first_poll) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mock_server", *verify_argv(url, tmp_path, "120s"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            await asyncio.wait_for(polled.wait(), 60)  # the job started and followed: a condition, no sleep
            signalled = time.monotonic()
            process.send_signal(signum)
            out, err = await asyncio.wait_for(process.communicate(), 5 + MARGIN_S)  # the clean-up's 5 s
            took = time.monotonic() - signalled
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 3, err.decode()
    assert took < 5 + MARGIN_S and b"Traceback" not in err
    report = written(tmp_path)
    assert report["exitCode"] == 3 and report["stopped"] == signum.name
    stop, *clean_up = [f for f in report["findings"] if f["kind"] == "setup error"]
    if stalls:
        assert cancels == [] and took > 5  # it waited its 5 s for the author: no less
        assert [f["rule"] for f in clean_up] == [
            "the job(s) j may still run: the stop's clean-up time ended before verify could cancel them; "
            f"cancel them with POST {BASE_PATH}/cancel"
        ]
    else:
        assert cancels == [f"{BASE_PATH}/cancel"] and clean_up == []  # cancelled on the way out
    assert stop["step"] == "follow"
    assert stop["rule"].startswith(f"the run was stopped ({signum.name}) in this step, before the plan's end")
    assert report["steps"]["follow"] == "failed" and report["steps"]["logs"] == "not exercised"
    assert f"({signum.name}) in this step" in out.decode()  # the summary too


STUCK_DNS = """
import socket, sys, threading

resolve = socket.getaddrinfo


def unresponsive(host, *args, **kwargs):
    if host == "stalled.invalid":
        threading.Event().wait()  # a DNS server that never answers: getaddrinfo never returns
    return resolve(host, *args, **kwargs)


socket.getaddrinfo = unresponsive
from mock_server.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_a_name_lookup_that_never_returns_cannot_hold_the_exit_past_the_timeout(tmp_path: Path) -> None:
    argv = verify_argv("http://stalled.invalid:4502", tmp_path, "2s")
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", STUCK_DNS, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    try:
        _, err = process.communicate(timeout=2 + 2 * MARGIN_S)
    finally:
        if process.returncode is None:  # the old asyncio.run: waiting for the lookup's thread, for ever
            process.kill()
            process.communicate()
    took = time.monotonic() - began  # from before the interpreter starts: --timeout counts from there
    assert process.returncode == 3, err.decode()
    assert took < 2 + MARGIN_S and b"Traceback" not in err
    report: dict[str, Any] = written(tmp_path)
    (finding,) = report["findings"]
    assert finding["step"] == "system-status"
    assert finding["rule"].startswith("the plan did not end within 2 s (--timeout")
    assert json.loads((tmp_path / "r.json").read_text())["exitCode"] == 3
