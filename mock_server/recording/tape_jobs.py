"""What each job of a tape did, read in streaming passes into state of a bounded size.

:meth:`Jobs.read` follows every job by its processingId, one exchange at a time: its start (the path
and the filter), a summary of its status answers (the first FAILED and the first CANCELLED, the first
and last IN_PROGRESS, the last, the most assets counted), and its log lines by position, from the pages
read. :meth:`Jobs.read_download` adds the logs downloaded as ZIPs, in a second pass (a whole log wins
over pages). Nothing else of an exchange is kept, so memory does not grow with the tape: at most
:attr:`Caps.max_jobs` jobs, :attr:`Caps.max_log_lines` lines a job, and :attr:`Caps.max_lines` lines and
:attr:`Caps.max_log_bytes` bytes of them in all, each line charged what it takes in memory (an empty
line too). What else a job keeps is cut to the contract's sizes (a path of 4,096 characters, a status
name of 64, an id of 256, a failure's comments of 2,000, 1,000 excluded paths charged as its lines
are): a tape of long strings costs no more memory than one of short strings. What is left out becomes
a note. An answer of another shape than the contract's is a :class:`~.tape_reader.TapeError` naming
its line and field.
"""

from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from ..core.repository import normalize_path
from ..core.settings import STATUSES
from .limits import LimitError, ZipCaps, zip_lines
from .tape_reader import Exchange, Tape, TapeError

__all__ = ["LINE_ENTRY", "Caps", "Job", "Jobs", "State", "request_ids"]

_COUNTS = ("triggeredCount", "startedAt", "completedAt")
_COMMENTS = 2000  # characters of a FAILED answer's comments kept: a scenario's comment, not a log
_MAX_PATH = 4096  # characters of a path: the contract's maxLength (start.request.schema.json)
_MAX_NAME = 64  # characters of a status name: a word, not a text
_MAX_ID = 256  # characters of a processingId followed (the mock's are 36): an id past it is not followed
_MAX_TYPES = 8  # file types of a start's filter kept (the contract has six), of _MAX_NAME characters
#: Bytes a kept log line costs besides its string: its int key (28) and its dict slot and index (some 60
#: just after the dict grows; measured 88 in all at 50,000 lines). An empty line costs this alone.
LINE_ENTRY = 100


@dataclass(frozen=True, slots=True)
class Caps:
    """What ``scenario-from`` keeps of a tape; the defaults hold a long recording session."""

    max_jobs: int = 1000
    """Jobs followed (by processingId); answers about later ones are counted, not read (and about ids
    longer than 256 characters: no author makes them)."""
    max_log_lines: int = 50_000
    """Log lines kept a job (positions 0 to this): more than a scenario can list the assets of."""
    max_lines: int = 200_000
    """Log lines kept, all jobs together: each costs its entry however short it is."""
    max_log_bytes: int = 32 * 1024 * 1024
    """Bytes the kept log lines take in memory, all jobs together: each line's string and its entry
    (:data:`LINE_ENTRY`), some 280 bytes for a line of 130 characters. The starts' excluded paths
    are charged here too (their strings)."""
    max_body_file: int = 16 * 1024 * 1024
    """Bytes of one body file (the recorder writes 8 MiB at most)."""
    zip: ZipCaps = field(default_factory=ZipCaps)
    """How a downloaded log's ZIP is read."""


@dataclass(frozen=True, slots=True)
class State:
    """What a scenario needs of one status answer about a job."""

    at: int
    name: Any  # the status as answered
    canonical: str  # the mock's name for it
    triggered: int
    total: int
    calculation: Any
    comments: str
    started: int
    completed: int


