"""The fast path (jsonschema-rs) held against the authority (jsonschema) on every shipped schema.

Each schema of ``schemas/`` is checked in every form the settings give it (lenient, the 2025-11
revision) and as the scenario loader checks it (with its formats). The instances: messages the
running mock really sent and received, each bent by a few mutations (a field dropped, renamed or
retyped, an enum value changed, an integer written as a float...), values generated from the schema
and bent at random places, and arbitrary JSON values. On every one:

- where jsonschema-rs sees the instance as the contract does (``plain``), both give one answer;
- what the fast path lets through, jsonschema finds valid;
- :meth:`SchemaCheck.violations` finds none exactly when jsonschema finds the instance valid.

Then the semantics where JSON Schema and the contract part, one by one.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import functools
import json
import math
import re
import urllib.error
import urllib.request
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import Settings
from mock_server.api.operations import ASSET_STATUS_PATH, BASE_PATH, SYSTEM_STATUS_PATH
from mock_server.contract.fastpath import _python_dollars, parse_json, plain
from mock_server.contract.formats import SCENARIO_FORMATS
from mock_server.contract.rules import Contract
from mock_server.contract.schema_check import SchemaCheck
from mock_server.scenarios.reading import _check as scenario_check
from mock_server.scenarios.reading import shipped_scenarios
from mock_server.scenarios.safe_yaml import read_yaml
from mock_server.server import MockServer
from tests.support.hypothesis_profiles import examples

# --- the checks: every shipped schema, in each form it takes -----------------------------------------


def _distinct_checks() -> list[tuple[str, SchemaCheck]]:
    """Each schema once per distinct form the settings give it, and the scenario loader's check."""
    found: dict[str, tuple[str, SchemaCheck]] = {}
    variants = [
        ("", Settings()),
        ("lenient", Settings(lenient=True)),
        ("2025-11", Settings(contract_revision="2025-11")),
        ("lenient,2025-11", Settings(lenient=True, contract_revision="2025-11")),
    ]
    for label, variant in variants:
        for name, check in Contract(variant)._checks.items():
            key = json.dumps(check.schema, sort_keys=True)
            found.setdefault(key, (f"{name}[{label}]" if label else name, check))
    loader = scenario_check()
    found["loader"] = ("scenario[loader]", loader)
    return list(found.values())


CHECKS = _distinct_checks()
IDS = [label for label, _ in CHECKS]


def _schema_name(label: str) -> str:
    return label.split("[", 1)[0]


def test_every_file_of_schemas_is_checked() -> None:
    from mock_server.contract.schemas import schema_dir

    names = {path.name.removesuffix(".schema.json") for path in schema_dir().glob("*.schema.json")}
    assert names == {_schema_name(label) for label, _ in CHECKS}
    assert any("lenient" in label for label in IDS) and any("2025-11" in label for label in IDS)


@pytest.mark.parametrize(("label", "check"), CHECKS, ids=IDS)
def test_every_shipped_schema_has_a_fast_path(label: str, check: SchemaCheck) -> None:
    assert check.fast is not None, f"{label}: jsonschema-rs does not take it; jsonschema checks every message"


# --- real messages, from the running mock --------------------------------------------------------------


