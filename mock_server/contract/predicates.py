"""JSON Schemas compiled to plain predicates: the fast path of validation.

jsonschema stays the authority: it words every violation (see :mod:`.contract`). But importing it
costs the dev server a fifth of its start, and validating a message with it about 100 µs. The
contract's schemas use few keywords; :func:`compile_schema` turns those into nested closures that only
answer "valid or not". A message that passes is done; one that fails goes to jsonschema for the words.

The semantics are jsonschema's Draft 2020-12 with the contract's strict types (an integer is never a
float or a bool, a number is finite). A validation keyword this module does not know raises
:class:`Unsupported`, so that the caller keeps jsonschema for that schema rather than skip a check;
annotations and unknown keywords are ignored, as jsonschema ignores them. ``tests/test_predicates.py``
checks that both agree on every shipped schema, on generated and on mutated instances.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

__all__ = [
    "FormatFunction",
    "Predicate",
    "Unsupported",
    "compile_schema",
    "is_integer",
    "is_number",
    "json_equal",
]

Predicate = Callable[[Any], bool]
#: Raises ValueError (or OverflowError) for a value that does not have the format.
FormatFunction = Callable[[Any], object]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Validation keywords of Draft 2020-12 that are not compiled here.
_UNSUPPORTED = frozenset(
    {
        "$dynamicRef",
        "$recursiveRef",
        "contains",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "if",
        "maxContains",
        "minContains",
        "multipleOf",
        "patternProperties",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
    }
)


class Unsupported(ValueError):
    """The schema uses a keyword (or a $ref) that :func:`compile_schema` does not handle."""


def is_integer(value: Any) -> bool:
    """JSON Schema lets 1.0 pass as an integer; a mock that then uses it as one breaks. Not here."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """NaN and the infinities are no JSON numbers (YAML has them); an int of any size is one."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: dict[str, Predicate] = {
    "string": lambda v: isinstance(v, str),
    "integer": is_integer,
    "number": is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema means it (and jsonschema computes it): ``true`` is not ``1``."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(json_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def compile_schema(
    schema: Any,
    documents: Mapping[str, Any] | None = None,
    formats: Mapping[str, FormatFunction] | None = None,
) -> Predicate:
    """A predicate that is true exactly for the instances valid against ``schema``.

    ``documents`` are the schemas an absolute ``$ref`` may name, by ``$id``; ``formats`` the format
    functions (a format without one is not checked, as with jsonschema's FormatChecker).
    """
    return _Compiler(documents or {}, formats or {}).compile(schema, schema)