@dataclass
class Job:
    """One processingId: its start, a summary of the answers about it, and its log by position."""

    id: str
    nth: int = 0  # the nth accepted start of the tape (what a scenario's `match: nth` counts)
    path: str = ""
    file_types: list[str] = field(default_factory=list)  # the start's filter
    excluded: list[str] = field(default_factory=list)
    created_filter: bool = False  # the start filtered on creation times
    names: dict[str, Any] = field(default_factory=dict)  # canonical status -> the name answered
    failed: State | None = None  # the first FAILED answer
    cancelled: State | None = None  # the first CANCELLED answer
    first_running: tuple[int, int] | None = None  # (at, triggeredCount) of the first IN_PROGRESS
    last_running: tuple[int, int] | None = None  # and of the last
    last: State | None = None
    stopped: bool = False  # an answer said FAILED or CANCELLED
    most: int | None = None  # the most assets an answer counted
    lines: dict[int, str] = field(default_factory=dict)
    cancelled_at: int | None = None

    def saw(self, state: State) -> None:
        """Sum up one status answer: only what a scenario needs of it is kept (see :func:`_state`)."""
        self.names[state.canonical] = state.name
        if state.canonical == "FAILED" and self.failed is None:
            self.failed = state
        if state.canonical == "CANCELLED" and self.cancelled is None:
            self.cancelled = state
        if state.canonical == "IN_PROGRESS":
            self.first_running = self.first_running or (state.at, state.triggered)
            self.last_running = (state.at, state.triggered)
        self.stopped = self.stopped or state.canonical in ("FAILED", "CANCELLED")
        self.last = state
        self.most = state.total if self.most is None else max(self.most, state.total)


def _cost(line: str) -> int:
    """The bytes a kept line takes: its string (its header, and 1, 2 or 4 bytes a character) and its
    entry. The empty string is shared, yet charged as if it were not: a bound, not a measure."""
    return sys.getsizeof(line) + LINE_ENTRY


def canonical(state: dict[str, Any]) -> str:
    """The mock's name for a job's status: its own name, else read from its flags (§3.17)."""
    name = str(state.get("status"))
    if name in STATUSES:
        return name
    if state.get("cancellable"):
        return "IN_PROGRESS" if state.get("startedAt") else "WAITING"
    if state.get("restartable") or not state.get("resumable"):
        return "SUCCESS"
    return "FAILED" if state.get("comments") else "CANCELLED"


def request_ids(exchange: Exchange) -> tuple[dict[str, str], str | None]:
    """The query's parameters, and the processingId the request names (in its query or its body)."""
    query = {k: v[0] for k, v in parse_qs(exchange.request.get("query") or "").items()}
    body = exchange.request.get("body")
    pid = query.get("processingId") or (body.get("processingId") if isinstance(body, dict) else None)
    return query, pid if isinstance(pid, str) else None


def _path(value: Any, where: str) -> str:
    """A path as the mock spells it; "" for none (nor the root: no job is started on it)."""
    if isinstance(value, str) and len(value) > _MAX_PATH:
        raise TapeError(f"{where}: `path` of a job holds {len(value)} characters; the contract's paths hold "
                        f"{_MAX_PATH} at most")  # fmt: skip
    try:
        path = normalize_path(value) if isinstance(value, str) else "/"
    except ValueError:  # above the root
        path = "/"
    return "" if path == "/" else path


def _int(value: Any, key: str, where: str) -> int:
    if type(value) is not int:
        raise TapeError(f"{where}: `{key}` of a job must be an integer, got {str(value)[:40]!r}")
    return value