def _call(server: MockServer, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
    url = server.url + path + ("?" + urlencode(query) if query else "")
    data = None if body is None else json.dumps(body).encode()
    headers = {**server.headers, "Content-Type": "application/json", "Accept": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@functools.cache
def real_messages() -> dict[str, list[Any]]:
    """Requests the mock took and responses it gave, by schema name (queries as the contract types
    them), and the shipped scenario documents."""
    found: dict[str, list[Any]] = defaultdict(list)

    def exchange(schema: str | None, method: str, path: str, body: Any = None, **query: Any) -> Any:
        status, answer = _call(server, method, path, body, **query)
        found["error" if status >= 400 else schema or "error"].append(answer)
        return answer

    with MockServer() as server:
        folders = ["/content/dam/22858", "/content/dam/products/alpha", "/content/dam/products/beta/docs"]
        ids = []
        for i, folder in enumerate(folders):
            start: dict[str, Any] = {"path": folder, "type": "ASSET_PROCESSING"}
            if i:
                start["excludedPaths"] = [f"{folder}/x"]
                start["filter"] = {"fileTypes": ["DITATOPIC", "DITAMAP"][:i], "startTime": 1, "endTime": 2}
            found["start.request"].append(start)
            ids.append(exchange("start.response", "POST", BASE_PATH, start)["processingId"])
        found["no-parameters.query"].append({})
        exchange("history.response", "GET", f"{BASE_PATH}/history")
        for seconds in (1, 5, 60, 600):
            server.advance(seconds)
            for pid in ids:
                found["job.query"].append({"processingId": pid})
                exchange("job", "GET", f"{BASE_PATH}/status", processingId=pid)
                found["logs.query"].append({"processingId": pid, "offset": 0, "limit": 5})
                exchange("logs.response", "GET", f"{BASE_PATH}/logs", processingId=pid, offset=0, limit=5)
            exchange("history.response", "GET", f"{BASE_PATH}/history")
        pid = exchange(
            "start.response", "POST", BASE_PATH, {"path": "/content/dam/demo", "type": "ASSET_PROCESSING"}
        )
        found["job-action.request"].append({"processingId": pid["processingId"]})
        found["job-action.query"].append({"processingId": pid["processingId"]})
        exchange("job", "POST", f"{BASE_PATH}/cancel", {"processingId": pid["processingId"]})
        exchange("job", "POST", f"{BASE_PATH}/resume", {"processingId": pid["processingId"]})
        exchange("download.response", "GET", f"{BASE_PATH}/logs/download", processingId=ids[0])
        exchange("system-status.response", "GET", SYSTEM_STATUS_PATH)
        exchange("history.response", "GET", f"{BASE_PATH}/history")
        exchange(None, "POST", BASE_PATH, {"path": "relative", "type": "NOPE", "extra": 1})  # a 400
        exchange(None, "GET", f"{BASE_PATH}/status", processingId="no-such-job")
        status_request = {"paths": ["/content/dam/22858", "/nowhere"], "excludedPaths": ["/content/dam/x"]}
        found["asset-status.request"].append(status_request)
        job_id = exchange("asset-status.response", "POST", ASSET_STATUS_PATH, status_request)["jobId"]
        found["asset-status.query"].append({"jobId": job_id})
        exchange("asset-status-job", "GET", ASSET_STATUS_PATH, jobId=job_id)
    for name, path in shipped_scenarios().items():
        document, _ = read_yaml(path.read_text(), name)
        found["scenario"].append(document)
    return dict(found)


def test_the_real_messages_cover_every_schema_and_pass_the_fast_path() -> None:
    messages = real_messages()
    assert {_schema_name(label) for label in IDS} <= set(messages), set(messages)
    for label, check in CHECKS:
        for message in messages[_schema_name(label)]:
            assert plain(message), (label, message)
            if "[" not in label:  # the default settings: the mock's own
                assert check.validator.is_valid(message), (label, message)
                assert check.passes(message), (label, message)  # settled by jsonschema-rs, no fallback
            else:
                assert check.passes(message) == check.validator.is_valid(message), (label, message)


# --- generated instances -------------------------------------------------------------------------------

EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 1.0, 0.5, -0.0, 1e16, 2**63, 10**400, -(10**400), math.nan, math.inf,
    "", "x", "/", "/content/dam", "200ms", "0ms", "1.5s", "2s\n", "2h", "2025-11-12", "2025-11-12T08:00:00Z",
    "1969-12-31", "2025-11-12\n", "a\nb", "a\n", "ASSET_PROCESSING", "SUCCESS", "é" * 300,
    [], [1], {}, {"": 1},
]  # fmt: skip
JSON = st.recursive(
    st.sampled_from(EDGES) | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
TYPOS = ["excludePaths", "processingID", "filetypes", "starttime", "Path", "type ", ""]


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
        if bend():  # a length at a bound, or just past it, or a final newline
            size = draw(st.sampled_from([max(0, low - 1), low, high, high + 1]))
            text = draw(st.text(st.characters(codec="utf-8"), min_size=size, max_size=size))
            return text + draw(st.sampled_from(["", "\n", "\n\n", "\r"]))
        if "pattern" in schema:
            matching = st.from_regex(str(schema["pattern"]), fullmatch=True)
            match = draw(matching.filter(lambda t: low <= len(t) < high))
            return match + draw(st.sampled_from(["", "", "", "\n"]))  # before a final newline, $ matches
        return draw(st.text(min_size=low, max_size=max(low, min(high, 40))))
    if kind in ("integer", "number"):
        bounds = [schema[k] for k in ("minimum", "maximum", "exclusiveMinimum") if k in schema]
        if bend():
            edges = [b + d for b in bounds for d in (-1, 0, 1)] + [math.nan, math.inf, 10**400, 1.5, True]
            edges += [float(b) for b in bounds]
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


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value``, the root first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*path, i))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated(draw: st.DrawFn, example: Any) -> Any:
    """``example`` bent by one to three mutations, each at a random place."""
    value = copy.deepcopy(example)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_places(value)))
        if not path:
            value = copy.deepcopy(draw(_mutant(value)))  # drawn values may be shared (EDGES)
            continue
        parent, key = _at(value, path[:-1]), path[-1]
        action = draw(st.sampled_from(["change", "drop", "rename", "extra"]))
        if action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            name = draw(st.sampled_from([*TYPOS, str(key).upper(), str(key)[:-1], f"{key}s"]))
            parent[name] = parent.pop(key)
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["unknown", *TYPOS]))] = copy.deepcopy(draw(JSON))
        elif action == "extra":
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = copy.deepcopy(draw(_mutant(parent[key])))
    return value


