"""The job log's format (:mod:`mock_server.core.logformat`): what is written reads back as it was, the pace
estimator recovers a pace, and the spellings a real author writes are read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mock_server.core.logformat import (
    Entry,
    LogFacts,
    Pace,
    asset_text,
    counted_text,
    estimate_pace,
    failed_text,
    parse,
    read_log,
    write,
    write_run,
)
from mock_server.core.repository import Asset

T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC
#: Texts of one line: no character str.splitlines() breaks a line at (the writer makes them spaces).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
texts = st.text(st.characters(exclude_characters=_BREAKS, exclude_categories=["Cs"]), max_size=80)
entries = st.builds(
    Entry,
    at_ms=st.integers(0, 253_402_300_799_999),  # 1970 to 9999-12-31 23:59:59.999
    level=st.from_regex(r"[A-Z]{1,8}", fullmatch=True),
    tag=st.from_regex(r"[A-Z_]{0,20}", fullmatch=True),
    text=texts,
)


@given(entries)
def test_a_written_entry_reads_back_as_it_was(entry: Entry) -> None:
    line = write(entry)
    assert "\n" not in line
    assert parse(line) == entry


@given(st.integers(0, 10**12), st.integers(1, 5000), st.integers(0, 100), st.integers(0, 20))
def test_a_run_writes_each_asset_as_write_does(start: int, pace: int, first: int, lo: int) -> None:
    assets = [Asset(f"/content/dam/a/{i}.dita", "DITATOPIC", 0) for i in range(5)]
    total = first + lo + len(assets)
    run = list(write_run(start, pace, first, total, assets, "ASSET_PROCESSING", lo))
    expected = [
        write(Entry(start + (i + 1) * pace, text=asset_text(first + i + 1, total, a.path, a.type)))
        for i, a in enumerate(assets, lo)
    ]
    assert run == expected


def job_lines(start: int, counting: int, gaps: list[int], failure: str = "") -> list[str]:
    """A job's log as the mock writes it, asset i done ``gaps[i]`` ms after the line before."""
    lines = [write(Entry(start, text="Bulk processing job started [processingId=p, path=/x, user=u]"))]
    at = start + counting
    lines.append(write(Entry(at, text=counted_text(len(gaps)))))
    for number, gap in enumerate(gaps, 1):
        at += gap
        lines.append(write(Entry(at, text=asset_text(number, len(gaps), f"/x/{number}.dita", "DITATOPIC"))))
    if failure:
        lines.append(write(Entry(at, "ERROR", text=failed_text(failure))))
    return lines


#: The estimator's tolerance: the median of gaps each within ``jitter`` ms of the pace is within it too.
@given(
    st.integers(0, 10**12),
    st.integers(0, 600_000),
    st.integers(1, 60_000),
    st.integers(0, 50),
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=60),
)
def test_the_estimator_recovers_a_pace_within_its_jitter(
    start: int, counting: int, pace: int, jitter: int, noise: list[int]
) -> None:
    gaps = [max(0, pace + n * jitter // 1000) for n in noise]
    found = estimate_pace([read_log(job_lines(start, counting, gaps))])
    assert found.counting_ms == counting
    assert found.per_asset_ms is not None and abs(found.per_asset_ms - max(1, pace)) <= jitter


def test_a_pause_between_assets_is_no_gap_and_logs_pool_their_gaps() -> None:
    lines = job_lines(T0, 100, [200] * 3)
    resume = "Bulk processing job resumed from checkpoint [processed=3]"
    lines.append(write(Entry(T0 + 60_000, text=resume)))
    lines.append(write(Entry(T0 + 60_200, text=asset_text(4, 6, "/x/4.dita", "DITATOPIC"))))
    lines.append(write(Entry(T0 + 90_000, text=asset_text(6, 6, "/x/6.dita", "DITATOPIC"))))  # 5 not shown
    log = read_log(lines)
    assert log.gaps == [200, 200, 200]  # not from the resume, nor from asset 4 to asset 6
    assert estimate_pace([log, read_log(job_lines(T0, 300, [500] * 4))]) == Pace(500, 200)
    assert estimate_pace([]) == Pace(None, None)
    assert estimate_pace([read_log(job_lines(T0, 0, [0, 0]))]) == Pace(1, 0)  # 1 ms at least


def test_the_spellings_of_a_real_author_are_read() -> None:
    """Every spelling the two parsers before this module accepted (``scenario-from``'s: ``: LEVEL: [TAG]``
    with any word as level; ``verify``'s: anything after the timestamp, words anywhere in the line)."""
    at = T0 + 755
    assert parse("2026-01-01 00:00:00:755: INFO: [ASSET_PROCESSING] hello") == Entry(at, text="hello")
    assert parse("2026-01-01 00:00:00:755: warn_2: [] x") == Entry(at, "warn_2", "", "x")
    assert parse("2026-01-01 00:00:00.755 INFO [jobs] x") == Entry(at, "INFO", "jobs", "x")  # logback's dot
    assert parse("2026-01-01 00:00:00,755 x y") == Entry(at, "", "", "x y")  # log4j's comma, no level
    assert parse("2026-01-01 00:00:00:755: Processing asset [1/2]") == Entry(
        at, "", "", "Processing asset [1/2]"
    )
    for unread in (
        "\tat com.adobe.Extract(Extract.java:42)",
        "2026-13-45 00:00:00:755: INFO: [T] x",
        "",
        "2026",
    ):
        assert parse(unread) is None
    log = read_log([
        "2026-01-01 00:00:00:000 [thread-1] Bulk processing job started [processingId=p]",  # no level
        "2026-01-01 00:00:00:100 INFO [T] Counting completed",  # no totalFiles
        "2026-01-01 00:00:00:300: [thread-1] Processing asset [1/3]",  # no path, no type
        "2026-01-01 00:00:00:500: info: [T] Processing asset [2/3] /x/b.md",  # a path, no type
        "2026-01-01 00:00:00:700: INFO: [T] Processing asset [3/3] /x/c.xml [type=DITAMAP]",
        "2026-01-01 00:00:00:700: INFO: [T] Processing asset [4/4] done",  # a word, no path
        "java.lang.IllegalStateException: no metadata",
        "2026-01-01 00:00:00:900: ERROR: [T] Bulk processing job failed: broken: /x/d.dita",
    ])  # fmt: skip
    assert log == LogFacts(
        started=T0, counted=T0 + 100, total=4, assets={2: ("/x/b.md", ""), 3: ("/x/c.xml", "DITAMAP")},
        gaps=[200, 200, 200, 0], failure=(3, "broken: /x/d.dita"), numbers=[1, 2, 3, 4], unread=1,
    )  # fmt: skip


def test_a_failure_that_names_an_asset_line_is_a_failure() -> None:
    log = read_log([write(Entry(T0, "ERROR", text=failed_text("Processing asset [3/10] job started")))])
    assert log.failure == (0, "Processing asset [3/10] job started")
    assert log.numbers == [] and log.started is None