def _state(answer: dict[str, Any], at: int, where: str) -> State:
    """A status answer as the scenario needs it; TapeError names the field of another shape."""
    counts = answer.get("migrationSet")
    if not isinstance(counts, dict):
        raise TapeError(f"{where}: `migrationSet` of job {answer['processingId'][:80]} must be an object")
    if not isinstance(status := answer.get("status"), str) or len(status) > _MAX_NAME:
        raise TapeError(f"{where}: `status` of job {answer['processingId'][:80]} must be a string of at "
                        f"most {_MAX_NAME} characters, got {str(status)[:40]!r}")  # fmt: skip
    comments = answer.get("comments")
    if comments is not None and not isinstance(comments, str):
        raise TapeError(f"{where}: `comments` of job {answer['processingId'][:80]} must be a string")
    done, started, completed = (_int(answer.get(key), key, where) for key in _COUNTS)
    total = _int(counts.get("totalFiles"), "totalFiles", where)
    # what is compared to a status name, nothing more: a value of another type or length matches none
    calculation = counts.get("calculationStatus")
    calculation = calculation if isinstance(calculation, str) and len(calculation) <= _MAX_NAME else None
    named = canonical(answer)
    kept = (comments or "")[:_COMMENTS] if named == "FAILED" else ""  # only a failure's are written
    return State(at, status, named, done, total, calculation, kept, started, completed)


