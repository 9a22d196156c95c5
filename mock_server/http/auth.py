"""Who is calling: HTTP Basic users and Bearer tokens (contract §1, "Authentication"), and the
AEM UI's sessions, the ``login-token`` cookie (§3.41)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from ..core.bounded import BoundedCache
from ..core.ims import Issued, TokenIssuer, technical_account
from ..core.settings import LOGIN_COOKIE, Settings

__all__ = ["Authenticator", "authenticate", "ims_grant", "login_cookies", "session_user"]


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def authenticate(authorization: str | None, settings: Settings) -> str | None:
    """The user id that ``authorization`` (the header's value) proves, or None.

    Passwords and tokens are compared in constant time, and every configured one is compared, so
    the answer's timing tells nothing about which part was wrong.
    """
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # not base64 (or not ASCII), or not UTF-8
            return None
        user, sep, password = decoded.partition(":")
        if not sep:
            return None
        if user in settings.any_password_users:  # a replayed recording's user: the tape kept no password
            return user
        expected = settings.users.get(user)
        # Compare against something even for an unknown user, so timing does not reveal users.
        ok = _equal(password, expected if expected is not None else "\0" + password)
        return user if ok and expected is not None else None
    if scheme.lower() == "bearer" and credentials:
        found = None
        for token, user in settings.tokens.items():
            if _equal(credentials, token):
                found = user
        return found
    return None


def ims_grant(authorization: str, ims: TokenIssuer) -> Issued | None:
    """The grant of the IMS access token ``authorization`` (the header's value) sends as Bearer,
    expired or not; None when it sends none of ``ims``'s tokens."""
    if not ims.enabled or authorization[:7].lower() != "bearer ":
        return None
    return ims.find(authorization[7:].strip())


def login_cookies(headers: Iterable[str], most: int = 8) -> list[str]:
    """The values of the ``login-token`` cookies in the ``Cookie`` ``headers``, at most ``most``.

    A browser holding two (set for two paths) sends both, the more specific first; an author that
    knows either session serves the request, so every one is kept, not only the last.
    """
    values: list[str] = []
    for header in headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            if sep and name.strip() == LOGIN_COOKIE and len(values) < most:
                value = value.strip()
                quoted = len(value) >= 2 and value[0] == value[-1] == '"'
                values.append(value[1:-1] if quoted else value)
    return values


def session_user(cookies: Iterable[str], settings: Settings) -> str | None:
    """The user id of the ``login-token`` session one of ``cookies`` (their values) names, or None.

    A value matches written %-encoded (as the browser sends it, ``…%3acrx.default``) or decoded,
    in either case of hex digits. Every session is compared, in constant time.
    """
    found = None
    for cookie in cookies:
        if not cookie:
            continue
        given = unquote(cookie)
        for value, user in settings.login_tokens.items():
            if _equal(given, unquote(value)) and found is None:
                found = user
    return found


class Authenticator:
    """:func:`authenticate` for one set of settings, remembering credentials already proven.

    A client sends the same header with every poll; decoding and comparing it once is enough.
    Only successes are kept (at most ``size``, in ``max_bytes``), so wrong guesses cost the full
    check each time. An IMS access token (``ims``) is looked at every time: it expires on the
    mock's clock (``now``).
    """

    def __init__(
        self,
        settings: Settings,
        size: int = 1000,
        max_bytes: int = 1024 * 1024,
        ims: TokenIssuer | None = None,
        now: Callable[[], int] = lambda: 0,
    ) -> None:
        self._settings = settings
        self._known: BoundedCache[str, str] = BoundedCache(size, max_bytes)
        self._ims, self._now = ims, now

    def __call__(self, authorization: str | None) -> str | None:
        if authorization is None:
            return None
        issued = None if self._ims is None else ims_grant(authorization, self._ims)
        if issued is not None:  # an IMS token: valid until it expires, never remembered
            return technical_account(issued.client_id) if self._now() < issued.expires_at_ms else None
        user = self._known.get(authorization)
        if user is None:
            user = authenticate(authorization, self._settings)
            if user is not None:
                self._known.put(authorization, user, 2 * (len(authorization) + len(user)) + 100)
        return user
