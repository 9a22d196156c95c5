"""How the contract words what is wrong: field names, what a schema wants, values cut to size.

Every message names the field (``filter.fileTypes[2]``) and says what was wanted and what came;
echoed values and names are cut to :data:`~..core.errors.MAX_SHOWN` characters.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import MAX_SHOWN

__all__ = ["TYPE_NOUNS", "cut", "describe", "excerpt", "field_name", "shown"]

TYPE_NOUNS = {
    "string": ("a string", "strings"),
    "integer": ("an integer", "integers"),
    "number": ("a number", "numbers"),
    "boolean": ("a boolean", "booleans"),
    "object": ("an object", "objects"),
    "array": ("a list", "lists"),
    "null": ("null", "nulls"),
}


def shown(value: Any, limit: int = MAX_SHOWN) -> Any:
    """``value`` for an error body, long strings cut so that a 10 KB id does not echo back whole."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 3] + "..."
    if isinstance(value, (dict, list)):
        if len(value) > limit:  # never serialize a 70,000-key object only to cut it
            value = dict(itertools.islice(value.items(), limit)) if isinstance(value, dict) else value[:limit]
        try:
            text = json.dumps(value, default=str)
        except (ValueError, RecursionError):  # nested too deeply to write back
            return f"a {type(value).__name__} nested too deeply to show"
        return value if len(text) <= limit else text[: limit - 3] + "..."
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        try:
            text = str(value)
        except ValueError:  # past Python's conversion limit; no JSON or YAML reader yields one
            return f"a number of about {value.bit_length() * 3 // 10} digits"
        return f"{text[:20]}... ({len(text.lstrip('-'))} digits)"
    return value


def excerpt(schema: Any, limit: int = 120) -> str:
    """A short JSON excerpt of ``schema``, without descriptions and the mock's own wording keys."""
    if isinstance(schema, dict):
        schema = {k: v for k, v in schema.items() if k not in ("description", "x-expected", "title")}
    text = json.dumps(schema, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(schema: Mapping[str, Any]) -> str:
    """What ``schema`` wants, in words."""
    if "x-expected" in schema:
        return str(schema["x-expected"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(describe(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array" and "items" in schema:
        return f"a list of {_plural(schema['items'])}"
    if kind in ("integer", "number") and "minimum" in schema and "maximum" in schema:
        return f"an integer from {schema['minimum']} to {schema['maximum']}"
    if kind in ("integer", "number") and "minimum" in schema:
        return f"{TYPE_NOUNS[kind][0]} >= {schema['minimum']}"
    if kind == "string" and "maxLength" in schema:
        return f"a string of {schema.get('minLength', 0)} to {schema['maxLength']} characters"
    if kind == "string" and schema.get("minLength") == 1:
        return "a non-empty string"
    if kind == "object" and schema.get("additionalProperties") is False:
        return "an object with the fields " + ", ".join(schema.get("properties", {})) or "{}"
    return TYPE_NOUNS.get(str(kind), ("a value", "values"))[0]


def _plural(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "values from " + ", ".join(str(v) for v in schema["enum"])
    return TYPE_NOUNS.get(str(schema.get("type")), ("a value", "values"))[1]


def field_name(path: Iterable[str | int], empty: str = "") -> str:
    """``filter.fileTypes[2]``, cut to :data:`MAX_SHOWN` characters; ``empty`` for an empty path."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        if len(name) > MAX_SHOWN:
            return name[: MAX_SHOWN - 3] + "..."
    return name or empty


def cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
