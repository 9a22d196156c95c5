"""Tapes: what the recording proxy saw of a real author, written down without its secrets.

A tape is a directory: ``tape.jsonl`` (UTF-8, one JSON object per line: a header, then one exchange
per line, the format :mod:`.to_scenario` reads) and ``bodies/`` (one file per body that is not text,
such as the log ZIP). Tapes are made to be committed beside the tests, so secrets are kept out twice:

1. As it is written: of the headers only a few are kept, credentials, cookies and CSRF tokens as
   ``[redacted]``; every value whose name carries a secret (the rule of :mod:`.secrets`: ``password``,
   ``token``, ``pwd``, ``sig``…) becomes ``[redacted]`` in JSON bodies at any depth, in query strings,
   path parameters, form, multipart and text bodies, in ZIP members and gzip files, and so do the JSON
   values at the redacted pointers (:mod:`.redaction`, :mod:`.bodies`, :mod:`.side_files`); a
   compressed body (gzip, deflate) is inflated first: nothing hides in it.
2. The audit (:mod:`.audit`) looks for every secret the recorder saw (header values, the password
   inside Basic credentials, Bearer tokens, cookie values, redacted values) in every byte it writes,
   in every spelling an encoder gives it (:mod:`.needles`), ZIP members and gzip data inflated, as it
   writes them; a secret seen later is looked for in what came before, in steps as recording goes
   on. :meth:`Recorder.close` finishes what is left, within a deadline. One find, or an audit that
   could not finish, deletes the whole directory: a tape that leaked is never left on disk. Until
   then the tape is ``tape.jsonl.partial``: a proxy killed before its audit leaves no ``tape.jsonl``.

A Basic user name is not a secret here: an author echoes it in every job's ``createdBy``, and the
request's line keeps it (``user``), for ``scenario-from``. A user name that is a secret (its own
password: ``admin:admin``) is written ``[user:1]`` instead, there and wherever it stands alone in a
body (:meth:`.secrets.Secrets.masked`); found anywhere else, the audit deletes the tape. Pure: no
aiohttp (the proxy hands plain values over). Bounded, and closed when a bound is reached: the
recorder keeps at most :data:`.secrets.MAX_SECRETS` secrets (:data:`.secrets.MAX_NEEDLES` forms of
them) and stops writing (``stopped`` says why) at the first exchange with one more, so nothing the
audit does not look for is written after; those that exchange refused are looked for in what was
written before it. A body is kept in its line up to :data:`.bodies.MAX_INLINE_BYTES`, in a side file
up to ``max_body_bytes``, and the tape up to ``max_tape_bytes`` in all; a side file the audit could
not look through whole is left out, with a note. No input makes :meth:`Recorder.record` raise: an
exchange it cannot redact is not written (``skipped`` counts it).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..core.errors import MockError
from .audit import Allowance, Auditor
from .bodies import MAX_BODY_BYTES, Rules, SideFile, decode_body, message_body
from .redaction import redact_location, redact_path, redact_query
from .secrets import REDACTED, SecretNames, Secrets, basic_user, collect_header

__all__ = [
    "AUDIT_STEP",
    "AUDIT_STEP_SECONDS",
    "CLOSE_DEADLINE",
    "DEFAULT_POINTERS",
    "MAX_BODY_BYTES",
    "MAX_TAPE_BYTES",
]
__all__ += ["REDACTED", "TAPE_NAME", "Audit", "AuditUnfinished", "Recorder", "RecordingError", "SecretLeaked"]
__all__ += ["TapeRequest", "TapeResponse", "decode_body", "parse_pointer", "public_origin", "redact_query"]

TAPE_NAME = "tape.jsonl"
#: What the CSRF token endpoint answers, ``{"token": "…"}``: redacted unless told otherwise.
DEFAULT_POINTERS = ("/token",)
#: The most bytes a tape's files may take (its lines and side files): what ``scenario-from`` reads.
MAX_TAPE_BYTES = 256 * 1024 * 1024
#: Bytes of what is owed to the audit read after each exchange (some 12 ms with 2,048 needles against
#: random hex, 0.1 ms with a few against the API's answers); then more while :data:`AUDIT_STEP_SECONDS`
#: of the worker thread's CPU have not passed. The search lets go of the GIL, but the worker thread
#: serves the other exchanges too, so a step stays short.
AUDIT_STEP = 1024 * 1024
AUDIT_STEP_SECONDS = 0.02
#: Seconds :meth:`Recorder.close` gives the audit to finish: the proxy has 2 s of grace for the
#: exchanges in flight, and is to be gone within 5 s of a SIGTERM.
CLOSE_DEADLINE = 2.5
_KEPT_HEADERS = frozenset({"content-type", "accept", "content-disposition", "retry-after", "location"})
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class RecordingError(MockError):
    """A recording that cannot be made; the message names the directory and what to do."""


class SecretLeaked(RecordingError):
    """The audit found a secret in what the recorder wrote; the directory is deleted. ``leaks`` names
    each kind of secret and the file it was in, never the secret."""

    def __init__(
        self, directory: Path, leaks: Sequence[str], deleted: bool = True, unread: Sequence[str] = ()
    ) -> None:
        self.leaks = tuple(leaks)
        self.unread = tuple(unread)
        """The files the audit could not look through whole (it fails closed on them), and why."""
        gone = "it was deleted" if deleted else "DELETE IT BY HAND: it could not be deleted"
        what = f"leaked {len(leaks)} secret(s)"
        what += f" and holds {len(unread)} file(s) the audit could not look through" if unread else ""
        super().__init__(
            f"the recording in {directory} {what}, so {gone}:\n"
            + "".join(f"  - {leak}\n" for leak in (*leaks, *unread))
            + "An answer carried a value the client sent as a credential: redact the field that carries "
            "it (--redact /json/pointer), or record with credentials an answer does not echo."
        )


class AuditUnfinished(SecretLeaked):
    """The audit could not finish within its deadline: what it did not read may hold a secret, so
    the directory is deleted (the audit fails closed)."""

    def __init__(self, directory: Path, deadline: float, deleted: bool = True) -> None:
        gone = "it was deleted" if deleted else "DELETE IT BY HAND: it could not be deleted"
        why = f"the audit of the recording could not finish within {deadline:g} s"
        MockError.__init__(
            self,
            f"{why}, so {gone}: secrets seen late in the recording were still to be looked for in what "
            f"was written before them. Record a smaller tape (--max-tape), or fewer distinct secrets.",
        )
        self.leaks, self.unread = (), (why,)


@dataclass(frozen=True, slots=True)
class TapeRequest:
    method: str
    path: str
    query: str
    """The raw query string, as sent."""
    headers: Sequence[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class TapeResponse:
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    """The body as it came (maybe compressed), or its first bytes when ``size`` is larger."""
    size: int = 0
    elapsed_ms: int = 0


@dataclass(frozen=True, slots=True)
class Audit:
    """A recording that passed its audit."""

    directory: Path
    exchanges: int
    secrets: int
    unchecked: int
    """Secrets refused past :data:`.secrets.MAX_SECRETS`: the exchange that held them was not written
    (``stopped`` says so), and they were looked for in what was written before it."""
    stopped: str | None = None
    """Why the recorder stopped writing before the proxy stopped (the tape's cap), if it did."""
    skipped: int = 0
    """Exchanges not written because the recorder failed on them (an error of its own)."""

    def summary(self) -> str:
        text = f"{self.exchanges} exchange(s) in {self.directory / TAPE_NAME}, "
        text += f"audited: none of {self.secrets} secret(s) in it"
        if self.skipped:
            text += f"; {self.skipped} exchange(s) the recorder could not redact were left out"
        return text + (f"; {self.stopped}" if self.stopped else "")


def public_origin(url: str) -> str:
    """``scheme://host:port`` of an http(s) URL; a ValueError says what is wrong with it."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL such as http://localhost:4502, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL holds credentials: leave them out and let the client send them")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def parse_pointer(text: str) -> tuple[str, ...]:
    """A JSON pointer's keys (``*`` matches any key or index); a ValueError says how to write one."""
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is no JSON pointer: it starts with '/', such as /token or /auth/password")
    return tuple(key.replace("~1", "/").replace("~0", "~") for key in text[1:].split("/"))


class Recorder:
    """Writes exchanges to a tape in ``directory`` (created; it must not exist or be empty, since a
    leak deletes it whole), redacting every value whose name carries a secret (the documented names
    and ``names``) and the values at ``pointers`` of every JSON body besides. After each exchange
    the audit reads ``audit_step`` bytes of what it owes, then more for :data:`AUDIT_STEP_SECONDS`;
    ``audit_step=0`` leaves it all to :meth:`close`."""

    def __init__(
        self,
        directory: Path,
        upstream: str,
        pointers: Iterable[str] = DEFAULT_POINTERS,
        *,
        names: Iterable[str] = (),
        max_body_bytes: int = MAX_BODY_BYTES,
        max_tape_bytes: int = MAX_TAPE_BYTES,
        secrets: Secrets | None = None,
        clock: Callable[[], float] = time.monotonic,
        audit_step: int = AUDIT_STEP,
    ) -> None:
        self.directory = directory
        self.pointers = tuple(dict.fromkeys(parse_pointer(p) for p in pointers))
        self.names = SecretNames(names)
        self.secrets = secrets if secrets is not None else Secrets()
        self.max_body_bytes = max_body_bytes
        self.max_tape_bytes = max_tape_bytes
        self.audit_step = audit_step
        self.exchanges = 0
        self.skipped = 0
        """Exchanges not written because the recorder failed on them (an error of its own)."""
        self.stopped: str | None = None
        """Why no more exchanges are written (the tape reached ``max_tape_bytes``, or the recorder
        saw more secrets than it keeps); None while recording."""
        self._rules = Rules(self.secrets, self.names, self.pointers)
        self._written = 0  # bytes of the tape's files, its lines and side files (the cap's)
        self._lines = 0  # bytes of its lines: where the next one goes
        self._allowance = Allowance()  # what the side files kept leave of the audit's limits on inflating
        self._clock = clock
        self._origin: float | None = None
        self._result: Audit | SecretLeaked | None = None
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise RecordingError(
                f"cannot record into {directory}: it exists and is not an empty directory; name a new "
                "one (a recording that leaks a secret is deleted whole)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        self._partial = directory / (TAPE_NAME + ".partial")
        self._file: IO[bytes] = self._partial.open("wb", buffering=0)
        self._auditor = Auditor(self._partial, TAPE_NAME)
        self._append(_dumped({"tape": "aem-guides-mock", "version": 1, "upstream": public_origin(upstream)}))

    def stamp(self) -> int:
        """Milliseconds since the first exchange began (the first call is that beginning)."""
        now = self._clock()
        if self._origin is None:
            self._origin = now
        return int((now - self._origin) * 1000)

    def record(self, operation: str | None, request: TapeRequest, response: TapeResponse, at_ms: int) -> None:
        """Write one exchange, redacted; its secrets are remembered for the audit. Whatever the
        exchange holds, this does not raise (but OSError when the tape cannot be written)."""
        if self._result is not None:
            raise RecordingError(f"the recording in {self.directory} is closed")
        if self.stopped is not None:  # nothing more is written: time to pay what the audit owes
            if self.audit_step:
                self._auditor.catch_up(4 * self.audit_step, 2 * AUDIT_STEP_SECONDS)
            return
        try:
            line, files, left = self._exchange(operation, request, response, at_ms)
        # Any error of the recorder's own on an input it did not foresee: the exchange is not written
        # (nothing of it reaches the tape), the secrets it saw are still looked for, and it is counted.
        except Exception:
            line, files, left = None, {}, self._allowance
            self.skipped += 1
        self._auditor.add(self.secrets.needles())
        if self.secrets.dropped:  # a secret the audit would not look for: nothing of it is written
            self._auditor.add(self.secrets.refused_needles())  # an earlier exchange may hold one
            self.stopped = (
                f"recording stopped after {self.exchanges} exchange(s): the next held more distinct "
                f"secrets than the recorder keeps for its audit ({self.secrets.limit} secrets, "
                f"{self.secrets.max_needles} forms of them); the later exchanges were forwarded, not recorded"
            )
        elif line is not None:
            self._commit(line, files, left)
        if self.audit_step:
            self._auditor.catch_up(self.audit_step, AUDIT_STEP_SECONDS)

    def close(self, deadline: float | None = CLOSE_DEADLINE) -> Audit:
        """Close the tape and finish its audit within ``deadline`` seconds (None: however long it
        takes): :class:`SecretLeaked` (the directory deleted) if a secret the recorder saw is in any
        file it wrote or a file could not be looked through, :class:`AuditUnfinished` if the audit
        could not finish in time. Closing again answers the same."""
        if self._result is None:
            began = time.monotonic()
            self._file.close()
            finished = self._auditor.finish(began + deadline if deadline is not None else float("inf"))
            found = self._auditor.findings()
            unread = list(found.unread)
            if self.secrets.overflowed:
                unread.append(
                    "the exchange that stopped the recording held more secrets than the audit keeps to look "
                    f"for in what was written before it ({self.secrets.overflowed} refused past those kept)"
                )
            if not finished or found.leaks or unread:
                shutil.rmtree(self.directory, ignore_errors=True)
                deleted = not self.directory.exists()
                self._result = (
                    SecretLeaked(self.directory, found.leaks, deleted, unread)
                    if finished
                    else AuditUnfinished(self.directory, deadline or 0.0, deleted)
                )
            else:
                self._partial.replace(self.directory / TAPE_NAME)
                secrets = self.secrets
                self._result = Audit(
                    self.directory, self.exchanges, len(secrets), secrets.dropped, self.stopped, self.skipped
                )
        if isinstance(self._result, SecretLeaked):
            raise self._result
        return self._result

    def _exchange(
        self, operation: str | None, request: TapeRequest, response: TapeResponse, at_ms: int
    ) -> tuple[dict[str, Any], dict[str, SideFile], Allowance]:
        """The line of one exchange, redacted, its side files (to write with it) and what they leave
        of the audit's limits."""
        query = redact_query(request.query, self.secrets, self.names)
        path = redact_path(request.path, self.secrets, self.names)
        sent, sent_file, left = self._message(request.headers, request.body, len(request.body), "request",
                                              self._allowance)  # fmt: skip
        answered, answered_file, left = self._message(response.headers, response.body, response.size,
                                                      "response", left)  # fmt: skip
        user = next((basic_user(v) for n, v in request.headers if n.lower() == "authorization"), None)
        shown = self.secrets.user(user) if user else None  # after its headers: a masked name is known
        line: dict[str, Any] = {
            "at_ms": at_ms,
            "operation": operation,
            "request": {"method": request.method, "path": path, "query": query,
                        **({"user": shown} if shown else {}), **sent},
            "response": {"status": response.status, **answered, "elapsed_ms": response.elapsed_ms},
        }  # fmt: skip
        files = {side: file for side, file in (("request", sent_file), ("response", answered_file)) if file}
        return line, files, left

    def _message(
        self, pairs: Sequence[tuple[str, str]], raw: bytes, size: int, side: str, left: Allowance
    ) -> tuple[dict[str, Any], SideFile | None, Allowance]:
        headers: dict[str, str] = {}
        seen: list[tuple[str, str]] = []
        for name, value in pairs:
            name = name.lower()
            seen.append((name, value))
            if collect_header(name, value, self.secrets, side):
                headers[name] = REDACTED
            elif name in _KEPT_HEADERS:
                kept = redact_location(value, self.secrets, self.names) if name == "location" else value
                headers[name] = f"{headers[name]}, {kept}" if name in headers else kept
        body, file = message_body(raw, size, seen, side, self._rules, left, self.max_body_bytes)
        return {"headers": headers, **body}, file, file.kept.left if file else left

    def _commit(self, line: dict[str, Any], files: dict[str, SideFile], left: Allowance) -> None:
        """Write an exchange whole (its side files, then its line) and have them audited; nothing,
        and the recorder stops, when it would take the tape past its cap."""
        number = self.exchanges + 1
        names = {side: f"bodies/{number:04d}-{side}{file.suffix}" for side, file in files.items()}
        for side, name in names.items():
            line[side]["body_file"] = name
        text = _dumped(line)
        size = len(text) + sum(len(file.kept.data) for file in files.values())
        if self._written + size > self.max_tape_bytes:
            self.stopped = (
                f"recording stopped after {self.exchanges} exchange(s): the tape reached its cap of "
                f"{self.max_tape_bytes} bytes (--max-tape); the later exchanges were forwarded, not recorded"
            )
            return
        done: list[Path] = []
        try:
            for side, file in files.items():
                path = self.directory / names[side]
                path.parent.mkdir(exist_ok=True)
                done.append(path)
                path.write_bytes(file.kept.data)
            self._append(text)
        except OSError:  # the tape holds whole exchanges: none of this one
            for path in done:
                path.unlink(missing_ok=True)
            raise
        for side, file in files.items():
            self._auditor.side_file(
                self.directory / names[side], names[side], file.kept.data, file.kept.inflated
            )
        self._written += size - len(text)
        self.exchanges, self._allowance = number, left

    def _append(self, data: bytes) -> None:
        """Write one line (whole, or not at all: what a failed write left is cut off) and audit it."""
        view = memoryview(data)
        try:
            while view:  # unbuffered: what is written is on disk (a crash leaves whole lines, unaudited)
                view = view[self._file.write(view) or 0 :]
        except OSError:
            with contextlib.suppress(OSError):  # what a failed write left is cut off, if it can be
                self._file.seek(self._lines)
                self._file.truncate()
            raise
        self._lines += len(data)
        self._written += len(data)
        self._auditor.line(data)


def _dumped(line: dict[str, Any]) -> bytes:
    """A tape's line: JSON in ASCII, with no lone surrogate (which no reader of UTF-8 takes) in it."""
    text = json.dumps(line, ensure_ascii=True)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(line):
        text = json.dumps(_without_surrogates(line), ensure_ascii=True)
    return (text + "\n").encode("ascii")


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _without_surrogates(value: Any) -> Any:
    """``value`` with each lone surrogate of its strings (keys too) as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value
