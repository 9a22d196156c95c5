"""``GET /__admin/health``: what a container's ``HEALTHCHECK`` and a readiness probe call. It answers
anyone, whatever guards the admin API (a token, loopback only, switched off), and tells nothing but
``{"status": "ok"}``; the rest of the admin API stays guarded, from an address that is not loopback
too (a client through a container's port mapping)."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer

HEALTH = "/__admin/health"
TOKEN = "s3cret-admin"


def _outward_address() -> str | None:
    """An address of this machine that is not loopback (a datagram socket "connected" sends nothing),
    or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never reached, only routed
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None, response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


@contextlib.contextmanager
def _served_outward(**overrides: Any) -> Iterator[str]:
    """A mock bound to every address, and the URL of it on an address that is not loopback."""
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address but loopback: a remote client cannot be played")
    with MockServer(host="0.0.0.0", overrides=overrides, environ={}) as server:
        yield f"http://{address}:{server.url.rsplit(':', 1)[1]}"


@pytest.mark.parametrize(
    "overrides",
    [{}, {"admin_token": TOKEN}, {"admin_enabled": False}],
    ids=["loopback-only", "token", "switched-off"],
)
def test_health_answers_a_remote_client_whatever_guards_the_admin_api(overrides: dict[str, Any]) -> None:
    with _served_outward(**overrides) as url:
        status, body, headers = _get(url + HEALTH)
        assert (status, body) == (200, {"status": "ok"})
        assert headers["Cache-Control"] == "no-store"
        assert _get(url + HEALTH, method="HEAD")[0] == 200
        status, _, _ = _get(url + "/__admin/journal")  # the rest of the admin API stays guarded
        assert status in (401, 403, 404)


def test_the_admin_api_refuses_a_remote_client_without_a_token_and_names_the_setting() -> None:
    with _served_outward() as url:
        status, body, _ = _get(url + "/__admin/journal")
        assert status == 403 and "AEM_GUIDES_MOCK_ADMIN_TOKEN" in body["message"], body
    with _served_outward(admin_token=TOKEN) as url:
        assert _get(url + "/__admin/journal")[0] == 401
        assert _get(url + "/__admin/journal", {"X-Admin-Token": TOKEN})[0] == 200


def test_health_is_not_in_the_journal_and_takes_no_other_method() -> None:
    with MockServer(environ={}) as server:
        assert _get(server.url + HEALTH)[0] == 200
        status, body, headers = _get(server.url + HEALTH, method="POST")
        assert status == 405 and headers["Allow"] == "GET, HEAD" and "use GET" in body["message"], body
        assert server.journal == []
