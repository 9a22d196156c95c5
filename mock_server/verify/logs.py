"""The steps that read a job's log: its pages to the end, its tail, and its ZIP, compared line by line.

What verify keeps of a log is capped (:attr:`.Options.max_log_lines`, :attr:`.Options.max_log_bytes`):
a log that goes on past them (an endless ``hasMore``) is a setup error, and the tail and the ZIP are
then not compared. The ZIP is written to a temporary file as it comes and read as a stream within
:attr:`.Options.zip` (members, ratio, inflated bytes), line by line against the paged log, stopping at
the first difference: a ZIP bomb is found from its declared sizes, before a byte of it is inflated.
"""

from __future__ import annotations

import itertools
import struct
import tempfile
import time
import zipfile
import zlib
from contextlib import closing
from typing import IO

from ..api.operations import BASE_PATH, OPERATIONS
from ..core.logformat import read_log
from ..recording.limits import LimitError, ZipCaps, member_lines, open_zip
from .run import Run

__all__ = ["download", "logs"]

_DOWNLOAD = next(op.path for op in OPERATIONS if op.name == "download")
_SPOOLED = 1024 * 1024  # bytes of the ZIP held in memory before it goes to a temporary file


async def logs(run: Run, pid: str) -> list[str] | None:
    """The ``logs`` and ``tail`` steps: the log paged to its end, or None when it goes on past the
    caps (then neither step passes, and the ZIP is not compared)."""
    step, page, lines, size = "logs", run.options.page, list[str](), 0
    while True:
        if time.monotonic() > run.deadline:  # a log that never ends, or one too long to page in time
            raise TimeoutError
        query = {"processingId": pid, "offset": len(lines), "limit": page}
        answer = await run.call(step, "logs.response", "GET", f"{BASE_PATH}/logs", query=query)
        got = answer.fields()
        if answer.status != 200 or not isinstance(got.get("lines"), list):
            run.expect(step, False, f"a log page answers {answer.status}", answer)
            return lines
        run.expect(step, got.get("offset") == len(lines), f"the page echoes offset {len(lines)}", answer)
        new = [str(line) for line in got["lines"]]  # a line of another type: the schema said so
        lines += new
        size += sum(map(len, new))
        if len(lines) > run.options.max_log_lines or size > run.options.max_log_bytes:
            run.report.add(
                "setup error",
                step,
                f"the log of job {pid} goes on past {run.options.max_log_lines} lines or "
                f"{run.options.max_log_bytes} characters (hasMore still true at offset {len(lines)}): verify "
                "keeps no more, so it was not read to its end; verify a --sandbox with fewer assets",
                answer.request,
                answer.excerpt(),
                answer.curl,
            )
            run.skip("tail", "the log was not read to its end, so its last lines are not known")
            return None
        if not got.get("hasMore") or not got["lines"]:
            break
    whole = await run.call(
        step,
        "logs.response",
        "GET",
        f"{BASE_PATH}/logs",
        query={"processingId": pid, "offset": 0, "limit": 500},
    )
    one = whole.fields().get("lines", [])
    if len(lines) <= 500:
        run.expect(
            step,
            one == lines,
            f"the {len(lines)} lines paged by {page} are the lines of one page of "
            f"{len(one)} (a gap or a duplicate between pages)",
            whole,
        )
    numbers = read_log(lines).numbers
    repeats = [n for a, n in itertools.pairwise(numbers) if n <= a]
    run.expect(step, not repeats, f"asset lines repeat or go back at asset {repeats[:1]}", whole)
    run.report.ran(step)
    tail = await run.call(
        "tail", "logs.response", "GET", f"{BASE_PATH}/logs", query={"processingId": pid, "tail": 3}
    )
    got = tail.fields()
    run.expect(
        "tail", got.get("lines") == lines[-3:], "tail=3 answers the last 3 lines of the paged log", tail
    )
    run.expect("tail", got.get("hasMore") is False, "a tail answer has hasMore false", tail)
    run.report.ran("tail")
    return lines


async def download(run: Run, pid: str, lines: list[str] | None) -> None:
    """The ``download`` step: a ZIP holding a .log whose lines are the paged log's."""
    if lines is None:
        run.skip("download", "the log was not read to its end, so the ZIP's log cannot be compared")
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOLED) as spool:
        query, accept = {"processingId": pid}, "application/zip"
        answer = await run.call("download", None, "GET", _DOWNLOAD, query=query, accept=accept, into=spool)
        if not run.expect("download", answer.status == 200, f"the download answers {answer.status}", answer):
            return
        try:
            differs = _differs(spool, lines, run.options.zip)
        except LimitError as error:  # measured against the paged log, which verify read whole
            run.expect("download", False, f"the download is not a log's ZIP: {error}", answer)
            return
        except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, NotImplementedError,
                RuntimeError, struct.error, OSError) as error:  # fmt: skip
            run.expect("download", False, f"the download is not a ZIP of a UTF-8 log ({error})", answer)
            return
    if differs is not None:
        run.expect("download", False, differs, answer)
    run.report.ran("download")


def _differs(file: IO[bytes], lines: list[str], caps: ZipCaps) -> str | None:
    """How the ZIP's first .log differs from ``lines`` (None: it does not), read to the first difference."""
    with open_zip(file, caps) as archive:
        members = [info for info in archive.infolist() if info.filename.endswith(".log")]
        if not members:
            return "the ZIP holds a .log file"
        count = 0
        with closing(member_lines(archive, members[:1], caps, errors="strict")) as zipped:
            for count, (_, line) in enumerate(zipped, 1):
                if count > len(lines) or line != lines[count - 1]:
                    return f"the ZIP's log differs from the paged log ({len(lines)} lines) at line {count}"
        if count != len(lines):
            return f"the ZIP's log ({count} lines) ends before the paged log ({len(lines)} lines)"
    return None
