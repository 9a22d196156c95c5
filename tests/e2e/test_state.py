"""``serve --state FILE`` end to end: what a server answered is there after a restart, a kill -9 too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.constants import AUTH, BASE, START_22858
from tests.support.dev_server import MODULE, call, serving, stop

pytestmark = pytest.mark.slow  # servers started and killed: seconds each

_MANUAL = ("--clock", "manual", "--quiet")
_ACTIVE = {"WAITING": "active", "IN_PROGRESS": "active"}
#: What each client does to its job, and the status each answer gives.
_ROUND = [("cancel", "CANCELLED"), ("resume", "WAITING"), ("cancel", "CANCELLED")]


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=AUTH, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _get(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`call`'s answer, typed for reading."""
    return dict(call(url, body))


def _journal(url: str, prefix: str = "") -> int:
    exchanges = call(f"{url}{prefix}/__admin/journal")["exchanges"]
    assert isinstance(exchanges, list)
    return len(exchanges)


def _status(url: str, job: str) -> str:
    found = call(f"{url}{BASE}/status?processingId={job}")
    return str(found["status"])


def test_jobs_sessions_and_the_clock_come_back_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serving("--state", str(state), *_MANUAL) as (process, url, _):
        done = call(f"{url}{BASE}", START_22858)["processingId"]
        call(f"{url}/__admin/clock/advance", {"seconds": 60})  # 6 assets: SUCCESS long before
        cancelled = _get(f"{url}{BASE}", {"path": "/content/dam/demo", "type": "ASSET_PROCESSING"})
        call(f"{url}{BASE}/cancel", {"processingId": cancelled["processingId"]})
        resumed = _get(f"{url}{BASE}", {"path": "/content/dam/demo1", "type": "ASSET_PROCESSING"})
        call(f"{url}{BASE}/cancel", {"processingId": resumed["processingId"]})
        call(f"{url}{BASE}/resume", {"processingId": resumed["processingId"]})
        call(f"{url}/__admin/sessions", {"name": "team-a", "settings": {"per_asset": "1s"}, "ttl": "2h"})
        in_session = call(f"{url}/sessions/team-a{BASE}", START_22858)["processingId"]
        call(f"{url}/sessions/team-a/__admin/clock/advance", {"seconds": 3})
        before = {
            "default": call(f"{url}{BASE}/history"),
            "team-a": call(f"{url}/sessions/team-a{BASE}/status?processingId={in_session}"),
            "clock": call(f"{url}/__admin/clock"),
            "session clock": call(f"{url}/sessions/team-a/__admin/clock"),
            "log": call(f"{url}{BASE}/logs?processingId={done}"),
        }
        journal = _get(f"{url}/sessions/team-a/__admin/journal")["exchanges"]
        last = f"processingId={in_session}&last=1"  # a poll: journaled, written at the latest at a stop
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/sessions/team-a{BASE}/status?{last}", headers=AUTH)
        )
        stop(process)  # SIGTERM
    with serving("--state", str(state), *_MANUAL) as (_, url, _):
        assert call(f"{url}{BASE}/history") == before["default"]
        assert call(f"{url}/sessions/team-a{BASE}/status?processingId={in_session}") == before["team-a"]
        assert call(f"{url}/__admin/clock") == before["clock"]
        assert call(f"{url}/sessions/team-a/__admin/clock") == before["session clock"]
        assert call(f"{url}{BASE}/logs?processingId={done}") == before["log"]
        kept = _get(f"{url}/sessions/team-a/__admin/journal")["exchanges"]
        assert kept[: len(journal)] == journal
        assert kept[len(journal)]["query"] == last  # the poll the server stopped after
        [session] = [s for s in _get(f"{url}/__admin/sessions")["sessions"] if s["name"] == "team-a"]
        assert session["ttlSeconds"] == 7200
        # the resumed job runs on from where it stood, as its clock says
        call(f"{url}/__admin/clock/advance", {"seconds": 3600})
        assert _status(url, resumed["processingId"]) == "SUCCESS"
        assert _status(url, cancelled["processingId"]) == "CANCELLED"


def test_a_deleted_session_stays_deleted(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serving("--state", str(state), *_MANUAL) as (_, url, _):
        call(f"{url}/sessions/gone{BASE}", START_22858)
        request = urllib.request.Request(f"{url}/__admin/sessions/gone", headers=AUTH, method="DELETE")
        urllib.request.urlopen(request, timeout=5).close()
    with serving("--state", str(state), *_MANUAL) as (_, url, _):
        names = [s["name"] for s in _get(f"{url}/__admin/sessions")["sessions"]]
        assert names == ["default"]


def test_on_the_real_clock_the_time_the_server_was_down_counts(tmp_path: Path) -> None:
    """As on a real author, a job runs on while the server is down: 200 ms an asset, every asset
    the downtime covers is done when it is back (or the job is, 15 assets in all)."""
    state = tmp_path / "state.db"
    path = {"path": "/content/dam/demo", "type": "ASSET_PROCESSING"}
    with serving("--state", str(state), "--quiet") as (_, url, _):
        job = str(_get(f"{url}{BASE}", path)["processingId"])
        before = _get(f"{url}{BASE}/status?processingId={job}")
        stopped_ms = _get(f"{url}/__admin/clock")["now"]
    with serving("--state", str(state), "--quiet") as (_, url, _):
        after = _get(f"{url}{BASE}/status?processingId={job}")
        down_ms = _get(f"{url}/__admin/clock")["now"] - stopped_ms
    if after["status"] != "SUCCESS":  # counting takes 1 s, then 200 ms an asset
        assert after["triggeredCount"] >= before["triggeredCount"] + (down_ms - 1000) // 200 - 1, (
            before,
            after,
        )


