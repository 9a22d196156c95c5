"""Job logs derived on demand."""

from __future__ import annotations

import tracemalloc
from typing import Any

from mock_server.core.joblog import JobLog, format_timestamp
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
    from mock_server import JobEngine, ManualClock, Settings, StartRequest, default_repository

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
