"""The shipped schemas and the contract checks built from them."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from mock_server import Settings
from mock_server.api.payloads import job_payload
from mock_server.contract.rules import Contract
from mock_server.contract.schemas import load_schemas, schema_dir
from mock_server.contract.wording import describe
from mock_server.core.clock import ManualClock
from mock_server.core.default_dam import default_repository
from mock_server.core.errors import Violations
from mock_server.core.jobs import JobEngine, StartRequest


def test_every_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    files = sorted(schema_dir().glob("*.schema.json"))
    assert len(files) >= 13
    for path in files:
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].startswith("urn:aem-guides-mock:schema:")


def test_schema_refs_resolve_locally() -> None:
    contract = Contract(Settings())
    job = {
        "processingId": "x",
        "path": "/",
        "excludedPaths": [],
        "status": "NOT_A_STATUS",
    }
    (violation, *_) = contract.check_response("history.response", b"x", {"executionHistory": [job]})
    assert violation.where.startswith("body:/executionHistory/0")


@pytest.mark.parametrize("bad", [1.0, -0.0, True])
def test_integers_stay_strict_inside_a_referenced_document(bad: object) -> None:
    # job.schema.json names its dialect; jsonschema validated a `$ref` to it with the plain Draft
    # 2020-12 validator, which takes 1.0 for an integer. jsonschema-rs takes it too: the body, parsed,
    # tells of its integral floats, and jsonschema, strict, judges one that holds any.
    engine = JobEngine(default_repository(), Settings(), ManualClock())
    job = job_payload(engine.start(StartRequest("/content/dam/22858"), "admin"), Settings())
    contract = Contract(Settings())
    assert not contract.check_response(
        "history.response", json.dumps({"executionHistory": [job]}).encode(), None
    )
    job["triggeredCount"] = bad
    body = json.dumps({"executionHistory": [job]}).encode()
    (violation,) = contract.check_response("history.response", body, None)
    assert violation.where == "body:/executionHistory/0/triggeredCount"
    assert contract._checks["history.response"].validator.is_valid({"executionHistory": [job]}) is False


def test_query_values_are_typed_before_checking() -> None:
    contract = Contract(Settings())
    items = [("processingId", "a"), ("offset", "12")]
    params, violations, warnings = contract.check_query("logs.query", "q1", lambda: items)
    assert params == {"processingId": "a", "offset": 12}
    assert not violations and not warnings


def test_a_repeated_query_parameter_counts_once_with_a_warning() -> None:
    """A servlet's getParameter takes the first value: served, and warned about."""
    contract = Contract(Settings())
    items = [("processingId", "a"), ("processingId", "b"), ("processingId", "c")]
    params, violations, warnings = contract.check_query("logs.query", "q2", lambda: items)
    assert params == {"processingId": "a"} and not violations
    found = [(v.where, v.severity, v.keyword) for v in warnings]
    assert found == [("query:processingId", "warning", "repeated")]
    assert "more than once" in warnings[0].message


def test_an_unknown_query_parameter_is_left_out_with_a_warning() -> None:
    contract = Contract(Settings())
    items = [("processingId", "a"), ("ofset", "3"), ("_", "1761291362776")]
    params, violations, warnings = contract.check_query("logs.query", "q3", lambda: items)
    assert params == {"processingId": "a"} and not violations
    (warning,) = warnings
    assert warning.severity == "warning" and "did you mean `offset`?" in warning.message
    _, violations, warnings = contract.check_query("logs.query", "q4", lambda: [("offset", "x")])
    assert violations and not warnings  # what an author refuses stays an error


def test_response_checks_are_cached_per_distinct_body() -> None:
    contract = Contract(Settings())
    calls = 0
    check = contract._checks["start.response"]
    original = check.violations

    def counting(instance: object, integral_floats: bool | None = None) -> Violations:
        nonlocal calls
        calls += 1
        return original(instance, integral_floats)

    check.violations = counting  # type: ignore[method-assign]
    for _ in range(3):
        assert not contract.check_response("start.response", b'{"processingId":"a"}', {"processingId": "a"})
    contract.check_response("start.response", b'{"processingId":"b"}', {"processingId": "b"})
    assert calls == 2


def test_a_response_violation_is_reported() -> None:
    contract = Contract(Settings())
    violations = contract.check_response("logs.response", b"{}", {"lines": ["a\nb"], "offset": 0})
    assert {v.where for v in violations} == {"body:/lines/0", "body:/limit", "body:/hasMore"}


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "integer", "minimum": 0, "maximum": 9}, "an integer from 0 to 9"),
        ({"type": "array", "items": {"type": "string"}}, "a list of strings"),
        ({"enum": ["A", "B"]}, 'one of "A", "B"'),
        ({"oneOf": [{"type": "string"}, {"type": "boolean"}]}, "a string or a boolean"),
        ({"x-expected": "a path"}, "a path"),
    ],
)
def test_describe_words_a_schema(schema: dict[str, object], words: str) -> None:
    assert describe(schema) == words


def test_load_schemas_checks_each_file(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "bad.schema.json").write_text('{"type": 5}')
    with pytest.raises(Exception, match="is not valid"):
        load_schemas(folder)


def test_a_remote_ref_is_never_fetched() -> None:
    import time

    from referencing.exceptions import Unresolvable

    from mock_server.contract.schema_check import SchemaCheck

    check = SchemaCheck("remote", {"$ref": "http://203.0.113.1/schema.json"})
    began = time.monotonic()
    with pytest.raises(Unresolvable):
        check.violations({})
    assert time.monotonic() - began < 1  # refused at once: no network was tried
