"""Black-box: the companion API (§3.40) over a socket, its answers against its schemas, bad input."""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator

from mock_server import Settings
from mock_server.api.operations import ASSET_STATUS_PATH
from mock_server.contract.schemas import load_schemas
from tests.support.client import ApiClient, MakeApi

FOLDER = "/content/dam/status-fetch1"
#: The page's request example, as read (§3.40): its one folder excluded in the relative form it writes.
PAGE_REQUEST = {
    "paths": [FOLDER, "/content/dam/status-fetch2"],
    "excludedPaths": ["content/dam/status-fetch1/excluded-folder"],
}


def check(schema: str, body: Any) -> None:
    errors = [e.message for e in Draft202012Validator(load_schemas()[schema]).iter_errors(body)]
    assert errors == [], errors


async def status_job(api: ApiClient, body: Any = None) -> str:
    status, answer = await api.post(ASSET_STATUS_PATH, PAGE_REQUEST if body is None else body)
    assert status == 200, answer
    check("asset-status.response", answer)
    assert answer["status"] == "WAITING"
    return str(answer["jobId"])


async def poll(api: ApiClient, job_id: str) -> list[dict[str, Any]]:
    status, answer = await api.get(ASSET_STATUS_PATH, jobId=job_id)
    assert status == 200, answer
    check("asset-status-job", answer)
    assert answer["jobId"] == job_id and answer["status"] == "SUCCESS"
    return list(answer["assets"])


async def test_the_page_example_lists_the_folder_assets_and_the_missing_folder(api: ApiClient) -> None:
    assets = await poll(api, await status_job(api))
    assert [a["path"] for a in assets] == [
        f"{FOLDER}/intro.dita",
        f"{FOLDER}/concepts.dita",
        f"{FOLDER}/status.ditamap",
        f"{FOLDER}/diagram.png",
        "/content/dam/status-fetch2",
    ]
    assert [a["exists"] for a in assets] == [True] * 4 + [False]
    assert {a["status"] for a in assets} == {"PENDING"}


async def test_the_statuses_follow_a_bulk_job_on_the_mock_clock(api: ApiClient) -> None:
    job_id = await status_job(api)
    await api.start(FOLDER, excludedPaths=PAGE_REQUEST["excludedPaths"])
    await api.advance(0.1 + 0.2 * 2)  # counted, two assets done
    assert [a["status"] for a in await poll(api, job_id)][:4] == [
        "SUCCESS",
        "SUCCESS",
        "PROCESSING",
        "PROCESSING",
    ]
    await api.advance(60)
    first = await poll(api, job_id)
    assert [a["status"] for a in first][:4] == ["SUCCESS"] * 4
    assert first == await poll(api, await status_job(api))  # uuids stable across status jobs


async def load(api: ApiClient, yaml_text: str) -> None:
    headers = {"Content-Type": "application/yaml"}
    status, body = await api.admin("PUT", "/scenario", data="description: t\n" + yaml_text, headers=headers)
    assert status == 200, body


async def test_a_scenario_that_fails_a_bulk_job_shows_the_asset_it_failed_on(api: ApiClient) -> None:
    await load(api, 'jobs: [{match: {path: "/**"}, processing: {fail_at: 3, comment: broke}}]\n')
    pid = await api.start(FOLDER)
    await api.advance(60)
    assert (await api.status(pid))["status"] == "FAILED"
    statuses = [a["status"] for a in await poll(api, await status_job(api, {"paths": FOLDER}))]
    assert statuses[:4] == ["SUCCESS", "SUCCESS", "FAILURE", "PENDING"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "body:/paths"),
        ({"paths": []}, "body:/paths"),
        ({"paths": None}, "body:/paths"),
        ({"paths": 5}, "body:/paths"),
        ({"paths": {"a": "/content/dam"}}, "body:/paths"),
        ({"paths": ["/content/dam", 1]}, "body:/paths/1"),
        ({"paths": [""]}, "body:/paths/0"),
        ({"paths": ["/content/dam"] * 1001}, "body:/paths"),
        ({"paths": ["/content/dam"], "excludedPaths": 3}, "body:/excludedPaths"),
        ({"path": 5}, "body:/path"),
        ({"path": None}, "body:/paths"),
        ({"path": [""]}, "body:/path/0"),
        ([FOLDER], "body:/"),
    ],
    ids=["missing", "empty", "null", "number", "object", "item", "empty-item", "too-many", "excluded",
         "singular-number", "singular-null", "singular-empty-item", "not-an-object"],
)  # fmt: skip
async def test_bad_requests_are_a_json_400_that_names_the_field(
    api: ApiClient, body: Any, where: str
) -> None:
    status, answer = await api.post(ASSET_STATUS_PATH, body)
    assert status == 400, answer
    check("error", answer)
    assert where in [v["where"] for v in answer["violations"]], answer
    field = where.rpartition("/")[2] or "paths"  # a body that is not an object: it lists the fields
    assert field in answer["message"], answer["message"]


@pytest.mark.parametrize("path", [FOLDER, [FOLDER]], ids=["string", "list"])
async def test_the_tables_path_is_taken_as_paths_with_a_warning(api: ApiClient, path: Any) -> None:
    """§3.40: the parameter table names `path`, the example sends `paths`: an author may take either."""
    expected = await poll(api, await status_job(api, {"paths": [FOLDER]}))
    assert api.mock.journal.client_warnings() == []
    assert await poll(api, await status_job(api, {"path": path})) == expected
    (exchange,) = api.mock.journal.client_warnings()
    (warning,) = exchange.warnings
    assert (warning.where, warning.keyword, warning.severity) == ("body:/path", "undocumented", "warning")
    assert "example sends `paths`" in warning.message
    assert api.mock.journal.client_violations() == []