class Jobs:
    """Every job a tape shows, by processingId, read in two passes (:meth:`read`, then
    :meth:`read_download`) within ``caps``."""

    def __init__(self, tape: Tape, caps: Caps) -> None:
        self.tape, self.caps = tape, caps
        self.jobs: dict[str, Job] = {}
        self.eta_units: set[str] = set()
        self.starts = 0
        self.untracked = 0  # answers about jobs past max_jobs
        self.dropped: dict[str, int] = {}  # job id -> log lines not kept
        self.cut: dict[str, str] = {}  # job id -> a note on its ZIP read in part (the last one)
        self.unkept: dict[str, int] = {}  # job id -> excluded paths not kept
        self.kept_lines = 0  # log lines kept, all jobs together
        self.kept_bytes = 0  # and what they take in memory (see _cost)

    def _job(self, pid: str, nth: int = 0) -> Job | None:
        """The job ``pid``, followed from now on if the cap allows it (None: it does not)."""
        job = self.jobs.get(pid)
        if job is None and len(self.jobs) < self.caps.max_jobs and len(pid) <= _MAX_ID:
            job = self.jobs[pid] = Job(pid, nth)
        self.untracked += job is None
        return job

    def read(self, ex: Exchange) -> None:
        """The first pass: starts, status answers, cancels and log pages."""
        (query, pid), body, answer = request_ids(ex), ex.request.get("body"), ex.response.get("body")
        if ex.response["status"] != 200 or not isinstance(answer, dict):
            return
        where = f"{self.tape.path}:{ex.line}"
        if ex.operation in ("start", "restart") and isinstance(answer.get("processingId"), str):
            self.starts += 1
            started = self._job(answer["processingId"], self.starts)
            if started is not None and isinstance(body, dict) and ex.operation == "start":
                self._start(started, body, where)
            elif started is not None and pid in self.jobs:  # a restart: on the path of the job it restarts
                started.path = self.jobs[pid].path
        if ex.operation in ("status", "cancel", "resume", "history"):
            states = answer.get("executionHistory", []) if ex.operation == "history" else [answer]
            if not isinstance(states, list):
                raise TapeError(f"{where}: `executionHistory` must be an array")
            for given in states:
                if isinstance(given, dict) and isinstance(given.get("processingId"), str):
                    self._saw(given, ex.at_ms, where)
        job = self.jobs.get(pid) if pid is not None else None
        if job is None:
            return
        if ex.operation == "cancel":
            job.cancelled_at = ex.at_ms
        elif ex.operation == "logs" and isinstance(answer.get("lines"), list):
            offset = answer.get("offset", query.get("offset", 0))
            try:
                offset = int(offset)
            except (TypeError, ValueError):
                shown = str(offset)[:40]
                raise TapeError(f"{where}: a log page's `offset` must be an integer, got {shown!r}") from None
            for index, line in enumerate(answer["lines"]):
                self._keep(job, offset + index, str(line))

    def _start(self, job: Job, body: dict[str, Any], where: str) -> None:
        job.path = _path(body.get("path"), where)
        given, excluded = body.get("filter") or {}, body.get("excludedPaths") or []
        if not isinstance(given, dict):
            raise TapeError(f"{where}: `filter` of a start must be an object, got {str(given)[:40]!r}")
        types = given.get("fileTypes") or []
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise TapeError(f"{where}: `filter.fileTypes` of a start must be an array of strings")
        if not isinstance(excluded, list):
            raise TapeError(f"{where}: `excludedPaths` of a start must be an array")
        job.file_types = [t for t in types if len(t) <= _MAX_NAME][:_MAX_TYPES]
        job.excluded = []
        for given_path in excluded[:1000]:  # the contract's maxItems
            path = str(given_path)[:_MAX_PATH].rstrip("/")
            cost = sys.getsizeof(path) + 8  # the string and its slot in the list
            if self.kept_bytes + cost > self.caps.max_log_bytes:
                self.unkept[job.id] = len(excluded[:1000]) - len(job.excluded)
                break
            job.excluded.append(path)
            self.kept_bytes += cost
        job.created_filter = bool({"startTime", "endTime"} & set(given))

    def _saw(self, given: dict[str, Any], at: int, where: str) -> None:
        job = self._job(given["processingId"])
        if job is None:
            return
        state = _state(given, at, where)
        job.saw(state)
        job.path = job.path or _path(given.get("path"), where)
        eta = given.get("eta")
        if isinstance(eta, dict) and eta.get("unit") in ("MINUTES", "HOURS"):
            self.eta_units.add(eta["unit"])

    def _keep(self, job: Job, index: int, line: str) -> bool:
        """Keep line ``index`` of ``job``'s log if the caps allow it; False when they do not. A line
        is charged what it takes in memory, not its characters: 50,000 empty lines a job are no free
        lines (they took 1.3 GB for a 60 MB tape when they were)."""
        before = job.lines.get(index)
        added = before is None  # a new entry; else the line replaces one (a page read again, a ZIP)
        grows = _cost(line) - (0 if before is None else _cost(before))
        caps = self.caps
        over = self.kept_lines + added > caps.max_lines or self.kept_bytes + grows > caps.max_log_bytes
        if over or not 0 <= index < caps.max_log_lines:
            self.dropped[job.id] = self.dropped.get(job.id, 0) + 1
            return False
        job.lines[index] = line
        self.kept_lines += added
        self.kept_bytes += grows
        return True

    def read_download(self, ex: Exchange) -> None:
        """The second pass: a downloaded log's lines, from the ZIP the tape keeps beside it."""
        pid = request_ids(ex)[1]
        if ex.operation == "download" and ex.response["status"] == 200 and pid in self.jobs:
            assert pid is not None
            self._download(self.jobs[pid], ex)

    def _download(self, job: Job, ex: Exchange) -> None:
        """The ZIP's lines (a body file inside the tape's folder only, a regular file, not too big)."""
        name, where = ex.response.get("body_file"), f"{self.tape.path}:{ex.line}"
        if name is None:
            return
        try:
            base = self.tape.path.parent.resolve()
            file = (base / name).resolve()
            if not file.is_relative_to(base) or not file.is_file() or not zipfile.is_zipfile(file):
                return
            if (size := file.stat().st_size) > self.caps.max_body_file:
                raise TapeError(f"{where}: body_file {name}: {size} bytes; a tape's body file may hold "
                                f"{self.caps.max_body_file} at most")  # fmt: skip
            with file.open("rb") as stream, closing(zip_lines(stream, self.caps.zip)) as lines:
                for index, (_, line) in enumerate(lines):
                    if not self._keep(job, index, line):  # the rest would not be kept either
                        self.cut[job.id] = f"job {job.id}: its log in {name} was read to line {index} only"
                        break
        except (OSError, RuntimeError, ValueError, EOFError, NotImplementedError, struct.error,
                zipfile.BadZipFile, zlib.error) as error:  # fmt: skip
            if isinstance(error, TapeError):
                raise
            about = f"{error} (a cap of scenario-from)" if isinstance(error, LimitError) else error
            raise TapeError(f"{where}: body_file {name}: {about}") from None
