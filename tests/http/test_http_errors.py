"""Black-box: every documented error over HTTP, each a JSON body that names what is wrong."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mock_server import Settings
from mock_server.api.operations import BASE_PATH, Call, Operation, Reply
from mock_server.contract.schemas import load_schemas
from tests.support.client import ApiClient, MakeApi

ERROR_SCHEMA = Draft202012Validator(load_schemas()["error"])
START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


def assert_error(status: int, body: Any, expected: int) -> None:
    """An error answer: the expected status, in the shipped error schema, with a message."""
    assert status == expected, body
    ERROR_SCHEMA.validate(body)
    assert body["status"] == expected and body["message"]


async def raw(api: ApiClient, method: str, path: str, data: bytes | None = None, **headers: str) -> Any:
    async with api.http.request(method, path, data=data, headers={**api.headers, **headers}) as response:
        text = await response.text()
        return response.status, json.loads(text), response.headers


# --- 400: the start request breaks its schema ---------------------------------------------------


async def test_an_unknown_field_is_named_with_a_did_you_mean(api: ApiClient) -> None:
    status, body = await api.post(BASE_PATH, {**START, "excludePaths": ["/content/dam/demo"]})
    assert_error(status, body, 400)
    (violation,) = body["violations"]
    assert violation["where"] == "body:/excludePaths"
    assert "did you mean `excludedPaths`?" in violation["message"]
    assert violation["got"] == ["/content/dam/demo"]
    assert body["message"] == violation["message"]


async def test_every_violation_is_listed_with_where_expected_and_got(api: ApiClient) -> None:
    body_in = {"path": "content/dam", "type": "X", "filter": {"fileTypes": ["PDF"], "startTime": -1}}
    status, body = await api.post(BASE_PATH, body_in)
    assert_error(status, body, 400)
    found = {v["where"]: v for v in body["violations"]}
    assert set(found) == {"body:/path", "body:/type", "body:/filter/fileTypes/0", "body:/filter/startTime"}
    assert found["body:/path"]["got"] == "content/dam"
    assert "absolute path" in found["body:/path"]["expected"]
    assert found["body:/filter/fileTypes/0"]["got"] == "PDF"
    assert "DITATOPIC" in found["body:/filter/fileTypes/0"]["expected"]
    assert found["body:/filter/startTime"]["got"] == -1
    assert found["body:/type"]["expected"] == 'one of "ASSET_PROCESSING"'
    assert body["message"].startswith("4 contract violations")


@pytest.mark.parametrize(
    ("body_in", "where"),
    [
        ({"type": "ASSET_PROCESSING"}, "body:/path"),
        ({"path": "/content/dam"}, "body:/type"),
        ({**START, "excludedPaths": 5}, "body:/excludedPaths"),
        ({**START, "excludedPaths": ["/a", 5]}, "body:/excludedPaths/1"),
        ({**START, "filter": {"fileTypes": "PDF"}}, "body:/filter/fileTypes"),
        ({**START, "filter": {"startTime": "yesterday"}}, "body:/filter/startTime"),
        ({**START, "filter": {"filetypes": []}}, "body:/filter/filetypes"),
        ({**START, "filter": []}, "body:/filter"),
        ([START], "body:/"),
        ("just a string", "body:/"),
    ],
)
async def test_schema_violations_point_at_the_field(api: ApiClient, body_in: Any, where: str) -> None:
    status, body = await api.post(BASE_PATH, body_in)
    assert status == 400
    assert_error(status, body, 400)
    assert [v["where"] for v in body["violations"]] == [where]


async def test_missing_field_says_what_to_give(api: ApiClient) -> None:
    status, body = await api.post(BASE_PATH, {"type": "ASSET_PROCESSING"})
    assert status == 400
    assert body["violations"][0]["message"].startswith("`path` is required: give an absolute path")


async def test_a_path_that_does_not_exist_is_refused(api: ApiClient) -> None:
    status, body = await api.post(BASE_PATH, {**START, "path": "/content/dam/nowhere"})
    assert_error(status, body, 400)
    assert "/content/dam/nowhere" in body["message"] and "does not exist" in body["message"]


async def test_start_time_after_end_time_is_refused(api: ApiClient) -> None:
    status, body = await api.post(BASE_PATH, {**START, "filter": {"startTime": 10, "endTime": 5}})
    assert_error(status, body, 400)
    assert "startTime" in body["message"]


async def test_lenient_mode_accepts_unknown_fields(make_api: MakeApi) -> None:
    api = await make_api(Settings(lenient=True))
    status, body = await api.post(BASE_PATH, {**START, "excludePaths": ["/x"]})
    assert status == 200 and "processingId" in body


async def test_the_2025_11_revision_refuses_filter(make_api: MakeApi) -> None:
    api = await make_api(Settings(contract_revision="2025-11"))
    status, body = await api.post(BASE_PATH, {**START, "filter": {"fileTypes": []}})
    assert status == 400 and body["violations"][0]["where"] == "body:/filter"


async def test_other_types_can_be_allowed(make_api: MakeApi) -> None:
    api = await make_api(Settings(allowed_types=("ASSET_PROCESSING", "BASELINE_MIGRATION")))
    status, _body = await api.post(BASE_PATH, {**START, "type": "BASELINE_MIGRATION"})
    assert status == 200


# --- 400: malformed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"{", "not valid JSON"),
        (b'{"path": NaN, "type": "ASSET_PROCESSING"}', "NaN"),
        (b'{"path": "/content/dam", "type": "ASSET_PROCESSING",}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"path": "\\ud800", "type": "ASSET_PROCESSING"}', "surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"path": ' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
)
async def test_malformed_json_is_a_400_that_says_why(api: ApiClient, data: bytes, phrase: str) -> None:
    status, body, _ = await raw(api, "POST", BASE_PATH, data, **{"Content-Type": "application/json"})
    assert status == 400
    assert_error(status, body, 400)
    assert phrase in body["message"]


async def test_an_empty_start_body_is_a_400(api: ApiClient) -> None:
    status, body, _ = await raw(api, "POST", BASE_PATH, b"", **{"Content-Type": "application/json"})
    assert status == 400 and "needs a JSON body" in body["message"]


async def test_a_wrong_content_type_is_a_415(api: ApiClient) -> None:
    data = json.dumps(START).encode()
    status, body, _ = await raw(api, "POST", BASE_PATH, data, **{"Content-Type": "application/xml"})
    assert_error(status, body, 415)
    assert "application/json" in body["message"]


@pytest.mark.parametrize(
    ("content_type", "phrase"),
    [
        ("text/plain;charset=UTF-8", "sent as 'text/plain;charset=UTF-8'"),  # fetch with a string body
        ("application/x-www-form-urlencoded", "sent as 'application/x-www-form-urlencoded'"),  # curl -d
        ("application/octet-stream", "sent as 'application/octet-stream'"),
    ],
)
async def test_a_json_body_of_another_content_type_is_read_with_a_warning(
    api: ApiClient, content_type: str, phrase: str
) -> None:
    """An author's servlet reads the body as JSON whatever its type (docs/contract.md §4)."""
    data = json.dumps(START).encode()
    headers = {"Content-Type": content_type}
    status, body, answer_headers = await raw(api, "POST", BASE_PATH, data, **headers)
    assert status == 200, body
    assert answer_headers["X-Aem-Mock-Warnings"] == "1"
    (exchange,) = api.mock.journal.client_warnings()
    (warning,) = exchange.warnings
    assert warning.where == "header:Content-Type" and phrase in warning.message
    status, body, _ = await raw(api, "POST", BASE_PATH, b"path=/content/dam", **headers)
    assert_error(status, body, 400)  # what is not JSON stays an error


