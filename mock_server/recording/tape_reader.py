"""Reading a tape the recording proxy wrote: ``DIR/tape.jsonl``, a header line, then one exchange per
line, as a stream: a pass over the tape holds one line at a time, whatever the tape's size.

Bounded, since a tape is an untrusted file: at most ``max_bytes`` in all, counted as they are read (a
pipe or a FIFO is held to it too; one that is not a regular file is copied to a temporary file as it is
counted, so that it can be read more than once), ``max_line_bytes`` a line, and each line's JSON within
:class:`~.limits.JsonCaps` (measured before it is parsed). Every error is a :class:`TapeError` that names
the file and the line: JSON that is not JSON, an exchange of another shape, a lone UTF-16 surrogate.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..api.operations import OPERATIONS
from ..core.errors import MockError
from .limits import JsonCaps, LimitError, loads

__all__ = ["MAX_LINE_BYTES", "MAX_TAPE_BYTES", "TAPE_JSON", "Exchange", "Lines", "Tape", "TapeError"]
__all__ += ["open_tape"]

#: The most bytes a tape may hold (what the recorder writes at most).
MAX_TAPE_BYTES = 256 * 1024 * 1024
#: The most bytes of one line (the recorder keeps JSON bodies of 8 MiB at most).
MAX_LINE_BYTES = 16 * 1024 * 1024
#: What one line's JSON may make: a log page of 1,000 lines or a history answer is far within it.
TAPE_JSON = JsonCaps(max_depth=64, max_values=200_000)
OPERATION_NAMES = {(op.method, op.path): op.name for op in OPERATIONS}
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # the escape of half a UTF-16 pair, maybe a lone one
_COPY_CHUNK = 1024 * 1024


class TapeError(MockError, ValueError):
    """Not a readable tape; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Exchange:
    line: int
    at_ms: int
    operation: str | None
    request: dict[str, Any]
    response: dict[str, Any]


class Tape:
    """An open tape: its header read; :meth:`exchanges` reads its exchanges again at each call."""

    def __init__(
        self, path: Path, source: IO[bytes], max_bytes: int, max_line_bytes: int, json_caps: JsonCaps
    ) -> None:
        self.path = path
        """The file named: what messages name; its folder holds the body files."""
        self._source, self._max_bytes, self._max_line = source, max_bytes, max_line_bytes
        self._json = json_caps
        header = next(self._lines(), None)
        if header is None:
            raise TapeError(f"{path}:1: the file is empty; a tape starts with its header line")
        fields = _header(self._json_of(*header), f"{path}:{header[0]}")
        self.upstream = str(fields.get("upstream", "an unnamed upstream"))

    def exchanges(self, only: Lines | None = None) -> Iterator[Exchange]:
        """Every exchange, in order, one line read at a time; ``only`` those lines, when given (the
        others are read past, not parsed)."""
        lines = self._lines()
        next(lines, None)  # the header, read when the tape was opened
        for number, raw in lines:
            if only is None or number in only:
                yield _exchange(self._json_of(number, raw), number, f"{self.path}:{number}")

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(number, line) of every line that is not blank, counting bytes against the caps."""
        read, number = 0, 0
        try:
            self._source.seek(0)
            while raw := self._source.readline(self._max_line + 1):
                number += 1
                if (read := read + len(raw)) > self._max_bytes:
                    raise TapeError(f"{self.path}:{number}: the tape goes on past {_size(self._max_bytes)}")
                if len(raw.rstrip(b"\r\n")) > self._max_line:
                    raise TapeError(f"{self.path}:{number}: the line is longer than {_size(self._max_line)}")
                if raw.strip():
                    yield number, raw
        except OSError as error:  # the reading's own, never the caller's: a generator sees only its own
            raise TapeError(f"{self.path}:{number + 1}: cannot read it: {error.strerror or error}") from None

    def _json_of(self, number: int, raw: bytes) -> Any:
        where = f"{self.path}:{number}"
        try:
            value = loads(raw, self._json)
            if _SURROGATE.search(raw):  # only an escape makes a lone surrogate: look closer
                json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeDecodeError as error:
            raise TapeError(f"{where}: not UTF-8 text (byte {error.start})") from None
        except UnicodeEncodeError as error:
            half = f"\\u{ord(error.object[error.start]):04x}"
            raise TapeError(
                f"{where}: a string holds {half}, half of a UTF-16 pair (a lone surrogate), which no "
                "UTF-8 text can hold: remove it or give the whole pair"
            ) from None
        except LimitError as error:
            what = "nested too deeply" if error.cap == "depth" else "too many values"
            raise TapeError(f"{where}: not JSON: {what} ({error})") from None
        except json.JSONDecodeError as error:
            raise TapeError(f"{where}: not JSON: {error.msg} (column {error.colno})") from None
        except ValueError as error:  # NaN or Infinity, an integer too long: no YAML reads them back
            raise TapeError(f"{where}: not JSON: {error}") from None
        return value


class Lines:
    """A set of line numbers, one bit each: a second pass parses only the lines the first chose,
    in memory an eighth of a byte a line however many there are."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, number: int) -> None:
        byte = number >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        self._bits[byte] |= 1 << (number & 7)

    def __contains__(self, number: int) -> bool:
        byte = number >> 3
        return byte < len(self._bits) and bool(self._bits[byte] >> (number & 7) & 1)


