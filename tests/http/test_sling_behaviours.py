"""Black-box, over a socket: the Sling behaviours a real client meets (docs/contract.md §3.32 to §3.38)."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from mock_server import Settings
from mock_server.api.operations import BASE_PATH, OPERATIONS, Operation
from tests.http.test_http_errors import assert_error, raw
from tests.support.client import ApiClient, MakeApi

HISTORY = f"{BASE_PATH}/history"
START = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()


@pytest.mark.parametrize("suffix", [".json", "/", ".json/", ".tidy.json"])
async def test_an_extension_or_a_trailing_slash_reaches_the_operation(api: ApiClient, suffix: str) -> None:
    processing_id = await api.start()
    status, body, _ = await raw(api, "GET", f"{BASE_PATH}/status{suffix}?processingId={processing_id}")
    assert status == 200 and body["processingId"] == processing_id
    status, body, headers = await raw(api, "GET", f"{HISTORY}{suffix}")
    assert status == 200 and body["executionHistory"][0]["processingId"] == processing_id
    assert headers["X-Aem-Mock-Warnings"] == "1"
    exchange = list(api.mock.journal)[-1]
    assert exchange.operation == "history" and exchange.path == f"{HISTORY}{suffix}"
    (warning,) = exchange.warnings
    assert (warning.where, warning.severity, warning.expected) == ("path", "warning", HISTORY)


async def test_a_start_reaches_its_operation_with_an_extension(api: ApiClient) -> None:
    start = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
    status, body = await api.post(f"{BASE_PATH}.json", start)
    assert status == 200 and body["processingId"]
    assert list(api.mock.journal)[-1].operation == "start"


@pytest.mark.parametrize(
    "path", [f"{BASE_PATH}/status/x", f"{BASE_PATH}/status.", f"{BASE_PATH}/status//", f"{BASE_PATH}/statusx"]
)
async def test_other_spellings_stay_unknown_paths(api: ApiClient, path: str) -> None:
    status, body, _ = await raw(api, "GET", path)
    assert_error(status, body, 404)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
async def test_options_answers_200_with_allow_as_sling_does(api: ApiClient, operation: Operation) -> None:
    if not api.mock.api.serves(operation):
        pytest.skip(f"{operation.name} is not served by default")
    served = [other for other in OPERATIONS if api.mock.api.serves(other)]
    methods = {other.method for other in served if other.path == operation.path}
    # a servlet's Allow: OPTIONS and TRACE, then GET and HEAD when it serves GET, then POST if it does
    expected = ", ".join(["OPTIONS", "TRACE", *(["GET", "HEAD"] if "GET" in methods else []),
                          *(["POST"] if "POST" in methods else [])])  # fmt: skip
    for path in (operation.path, f"{operation.path}.json"):
        async with api.http.options(path, headers=api.headers) as response:
            assert (response.status, response.headers["Allow"]) == (200, expected)
            assert await response.read() == b""


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/bin/guides/v1/assets/proces"), ("DELETE", f"{BASE_PATH}/status"), ("OPTIONS", HISTORY),
     ("GET", f"{HISTORY}.json"), ("PUT", "/content/dam")],
)  # fmt: skip
async def test_no_credentials_is_a_401_before_a_404_or_405(api: ApiClient, method: str, path: str) -> None:
    api.headers = {}
    status, body, headers = await raw(api, method, path)
    assert_error(status, body, 401)
    assert headers["WWW-Authenticate"] == 'Basic realm="Sling (Development)"'


@pytest.mark.parametrize("path", ["/content/dam/22858 ", "/content/dam/22858\t", "/content/dam/22858/\n"])
async def test_a_path_with_surrounding_whitespace_does_not_exist(api: ApiClient, path: str) -> None:
    status, body = await api.post(BASE_PATH, {"path": path, "type": "ASSET_PROCESSING"})
    assert_error(status, body, 400)
    assert "does not exist" in body["message"] and "whitespace" in body["message"]
    assert await api.history() == []


async def test_the_job_started_line_prints_lists_as_java_does(api: ApiClient) -> None:
    excluded = ["/content/dam/22858/a", "b"]
    processing_id = await api.start(excludedPaths=excluded)
    await api.advance(1)
    first = (await api.logs(processing_id, limit=1))["lines"][0]
    assert "excludedPaths=[/content/dam/22858/a, b], user=admin]" in first, first


@pytest.mark.parametrize("coding", ["gzip", "deflate", "GZIP"])
async def test_a_compressed_body_is_not_inflated_by_default(api: ApiClient, coding: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    data = zlib.compress(START) if coding == "deflate" else gzip.compress(START)
    status, body, _ = await raw(api, "POST", BASE_PATH, data, **headers)
    assert_error(status, body, 400)
    (violation,) = body["violations"]
    assert violation["where"] == "header:Content-Encoding" and "inflate_request_bodies" in body["message"]
    assert await api.history() == []


async def test_a_body_sent_as_is_under_a_content_encoding_is_read_as_sent(api: ApiClient) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    status, body, _ = await raw(api, "POST", BASE_PATH, START, **headers)
    assert status == 200, body
    (warning,) = list(api.mock.journal)[-1].warnings
    assert (warning.where, warning.severity) == ("header:Content-Encoding", "warning")


async def test_the_setting_inflates_a_compressed_body(make_api: MakeApi) -> None:
    api = await make_api(Settings(inflate_request_bodies=True))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    status, body, _ = await raw(api, "POST", BASE_PATH, gzip.compress(START), **headers)
    assert status == 200, body


async def test_a_latin_1_body_is_decoded_by_its_declared_charset_with_a_warning(api: ApiClient) -> None:
    data = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING", "excludedPaths": ["/é"]},
                      ensure_ascii=False).encode("latin-1")  # fmt: skip
    headers = {"Content-Type": "application/json; charset=ISO-8859-1"}
    status, body, answer = await raw(api, "POST", BASE_PATH, data, **headers)
    assert status == 200, body
    assert (await api.status(body["processingId"]))["excludedPaths"] == ["/é"]
    assert answer["X-Aem-Mock-Warnings"] == "1"
    (warning,) = list(api.mock.journal)[-2].warnings
    assert (warning.where, warning.severity, warning.got) == ("header:Content-Type", "warning", "ISO-8859-1")
    status, body, _ = await raw(api, "POST", BASE_PATH, data, **{"Content-Type": "application/json"})
    assert_error(status, body, 400)  # undeclared, it is read as UTF-8, which it is not
    assert "not valid UTF-8" in body["message"]


async def test_an_unknown_charset_is_a_415_that_names_it(api: ApiClient) -> None:
    for charset in ("x-nothing", "zlib"):
        headers = {"Content-Type": f"application/json; charset={charset}"}
        status, body, _ = await raw(api, "POST", BASE_PATH, START, **headers)
        assert_error(status, body, 415)
        assert body["violations"][0]["where"] == "header:Content-Type" and charset in body["message"]


@pytest.mark.parametrize("name", ["cancel", "resume"])
async def test_the_openapi_document_says_what_cancel_and_resume_take(api: ApiClient, name: str) -> None:
    """Each way the document offers works against the mock, as a generated client would use it."""
    status, document = await api.get("/openapi.json")
    operation = document["paths"][f"{BASE_PATH}/{name}"]["post"]
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("processingId", "query", False)
    body = operation["requestBody"]
    assert body["required"] is False
    assert set(body["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    for how, folder in (("query", "demo"), ("form", "demo1"), ("json", "dita-templates")):
        processing_id = await api.start(f"/content/dam/{folder}")
        if name == "resume":
            assert (await api.action("cancel", processing_id))[0] == 200
        path = f"{BASE_PATH}/{name}"
        if how == "query":
            status, body, _ = await raw(api, "POST", f"{path}?processingId={processing_id}")
        elif how == "form":
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, body, _ = await raw(api, "POST", path, f"processingId={processing_id}".encode(), **form)
        else:
            status, body = await api.action(name, processing_id)
        assert status == 200 and body["processingId"] == processing_id, (how, body)
