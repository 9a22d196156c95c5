"""``calls()``: the journal queried by operation, method, status and findings, over a real socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from mock_server import AemMock, MockServer


def send(server: MockServer, method: str, url: str, body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    headers = {**server.headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as server:
        assert send(server, "POST", server.base_url, START) == 200
        assert send(server, "POST", server.base_url, {**START, "typo": 1}) == 400
        assert send(server, "GET", server.base_url + "/status?processingId=nope") in (400, 404)
        yield server


def test_every_filter_is_optional_and_all_of_them_apply(server: MockServer) -> None:
    assert server.calls() == server.journal and len(server.journal) == 3
    starts = server.calls("start")
    assert [e.status for e in starts] == [200, 400]
    (bad,) = server.calls(operation="start", status=400)
    assert bad.request_violations and bad.operation == "start"
    assert server.calls("start", status=200, violations=True) == []
    assert server.calls(method="get") == server.calls("status")  # any case
    assert [e.status for e in server.calls(method="POST", violations=False)] == [200]
    assert server.calls(violations=True) == server.violations
    assert server.calls(warnings=True) == server.warnings
    assert server.calls(status=200, method="DELETE") == []


def test_a_misspelt_operation_names_the_known_ones(server: MockServer) -> None:
    with pytest.raises(ValueError, match=r"'strat'.*start, status"):
        server.calls("strat")


def test_the_fixture_s_object_queries_the_same(server: MockServer) -> None:
    handle = AemMock(server)
    assert handle.calls("start", status=400) == server.calls("start", status=400) != []
    assert handle.calls(method="post", violations=False) == server.calls(method="POST", violations=False)
