"""IMS access tokens (core/ims.py): issued for the scenario's clients, refused as IMS refuses, bounded."""

from __future__ import annotations

import base64
import json

import pytest

from mock_server.core import ims
from mock_server.core.ims import ImsError, TokenIssuer

FORM = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s3cret", "scope": "openid"}


def _issuer(scopes: tuple[str, ...] = ("openid", "AdobeID")) -> TokenIssuer:
    return TokenIssuer({"app": "s3cret"}, scopes, ttl_ms=86_400_000)


def test_a_token_is_a_jwt_saying_its_client_and_expiry_and_expires_on_the_clock() -> None:
    issuer = _issuer()
    token, issued = issuer.issue(FORM, now_ms=1_000)
    _, claims, signature = token.split(".")
    said = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert (said["client_id"], said["created_at"], said["expires_in"]) == ("app", "1000", "86400000")
    assert said["type"] == "access_token" and len(signature) >= 40
    assert issued.expires_at_ms == 86_401_000 and issuer.find(token) == issued
    assert issuer.find(token + "x") is None
    other, _ = issuer.issue(FORM, now_ms=1_000)
    assert other != token  # each is new


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "unsupported_grant_type"),
        ({"client_id": "nobody"}, 400, "invalid_client"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_secret": ""}, 401, "invalid_client"),
        ({"scope": "openid,admin"}, 400, "invalid_scope"),
    ],
)
def test_a_bad_request_is_refused_as_ims_refuses(changes: dict[str, str], status: int, error: str) -> None:
    with pytest.raises(ImsError) as refused:
        _issuer().issue({**FORM, **changes}, now_ms=0)
    assert (refused.value.status, refused.value.error) == (status, error)


def test_no_scopes_named_lets_any_scope_through_and_the_tokens_kept_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = _issuer(scopes=())
    first, _ = issuer.issue({**FORM, "scope": "anything,at-all"}, now_ms=0)
    monkeypatch.setattr(ims, "MAX_TOKENS", 3)
    tokens = [issuer.issue(FORM, now_ms=0)[0] for _ in range(5)]
    assert len(issuer) == 3 and issuer.find(first) is None and issuer.find(tokens[-1]) is not None
    issuer.clear()
    assert issuer.find(tokens[-1]) is None and not TokenIssuer({}, (), 1).enabled
