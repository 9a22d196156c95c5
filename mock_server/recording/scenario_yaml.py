"""The YAML ``scenario-from`` writes: flow values a human can edit, comments a tape cannot break."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["Item", "comment_line", "flow", "listed"]

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
    """One line of comment: a tape's text must not break out of it into the YAML."""
    return " ".join(text.split())


def listed(key: str, items: list[Item], indent: str = "") -> list[str]:
    """``key:`` and its items, under a comment on where they came from, each under its own."""
    out = [f"{indent}# {_WHY[key]}", f"{indent}{key}:"] if items else []
    for value, comment in items:
        out += [f"{indent}  # {comment_line(comment)}"] * bool(comment) + [f"{indent}  - {flow(value)}"]
    return out
