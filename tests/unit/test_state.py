"""The state file (``serve --state``): every record kind round-trips, old files migrate, bad ones
are refused."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mock_server.api.payloads import job_payload
from mock_server.core.clock import ManualClock
from mock_server.core.default_dam import default_repository
from mock_server.core.errors import Violation
from mock_server.core.faults import Fault, FaultPlan, Trigger
from mock_server.core.jobs import Job, JobEngine, StartRequest
from mock_server.core.jobstore import StoredJob
from mock_server.core.journal import Exchange
from mock_server.core.settings import Settings
from mock_server.core.state import APPLICATION_ID, SCHEMA_VERSION, StateError, StateFile
from mock_server.core.state_records import (
    exchange_from_json,
    exchange_to_json,
    job_columns,
    job_from_json,
    job_to_json,
    thawer,
)

_FOLDERS = ("/content/dam/22858", "/content/dam/demo", "/content/dam/demo1", "/content/dam/status-fetch1",
            "/content/dam/demo/topic-1.dita", "/content/dam/demo/topic-2.dita")  # fmt: skip


def _engine(clock: ManualClock, concurrency: int = 1) -> JobEngine:
    settings = Settings(clock="manual", concurrency=concurrency)
    return JobEngine(default_repository(), settings, clock)


def _seen(engine: JobEngine) -> list[Any]:
    """Every job as a client sees it: its status payload and its whole log."""
    return [(job_payload(job, engine.settings), list(job.log)) for job in engine.jobs()]


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _restored(engine: JobEngine, clock: ManualClock) -> JobEngine:
    """A new engine given back ``engine``'s jobs and state through JSON, as a restart does."""
    again = _engine(clock, engine.settings.concurrency)
    records = [_json(job_to_json(job)) for job in engine.jobs()]
    jobs = [job_from_json(r, again.repository, again.settings.ignored_paths, again.meter) for r in records]
    again.restore(jobs, _json(engine.saved()))
    return again


@pytest.mark.parametrize("concurrency", [1, 2])
def test_jobs_in_every_phase_come_back_and_run_on_as_the_clock_says(concurrency: int) -> None:
    clock = ManualClock()
    engine = _engine(clock, concurrency)
    ids = [engine.start(StartRequest(path), "admin").processing_id for path in _FOLDERS]
    clock.advance(1.1)  # the first counted, processing; the rest queued
    engine.cancel(ids[1])
    clock.advance(0.5)
    engine.resume(ids[1])  # queued again, behind the others
    engine.cancel(ids[2])
    phases = {job.phase for job in engine.jobs()}
    assert len(phases) >= 3, phases  # queued, running and ended jobs all round-trip
    again = _restored(engine, ManualClock(clock.now_ms()))
    assert _seen(again) == _seen(engine)
    assert engine.bytes_kept == again.bytes_kept
    for step in (0.3, 2, 5, 60):  # both run on alike: the queue's order, the runners, the logs
        clock.advance(step)
        again.clock.advance(step)  # type: ignore[attr-defined]
        assert _seen(again) == _seen(engine)
    assert [j.status for j in again.jobs()] == [j.status for j in engine.jobs()]


def test_a_restored_engine_starts_where_the_saved_one_stopped() -> None:
    clock = ManualClock()
    engine = _engine(clock)
    engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(30)
    again = _restored(engine, clock)
    new = again.start(StartRequest("/content/dam/demo"), "admin")
    old = engine.start(StartRequest("/content/dam/demo"), "admin")
    assert job_payload(new, again.settings) | {"processingId": ""} == job_payload(old, engine.settings) | {
        "processingId": ""
    }


