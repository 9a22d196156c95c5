"""``scenario-from`` against hostile tapes, written in tmp_path: a ZIP bomb as a body file, a tape of tiny
objects, a line of too many values, a FIFO past the cap, lone surrogates, odd types. Each is refused with
a message naming the file and line (exit 2), or read within its caps; none leaves a partial file, and an
existing file (``--force``) stays as it was."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.cli import _scenario_from, main
from mock_server.recording.limits import LimitError, ZipCaps, split_lines
from mock_server.recording.tape_jobs import Caps, Jobs
from mock_server.recording.tape_reader import open_tape
from mock_server.recording.to_scenario import scenario_from_tape
from tests.support.constants import BASE
from tests.unit.test_to_scenario import ASSETS, TapeWriter, job_log, state, successful_job

HEADER = {"tape": "aem-guides-mock", "version": 1, "upstream": "http://aem:4502"}


def convert(tape: Path, output: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``scenario-from TAPE -o OUTPUT FLAGS``: its exit code and what it wrote to stderr."""
    code = main(["scenario-from", str(tape), "-o", str(output), *flags])
    return code, capsys.readouterr().err


def leftovers(folder: Path) -> list[str]:
    """Files a conversion left beside its output: a temporary one, half written."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def downloaded(tmp_path: Path, archive: bytes) -> Path:
    """A tape whose job's log was downloaded as ``archive`` (a body file beside the tape)."""
    tape = TapeWriter(tmp_path / "tape")
    tape.start(0, "/content/dam/rec", "job-1")
    tape.status(10, state("job-1", "/content/dam/rec", "SUCCESS", 7, 7))
    tape.add(20, "download", "GET", f"{BASE}/logs/download", 200, query="processingId=job-1")
    tape.rows[-1]["response"]["body_file"] = "bodies/0003-response.zip"
    (tmp_path / "tape" / "bodies").mkdir(parents=True)
    (tmp_path / "tape" / "bodies" / "0003-response.zip").write_bytes(archive)
    return tape.write()


def zipped(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# --- body files ----------------------------------------------------------------------------------------


def test_a_zip_bomb_body_file_is_refused_before_it_inflates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = zipped({"job-1.log": "\n" * 4_000_000})  # 4 KB that inflate to 4 MB of empty lines
    assert len(bomb) < 8_000
    code, err = convert(downloaded(tmp_path, bomb), tmp_path / "s.yaml", capsys=capsys)
    assert code == 3, err
    assert "tape.jsonl:4: body_file bodies/0003-response.zip: member 'job-1.log' inflates" in err
    assert "at most 200 to 1 is read" in err
    assert not (tmp_path / "s.yaml").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("caps", "archive", "message"),
    [
        (ZipCaps(max_members=2), {"a.log": "x", "b.log": "y", "c.log": "z"}, "lists 3 members"),
        (ZipCaps(max_inflated=1000), {"a.log": "line of a log\n" * 100}, "inflate to 1400 bytes or more"),
        (
            ZipCaps(max_line=100),
            {"a.log": "".join(map(str, range(9000)))},
            "a line is longer than 100 characters",
        ),
    ],
)
def test_a_body_file_over_a_zip_cap_is_refused_naming_the_cap(
    tmp_path: Path, caps: ZipCaps, archive: dict[str, str | bytes], message: str
) -> None:
    tape = downloaded(tmp_path, zipped(archive))
    with pytest.raises(ValueError, match=rf"tape.jsonl:4: body_file .*{message}"), open_tape(tape) as opened:
        scenario_from_tape(opened, Caps(zip=caps))


def test_a_line_longer_than_the_cap_is_refused_before_it_is_held_whole() -> None:
    read = 0

    def chunks() -> Iterator[bytes]:
        nonlocal read
        for _ in range(10_000):  # 10 MB of one line
            read += 1
            yield b"x" * 1000

    with pytest.raises(LimitError, match="a line is longer than 5000 characters"):
        list(split_lines(chunks(), max_line=5000))
    assert read <= 6


def test_a_downloaded_log_is_kept_to_its_cap_and_the_rest_said(tmp_path: Path) -> None:
    log = job_log("job-1", "/content/dam/rec", ASSETS, counting=170, pace=230)
    with open_tape(downloaded(tmp_path, zipped({"job-1.log": "\n".join(log)}))) as opened:
        text = scenario_from_tape(opened, Caps(max_log_lines=5)).text
    assert "# - job job-1: its log in bodies/0003-response.zip was read to line 5 only" in text
    assert "/content/dam/rec/guide.ditamap" in text and "/content/dam/rec/notes.md" not in text