async def test_a_json_body_without_a_content_type_is_read_with_a_warning(api: ApiClient) -> None:
    data = json.dumps(START).encode()
    async with api.http.post(
        BASE_PATH, data=data, headers=api.headers, skip_auto_headers=["Content-Type"]
    ) as r:
        assert r.status == 200, await r.text()
        assert r.headers["X-Aem-Mock-Warnings"] == "1"
    (exchange,) = api.mock.journal.client_warnings()
    assert "sent without a Content-Type" in exchange.warnings[0].message


async def test_a_body_that_starts_with_a_byte_order_mark_is_read_with_a_warning(api: ApiClient) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(START).encode()
    status, body, headers = await raw(api, "POST", BASE_PATH, data, **{"Content-Type": "application/json"})
    assert status == 200, body
    assert headers["X-Aem-Mock-Warnings"] == "1"
    (exchange,) = api.mock.journal.client_warnings()
    assert "byte order mark" in exchange.warnings[0].message and exchange.warnings[0].severity == "warning"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_encoded_as_its_header_says_is_a_400(
    make_api: MakeApi, encoding: str
) -> None:
    """With ``inflate_request_bodies`` on (§3.36; off, see tests/http/test_sling_behaviours.py)."""
    api = await make_api(Settings(inflate_request_bodies=True))
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    status, body, _ = await raw(api, "POST", BASE_PATH, json.dumps(START).encode(), **headers)
    assert_error(status, body, 400)
    assert body["violations"][0]["where"] == "header:Content-Encoding"
    assert f"Content-Encoding: {encoding}" in body["message"]
    gzipped = {**headers, "Content-Encoding": "gzip"}
    status, body, _ = await raw(api, "POST", BASE_PATH, gzip.compress(json.dumps(START).encode()), **gzipped)
    assert status == 200, body  # the server keeps serving, and reads a body that is what it says
    assert len(await api.history()) == 1