class _Compiler:
    def __init__(self, documents: Mapping[str, Any], formats: Mapping[str, FormatFunction]):
        self.documents = documents
        self.formats = formats
        self.refs: dict[tuple[int, str], Predicate] = {}

    def compile(self, schema: Any, root: Any) -> Predicate:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"a schema must be an object or a boolean, not {schema!r}")
        if "$id" in schema and schema is not root:
            raise Unsupported("an embedded $id")
        if "$schema" in schema and (schema is not root or schema["$schema"] != DIALECT):
            raise Unsupported(f"$schema {schema['$schema']!r} (only {DIALECT} at a document's root)")
        unknown = _UNSUPPORTED.intersection(schema)
        if unknown:
            raise Unsupported("keywords " + ", ".join(sorted(unknown)))
        checks = [
            check
            for check in (
                self._ref(schema, root),
                self._type(schema),
                self._enum(schema),
                *self._combinators(schema, root),
                self._string(schema),
                self._number(schema),
                self._format(schema),
                self._object(schema, root),
                self._array(schema, root),
            )
            if check is not None
        ]
        return _all(checks)

    # --- keywords for any type ---------------------------------------------------------------------

    def _ref(self, schema: dict[str, Any], root: Any) -> Predicate | None:
        ref = schema.get("$ref")
        if ref is None:
            return None
        uri, _, fragment = str(ref).partition("#")
        if uri and (":" not in uri or uri not in self.documents):  # relative URIs are not resolved here
            raise Unsupported(f"$ref {ref!r} names no known schema")
        target_root = self.documents[uri] if uri else root
        key = (id(target_root), fragment)
        if key not in self.refs:
            cell: list[Predicate] = []
            self.refs[key] = lambda v: cell[0](v)  # a forward reference: schemas may recurse
            cell.append(self.compile(_pointer(target_root, fragment, ref), target_root))
        return self.refs[key]

    @staticmethod
    def _type(schema: dict[str, Any]) -> Predicate | None:
        kind = schema.get("type")
        if kind is None:
            return None
        names = [kind] if isinstance(kind, str) else list(kind)
        if any(name not in _TYPES for name in names):
            raise Unsupported(f"type {kind!r}")
        tests = [_TYPES[name] for name in names]
        return tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))

    @staticmethod
    def _enum(schema: dict[str, Any]) -> Predicate | None:
        checks: list[Predicate] = []
        if "enum" in schema:
            options = list(schema["enum"])
            if options and all(isinstance(o, str) for o in options):
                words = frozenset(options)
                checks.append(lambda v: isinstance(v, str) and v in words)
            else:
                checks.append(lambda v: any(json_equal(o, v) for o in options))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: json_equal(constant, v))
        return _all(checks) if checks else None

    def _combinators(self, schema: dict[str, Any], root: Any) -> list[Predicate]:
        checks: list[Predicate] = []
        if "allOf" in schema:
            checks.append(_all([self.compile(s, root) for s in schema["allOf"]]))
        if "anyOf" in schema:
            branches = [self.compile(s, root) for s in schema["anyOf"]]
            checks.append(lambda v: any(b(v) for b in branches))
        if "oneOf" in schema:
            exclusive = [self.compile(s, root) for s in schema["oneOf"]]
            checks.append(lambda v: sum(1 for b in exclusive if b(v)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"], root)
            checks.append(lambda v: not negated(v))
        return checks

    # --- keywords for one type ---------------------------------------------------------------------

    @staticmethod
    def _string(schema: dict[str, Any]) -> Predicate | None:
        shortest, longest = schema.get("minLength"), schema.get("maxLength")
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        if shortest is None and longest is None and pattern is None:
            return None
        low = 0 if shortest is None else shortest
        high = math.inf if longest is None else longest

        def string(v: Any) -> bool:
            if not isinstance(v, str):
                return True
            return low <= len(v) <= high and (pattern is None or pattern.search(v) is not None)

        return string

    @staticmethod
    def _number(schema: dict[str, Any]) -> Predicate | None:
        bounds = [
            (schema.get("minimum"), operator.ge),
            (schema.get("maximum"), operator.le),
            (schema.get("exclusiveMinimum"), operator.gt),
            (schema.get("exclusiveMaximum"), operator.lt),
        ]
        given = [(bound, holds) for bound, holds in bounds if bound is not None]
        if not given:
            return None
        return lambda v: not is_number(v) or all(holds(v, bound) for bound, holds in given)

    def _format(self, schema: dict[str, Any]) -> Predicate | None:
        function = self.formats.get(schema.get("format", ""))
        if function is None:
            return None

        def conforms(v: Any) -> bool:
            try:
                return bool(function(v))
            except (ValueError, OverflowError):
                return False

        return conforms

    def _object(self, schema: dict[str, Any], root: Any) -> Predicate | None:
        properties = {name: self.compile(s, root) for name, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        extras = None if extra is True else self.compile(extra, root)
        names = self.compile(schema["propertyNames"], root) if "propertyNames" in schema else None
        low, high = schema.get("minProperties", 0), schema.get("maxProperties", math.inf)
        if not (properties or required or extras or names) and (low, high) == (0, math.inf):
            return None

        def fields(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            if not low <= len(v) <= high or any(name not in v for name in required):
                return False
            for key, value in v.items():
                check = properties.get(key)
                if check is not None:
                    if not check(value):
                        return False
                elif extras is not None and not extras(value):
                    return False
                if names is not None and not names(key):
                    return False
            return True

        return fields

    def _array(self, schema: dict[str, Any], root: Any) -> Predicate | None:
        items = self.compile(schema["items"], root) if "items" in schema else None
        low, high = schema.get("minItems", 0), schema.get("maxItems", math.inf)
        if items is None and (low, high) == (0, math.inf):
            return None

        def array(v: Any) -> bool:
            if not isinstance(v, list):
                return True
            return low <= len(v) <= high and (items is None or all(items(item) for item in v))

        return array


def _all(checks: Sequence[Predicate]) -> Predicate:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def _pointer(document: Any, fragment: str, ref: str) -> Any:
    """The part of ``document`` that the JSON Pointer ``fragment`` names."""
    if fragment and not fragment.startswith("/"):
        raise Unsupported(f"$ref {ref!r}: anchors are not supported")
    target = document
    for token in unquote(fragment).split("/")[1:] if fragment else ():
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            target = target[int(token)] if isinstance(target, list) else target[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise Unsupported(f"$ref {ref!r} points at nothing") from None
    return target
