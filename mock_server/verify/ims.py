"""``verify``'s access token from Adobe IMS, fetched as an AEM as a Cloud Service client fetches one:
the OAuth server-to-server ``client_credentials`` grant, ``POST {IMS}/ims/token/v3`` with a form.

Bounded like every request of verify (a timeout, an answer read up to :data:`MAX_TOKEN_ANSWER`
bytes); a refusal or an answer without a token is a :class:`~.target.SetupError` quoting IMS's
``error`` and ``error_description``, never the secret.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

from .target import SetupError

__all__ = ["MAX_TOKEN_ANSWER", "fetch_token"]

#: The most bytes of IMS's answer read (a token answer is a few KiB).
MAX_TOKEN_ANSWER = 64 * 1024


def _said(raw: bytes) -> str:
    """IMS's ``error: error_description`` from a refusal's body, or its first bytes."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace") or "no body"
    if isinstance(body, dict) and "error" in body:
        return f"{str(body['error'])[:80]}: {str(body.get('error_description', ''))[:200]}"
    return raw[:200].decode("utf-8", "replace")


def fetch_token(ims_url: str, client_id: str, secret: str, scope: str, timeout_s: float = 30.0) -> str:
    """An access token for ``client_id`` from the IMS at ``ims_url``; SetupError saying why not."""
    url = ims_url.rstrip("/") + "/ims/token/v3"
    form = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                      "scope": scope}).encode()  # fmt: skip
    request = urllib.request.Request(url, form, {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            raw = answer.read(MAX_TOKEN_ANSWER + 1)
    except urllib.error.HTTPError as refused:
        with refused:
            said = _said(refused.read(MAX_TOKEN_ANSWER))
        fix = "check --client-id, the secret in --client-secret-env and --ims-scope"
        raise SetupError(f"IMS at {url} refused the token request ({refused.code}): {said}; {fix}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SetupError(f"IMS at {url} could not be reached: {reason}; check --ims-url") from None
    if len(raw) > MAX_TOKEN_ANSWER:
        raise SetupError(f"IMS at {url} answered more than {MAX_TOKEN_ANSWER} bytes: not a token answer")
    try:
        token = json.loads(raw).get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise SetupError(f"IMS at {url} answered 200 without an access_token: {raw[:200]!r}")
    return token
