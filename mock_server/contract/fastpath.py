"""The fast path's terms: jsonschema-rs sees a message as the contract does.

Where JSON Schema and the contract part (see :mod:`.schema_check`), these helpers bridge them: floats
that are integral are noticed where a message is parsed (:func:`parse_json`) or looked for once
(:func:`plain`); a ``pattern``'s ``$`` is rewritten to Python's meaning (:func:`python_patterns`);
formats are checked by the functions handed over (:func:`format_keyword`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .formats import FormatFunction

__all__ = ["format_keyword", "parse_json", "plain", "python_patterns", "reject_constant"]


def format_keyword(formats: Mapping[str, FormatFunction]) -> type:
    """``format`` for jsonschema-rs as jsonschema's checker has it: a named function judges every
    value (jsonschema-rs's own formats see strings only), an unnamed format is not checked."""

    class Format:
        def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
            self.name = value
            self.function = formats.get(value) if isinstance(value, str) else None

        def validate(self, instance: Any) -> None:
            if self.function is not None and not self.function(instance):
                raise ValueError(f"not a {self.name}")

    return Format


def parse_json(text: str | bytes, **options: Any) -> tuple[Any, bool]:
    """``json.loads(text, **options)``, and whether the text wrote a float that is integral (``1.0``,
    ``1e3``, ``-0.0``) or not finite (``1e999``; the tokens ``NaN`` and ``Infinity`` are left to
    ``parse_constant``): a message for which to say ``integral_floats``.

    Noticed as the floats are parsed, at no cost to a text without any.
    """
    noticed = False

    def number(token: str) -> float:
        nonlocal noticed
        value = float(token)
        if value.is_integer() or not math.isfinite(value):
            noticed = True
        return value

    return json.loads(text, parse_float=number, **options), noticed


def reject_constant(name: str) -> Any:
    """``parse_constant`` for JSON readers: ``NaN`` and ``Infinity`` are Python's, not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def plain(instance: Any) -> bool:
    """Whether jsonschema-rs sees ``instance`` as the contract does: dicts, lists, strings, ints,
    booleans, None and floats that are neither integral nor infinite, of those very types (a tuple
    is no JSON array to jsonschema, an enum member is no plain string). One pass over it (some
    25 µs for a 20-job history), for a message nobody parsed: a payload the mock built, a YAML
    document."""
    stack = [instance]
    push, leaves = stack.append, _LEAVES
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            items = value.values()
        elif kind is list:
            items = value
        elif kind in leaves or (kind is float and not value.is_integer() and math.isfinite(value)):
            continue
        else:
            return False
        for item in items:
            if type(item) not in leaves:
                push(item)  # a container, or a leaf to look at closer
    return True


_LEAVES = frozenset({str, int, bool, type(None)})

#: Keywords whose value maps names to subschemas (the names are no keywords).
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
#: Keywords whose value is data, not a schema.
_DATA = frozenset({"enum", "const", "default", "examples"})


def python_patterns(schema: Any) -> Any:
    """A copy of ``schema`` whose regular expressions mean for jsonschema-rs what they mean for
    jsonschema, which searches with Python's ``re``: there ``$`` also matches before a final newline."""
    if isinstance(schema, list):
        return [python_patterns(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    copied: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            copied[key] = _python_dollars(value)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            rename = _python_dollars if key == "patternProperties" else str
            copied[key] = {rename(name): python_patterns(sub) for name, sub in value.items()}
        elif key in _DATA:
            copied[key] = value
        else:
            copied[key] = python_patterns(value)
    return copied


def _python_dollars(pattern: str) -> str:
    """``pattern`` with each ``$`` outside a character class written ``\\n?$`` at the end (the same
    matches), ``(?=\\n?$)`` elsewhere."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            start = i + 2 if pattern.startswith("[^", i) else i + 1
            if pattern.startswith("]", start):  # a "]" first in a class is a literal one
                out.append(pattern[i : start + 1])
                i = start + 1
                continue
        elif char == "$":
            char = "\\n?$" if i == len(pattern) - 1 else "(?=\\n?$)"
        out.append(char)
        i += 1
    return "".join(out)
