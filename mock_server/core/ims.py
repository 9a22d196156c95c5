"""Adobe IMS access tokens, as AEM as a Cloud Service's clients get them: the OAuth server-to-server
``client_credentials`` grant of ``POST /ims/token/v3``, tokens that expire on the mock's clock.

Pure: the HTTP edge (``http/ims.py``) reads the form and answers; this issues, checks and forgets.
A token is shaped as IMS's are, a JWT (``header.claims.signature``, base64url) whose claims say
``client_id``, ``created_at`` and ``expires_in`` (milliseconds, as strings): a client that reads its
token's expiry reads it as from IMS. The signature is random; only this issuer knows its tokens.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["MAX_TOKENS", "ImsError", "Issued", "TokenIssuer", "technical_account"]

#: The most tokens kept: past it the oldest are forgotten (its holder gets a 401, as when it expires).
MAX_TOKENS = 10_000


class ImsError(Exception):
    """A token request IMS refuses: ``status``, the OAuth ``error`` code and its description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass(frozen=True, slots=True)
class Issued:
    """A token handed out: for whom, and until when (mock clock, ms)."""

    client_id: str
    expires_at_ms: int


def technical_account(client_id: str) -> str:
    """The user a client's token acts as, named as AEM names an IMS technical account."""
    return f"{client_id}@techacct.adobe.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """The tokens of one mock: issued for its ``clients`` (id → secret) within ``scopes`` (any,
    when empty), each valid ``ttl_ms`` on the mock's clock; at most :data:`MAX_TOKENS` kept."""

    def __init__(self, clients: Mapping[str, str], scopes: Sequence[str], ttl_ms: int) -> None:
        self.clients, self.scopes, self.ttl_ms = dict(clients), frozenset(scopes), ttl_ms
        self._tokens: dict[str, Issued] = {}
        self.issued = 0
        """How many tokens were ever issued."""

    @property
    def enabled(self) -> bool:
        return bool(self.clients)

    def issue(self, form: Mapping[str, str], now_ms: int) -> tuple[str, Issued]:
        """A token for the ``client_credentials`` request ``form``; ImsError naming what is wrong."""
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            shown = f"{grant[:40]!r}" if grant else "none"
            raise ImsError(400, "unsupported_grant_type", f"grant_type is {shown}: this mock issues "
                           "client_credentials tokens (OAuth server-to-server); the JWT exchange is "
                           "deprecated")  # fmt: skip
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        expected = self.clients.get(client_id)
        # compared in constant time, and against something for an unknown client too
        matches = hmac.compare_digest(
            secret.encode(), (expected if expected is not None else "\0" + secret).encode()
        )
        if expected is None:
            raise ImsError(
                400, "invalid_client", "invalid client_id parameter: no client of this id (ims.clients)"
            )
        if not matches:
            raise ImsError(401, "invalid_client", "invalid client_secret parameter")
        asked = {scope.strip() for scope in form.get("scope", "").split(",") if scope.strip()}
        unknown = sorted(asked - self.scopes) if self.scopes else []
        if unknown:
            raise ImsError(400, "invalid_scope", f"invalid scope: {', '.join(unknown)[:200]} (ims.scopes: "
                           f"{', '.join(sorted(self.scopes))[:200]})")  # fmt: skip
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "x5u": "ims_na1-key-at-1.cer"}).encode())
        claims = {"type": "access_token", "client_id": client_id, "user_id": technical_account(client_id),
                  "as": "ims-na1", "created_at": str(now_ms), "expires_in": str(self.ttl_ms),
                  "scope": ",".join(sorted(asked))}  # fmt: skip
        token = f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"
        issued = Issued(client_id, now_ms + self.ttl_ms)
        self._tokens[token] = issued
        self.issued += 1
        while len(self._tokens) > MAX_TOKENS:
            del self._tokens[next(iter(self._tokens))]
        return token, issued

    def find(self, token: str) -> Issued | None:
        """The token's grant, expired or not; None for a token this issuer did not hand out (or forgot)."""
        return self._tokens.get(token)

    def clear(self) -> None:
        """Forget every token (a reset): a token handed out before is refused."""
        self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)
