"""The job engine alone: plain Python, a manual clock, no HTTP."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import ManualClock, Settings
from mock_server.core.default_dam import default_repository
from mock_server.core.errors import QueueFull
from mock_server.core.jobs import Job, Phase, StartRequest, Status
from mock_server.engine import InvalidTransition, JobConflict, JobEngine, JobError, Lifecycle, UnknownJob
from tests.support.constants import FLAGS
from tests.support.hypothesis_profiles import examples

PROCESSED = re.compile(r"Processing asset \[(\d+)/(\d+)\]")


def make_engine(**changes: object) -> tuple[JobEngine, ManualClock]:
    clock = ManualClock()
    ids = (f"job-{n}" for n in range(1_000_000))
    return JobEngine(default_repository(), Settings().replace(**changes), clock, lambda: next(ids)), clock


def processed_numbers(job: Job) -> list[int]:
    return [int(m.group(1)) for line in job.log if (m := PROCESSED.search(line))]


def test_restart_starts_a_new_job_for_the_request_of_a_success_job() -> None:
    engine, clock = make_engine()
    request = StartRequest(
        "/content/dam/22858", excluded_paths=("/content/dam/22858/a",), file_types=("DITAMAP",)
    )
    first = engine.start(request, "admin")
    with pytest.raises(InvalidTransition, match="is IN_PROGRESS and cannot be restarted; only SUCCESS"):
        engine.restart(first.processing_id, "admin")
    clock.advance(10)
    again = engine.restart(first.processing_id, "editor")
    assert again.processing_id != first.processing_id and again.request == first.request
    assert again.created_by == "editor" and again.status == Status.IN_PROGRESS  # the runner is free
    assert first.status == Status.SUCCESS  # the restarted job stays as it was
    with pytest.raises(JobConflict, match="already IN_PROGRESS"):  # the same path rule as a start
        engine.restart(first.processing_id, "admin")
    engine.cancel(again.processing_id)
    with pytest.raises(InvalidTransition, match="resume a FAILED or CANCELLED one"):
        engine.restart(again.processing_id, "admin")


def test_fail_at_asset_k_stops_there_with_a_comment_and_resume_finishes() -> None:
    engine, clock = make_engine()
    lifecycle = Lifecycle(100, 200, fail_at_asset=4, failure_comment="Could not read asset")
    job = engine.start(StartRequest("/content/dam/22858"), "admin", lifecycle)
    clock.advance(10)
    job = engine.get(job.processing_id)
    assert job.status == Status.FAILED
    assert job.triggered_count == 3
    assert job.comments == "Could not read asset: /content/dam/22858/README.md"
    assert job.completed_at == clock.now_ms() - 10_000 + 100 + 3 * 200
    assert (job.cancellable, job.resumable, job.restartable) == (False, True, False)
    assert any("ERROR: [ASSET_PROCESSING] Bulk processing job failed" in line for line in job.log)
    engine.resume(job.processing_id)
    clock.advance(10)
    job = engine.get(job.processing_id)  # the engine is lazy: it moves when asked
    assert job.status == Status.SUCCESS and job.triggered_count == 6
    assert processed_numbers(job) == [1, 2, 3, 4, 5, 6]  # asset 4 was not done before it failed


def test_counting_failure_and_recount_on_resume() -> None:
    engine, clock = make_engine()
    lifecycle = Lifecycle(100, 200, counting_failure="Query timed out")
    job = engine.start(StartRequest("/content/dam/22858"), "admin", lifecycle)
    clock.advance(0.1)
    assert engine.get(job.processing_id).status == Status.FAILED
    assert (job.calculation_status, job.total_files, job.comments) == (Status.FAILED, 0, "Query timed out")
    engine.resume(job.processing_id)
    assert job.calculation_status == Status.IN_PROGRESS
    clock.advance(2)
    assert engine.get(job.processing_id).status == Status.SUCCESS
    assert job.total_files == 6


def test_errors_name_the_job_and_the_way_out() -> None:
    engine, _ = make_engine()
    with pytest.raises(UnknownJob, match="no job has processingId 'x'"):
        engine.get("x")
    with pytest.raises(JobError, match="does not exist"):
        engine.start(StartRequest("/content/dam/missing"), "admin")
    with pytest.raises(JobError, match="startTime"):
        engine.start(StartRequest("/content/dam", start_time=5, end_time=1), "admin")
    job = engine.start(StartRequest("/content/dam/22858"), "admin")
    with pytest.raises(InvalidTransition, match="only FAILED or CANCELLED"):
        engine.resume(job.processing_id)


def test_a_path_naming_one_asset_processes_it_alone() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/demo/topic-3.dita"), "admin")
    clock.advance(1)
    engine.sync()
    assert job.status == Status.SUCCESS and job.total_files == 1


def test_a_job_with_nothing_to_process_succeeds_after_counting() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/projects/translation_output"), "admin")
    clock.advance(0.1)
    engine.sync()
    assert (job.status, job.total_files, job.triggered_count) == (Status.SUCCESS, 0, 0)


def test_old_finished_jobs_are_forgotten_past_max_jobs() -> None:
    engine, clock = make_engine(max_jobs=3)
    ids = []
    for _ in range(5):
        ids.append(engine.start(StartRequest("/content/dam/22858"), "admin").processing_id)
        clock.advance(2)
    assert [j.processing_id for j in engine.jobs()] == ids[-3:]


def test_a_clock_that_steps_back_does_not_move_jobs_back() -> None:
    class Jumpy(ManualClock):
        def now_ms(self) -> int:
            return super().now_ms() - (5000 if self.back else 0)

        back = False

    clock = Jumpy()
    engine = JobEngine(default_repository(), Settings(), clock)
    job = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(0.5)
    engine.sync()
    before = job.triggered_count
    clock.back = True
    engine.sync()
    assert job.triggered_count == before


def test_the_epoch_is_a_time_like_any_other() -> None:
    """A time of 0 is a time, not "unset": jobs started, cancelled and resumed at the epoch write
    their "job started" line once, when they first leave the queue."""
    clock = ManualClock(start_ms=0)
    engine = JobEngine(default_repository(), Settings(), clock)
    running = engine.start(StartRequest("/content/dam/22858"), "admin")  # leaves the queue at 0
    queued = engine.start(StartRequest("/content/dam/demo1"), "admin")  # waits behind it
    assert (running.phase, running.started_at, queued.phase, queued.started_at) == (
        Phase.COUNTING,
        0,
        Phase.QUEUED,
        None,
    )
    engine.cancel(queued.processing_id)  # cancelled in the queue
    assert (queued.status, queued.completed_at) == (Status.CANCELLED, 0)
    engine.resume(queued.processing_id)
    engine.cancel(running.processing_id)  # cancelled while counting: its runner takes the next job
    assert (running.status, running.completed_at, queued.started_at) == (Status.CANCELLED, 0, 0)
    engine.resume(running.processing_id)
    assert (running.started_at, running.completed_at) == (None, None)
    clock.advance(10)
    engine.sync()
    for job in (running, queued):
        started = [line for line in job.log if "Bulk processing job started" in line]
        assert job.status == Status.SUCCESS and len(started) == 1, list(job.log)
    assert running.log.page(0, 1)[0].startswith("1970-01-01 00:00:00:000: INFO: ")
    assert running.first_started_at == 0 and queued.first_started_at == 0


# --- the engine against random interleavings --------------------------------------------------------

PATHS = ["/content/dam/22858", "/content/dam/demo1", "/content/dam/dita-templates", "/content/dam/demo"]
step = st.one_of(
    st.tuples(st.just("start"), st.sampled_from(PATHS), st.integers(0, 12)),
    st.tuples(st.just("advance"), st.integers(0, 3000), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("resume"), st.integers(0, 9), st.just(0)),
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(step, max_size=40))
def test_no_interleaving_reaches_an_illegal_state(steps: list[tuple[str, object, int]]) -> None:
    engine, clock = make_engine()
    jobs: list[Job] = []
    seen: dict[str, tuple[str, int]] = {}
    for action, arg, fail_at in steps:
        try:
            if action == "start":
                lifecycle = Lifecycle(100, 200, fail_at_asset=fail_at or None)
                jobs.append(engine.start(StartRequest(str(arg)), "admin", lifecycle))
            elif action == "advance":
                clock.advance(int(str(arg)) / 1000)
                engine.sync()
            elif jobs:
                job = jobs[int(str(arg)) % len(jobs)]
                (engine.cancel if action == "cancel" else engine.resume)(job.processing_id)
        except JobError:
            pass
        running = [j for j in jobs if j.phase in (Phase.COUNTING, Phase.PROCESSING)]
        assert len(running) <= 1
        for job in jobs:
            previous_status, previous_count = seen.get(job.processing_id, (Status.WAITING, 0))
            assert job.triggered_count >= previous_count
            assert job.triggered_count <= job.total_files
            assert (job.cancellable, job.resumable, job.restartable) == FLAGS[job.status]
            if previous_status == Status.SUCCESS:
                assert job.status == Status.SUCCESS
            assert (job.completed_at is not None) == job.finished
            if job.status in (Status.WAITING, Status.IN_PROGRESS):  # §3.2: startedAt once it left the queue
                assert (job.started_at is None) == (job.status == Status.WAITING)
            numbers = processed_numbers(job)
            assert numbers == list(range(1, job.triggered_count + 1))  # each asset once, in order
            seen[job.processing_id] = (job.status, job.triggered_count)
    history = engine.history()
    assert [j.created_at for j in history] == sorted((j.created_at for j in history), reverse=True)
    clock.advance(3600)
    for job in engine.jobs():
        assert job.status in (Status.SUCCESS, Status.FAILED, Status.CANCELLED)


def test_cancel_while_counting_marks_the_count_cancelled_and_resume_recounts() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(0.05)
    engine.cancel(job.processing_id)
    assert (job.status, job.calculation_status) == (Status.CANCELLED, Status.CANCELLED)
    engine.resume(job.processing_id)
    clock.advance(2)
    engine.sync()
    assert (job.status, job.calculation_status, job.total_files) == (Status.SUCCESS, Status.SUCCESS, 6)


def test_a_scripted_wait_happens_once_like_a_scripted_failure() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/22858"), "admin", Lifecycle(100, 200, wait_ms=30_000))
    clock.advance(10)
    engine.cancel(job.processing_id)
    clock.advance(25)
    engine.resume(job.processing_id)
    assert job.started_at == clock.now_ms()  # not held another 30 s


def test_a_counting_failure_and_a_processing_failure_both_happen() -> None:
    engine, clock = make_engine()
    lifecycle = Lifecycle(100, 200, counting_failure="count", fail_at_asset=3, failure_comment="asset")
    job = engine.start(StartRequest("/content/dam/22858"), "admin", lifecycle)
    clock.advance(1)
    engine.sync()
    assert (job.status, job.comments) == (Status.FAILED, "count")
    engine.resume(job.processing_id)
    clock.advance(5)
    engine.sync()
    assert (job.status, job.triggered_count) == (Status.FAILED, 2)
    assert job.comments.startswith("asset: ")
    engine.resume(job.processing_id)
    clock.advance(5)
    engine.sync()
    assert job.status == Status.SUCCESS


def test_eta_counts_the_time_spent_on_the_current_asset() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/22858"), "admin", Lifecycle(0, 2000))
    clock.advance(2 + 1.5)  # asset 2 is 1.5 s under way: 4 x 2 s + 0.5 s to go
    engine.sync()
    assert job.triggered_count == 1
    assert job.remaining_ms() == 8_500


# --- the system job (§3.29's switch) -----------------------------------------------------------------

MINUTE = 60_000


def system_jobs(engine: JobEngine) -> list[Job]:
    return [job for job in engine.jobs() if job.created_by == "System"]


def test_no_system_job_by_default() -> None:
    engine, clock = make_engine()
    clock.advance(3 * 3600)
    assert system_jobs(engine) == []


def test_the_system_job_runs_every_interval_from_one_interval_after_the_start() -> None:
    engine, clock = make_engine(system_job=True)
    began = clock.now_ms()
    clock.advance(15 * 60 - 1)
    assert system_jobs(engine) == []
    clock.advance(1)
    (first,) = system_jobs(engine)
    assert (first.request.path, first.request.type, first.created_at) == (
        "/content/dam",
        "ASSET_PROCESSING",
        began + 15 * MINUTE,
    )
    clock.advance(45 * 60)
    jobs = system_jobs(engine)
    assert [job.created_at - began for job in jobs] == [15 * MINUTE, 30 * MINUTE, 45 * MINUTE, 60 * MINUTE]
    # the last one just began counting
    assert [job.status for job in jobs] == [Status.SUCCESS] * 3 + [Status.IN_PROGRESS]
    assert jobs[0].completed_at == jobs[0].created_at + 100 + 167 * 200
    assert engine.history()[0] is jobs[-1]


def test_the_system_job_queues_behind_earlier_starts_and_skips_while_its_path_is_busy() -> None:
    engine, clock = make_engine(system_job=True, system_job_interval_ms=MINUTE, per_asset_ms=1000)
    user = engine.start(StartRequest("/content/dam"), "admin")  # 167 s: spans two due times
    clock.advance(59)
    other = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(1)
    assert system_jobs(engine) == []  # due at 60 s, but the user's job for /content/dam is running
    clock.advance(200)
    (system,) = system_jobs(engine)  # at 180 s, once the user's job ended at 167.1 s
    assert system.created_at == user.created_at + 3 * MINUTE
    assert other.started_at is not None and system.started_at is not None
    assert other.started_at < system.started_at  # FIFO: the earlier start runs first
    assert other.status == Status.SUCCESS and user.status == Status.SUCCESS


def test_a_far_clock_jump_makes_only_the_latest_system_jobs() -> None:
    engine, clock = make_engine(system_job=True, system_job_interval_ms=1000, per_asset_ms=1, counting_ms=0)
    clock.advance(1_000_000)  # a million intervals
    jobs = system_jobs(engine)
    assert len(jobs) == 1000
    assert [j.created_at for j in jobs] == [clock.now_ms() - 1000 * k for k in range(999, -1, -1)]
    clock.advance(1)
    assert len(system_jobs(engine)) == len(jobs) + 1  # and it goes on, one interval at a time


def test_resume_is_refused_while_another_job_has_the_path() -> None:
    engine, clock = make_engine()
    first = engine.start(StartRequest("/content/dam/22858"), "admin")
    engine.cancel(first.processing_id)
    second = engine.start(StartRequest("/content/dam/22858/"), "admin")
    with pytest.raises(JobConflict, match=r"is already IN_PROGRESS .*cancel it, then resume this one"):
        engine.resume(first.processing_id)
    clock.advance(10)
    assert engine.resume(first.processing_id).status == Status.IN_PROGRESS  # once the other has ended
    assert second.status == Status.SUCCESS


def test_the_system_job_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="system_job_path must be absolute"):
        Settings(system_job_path="content/dam")
    with pytest.raises(
        ValueError, match=r"system_job_interval \(system_job_interval_ms\) must be at least 1s, got 500ms"
    ):
        Settings(system_job_interval_ms=500)


def test_a_reset_starts_the_interval_again() -> None:
    engine, clock = make_engine(system_job=True)
    clock.advance(14 * 60)
    engine.reset()
    clock.advance(14 * 60)
    assert system_jobs(engine) == []
    clock.advance(60)
    assert len(system_jobs(engine)) == 1


# --- concurrency (§3.12's switch) --------------------------------------------------------------------

FOLDERS = {  # path: assets
    "/content/dam/22858": 6, "/content/dam/status-fetch1": 7, "/content/dam/dita-templates": 7,
    "/content/dam/demo": 18, "/content/dam/demo1": 11, "/content/dam/products/gamma": 19,
    "/content/dam/products/beta/web": 6, "/content/dam/products/beta/docs/release-notes": 8,
}  # fmt: skip


@settings(max_examples=examples(150), deadline=None)
@given(
    runners=st.integers(1, 4),
    starts=st.lists(
        st.tuples(st.sampled_from(sorted(FOLDERS)), st.integers(0, 3000)),
        max_size=8,
        unique_by=lambda s: s[0],
    ),
)
def test_runners_take_jobs_in_fifo_order_as_a_list_schedule_would(
    runners: int, starts: list[tuple[str, int]]
) -> None:
    engine, clock = make_engine(concurrency=runners)
    jobs = []
    for path, gap in starts:
        clock.advance(gap / 1000)
        jobs.append(engine.start(StartRequest(path), "admin"))
        assert sum(1 for j in engine.jobs() if j.started_at is not None and not j.finished) <= runners
    clock.advance(3600)
    engine.sync()
    free = [
        0
    ] * runners  # the reference: each job starts on the runner free first, never before the one ahead
    last = 0
    for job, (path, _) in zip(jobs, starts, strict=True):
        start = max(job.created_at, min(free), last)
        free[free.index(min(free))] = start + 100 + FOLDERS[path] * 200
        last = start
        assert (job.status, job.started_at, job.completed_at) == (
            Status.SUCCESS,
            start,
            start + 100 + FOLDERS[path] * 200,
        )


def test_two_runners_run_two_jobs_at_once_and_a_cancel_frees_one() -> None:
    engine, clock = make_engine(concurrency=2)
    a = engine.start(StartRequest("/content/dam/demo"), "admin")
    b = engine.start(StartRequest("/content/dam/demo1"), "admin")
    c = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(1)
    engine.sync()  # the engine is lazy: it moves when asked
    assert [j.status for j in (a, b, c)] == [
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        Status.WAITING,
    ] and c.started_at is None
    engine.cancel(b.processing_id)
    engine.sync()
    assert c.started_at == clock.now_ms()  # the cancelled job's runner takes the next at once


def test_a_held_head_holds_every_runner_behind_it() -> None:
    engine, clock = make_engine(concurrency=3)
    held = engine.start(StartRequest("/content/dam/demo"), "admin", Lifecycle(100, 200, wait_ms=30_000))
    after = engine.start(StartRequest("/content/dam/demo1"), "admin")
    clock.advance(10)
    engine.sync()
    assert held.started_at is None and after.started_at is None  # FIFO, even with idle runners
    clock.advance(20)
    engine.sync()
    assert held.started_at == after.started_at == held.created_at + 30_000


def test_kept_jobs_stay_within_their_bytes() -> None:
    """Big requests and long logs take memory: past ``jobs_bytes`` the jobs that finished first
    are forgotten, and with no finished job left to forget a resume is refused, the job kept."""
    engine, _ = make_engine(jobs_bytes=200_000, per_asset_ms=3_600_000)
    big = tuple(f"/content/dam/22858/{'x' * 1000}-{n}" for n in range(20))  # about 44 KB kept each
    jobs = []
    for _ in range(12):
        jobs.append(engine.start(StartRequest("/content/dam/22858", excluded_paths=big), "admin"))
        engine.cancel(jobs[-1].processing_id)
        assert engine.bytes_kept <= 200_000
    kept = engine.jobs()
    assert 1 < len(kept) < 12 and kept[-1] is jobs[-1]  # the oldest went first
    assert engine.bytes_kept == sum(j.request_bytes + j.log.bytes for j in kept)
    engine2, _ = make_engine(jobs_bytes=70_000, per_asset_ms=3_600_000)
    job = engine2.start(StartRequest("/content/dam/22858"), "admin")
    refused = None
    for _ in range(1000):  # each cycle writes three lines to the one job's log
        engine2.cancel(job.processing_id)
        try:
            engine2.resume(job.processing_id)
        except QueueFull as error:
            refused = error
            break
    assert refused is not None and "jobs_bytes" in str(refused)
    assert engine2.get(job.processing_id).status == Status.CANCELLED  # refused, and kept


# --- the next change by the clock alone (the dashboard's "to the next transition") -------------------


def test_the_next_change_follows_a_job_through_its_wait_its_count_and_its_failure() -> None:
    engine, clock = make_engine()
    assert engine.next_change_at() is None  # nothing queued or running
    lifecycle = Lifecycle(100, 200, fail_at_asset=3, wait_ms=5_000)
    job = engine.start(StartRequest("/content/dam/22858"), "admin", lifecycle)
    moments, t0 = [], clock.now_ms()
    while (due := engine.next_change_at()) is not None:
        clock.set(due)
        engine.sync()
        moments.append((due - t0, job.status, job.phase))
    assert moments == [
        (5_000, Status.IN_PROGRESS, Phase.COUNTING),  # held 5 s, then it takes the runner
        (5_100, Status.IN_PROGRESS, Phase.PROCESSING),  # counted
        (5_500, Status.FAILED, Phase.ENDED),  # two assets done, the third fails
    ]


def test_a_job_waiting_for_polls_has_no_next_change_until_polled() -> None:
    engine, clock = make_engine()
    job = engine.start(StartRequest("/content/dam/22858"), "admin", Lifecycle(100, 200, wait_polls=2))
    assert engine.next_change_at() is None  # only polls move it
    engine.poll(job.processing_id)
    engine.poll(job.processing_id)
    assert job.status == Status.IN_PROGRESS and engine.next_change_at() == clock.now_ms() + 100


def test_the_next_system_job_is_a_change_too() -> None:
    engine, clock = make_engine(system_job=True, system_job_interval_ms=60_000)
    t0 = clock.now_ms()
    assert engine.next_change_at() == t0 + 60_000
    clock.set(t0 + 60_000)
    assert engine.next_change_at() == t0 + 60_000 + 100  # the system job's count ends first


def test_the_view_of_the_jobs_slices_as_a_list_does() -> None:
    engine, _ = make_engine()
    for _ in range(30):
        engine.cancel(engine.start(StartRequest("/content/dam/22858"), "admin").processing_id)
    view, jobs = engine.view(), engine.jobs()
    assert len(view) == 30 and list(view) == jobs and list(reversed(view)) == jobs[::-1]
    bounds = (None, -40, -30, -29, -16, -15, -1, 0, 1, 14, 15, 16, 29, 30, 40)
    for start in bounds:
        for stop in bounds:
            assert view[start:stop] == jobs[start:stop], (start, stop)
    assert view[::7] == jobs[::7] and view[0] is jobs[0] and view[-1] is jobs[-1] and view[17] is jobs[17]
    with pytest.raises(IndexError):
        view[30]