@st.composite
def _mutant(draw: st.DrawFn, value: Any) -> Any:
    """Another value of about the same kind, or of another."""
    options: list[Any] = [JSON, st.sampled_from(EDGES)]
    if isinstance(value, bool):
        options.append(st.just(int(value)))
    elif isinstance(value, int):
        as_float = float(value) if abs(value) < 2**1000 else 1.0
        options.append(st.sampled_from([as_float, value + 1, value - 1, -value - 1, str(value), 10**400]))
    elif isinstance(value, str):
        options.append(
            st.sampled_from(
                [value.lower(), value + "X", value + "\n", "", value[1:], " " + value, value * 40]
            )
        )
    elif isinstance(value, list):
        options.append(st.just([*value, *value]) | st.just(value[:-1]) | st.just({"0": value}))
    elif isinstance(value, dict):
        options.append(st.just(list(value.values())) | st.just({}))
    return draw(st.one_of(options))


def _instances(label: str, check: SchemaCheck) -> st.SearchStrategy[Any]:
    examples = real_messages().get(_schema_name(label), [])
    generated = near(check.schema, check.schema, check._documents)
    if not examples:
        return generated | JSON
    real = st.sampled_from(examples)
    return real.flatmap(mutated) | generated | real | JSON


def assert_agree(label: str, check: SchemaCheck, instance: Any) -> bool:
    """The three properties; answers jsonschema's verdict."""
    expected = check.validator.is_valid(instance)
    fast = check.fast
    assert fast is not None
    if plain(instance):
        try:
            answer = fast.is_valid(instance)
        except ValueError:  # a string jsonschema-rs cannot take (a lone surrogate): jsonschema judges
            answer = expected
        assert answer == expected, (label, "jsonschema-rs", answer, "jsonschema", expected, instance)
    if check.passes(instance):
        assert expected, (label, "passed the fast path, invalid to jsonschema", instance)
    assert (not check.violations(instance)) == expected, (label, instance)
    return expected


@pytest.mark.parametrize(("label", "check"), CHECKS, ids=IDS)
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(label: str, check: SchemaCheck, data: st.DataObject) -> None:
    assert_agree(label, check, data.draw(_instances(label, check)))


@pytest.mark.slow  # every example, whatever the profile: a tenth may miss a schema's valid or invalid side
def test_generated_instances_cover_both_answers() -> None:
    """The agreement test means something only if it meets valid and invalid instances alike, and
    instances that jsonschema-rs itself judges."""
    seen: dict[str, set[bool]] = defaultdict(set)
    judged: dict[str, set[bool]] = defaultdict(set)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def collect(data: st.DataObject) -> None:
        for label, check in CHECKS:
            if "lenient" in label:
                continue  # a lenient schema may take nearly anything
            instance = data.draw(_instances(label, check))
            valid = check.validator.is_valid(instance)
            seen[label].add(valid)
            if plain(instance):
                judged[label].add(valid)

    collect()
    assert {label: answers for label, answers in seen.items() if answers != {True, False}} == {}
    assert {label: answers for label, answers in judged.items() if answers != {True, False}} == {}


