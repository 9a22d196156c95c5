"""The compiled predicates agree with jsonschema, the authority, on every schema the mock uses."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import Settings
from mock_server.contract.predicates import Unsupported, compile_schema, json_equal
from mock_server.contract.validation import Contract, SchemaCheck
from mock_server.scenarios.scenario import _check as scenario_check
from mock_server.scenarios.scenario import shipped_scenarios

# --- generated instances: near the schema, then bent ------------------------------------------------

EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 1.0, 0.5, -0.0, 2**63, 10**400, -(10**400), math.nan, math.inf,
    "", "x", "/", "/content/dam", "200ms", "0ms", "1.5s", "2h", "2025-11-12", "2025-11-12T08:00:00Z",
    "1969-12-31", "a\nb", "ASSET_PROCESSING", "SUCCESS", "é" * 300, [], [1], {}, {"": 1},
]  # fmt: skip
JSON = st.recursive(
    st.sampled_from(EDGES) | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _resolve(schema: Any, root: Any, documents: dict[str, Any]) -> tuple[Any, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        uri, _, fragment = schema["$ref"].partition("#")
        root = documents[uri] if uri else root
        schema = root
        for token in fragment.split("/")[1:]:
            schema = schema[token]
    return schema, root


@st.composite
def near(draw: st.DrawFn, schema: Any, root: Any, documents: dict[str, Any], odds: int = -1) -> Any:
    """A value built from ``schema``, bent at random places: one part in ``odds`` (0: none) is off."""
    if odds < 0:
        odds = draw(st.sampled_from([0, 40, 8, 3]))

    def bend() -> bool:
        return odds > 0 and draw(st.integers(1, odds)) == 1

    if bend():
        return draw(JSON)
    schema, root = _resolve(schema, root, documents)
    if not isinstance(schema, dict):
        return draw(JSON)
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return draw(near(draw(st.sampled_from(schema[key])), root, documents, odds))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        names = draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
        required = [n for n in schema.get("required", ()) if not bend()]
        value = {n: draw(near(properties.get(n, {}), root, documents, odds)) for n in {*names, *required}}
        extra = schema.get("additionalProperties", True)
        if bend() or (isinstance(extra, dict) and draw(st.booleans())):
            key = draw(st.text(max_size=5) | st.sampled_from(["name", "x-y", "-"]))
            sub = extra if isinstance(extra, dict) else {}
            value[key] = draw(near(sub, root, documents, odds))
        return value
    if kind == "array":
        low, most = schema.get("minItems", 0), schema.get("maxItems", 4)
        if bend():  # a size at a bound, or just past it (long lists only when short enough to build)
            size = draw(st.sampled_from([max(0, low - 1), low] + ([most, most + 1] if most <= 50 else [])))
        else:
            size = draw(st.integers(low, max(low, min(most, 4))))
        return [draw(near(schema.get("items", {}), root, documents, odds)) for _ in range(size)]
    if kind == "string":
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 12), 300)
        if bend():  # a length at a bound, or just past it
            size = draw(st.sampled_from([max(0, low - 1), low, high, high + 1]))
            return draw(st.text(st.characters(codec="utf-8"), min_size=size, max_size=size))
        if "pattern" in schema:
            matching = st.from_regex(schema["pattern"], fullmatch=True)
            return draw(matching.filter(lambda t: low <= len(t) <= high))
        return draw(st.text(min_size=low, max_size=max(low, min(high, 40))))
    if kind in ("integer", "number"):
        bounds = [schema[k] for k in ("minimum", "maximum", "exclusiveMinimum") if k in schema]
        if bend():
            edges = [b + d for b in bounds for d in (-1, 0, 1)] + [math.nan, math.inf, 10**400, 1.5, True]
            return draw(st.sampled_from(edges))
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**40)) + 1)
        high = schema.get("maximum", 2**40)
        if kind == "integer":
            return draw(st.integers(math.ceil(low), math.floor(high)))
        return draw(st.integers(math.ceil(low), math.floor(high)) | st.floats(low, high))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "null":
        return None
    return draw(JSON)


def _contracts() -> list[Contract]:
    return [
        Contract(Settings()),
        Contract(Settings(lenient=True)),
        Contract(Settings(contract_revision="2025-11")),
    ]


def _distinct_checks() -> list[tuple[str, SchemaCheck]]:
    """Each schema once per distinct form the settings give it (lenient, older revision)."""
    found: dict[str, tuple[str, SchemaCheck]] = {}
    for i, contract in enumerate(_contracts()):
        for name, check in contract._checks.items():
            found.setdefault(json.dumps(check.schema, sort_keys=True), (f"{name}#{i}", check))
    return list(found.values())


CHECKS = _distinct_checks()


@pytest.mark.parametrize(("label", "check"), CHECKS, ids=[label for label, _ in CHECKS])
def test_every_schema_compiles_to_a_predicate(label: str, check: SchemaCheck) -> None:
    assert check.passes is not None, f"{label} falls back to jsonschema for every message"


@pytest.mark.parametrize(("label", "check"), CHECKS, ids=[label for label, _ in CHECKS])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_predicate_agrees_with_jsonschema(label: str, check: SchemaCheck, data: st.DataObject) -> None:
    instance = data.draw(near(check.schema, check.schema, check._documents))
    passes = check.passes
    assert passes is not None
    assert passes(instance) == check.validator.is_valid(instance), (label, instance)


def test_generated_instances_cover_both_answers() -> None:
    """The agreement test means something only if it meets valid and invalid instances alike."""
    seen: dict[str, set[bool]] = {}

    @settings(max_examples=80, deadline=None, database=None)
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        for label, check in CHECKS:
            if not label.endswith("#0"):
                continue  # a lenient schema may take nearly anything
            instance = data.draw(near(check.schema, check.schema, check._documents))
            seen.setdefault(label, set()).add(check.validator.is_valid(instance))

    collect()
    assert {label: answers for label, answers in seen.items() if answers != {True, False}} == {}


def test_every_shipped_scenario_passes_both() -> None:
    from mock_server.scenarios.safe_yaml import read_yaml

    check = scenario_check()
    for name, path in shipped_scenarios().items():
        document, _ = read_yaml(path.read_text(), name)
        assert check.passes is not None and check.passes(document), name
        assert check.validator.is_valid(document), name


# --- the semantics, one by one ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "integer"}, 1, True),
        ({"type": "integer"}, 1.0, False),  # stricter than JSON Schema, as the contract is
        ({"type": "integer"}, True, False),
        ({"type": "number"}, 10**400, True),  # an int too large for a float is still a number
        ({"type": "number"}, math.nan, False),
        ({"type": "number"}, -math.inf, False),
        ({"type": "number", "maximum": 5}, 10**400, False),
        ({"minimum": 0}, "not a number", True),  # a bound applies to numbers only
        ({"minimum": 0}, math.nan, True),
        ({"exclusiveMinimum": 0}, 0, False),
        ({"enum": [1, "a"]}, True, False),
        ({"enum": [True]}, 1, False),
        ({"enum": [0]}, False, False),
        ({"enum": [1]}, 1.0, True),
        ({"enum": []}, 1, False),
        ({"const": [1, {"a": False}]}, [1, {"a": False}], True),
        ({"const": [1, {"a": False}]}, [1, {"a": 0}], False),
        ({"type": ["string", "null"]}, None, True),
        ({"minLength": 2}, "é", False),
        ({"maxLength": 1}, "\ud800", True),  # a lone surrogate is one code point
        ({"pattern": "b"}, "abc", True),  # search, not match
        ({"pattern": "^b"}, "abc", False),
        ({"required": ["a"]}, [], True),
        ({"required": ["a"]}, {"b": 1}, False),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False),
        ({"additionalProperties": {"type": "integer"}}, {"a": 1, "b": "x"}, False),
        ({"propertyNames": {"maxLength": 2}}, {"abc": 1}, False),
        ({"minProperties": 1}, {}, False),
        ({"maxProperties": 1}, {"a": 1, "b": 2}, False),
        ({"items": {"type": "integer"}, "maxItems": 2}, [1, 2], True),
        ({"items": {"type": "integer"}}, [1, "2"], False),
        ({"items": False}, [], True),
        ({"items": False}, [1], False),
        ({"minItems": 1}, [], False),
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3, False),  # both match: not exactly one
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, -3, True),
        ({"anyOf": [{"type": "integer"}, {"minimum": 0}]}, 3, True),
        ({"allOf": [{"type": "integer"}, {"minimum": 0}]}, -3, False),
        ({"not": {"type": "null"}}, None, False),
        (True, {"anything": 1}, True),
        (False, None, False),
        ({"x-expected": "ignored", "title": "t", "unknownKeyword": 1}, 1, True),
    ],
)
def test_keyword_semantics_match_jsonschema(schema: Any, instance: Any, valid: bool) -> None:
    assert compile_schema(schema)(instance) is valid
    assert (
        SchemaCheck("t", schema if isinstance(schema, dict) else {"allOf": [schema]}).validator.is_valid(
            instance
        )
        is valid
    )


def test_refs_resolve_within_a_document_across_documents_and_recursively() -> None:
    tree = {
        "$id": "urn:t:tree",
        "$defs": {"node": {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/node"}}}}},
        "$ref": "#/$defs/node",
    }
    forest = {"$id": "urn:t:forest", "items": {"$ref": "urn:t:tree"}}
    documents = {"urn:t:tree": tree, "urn:t:forest": forest}
    passes = compile_schema(forest, documents)
    assert passes([{"kids": [{"kids": []}]}])
    assert not passes([{"kids": [{"kids": [1]}]}])


def test_ref_fragments_are_percent_decoded_json_pointers() -> None:
    schema = {"$ref": "#/$defs/a%25b~1c", "$defs": {"a%b/c": {"type": "string"}, "a%25b~1c": True}}
    assert not compile_schema(schema)(1)
    assert not SchemaCheck("t", schema).validator.is_valid(1)


def test_formats_use_the_registered_functions() -> None:
    def even(value: object) -> bool:
        if isinstance(value, int) and value % 2:
            raise ValueError("odd")
        return True

    passes = compile_schema({"format": "even"}, formats={"even": even})
    assert passes(2) and passes("not checked") and not passes(3)
    assert compile_schema({"format": "unknown"})(3)  # a format nobody registered is not checked


@pytest.mark.parametrize(
    "schema",
    [
        {"uniqueItems": True},
        {"patternProperties": {"a": {}}},
        {"if": {"type": "string"}},
        {"properties": {"a": {"prefixItems": []}}},
        {"$ref": "urn:elsewhere"},
        {"$ref": "#/$defs/missing"},
        {"$ref": "#anchor"},
        {"type": "float"},
        {"items": {"$id": "urn:embedded"}},
        {"$schema": "http://json-schema.org/draft-04/schema#"},
        {"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}},
        {"$ref": "other.json"},
    ],
)
def test_what_is_not_compiled_says_so(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema)


def test_a_schema_that_does_not_compile_is_checked_by_jsonschema_alone() -> None:
    check = SchemaCheck("t", {"type": "array", "uniqueItems": True})
    assert check.passes is None
    assert not check.violations([1, 2])
    assert [v.where for v in check.violations([1, 1])] == ["body:/"]


def test_json_equality_keeps_booleans_apart_from_numbers() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal([True], [1])
    assert not json_equal({"a": 1}, {"b": 1})
    assert not json_equal("1", 1)
