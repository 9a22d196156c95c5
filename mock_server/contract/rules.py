"""The contract: the compiled schemas and the rules beyond them, for every message the mock checks.

:class:`Contract` patches the schemas for the switches of the settings (the types a start takes,
the contract's revision, the status names, ``lenient``), checks each message with a
:class:`~.schema_check.SchemaCheck`, and adds what the documented contract says and JSON Schema
cannot: a query read as a servlet reads it (a repeated or unknown parameter is served, with a
warning; Sling's and jQuery's own are ignored), the fields an author reads but the docs do not
document (warnings), a real author's answer held to the schema opened to unknown keys (a newer
author may add some), and the severity of each finding: an ``error`` a real author refuses too, a
``warning`` it serves. Every request is checked before its handler and every response before it
is sent: a request that breaks its schema yields :class:`~mock_server.core.errors.Violation` items
for the 400 body; a response that breaks its schema is a bug in the mock (answered 500 by the
app). Distinct queries and responses are checked once (bounded caches).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ..core.bounded import BoundedCache
from ..core.errors import MAX_LISTED, NO_VIOLATIONS, Violation, Violations
from ..core.settings import Settings
from .coercion import INTEGER_TEXT, coerce, fields_of
from .fastpath import parse_json
from .formats import FormatFunction
from .schema_check import SchemaCheck
from .schemas import load_schemas
from .variation import Variation
from .wording import cut, field_name, shown

__all__ = ["FRAMEWORK_PARAMETERS", "Contract"]

#: Query parameters an author's framework reads and the API never sees: Sling's ``_charset_`` (the
#: encoding of the parameters) and jQuery's ``_`` (a cache buster: ``?_=1761291362776``). They are
#: taken on any request and left out of the parameters an operation gets (docs/contract.md §4).
FRAMEWORK_PARAMETERS = frozenset({"_charset_", "_"})
_CACHE_ITEMS = 4096
_CACHE_BYTES = 4 * 1024 * 1024


class Contract:
    """The compiled schemas, patched for the switches of ``settings``; ``formats`` as for
    :class:`SchemaCheck` (the API's schemas name none)."""

    def __init__(
        self,
        settings: Settings,
        schemas: Mapping[str, dict[str, Any]] | None = None,
        formats: Mapping[str, FormatFunction] | None = None,
    ):
        self.settings = settings
        self.schemas = self._patched(copy.deepcopy(dict(schemas)) if schemas else load_schemas(), settings)
        documents = {s["$id"]: s for s in self.schemas.values()}
        self._checks = {
            name: SchemaCheck(
                name, schema, documents, "query" if name.endswith(".query") else "body", formats
            )
            for name, schema in self.schemas.items()
        }
        self._undocumented = {name: tuple(_undocumented(schema)) for name, schema in self.schemas.items()}
        self._fields = {name: fields_of(schema) for name, schema in self.schemas.items()}
        self.variation = Variation(settings.vary, self.schemas) if settings.vary is not None else None
        self._query_names = {
            name: frozenset(s.get("properties", {}))
            for name, s in self.schemas.items()
            if name.endswith(".query")
        }
        self._integer_params = {
            name: {k for k, v in s.get("properties", {}).items() if v.get("type") == "integer"}
            for name, s in self.schemas.items()
            if name.endswith(".query")
        }
        self._query_cache: BoundedCache[tuple[str, str], tuple[dict[str, Any], Violations, Violations]]
        self._query_cache = BoundedCache(_CACHE_ITEMS, _CACHE_BYTES)
        self._response_cache: BoundedCache[tuple[str, bytes], Violations]  # keyed by a digest
        self._response_cache = BoundedCache(_CACHE_ITEMS, _CACHE_BYTES)
        #: The last response checked, by identity: the job serializer hands the same bytes back for
        #: a job that has not changed, and then not even a digest is needed.
        self._last_response: tuple[str, bytes, Violations] = ("", b"", NO_VIOLATIONS)

    @staticmethod
    def _patched(schemas: dict[str, dict[str, Any]], settings: Settings) -> dict[str, dict[str, Any]]:
        start = schemas["start.request"]["properties"]
        start["type"]["enum"] = list(settings.allowed_types)
        if settings.contract_revision == "2025-11":
            del start["filter"]
        statuses = sorted(set(settings.status_names.values()))
        job = schemas["job"]["properties"]
        job["status"]["enum"] = statuses
        job["migrationSet"]["properties"]["calculationStatus"]["enum"] = statuses
        if settings.lenient:
            for name, schema in schemas.items():
                if name.endswith((".request", ".query")):
                    _drop_additional_properties(schema)
        return schemas

    @functools.cached_property
    def _open_checks(self) -> dict[str, SchemaCheck]:
        """The schemas with every object open to unknown keys: what a newer author may send."""
        opened = copy.deepcopy(self.schemas)
        _drop_additional_properties(opened)
        documents = {s["$id"]: s for s in opened.values()}
        return {name: SchemaCheck(name, schema, documents) for name, schema in opened.items()}

    def vary(
        self, name: str, payload: Any, body: bytes, query: Mapping[str, Any]
    ) -> tuple[bytes, list[str], Violations]:
        """The answer ``body`` (of ``payload``, schema ``name``) varied with the ``vary`` seed
        (:mod:`.variation`), the names of its variations, and how the varied answer breaks the
        schemas opened to unknown keys (never, unless the mock has a bug)."""
        if self.variation is None:
            return body, [], NO_VIOLATIONS
        varied, names = self.variation.vary(name, payload, body, query)
        errors = self._open_checks[name].violations(varied, integral_floats=False)
        return json.dumps(varied, separators=(",", ":")).encode(), names, errors

    def check_answer(
        self, name: str, payload: Any, integral_floats: bool | None = None
    ) -> tuple[Violations, Violations]:
        """A real author's answer against schema ``name``: its errors against the schema opened to
        unknown keys (a newer author may add some), and a warning for each key the schema lacks."""
        errors = self._open_checks[name].violations(payload, integral_floats)
        unknown = [
            dataclasses.replace(v, severity="warning")
            for v in self._checks[name].violations(payload, integral_floats)
            if v.keyword == "additionalProperties"
        ]
        return errors, Violations.of(unknown)

    def undocumented(self, name: str, body: Any) -> Violations:
        """Warnings for the fields of ``body`` that schema ``name`` takes but marks ``x-undocumented``:
        an author reads them, the documented contract does not have them."""
        found: list[Violation] = []
        for path, why in self._undocumented[name]:
            value: Any = body
            for key in path:
                value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if value is not _MISSING:
                message = f"`{field_name(path)}` is read by an author, but {why}"
                wanted = "no such field in the documented contract"
                where = "body:/" + "/".join(path)
                found.append(
                    Violation(
                        where, message, wanted, shown(value), keyword="undocumented", severity="warning"
                    )
                )
        return Violations.of(found)

    def read_body(
        self, name: str, body: Any, integral_floats: bool | None = None
    ) -> tuple[Any, Violations, Violations]:
        """A request body as an author reads it (:mod:`.coercion`), its errors against schema
        ``name`` and its warnings: values coerced, undocumented fields taken."""
        body, coerced = coerce(self._fields[name], body)
        if coerced:
            integral_floats = None  # a float became an int: look the body over again
        errors = self.check_body(name, body, integral_floats)
        return body, errors, Violations.of(coerced) + self.undocumented(name, body)

    def check_body(self, name: str, body: Any, integral_floats: bool | None = None) -> Violations:
        """Violations of the request body ``body`` against schema ``name``; ``integral_floats`` as
        :func:`parse_json` tells it (None: ``body`` is looked over for them)."""
        return self._checks[name].violations(body, integral_floats)

    def check_query(
        self, name: str, query_string: str, items: Callable[[], Iterable[tuple[str, str]]]
    ) -> tuple[dict[str, Any], Violations, Violations]:
        """The query parameters as typed values, their errors and their warnings; a query without
        either is cached by its text (a bounded cache). ``items`` gives the decoded parameters,
        asked for only when the text is not in the cache.

        As a servlet reads them (docs/contract.md §4): a parameter given twice counts once, its first
        value; a parameter the operation does not have is left out. Both are served, with a warning.
        Sling's and jQuery's own parameters are left out without one.
        """
        key = (name, query_string)
        cached = self._query_cache.get(key)
        if cached is not None:
            return cached
        params: dict[str, Any] = {}
        check = self._checks[name]
        known = self._query_names[name]
        integers = self._integer_params[name]
        warned: set[str] = set()
        listed: list[Violation] = []  # at most MAX_LISTED worded: an 8 KB query may hold 2,000 names
        for param, value in items():
            if param in FRAMEWORK_PARAMETERS:
                continue  # Sling's and jQuery's own: an author ignores them on any request
            repeated = param in params
            if repeated or param not in known:
                if param not in warned:
                    warned.add(param)
                    if len(listed) < MAX_LISTED:
                        listed.append(_query_warning(check.noun, known, param, value, repeated))
                continue
            params[param] = int(value) if param in integers and INTEGER_TEXT.fullmatch(value) else value
        errors = check.violations(params, integral_floats=False)  # strings and ints only
        result = (params, errors, Violations(tuple(listed), len(warned) - len(listed)))
        if not errors and not warned:  # a hostile client makes every refused or odd query distinct
            self._query_cache.put(key, result, 2 * len(query_string) + 256)
        return result

    def check_response(self, name: str, body: bytes, payload: Any) -> Violations:
        """Violations of a response body; each distinct body is validated once (a bounded cache).

        ``body`` must be the serialization of ``payload`` (None: parse ``body``); the cache is keyed
        by its digest. The strict-integer rule is applied where a message is parsed: to ``body``
        when it comes without its payload. A payload the mock built from its typed engine (mypy
        checks that a count is an int) is not looked over for integral floats again: that pass
        would cost a 20-job history more than the check itself.
        """
        last = self._last_response
        if last[1] is body and last[0] == name:  # a poll that sees the job as the last one did
            return last[2]
        key = (name, hashlib.blake2b(body, digest_size=16).digest())
        cached = self._response_cache.get(key)
        if cached is None:
            integral_floats = False
            if payload is None:
                payload, integral_floats = parse_json(body)
            cached = self._checks[name].violations(payload, integral_floats)
            self._response_cache.put(key, cached, 128 + sum(_size(v) for v in cached))
        self._last_response = (name, body, cached)
        return cached


_MISSING = object()


def _query_warning(noun: str, known: frozenset[str], param: str, value: str, repeated: bool) -> Violation:
    """The warning for a query parameter an author reads otherwise than the contract documents it:
    given twice (the first value counts) or unknown (ignored)."""
    if repeated:
        return Violation(f"query:{cut(param)}", f"`{cut(param)}` is given more than once: an author takes "
                         "the first value; give it once", "a single value", shown(value),
                         keyword="repeated", severity="warning")  # fmt: skip
    hint = difflib.get_close_matches(cut(param), sorted(known), n=1, cutoff=0.6)
    tip = f" (did you mean `{hint[0]}`?)" if hint else ""
    label = cut(param) or '""'  # a parameter without a name: "?=x"
    return Violation(f"query:{cut(param)}", f"`{label}` is not a parameter of {noun}: an author ignores "
                     f"it{tip}", f"one of {', '.join(sorted(known))}" if known else "no parameters",
                     shown(value), keyword="additionalProperties", severity="warning")  # fmt: skip


def _undocumented(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """The paths of the properties ``schema`` marks ``x-undocumented`` (inline ones), with why."""
    if not isinstance(schema, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict) and "x-undocumented" in sub:
            yield (*path, key), str(sub["x-undocumented"])
        yield from _undocumented(sub, (*path, key))


def _size(violation: Violation) -> int:
    """About how many bytes a violation takes."""
    return 200 + sum(len(str(part)) for part in (violation.where, violation.message, violation.expected,
                                                  violation.got, violation.schema))  # fmt: skip


def _drop_additional_properties(schema: Any) -> None:
    if isinstance(schema, dict):
        if schema.get("additionalProperties") is False:
            del schema["additionalProperties"]
        for value in schema.values():
            _drop_additional_properties(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_additional_properties(value)