def test_answered_starts_cancels_and_resumes_survive_kill_9_under_load(tmp_path: Path) -> None:
    """Eight clients start, cancel and resume their own jobs at once; one of them kills the server
    (SIGKILL) the moment an answer reaches it, the others' requests in flight. After a restart every
    job answered 200 is there, active or ended as the last answer about it said, or as the request
    in flight when the server died would make it (that one may have been kept). A WAITING job may be
    IN_PROGRESS by then: a cancel freed the runner."""
    state = tmp_path / "state.db"
    answered: dict[str, str] = {}  # processingId -> status of the last 200 about it
    in_flight: dict[str, str] = {}  # processingId -> the status the request in flight would give
    lock = threading.Lock()
    killed = threading.Event()
    with serving("--state", str(state), *_MANUAL) as (process, url, _):

        def client(n: int) -> None:
            body = {"path": f"/content/dam/demo/topic-{n}.dita", "type": "ASSET_PROCESSING"}
            while not killed.is_set():
                try:
                    job = _started(url, body)
                    if job is None:
                        return
                    with lock:
                        answered[job] = "WAITING"
                    for action, outcome in _ROUND:
                        with lock:
                            in_flight[job] = outcome
                        code, found = _post(f"{url}{BASE}/{action}", {"processingId": job})
                        with lock:
                            in_flight.pop(job, None)
                            if code == 200:
                                answered[job] = str(found["status"])
                            if n == 1 and len(answered) >= 40 and not killed.is_set():
                                os.kill(process.pid, signal.SIGKILL)  # just answered: nothing in flight
                                killed.set()
                except (OSError, urllib.error.URLError, json.JSONDecodeError):
                    return  # the server is gone

        threads = [threading.Thread(target=client, args=(n,)) for n in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        process.wait(timeout=10)
    assert killed.is_set() and len(answered) >= 40
    with serving("--state", str(state), *_MANUAL) as (_, url, _):
        for job, status in answered.items():
            now = _ACTIVE.get(_status(url, job), "ended")
            could_be = {_ACTIVE.get(status, "ended"), _ACTIVE.get(in_flight.get(job, status), "ended")}
            assert now in could_be, (job, status, now, in_flight.get(job))


def _started(url: str, body: dict[str, Any]) -> str | None:
    code, found = _post(f"{url}{BASE}", body)
    if code != 200:
        return None
    return str(found["processingId"])


def test_a_second_server_on_the_same_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serving("--state", str(state), *_MANUAL):
        second = subprocess.run(
            [*MODULE, "serve", "--port", "0", "--state", str(state)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert second.returncode == 3
    assert str(state) in second.stderr and "another server" in second.stderr


def test_a_foreign_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    state = tmp_path / "notes.txt"
    state.write_text("not a database, and not to be wiped\n" * 200)
    before = state.read_bytes()
    found = subprocess.run([*MODULE, "serve", "--port", "0", "--state", str(state)], capture_output=True,
                           text=True, timeout=30)  # fmt: skip
    assert found.returncode == 3
    assert str(state) in found.stderr and "another file" in found.stderr
    assert state.read_bytes() == before


def test_other_settings_on_a_kept_file_are_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serving("--state", str(state), *_MANUAL) as (_, url, _):
        call(f"{url}{BASE}", START_22858)
    found = subprocess.run([*MODULE, "serve", "--port", "0", "--state", str(state), "--clock", "manual",
                            "--speed", "2"], capture_output=True, text=True, timeout=30)  # fmt: skip
    assert found.returncode == 3
    assert "another scenario or other settings" in found.stderr


def test_the_file_stays_bounded_as_the_journal_is(tmp_path: Path) -> None:
    """Exchanges of over 1 KB each (a long query is kept) with a journal of 50: the file stops
    growing once the journal is full, whatever the number of exchanges (400 more add nothing)."""
    state = tmp_path / "state.db"
    env = {**os.environ, "AEM_GUIDES_MOCK_JOURNAL_SIZE": "50"}
    long_query = "&".join(f"q{i}=" + "x" * 90 for i in range(10))

    def sizes() -> tuple[int, int]:
        """The database file's size, and that with its write-ahead log (and index) beside it."""
        return state.stat().st_size, sum(path.stat().st_size for path in tmp_path.iterdir())

    with serving("--state", str(state), *_MANUAL, env=env) as (_, url, _):
        live = []
        for _ in range(3):
            for _ in range(400):
                call(f"{url}{BASE}/history?{long_query}")
            live.append(sizes())
    with serving("--state", str(state), *_MANUAL, env=env) as (_, url, _):
        assert _journal(url) == 50
        for _ in range(400):
            call(f"{url}{BASE}/history?{long_query}")
        live.append(sizes())
    # The database file holds the journal's 50 rows and the pages SQLite keeps for reuse: once the
    # journal is full (after the first round), 1,200 more exchanges of over 1 KB leave it as it was.
    assert max(db for db, _ in live[1:]) <= live[1][0] + 64 * 1024, live
    # Beside it the write-ahead log is bounded, not exact: checkpointed every 256 pages of 4 KB (and
    # cut back to 1 MiB), it holds at most that and the batch committed last, whenever one is read.
    assert max(total - db for db, total in live) < 2 * 1024 * 1024, live