def test_a_seeded_id_generator_goes_on_where_it_was() -> None:
    def seeded() -> Any:
        numbers = iter(range(1000))
        return lambda: f"id-{next(numbers)}"

    clock = ManualClock()
    settings = Settings(clock="manual", max_jobs=1)
    engine = JobEngine(default_repository(), settings, clock, new_id=seeded())
    engine.start(StartRequest(_FOLDERS[0]), "admin")
    clock.advance(60)
    engine.start(StartRequest(_FOLDERS[1]), "admin")  # id-0 is forgotten (max_jobs 1), id-1 kept
    again = JobEngine(default_repository(), settings, clock, new_id=seeded())
    jobs = [job_from_json(_json(job_to_json(j)), again.repository, (), again.meter) for j in engine.jobs()]
    again.restore(jobs, _json(engine.saved()))
    clock.advance(60)
    assert again.start(StartRequest(_FOLDERS[2]), "admin").processing_id == "id-2"  # not id-0 again


def test_the_polls_that_release_a_job_are_reported_and_kept() -> None:
    from mock_server.core.changes import Changes
    from mock_server.core.job import Lifecycle

    clock = ManualClock()
    engine = _engine(clock)
    engine.changes = Changes()
    job = engine.start(StartRequest(_FOLDERS[0]), "admin", Lifecycle(1000, 200, wait_polls=2))
    engine.changes.take()
    engine.poll(job.processing_id)
    assert [j.polls for j in engine.changes.take()[0]] == [1]
    again = _restored(engine, clock)
    again.poll(job.processing_id)  # the second poll releases it, as it would have before
    assert again.get(job.processing_id).status == "IN_PROGRESS"


def test_the_engine_reports_changed_and_forgotten_jobs() -> None:
    from mock_server.core.changes import Changes

    clock = ManualClock()
    engine = JobEngine(default_repository(), Settings(clock="manual", max_jobs=1), clock)
    engine.changes = Changes()
    first = engine.start(StartRequest("/content/dam/22858"), "admin")
    assert [j.processing_id for j in engine.changes.take()[0]] == [first.processing_id]
    clock.advance(60)
    engine.sync()
    assert [j.status for j in engine.changes.take()[0]] == ["SUCCESS"]
    engine.start(StartRequest("/content/dam/demo"), "admin")  # max_jobs 1: the first is forgotten
    assert engine.changes.take()[1] == {first.processing_id}
    engine.reset()
    assert engine.changes.take()[2] is True


def test_an_exchange_round_trips_with_its_violations() -> None:
    violation = Violation(
        "body:/path", "`path` is required", "a string", None, '{"required":["path"]}', "required"
    )
    warning = Violation("query:x", "unknown", "nothing", "1", severity="warning")
    exchange = Exchange(5, "POST", "/bin/x", "a=1", 400, "admin", "start", (violation,), (), "a fault", 3,
                        (warning,), ("varied",))  # fmt: skip
    assert exchange_from_json(_json(exchange_to_json(exchange))) == exchange


def test_fault_counters_and_seeded_draws_round_trip() -> None:
    faults = [Fault(frozenset({"status"}), Trigger("probability", probability=0.5), status=503),
              Fault(frozenset({"status"}), Trigger("every", n=3), status=500)]  # fmt: skip
    plan = FaultPlan(faults, seed=7)
    for call in range(10):
        plan.pick("status", call)
    again = FaultPlan(faults, seed=7)
    again.restore(_json(plan.saved()))
    picked = [plan.pick("status", 10 + n) for n in range(30)]
    assert [again.pick("status", 10 + n) for n in range(30)] == picked


# --- the file ------------------------------------------------------------------------------------


def test_the_file_keeps_what_was_saved(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "s.db")
    state.save_session("a", {"ttl": 60})
    exchanges = [(1, ["one"]), (2, ["two"]), (3, ["three"])]
    jobs = [("j1", {"n": 1}), ("j2", {"n": 2})]
    state.save("a", live={"clock": 5}, jobs=jobs, exchanges=exchanges, journal_from=2, faults={"c": 1})
    state.save("a", jobs=[("j1", {"n": 10})], forgotten=["j2"])
    state.close()
    state = StateFile(tmp_path / "s.db")
    [saved] = state.load()
    assert (saved.name, saved.made, saved.live, saved.faults) == ("a", {"ttl": 60}, {"clock": 5}, {"c": 1})
    assert saved.jobs == [{"n": 10}]
    assert saved.journal == [(2, ["two"]), (3, ["three"])]
    state.drop_session("a")
    assert state.load() == []
    state.close()


