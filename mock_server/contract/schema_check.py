"""The schema check: one JSON Schema of ``schemas/``, compiled once, and messages that name the field.

A :class:`SchemaCheck` holds one schema and its compiled validators (cached on first use) and words
what jsonschema finds. The rules beyond the schema (the settings' switches, how an author reads a
query, undocumented fields, warnings against errors) are :mod:`.rules`'. Schemas ``$ref`` each other
by ``$id`` through a local registry: nothing is ever fetched from the network.

A message is first checked by jsonschema-rs (the fast path: a validator compiled once per schema, in
Rust, imported with the first message); one that it does not find valid meets jsonschema (the
authority, imported then), which finds and words the violations. The two agree on every shipped
schema: ``tests/adversarial/test_validation_oracle.py`` holds them against each other on generated and mutated
messages. Where JSON Schema and the contract part, jsonschema decides:

- An integer is never a float here (1.0 and 1e3 are no integers; JSON Schema, and so jsonschema-rs,
  takes them for one). Whoever parses a message notices such floats for free (:func:`.fastpath.parse_json`)
  and says so (``integral_floats=True``): jsonschema, strict about types, then judges it. A message
  nobody parsed (a YAML document) is looked over once for them; a payload the mock built from its
  typed engine is not (see :meth:`.rules.Contract.check_response`).
- A ``pattern``'s ``$`` means what Python's ``re`` makes it mean (the end, or before a final
  newline): it is rewritten so for jsonschema-rs, whose ``$`` is the end only.
- A format is checked only when the check is handed a function for it (``formats=``, see
  :mod:`.formats`), on any type of value, as jsonschema's format checker does.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import MAX_LISTED, Violation, Violations
from .fastpath import format_keyword, plain, python_patterns
from .formats import FormatFunction
from .wording import cut, describe, excerpt, field_name, shown

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = ["SchemaCheck"]

#: The most raw errors jsonschema is asked for on one message: past that, "at least" this many.
_MAX_ERRORS = 1000
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
        finite (:func:`.fastpath.parse_json` tells); None when unknown, and ``instance`` is looked over."""
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


def _undialected(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "$schema"}
