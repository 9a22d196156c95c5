"""What an author's JSON reader makes of values the documented contract does not promise.

AEM's servlets read a body into a Java model with a JSON library (Jackson, or Gson), and both, in
their default configuration, take two things a schema refuses (docs/contract.md §4):

- ``null`` for an optional field: the model's field stays unset, as if the key were absent;
- for an integer field, a string of digits (``"1758876933000"``) or an integral number written as
  a float (``1758876933000.0``): both become that integer. A fraction (``1.5``) is left as it is,
  for the schema to refuse: Gson refuses it, and no evidence says an author truncates it.

:func:`coerce` does the same, before the schema check, and words a warning for each value it
changed. It walks the fields a schema declares, never the body's keys, so a body of 70,000 unknown
keys costs it nothing more. A required field that is ``null`` is left for the schema to refuse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import Violation
from .wording import field_name, shown

__all__ = ["INTEGER_TEXT", "Field", "as_read", "coerce", "fields_of"]

#: A whole number as text, as ``Long.parseLong`` reads it (the schema bounds its range).
INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class Field:
    """A declared field of an object: whether it must be there, whether it is an integer, and its
    own declared fields when it is an object."""

    required: bool
    integer: bool
    fields: Mapping[str, Field] = field(default_factory=dict)


def fields_of(schema: Any) -> dict[str, Field]:
    """The declared fields of an object schema, nested objects included (inline ones)."""
    if not isinstance(schema, dict):
        return {}
    required = _required(schema)
    return {
        name: Field(
            name in required,
            isinstance(sub, dict) and sub.get("type") == "integer",
            fields_of(sub) if isinstance(sub, dict) and sub.get("type") == "object" else {},
        )
        for name, sub in schema.get("properties", {}).items()
    }


def coerce(fields: Mapping[str, Field], body: Any, path: tuple[str, ...] = ()) -> tuple[Any, list[Violation]]:
    """``body`` as an author's reader takes it, and a warning for each value changed; ``body``
    itself is never changed (a changed object is a copy)."""
    if not isinstance(body, dict) or not fields:
        return body, []
    warnings: list[Violation] = []
    changed: dict[str, Any] | None = None
    for name, declared in fields.items():
        if name not in body:
            continue
        value = body[name]
        where = (*path, name)
        warning: Violation | None
        if value is None:
            if declared.required:
                continue  # the schema refuses it
            new, warning = _ABSENT, _warning(where, value, "is null: an author reads it as absent; "
                                             "leave the field out", "the field left out")  # fmt: skip
        elif declared.integer:
            new, warning = _integer(where, value)
        else:
            new, inner = coerce(declared.fields, value, where)
            warnings += inner
            warning = None
        if new is not value:
            changed = dict(body) if changed is None else changed
            if new is _ABSENT:
                del changed[name]
            else:
                changed[name] = new
        if warning is not None:
            warnings.append(warning)
    return (body if changed is None else changed), warnings


_ABSENT: Any = object()
_READ_AS = "an author's JSON reader takes it, and the mock serves it with a warning (docs/contract.md §4)"


def as_read(schema: Any) -> Any:
    """A copy of an object schema that also takes what :func:`coerce` takes: ``null`` for an
    optional field, a digit string for an integer (an integral float is an integer to JSON Schema
    already). For ``/openapi.json``: it says what the mock serves, and a tester that sends
    anything else (Schemathesis' negative tests) is answered with a 4xx."""
    if not isinstance(schema, dict) or "properties" not in schema:
        return schema
    required = _required(schema)
    properties = {}
    for name, sub in schema["properties"].items():
        read = as_read(sub) if isinstance(sub, dict) and sub.get("type") == "object" else sub
        options = [read]
        if isinstance(sub, dict) and sub.get("type") == "integer":
            digits = INTEGER_TEXT.pattern
            if sub.get("minimum", -1) >= 0:
                digits = digits.removeprefix("-?")  # "-1" would be refused all the same
            options.append({"type": "string", "pattern": f"^{digits}$", "description": _READ_AS})
        if name not in required:
            options.append({"type": "null", "description": _READ_AS})
        properties[name] = read if len(options) == 1 else {"anyOf": options}
    return {**schema, "properties": properties}


def _required(schema: dict[str, Any]) -> set[str]:
    """The fields ``schema`` requires, those its ``else`` requires included (§3.40: ``paths``
    unless ``path`` is sent): a ``null`` there is refused, never read as absent."""
    otherwise = schema.get("else")
    return set(schema.get("required", ())) | set(
        otherwise.get("required", ()) if isinstance(otherwise, dict) else ()
    )


def _integer(where: tuple[str, ...], value: Any) -> tuple[Any, Violation | None]:
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        number = int(value)
        text = f"is the string {json.dumps(value)}: an author's JSON reader takes it as the number {number}"
        return number, _warning(where, value, text + "; send a number", "an integer")
    if isinstance(value, float) and value.is_integer():
        number = int(value)
        text = f"is written {value!r}: an author's JSON reader takes it as {number}; send {number}"
        return number, _warning(where, value, text, "an integer")
    return value, None


def _warning(where: tuple[str, ...], value: Any, text: str, wanted: str) -> Violation:
    pointer = "body:/" + "/".join(where)
    return Violation(
        pointer, f"`{field_name(where)}` {text}", wanted, shown(value), keyword="coerced", severity="warning"
    )
