"""Black-box: each endpoint's success body, over HTTP: logs paging, the ZIP, history, system status."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from mock_server import Settings
from mock_server.api.operations import BASE_PATH
from tests.support.client import ApiClient, MakeApi
from tests.support.constants import BASIC_ADMIN

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}: (INFO|ERROR): \[ASSET_PROCESSING\] .+$")


async def finished_job(api: ApiClient, path: str = "/content/dam/demo") -> str:
    pid = await api.start(path)
    await api.advance(60)
    return pid


async def test_start_answers_a_uuid(api: ApiClient) -> None:
    pid = await api.start()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", pid)


async def test_logs_lines_follow_the_documented_format(api: ApiClient) -> None:
    pid = await finished_job(api, "/content/dam/22858")
    page = await api.logs(pid)
    assert page["offset"] == 0 and page["limit"] == 500 and page["hasMore"] is False
    lines = page["lines"]
    assert all(LINE.match(line) for line in lines), lines
    assert "Bulk processing job started" in lines[0]
    assert "Counting completed [totalFiles=6]" in lines[2]
    assert lines[-1].endswith("Bulk processing job completed [status=SUCCESS]. Exiting...")
    assert lines[0].startswith("2026-01-01 00:00:00:000: ")  # UTC, colon before the milliseconds


async def test_logs_pages_concatenate_to_the_whole_log(api: ApiClient) -> None:
    pid = await finished_job(api)
    whole = (await api.logs(pid))["lines"]
    pages: list[str] = []
    offset = 0
    while True:
        page = await api.logs(pid, offset=offset, limit=7)
        assert page["offset"] == offset and page["limit"] == 7
        pages += page["lines"]
        offset += len(page["lines"])
        if not page["hasMore"]:
            break
    assert pages == whole and len(whole) > 7


async def test_logs_tail_wins_over_offset_and_limit(api: ApiClient) -> None:
    pid = await finished_job(api)
    whole = (await api.logs(pid))["lines"]
    page = await api.logs(pid, tail=5, offset=1, limit=2)
    assert page == {"lines": whole[-5:], "offset": len(whole) - 5, "limit": 5, "hasMore": False}
    longer = await api.logs(pid, tail=10_000)
    assert longer["lines"] == whole and longer["offset"] == 0


async def test_logs_limit_is_capped_at_500(make_api: MakeApi) -> None:
    api = await make_api(Settings(logs_limit=3))
    pid = await finished_job(api)
    page = await api.logs(pid, limit=1000)
    assert page["limit"] == 3 and len(page["lines"]) == 3 and page["hasMore"] is True


async def test_logs_offset_past_the_end_is_an_empty_page(api: ApiClient) -> None:
    pid = await finished_job(api)
    page = await api.logs(pid, offset=100_000)
    assert page["lines"] == [] and page["hasMore"] is False


async def test_download_is_a_real_zip_holding_the_whole_log(api: ApiClient) -> None:
    pid = await finished_job(api)
    whole = (await api.logs(pid))["lines"]
    async with api.http.get(
        f"{BASE_PATH}/logs/download", params={"processingId": pid}, headers=api.headers
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/zip"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{pid}.zip"'
        data = await response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [f"{pid}.log"]
        assert archive.testzip() is None
        assert archive.read(f"{pid}.log").decode().splitlines() == whole


async def test_download_answers_paths_to_a_client_that_asks_for_json(api: ApiClient) -> None:
    pid = await finished_job(api)
    async with api.http.get(
        f"{BASE_PATH}/logs/download",
        params={"processingId": pid},
        headers={**api.headers, "Accept": "application/json"},
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body == {"logFilePaths": [f"/var/log/guides/bulk-asset-processing/{pid}.log"]}


async def test_history_is_empty_at_first(api: ApiClient) -> None:
    assert await api.history() == []


@pytest.mark.parametrize(("database", "check"), [(False, False), (True, True)])
async def test_system_status(make_api: MakeApi, database: bool, check: bool) -> None:
    api = await make_api(Settings(is_database=database))
    status, body = await api.get("/bin/guides/v1/system/status")
    assert status == 200
    assert body["isDatabase"] is check and body["databaseConnectionCheck"] == "passed"
    assert isinstance(body["activeBundles"], list) and body["inactiveBundles"] == []
    assert body["isCloud"] is False and body["isUuid"] is True


async def test_bearer_token_authenticates_and_names_the_user(make_api: MakeApi) -> None:
    api = await make_api(Settings(tokens={"t0ken": "cloud-user"}))
    api.headers = {"Authorization": "Bearer t0ken"}
    pid = await api.start()
    assert (await api.status(pid))["createdBy"] == "cloud-user"


async def test_more_basic_users_can_be_configured(make_api: MakeApi) -> None:
    api = await make_api(Settings(users={"admin": "admin", "author": "s3cret"}))
    import base64

    api.headers = {"Authorization": "Basic " + base64.b64encode(b"author:s3cret").decode()}
    pid = await api.start()
    assert (await api.status(pid))["createdBy"] == "author"


async def test_head_is_answered_like_get_without_a_body(api: ApiClient) -> None:
    async with api.http.head(f"{BASE_PATH}/history", headers=api.headers) as response:
        assert response.status == 200
        assert await response.read() == b""


async def test_status_vocabulary_can_be_renamed(make_api: MakeApi) -> None:
    names = {"WAITING": "QUEUED", "IN_PROGRESS": "RUNNING", "SUCCESS": "COMPLETED"}
    vocabulary = {**{s: s for s in ("FAILED", "CANCELLED")}, **names}
    api = await make_api(Settings(status_names=vocabulary))
    pid = await api.start()
    queued = await api.start("/content/dam/demo1")
    assert (await api.status(queued))["status"] == "QUEUED"
    assert (await api.status(pid))["status"] == "RUNNING"
    await api.advance(2)
    assert (await api.status(pid))["status"] == "COMPLETED"


async def test_speed_factor_changes_the_pace(make_api: MakeApi) -> None:
    api = await make_api(Settings(speed=2))
    pid = await api.start()
    await api.advance(0.05 + 0.6)
    assert (await api.status(pid))["status"] == "SUCCESS"


async def test_repeated_polls_answer_the_same_bytes_until_the_job_moves(api: ApiClient) -> None:
    pid = await api.start()
    await api.advance(0.3)

    async def raw_status() -> bytes:
        params = {"processingId": pid}
        async with api.http.get(f"{BASE_PATH}/status", params=params, headers=api.headers) as response:
            return await response.read()

    first, second = await raw_status(), await raw_status()
    assert first == second
    await api.advance(0.2)
    assert await raw_status() != first  # one more asset: a new body


@pytest.mark.parametrize(("unit", "value"), [("SECONDS", 2), ("MINUTES", 1), ("HOURS", 1)])
async def test_eta_is_converted_into_its_unit(make_api: MakeApi, unit: str, value: int) -> None:
    api = await make_api(Settings(eta_unit=unit))  # type: ignore[arg-type]
    pid = await api.start()
    await api.advance(0.1)  # counted: 6 assets of 200 ms to go
    assert (await api.status(pid))["eta"] == {"value": value, "unit": unit}


@pytest.mark.parametrize("body", [None, {}])
async def test_cancel_takes_the_id_from_the_query_when_the_body_has_none(
    api: ApiClient, body: object
) -> None:
    pid = await api.start()
    async with api.http.post(
        f"{BASE_PATH}/cancel", params={"processingId": pid}, json=body, headers=api.headers
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "CANCELLED"


async def test_lenient_echoes_filter_processed_assets_as_sent(make_api: MakeApi) -> None:
    api = await make_api(Settings(lenient=True))
    pid = await api.start(filter={"fileTypes": ["DITAMAP"], "filterProcessedAssets": True})
    assert (await api.status(pid))["filter"] == {"fileTypes": ["DITAMAP"], "filterProcessedAssets": True}


@pytest.mark.parametrize(
    ("accept", "zip_expected"),
    [
        ("application/json", False),
        ("application/json, text/plain, */*", True),  # axios's default: a tie, the ZIP (§3.20)
        ("application/zip;q=0.5, application/json", False),
        ("application/json;q=0.9, application/zip", True),
        ("*/*", True),
        ("", True),
    ],
)
async def test_the_download_follows_the_accept_ranking(
    api: ApiClient, accept: str, zip_expected: bool
) -> None:
    pid = await api.start()
    headers = {**api.headers, "Accept": accept} if accept else api.headers
    async with api.http.get(f"{BASE_PATH}/logs/download", params={"processingId": pid}, headers=headers) as r:
        assert r.status == 200
        assert (r.content_type == "application/zip") is zip_expected, r.content_type


async def test_the_csrf_token_endpoint_answers_even_when_csrf_is_not_enforced(api: ApiClient) -> None:
    """§3.26: every author serves it, and an AEM client often calls it first."""
    status, body = await api.get("/libs/granite/csrf/token.json")
    assert status == 200 and isinstance(body["token"], str) and body["token"]
    api.headers = {}
    status, body = await api.get("/libs/granite/csrf/token.json")
    assert status == 401
    status, _ = await api.post("/libs/granite/csrf/token.json", {})
    assert status == 401  # Sling authenticates before it resolves (§3.34)
    api.headers = {"Authorization": BASIC_ADMIN}
    status, _ = await api.post("/libs/granite/csrf/token.json", {})
    assert status == 405


@pytest.mark.parametrize(
    "extra", [{"_charset_": "utf-8"}, {"_": "1761291362776"}, {"_charset_": "utf-8", "_": "1"}]
)
async def test_slings_and_jquerys_own_parameters_are_taken_on_any_get(
    api: ApiClient, extra: dict[str, str]
) -> None:
    """A real author ignores them: no 400, no violation in the journal (docs/contract.md §4)."""
    processing_id = await api.start()
    for path, params in [
        (f"{BASE_PATH}/status", {"processingId": processing_id}),
        (f"{BASE_PATH}/logs", {"processingId": processing_id, "offset": "0"}),
        (f"{BASE_PATH}/history", {}),
        ("/bin/guides/v1/system/status", {}),
    ]:
        status, body = await api.get(path, **params, **extra)
        assert status == 200, body
    assert api.mock.journal.client_violations() == [] and api.mock.journal.client_warnings() == []
    status, body = await api.get(f"{BASE_PATH}/history", _charset="utf-8")  # not Sling's: a warning
    warned = [e.warnings[0].where for e in api.mock.journal.client_warnings()]
    assert status == 200 and warned == ["query:_charset"]


async def test_filter_processed_assets_sent_back_is_echoed_with_a_warning(api: ApiClient) -> None:
    """History shows it in every job's filter; a client that sends it back is served (docs/contract.md §4)."""
    pid = await api.start(filter={"fileTypes": ["DITAMAP"], "filterProcessedAssets": True})
    assert (await api.status(pid))["filter"] == {"fileTypes": ["DITAMAP"], "filterProcessedAssets": True}
    (exchange,) = api.mock.journal.client_warnings()
    (warning,) = exchange.warnings
    assert warning.where == "body:/filter/filterProcessedAssets" and warning.keyword == "undocumented"
    assert "history shows it" in warning.message
    start = {
        "path": "/content/dam/demo",
        "type": "ASSET_PROCESSING",
        "filter": {"filterProcessedAssets": "yes"},
    }
    status, body = await api.post(BASE_PATH, start)
    assert status == 400 and body["violations"][0]["where"] == "body:/filter/filterProcessedAssets"
