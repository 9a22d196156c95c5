"""Reading a tape the recording proxy wrote: ``DIR/tape.jsonl``, a header line, then one exchange
per line. Reading is bounded (a tape is an untrusted file) and every error names the line at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.operations import OPERATIONS
from ..contract.fastpath import reject_constant
from ..core.errors import MockError

__all__ = ["MAX_LINE_BYTES", "MAX_TAPE_BYTES", "Exchange", "Tape", "TapeError", "read_tape"]

MAX_TAPE_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
OPERATION_NAMES = {(op.method, op.path): op.name for op in OPERATIONS}


class TapeError(MockError, ValueError):
    """Not a readable tape; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Exchange:
    line: int
    at_ms: int
    operation: str | None
    request: dict[str, Any]
    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Tape:
    path: Path
    upstream: str
    exchanges: tuple[Exchange, ...]


def read_tape(path: str | Path) -> Tape:
    """Read ``path`` (the tape's directory or its ``tape.jsonl``); TapeError names the line at fault."""
    file = Path(path) / "tape.jsonl" if Path(path).is_dir() else Path(path)
    header: dict[str, Any] | None = None
    exchanges: list[Exchange] = []
    try:
        if (size := file.stat().st_size) > MAX_TAPE_BYTES:
            raise TapeError(f"{file}: {size} bytes; a tape may hold {MAX_TAPE_BYTES} (256 MiB) at most")
        with file.open("rb") as stream:
            for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), 1):
                where = f"{file}:{number}"
                if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
                    raise TapeError(f"{where}: the line is longer than {MAX_LINE_BYTES} bytes (16 MiB)")
                if raw.strip() and header is None:
                    header = _header(_json(raw, where), where)
                elif raw.strip():
                    exchanges.append(_exchange(_json(raw, where), number, where))
    except OSError as error:
        raise TapeError(f"{file}: cannot read it: {error.strerror}") from None
    if header is None:
        raise TapeError(f"{file}:1: the file is empty; a tape starts with its header line")
    return Tape(file, str(header.get("upstream", "an unnamed upstream")), tuple(exchanges))


def _json(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except UnicodeDecodeError as error:
        raise TapeError(f"{where}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise TapeError(f"{where}: not JSON: {error.msg} (column {error.colno})") from None
    except ValueError as error:  # NaN or Infinity: not JSON, and no YAML reads them back
        raise TapeError(f"{where}: not JSON: {error}") from None
    except RecursionError:
        raise TapeError(f"{where}: not JSON: nested too deeply") from None


def _header(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("tape") != "aem-guides-mock":
        expected = '{"tape": "aem-guides-mock", "version": 1, "upstream": URL}'
        raise TapeError(f"{where}: not a tape header: expected {expected}, got {json.dumps(value)[:100]}")
    if value.get("version") != 1:
        raise TapeError(f"{where}: tape version {value.get('version')!r}; this reads version 1")
    return value


def _exchange(value: Any, number: int, where: str) -> Exchange:
    request = value.get("request") if isinstance(value, dict) else None
    response = value.get("response") if isinstance(value, dict) else None
    if not isinstance(request, dict) or not all(isinstance(request.get(k), str) for k in ("method", "path")):
        raise TapeError(f"{where}: an exchange needs `request` with `method` and `path` (strings)")
    if not isinstance(response, dict) or type(response.get("status")) is not int:
        raise TapeError(f"{where}: an exchange needs `response` with `status` (an integer)")
    at_ms, operation = value.get("at_ms", 0), value.get("operation")
    if type(at_ms) is not int:
        raise TapeError(f"{where}: `at_ms` must be an integer, got {json.dumps(at_ms)[:40]}")
    if not isinstance(operation, str):  # null: named by the operations table, as the mock routes it
        operation = OPERATION_NAMES.get((request["method"].upper(), request["path"].rstrip("/")))
    return Exchange(number, at_ms, operation, request, response)
