"""Job logs derived on demand."""

from __future__ import annotations

import tracemalloc
from typing import Any

from mock_server.core.joblog import KEEP_FIRST, KEEP_LAST, JobLog
from mock_server.core.logformat import format_timestamp
from mock_server.core.repository import AssetFilter, Repository


def test_timestamps_are_utc_with_a_colon_before_the_milliseconds() -> None:
    assert format_timestamp(1_772_096_350_755) == "2026-02-26 08:59:10:755"


def test_lines_and_runs_page_consistently() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/x", "DITATOPIC", 5, "t-{n}.dita", 0, 1)
    log = JobLog(repo.select("/content/dam/x", (), AssetFilter(), ()))
    log.write(0, "started\nsecond physical line")
    log.open_run(0, 0, 100)
    log.grow_run(3)
    log.write(300, "cancelled")
    lines = list(log)
    assert len(lines) == len(log) == 5
    assert lines[0].endswith("[ASSET_PROCESSING] started second physical line")
    assert lines[2] == (
        "1970-01-01 00:00:00:200: INFO: [ASSET_PROCESSING] Processing asset [2/5] /content/dam/x/t-2.dita"
        " [type=DITATOPIC]"
    )
    assert [log.page(i, 2) for i in range(0, 5, 2)] == [lines[0:2], lines[2:4], lines[4:5]]


def test_a_million_line_log_stays_small_and_pages_fast() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/big", "DITATOPIC", 1_000_000, "t-{n}.dita", 0, 1)
    tracemalloc.start()
    log = JobLog(repo.select("/content/dam/big", (), AssetFilter(), ()))
    log.open_run(0, 0, 1)
    log.grow_run(1_000_000)
    page = log.page(999_500, 500)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(log) == 1_000_000
    assert page[-1].endswith(
        "Processing asset [1000000/1000000] /content/dam/big/t-1000000.dita [type=DITATOPIC]"
    )
    assert peak < 2_000_000


class CountingList(list[Any]):
    """A list that counts the items read from it."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        CountingList.reads += 1
        return super().__getitem__(index)


def test_a_page_stays_o_page_after_forty_thousand_cancel_resume_cycles() -> None:
    from mock_server import Settings
    from mock_server.engine import JobEngine, ManualClock, StartRequest, default_repository

    clock = ManualClock()
    engine = JobEngine(default_repository(), Settings(per_asset_ms=3_600_000), clock)
    job = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(1)
    for _ in range(40_000):
        engine.cancel(job.processing_id)
        engine.resume(job.processing_id)
    assert len(job.log) > 120_000
    job.log._segments = CountingList(job.log._segments)
    CountingList.reads = 0
    page = job.log.page(len(job.log) - 10, 10)
    assert len(page) == 10 and page[-1].endswith("[processed=0/6]")
    assert CountingList.reads <= 20  # the segments of the page, not the 120,000 before it


def cycled_job(cycles: int) -> tuple[Any, Any]:
    """An engine and its one job, cancelled and resumed ``cycles`` times (four segments each)."""
    from mock_server import Settings
    from mock_server.engine import JobEngine, ManualClock, StartRequest, default_repository

    clock = ManualClock()
    engine = JobEngine(default_repository(), Settings(per_asset_ms=3_600_000), clock)
    job = engine.start(StartRequest("/content/dam/22858"), "admin")
    clock.advance(1)
    for _ in range(cycles):
        clock.advance(1)
        engine.cancel(job.processing_id)
        engine.resume(job.processing_id)
    return engine, job


def test_cancel_resume_cycles_keep_the_log_bounded() -> None:
    """Every cycle writes three lines and a run; past the kept segments they fold into one."""
    most = KEEP_FIRST + 1 + KEEP_LAST + 256
    engine, job = cycled_job(1_000)
    assert job.log.segments <= most
    settled = engine.bytes_kept
    for _ in range(3):
        for _ in range(1_000):
            engine.cancel(job.processing_id)
            engine.resume(job.processing_id)
        assert job.log.segments <= most
        assert engine.bytes_kept <= settled + 256 * 300  # flat, but for one fold's worth of segments
    assert len(job.log) == 1 + 1 + 1 + 3 * 4_000  # started, counting, counted; no line is lost


def test_line_numbers_stay_where_they_were_when_the_log_folds() -> None:
    engine, job = cycled_job(300)  # 1,204 segments: not folded yet
    before = list(job.log)
    stream = job.log.lines(0, len(before))  # a download that began before the folds
    taken = [next(stream) for _ in range(10)]
    for _ in range(2_000):
        engine.cancel(job.processing_id)
        engine.resume(job.processing_id)
    after = job.log.page(0, len(before))
    head = 3 + 3 * (KEEP_FIRST - 4) // 4  # the lines of the first KEEP_FIRST segments: 48
    assert after[:head] == before[:head]  # kept as written
    assert all("Log line folded to bound memory" in line for line in after[head:])
    assert f"[line={100 - head + 1}/" in after[100]  # the fold starts at line `head`
    assert taken + list(stream) == before[:10] + after[10:]  # the stream went on from line 10
    assert len(job.log) == 3 + 3 * 2_300  # no line lost
    tail = job.log.page(len(job.log) - 3, 3)  # the last lines are kept as written
    assert "cancelled by admin" in tail[0] and "Checkpoint saved" in tail[1] and "resumed" in tail[2]


def test_a_snapshot_keeps_its_lines_while_the_log_grows_and_folds() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/x", "DITATOPIC", 5, "t-{n}.dita", 0, 1)
    log = JobLog(repo.select("/content/dam/x", (), AssetFilter(), ()))
    for n in range(KEEP_FIRST + KEEP_LAST):
        log.write(n, f"line {n}")
    snapshot, version = log.snapshot(), log.version
    before = list(snapshot.lines(0, len(snapshot)))
    for n in range(400):  # enough to fold the middle of the log
        log.write(n, f"later {n}")
    assert log.version != version == snapshot.version
    assert list(log.lines(0, len(before))) != before  # the log folded lines the snapshot kept
    assert list(snapshot.lines(0, len(snapshot))) == before and len(snapshot) == len(before)


def test_a_version_names_one_state_of_one_log() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/x", "DITATOPIC", 5, "t-{n}.dita", 0, 1)
    selection = repo.select("/content/dam/x", (), AssetFilter(), ())
    one, other = JobLog(selection), JobLog(selection)
    seen = {one.version, other.version}
    one.open_run(0, 0, 1)
    seen.add(one.version)
    one.grow_run(3)
    seen.add(one.version)
    one.grow_run(3)  # no change: the same version
    one.write(5, "done")
    seen.add(one.version)
    assert len(seen) == 5
