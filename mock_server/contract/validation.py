"""The contract: the JSON Schemas of ``schemas/``, compiled once, and messages that name the field.

Every request is checked before its handler and every response before it is sent. A request that
breaks its schema yields :class:`~.errors.Violation` items for the 400 body; a response that breaks
its schema is a bug in the mock (answered 500 by the app). Schemas ``$ref`` each other by ``$id``
through a local registry: nothing is ever fetched from the network.

A message is first checked by jsonschema-rs (the fast path: a validator compiled once per schema, in
Rust, imported with the first message); one that it does not find valid meets jsonschema (the
authority, imported then), which finds and words the violations. The two agree on every shipped
schema: ``tests/adversarial/test_validation_oracle.py`` holds them against each other on generated and mutated
messages. Where JSON Schema and the contract part, jsonschema decides:

- An integer is never a float here (1.0 and 1e3 are no integers; JSON Schema, and so jsonschema-rs,
  takes them for one). Whoever parses a message notices such floats for free (:func:`parse_json`)
  and says so (``integral_floats=True``): jsonschema, strict about types, then judges it. A message
  nobody parsed (a YAML document) is looked over once for them; a payload the mock built from its
  typed engine is not (see :meth:`Contract.check_response`).
- A ``pattern``'s ``$`` means what Python's ``re`` makes it mean (the end, or before a final
  newline): it is rewritten so for jsonschema-rs, whose ``$`` is the end only.
- A format is checked only when the check is handed a function for it (``formats=``, see
  :mod:`.formats`), on any type of value, as jsonschema's format checker does.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..core.bounded import BoundedCache
from ..core.errors import MAX_LISTED, NO_VIOLATIONS, Violation, Violations
from ..core.settings import Settings
from .coercion import INTEGER_TEXT, coerce, fields_of
from .fastpath import format_keyword, parse_json, plain, python_patterns
from .formats import FormatFunction
from .schemas import load_schemas
from .variation import Variation
from .wording import cut, describe, excerpt, field_name, shown

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = ["FRAMEWORK_PARAMETERS", "Contract", "SchemaCheck"]

#: Query parameters an author's framework reads and the API never sees: Sling's ``_charset_`` (the
#: encoding of the parameters) and jQuery's ``_`` (a cache buster: ``?_=1761291362776``). They are
#: taken on any request and left out of the parameters an operation gets (docs/contract.md §4).
FRAMEWORK_PARAMETERS = frozenset({"_charset_", "_"})
#: The most raw errors jsonschema is asked for on one message: past that, "at least" this many.
_MAX_ERRORS = 1000
_CACHE_ITEMS = 4096
_CACHE_BYTES = 4 * 1024 * 1024
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _is_integer(value: Any) -> bool:
    """JSON Schema lets 1.0 pass as an integer; a mock that then uses it as one breaks. Not here."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """NaN and the infinities are no JSON numbers (YAML has them); an int of any size is one."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