async def test_a_body_over_the_limit_is_a_413_and_the_server_keeps_serving(make_api: MakeApi) -> None:
    api = await make_api(Settings(max_body_bytes=1000))
    compact = json.dumps(START).encode()
    at_limit = compact + b" " * (1000 - len(compact))  # trailing blanks are valid JSON
    status, body, _ = await raw(api, "POST", BASE_PATH, at_limit, **{"Content-Type": "application/json"})
    assert status == 200, body
    status, body, _ = await raw(
        api, "POST", BASE_PATH, at_limit + b" ", **{"Content-Type": "application/json"}
    )
    assert_error(status, body, 413)
    assert len(await api.history()) == 1  # nothing stored was lost


# --- 400 or 404: processingId ----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["status", "logs", "logs/download"])
async def test_a_missing_processing_id_is_named(api: ApiClient, endpoint: str) -> None:
    status, body = await api.get(f"{BASE_PATH}/{endpoint}")
    assert_error(status, body, 400)
    assert body["violations"][0]["where"] == "query:processingId"
    assert "`processingId` is required" in body["message"]


@pytest.mark.parametrize("endpoint", ["status", "logs", "logs/download"])
async def test_an_unknown_processing_id_is_a_400(api: ApiClient, endpoint: str) -> None:
    status, body = await api.get(f"{BASE_PATH}/{endpoint}", processingId="nope")
    assert_error(status, body, 400)
    assert "no job has processingId 'nope'" in body["message"]


@pytest.mark.parametrize("action", ["cancel", "resume"])
async def test_actions_on_an_unknown_or_missing_id(api: ApiClient, action: str) -> None:
    status, body = await api.action(action, "nope")
    assert_error(status, body, 400)
    assert body["violations"][0]["where"] == "body:/processingId"
    status, body = await api.post(f"{BASE_PATH}/{action}", {})
    assert_error(status, body, 400)
    assert "processingId" in body["message"]
    status, body, _ = await raw(api, "POST", f"{BASE_PATH}/{action}")
    assert_error(status, body, 400)


async def test_actions_take_the_id_from_the_query_too(api: ApiClient) -> None:
    pid = await api.start()
    status, body, _ = await raw(api, "POST", f"{BASE_PATH}/cancel?processingId={pid}")
    assert status == 200 and body["status"] == "CANCELLED"
    status, body = await api.post(f"{BASE_PATH}/resume?processingId=other", {"processingId": pid})
    assert_error(status, body, 400)
    assert "differs" in body["message"]


async def test_unknown_ids_can_answer_404(make_api: MakeApi) -> None:
    api = await make_api(Settings(unknown_id_status=404))
    status, body = await api.get(f"{BASE_PATH}/status", processingId="nope")
    assert_error(status, body, 404)


# --- 400: query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("offset=-1", "query:offset"),
        ("limit=abc", "query:limit"),
        ("tail=1.5", "query:tail"),
        ("offset=2147483648", "query:offset"),
        ("offset=" + "9" * 5000, "query:offset"),
    ],
)
async def test_bad_log_query_values_are_named(api: ApiClient, query: str, where: str) -> None:
    pid = await api.start()
    status, body, _ = await raw(api, "GET", f"{BASE_PATH}/logs?processingId={pid}&{query}")
    assert_error(status, body, 400)
    assert [v["where"] for v in body["violations"]] == [where]


