"""Tapes: what the recording proxy saw of a real author, written down without its secrets.

A tape is a directory: ``tape.jsonl`` (UTF-8, one JSON object per line: a header, then one exchange
per line, the format :mod:`.to_scenario` reads) and ``bodies/`` (one file per body that is not text,
such as the log ZIP). Tapes are made to be committed beside the tests, so secrets are kept out twice:

1. As it is written: of the headers only a few are kept, credentials, cookies and CSRF tokens as
   ``[redacted]``; every value whose name carries a secret (the rule of :mod:`.secrets`: ``password``,
   ``token``, ``pwd``, ``sig``…) becomes ``[redacted]`` in JSON bodies at any depth, in query strings,
   path parameters, form, multipart and text bodies, and so do the JSON values at the redacted
   pointers (:mod:`.redaction`); a compressed body (gzip, deflate) is inflated first: nothing hides in it.
2. When recording stops, :meth:`Recorder.close` looks for every secret the recorder saw (header
   values, the password inside Basic credentials, Bearer tokens, cookie values, redacted values) in
   every byte it wrote, raw, JSON-escaped and URL-encoded, ZIP members and gzip files inflated
   (:mod:`.audit`). One find deletes the whole directory: a tape that leaked is never left on disk.
   Until then the tape is ``tape.jsonl.partial``: a proxy killed before its audit leaves no
   ``tape.jsonl`` behind.

A Basic user name is not a secret here: an author echoes it in every job's ``createdBy``. Pure: no
aiohttp (the proxy hands plain values over). Bounded, and closed when a bound is reached: the
recorder keeps at most :data:`.secrets.MAX_SECRETS` secrets (:data:`.secrets.MAX_NEEDLES` forms of
them) and stops writing (``stopped`` says why) at the first exchange with one more, so nothing the
audit does not look for is ever written; at most :data:`MAX_BODY_BYTES` of one body and
``max_tape_bytes`` in all are kept; a side file the audit could not look through whole (a ZIP cut
short, past the audit's limits) is left out.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..contract.fastpath import reject_constant
from ..core.compression import NotInflatable, inflate_chunks
from ..core.errors import MockError
from .audit import Allowance, leaks, side_file_problem
from .redaction import (
    redact_bytes,
    redact_document,
    redact_location,
    redact_multipart,
    redact_path,
    redact_pointer,
    redact_query,
    redact_text,
)
from .secrets import REDACTED, SecretNames, Secrets, collect_header

__all__ = ["DEFAULT_POINTERS", "MAX_BODY_BYTES", "MAX_TAPE_BYTES", "REDACTED", "TAPE_NAME", "Audit"]
__all__ += ["Recorder"]
__all__ += ["RecordingError", "SecretLeaked", "TapeRequest", "TapeResponse", "decode_body", "parse_pointer"]
__all__ += ["public_origin", "redact_query"]

TAPE_NAME = "tape.jsonl"
#: What the CSRF token endpoint answers, ``{"token": "…"}``: redacted unless told otherwise.
DEFAULT_POINTERS = ("/token",)
MAX_BODY_BYTES = 8 * 1024 * 1024
#: The most bytes a tape's files may take (its lines and side files): what ``scenario-from`` reads.
MAX_TAPE_BYTES = 256 * 1024 * 1024
_KEPT_HEADERS = frozenset({"content-type", "accept", "content-disposition", "retry-after", "location"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # text has none of these; a ZIP has many
_EXTENSIONS = {"application/zip": ".zip", "application/gzip": ".gz", "application/pdf": ".pdf"}


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
    """Secrets refused past :data:`.secrets.MAX_SECRETS`: the exchanges that held them were not
    written (``stopped`` says so), so nothing unchecked is in the tape."""
    stopped: str | None = None
    """Why the recorder stopped writing before the proxy stopped (the tape's cap), if it did."""

    def summary(self) -> str:
        text = f"{self.exchanges} exchange(s) in {self.directory / TAPE_NAME}, "
        text += f"audited: none of {self.secrets} secret(s) in it"
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


def decode_body(raw: bytes, encoding: str, limit: int = MAX_BODY_BYTES) -> tuple[bytes | None, bool]:
    """The body undone of its ``Content-Encoding`` (gzip, every member; deflate; identity), at most
    ``limit`` bytes, and whether there was more; None when it cannot be decoded (what hides in it is
    unknown)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw[:limit], len(raw) > limit
    kept = bytearray()
    try:
        for part in inflate_chunks([raw], encoding):  # pieces of 64 KiB: a bomb inflates no further
            kept += part
            if len(kept) > limit:
                return bytes(kept[:limit]), True
    except NotInflatable:
        return None, False
    return bytes(kept), False


class Recorder:
    """Writes exchanges to a tape in ``directory`` (created; it must not exist or be empty, since a
    leak deletes it whole), redacting every value whose name carries a secret (the documented names
    and ``names``) and the values at ``pointers`` of every JSON body besides."""

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
    ) -> None:
        self.directory = directory
        self.pointers = tuple(dict.fromkeys(parse_pointer(p) for p in pointers))
        self.names = SecretNames(names)
        self.secrets = secrets if secrets is not None else Secrets()
        self.max_body_bytes = max_body_bytes
        self.max_tape_bytes = max_tape_bytes
        self.exchanges = 0
        self.stopped: str | None = None
        """Why no more exchanges are written (the tape reached ``max_tape_bytes``, or the recorder
        saw more secrets than it keeps); None while recording."""
        self._written = 0
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
        self._file: IO[str] = self._partial.open("w", encoding="utf-8", newline="\n")
        self._write({"tape": "aem-guides-mock", "version": 1, "upstream": public_origin(upstream)})

    def stamp(self) -> int:
        """Milliseconds since the first exchange began (the first call is that beginning)."""
        now = self._clock()
        if self._origin is None:
            self._origin = now
        return int((now - self._origin) * 1000)

    def record(self, operation: str | None, request: TapeRequest, response: TapeResponse, at_ms: int) -> None:
        """Write one exchange, redacted; its secrets are remembered for the audit."""
        if self._result is not None:
            raise RecordingError(f"the recording in {self.directory} is closed")
        if self.stopped is not None:
            return
        self.exchanges += 1
        allowance = self._allowance
        query = redact_query(request.query, self.secrets, self.names)
        path = redact_path(request.path, self.secrets, self.names)
        sent = self._message(request.headers, request.body, len(request.body), "request")
        answered = self._message(response.headers, response.body, response.size, "response")
        line: dict[str, Any] = {
            "at_ms": at_ms,
            "operation": operation,
            "request": {"method": request.method, "path": path, "query": query, **sent},
            "response": {"status": response.status, **answered, "elapsed_ms": response.elapsed_ms},
        }  # fmt: skip
        if self.secrets.dropped:  # a secret the audit would not look for: nothing of it is written
            self.stopped = (
                f"recording stopped after {self.exchanges - 1} exchange(s): the next held more distinct "
                f"secrets than the recorder keeps for its audit ({self.secrets.limit} secrets, "
                f"{self.secrets.max_needles} forms of them); the later exchanges were forwarded, not recorded"
            )
        elif not self._write(line, reserve=True):
            self.stopped = (
                f"recording stopped after {self.exchanges - 1} exchange(s): the tape reached its cap of "
                f"{self.max_tape_bytes} bytes (--max-tape); the later exchanges were forwarded, not recorded"
            )
        else:
            return
        self.exchanges -= 1
        self._allowance = allowance
        for side in ("request", "response"):  # its side files go with it: the tape holds whole exchanges
            if isinstance(name := line[side].get("body_file"), str):
                self._written -= self._unlink(self.directory / name)

    def close(self) -> Audit:
        """Close the tape and audit it: :class:`SecretLeaked` (the directory deleted) if a secret
        the recorder saw is in any file it wrote, or a file could not be looked through. Closing
        again answers the same."""
        if self._result is None:
            self._file.close()
            found = leaks(self.directory, self.secrets.needles())
            if found:
                shutil.rmtree(self.directory, ignore_errors=True)
                deleted = not self.directory.exists()
                self._result = SecretLeaked(self.directory, found.leaks, deleted, found.unread)
            else:
                self._partial.replace(self.directory / TAPE_NAME)
                secrets = self.secrets
                self._result = Audit(
                    self.directory, self.exchanges, len(secrets), secrets.dropped, self.stopped
                )
        if isinstance(self._result, SecretLeaked):
            raise self._result
        return self._result

    def _write(self, line: dict[str, Any], reserve: bool = False) -> bool:
        """Write one line; False (nothing written) when it would take the tape past its cap."""
        text = json.dumps(line, ensure_ascii=True) + "\n"
        if reserve and self._written + len(text) > self.max_tape_bytes:
            return False
        self._written += len(text)
        self._file.write(text)
        self._file.flush()  # a crash leaves whole lines (in the .partial file, unaudited)
        return True

    @staticmethod
    def _unlink(path: Path) -> int:
        size = path.stat().st_size
        path.unlink()
        return size

    def _message(self, pairs: Sequence[tuple[str, str]], raw: bytes, size: int, side: str) -> dict[str, Any]:
        headers: dict[str, str] = {}
        encoding = ""
        content_type = ""
        for name, value in pairs:
            name = name.lower()
            if name == "content-encoding":
                encoding = value
            if collect_header(name, value, self.secrets, side):
                headers[name] = REDACTED
            elif name in _KEPT_HEADERS:
                content_type = value if name == "content-type" else content_type
                kept = redact_location(value, self.secrets, self.names) if name == "location" else value
                headers[name] = f"{headers[name]}, {kept}" if name in headers else kept
        return {"headers": headers, **self._body(raw, size, encoding, content_type, side)}

    def _body(self, raw: bytes, size: int, encoding: str, content_type: str, side: str) -> dict[str, Any]:
        if not raw:
            return {"body": None}
        data, cut = decode_body(raw, encoding, self.max_body_bytes)
        if data is None:
            return {"body": None, "note": f"not recorded: Content-Encoding {encoding[:40]!r} does not decode"}
        cut = cut or size > len(raw)
        note = {"note": f"truncated: the first {len(data)} bytes of the body are kept"} if cut else {}
        media = content_type.partition(";")[0].strip().lower()
        where = f"the {side} body"
        if media == "multipart/form-data":
            data = redact_multipart(data, content_type, self.secrets, self.names, where)
            if data is None:
                return {"body": None, "note": "not recorded: a multipart body that does not parse (a part "
                        "that cannot be told apart may hold a secret)"}  # fmt: skip
        text = _text(data)
        if text is not None and not cut:
            try:
                document = json.loads(text, parse_constant=reject_constant)  # NaN: the tape would not be JSON
            except (ValueError, RecursionError):
                pass
            else:
                return {"body": self._redact(document, side)}
        if text is not None and cut and (media.endswith("json") or text.lstrip()[:1] in ("{", "[")):
            return {"body": None, "note": "not recorded: a JSON body larger than the recorder keeps "
                    "(redacting it needs it whole)"}  # fmt: skip
        if text is not None:
            if media == "application/x-www-form-urlencoded":
                text = redact_query(text, self.secrets, self.names, "form field")
            elif media != "multipart/form-data":  # its parts were redacted one by one
                text = redact_text(text, self.secrets, self.names, where)
            return {"body": None, "body_text": text, **note}
        problem, allowance = side_file_problem(data, cut, self._allowance)
        if problem is not None:
            return {"body": None, "note": f"not recorded: {problem}"}
        if media != "multipart/form-data" and not data.startswith((b"PK", b"\x1f\x8b")):  # not compressed
            data = redact_bytes(data, self.secrets, self.names, where)  # a log in colour, a pair in binary
        name = f"bodies/{self.exchanges:04d}-{side}{_EXTENSIONS.get(media, '.bin')}"
        if self._written + len(data) > self.max_tape_bytes:  # the line that names it would not fit either
            return {"body": None, "note": f"not recorded: {len(data)} bytes would take the tape past its cap"}
        (self.directory / "bodies").mkdir(exist_ok=True)
        (self.directory / name).write_bytes(data)
        self._written += len(data)
        self._allowance = allowance
        return {"body": None, "body_file": name, **note}

    def _redact(self, document: Any, side: str) -> Any:
        """A JSON body with the values at the pointers, then those of secret names, redacted."""
        for pointer in self.pointers:
            kind = f"the {side} body's value at /{'/'.join(pointer)}"
            document = redact_pointer(document, pointer, functools.partial(self._remember, kind=kind))
        return redact_document(document, self.secrets, self.names, f"the {side} body")

    def _remember(self, value: str, kind: str) -> None:
        self.secrets.add(value, kind)


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text
