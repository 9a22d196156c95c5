"""The YAML ``scenario-from`` writes: flow values a human can edit, comments a tape cannot break, and
a file that is whole or not there (:func:`write_whole`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

__all__ = ["Item", "comment_line", "flow", "listed", "write_whole"]

Item = tuple[Any, str]  # a value, and where it came from (the comment above it)
_WHY = {
    "folders": "the folders jobs were started on",
    "assets": "the assets the logs named (and failed ones comments named), in processing order",
    "generate": "placeholders for assets no log named, in a folder each job takes last",
    "jobs": "failures where they came (a scripted failure happens once: a resume goes on)",
    "faults": "5xx, 401 and 429 answers, counted as the mock counts: per endpoint, 401 over every call",
}
_BARE = re.compile(r"[A-Za-z/][\w./-]*|\d+ms")
_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # what YAML 1.1 reads otherwise
_BREAKS = {0x85: "\\N", 0x2028: "\\L", 0x2029: "\\P", 0xFEFF: "\\uFEFF"}  # YAML reads them as line breaks


def flow(value: Any) -> str:
    """A value as YAML flow (JSON scalars are YAML), keys bare where YAML reads them as they are."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and _BARE.fullmatch(value) and value.lower() not in _WORDS:
        return value  # a plain scalar YAML reads as this very string: easier to edit
    return json.dumps(value, ensure_ascii=False).translate(_BREAKS)


def comment_line(text: str) -> str:
    """One line of comment: a tape's text must not break out of it into the YAML, and a file name
    that is not UTF-8 (its bytes kept as lone surrogates) is written with ``\\udcXX`` escapes."""
    return " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())


def listed(key: str, items: list[Item], indent: str = "") -> list[str]:
    """``key:`` and its items, under a comment on where they came from, each under its own."""
    out = [f"{indent}# {_WHY[key]}", f"{indent}{key}:"] if items else []
    for value, comment in items:
        out += [f"{indent}  # {comment_line(comment)}"] * bool(comment) + [f"{indent}  - {flow(value)}"]
    return out


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: to a temporary file beside it, renamed over it
    at the end (an existing file keeps its permissions; a new one gets the umask's, as ``open`` would
    give it). Whatever fails, no partial file is left and what was at ``path`` is untouched; the
    OSError says why."""
    data = text.encode("utf-8")  # before any file exists: a text that cannot be written leaves none
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    for _ in range(100):  # O_EXCL: a name no other writer holds
        temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