def test_a_body_file_that_is_a_fifo_is_not_opened(tmp_path: Path) -> None:
    tape = downloaded(tmp_path, b"")
    fifo = tmp_path / "tape" / "bodies" / "0003-response.zip"
    fifo.unlink()
    os.mkfifo(fifo)  # opening it would wait for a writer that never comes
    with open_tape(tape) as opened:
        assert scenario_from_tape(opened).jobs == 1


# --- the tape's lines -----------------------------------------------------------------------------------


def tiny_objects(path: Path, lines: int, per_line: int) -> Path:
    """A tape of history answers of ``per_line`` empty objects each: small lines, many objects."""
    path.mkdir()
    row = {"at_ms": 0, "operation": "history", "request": {"method": "GET", "path": f"{BASE}/history"},
           "response": {"status": 200, "body": {"executionHistory": [{}] * per_line}}}  # fmt: skip
    text = json.dumps(HEADER) + "\n" + (json.dumps(row) + "\n") * lines
    (path / "tape.jsonl").write_text(text)
    return path


def peak_of_conversion(tape: Path) -> int:
    tracemalloc.start()
    try:
        with open_tape(tape) as opened:
            scenario_from_tape(opened)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_tape_of_tiny_objects_costs_memory_of_one_line_not_of_the_tape(tmp_path: Path) -> None:
    peak_of_conversion(tiny_objects(tmp_path / "warm", lines=2, per_line=1000))  # imports, caches: once
    tape = tiny_objects(tmp_path / "tiny", lines=200, per_line=1000)  # 200 lines of 1,000 objects: 800 KB
    size = (tape / "tape.jsonl").stat().st_size
    peak = peak_of_conversion(tape)
    assert peak < size, f"{peak} bytes at the peak for a tape of {size}"  # read whole: 26 times its size


def empty_lines(path: Path, jobs: int, lines: int) -> Path:
    """A tape of ``jobs`` jobs, each paged one log page of ``lines`` empty lines: 4 bytes of JSON a
    line, but a kept line's entry in memory, however short the line (the bench's case 7, smaller)."""
    tape = TapeWriter(path)
    for n in range(jobs):
        tape.start(n, f"/content/dam/rec/f{n}", f"job-{n}")
        tape.logs(n, f"job-{n}", [""] * lines, limit=lines)
    return tape.write()


