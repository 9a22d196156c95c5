"""``POST /ims/token/v3``: Adobe IMS's token endpoint, as an AEM as a Cloud Service client calls it
for an OAuth server-to-server access token (:mod:`..core.ims` issues and checks them).

A form (``application/x-www-form-urlencoded``) of ``grant_type=client_credentials``, ``client_id``,
``client_secret`` and ``scope`` answers ``{"access_token", "token_type": "bearer", "expires_in"}``
(seconds); a refusal answers IMS's OAuth shape, ``{"error", "error_description"}``. Each call is
in the journal (its client, never its secret or its token). Off (404) until a scenario names clients.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from aiohttp import web

from ..core.ims import ImsError
from ..core.journal import Exchange
from .inflate import BodyTooLarge, BodyUnreadable, read_body
from .runtime import mock_of

__all__ = ["IMS_TOKEN_PATH", "ims_token"]

IMS_TOKEN_PATH = "/ims/token/v3"
#: The most bytes of a token request read: a form of four short fields.
MAX_FORM_BYTES = 16 * 1024
_FIELDS = ("grant_type", "client_id", "client_secret", "scope")


def _refused(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def ims_token(request: web.Request) -> web.Response:
    """Issue an access token for a form's client credentials (see the module)."""
    mock = mock_of(request)
    if not mock.ims.enabled:
        return web.json_response(
            {"status": 404, "error": "Not Found", "message": f"{IMS_TOKEN_PATH} is served when the "
             "scenario names IMS clients: ims: {clients: {CLIENT_ID: SECRET}}"}, status=404)  # fmt: skip
    if request.method != "POST":
        answer = _refused(405, "invalid_request", f"{IMS_TOKEN_PATH} takes POST")
        answer.headers["Allow"] = "POST"
        return answer
    if request.content_type != "application/x-www-form-urlencoded":
        return _refused(400, "invalid_request", "send the credentials as a form: Content-Type "
                        f"application/x-www-form-urlencoded, not {request.content_type[:80]!r}")  # fmt: skip
    try:
        raw = await read_body(request, MAX_FORM_BYTES, mock.settings.body_timeout_ms / 1000)
        text = raw.decode("utf-8")
    except BodyTooLarge:
        return _refused(413, "invalid_request", f"a token request is at most {MAX_FORM_BYTES} bytes")
    except (BodyUnreadable, UnicodeDecodeError, TimeoutError):
        return _refused(400, "invalid_request", "the form could not be read (not UTF-8, or cut off)")
    try:
        parsed = parse_qs(text, max_num_fields=len(_FIELDS) * 2, errors="strict")
    except UnicodeDecodeError:
        return _refused(400, "invalid_request", "a field is %-encoded bytes that are not UTF-8")
    except ValueError:
        return _refused(400, "invalid_request", f"too many fields: send {', '.join(_FIELDS)}")
    form = {name: values[0] for name, values in parsed.items() if name in _FIELDS}
    now = mock.clock.now_ms()
    client = form.get("client_id", "")[:200] or None
    try:
        token, issued = mock.ims.issue(form, now)
    except ImsError as error:
        answer = _refused(error.status, error.error, error.description)
    else:
        expires_in = max(0, (issued.expires_at_ms - now) // 1000)
        answer = web.json_response({"access_token": token, "token_type": "bearer", "expires_in": expires_in})
    mock.journal.record(Exchange(now, "POST", IMS_TOKEN_PATH, "", answer.status, client, "ims-token"))
    return answer