@contextmanager
def open_tape(
    path: str | Path,
    *,
    max_bytes: int = MAX_TAPE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    json_caps: JsonCaps = TAPE_JSON,
) -> Iterator[Tape]:
    """The tape at ``path`` (its directory, its ``tape.jsonl``, or any file: ``/dev/stdin``, a FIFO),
    open for reading; TapeError names the line at fault. A file that is not a regular one is copied
    to a temporary file first (at most ``max_bytes``), which is gone when the block ends."""
    file = Path(path) / "tape.jsonl" if Path(path).is_dir() else Path(path)
    with ExitStack() as stack:
        try:  # only the opening and the copy: an OSError of the caller's block is the caller's
            stream: IO[bytes] = stack.enter_context(file.open("rb"))
            facts = os.fstat(stream.fileno())
            if stat.S_ISREG(facts.st_mode) and facts.st_size > max_bytes:
                raise TapeError(f"{file}: {facts.st_size} bytes; a tape may hold {_size(max_bytes)} at most")
            if not stat.S_ISREG(facts.st_mode):
                copy = stack.enter_context(tempfile.TemporaryFile())
                _copy(stream, copy, max_bytes, file)
                stream = copy
            tape = Tape(file, stream, max_bytes, max_line_bytes, json_caps)
        except OSError as error:
            raise TapeError(f"{file}: cannot read it: {error.strerror or error}") from None
        yield tape


def _copy(stream: IO[bytes], copy: IO[bytes], max_bytes: int, file: Path) -> None:
    """Copy a pipe's bytes, counting them: one more than ``max_bytes`` stops it."""
    copied = 0
    while chunk := stream.read(min(_COPY_CHUNK, max_bytes + 1 - copied)):
        copy.write(chunk)
        if (copied := copied + len(chunk)) > max_bytes:
            raise TapeError(f"{file}: more than {_size(max_bytes)}; a tape may hold that at most")


def _size(count: int) -> str:
    return f"{count} bytes ({count / 1048576:g} MiB)" if count >= 1048576 else f"{count} bytes"


def _header(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("tape") != "aem-guides-mock":
        expected = '{"tape": "aem-guides-mock", "version": 1, "upstream": URL}'
        raise TapeError(f"{where}: not a tape header: expected {expected}, got {json.dumps(value)[:100]}")
    if value.get("version") != 1:
        raise TapeError(f"{where}: tape version {value.get('version')!r}; this reads version 1")
    return value


#: The fields of an exchange that must be of one type when given (None: absent), and what to give.
_FIELDS: tuple[tuple[str, str, type, str], ...] = (
    ("request", "query", str, "a string"),
    ("request", "headers", dict, "an object"),
    ("response", "headers", dict, "an object"),
    ("response", "body_file", str, "a string"),
    ("response", "body_text", str, "a string"),
)


def _exchange(value: Any, number: int, where: str) -> Exchange:
    request = value.get("request") if isinstance(value, dict) else None
    response = value.get("response") if isinstance(value, dict) else None
    if not isinstance(request, dict) or not all(isinstance(request.get(k), str) for k in ("method", "path")):
        raise TapeError(f"{where}: an exchange needs `request` with `method` and `path` (strings)")
    if not isinstance(response, dict) or type(response.get("status")) is not int:
        raise TapeError(f"{where}: an exchange needs `response` with `status` (an integer)")
    for side, key, kind, called in _FIELDS:
        given = (request if side == "request" else response).get(key)
        if given is not None and not isinstance(given, kind):
            shown = json.dumps(given)[:40]
            raise TapeError(f"{where}: `{side}.{key}` must be {called} when given, got {shown}")
    at_ms, operation = value.get("at_ms", 0), value.get("operation")
    if type(at_ms) is not int:
        raise TapeError(f"{where}: `at_ms` must be an integer, got {json.dumps(at_ms)[:40]}")
    if operation is not None and not isinstance(operation, str):
        raise TapeError(f"{where}: `operation` must be a string or null, got {json.dumps(operation)[:40]}")
    if operation is None:  # named by the operations table, as the mock routes it
        operation = OPERATION_NAMES.get((request["method"].upper(), request["path"].rstrip("/")))
    return Exchange(number, at_ms, operation, request, response)
