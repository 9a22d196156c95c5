"""The OpenAPI document: generated from schemas/, served, and in step with what the mock checks."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mock_server import Settings
from mock_server.api.openapi import openapi_document
from mock_server.api.operations import PATHS, RESTART_PATH, Api
from mock_server.contract.rules import Contract
from mock_server.contract.schemas import load_schemas
from tests.support.client import ApiClient, MakeApi
from tests.support.hypothesis_profiles import examples


def document(**settings: Any) -> dict[str, Any]:
    from mock_server.engine import JobEngine, ManualClock, default_repository

    engine = JobEngine(default_repository(), Settings(**settings), ManualClock())
    return openapi_document(Api(engine, Settings(**settings)))


def test_every_path_and_operation_is_documented() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == set(PATHS) - {RESTART_PATH}
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert ids == {"start", "status", "logs", "download", "cancel", "resume", "history", "system-status",
                   "asset-status-start", "asset-status"}  # fmt: skip


def test_the_asset_status_job_links_to_its_poll() -> None:
    """§3.40: a stateful tester follows the jobId of the POST to the GET."""
    post = document()["paths"]["/bin/guides/v1/assets/status"]["post"]
    assert post["responses"]["200"]["links"] == {
        "asset-status": {"operationId": "asset-status", "parameters": {"jobId": "$response.body#/jobId"}}
    }


def test_the_restart_endpoint_is_documented_when_served() -> None:
    doc = document(restart_endpoint=True)
    restart = doc["paths"][RESTART_PATH]["post"]
    assert restart["operationId"] == "restart"
    assert restart["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/start-response"
    }
    links = doc["paths"]["/bin/guides/v1/assets/process"]["post"]["responses"]["200"]["links"]
    assert "restart" not in links  # a job just started is never SUCCESS: restart would only refuse it
    assert links["cancel"]["requestBody"] == {"processingId": "$response.body#/processingId"}


def test_the_component_schemas_are_the_shipped_ones() -> None:
    doc = document()
    shipped = load_schemas()
    component = doc["components"]["schemas"]["logs-response"]
    assert component["properties"] == shipped["logs.response"]["properties"]
    history = doc["components"]["schemas"]["history-response"]
    assert history["properties"]["executionHistory"]["items"] == {"$ref": "#/components/schemas/job"}
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_parameters_come_from_the_query_schemas() -> None:
    logs = document()["paths"]["/bin/guides/v1/assets/process/logs"]["get"]
    by_name = {p["name"]: p for p in logs["parameters"]}
    assert set(by_name) == {"processingId", "offset", "limit", "tail"}
    assert by_name["processingId"]["required"] is True and by_name["tail"]["required"] is False
    assert by_name["offset"]["schema"]["maximum"] == 2147483647


def test_the_start_response_links_to_the_operations_on_a_job() -> None:
    start = document()["paths"]["/bin/guides/v1/assets/process"]["post"]
    links = start["responses"]["200"]["links"]
    assert set(links) == {"status", "logs", "download", "cancel", "resume"}
    assert links["cancel"]["requestBody"] == {"processingId": "$response.body#/processingId"}


def test_the_document_follows_the_settings() -> None:
    renamed = {"WAITING": "QUEUED", "IN_PROGRESS": "IN_PROGRESS", "SUCCESS": "SUCCESS",
               "FAILED": "FAILED", "CANCELLED": "CANCELLED"}  # fmt: skip
    from mock_server.contract.rules import Contract

    settings = Settings(status_names=renamed)
    from mock_server.engine import JobEngine, ManualClock, default_repository

    doc = openapi_document(
        Api(JobEngine(default_repository(), settings, ManualClock()), settings), Contract(settings).schemas
    )
    assert "QUEUED" in doc["components"]["schemas"]["job"]["properties"]["status"]["enum"]


async def test_it_is_served_without_credentials(api: ApiClient, make_api: MakeApi) -> None:
    async with api.http.get("/openapi.json") as response:
        assert response.status == 200
        doc = await response.json()
    assert doc["info"]["title"].startswith("AEM Guides bulk asset processing API")


def test_sling_html_errors_are_documented_as_html() -> None:
    status = document(error_format="sling-html")["paths"]["/bin/guides/v1/assets/process/status"]["get"]
    assert status["responses"]["400"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert "application/json" in status["responses"]["200"]["content"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)
times = json_values | st.integers(-(2**63), 2**63 - 1).map(lambda n: str(n) if n % 2 else float(n))
starts = st.fixed_dictionaries(
    {},
    optional={
        "path": st.none() | st.sampled_from(["/content/dam", "content"]) | json_values,
        "type": st.none() | st.just("ASSET_PROCESSING"),
        "excludedPaths": st.none() | st.just(["/a"]) | json_values,
        "filter": json_values
        | st.fixed_dictionaries(
            {}, optional={"startTime": times, "endTime": times, "fileTypes": st.none() | st.just(["DITAMAP"])}
        ),
    },
)


@functools.cache
def start_checks() -> tuple[Draft202012Validator, Contract]:
    """Built once: the document's start-request schema and the mock's contract."""
    return Draft202012Validator(document()["components"]["schemas"]["start-request"]), Contract(Settings())


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(starts)
def test_the_documented_request_bodies_are_what_the_mock_serves(body: dict[str, Any]) -> None:
    """/openapi.json's request schemas take what an author's reader takes (null for an optional
    field, a digit string for an integer), so a tester's negative data is what the mock refuses."""
    validator, contract = start_checks()
    _, errors, _ = contract.read_body("start.request", body)
    assert validator.is_valid(body) == (not errors), errors