def test_a_job_updated_keeps_its_place_among_the_others(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "s.db")
    state.save_session("a", {})
    state.save("a", jobs=[("j1", {"n": 1}), ("j2", {"n": 2})])
    state.save("a", jobs=[("j1", {"n": 3})])
    assert state.load()[0].jobs == [{"n": 3}, {"n": 2}]
    state.close()


def test_the_file_is_wal_and_says_what_it_is(tmp_path: Path) -> None:
    StateFile(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


def _old_file(path: Path, version: int, *rows: str) -> None:
    """A state file of ``version`` 1 or 2 as those wrote it (by hand here), with ``rows`` inserted."""
    db = sqlite3.connect(path)
    faults = "CREATE TABLE faults (session TEXT PRIMARY KEY, record TEXT NOT NULL);" if version >= 2 else ""
    db.executescript(f"""
        CREATE TABLE sessions (name TEXT PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE engines (session TEXT PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE jobs (session TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                           PRIMARY KEY (session, id));
        CREATE TABLE journal (session TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
                              PRIMARY KEY (session, seq));
        {faults}
        {"".join(rows)}
        PRAGMA application_id={APPLICATION_ID};
        PRAGMA user_version={version};
    """)  # fmt: skip
    db.close()


def test_a_version_1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path, 1, """INSERT INTO sessions VALUES ('default', '{"ttl": null}');""",
              """INSERT INTO jobs VALUES ('default', 'j1', '{"n": 1}');""")  # fmt: skip
    state = StateFile(path)
    state.save("default", faults={"c": 2})  # the table version 2 added
    [saved] = state.load()
    assert (saved.jobs, saved.faults) == ([{"n": 1}], {"c": 2})
    state.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    StateFile(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StateError, match="newer aem-guides-mock"):
        StateFile(tmp_path / "s.db")


