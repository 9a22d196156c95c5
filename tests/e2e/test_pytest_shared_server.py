"""``pytest --aem-url``: the plugin's tests share one server, each in a fresh session of it.

An inner pytest (pytester) runs against a server the outer test started (a MockServer in a thread,
or a real ``serve`` process with xdist workers): no server of its own, each test's jobs, clock and
violations its own, every session deleted after its test.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from mock_server import MockServer
from tests.e2e.test_pytest_plugin import CLIENT
from tests.support.dev_server import serving

#: Two tests that each start a job and see only their own; one that breaks the contract.
SHARING = """
import pytest
from client import call

JOB = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}

def own_job_only(aem_mock, path):
    assert "/sessions/" in aem_mock.url
    status, body = call(aem_mock, "", {**JOB, "path": path})
    assert status == 200, body
    assert aem_mock.advance(60) == 1767225660000      # a manual clock, from the mock's epoch
    assert [job["processingId"] for job in aem_mock.jobs] == [body["processingId"]]
    assert [job["status"] for job in aem_mock.jobs] == ["SUCCESS"]
    assert [e.operation for e in aem_mock.journal] == ["start"]

@pytest.mark.parametrize("n", range(%(copies)d))
def test_one(aem_mock, request, n):
    assert "aem_mock_server" not in request.fixturenames   # no server of the run's own
    own_job_only(aem_mock, "/content/dam/22858")

@pytest.mark.parametrize("n", range(%(copies)d))
@pytest.mark.aem_scenario("default", per_asset="50ms")
def test_two(aem_mock, n):
    own_job_only(aem_mock, "/content/dam/status-fetch1")

def test_typo(aem_mock):
    status, _ = call(aem_mock, "", {**JOB, "excludePaths": ["/content/dam/demo"]})
    assert status == 400
    assert len(aem_mock.calls("start", status=400)) == 1 and len(aem_mock.violations) == 1
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(client=CLIENT)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def sessions_of(url: str) -> int:
    with urllib.request.urlopen(url + "/__admin/sessions") as answer:
        return int(json.load(answer)["count"])


def assert_shared(result: pytest.RunResult, copies: int) -> None:
    result.assert_outcomes(passed=2 * copies + 1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_typo*",
            "*the client under test broke the API contract (1 violation in 1 request):",
            "*body:/excludePaths: `excludePaths` is not a field of the start request*",
            "*@pytest.mark.aem_strict(False)*",
        ]
    )


def test_each_test_gets_its_own_session_of_the_shared_server(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 2})
    with MockServer(clock="real") as server:  # a real clock: each session gets a manual one
        result = suite.runpytest("-p", "no:cacheprovider", "--aem-url", server.url)
        assert_shared(result, copies=2)
        assert sessions_of(server.url) == 0, "every session is deleted after its test"
        assert server.jobs == [] and server.journal == [], "the default session saw none of it"


def test_the_url_comes_from_the_environment(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 1})
    with MockServer(clock="real") as server:
        monkeypatch.setenv("AEM_GUIDES_MOCK_URL", server.url)
        assert_shared(suite.runpytest("-p", "no:cacheprovider"), copies=1)
        assert sessions_of(server.url) == 0 and server.jobs == []


def test_a_token_guarded_admin_api_takes_the_token(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 1})
    with MockServer(clock="real", overrides={"admin_token": "s3cret"}, environ={}) as server:
        monkeypatch.setenv("AEM_GUIDES_MOCK_ADMIN_TOKEN", "s3cret")
        assert_shared(suite.runpytest("-p", "no:cacheprovider", "--aem-url", server.url), copies=1)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_url_is_a_usage_error_naming_it_and_the_fix(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 1})
    url = f"http://127.0.0.1:{closed_port()}"
    result = suite.runpytest("-p", "no:cacheprovider", "--aem-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--aem-url: cannot reach {url} (*): start one there "
                                 "(aem-guides-mock serve --port 4502), or drop --aem-url*"])  # fmt: skip


@pytest.fixture
def other_server() -> Iterator[str]:
    """A web server that is not the mock: every request a 501 HTML page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_that_is_not_the_mock_is_a_usage_error(suite: pytest.Pytester, other_server: str) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 1})
    result = suite.runpytest("-p", "no:cacheprovider", "--aem-url", other_server)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    said = "(GET /__admin/sessions answered 501 (no JSON)): start one there*"
    result.stderr.fnmatch_lines(
        [f"*--aem-url: {other_server} is not an aem-guides-mock with sessions {said}"]
    )


@pytest.mark.slow
def test_xdist_workers_share_a_serve_process(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_shared=SHARING % {"copies": 4})
    with serving() as (_, url, _banner):  # a real clock, as a team's server runs
        result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--aem-url", url)
        assert_shared(result, copies=4)
        result.stdout.fnmatch_lines(["*2 workers*"])
        assert sessions_of(url) == 0
