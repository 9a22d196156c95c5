"""Credentials: HTTP Basic users and Bearer tokens."""

from __future__ import annotations

import base64

import pytest

from mock_server import Settings
from mock_server.http.auth import authenticate

SETTINGS = Settings(users={"admin": "admin", "ana": "pä:ss"}, tokens={"tok-1": "svc"})


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    ("header", "user"),
    [
        (basic("admin:admin"), "admin"),
        (basic("ana:pä:ss"), "ana"),  # the password may hold a colon
        ("basic " + base64.b64encode(b"admin:admin").decode(), "admin"),
        ("Bearer tok-1", "svc"),
        (basic("admin:wrong"), None),
        (basic("nobody:admin"), None),
        (basic("admin"), None),
        ("Basic %%%", None),
        ("Basic " + base64.b64encode(b"\xff:\xff").decode(), None),
        ("Bearer tok-2", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
        ("Negotiate abc", None),
    ],
)
def test_authenticate(header: str | None, user: str | None) -> None:
    assert authenticate(header, SETTINGS) == user


def test_the_authenticator_remembers_only_successes() -> None:
    from mock_server.http.auth import Authenticator

    check = Authenticator(SETTINGS, size=2)
    assert check(basic("admin:admin")) == "admin"
    assert check(basic("admin:admin")) == "admin"
    assert check(basic("admin:wrong")) is None
    assert check("Bearer tok-1") == "svc"
    assert check(basic("ana:pä:ss")) == "ana"  # past the size: checked, not kept
    assert len(check._known) == 2
    assert check(None) is None