def test_a_corrupt_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    StateFile(path).close()
    data = bytearray(path.read_bytes())
    data[:16] = b"garbage garbage!"  # the header SQLite recognises its files by
    path.write_bytes(bytes(data))
    with pytest.raises(StateError, match=f"{path}.*damaged.*move {path} away"):
        StateFile(path)
    assert path.read_bytes() == bytes(data)


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.execute("INSERT INTO customers VALUES (1)")
    db.commit()
    db.close()
    with pytest.raises(StateError, match=f"{path} is an SQLite file of another program.*customers"):
        StateFile(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT * FROM customers").fetchall() == [(1,)]
    db.close()


def test_a_second_opener_is_refused_while_the_first_holds_the_file(tmp_path: Path) -> None:
    first = StateFile(tmp_path / "s.db")
    with pytest.raises(StateError, match="in use by another server"):
        StateFile(tmp_path / "s.db")
    first.close()
    StateFile(tmp_path / "s.db").close()  # free again once the first let go


def test_a_log_restored_lazily_answers_as_one_made_at_once() -> None:
    """A restored job's log keeps its segments as saved until it is read or written (a restart
    with 10,000 finished jobs makes none of them); read, paged, measured, snapshotted or written to,
    it answers as the log saved, and as a log restored from a record without its counts (an older
    file's, which makes the segments at once)."""
    clock = ManualClock()
    engine = _engine(clock)
    ids = [engine.start(StartRequest(path), "admin").processing_id for path in _FOLDERS[:3]]
    clock.advance(1.1)
    engine.cancel(ids[0])  # CANCELLED with a run of assets, the others SUCCESS after the clock moves
    clock.advance(60)
    records = [_json(job_to_json(job)) for job in engine.jobs()]
    older = [_json(r) for r in records]
    for record in older:
        del record["log"]["lines"], record["log"]["bytes"]

    def restored(kept: list[Any]) -> JobEngine:
        again = _engine(ManualClock(clock.now_ms()))
        jobs = [job_from_json(r, again.repository, (), again.meter) for r in kept]
        again.restore(jobs, _json(engine.saved()))
        return again

    lazy, eager = restored(records), restored(older)
    assert all(job.log._packed is not None for job in lazy.jobs())  # nothing made yet
    assert lazy.bytes_kept == eager.bytes_kept == engine.bytes_kept
    assert [len(j.log) for j in lazy.jobs()] == [len(j.log) for j in engine.jobs()]
    assert [j.log.saved() for j in lazy.jobs()] == [j.log.saved() for j in engine.jobs()]
    for made in (lazy, eager):
        for job, original in zip(made.jobs(), engine.jobs(), strict=True):
            assert job.log.segments == original.log.segments
            assert list(job.log.snapshot()) == list(original.log) == list(job.log)
            assert job.log.page(1, 3) == original.log.page(1, 3)
    first = restored(records)  # written to before it was ever read: a resume
    for made in (first, engine):
        made.resume(ids[0])
        made.clock.advance(60)  # type: ignore[attr-defined]
    assert _seen(first) == _seen(engine)


def _through_file(
    engine: JobEngine, clock: ManualClock, path: Path, **settings: Any
) -> tuple[JobEngine, list[str]]:
    """A new engine (``settings`` changed) given back ``engine``'s jobs through a state file, as a
    restart does; and the ids of the jobs read from their records since, in the order read."""
    state = StateFile(path)
    state.save_session("default", {})
    kept = [(job.processing_id, job_to_json(job)) for job in engine.jobs()]
    state.save("default", live={"engine": engine.saved()}, jobs=kept)
    [saved] = state.load()
    state.close()
    again = JobEngine(default_repository(), replace(engine.settings, **settings), clock)
    thaw = thawer(again.repository, again.settings.ignored_paths, again.meter)
    read: list[str] = []

    def counted(stored: StoredJob) -> Job:
        read.append(stored.processing_id)
        return thaw(stored)

    jobs = [
        r
        if isinstance(r, StoredJob)
        else job_from_json(r, again.repository, again.settings.ignored_paths, again.meter)
        for r in saved.jobs
    ]
    assert saved.live is not None
    again.restore(jobs, saved.live["engine"], counted)
    return again, read


def _finished_and_running(clock: ManualClock) -> JobEngine:
    """Twelve finished jobs (the first started ends last: cancelled, resumed), one running, one queued."""
    engine = JobEngine(default_repository(), Settings(clock="manual", history_size=5, max_jobs=100), clock)
    first = engine.start(StartRequest(_FOLDERS[0]), "admin").processing_id
    engine.cancel(first)
    for n in range(11):
        engine.start(StartRequest(_FOLDERS[1 + n % 5]), "admin")
        clock.advance(60)
    engine.resume(first)
    clock.advance(60)
    engine.start(StartRequest(_FOLDERS[0]), "admin")
    engine.start(StartRequest(_FOLDERS[1]), "admin")
    assert [j.finished for j in engine.jobs()] == [True] * 12 + [False] * 2
    return engine


def test_a_finished_job_is_read_from_its_record_only_when_it_is_read(tmp_path: Path) -> None:
    """A restart keeps a finished job's record unread (a StoredJob with when it ended and its
    bytes) until it is asked for: history reads its page, a slice its slice, each job once; the
    jobs come back as they were and the bytes kept are counted alike before and after."""
    clock = ManualClock()
    engine = _finished_and_running(clock)
    state = StateFile(tmp_path / "look.db")
    state.save_session("default", {})
    state.save("default", jobs=[(job.processing_id, job_to_json(job)) for job in engine.jobs()])
    [saved] = state.load()
    state.close()
    stored = [r for r in saved.jobs if isinstance(r, StoredJob)]
    originals = {job.processing_id: job for job in engine.jobs()}
    assert len(stored) == 12 and all(isinstance(r, dict) for r in saved.jobs[12:])
    for job in stored:
        original = originals[job.processing_id]
        assert job.ended_at == original.phase_since
        assert job.bytes == original.request_bytes + original.log.bytes

    again, read = _through_file(engine, ManualClock(clock.now_ms()), tmp_path / "s.db")
    assert read == [] and again.bytes_kept == engine.bytes_kept
    history = again.history()
    assert [job_payload(j, again.settings) for j in history] == [
        job_payload(j, engine.settings) for j in engine.history()
    ]
    newest_finished = [j.processing_id for j in engine.history() if j.finished]
    assert read == newest_finished  # the running two are not stored; five in history, three read
    again.history()
    assert again.view()[3:5] and read == [*newest_finished, *[j.processing_id for j in engine.jobs()[3:5]]]
    assert again.bytes_kept == engine.bytes_kept
    assert _seen(again) == _seen(engine)  # every job read now, each once
    assert sorted(read) == sorted(j.processing_id for j in stored)
    assert again.bytes_kept == engine.bytes_kept
    for step in (30, 120):
        clock.advance(step)
        again.clock.advance(step)  # type: ignore[attr-defined]
        assert _seen(again) == _seen(engine)


def test_stored_jobs_are_forgotten_unread_in_the_order_they_ended(tmp_path: Path) -> None:
    """Served again with a smaller ``max_jobs``, the next start forgets the jobs that ended first
    (the first started, resumed, ended last: it stays) without reading them, and the bytes kept
    are those of the jobs left."""
    clock = ManualClock()
    engine = _finished_and_running(clock)
    again, read = _through_file(engine, ManualClock(clock.now_ms()), tmp_path / "s.db", max_jobs=6)
    again.start(StartRequest(_FOLDERS[2]), "admin")
    assert read == []
    by_end = sorted((j for j in engine.jobs() if j.finished), key=lambda j: j.phase_since)
    kept = {j.processing_id for j in by_end[-3:]} | {j.processing_id for j in engine.jobs()[12:]}
    assert {j.processing_id for j in again.jobs()} - kept == {again.jobs()[-1].processing_id}
    assert engine.jobs()[0].processing_id in kept
    assert again.bytes_kept == sum(j.request_bytes + j.log.bytes for j in again.jobs())


def test_a_version_2_file_gets_its_finished_jobs_end_and_bytes(tmp_path: Path) -> None:
    """Migrated to version 3, a finished job's end and bytes are read once from its record; a job
    not finished, or a record too old to count its log, is read at start as before."""
    clock = ManualClock()
    engine = _finished_and_running(clock)
    records = [job_to_json(job) for job in engine.jobs()]
    older = _json(records[1])
    del older["log"]["bytes"]
    path = tmp_path / "v2.db"
    _old_file(path, 2, "INSERT INTO sessions VALUES ('default', '{}');")
    db = sqlite3.connect(path)
    rows = [("default", r["id"], json.dumps(r)) for r in (records[0], older, records[-1])]
    db.executemany("INSERT INTO jobs VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()
    state = StateFile(path)
    [saved] = state.load()
    state.close()
    first, second, last = saved.jobs
    assert isinstance(first, StoredJob) and first.processing_id == records[0]["id"]
    assert (
        (first.ended_at, first.bytes)
        == job_columns(records[0])
        == (engine.jobs()[0].phase_since, engine.jobs()[0].request_bytes + engine.jobs()[0].log.bytes)
    )
    assert json.loads(first.record) == _json(records[0])
    assert (second, last) == (older, _json(records[-1]))


def test_jobs_of_one_pace_share_a_lifecycle_and_the_shared_ones_are_bounded() -> None:
    """Restored jobs of the same lifecycle share one (10,000 jobs of a few paces: a few objects);
    each job keeps its own pace however many there are, and at most 64 are kept to be shared."""
    from mock_server.core import state_records

    clock = ManualClock()
    engine = _engine(clock)
    record = _json(job_to_json(engine.start(StartRequest(_FOLDERS[0]), "admin")))
    state_records._lifecycles.clear()
    jobs = []
    for pace in [*range(1, 101), 1, 2]:
        again = _json(record)
        again["lifecycle"]["per_asset_ms"] = pace
        jobs.append(job_from_json(again, engine.repository, (), engine.meter))
    assert [job.lifecycle.per_asset_ms for job in jobs] == [*range(1, 101), 1, 2]
    assert jobs[-2].lifecycle is jobs[0].lifecycle and jobs[-1].lifecycle is jobs[1].lifecycle
    assert len(state_records._lifecycles) == 64