@pytest.mark.parametrize(
    ("query", "where", "phrase"),
    [
        ("ofset=3", "query:ofset", "did you mean `offset`?"),
        ("limit=1&limit=2", "query:limit", "an author takes the first value"),
        ("=x", "query:", '`""` is not a parameter'),
    ],
)
async def test_what_an_author_ignores_in_a_query_is_served_with_a_warning(
    api: ApiClient, query: str, where: str, phrase: str
) -> None:
    """A servlet ignores an unknown parameter and takes a repeated one's first value: the mock
    serves the request and records a warning (docs/contract.md §4)."""
    pid = await api.start()
    status, body, headers = await raw(api, "GET", f"{BASE_PATH}/logs?processingId={pid}&{query}")
    assert status == 200, body
    assert headers["X-Aem-Mock-Warnings"] == "1"
    (exchange,) = api.mock.journal.client_warnings()
    assert [(w.where, w.severity) for w in exchange.warnings] == [(where, "warning")]
    assert phrase in exchange.warnings[0].message
    assert api.mock.journal.client_violations() == []
    status, body, headers = await raw(api, "GET", f"{BASE_PATH}/logs?processingId={pid}")
    assert status == 200 and "X-Aem-Mock-Warnings" not in headers


async def test_history_takes_no_parameters_and_ignores_one_with_a_warning(api: ApiClient) -> None:
    status, body = await api.get(f"{BASE_PATH}/history", size=5)
    assert status == 200 and body == {"executionHistory": []}
    (exchange,) = api.mock.journal.client_warnings()
    assert exchange.warnings[0].where == "query:size" and exchange.warnings[0].expected == "no parameters"


# --- 401, 404, 405 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic " + "YWRtaW46d3Jvbmc=", "Basic !!!", "Basic bm9jb2xvbg==", "Bearer nope", "Digest x"],
)
async def test_missing_or_wrong_credentials_are_a_401(api: ApiClient, authorization: str | None) -> None:
    api.headers = {"Authorization": authorization} if authorization else {}
    status, body, headers = await raw(api, "GET", f"{BASE_PATH}/history")
    assert_error(status, body, 401)
    assert headers["WWW-Authenticate"] == 'Basic realm="Sling (Development)"'


async def test_an_unknown_path_is_a_json_404(api: ApiClient) -> None:
    status, body, _ = await raw(api, "GET", "/bin/guides/v1/assets/proces")
    assert_error(status, body, 404)
    assert BASE_PATH in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", BASE_PATH, "POST"),
        ("DELETE", f"{BASE_PATH}/status", "GET"),
        ("GET", f"{BASE_PATH}/cancel", "POST"),
        ("PUT", "/bin/guides/v1/system/status", "GET"),
    ],
)
async def test_a_wrong_method_is_a_405_with_allow(api: ApiClient, method: str, path: str, allow: str) -> None:
    status, body, headers = await raw(api, method, path)
    assert_error(status, body, 405)
    assert headers["Allow"] == allow


async def test_the_journal_keeps_client_violations(api: ApiClient) -> None:
    await api.post(BASE_PATH, {**START, "excludePaths": []})
    await api.start()
    journal = api.mock.journal
    assert len(journal) == 2
    (bad,) = journal.client_violations()
    assert bad.status == 400 and bad.request_violations[0].where == "body:/excludePaths"


# --- 500: the mock's own bugs -------------------------------------------------------------------------


