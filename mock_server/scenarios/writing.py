"""The one writer of scenario YAML: a scenario's dict as text a human can edit, each part under the
comment that says where it came from (``scenario-from``, ``verify --emit-settings``).

A mapping is written as a block (``key:`` and its keys indented below), a list as a block of items,
each item and every scalar in flow (JSON scalars are YAML): strings bare where YAML reads them as
they are. Any value may be wrapped in :class:`Commented`: its comment goes on the line above it.
Comments are one line each, whatever text they are given: a tape's text cannot break out of one.
What :func:`scenario_yaml` writes, ``yaml.safe_load`` reads back as the dict it was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Commented", "Item", "comment_line", "flow", "scenario_yaml"]

Item = tuple[Any, str]  # a value, and where it came from (the comment above it)
_BARE = re.compile(r"[A-Za-z/][\w./-]*|\d+ms")
_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # what YAML 1.1 reads otherwise
_BREAKS = {0x85: "\\N", 0x2028: "\\L", 0x2029: "\\P", 0xFEFF: "\\uFEFF"}  # YAML reads them as line breaks
#: What a YAML document cannot hold as it is (YAML 1.1's printable set, which PyYAML checks): escaped.
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Commented:
    """A value written under a comment (nothing when the comment is empty)."""

    value: Any
    comment: str


def flow(value: Any) -> str:
    """A value as YAML flow (JSON scalars are YAML), keys bare where YAML reads them as they are."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and _BARE.fullmatch(value) and value.lower() not in _WORDS:
        return value  # a plain scalar YAML reads as this very string: easier to edit
    text = json.dumps(value, ensure_ascii=False).translate(_BREAKS)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)  # in a JSON string: JSON escapes none


def comment_line(text: str) -> str:
    """One line of comment: a tape's text must not break out of it into the YAML, and a file name
    that is not UTF-8 (its bytes kept as lone surrogates) is written with ``\\udcXX`` escapes."""
    line = " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), line)


def _comment(value: Any, indent: str) -> tuple[Any, list[str]]:
    if isinstance(value, Commented):
        return value.value, [f"{indent}# {comment_line(value.comment)}"] if value.comment else []
    return value, []


def _block(mapping: Mapping[str, Any], indent: str) -> list[str]:
    out: list[str] = []
    for key, given in mapping.items():
        value, out_comment = _comment(given, indent)
        out += out_comment
        if isinstance(value, Mapping) and value:
            out += [f"{indent}{flow(str(key))}:", *_block(value, indent + "  ")]
        elif isinstance(value, list) and value:
            out.append(f"{indent}{flow(str(key))}:")
            for item in value:
                item, item_comment = _comment(item, indent + "  ")
                out += [*item_comment, f"{indent}  - {flow(item)}"]
        else:
            out.append(f"{indent}{flow(str(key))}: {flow(value)}")
    return out


def scenario_yaml(scenario: Mapping[str, Any], header: Iterable[str] = (), footer: Iterable[str] = ()) -> str:
    """``scenario`` as YAML text: the ``header`` lines as comments first, then the scenario, then a
    blank line and the ``footer`` lines as comments (when there are any)."""
    out = [f"# {comment_line(line)}" for line in header] + _block(scenario, "")
    tail = [f"# {comment_line(line)}" for line in footer]
    return "\n".join(out + (["", *tail] if tail else [])) + "\n"
