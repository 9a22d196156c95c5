"""The companion API's core (§3.40): each asset's status derived from the bulk jobs, on the clock."""

from __future__ import annotations

import pytest

from mock_server import Settings
from mock_server.core import asset_status
from mock_server.core.asset_status import AssetStatus, StatusJobs, asset_uuid
from mock_server.core.errors import UnknownStatusJob
from mock_server.core.job import Lifecycle, StartRequest
from mock_server.engine import JobEngine, ManualClock, default_repository

FOLDER = "/content/dam/status-fetch1"
#: The folder's assets in processing order, the excluded folder left out (the page's example).
ASSETS = [f"{FOLDER}/{name}" for name in ("intro.dita", "concepts.dita", "status.ditamap", "diagram.png")]
EXCLUDED = ("content/dam/status-fetch1/excluded-folder",)  # relative, as the page writes it

P, S, F, R = AssetStatus.PENDING, AssetStatus.SUCCESS, AssetStatus.FAILURE, AssetStatus.PROCESSING


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> JobEngine:
    return JobEngine(default_repository(), Settings(), clock)


def statuses(jobs: StatusJobs, paths: tuple[str, ...] = (FOLDER,)) -> dict[str, AssetStatus]:
    job = jobs.start(paths, EXCLUDED, "admin")
    return {report.path: report.status for report in jobs.assets(job)}


def start(engine: JobEngine, path: str = FOLDER, **lifecycle: object) -> str:
    pace = Lifecycle(100, 200, **lifecycle)  # type: ignore[arg-type]
    return engine.start(StartRequest(path, excluded_paths=EXCLUDED), "admin", pace).processing_id


def test_assets_no_job_processed_are_pending_and_a_missing_path_does_not_exist(engine: JobEngine) -> None:
    jobs = StatusJobs(engine)
    job = jobs.start((FOLDER, "/content/dam/nowhere"), EXCLUDED, "admin")
    reports = jobs.assets(job)
    assert [r.path for r in reports] == [*ASSETS, "/content/dam/nowhere"]
    assert all(r.status is P for r in reports)
    assert [r.exists for r in reports] == [True] * 4 + [False]
    assert reports[-1].uuid == "" and all(r.uuid.startswith("GUID-") for r in reports[:-1])


def test_a_running_job_moves_its_assets_from_processing_to_success_on_the_clock(
    engine: JobEngine, clock: ManualClock
) -> None:
    jobs = StatusJobs(engine)
    start(engine)
    assert list(statuses(jobs).values()) == [R, R, R, R]  # counting: every asset is in a running job
    clock.advance(0.1 + 0.2 * 2)  # counted, then two assets of 200 ms
    assert list(statuses(jobs).values()) == [S, S, R, R]
    clock.advance(10)
    assert list(statuses(jobs).values()) == [S, S, S, S]


def test_one_status_job_read_twice_is_derived_each_time_not_copied(
    engine: JobEngine, clock: ManualClock
) -> None:
    jobs = StatusJobs(engine)
    job = jobs.start((FOLDER,), EXCLUDED, "admin")
    assert {r.status for r in jobs.assets(job)} == {P}
    start(engine)
    clock.advance(10)
    assert {r.status for r in jobs.assets(job)} == {S}


def test_the_asset_a_job_failed_on_is_a_failure_and_those_after_it_pending(
    engine: JobEngine, clock: ManualClock
) -> None:
    jobs = StatusJobs(engine)
    pid = start(engine, fail_at_asset=3)
    clock.advance(10)
    assert engine.get(pid).status == "FAILED"
    assert list(statuses(jobs).values()) == [S, S, F, P]
    engine.resume(pid)  # WAITING again: nothing has processed the asset since it failed
    assert list(statuses(jobs).values())[2] is R  # the runner is free: it left the queue at once
    clock.advance(10)
    assert list(statuses(jobs).values()) == [S, S, S, S]


def test_a_resumed_job_still_in_the_queue_leaves_the_failure(engine: JobEngine, clock: ManualClock) -> None:
    jobs = StatusJobs(engine)
    pid = start(engine, fail_at_asset=3)
    clock.advance(10)
    start(engine, "/content/dam/demo")  # holds the one runner
    engine.resume(pid)
    assert engine.get(pid).status == "WAITING"
    assert list(statuses(jobs).values()) == [S, S, F, P]


def test_a_cancelled_job_leaves_what_it_did_not_reach_pending(engine: JobEngine, clock: ManualClock) -> None:
    jobs = StatusJobs(engine)
    pid = start(engine)
    clock.advance(0.1 + 0.2)
    engine.cancel(pid)
    clock.advance(10)
    assert list(statuses(jobs).values()) == [S, P, P, P]


def test_a_waiting_job_processes_nothing_yet(engine: JobEngine) -> None:
    jobs = StatusJobs(engine)
    start(engine, "/content/dam/demo")  # holds the one runner
    pid = start(engine)
    assert engine.get(pid).status == "WAITING"
    assert list(statuses(jobs).values()) == [P, P, P, P]


def test_the_newest_job_decides_a_rerun_over_processed_assets(engine: JobEngine, clock: ManualClock) -> None:
    jobs = StatusJobs(engine)
    start(engine)
    clock.advance(10)
    start(engine)  # runs again over the same assets
    assert list(statuses(jobs).values()) == [R, R, R, R]
    clock.advance(10)
    assert list(statuses(jobs).values()) == [S, S, S, S]


def test_a_job_over_one_asset_speaks_for_that_asset_only(engine: JobEngine, clock: ManualClock) -> None:
    jobs = StatusJobs(engine)
    start(engine, ASSETS[1])
    clock.advance(10)
    assert list(statuses(jobs).values()) == [P, S, P, P]
    assert statuses(jobs, (ASSETS[1],)) == {ASSETS[1]: S}


def test_overlapping_paths_list_each_asset_once(engine: JobEngine) -> None:
    assert list(statuses(StatusJobs(engine), (FOLDER, ASSETS[0], f"{FOLDER}/")).keys()) == ASSETS


def test_the_uuid_is_stable_per_path() -> None:
    assert asset_uuid(ASSETS[0]) == asset_uuid(ASSETS[0]) != asset_uuid(ASSETS[1])
    assert asset_uuid(ASSETS[0]) == "GUID-7aa7fce8-f119-5d87-ae2a-eedcfec051ef"  # across runs too


def test_the_oldest_status_jobs_are_forgotten_past_the_cap(
    engine: JobEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asset_status, "MAX_STATUS_JOBS", 3)
    jobs = StatusJobs(engine)
    ids = [jobs.start((FOLDER,), (), "admin").job_id for _ in range(5)]
    assert len(jobs) == 3 and [job.job_id for job in jobs.recent(10)] == ids[:1:-1]
    with pytest.raises(UnknownStatusJob, match="jobId"):
        jobs.get(ids[0])
    jobs.reset()
    assert len(jobs) == 0


def test_an_answer_lists_at_most_max_assets(engine: JobEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asset_status, "MAX_ASSETS", 3)
    jobs = StatusJobs(engine)
    assert list(statuses(jobs, (FOLDER, "/nowhere")).keys()) == ASSETS[:3]
    assert len(statuses(jobs, ("/a", "/b", "/c", "/d"))) == 3