# --- the semantics, one by one -------------------------------------------------------------------------


class Word(enum.StrEnum):
    A = "A"


class Count(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "integer"}, 1, True),
        ({"type": "integer"}, 1.0, False),  # stricter than JSON Schema, as the contract is
        ({"type": "integer"}, -0.0, False),
        ({"type": "integer"}, 1e16, False),
        ({"type": "integer"}, True, False),
        ({"type": "integer"}, 10**400, True),
        ({"type": "integer", "maximum": 5}, 10**400, False),
        ({"type": "integer", "minimum": 0}, -(10**400), False),
        (
            {"type": "integer"},
            Count.ONE,
            True,
        ),  # an int subclass: jsonschema-rs refuses it, jsonschema judges
        ({"type": "number"}, 10**400, True),  # an int too large for a float is still a number
        ({"type": "number"}, 1.0, True),
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
        ({"enum": ["A"]}, Word.A, True),
        ({"enum": []}, 1, False),
        ({"const": [1, {"a": False}]}, [1, {"a": False}], True),
        ({"const": [1, {"a": False}]}, [1, {"a": 0}], False),
        ({"type": ["string", "null"]}, None, True),
        ({"type": "array"}, (1, 2), False),  # a tuple is no JSON array to jsonschema
        ({"minLength": 2}, "é", False),
        ({"maxLength": 1}, "😀", True),  # one code point
        (
            {"maxLength": 1},
            "\ud800",
            True,
        ),  # a lone surrogate is one code point; jsonschema-rs cannot take it
        ({"pattern": "b"}, "abc", True),  # search, not match
        ({"pattern": "^b"}, "abc", False),
        ({"pattern": "^[^\\n\\r]*$"}, "a\n", True),  # Python's $ matches before a final newline
        ({"pattern": "^[^\\n\\r]*$"}, "a\n\n", False),
        ({"pattern": "^[^\\n\\r]*$"}, "a\nb", False),
        ({"pattern": "^a$|^b"}, "a\n", True),
        ({"pattern": "^a$|^b"}, "ba", True),
        ({"pattern": "^a[$]"}, "a$", True),
        ({"pattern": "^a\\$"}, "a$", True),
        ({"pattern": "^a\\$"}, "a", False),
        ({"pattern": "^[]$]$"}, "$\n", True),
        ({"required": ["a"]}, [], True),
        ({"required": ["a"]}, {"b": 1}, False),
        (
            {"required": ["1"]},
            {1: 2},
            False,
        ),  # a key that is no string: jsonschema-rs refuses, jsonschema judges
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False),
        ({"properties": {"pattern": {"type": "string"}}}, {"pattern": "$"}, True),  # a field named pattern
        ({"additionalProperties": {"type": "integer"}}, {"a": 1, "b": "x"}, False),
        ({"propertyNames": {"maxLength": 2}}, {"abc": 1}, False),
        ({"minProperties": 1}, {}, False),
        ({"items": {"type": "integer"}, "maxItems": 2}, [1, 2], True),
        ({"items": {"type": "integer"}}, [1, "2"], False),
        ({"items": False}, [], True),
        ({"items": False}, [1], False),
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3, False),  # both match: not exactly one
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, -3, True),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 2.0, True),  # 2.0 is a number only, here
        ({"allOf": [{"type": "integer"}, {"minimum": 0}]}, -3, False),
        ({"not": {"type": "null"}}, None, False),
        ({"format": "positive-duration"}, 0, True),  # a format nobody handed a function for is not checked
        ({"x-expected": "ignored", "title": "t", "unknownKeyword": 1}, 1, True),
    ],
)
def test_semantics_of_the_contract(schema: dict[str, Any], instance: Any, valid: bool) -> None:
    check = SchemaCheck("t", schema)
    assert check.validator.is_valid(instance) is valid
    assert (not check.violations(instance)) is valid
    if check.passes(instance):
        assert valid
    fast = check.fast
    assert fast is not None
    if plain(instance):
        with contextlib.suppress(ValueError):  # a lone surrogate, a key that is no string: it cannot take it
            assert fast.is_valid(instance) is valid


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"format": "positive-duration"}, 0, False),  # a format applies to numbers too
        ({"format": "positive-duration"}, 0.0004, False),  # rounds to 0 ms
        ({"format": "positive-duration"}, 0.2, True),
        ({"format": "positive-duration"}, "0ms", False),
        ({"format": "positive-duration"}, "1ms", True),
        ({"format": "positive-duration"}, True, True),  # not a type the format speaks of
        ({"format": "duration"}, "soon", False),
        ({"format": "duration"}, "2s\n", True),  # read as duration_ms reads it
        ({"format": "duration"}, 1e13, False),
        ({"format": "timestamp"}, "2025-11-12", True),
        ({"format": "timestamp"}, "1969-12-31", False),
        ({"format": "timestamp"}, "2025-13-45", False),
        ({"format": "timestamp"}, -5, True),
        ({"format": "unknown"}, 3, True),
    ],
)
def test_formats_are_the_functions_handed_over(schema: dict[str, Any], instance: Any, valid: bool) -> None:
    check = SchemaCheck("t", schema, formats=SCENARIO_FORMATS)
    assert check.validator.is_valid(instance) is valid
    assert check.fast is not None and check.fast.is_valid(instance) is valid
    assert (not check.violations(instance)) is valid
    assert not SchemaCheck("t", schema).violations(instance)  # nothing is registered by import


