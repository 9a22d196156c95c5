"""The proxy's checks, one case each: a request as the mock would judge it, an author's answer
against its operation's schema, and violations made fit to be served."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from mock_server.api.operations import BASE_PATH, OPERATIONS
from mock_server.contract.rules import Contract
from mock_server.core.errors import Violation, Violations
from mock_server.core.settings import Settings
from mock_server.http.proxy_checks import check_answer, check_request, masked
from mock_server.recording.redaction import REDACTED
from mock_server.recording.tape import MAX_BODY_BYTES, TapeResponse

CONTRACT = Contract(Settings())
OP = {op.name: op for op in OPERATIONS}
START = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()


def judged(method: str, path: str, raw: bytes = b"", **headers: str) -> tuple[Violations, Violations]:
    request = make_mocked_request(method, path, headers=headers)
    route = path.partition("?")[0]
    operation = next((op for op in OPERATIONS if op.method == method and op.path == route), None)
    return check_request(CONTRACT, operation, request, list(headers.items()), raw)


def wheres(found: Violations) -> list[str]:
    return [v.where for v in found]


def test_a_wrong_method_on_an_api_path_is_named_and_other_paths_are_not_checked() -> None:
    errors, _ = judged("DELETE", f"{BASE_PATH}/history")
    assert wheres(errors) == ["method"] and "use GET" in errors[0].message
    assert judged("GET", "/libs/granite/csrf/token.json") == (Violations(), Violations())


def test_a_get_is_judged_by_its_query_alone() -> None:
    errors, warnings = judged("GET", f"{BASE_PATH}/logs?processingId=a&limit=x&foo=1")
    assert wheres(errors) == ["query:limit"] and wheres(warnings) == ["query:foo"]


@pytest.mark.parametrize(
    ("content_type", "errors", "warnings"),
    [
        ("application/json", [], []),
        ("text/plain", [], ["header:Content-Type"]),  # fetch's string body: read with a warning
        ("text/html", ["header:Content-Type"], []),  # the mock answers 415
    ],
)
def test_a_body_is_read_as_an_author_reads_it(
    content_type: str, errors: list[str], warnings: list[str]
) -> None:
    found, noted = judged("POST", BASE_PATH, START, **{"Content-Type": content_type})
    assert wheres(found) == errors and wheres(noted) == warnings


def test_a_compressed_body_is_checked_inflated_and_a_false_encoding_is_named() -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert judged("POST", BASE_PATH, gzip.compress(START), **headers) == (Violations(), Violations())
    errors, _ = judged("POST", BASE_PATH, START, **headers)
    assert wheres(errors) == ["body:/"] and "Content-Encoding does not decode" in errors[0].message
    errors, _ = judged("POST", BASE_PATH, b"{not json", **{"Content-Type": "application/json"})
    assert "not valid JSON" in errors[0].message


def test_a_start_without_a_body_misses_it_and_an_action_takes_its_id_from_the_query() -> None:
    errors, _ = judged("POST", BASE_PATH)
    assert [(v.where, v.keyword) for v in errors] == [("body:/", "required")]
    assert judged("POST", f"{BASE_PATH}/cancel?processingId=abc") == (Violations(), Violations())
    errors, warnings = judged("POST", BASE_PATH, json.dumps({"path": "/content/dam", "type": "X"}).encode(),
                              **{"Content-Type": "application/json"})  # fmt: skip
    assert wheres(errors) == ["body:/type"] and not warnings


def answer(
    status: int, body: Any, content_type: str = "application/json", size: int | None = None
) -> TapeResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return TapeResponse(status, [("Content-Type", content_type)], raw, len(raw) if size is None else size)


def test_an_answer_of_a_status_the_contract_does_not_list_is_a_warning() -> None:
    found = check_answer(CONTRACT, OP["history"], "GET", answer(418, {"status": 418, "message": "teapot"}))
    assert (found[0].where, found[0].severity) == ("status", "warning")


def test_an_answer_that_is_not_json_is_an_error_for_a_2xx_and_a_warning_for_an_error_page() -> None:
    page = b"<html><body>Forbidden</body></html>"
    unlisted, html_error = check_answer(CONTRACT, OP["status"], "GET", answer(403, page, "text/html"))
    assert unlisted.where == "status"  # the contract lists no 403 for status (only with csrf on)
    assert html_error.severity == "warning" and "is not JSON" in html_error.message
    (broken,) = check_answer(CONTRACT, OP["status"], "GET", answer(200, b"{", "application/json"))
    assert broken.severity == "error"


def test_what_is_not_json_to_check_is_left_alone() -> None:
    assert not check_answer(CONTRACT, OP["download"], "GET", answer(200, b"PK\x03\x04", "application/zip"))
    assert not check_answer(CONTRACT, OP["status"], "HEAD", answer(200, b""))
    assert not check_answer(CONTRACT, None, "GET", answer(200, b"anything"))
    assert wheres(check_answer(CONTRACT, OP["status"], "GET", answer(302, b"", "text/html"))) == ["status"]


def test_an_answer_too_large_to_check_says_so() -> None:
    (warning,) = check_answer(CONTRACT, OP["history"], "GET", answer(200, b'{"executionHistory": [',
                                                                        size=MAX_BODY_BYTES + 1))  # fmt: skip
    assert warning.severity == "warning" and "not checked" in warning.message


def test_an_answer_kept_whole_but_larger_than_the_proxy_checks_is_not_parsed() -> None:
    """A valid answer just over the cap: checking it would hold every other client up."""

    def page(lines: int) -> dict[str, Any]:
        return {"lines": ["x" * 1000] * lines, "offset": 0, "limit": lines, "hasMore": False}

    assert not check_answer(CONTRACT, OP["logs"], "GET", answer(200, page(10)))  # a valid page
    (warning,) = check_answer(CONTRACT, OP["logs"], "GET", answer(200, page(1100)))  # 1.1 MB
    assert "larger than 1048576 bytes (inflated)" in warning.message


def test_an_undocumented_key_is_a_warning_and_a_missing_one_an_error() -> None:
    history: dict[str, Any] = {"executionHistory": [], "nextPage": 2}
    found = check_answer(CONTRACT, OP["history"], "GET", answer(200, history))
    assert [(v.where, v.severity) for v in found] == [("body:/nextPage", "warning")]
    found = check_answer(CONTRACT, OP["history"], "GET", answer(200, {}))
    assert [v.severity for v in found] == ["error"]


def test_secrets_are_masked_in_what_a_violation_echoes() -> None:
    violations = (
        Violation("query:access_token", "m", "e", "abc123"),
        Violation(
            "body:/extra", "m", "e", {"auth": {"password": "hunter2"}, "list": [{"token": "t"}], "n": 1}
        ),
        Violation("body:/path", "m", "e", "/content/dam"),
    )
    shown = masked(violations)
    assert [v.got for v in shown] == [
        REDACTED,
        {"auth": REDACTED, "list": [{"token": REDACTED}], "n": 1},
        "/content/dam",
    ]
    assert masked(()) == ()