async def test_a_response_that_breaks_its_schema_is_a_logged_500(
    api: ApiClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = api.mock
    answer: Callable[[Operation, Call], Reply] = mock.api.answer

    def broken(operation: Operation, call: Call) -> Reply:
        if operation.name == "history":
            return Reply({"executionHistory": "oops"}, "history.response")
        return answer(operation, call)

    monkeypatch.setattr(mock.api, "answer", broken)
    status, body = await api.get(f"{BASE_PATH}/history")
    assert_error(status, body, 500)
    assert body["violations"][0]["where"] == "body:/executionHistory"
    assert "BUG: the mock's own 200 response breaks schema 'history.response'" in caplog.text
    (exchange,) = list(mock.journal)
    assert exchange.response_violations and not exchange.request_violations


async def test_an_unexpected_exception_is_a_500_and_the_server_keeps_serving(
    api: ApiClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = api.mock
    answer: Callable[[Operation, Call], Reply] = mock.api.answer

    def broken(operation: Operation, call: Call) -> Reply:
        if operation.name == "status":
            raise RuntimeError("boom")
        return answer(operation, call)

    monkeypatch.setattr(mock.api, "answer", broken)
    status, body = await api.get(f"{BASE_PATH}/status", processingId="x")
    assert_error(status, body, 500)
    assert "unexpected error answering GET" in caplog.text
    assert await api.history() == []


async def test_only_contract_breaks_are_kept_as_client_violations(api: ApiClient) -> None:
    await api.get(f"{BASE_PATH}/status", processingId="unknown")  # a correct client may do this
    await raw(api, "DELETE", f"{BASE_PATH}/status")  # a contract break
    api.headers = {}
    await raw(api, "GET", f"{BASE_PATH}/history")  # 401: not the client's contract
    journal = api.mock.journal
    assert [e.status for e in journal] == [400, 405, 401]
    assert [e.request_violations[0].where for e in journal.client_violations()] == ["method"]


@pytest.mark.parametrize(("path", "data"), [(BASE_PATH, b"null"), (f"{BASE_PATH}/cancel", b"null")])
async def test_a_json_null_body_is_checked_like_any_body(api: ApiClient, path: str, data: bytes) -> None:
    status, body, _ = await raw(api, "POST", path, data, **{"Content-Type": "application/json"})
    assert_error(status, body, 400)
    assert body["violations"][0]["where"] == "body:/"
    assert body["violations"][0]["got"] is None


async def test_conflicts_can_answer_409(make_api: MakeApi) -> None:
    api = await make_api(Settings(conflict_status=409))
    pid = await api.start("/content/dam/22858")
    status, body = await api.post(BASE_PATH, START)
    assert_error(status, body, 409)
    await api.advance(2)
    status, body = await api.action("cancel", pid)
    assert_error(status, body, 409)


# --- found in review: each once answered 500 or slipped through --------------------------------------


@pytest.mark.parametrize(
    ("sent", "where", "phrase"),
    [
        ({"startTime": 1756944000000.0}, "body:/filter/startTime", "is written 1756944000000.0"),
        ({"startTime": "1756944000000"}, "body:/filter/startTime", 'is the string "1756944000000"'),
        ({"startTime": 1756944000000, "fileTypes": None}, "body:/filter/fileTypes", "is null"),
    ],
)
async def test_what_jackson_coerces_is_served_as_coerced_with_a_warning(
    api: ApiClient, sent: dict[str, Any], where: str, phrase: str
) -> None:
    """Jackson (and Gson) take an integral float or a digit string for a long, and null for an
    absent field (docs/contract.md §4): the job gets the coerced value, the journal a warning."""
    status, body = await api.post(BASE_PATH, {**START, "filter": sent})
    assert status == 200, body
    job = await api.status(body["processingId"])
    assert job["filter"]["startTime"] == 1756944000000 and type(job["filter"]["startTime"]) is int
    assert job["filter"]["fileTypes"] == []
    (exchange,) = api.mock.journal.client_warnings()
    assert [(w.where, w.severity) for w in exchange.warnings] == [(where, "warning")]
    assert phrase in exchange.warnings[0].message


@pytest.mark.parametrize(
    ("sent", "where"),
    [
        ({**START, "filter": {"startTime": 1756944000000.5}}, "body:/filter/startTime"),
        ({**START, "filter": {"startTime": "-1"}}, "body:/filter/startTime"),
        ({**START, "filter": {"startTime": "1e3"}}, "body:/filter/startTime"),
        ({**START, "path": None}, "body:/path"),
        ({**START, "excludedPaths": [None]}, "body:/excludedPaths/0"),
    ],
)
async def test_what_no_reader_coerces_stays_an_error(
    api: ApiClient, sent: dict[str, Any], where: str
) -> None:
    """A fraction, a negative or non-decimal string, null for a required field or in a list."""
    status, body = await api.post(BASE_PATH, sent)
    assert_error(status, body, 400)
    assert body["violations"][0]["where"] == where
    assert (await api.history()) == []


async def test_non_ascii_basic_credentials_are_a_401(api: ApiClient) -> None:
    api.headers = {"Authorization": "Basic ab\u00e9"}
    status, body, _ = await raw(api, "GET", f"{BASE_PATH}/history")
    assert_error(status, body, 401)


async def test_the_2025_11_revision_in_lenient_mode_ignores_a_filter(make_api: MakeApi) -> None:
    api = await make_api(Settings(lenient=True, contract_revision="2025-11"))
    pid = await api.start(filter="abc")
    assert (await api.status(pid))["filter"] == {"fileTypes": [], "filterProcessedAssets": False}


async def test_a_missing_id_answers_the_unknown_id_status(make_api: MakeApi) -> None:
    api = await make_api(Settings(unknown_id_status=404))
    status, body = await api.get(f"{BASE_PATH}/status")
    assert_error(status, body, 404)
    status, body = await api.post(f"{BASE_PATH}/cancel", {})
    assert_error(status, body, 404)


async def test_a_too_long_id_names_the_limit(api: ApiClient) -> None:
    status, body = await api.get(f"{BASE_PATH}/status", processingId="x" * 257)
    assert_error(status, body, 400)
    assert body["violations"][0]["expected"] == "a string of 1 to 256 characters"
    assert len(body["violations"][0]["got"]) == 200  # echoed values are cut to 200 characters


@pytest.mark.parametrize("same", ["/content/dam/22858/", "/content/dam/22858//"])
async def test_the_busy_path_rule_compares_normalized_paths(api: ApiClient, same: str) -> None:
    await api.start("/content/dam/22858")
    status, body = await api.post(BASE_PATH, {**START, "path": same})
    assert status == 400
    assert "already" in body["message"]


async def test_a_null_id_is_a_wrong_type_not_a_missing_id(make_api: MakeApi) -> None:
    api = await make_api(Settings(unknown_id_status=404))
    status, body = await api.post(f"{BASE_PATH}/cancel", {"processingId": None})
    assert_error(status, body, 400)


async def test_sling_html_errors_answer_the_page_and_still_journal_the_violations(make_api: MakeApi) -> None:
    api = await make_api(Settings(error_format="sling-html"))
    response = await api.http.post(
        BASE_PATH,
        json={"path": "/content/dam/22858", "typo": 1, "type": "<b>bold</b>"},
        headers=api.headers,
    )
    page = await response.text()
    assert (response.status, response.content_type) == (400, "text/html")
    assert "<title>400 Bad Request</title>" in page and "<h1>Bad Request (400)</h1>" in page
    assert f"Cannot serve request to {BASE_PATH} on this server: " in page
    assert "`typo` is not a field" in page
    assert "got &quot;&lt;b&gt;bold&lt;/b&gt;&quot;" in page and "<b>" not in page  # HTML-escaped
    (bad,) = api.mock.journal.client_violations()
    assert sorted(v.where for v in bad.request_violations) == ["body:/type", "body:/typo"]

    response = await api.http.get(f"{BASE_PATH}/history")  # no credentials
    assert (response.status, response.content_type) == (401, "text/html")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Sling (Development)"'
    response = await api.http.get("/nowhere", headers=api.headers)
    assert (response.status, response.content_type) == (404, "text/html")
    status, body = await api.get(f"{BASE_PATH}/history")  # successes stay JSON
    assert status == 200 and body == {"executionHistory": []}
    response = await api.http.post(
        BASE_PATH, json={"path": "/content/dam/ångström", "type": "ASSET_PROCESSING"}, headers=api.headers
    )
    assert (response.status, response.charset) == (400, "utf-8")
    assert "/content/dam/ångström" in (await response.read()).decode("utf-8")


async def test_a_form_encoded_processing_id_is_read_with_a_warning(api: ApiClient) -> None:
    """The seed calls processingId a request parameter; Sling's getParameter reads a form body."""
    pid = await api.start()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body, headers = await raw(
        api, "POST", f"{BASE_PATH}/cancel", f"processingId={pid}".encode(), **form
    )
    assert status == 200 and body["status"] == "CANCELLED", body
    assert headers["X-Aem-Mock-Warnings"] == "1"
    (exchange,) = api.mock.journal.client_warnings()
    assert [w.keyword for w in exchange.warnings] == ["formEncoded"]
    status, body, _ = await raw(
        api, "POST", f"{BASE_PATH}/resume", f"processingId={pid}&x=1".encode(), **form
    )
    assert status == 200 and body["status"] == "IN_PROGRESS", body  # resumed: the runner is free
    status, body, _ = await raw(api, "POST", f"{BASE_PATH}/cancel", b"id=nope", **form)
    assert_error(status, body, 400)  # no processingId in the form: nothing an author could read
    status, body, _ = await raw(api, "POST", BASE_PATH, b"path=/content/dam&type=ASSET_PROCESSING", **form)
    assert_error(status, body, 400)  # a start reads its JSON body only
