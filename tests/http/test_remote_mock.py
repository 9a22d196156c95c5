"""RemoteMock over a real socket: a session of a server in another thread answers what MockServer
answers of its own mock (the journal read back field by field, jobs page by page, the clock, the
check), and the admin API's refusals become errors that say what to do."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer, RequestViolation, remote
from mock_server.core.journal import Exchange
from mock_server.remote import Admin, RemoteError, RemoteMock

START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(clock="real", environ={}) as served:
        yield served


def send(url: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> int:
    data = None if body is None else json.dumps(body).encode()
    sent = {**headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url + path, data=data, headers=sent)
    try:
        with urllib.request.urlopen(request) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def without_keywords(exchange: Exchange) -> Exchange:
    """``exchange`` as JSON carries it: a violation's ``keyword`` is Python's only."""

    def bare(found: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(violation.__class__(**{**_fields(violation), "keyword": ""}) for violation in found)

    return exchange._replace(request_violations=bare(exchange.request_violations),
                             response_violations=bare(exchange.response_violations),
                             warnings=bare(exchange.warnings))  # fmt: skip


def _fields(violation: Any) -> dict[str, Any]:
    return {name: getattr(violation, name) for name in violation.__slots__}


def test_the_journal_read_remotely_is_the_journal_kept(server: MockServer) -> None:
    server.load_scenario(None, vary=7)
    send(server.base_url, "", {**START, "excludePaths": ["/x"]}, server.headers)  # a violation
    send(server.base_url, "/history?size=5", None, server.headers)  # a warning, varied answers
    send(server.base_url, "", START, server.headers)
    default = RemoteMock(Admin(server.url), "default")  # the server's own mock, under its prefix
    kept = [without_keywords(exchange) for exchange in server.journal]
    assert default.journal == kept and len(kept) == 3
    assert kept[0].request_violations and kept[1].warnings and kept[1].variations
    assert default.violations == [kept[0]] and default.warnings == [kept[1]]
    assert default.calls("start", status=200) == [kept[2]]
    assert default.jobs == server.jobs != []
    with pytest.raises(ValueError, match="unknown operation 'stat'"):
        default.calls("stat")


def test_a_session_is_made_with_a_manual_clock_isolated_and_dropped(server: MockServer) -> None:
    admin = Admin(server.url)
    remote = RemoteMock(admin, "t-1", "fail-midway", {"per_asset": "50ms"}).start()
    assert send(remote.base_url, "", START, remote.headers) == 200
    assert remote.advance(5) == 1767225605000
    assert len(remote.jobs) == 1 and server.jobs == [] and server.journal == []
    with pytest.raises(RemoteError, match="answered 409: a session named 't-1' exists"):
        RemoteMock(admin, "t-1").start()
    remote.reset()
    assert remote.jobs == [] and remote.journal == []
    remote.stop()
    remote.stop()  # gone already: no error
    assert admin.expect("GET", "/__admin/sessions")["count"] == 0


def test_jobs_are_read_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mock_server.remote.PAGE", 2)
    with MockServer(environ={}) as server:
        for _ in range(5):
            assert send(server.base_url, "", START, server.headers) == 200
            server.advance(60)
        default = RemoteMock(Admin(server.url), "default")
        assert default.jobs == server.jobs and len(server.jobs) == 5


def test_load_scenario_makes_the_session_again(server: MockServer) -> None:
    remote = RemoteMock(Admin(server.url), "reload").start()
    send(remote.base_url, "", START, remote.headers)
    remote.load_scenario("fail-midway", per_asset="50ms")
    assert remote.jobs == []
    scenario = remote.admin.expect("GET", "/sessions/reload/__admin/scenario")
    assert scenario["name"] == "fail-midway"


def test_a_real_clock_cannot_be_advanced_as_locally(server: MockServer) -> None:
    remote = RemoteMock(Admin(server.url), "real", None, {"clock": "real"}).start()
    with pytest.raises(TypeError, match="not a manual one"):
        remote.advance(1)


def test_the_check_raises_what_the_client_broke(server: MockServer) -> None:
    remote = RemoteMock(Admin(server.url), "checked").start()
    remote.assert_no_violations()
    send(remote.base_url, "", {**START, "excludePaths": ["/x"]}, remote.headers)
    with pytest.raises(RequestViolation, match="body:/excludePaths"):
        remote.assert_no_violations()


def test_a_guarded_admin_api_asks_for_its_token() -> None:
    with MockServer(overrides={"admin_token": "s3cret"}, environ={}) as guarded:
        with pytest.raises(RemoteError, match="needs its token: pass --aem-admin-token TOKEN or set "
                                              "AEM_GUIDES_MOCK_ADMIN_TOKEN"):  # fmt: skip
            Admin(guarded.url).probe()
        Admin(guarded.url, "s3cret").probe()
        remote = RemoteMock(Admin(guarded.url, "s3cret"), "tokened").start()
        assert remote.advance(1) and remote.jobs == []
        remote.stop()


@pytest.mark.parametrize("endless", [False, True])
def test_an_admin_answer_past_the_cap_is_an_error_not_memory(
    monkeypatch: pytest.MonkeyPatch, endless: bool
) -> None:
    """A URL that answers without end (not the mock) is read no further than ``MAX_ANSWER_BYTES``
    and is an error naming the cap; an answer of exactly the cap is read."""
    cap = 1000
    monkeypatch.setattr(remote, "MAX_ANSWER_BYTES", cap)

    class Answering(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if not endless:
                self.wfile.write(b'"' + b"x" * (cap - 2) + b'"')
                return
            try:  # no length and no end: only the client leaving stops it
                while True:
                    self.wfile.write(b"x" * 4096)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    admin = remote.Admin(f"http://127.0.0.1:{server.server_address[1]}")
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(admin.call("GET", "/__admin/sessions"))
        except remote.RemoteError as error:
            outcome.append(error)

    asking = threading.Thread(target=ask, daemon=True)
    try:
        asking.start()
        asking.join(10)
        assert not asking.is_alive(), "the endless answer was read without end"
    finally:
        server.shutdown()
        server.server_close()
    [found] = outcome
    if endless:
        assert isinstance(found, remote.RemoteError)
        assert "more than 1000 bytes (MAX_ANSWER_BYTES)" in str(found)
    else:
        assert found == (200, "x" * (cap - 2))