async def test_path_beside_paths_takes_the_paths_of_both_with_a_warning(api: ApiClient) -> None:
    both = await poll(api, await status_job(api, {"paths": "/content/dam/status-fetch2", "path": FOLDER}))
    assert [a["path"] for a in both] == ["/content/dam/status-fetch2", *(a["path"] for a in await poll(
        api, await status_job(api, {"paths": FOLDER})))]  # fmt: skip
    (exchange,) = api.mock.journal.client_warnings()
    assert "the paths of both" in exchange.warnings[0].message


@pytest.mark.parametrize(
    "body", [{}, {"excludedPaths": [FOLDER]}, {"path": None}], ids=["empty", "excluded", "null"]
)
async def test_neither_path_nor_paths_is_a_400_that_names_paths_and_its_form(
    api: ApiClient, body: Any
) -> None:
    status, answer = await api.post(ASSET_STATUS_PATH, body)
    assert status == 400, answer
    (violation,) = answer["violations"]
    assert (
        violation["where"] == "body:/paths"
        and "`paths` is required: give a list of 1 to 1000" in (violation["message"])
    ), violation


async def test_a_null_paths_is_refused_as_null_not_read_as_absent(api: ApiClient) -> None:
    status, answer = await api.post(ASSET_STATUS_PATH, {"paths": None})
    assert status == 400 and "got null" in answer["violations"][0]["message"], answer
    assert api.mock.journal.client_warnings() == []


async def test_too_many_paths_says_the_limit(api: ApiClient) -> None:
    _, answer = await api.post(ASSET_STATUS_PATH, {"paths": ["/content/dam"] * 1001})
    assert "1000" in answer["message"]


async def test_a_body_that_is_not_json_is_a_400(api: ApiClient) -> None:
    headers = {**api.headers, "Content-Type": "application/json"}
    async with api.http.post(ASSET_STATUS_PATH, data=b'{"paths": [,]}', headers=headers) as response:
        assert response.status == 400 and response.content_type == "application/json"


@pytest.mark.parametrize(("unknown_id_status"), [400, 404])
async def test_an_unknown_job_id_names_the_jobId(
    make_api: MakeApi, unknown_id_status: Literal[400, 404]
) -> None:
    api = await make_api(Settings(unknown_id_status=unknown_id_status))
    status, answer = await api.get(ASSET_STATUS_PATH, jobId="no-such-job")
    assert status == unknown_id_status
    check("error", answer)
    [violation] = answer["violations"]
    assert violation["where"] == "query:jobId" and violation["got"] == "no-such-job"
    assert "jobId" in answer["message"] and "POST /bin/guides/v1/assets/status" in answer["message"]


async def test_a_missing_job_id_is_a_400(api: ApiClient) -> None:
    status, answer = await api.get(ASSET_STATUS_PATH)
    assert status == 400 and answer["violations"][0]["where"] == "query:jobId"


async def test_a_wrong_method_is_a_405_with_allow(api: ApiClient) -> None:
    async with api.http.delete(ASSET_STATUS_PATH, headers=api.headers) as response:
        assert response.status == 405 and response.headers["Allow"] == "GET, POST"
        assert "GET or POST" in (await response.json())["message"]


async def test_no_credentials_is_a_401_like_the_bulk_api(api: ApiClient) -> None:
    async with api.http.post(ASSET_STATUS_PATH, json=PAGE_REQUEST) as response:
        assert response.status == 401 and "WWW-Authenticate" in response.headers


async def test_a_reset_forgets_the_status_jobs(api: ApiClient) -> None:
    job_id = await status_job(api)
    status, _ = await api.admin("POST", "/reset")
    assert status == 200
    status, _ = await api.get(ASSET_STATUS_PATH, jobId=job_id)
    assert status == 400


async def test_a_scenario_fault_targets_each_operation(api: ApiClient) -> None:
    await load(
        api,
        "faults:\n"
        "  - {endpoint: asset-status-start, when: {nth: 1}, status: 503}\n"
        "  - {endpoint: asset-status, when: {nth: 1}, status: 500}\n",
    )
    status, answer = await api.post(ASSET_STATUS_PATH, PAGE_REQUEST)
    assert status == 503 and answer["message"] == "injected fault: status 503"
    job_id = await status_job(api)  # the 2nd call is served
    status, _ = await api.get(ASSET_STATUS_PATH, jobId=job_id)
    assert status == 500
    await poll(api, job_id)
    names = [exchange.operation for exchange in api.mock.journal]
    assert names == ["asset-status-start"] * 2 + ["asset-status"] * 2


async def test_the_dashboard_counts_each_status_job_by_status_as_of_now(api: ApiClient) -> None:
    async def shown() -> str:
        async with api.http.get("/__admin/ui/asset-status") as answer:
            assert answer.status == 200 and answer.content_type == "text/html"
            return await answer.text()

    assert "No asset-status jobs yet" in await shown()
    job_id = await status_job(api, {"paths": [FOLDER, "/content/dam/<script>"]})
    await api.start(FOLDER)
    await api.advance(0.1 + 0.2 * 3)  # three of its seven assets done
    text = await shown()
    row = text[text.index(f'<tr data-id="{job_id}">') :]
    cells = re.findall(r'<td class="status (\w+)">(\d+)</td>', row)[:5]
    assert cells == [
        ("SUCCESS", "3"),
        ("FAILURE", "0"),
        ("PROCESSING", "4"),
        ("PENDING", "0"),
        ("missing", "1"),
    ]
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'href="asset-status" aria-current=page' in text