def test_a_scenario_value_past_a_format_is_refused_by_both() -> None:
    check = scenario_check()
    document: dict[str, Any] = {"description": "x", "settings": {"per_asset": 0}}
    assert not check.passes(document)
    assert [v.where for v in check.violations(document)] == ["body:/settings/per_asset"]
    document["settings"]["per_asset"] = "200ms"
    assert check.passes(document)


def test_an_integral_float_goes_to_jsonschema_when_the_parser_says_so() -> None:
    check = Contract(Settings())._checks["start.request"]
    text = '{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"startTime": 1.0}}'
    body, integral_floats = parse_json(text)
    assert integral_floats is True
    assert check.fast is not None and check.fast.is_valid(body)  # JSON Schema takes 1.0 for an integer
    assert not check.passes(body, integral_floats)
    (violation,) = check.violations(body, integral_floats)
    wanted = "epoch milliseconds (an integer >= 0), such as 1758876933000"  # worded as before the fast path
    assert violation.message == f"`filter.startTime`: expected {wanted}, got 1.0"
    assert not check.passes(body)  # not told: it looks
    assert check.violations(body) == check.violations(body, integral_floats)


@pytest.mark.parametrize(
    ("text", "noticed"),
    [
        ("1", False),
        ("1.5", False),
        ('{"a": [1, 2, "1.0"]}', False),
        ("1e-3", False),
        ("1.0", True),
        ("-0.0", True),
        ("1e3", True),
        ("[0.5, 2E2]", True),
        ("1e999", True),  # inf
        ("123456789012345678901234567890.5", True),  # a float that large holds no fraction
    ],
)
def test_parse_json_notices_integral_floats(text: str, noticed: bool) -> None:
    value, integral_floats = parse_json(text)
    assert value == json.loads(text) or value != value
    assert integral_floats is noticed


@settings(max_examples=examples(300), deadline=None)
@given(value=JSON)
def test_what_parse_json_does_not_notice_jsonschema_rs_sees_exactly(value: Any) -> None:
    text = json.dumps(value)  # NaN and Infinity as Python writes them
    parsed, integral_floats = parse_json(text)
    if not integral_floats and "NaN" not in text and "Infinity" not in text:
        assert plain(parsed)


PATTERNS = ["^a$", "^[^\\n\\r]*$", "a$|b", "^[0-9]+(ms|s)$", "x$y", "^$", "[$]", "\\$$", "^[]a]$", "^[^]]$"]


@settings(max_examples=examples(300), deadline=None)
@given(pattern=st.sampled_from(PATTERNS), text=st.text(alphabet="ab01ms$]\n\r", max_size=5))
def test_patterns_mean_for_jsonschema_rs_what_re_search_means(pattern: str, text: str) -> None:
    translated = jsonschema_rs.validator_for({"pattern": _python_dollars(pattern)})
    assert translated.is_valid(text) is (re.search(pattern, text) is not None), (pattern, text)


def test_a_remote_ref_leaves_no_fast_path_and_is_never_fetched() -> None:
    check = SchemaCheck("remote", {"$ref": "http://203.0.113.1/schema.json"})
    assert check.fast is None
