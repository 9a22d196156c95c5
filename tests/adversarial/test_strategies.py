"""The Hypothesis strategies: jsonschema is the oracle, and the live mock agrees with it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mock_server import MockServer
from mock_server.api.operations import OPERATION_NAMES, operation_named
from mock_server.contract.schemas import load_schemas
from mock_server.strategies import Request, from_schema, invalid_request, valid_request
from tests.support.hypothesis_profiles import examples

SCHEMAS = load_schemas()
OPERATIONS = list(OPERATION_NAMES)
INTEGERS = {"offset", "limit", "tail"}


def violations(request: Request) -> list[str]:
    endpoint = operation_named(request.operation)
    if endpoint.body:
        instance: Any = request.body
        schema = SCHEMAS[endpoint.body]
    else:
        instance = {
            k: int(v) if k in INTEGERS and v.lstrip("-").isdigit() else v for k, v in request.query.items()
        }
        schema = SCHEMAS[endpoint.query]
    return [e.message for e in Draft202012Validator(schema).iter_errors(instance)]


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=examples(60), deadline=None)
@given(data=st.data())
def test_valid_requests_keep_the_schemas(operation: str, data: st.DataObject) -> None:
    assert violations(data.draw(valid_request(operation))) == []


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if o not in ("history", "system-status")])
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_invalid_requests_break_them(operation: str, data: st.DataObject) -> None:
    assert violations(data.draw(invalid_request(operation))) != []


@settings(max_examples=examples(100), deadline=None)
@given(from_schema(SCHEMAS["job"]))
def test_from_schema_follows_refs_and_nested_objects(job: dict[str, Any]) -> None:
    Draft202012Validator(SCHEMAS["job"]).validate(job)


def test_an_unknown_operation_is_named() -> None:
    with pytest.raises(ValueError, match="no operation 'stat'; the operations are start, status"):
        valid_request("stat")


# --- against the live mock ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer("contract-fuzzing") as running:
        yield running


def send(server: MockServer, request: Request) -> tuple[int, Any]:
    url = server.url + request.path + ("?" + urllib.parse.urlencode(request.query) if request.query else "")
    data = json.dumps(request.body).encode() if request.body is not None else None
    headers = {**server.headers, **({"Content-Type": "application/json"} if data is not None else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=request.method)) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@settings(
    max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_mock_accepts_every_valid_request_and_refuses_every_invalid_one(
    server: MockServer, data: st.DataObject
) -> None:
    server.reset()
    job = send(server, Request("start", "POST", "/bin/guides/v1/assets/process", {},
                                {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}))[1]  # fmt: skip
    processing_id = json.loads(job)["processingId"]
    operation = data.draw(st.sampled_from(OPERATIONS))
    good = data.draw(valid_request(operation, processing_ids=[processing_id], paths=["/content/dam/demo"]))
    status, _ = send(server, good)
    assert status < 500
    assert server.violations == []
    if operation in ("history", "system-status"):
        return
    bad = data.draw(invalid_request(operation))
    status, body = send(server, bad)
    assert status in (400, 404), body  # 404: only processingId missing, which this scenario answers so
    assert body["violations"]
    assert len(server.violations) == 1


def test_an_operation_that_takes_nothing_has_no_invalid_request() -> None:
    with pytest.raises(ValueError, match="history takes no parameters and no body"):
        invalid_request("history")


def test_without_hypothesis_the_import_error_names_the_extra() -> None:
    """``sys.modules["hypothesis"] = None`` makes ``import hypothesis`` fail, as if not installed."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import mock_server.strategies\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install" in result.stdout and "aem-guides-mock[strategies]" in result.stdout, result


def test_the_strategies_extra_and_the_test_extra_both_bring_hypothesis() -> None:
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    for extra in ("strategies", "test"):
        assert any(d.startswith("hypothesis") for d in extras[extra]), extra


def test_schemas_are_the_shipped_ones_by_name() -> None:
    from mock_server.strategies import schemas

    assert schemas() == SCHEMAS and schemas() is not schemas()
