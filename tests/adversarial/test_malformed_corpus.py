"""The malformed-input corpus: each case is answered 4xx with a JSON error, no 5xx, nothing
logged as an error, and the server serves on afterwards.

Over a real socket to one server. aiohttp answers a few protocol-level faults itself, before the
mock sees the request, with a plain-text 400 (listed in ``PROTOCOL_LEVEL``); those are the only
answers here that are not JSON.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer
from tests.support.constants import BASE

JSON = {"Content-Type": "application/json"}
START = b'{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}'
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer("contract-fuzzing") as running:
        yield running


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(overrides={"admin_token": "s3cret-admin-token"}) as running:
        yield running


def send(
    server: MockServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers={**server.headers, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def raw(server: MockServer, data: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


@pytest.fixture(autouse=True)
def no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def check(server: MockServer, status: int, content_type: str, body: bytes, expected: tuple[int, ...]) -> Any:
    assert status in expected, body[:300]
    assert 400 <= status < 500
    assert content_type.startswith("application/json"), (content_type, body[:200])
    answer = json.loads(body)
    assert answer["status"] == status and answer["message"]
    still, _, _ = send(server, "GET", f"{BASE}/history")
    assert still == 200  # the server serves on
    return answer


# --- bodies ------------------------------------------------------------------------------------------

BODIES: dict[str, tuple[bytes, dict[str, str], tuple[int, ...]]] = {
    "invalid JSON: an open brace": (b"{", JSON, (400,)),
    "invalid JSON: a trailing comma": (b'{"path": "/content/dam",}', JSON, (400,)),
    "invalid JSON: single quotes": (b"{'path': '/content/dam'}", JSON, (400,)),
    "invalid JSON: a comment": (b'{"path": "/content/dam" /* hi */}', JSON, (400,)),
    "invalid JSON: bare words": (b"path=/content/dam", JSON, (400,)),
    "invalid JSON: two documents": (START + START, JSON, (400,)),
    "invalid JSON: an unclosed string": (b'{"path": "/content', JSON, (400,)),
    "invalid JSON: a control character": (
        b'{"path": "/content/\x01dam", "type": "ASSET_PROCESSING"}',
        JSON,
        (400,),
    ),
    "empty body": (b"", JSON, (400,)),
    "whitespace only": (b"   \n\t ", JSON, (400,)),
    "NaN": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"startTime": NaN}}',
        JSON,
        (400,),
    ),
    "Infinity": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"endTime": Infinity}}',
        JSON,
        (400,),
    ),
    "-Infinity": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"endTime": -Infinity}}',
        JSON,
        (400,),
    ),
    "deep nesting: arrays": (b"[" * 100_000 + b"]" * 100_000, JSON, (400,)),
    "deep nesting: objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON, (400,)),
    "a 5,000-digit number": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"startTime": '
        + b"9" * 5000
        + b"}}",
        JSON,
        (400,),
    ),
    "a huge exponent": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"startTime": 1e999}}',
        JSON,
        (400,),
    ),
    "a fraction for an integer": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"startTime": 1.5}}',
        JSON,
        (400,),
    ),
    "a number as a string, out of range": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "filter": {"endTime": "-1"}}',
        JSON,
        (400,),
    ),
    "invalid UTF-8: a lone continuation byte": (
        b'{"path": "/content/\x80dam", "type": "ASSET_PROCESSING"}',
        JSON,
        (400,),
    ),
    "invalid UTF-8: a BOM of UTF-16": (b"\xff\xfe{\x00}\x00", JSON, (400,)),
    "invalid UTF-8: an overlong encoding": (
        b'{"path": "/\xc0\xaf", "type": "ASSET_PROCESSING"}',
        JSON,
        (400,),
    ),
    "a lone high surrogate": (b'{"path": "/content/dam/\\ud800", "type": "ASSET_PROCESSING"}', JSON, (400,)),
    "a lone low surrogate": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "excludedPaths": ["\\udc00"]}',
        JSON,
        (400,),
    ),
    "a JSON array": (b"[" + START + b"]", JSON, (400,)),
    "a JSON string": (b'"/content/dam"', JSON, (400,)),
    "a JSON number": (b"42", JSON, (400,)),
    "JSON null": (b"null", JSON, (400,)),
    "JSON true": (b"true", JSON, (400,)),
    # text/plain, a form type and no type at all are read as JSON, with a warning (test_http_errors.py)
    "wrong content type: XML": (START, {"Content-Type": "application/xml"}, (415,)),
    "wrong content type: multipart": (START, {"Content-Type": "multipart/form-data; boundary=x"}, (415,)),
    "an unknown field": (
        b'{"path": "/content/dam", "type": "ASSET_PROCESSING", "excludePaths": []}',
        JSON,
        (400,),
    ),
    "a wrong type": (b'{"path": 5, "type": "ASSET_PROCESSING"}', JSON, (400,)),
    "a relative path": (b'{"path": "content/dam", "type": "ASSET_PROCESSING"}', JSON, (400,)),
    "a traversal path": (b'{"path": "/content/dam/../../etc", "type": "ASSET_PROCESSING"}', JSON, (400,)),
    "an unknown type": (b'{"path": "/content/dam", "type": "DELETE_EVERYTHING"}', JSON, (400,)),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_bodies(server: MockServer, case: str) -> None:
    data, headers, expected = BODIES[case]
    check(server, *send(server, "POST", BASE, data, headers), expected)


def test_a_body_at_the_limit_is_accepted(server: MockServer) -> None:
    server.reset()
    data = START + b" " * (LIMIT - len(START))
    status, _, body = send(server, "POST", BASE, data, JSON)
    assert status == 200, body


def test_a_body_over_the_limit_is_a_413(server: MockServer) -> None:
    check(server, *send(server, "POST", BASE, START + b" " * LIMIT, JSON), (413,))


def test_a_chunked_body_over_the_limit_is_a_413(server: MockServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield START
        for _ in range(20):
            yield b" " * 65536

    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST", BASE, body=chunks(), headers={**server.headers, **JSON}, encode_chunked=True
        )
        response = connection.getresponse()
        answer = (response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        connection.close()
    check(server, *answer, (413,))


# --- query values --------------------------------------------------------------------------------------

QUERIES = [
    "offset=-1", "limit=-1", "tail=-1", "offset=1.5", "limit=abc", "tail=2147483648",
    "offset=99999999999999999999999", "offset=" + "9" * 5000, "offset=", "limit=%20", "tail=0x10",
    "offset=1&offset=2", "limit=1&limit=1", "processingId=a&processingId=b", "ofset=1", "size=10", "=x",
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_query_values(server: MockServer, query: str) -> None:
    pid = json.loads(send(server, "POST", BASE, START, JSON)[2]).get("processingId", "x")
    server.reset()
    check(server, *send(server, "GET", f"{BASE}/logs?processingId={pid}&{query}"), (400, 404))


def test_tail_with_offset_follows_the_contract(server: MockServer) -> None:
    """Listed in the hardening issue as a malformed query; the contract (§3.19) says tail wins."""
    server.reset()
    pid = json.loads(send(server, "POST", BASE, START, JSON)[2])["processingId"]
    status, _, body = send(server, "GET", f"{BASE}/logs?processingId={pid}&tail=2&offset=1")
    assert status == 200 and json.loads(body)["hasMore"] is False


# --- ids -----------------------------------------------------------------------------------------------

IDS = [
    "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "%00", "x%00y", "%0d%0aSet-Cookie:%20a=b",
    "%20%20", "x" * 2_000, "%F0%9F%92%A5", "%D7%A9%D7%9C%D7%95%D7%9D", "%E2%80%AE", "%C0%AF", "%FF",
    "'%20OR%201=1--", "%3Cscript%3E",
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ["status", "logs", "logs/download"])
@pytest.mark.parametrize("identifier", IDS, ids=[i[:20] for i in IDS])
def test_ids(server: MockServer, endpoint: str, identifier: str) -> None:
    check(server, *send(server, "GET", f"{BASE}/{endpoint}?processingId={identifier}"), (400, 404))


@pytest.mark.parametrize("identifier", ["../../etc/passwd", "x" * 10_240, "\U0001f4a5", "\u202e"])
@pytest.mark.parametrize("action", ["cancel", "resume"])
def test_ids_in_bodies(server: MockServer, action: str, identifier: str) -> None:
    data = json.dumps({"processingId": identifier}).encode()
    check(server, *send(server, "POST", f"{BASE}/{action}", data, JSON), (400, 404))


# --- methods and paths ------------------------------------------------------------------------------

METHODS = [
    ("GET", BASE), ("PUT", BASE), ("DELETE", BASE), ("PATCH", f"{BASE}/status"), ("POST", f"{BASE}/status"),
    ("POST", f"{BASE}/logs"), ("DELETE", f"{BASE}/logs/download"), ("GET", f"{BASE}/cancel"),
    ("PUT", f"{BASE}/resume"), ("POST", f"{BASE}/history"), ("DELETE", "/bin/guides/v1/system/status"),
    ("TRACE", f"{BASE}/status"), ("GET", f"{BASE}/"), ("GET", f"{BASE}.json"),  # Sling's spellings (§3.32)
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), METHODS)
def test_wrong_methods(server: MockServer, method: str, path: str) -> None:
    status, content_type, body = send(server, method, path)
    check(server, status, content_type, body, (405,))


PATHS = [
    "/", "/bin", f"{BASE}/unknown", f"{BASE}/status/x", f"{BASE}/status//", "/bin//guides/v1/assets/process",
    "/BIN/GUIDES/V1/ASSETS/PROCESS", "/%2e%2e/%2e%2e/etc/passwd", "/__admin/nothing",
    "/content/dam/22858", "/libs/granite/csrf/tokens.json",
]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_unknown_paths(server: MockServer, path: str) -> None:
    check(server, *send(server, "GET", path), (404,))


# --- the admin API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/__admin/journal", {}, 401),
        ("/__admin/journal", {"X-Admin-Token": "wrong"}, 401),
        ("/__admin/journal", {"X-Admin-Token": ""}, 401),
        ("/__admin/journal?token=s3cret-admin-token", {}, 400),
        ("/__admin/journal?X-Admin-Token=s3cret-admin-token", {"X-Admin-Token": "s3cret-admin-token"}, 400),
    ],
)
def test_admin_tokens(guarded: MockServer, path: str, headers: dict[str, str], expected: int) -> None:
    check(guarded, *send(guarded, "GET", path, headers=headers), (expected,))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Host": "evil.example"},
        {"Host": "evil.example:4502"},
        {"Host": "127.0.0.1.evil.example"},
    ],
)
def test_admin_refuses_web_pages_and_rebinding(server: MockServer, headers: dict[str, str]) -> None:
    check(server, *send(server, "GET", "/__admin/journal", headers=headers), (403,))


def test_admin_answers_loopback_names(server: MockServer) -> None:
    for host in ("localhost", "127.0.0.1", "localhost:4502"):
        status, _, _ = send(
            server, "GET", "/__admin/clock", headers={"Host": host, "Origin": f"http://{host}"}
        )
        assert status == 200


def test_admin_sends_no_cors_headers(server: MockServer) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/__admin/clock", headers={"Origin": "http://localhost"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


YAML_CASES = {
    "a Python tag": b"description: x\nrun: !!python/object/apply:os.system ['true']\n",
    "an alias bomb": b"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    + b"".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]\n".encode() for i in range(8)
    )
    + b"description: boom\n",
    "a recursive alias": b"description: x\nfaults: &r [*r]\n",
    "an oversized document": b"description: " + b"x" * (1024 * 1024 + 10) + b"\n",
    "a file reference outside the scenario folder": b"description: x\ninclude: ../../etc/passwd\n",
    "a repository file outside the folder": b"description: x\nrepository: {file: /etc/passwd}\n",
    "not UTF-8": b'description: "\xff\xfe"\n',
    "not a mapping": b"- just\n- a list\n",
    "a 400-digit number where a float is wanted": b"description: x\nsettings: {speed: " + b"9" * 400 + b"}\n",
    "a 5,000-digit number": b"description: x\nsettings: {speed: " + b"9" * 5000 + b"}\n",
    "a hexadecimal number too long to print": b"description: x\nseed: 0x" + b"f" * 3600 + b"\n",
    "a boolean key where field names are checked": b"description: x\nsettings: {true: 1}\n",
}


@pytest.mark.parametrize("case", list(YAML_CASES))
def test_scenario_yaml(server: MockServer, case: str) -> None:
    status, content_type, body = send(
        server, "PUT", "/__admin/scenario", YAML_CASES[case], {"Content-Type": "application/yaml"}
    )
    # Over the 1 MiB cap: refused (413) before it is read; every other case is read and refused (400).
    check(server, status, content_type, body, (413,) if case == "an oversized document" else (400,))
    assert server.mock.scenario.name == "contract-fuzzing"  # the last good scenario stays


# --- protocol-level faults: aiohttp answers these itself, in plain text ---------------------------------

PROTOCOL_LEVEL = {
    "a header line over 8190 bytes": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "a request line over 8190 bytes": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a malformed request line": b"GARBAGE\r\n\r\n",
    "a 10 KB processingId in the query": b"GET "
    + BASE.encode()
    + b"/status?processingId="
    + b"x" * 10_240
    + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a NUL byte in a header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n",
    "a bad chunk size": b"POST "
    + BASE.encode()
    + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


@pytest.mark.parametrize("case", list(PROTOCOL_LEVEL))
def test_protocol_level_faults_are_aiohttps_own_400s(
    server: MockServer, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = raw(server, PROTOCOL_LEVEL[case])
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"), answer[:100]
    assert send(server, "GET", f"{BASE}/history")[0] == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []  # no traceback