def test_empty_log_lines_are_charged_their_memory_and_bounded_across_jobs(tmp_path: Path) -> None:
    peak_of_conversion(empty_lines(tmp_path / "warm", jobs=1, lines=10))  # imports, caches: once
    tape = empty_lines(tmp_path / "empty", jobs=30, lines=5000)  # 150,000 empty lines: 600 KB of tape
    caps = Caps(max_log_bytes=1 << 20)
    tracemalloc.start()
    try:
        with open_tape(tape) as opened:
            generated = scenario_from_tape(opened, caps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # kept free of charge, the 150,000 lines took 13 MB; charged, the cap holds them to 1 MiB
    assert peak < 3 << 20, f"{peak} bytes at the peak for {caps.max_log_bytes} bytes of lines"
    assert "log line(s) not kept (scenario-from keeps 50000 a job, 200000 lines and 1048576 bytes" in (
        generated.text
    )
    with open_tape(empty_lines(tmp_path / "many", jobs=30, lines=100)) as opened:  # lines, all jobs
        reading = Jobs(opened, Caps(max_lines=1000))
        for ex in opened.exchanges():
            reading.read(ex)
    assert reading.kept_lines == 1000 == sum(len(job.lines) for job in reading.jobs.values())
    assert sum(reading.dropped.values()) == 2000


@pytest.mark.parametrize("text", ["", "x" * 40, "é" * 40, "\u20ac" * 40, "\U0001f600" * 40])
def test_a_kept_line_is_charged_at_least_what_it_takes_in_memory(tmp_path: Path, text: str) -> None:
    with open_tape(empty_lines(tmp_path / "one", jobs=1, lines=1)) as opened:
        reading = Jobs(opened, Caps())
        for ex in opened.exchanges():
            reading.read(ex)
        (job,) = reading.jobs.values()
        page, before = json.dumps([text] * 20_000), reading.kept_bytes
        tracemalloc.start()
        try:
            lines = json.loads(page)  # strings of their own, as a tape's page makes them
            for index, line in enumerate(lines, 1000):  # keys past the small ints CPython shares
                reading._keep(job, index, line)
            del lines, line  # what is held now: the kept lines alone
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    charged = reading.kept_bytes - before
    assert held <= charged, f"{held} bytes held for {charged} charged"
    assert charged <= 2 * held + 49 * 20_000  # a bound, not a blind guess (the empty string is shared)


def long_strings(path: Path, shape: str, jobs: int = 30) -> Path:
    """A tape of ``jobs`` jobs, each with a 300 KB string where a job keeps one: its excluded paths,
    its calculationStatus, its processingId."""
    tape, long = TapeWriter(path), "x" * 300_000
    for n in range(jobs):
        pid, where = f"job-{n}" if shape != "id" else f"{n}-{long}", f"/content/dam/rec/f{n}"
        if shape == "excluded":
            body = {"path": where, "excludedPaths": [f"{where}/{i:03d}-{long[:1000]}" for i in range(300)]}
            tape.add(n, "start", "POST", BASE, 200, {"processingId": pid}, body=body)
        else:
            tape.start(n, where, pid)
        answer = state(pid, where, "SUCCESS", 1, 1)
        if shape == "calculation":
            answer["migrationSet"]["calculationStatus"] = long
        tape.status(n, answer)
    return tape.write()


@pytest.mark.parametrize("shape", ["excluded", "calculation", "id"])
def test_a_tape_of_long_strings_costs_no_more_than_the_caps(tmp_path: Path, shape: str) -> None:
    peak_of_conversion(long_strings(tmp_path / "warm", shape, jobs=1))  # imports, caches: once
    tape = long_strings(tmp_path / "long", shape)  # 9 MB of strings a job keeps, or would
    tracemalloc.start()
    try:
        with open_tape(tape) as opened:
            generated = scenario_from_tape(opened, Caps(max_log_bytes=1 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes at the peak"  # kept, they took 9 MB; a line is some 2 MB
    said = {
        "excluded": "excluded path(s) not kept (scenario-from keeps 1048576 bytes of log lines and excluded",
        "calculation": "30 job(s), 0 asset(s), 0 job script(s)",  # compared when it fails, not kept
        "id": "60 answer(s) about jobs past the first 1000 (or with ids longer than 256 characters)",
    }[shape]
    assert said in generated.text + generated.summary()


def test_a_status_name_longer_than_a_word_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape = with_line(tmp_path, exchange("status", {**GOOD, "status": "S" * 65}), START)
    code, err = convert(tape, tmp_path / "s.yaml", capsys=capsys)
    assert (
        code == 3
        and "odd/tape.jsonl:3: `status` of job job-1 must be a string of at most 64 characters" in err
    )


def test_a_line_of_too_many_values_is_refused_before_it_is_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape = tiny_objects(tmp_path / "many", lines=1, per_line=250_000)  # 750 KB: 20 MB once parsed
    code, err = convert(tape, tmp_path / "s.yaml", capsys=capsys)
    assert code == 3
    assert "tape.jsonl:2: not JSON: too many values (it holds 250010 JSON values; at most 200000 are" in err
    tape = tiny_objects(tmp_path / "page", lines=1, per_line=1)  # what the recorder writes: read
    page = {"lines": ["2026-01-01 00:00:00:000: INFO: [ASSET_PROCESSING] a line, [with] {brackets}"] * 1000,
            "offset": 0, "limit": 1000, "hasMore": False}  # fmt: skip
    row = {"at_ms": 0, "operation": "logs", "request": {"method": "GET", "path": f"{BASE}/logs"},
           "response": {"status": 200, "body": page}}  # fmt: skip
    (tape / "tape.jsonl").write_text(json.dumps(HEADER) + "\n" + json.dumps(row) + "\n")
    assert convert(tape, tmp_path / "s.yaml", capsys=capsys)[0] == 0


def test_a_fifo_is_held_to_the_cap_as_it_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tape.fifo"
    os.mkfifo(path)
    row = json.dumps({"at_ms": 0, "request": {"method": "GET", "path": "/"}, "response": {"status": 200}})
    lines = [json.dumps(HEADER).encode() + b"\n", *[row.encode() + b"\n"] * 25_000]  # 2 MB: past 10 KB
    wrote: list[int] = []

    def write() -> None:
        try:
            with path.open("wb") as out:
                for line in lines:
                    wrote.append(out.write(line))
        except BrokenPipeError:  # the reader stopped at its cap and closed the FIFO
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    output = tmp_path / "s.yaml"
    assert _scenario_from(str(path), output, False, max_bytes=10_000) == 3
    writer.join(timeout=10)
    assert "tape.fifo: more than 10000 bytes; a tape may hold that at most" in capsys.readouterr().err
    assert not output.exists() and leftovers(tmp_path) == []
    assert sum(wrote) < 1_000_000  # it stopped reading at the cap (and a pipe's buffer), not at the end


def test_a_tape_on_stdin_is_read_twice_from_its_copy(tmp_path: Path) -> None:
    tape = (successful_job(tmp_path) / "tape.jsonl").read_bytes()
    output = tmp_path / "s.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "mock_server", "scenario-from", "/dev/stdin", "-o", str(output)],
        input=tape, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"1 job(s), 7 asset(s)" in done.stdout
    assert "/content/dam/rec/sub/glossary.xml" in output.read_text()  # from the logs: the second pass too


# --- malformed values --------------------------------------------------------------------------------------


def with_line(tmp_path: Path, row: dict[str, Any], *before: dict[str, Any]) -> Path:
    folder = tmp_path / "odd"
    folder.mkdir(exist_ok=True)
    rows = [HEADER, *before, row]
    (folder / "tape.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def exchange(operation: str, answer: Any, **request: Any) -> dict[str, Any]:
    return {"at_ms": 0, "operation": operation,
            "request": {"method": "GET", "path": f"{BASE}/{operation}", **request},
            "response": {"status": 200, "body": answer}}  # fmt: skip


def start(body: dict[str, Any]) -> dict[str, Any]:
    return {"at_ms": 0, "operation": "start", "request": {"method": "POST", "path": BASE, "body": body},
            "response": {"status": 200, "body": {"processingId": "job-1"}}}  # fmt: skip


START = start({"path": "/content/dam/rec"})
GOOD = state("job-1", "/content/dam/rec", "SUCCESS", 7, 7)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (exchange("status", {**GOOD, "path": "/content/dam/\ud800x"}), "holds \\ud800, half of a UTF-16"),
        (exchange("status", GOOD, query="processingId=\udfff"), "a string holds \\udfff"),
        (exchange("status", GOOD, headers=["accept"]), "`request.headers` must be an object when given"),
        (exchange("status", GOOD, query=5), "`request.query` must be a string when given"),
        ({**exchange("status", GOOD), "operation": 5}, "`operation` must be a string or null, got 5"),
        (exchange("status", {**GOOD, "triggeredCount": "7"}), "`triggeredCount` of a job must be an integer"),
        (exchange("status", {**GOOD, "status": 3}), "`status` of job job-1 must be a string"),
        (exchange("status", {**GOOD, "migrationSet": {"totalFiles": None}}), "`totalFiles` of a job must be"),
        (exchange("history", {"executionHistory": {"job-1": GOOD}}), "`executionHistory` must be an array"),
        (exchange("logs", {"lines": ["x"], "offset": "first"}, query="processingId=job-1"),
         "a log page's `offset` must be an integer, got 'first'"),
        (start({"path": "/x", "filter": ["DITAMAP"]}), "`filter` of a start must be an object"),
        (start({"path": "/x", "filter": {"fileTypes": [1]}}), "`filter.fileTypes` of a start must be"),
    ],
)  # fmt: skip
def test_a_malformed_value_is_refused_naming_its_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: dict[str, Any], message: str
) -> None:
    tape = with_line(tmp_path, row, START)
    code, err = convert(tape, tmp_path / "s.yaml", capsys=capsys)
    assert code == 3, err
    assert "odd/tape.jsonl:3: " in err and message in err, err
    assert "Traceback" not in err and not (tmp_path / "s.yaml").exists() and leftovers(tmp_path) == []


def test_a_failing_conversion_with_force_leaves_the_existing_file_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "s.yaml"
    output.write_text("name: kept\n")
    tape = with_line(tmp_path, exchange("status", {**GOOD, "path": "/content/dam/\ud800"}), START)
    code, err = convert(tape, output, "--force", capsys=capsys)
    assert code == 3 and "a lone surrogate" in err
    assert output.read_text() == "name: kept\n" and leftovers(tmp_path) == []


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "s.yaml"
    output.mkdir()  # the rename cannot put the scenario there
    code, err = convert(successful_job(tmp_path), output, "--force", capsys=capsys)
    assert code == 3 and f"cannot write {output}: Is a directory" in err
    assert leftovers(tmp_path) == [] and list(output.iterdir()) == []


def test_a_tape_whose_name_is_not_utf8_is_converted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/rec-\xff"))  # the byte kept as a lone surrogate
    successful_job(tmp_path).rename(folder)
    code, err = convert(folder, tmp_path / "s.yaml", capsys=capsys)
    assert code == 0, err
    assert "rec-\\udcff" in (tmp_path / "s.yaml").read_text()  # the comment names it, escaped
    assert main(["check", str(tmp_path / "s.yaml")]) == 0


def test_jobs_past_the_cap_are_counted_in_a_note(tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path / "jobs")
    for n in range(5):
        tape.start(n, f"/content/dam/rec/f{n}", f"job-{n}")
        tape.status(n, state(f"job-{n}", f"/content/dam/rec/f{n}", "SUCCESS", 1, 1))
    with open_tape(tape.write()) as opened:
        generated = scenario_from_tape(opened, Caps(max_jobs=2))
    assert generated.jobs == 2
    assert (
        "# - 6 answer(s) about jobs past the first 2 (or with ids longer than 256 characters) were not read"
        in generated.text
    )
