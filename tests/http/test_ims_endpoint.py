"""``POST /ims/token/v3`` over a real socket: a Cloud client's token, used until it expires on the
mock's clock (then a 401 a refresh looks for), IMS's refusals, bounded input, isolation by session."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer

SCENARIO = """description: a Cloud author's IMS clients
ims: {clients: {my-client: s3cret}, token_ttl: 1h, scopes: [openid, AdobeID]}
"""
FORM = {"grant_type": "client_credentials", "client_id": "my-client", "client_secret": "s3cret",
        "scope": "openid,AdobeID"}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(SCENARIO) as running:
        yield running


def _call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
          method: str | None = None) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.load(refused)


def token(base: str, **changes: str) -> tuple[int, Any]:
    form = urllib.parse.urlencode({**FORM, **changes}).encode()
    status, _, body = _call(
        base + "/ims/token/v3", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    return status, body


def history(
    server: MockServer, access_token: str, base: str | None = None
) -> tuple[int, dict[str, str], Any]:
    url = (base or server.url) + "/bin/guides/v1/assets/process/history"
    return _call(url, headers={"Authorization": f"Bearer {access_token}"})


def test_a_token_is_served_until_it_expires_on_the_clock_then_a_401_says_so(server: MockServer) -> None:
    server.reset()
    status, body = token(server.url)
    assert status == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3600, body
    assert history(server, body["access_token"])[0] == 200
    server.advance(3599)
    assert history(server, body["access_token"])[0] == 200
    server.advance(1)
    status, headers, refused = history(server, body["access_token"])
    assert status == 401 and headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"'), headers
    assert "expired" in refused["message"] and "/ims/token/v3" in refused["message"]
    fresh = token(server.url)[1]["access_token"]
    assert history(server, fresh)[0] == 200
    kept = json.dumps([exchange.to_json() for exchange in server.journal])
    assert "s3cret" not in kept and body["access_token"] not in kept  # the journal names the client only
    assert [e.user for e in server.journal if e.operation == "ims-token"] == ["my-client", "my-client"]


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone"}, 400, "invalid_client"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, 400, "unsupported_grant_type"),
        ({"scope": "openid,read_everything"}, 400, "invalid_scope"),
    ],
)
def test_a_bad_token_request_gets_ims_s_error(server: MockServer, changes: dict[str, str], status: int,
                                              error: str) -> None:  # fmt: skip
    answered, body = token(server.url, **changes)
    assert answered == status and body["error"] == error and body["error_description"], body


def test_a_token_the_mock_did_not_issue_or_forgot_in_a_reset_is_refused(server: MockServer) -> None:
    access_token = token(server.url)[1]["access_token"]
    assert history(server, access_token + "x")[0] == 401
    server.reset()
    status, headers, _ = history(server, access_token)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")  # unknown: no longer ours


@pytest.mark.parametrize(
    ("data", "content_type", "method", "status", "said"),
    [
        (None, None, "GET", 405, "takes POST"),
        (json.dumps(FORM).encode(), "application/json", "POST", 400, "as a form"),
        (b"grant_type=" + b"x" * 20_000, "application/x-www-form-urlencoded", "POST", 413, "at most"),
        (
            b"&".join(b"f%d=1" % n for n in range(50)),
            "application/x-www-form-urlencoded",
            "POST",
            400,
            "too many",
        ),
        (b"client_id=\xff\xfe", "application/x-www-form-urlencoded", "POST", 400, "not UTF-8"),
        (b"client_id=%ff%fe", "application/x-www-form-urlencoded", "POST", 400, "not UTF-8"),
    ],
)
def test_a_request_that_is_no_token_form_gets_a_4xx_naming_why(
    server: MockServer, data: bytes | None, content_type: str | None, method: str, status: int, said: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answered, _, body = _call(server.url + "/ims/token/v3", data, headers, method)
    assert answered == status and body["error"] == "invalid_request" and said in body["error_description"], (
        body
    )
    assert token(server.url)[0] == 200  # and the endpoint serves on


def test_a_session_s_tokens_are_its_own_and_a_server_without_clients_serves_no_endpoint() -> None:
    with MockServer(SCENARIO) as server, MockServer() as plain:
        body = json.dumps({"name": "team-a", "scenario": SCENARIO}).encode()
        made = _call(server.url + "/__admin/sessions", body, {"Content-Type": "application/json"})
        assert made[0] == 201, made
        session = server.url + "/sessions/team-a"
        access_token = token(session)[1]["access_token"]
        assert history(server, access_token, session)[0] == 200
        assert history(server, access_token)[0] == 401  # not the default session's
        status, _, refused = _call(plain.url + "/ims/token/v3", b"grant_type=client_credentials",
                                   {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert status == 404 and "ims: {clients:" in refused["message"]