@functools.cache
def _strict_validator() -> Any:
    """Draft 2020-12, strict about integers and numbers: imported when needed."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(  # type: ignore[no-untyped-call]  # jsonschema's is untyped
        Draft202012Validator,
        validators={"additionalProperties": _additional_properties},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
            {"integer": lambda _, v: _is_integer(v), "number": lambda _, v: _is_number(v)}
        ),
    )


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any) -> Any:
    """jsonschema's keyword, without naming every extra in its message: :meth:`SchemaCheck._word`
    words the first few itself, so 70,000 unknown fields cost a pass over the keys, no more."""
    from jsonschema import ValidationError
    from jsonschema._keywords import additionalProperties

    if allowed is False and "patternProperties" not in schema and validator.is_type(instance, "object"):
        known = schema.get("properties", {})
        if any(key not in known for key in instance):
            yield ValidationError("additional properties are not allowed")
        return
    yield from additionalProperties(validator, allowed, instance, schema)  # type: ignore[func-returns-value,misc]  # a generator; its stub says None


def _format_checker(formats: Mapping[str, FormatFunction]) -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, function in formats.items():
        checker.checks(name)(function)
    return checker


class SchemaCheck:
    """One compiled schema and how to word its violations.

    ``documents`` are the schemas its ``$ref``s may name, by ``$id``; ``formats`` the functions of
    the formats it checks (:mod:`.formats`; a format without one is not checked).
    """

    def __init__(
        self,
        name: str,
        schema: dict[str, Any],
        documents: Mapping[str, dict[str, Any]] | None = None,
        where: str = "body",
        formats: Mapping[str, FormatFunction] | None = None,
    ):
        self.name = name
        self.schema = schema
        self.where = where  # "body" or "query"
        self.noun = str(schema.get("x-name", schema.get("title", name)))
        self.formats = dict(formats or {})
        self._documents = dict(documents or {})

    @functools.cached_property
    def fast(self) -> jsonschema_rs.Validator | None:
        """jsonschema-rs's validator, compiled on first use; None when it cannot take the schema (a
        ``$ref`` to no known document: nothing is ever fetched), and then jsonschema checks every
        message."""
        import jsonschema_rs

        try:
            registry = jsonschema_rs.Registry(
                [(uri, python_patterns(document)) for uri, document in self._documents.items()]
            )
            # A custom keyword costs every message a third more: only for formats to check.
            keywords = {"format": format_keyword(self.formats)} if self.formats else None
            return jsonschema_rs.validator_for(
                python_patterns(self.schema),
                registry=registry,
                keywords=keywords,
                validate_formats=False,  # as jsonschema's checker without formats
                offline=True,
            )
        except (ValueError, jsonschema_rs.ReferencingError):
            return None

    def passes(self, instance: Any, integral_floats: bool | None = None) -> bool:
        """Whether the fast path finds ``instance`` valid; then it is. False says nothing: jsonschema
        must look. ``integral_floats``: whether the message holds a float that is integral or not
        finite (:func:`parse_json` tells); None when unknown, and ``instance`` is looked over."""
        fast = self.fast
        if fast is None or integral_floats:
            return False
        try:
            valid = fast.is_valid(instance)
        except ValueError:  # a type it does not take: a subclass, a lone surrogate, a key that is no string
            return False
        return valid and (integral_floats is False or plain(instance))

    @functools.cached_property
    def validator(self) -> Validator:
        """The jsonschema validator: the authority, and the one that words violations."""
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        # Without `$schema`: jsonschema would switch a subschema that names its dialect (a `$ref`ed
        # document's root) to the plain Draft 2020-12 validator, and so drop the strict types.
        registry: Registry[Any] = Registry().with_resources(
            (uri, Resource.from_contents(_undialected(s), default_specification=DRAFT202012))
            for uri, s in self._documents.items()
        )
        validator: Validator = _strict_validator()(
            _undialected(self.schema), registry=registry, format_checker=_format_checker(self.formats)
        )
        return validator

    def violations(self, instance: Any, integral_floats: bool | None = None) -> Violations:
        """At most :data:`MAX_LISTED` violations worded, the rest only counted: a message with
        70,000 unknown fields costs no more to answer than one with 21. ``integral_floats`` as for
        :meth:`passes`."""
        if self.passes(instance, integral_floats):
            return Violations()
        errors = list(itertools.islice(self.validator.iter_errors(instance), _MAX_ERRORS))
        errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
        found: dict[tuple[str, str], Violation] = {}
        more = 0
        for error in errors:
            worded, unworded = self._word(error, room=MAX_LISTED - len(found))
            # Two keywords may word the same failure alike (a pattern and a format): say it once.
            found.update(((v.where, v.message), v) for v in worded)
            more += unworded
        return Violations.of(list(found.values()), more, more_or_more=len(errors) == _MAX_ERRORS)

    def _location(self, path: Iterable[str | int]) -> tuple[str, str]:
        parts = list(path)
        if self.where == "query":
            if parts and parts[0] == "":
                return "query:", '""'  # a parameter without a name
            return f"query:{cut(str(parts[0]))}" if parts else "query", field_name(parts) or "the query"
        pointer = cut("".join(f"/{p}" for p in parts))
        return f"body:{pointer or '/'}", field_name(parts) or "the body"

    def _word(
        self, error: ValidationError, outer: ValidationError | None = None, room: int = MAX_LISTED
    ) -> tuple[list[Violation], int]:
        """Up to ``room`` violations worded for one error, and how many more it holds."""
        kind, schema = error.validator, error.schema
        instance: Any = error.instance
        path = list(error.absolute_path)
        if room <= 0:
            return [], 1
        if kind == "required" and isinstance(schema, dict):
            fields = [f for f in schema["required"] if f not in instance]
            found = []
            for name in fields[:room]:
                where, field = self._location([*path, name])
                wanted = describe(schema.get("properties", {}).get(name) or self._declared([*path, name]))
                sample = excerpt({"required": [name]})
                found.append(Violation(where, f"`{field}` is required: give {wanted}", wanted, None, sample,
                                       keyword="required"))  # fmt: skip
            return found, len(fields) - len(found)
        if kind == "additionalProperties" and isinstance(schema, dict):
            known = list(schema.get("properties", {}))
            extras = [k for k in instance if k not in known]
            found = []
            for name in extras[:room]:
                where, field = self._location([*path, name])
                hint = difflib.get_close_matches(cut(str(name)), known, n=1, cutoff=0.6)
                tip = f" (did you mean `{hint[0]}`?)" if hint else ""
                place = f"`{field_name(path)}` in " if path else ""
                wanted = "one of " + ", ".join(known) if known else "no fields"
                message = f"`{field}` is not a field of {place}{self.noun}{tip}"
                sample = excerpt({"properties": known, "additionalProperties": False})
                found.append(Violation(where, message, wanted, shown(instance[name]), sample,
                                       keyword="additionalProperties"))  # fmt: skip
            return found, len(extras) - len(found)
        if kind in ("oneOf", "anyOf") and error.context:
            branch = self._matching_branch(error)
            if branch:
                found, more = [], 0
                for sub in branch:
                    worded, unworded = self._word(sub, outer=error, room=room - len(found))
                    found += worded
                    more += unworded
                return found, more
        where, field = self._location(path)
        outer_schema: Any = outer.schema if outer is not None else None
        if outer is not None and list(outer.absolute_path) == path and "x-expected" in outer_schema:
            schema = outer_schema  # a branch of a oneOf failed on the value itself: word the whole
        wanted = describe(schema) if isinstance(schema, dict) else cut(str(error.validator_value))
        got = shown(instance)
        message = f"`{field}`: expected {wanted}, got {cut(json.dumps(got, default=str))}"
        return [Violation(where, message, wanted, got, excerpt(schema), keyword=str(kind))], 0

    def _declared(self, path: list[Any]) -> dict[str, Any]:
        """The schema the object properties declare at ``path``: what a ``required`` that declares
        none (an ``if``/``else`` branch, §3.40's ``path`` or ``paths``) words its field by."""
        node: Any = self.schema
        for key in path:
            node = node.get("properties", {}).get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    @staticmethod
    def _matching_branch(error: ValidationError) -> list[ValidationError]:
        """The errors of the one branch whose type the instance has, if exactly one has it."""
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context or ():
            branches.setdefault(int(sub.schema_path[0]), []).append(sub)
        options: Any = error.validator_value
        typed = [
            i
            for i, option in enumerate(options)
            if isinstance(option, dict)
            and isinstance(error.instance, _JSON_TYPES.get(str(option.get("type")), ()))
            and not (isinstance(error.instance, bool) and option.get("type") != "boolean")
        ]
        return branches.get(typed[0], []) if len(typed) == 1 else []


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
        if not errors and not warned:  # a hostile client makes refusals and oddities all distinct
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


def _undialected(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "$schema"}


def _drop_additional_properties(schema: Any) -> None:
    if isinstance(schema, dict):
        if schema.get("additionalProperties") is False:
            del schema["additionalProperties"]
        for value in schema.values():
            _drop_additional_properties(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_additional_properties(value)
