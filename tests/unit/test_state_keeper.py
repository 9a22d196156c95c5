"""``--state``'s keeper without a socket: sessions, their clocks, jobs, journal and fault counters
saved as they change and made again at start, as ``serve --state`` does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mock_server.api.payloads import job_payload
from mock_server.core.clock import ManualClock
from mock_server.core.jobs import StartRequest
from mock_server.core.journal import Exchange
from mock_server.core.sessions import Sessions
from mock_server.core.state import StateError, StateFile
from mock_server.http.options import build_mock
from mock_server.http.persist import Keeper
from mock_server.http.runtime import Mock
from mock_server.http.sessions import sessions_for
from mock_server.scenarios.reading import load_scenario, parse_scenario


def _server(path: Path, **overrides: Any) -> tuple[Keeper, Sessions[Mock]]:
    sessions = sessions_for(build_mock(clock="manual", environ={}, overrides=overrides))
    keeper = Keeper(StateFile(path), sessions)
    keeper.restore()
    return keeper, sessions


def _seen(mock: Mock) -> Any:
    jobs = [(job_payload(job, mock.settings), list(job.log)) for job in mock.engine.jobs()]
    return jobs, mock.clock.now_ms(), [e.to_json() for e in mock.journal]


def test_sessions_come_back_with_their_jobs_clocks_journal_and_fault_counters(tmp_path: Path) -> None:
    keeper, sessions = _server(tmp_path / "s.db")
    default = sessions.default.mock
    default.engine.start(StartRequest("/content/dam/22858"), "admin")
    assert isinstance(default.clock, ManualClock)
    default.clock.advance(1.5)
    default.journal.record(Exchange(default.clock.now_ms(), "GET", "/x", "", 200, "admin", "status"))
    keeper.flush(default)
    flaky = default.sibling(load_scenario("flaky-status"), {"per_asset": "1s"})
    sessions.add("flaky", flaky, ttl_s=600)
    for n in range(4):  # every 3rd status call fails: the 6th will
        flaky.faults.pick("status", n)
    flaky.engine.start(StartRequest("/content/dam/demo"), "bob")
    keeper.flush(flaky)
    before = {"default": _seen(default), "flaky": _seen(flaky)}
    going_on = copy.deepcopy(flaky.faults)  # what the counters and draws would pick next
    keeper.file.close()

    keeper, sessions = _server(tmp_path / "s.db")
    again = {s.name: s for s in sessions}
    assert sorted(again) == ["default", "flaky"]
    assert again["flaky"].ttl_s == 600
    assert {name: _seen(s.mock) for name, s in again.items()} == before
    assert again["flaky"].mock.settings.per_asset_ms == 1000
    faults = again["flaky"].mock.faults
    expected = [going_on.pick("status", n) is not None for n in range(4, 30)]
    assert [faults.pick("status", n) is not None for n in range(4, 30)] == expected
    keeper.file.close()


def test_what_the_catch_up_with_the_clock_moved_is_saved_again(tmp_path: Path) -> None:
    """The server was down for a minute: the job that was counting ended meanwhile, and the runner
    it freed took the next job. A second restart must not run the first job again beside it."""
    keeper, sessions = _server(tmp_path / "s.db")
    sessions.default.mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    keeper.flush(sessions.default.mock)
    keeper.file.close()
    sessions = sessions_for(build_mock(clock="manual", environ={}))
    mock = sessions.default.mock
    assert isinstance(mock.clock, ManualClock)
    mock.clock.advance(60)  # the time the server was down
    keeper = Keeper(StateFile(tmp_path / "s.db"), sessions)
    keeper.restore()
    mock.engine.start(StartRequest("/content/dam/demo"), "admin")  # takes the one runner
    keeper.flush(mock)
    before = _seen(mock)
    keeper.file.close()
    keeper, sessions = _server(tmp_path / "s.db")
    mock = sessions.default.mock
    assert _seen(mock) == before
    third = mock.engine.start(StartRequest("/content/dam/demo1"), "admin")
    assert third.status == "WAITING"  # one runner (concurrency 1), busy with the second job
    keeper.file.close()


def test_a_scenario_loaded_at_runtime_comes_back_with_its_jobs(tmp_path: Path) -> None:
    keeper, sessions = _server(tmp_path / "s.db")
    mock = sessions.default.mock
    mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    for _ in range(2):
        mock.api.status_jobs.start(["/content/dam/22858"], [], "admin")
    keeper.flush(mock)
    mock.load(load_scenario("cancel-and-resume"))  # PUT /__admin/scenario: a new engine, no jobs
    mock.engine.start(StartRequest("/content/dam/demo"), "admin")
    status_job = mock.api.status_jobs.start(["/content/dam/demo"], [], "admin")  # numbered 1 again
    keeper.flush(mock)
    before = _seen(mock)
    keeper.file.close()
    keeper, sessions = _server(tmp_path / "s.db")
    assert sessions.default.mock.scenario.name == "cancel-and-resume"
    assert _seen(sessions.default.mock) == before
    status_jobs = sessions.default.mock.api.status_jobs
    assert len(status_jobs) == 1 and status_jobs.get(status_job.job_id) == status_job  # the old API's gone
    keeper.file.close()


def test_a_scenario_file_edited_while_watched_comes_back_as_it_was_loaded(tmp_path: Path) -> None:
    """``serve --scenario FILE --watch``: the file edited, reloaded, then edited again while the
    server was down. The server comes back with the scenario its jobs ran on (the last loaded)."""
    first = "name: mine\ndescription: mine\nsettings:\n  per_asset: 1s\n"
    loaded = "name: mine\ndescription: mine\nsettings:\n  per_asset: 2s\n"

    def server(text: str) -> tuple[Keeper, Sessions[Mock]]:
        mock = build_mock(parse_scenario(text, "mine.yaml"), clock="manual", environ={})
        sessions = sessions_for(mock)
        keeper = Keeper(StateFile(tmp_path / "s.db"), sessions)
        keeper.restore()
        return keeper, sessions

    keeper, sessions = server(first)
    mock = sessions.default.mock
    mock.load(parse_scenario(loaded, "mine.yaml"))
    mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    keeper.flush(mock)
    before = _seen(mock)
    keeper.file.close()
    keeper, sessions = server("name: mine\ndescription: mine\nsettings:\n  per_asset: 3s\n")
    assert sessions.default.mock.settings.per_asset_ms == 2000
    assert _seen(sessions.default.mock) == before
    keeper.file.close()


def test_a_deleted_session_is_forgotten(tmp_path: Path) -> None:
    keeper, sessions = _server(tmp_path / "s.db")
    sessions.get("gone", lambda _: sessions.default.mock.sibling(None, {}))
    sessions.delete("gone")
    keeper.file.close()
    keeper, sessions = _server(tmp_path / "s.db")
    assert [s.name for s in sessions] == ["default"]
    keeper.file.close()


def test_a_reset_forgets_the_jobs_kept(tmp_path: Path) -> None:
    keeper, sessions = _server(tmp_path / "s.db")
    mock = sessions.default.mock
    mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    keeper.flush(mock)
    mock.reset()
    keeper.flush(mock)
    keeper.file.close()
    keeper, sessions = _server(tmp_path / "s.db")
    assert sessions.default.mock.engine.jobs() == []
    keeper.file.close()


def test_other_settings_are_refused_naming_the_file(tmp_path: Path) -> None:
    keeper, _ = _server(tmp_path / "s.db")
    keeper.file.close()
    with pytest.raises(StateError, match=f"{tmp_path / 's.db'}.*other settings.*same --scenario and flags"):
        _server(tmp_path / "s.db", speed=2)


def test_a_poll_alone_is_written_later_and_a_start_at_once(tmp_path: Path) -> None:
    keeper, sessions = _server(tmp_path / "s.db")
    mock = sessions.default.mock
    mock.journal.record(Exchange(mock.clock.now_ms(), "GET", "/x", "", 200, "admin", "status"))
    assert keeper.flush(mock, deferring=True) is True
    assert _kept_exchanges(keeper) == 0
    keeper.flush_deferred()
    assert _kept_exchanges(keeper) == 1
    mock.journal.record(Exchange(mock.clock.now_ms(), "POST", "/x", "", 200, "admin", "start"))
    mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    assert keeper.flush(mock, deferring=True) is False  # a job changed: written now, the exchange too
    assert _kept_exchanges(keeper) == 2
    keeper.file.close()


def _kept_exchanges(keeper: Keeper) -> int:
    return sum(len(saved.journal) for saved in keeper.file.load())


def test_the_status_api_s_jobs_come_back_within_their_cap_and_go_with_a_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status job started is written at once (as an answered start), comes back with its id, paths
    and reports, and the numbering goes on; those the cap drops leave the file; a reset drops all."""
    from mock_server.core import asset_status

    monkeypatch.setattr(asset_status, "MAX_STATUS_JOBS", 3)
    keeper, sessions = _server(tmp_path / "s.db")
    mock = sessions.default.mock
    mock.engine.start(StartRequest("/content/dam/22858"), "admin")
    started = [mock.api.status_jobs.start([f"/content/dam/22858/{n}"], [], "bob") for n in range(5)]
    assert keeper.flush(mock, deferring=True) is False  # not deferred: written now
    reports = [mock.api.status_jobs.assets(job) for job in started[2:]]
    keeper.file.close()

    keeper, sessions = _server(tmp_path / "s.db")
    status_jobs = sessions.default.mock.api.status_jobs
    assert [status_jobs.get(job.job_id) for job in started[2:]] == started[2:]
    assert [status_jobs.assets(job) for job in started[2:]] == reports
    assert len(status_jobs) == 3 and sum(len(saved.status_jobs) for saved in keeper.file.load()) == 3
    newer = status_jobs.start(["/content/dam/demo"], [], "bob")
    keeper.flush(sessions.default.mock)
    assert [seq for seq, _ in keeper.file.load()[0].status_jobs] == [4, 5, 6]
    sessions.default.mock.reset()
    keeper.flush(sessions.default.mock)
    assert keeper.file.load()[0].status_jobs == []
    keeper.file.close()
    keeper, sessions = _server(tmp_path / "s.db")
    assert len(sessions.default.mock.api.status_jobs) == 0 and newer.job_id
    keeper.file.close()
