"""The dashboard's exchange page: one journal entry with its request's and response's headers and
bodies, secrets masked. Pure functions from the journal's record to escaped HTML.

The journal keeps what came (:class:`~mock_server.core.journal.Detail`: bounded, unmasked, since
masking every request would slow the API); the masking is done here, when the page is shown, with
the recorder's rules (:mod:`mock_server.recording.redaction`): the values of ``Authorization``,
``Cookie``, ``Set-Cookie``, ``CSRF-Token`` and every secret-named header (``X-Admin-Token``,
``X-Api-Key``…) are not shown (a cookie's name and an authorization's scheme are); a secret-named
field of a JSON or form body, or a ``password=…`` pair in any text, is ``[redacted]``; and a
credential taken from the headers (a Basic password, a token) is redacted wherever a body repeats it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..core.journal import MAX_DETAIL_BODY, Detail, Exchange
from ..recording.redaction import REDACTED, Secrets, redact_bytes, redact_document, redact_query
from ..recording.secrets import collect_header
from ..recording.text_redaction import redact_text
from .dashboard_pages import _e, _layout, _time

__all__ = ["exchange_page", "masked_body", "masked_headers"]

#: The most characters of one header's value shown.
_MAX_VALUE = 2000


def _masked_value(name: str, value: str) -> str:
    """What a secret header is shown as: the scheme of an authorization, the names of cookies."""
    if name in ("authorization", "proxy-authorization"):
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {REDACTED}" if rest else REDACTED
    if name == "cookie":
        return "; ".join(
            f"{part.partition('=')[0].strip()}={REDACTED}" for part in value.split(";") if part.strip()
        )
    if name == "set-cookie":
        return f"{value.partition('=')[0].strip()}={REDACTED}"
    return REDACTED


def masked_headers(
    pairs: Iterable[tuple[str | bytes, str | bytes]], side: str, secrets: Secrets
) -> list[tuple[str, str]]:
    """The headers as shown: each secret one masked (its value remembered in ``secrets``), the
    others' text redacted as a recorder redacts text (``Referer: …?token=…``)."""
    shown = []
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        if collect_header(name.lower(), value, secrets, side):
            value = _masked_value(name.lower(), value)
        else:
            value = redact_text(value, secrets, where=f"the {side} header {name[:100]}")
        shown.append((name, value[:_MAX_VALUE] + ("…" if len(value) > _MAX_VALUE else "")))
    return shown


def masked_body(body: bytes, content_type: str, secrets: Secrets) -> str:
    """A body's text as shown: JSON pretty-printed with its secret-named fields redacted, a form's
    secret-named values redacted, any other text redacted as text; then every credential the
    headers carried (``secrets``) redacted wherever it is repeated."""
    text = None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        text = redact_query(body.decode("utf-8", "replace"), secrets, what="form field")
    else:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # cut at the bound, or not JSON: shown as text
            pass
        else:
            text = json.dumps(redact_document(document, secrets), indent=2, ensure_ascii=False)
    if text is None:
        text = redact_bytes(body, secrets).decode("utf-8", "replace")
    for needle in secrets.needles():
        text = text.replace(needle.decode("utf-8", "replace"), REDACTED)
    return text


def _headers_table(pairs: list[tuple[str, str]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in pairs)
    return f'<table class="fields" id="{table_id}">{rows or "<tr><td>none</td></tr>"}</table>'


def _body(text: str, length: int, kept: int, pre_id: str) -> str:
    if length < 0:
        return f'<p class="note" id="{pre_id}-note">Streamed (a ZIP): its bytes are not kept.</p>'
    if length == 0:
        return f'<p class="note" id="{pre_id}-note">No body.</p>'
    note = ""
    if kept < length:
        note = (
            f'<p class="note truncated" id="{pre_id}-note">Truncated: the first {kept} of its {length} '
            f"bytes are kept (the journal keeps at most {MAX_DETAIL_BODY} of a body).</p>"
        )
    return f'{note}<pre id="{pre_id}">{_e(text)}</pre>'


def _content_type(pairs: Iterable[tuple[str | bytes, str | bytes]]) -> str:
    for name, value in pairs:
        text = name.decode("latin-1") if isinstance(name, bytes) else name
        if text.lower() == "content-type":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return ""


def exchange_page(
    number: int,
    exchange: Exchange,
    kept: Detail | None,
    *,
    clock: str,
    scenario: str,
    session: str | None = None,
) -> str:
    """One exchange (``number`` in the journal): what was asked and answered (``kept``: None when
    it was not), masked."""
    detail = kept or Detail((), b"", 0, (), b"", -1)
    secrets = Secrets()
    sent = masked_headers(detail.request_headers, "request", secrets)
    answered = masked_headers(detail.response_headers, "response", secrets)
    request_text = masked_body(detail.request_body, _content_type(detail.request_headers), secrets)
    response_text = masked_body(detail.response_body, _content_type(detail.response_headers), secrets)
    query = f"?{redact_query(exchange.query, secrets)}" if exchange.query else ""
    summary = (
        f'<p><a href="../journal">back to the journal</a></p><table class="fields" id="summary">'
        f"<tr><th>at</th><td>{_time(exchange.at_ms)}</td></tr>"
        f"<tr><th>request</th><td>{_e(exchange.method)} {_e(exchange.path)}{_e(query)}</td></tr>"
        f"<tr><th>operation</th><td>{_e(exchange.operation or '')}</td></tr>"
        f'<tr><th>status</th><td id="status">{_e(exchange.status)}</td></tr>'
        f"<tr><th>user</th><td>{_e(exchange.user or '')}</td></tr>"
        f"<tr><th>fault</th><td>{_e(exchange.fault or '')}</td></tr></table>"
    )
    none = "" if kept else '<p class="note">Its headers and bodies were not kept.</p>'
    body = (
        f"{summary}{none}<h2>Request headers</h2>{_headers_table(sent, 'request-headers')}"
        f"<h2>Request body</h2>"
        f"{_body(request_text, detail.request_length, len(detail.request_body), 'request-body')}"
        f"<h2>Response headers</h2>{_headers_table(answered, 'response-headers')}"
        f"<h2>Response body</h2>"
        f"{_body(response_text, detail.response_length, len(detail.response_body), 'response-body')}"
    )
    return _layout(
        f"Exchange {number}", "../", "exchange", body, clock=clock, scenario=scenario, session=session
    )
