"""The table of operations: everything that lists operations walks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mock_server import ScenarioError, Settings
from mock_server.api.operations import OPERATION_NAMES, OPERATIONS, PATHS, Api, operation_named
from mock_server.contract.schemas import load_schemas
from mock_server.scenarios.reading import parse_scenario
from tests.support.client import ApiClient, MakeApi

ROOT = Path(__file__).resolve().parents[2]


def test_every_row_names_schemas_that_exist_and_a_handler_of_the_api() -> None:
    schemas = load_schemas()
    for op in OPERATIONS:
        assert {op.query, op.response} <= set(schemas), op.name
        assert op.body is None or op.body in schemas, op.name
        known = {200, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 500}
        assert 200 in op.statuses and op.statuses <= known
        assert getattr(Api, op.handler.__name__) is op.handler, op.name
        assert op.id_in_body == (op.body is not None and "processingId" in schemas[op.body]["properties"])
    assert len(set(OPERATION_NAMES)) == len(OPERATIONS)
    assert len(OPERATIONS) == len({(op.path, op.method) for op in OPERATIONS})  # one row per method and path
    assert len(PATHS) == len(set(PATHS))


def test_a_name_that_is_no_operation_is_refused_with_the_names_there_are() -> None:
    assert operation_named("logs").path.endswith("/logs")
    with pytest.raises(ValueError, match="no operation 'log'; the operations are start, status, logs"):
        operation_named("log")


def test_restart_is_served_only_when_switched_on() -> None:
    from mock_server.engine import JobEngine, ManualClock, default_repository

    def names(settings: Settings) -> list[str]:
        engine = JobEngine(default_repository(), settings, ManualClock())
        return [op.name for op in Api(engine, settings).operations]

    assert "restart" not in names(Settings())
    assert names(Settings(restart_endpoint=True)) == list(OPERATION_NAMES)


def test_the_shipped_scenario_schema_names_the_operations_of_the_table() -> None:
    """Editors validate scenario files against the shipped file: it must agree with the table."""
    schema = json.loads((ROOT / "schemas/scenario.schema.json").read_text(encoding="utf-8"))
    endpoint = schema["$defs"]["fault"]["properties"]["endpoint"]
    names = [*OPERATION_NAMES, "*"]
    assert endpoint["oneOf"][0]["enum"] == names
    assert endpoint["oneOf"][1]["items"]["enum"] == names


def test_a_fault_on_an_operation_that_is_no_row_is_refused_naming_the_rows() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("description: d\nfaults:\n  - endpoint: statuss\n    status: 500\n", "<test>")
    assert "system-status" in str(caught.value) and "statuss" in str(caught.value)


def test_a_fault_that_targets_an_unserved_row_is_warned_about() -> None:
    from mock_server.engine import default_repository
    from mock_server.scenarios.warnings import scenario_warnings

    text = "description: d\nfaults:\n  - endpoint: [restart, status]\n    status: 500\n"
    scenario = parse_scenario(text, "<test>")
    (warning,) = scenario_warnings(scenario, Settings(), default_repository())
    assert "never fires on restart: restart is not served (set restart_endpoint: true)" in warning
    assert scenario_warnings(scenario, Settings(restart_endpoint=True), default_repository()) == []


async def test_the_openapi_document_lists_each_served_row_with_its_statuses(api: ApiClient) -> None:
    async with api.http.get("/openapi.json") as response:
        document: dict[str, Any] = await response.json()
    listed = {
        (path, method.upper()): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    for op in OPERATIONS:
        if op.name == "restart":
            assert (op.path, op.method) not in listed
            continue
        entry = listed[(op.path, op.method)]
        assert entry["operationId"] == op.name and entry["summary"] == op.summary
        assert {int(code) for code in entry["responses"]} == set(op.statuses)
        assert list(entry["responses"]["200"]["content"]) == list(op.media_types)
        assert ("links" in entry["responses"]["200"]) == (op.starts_job or op.name == "asset-status-start")


async def test_the_admin_api_shows_the_table_and_counts_calls(make_api: MakeApi) -> None:
    api = await make_api(Settings(restart_endpoint=True))
    await api.start()
    await api.history()
    await api.history()
    status, body = await api.admin("GET", "/operations")
    assert status == 200
    rows = {row["name"]: row for row in body["operations"]}
    assert list(rows) == list(OPERATION_NAMES)
    assert rows["history"]["calls"] == 2 and rows["start"]["calls"] == 1 and rows["logs"]["calls"] == 0
    assert rows["restart"]["served"] is True
    assert rows["download"]["mediaTypes"] == ["application/zip", "application/json"]
    assert rows["cancel"]["bodySchema"] == "job-action.request" and 429 not in rows["cancel"]["statuses"]


async def test_the_journal_filters_by_operation_and_refuses_an_unknown_one(api: ApiClient) -> None:
    await api.start()
    await api.history()
    await api.get("/bin/guides/v1/assets/process/status")  # a violation: no processingId
    status, body = await api.admin("GET", "/journal?operation=history")
    assert status == 200 and [e["operation"] for e in body["exchanges"]] == ["history"]
    status, body = await api.admin("GET", "/violations?operation=status")
    assert [e["operation"] for e in body["exchanges"]] == ["status"]
    assert (await api.admin("GET", "/violations?operation=history"))[1]["exchanges"] == []
    status, body = await api.admin("GET", "/journal?operation=histroy")
    assert status == 400 and "the operations are start, status" in body["message"]
