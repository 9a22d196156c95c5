"""The bytes a secret can take in a tape: how JSON encoders, URL encoders and HTML escapers spell it.

The audit (:mod:`.audit`) looks for a secret in every spelling an upstream may give it, not only
Python's: an author runs on Java (Jackson, Gson, org.json, ``URLEncoder``), a proxy in front of it
on anything. :func:`needle_forms` answers the set of those spellings as bytes:

- as UTF-8 (a byte that was not UTF-8, kept by ``surrogateescape``, as that byte again);
- JSON-escaped: with ``ensure_ascii`` and without (Python), ``/`` as ``\\/`` (PHP, org.json),
  ``< > & = '`` as ``\\u003c``-style escapes (Gson), and every ``\\u`` escape in upper-case hex too
  (Jackson writes ``\\u00E4``), in every combination;
- URL-encoded: ``%20`` and ``+`` for a space, ``/`` kept or encoded (Python), as Java's
  ``URLEncoder`` does (``*`` kept, ``~`` encoded), as JavaScript's ``encodeURIComponent`` does
  (``!~*'()`` kept), and each with lower-case hex (``%2a``);
- HTML-escaped (an error page echoing a request): ``&quot;``, ``&#x27;``, ``&#39;``, ``&#039;``,
  ``&apos;``, ``&#34;``, and those JSON-escaped.

A spelling is added only when the secret holds a character it changes: a set of byte strings holds
each once, so a token of ``[A-Za-z0-9._-]`` is one needle, whatever the encoders. No aiohttp.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, quote_plus

__all__ = ["needle_forms"]

#: What Gson escapes besides JSON's own (HTML-safe output): the character and its escape.
_GSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}
#: A ``\u`` escape (not an escaped backslash followed by ``u``) whose hex holds a letter.
_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-f]{4})")
_PERCENT = re.compile(rb"%[0-9A-F]{2}")


def needle_forms(value: str) -> set[bytes]:
    """The bytes ``value`` can take in a tape (the module's docstring lists the spellings)."""
    forms = {_encoded(value)}
    forms.update(_encoded(text) for text in _json_forms(value))
    for page in _html_forms(value) - {value}:
        forms.add(_encoded(page))
        forms.update(_encoded(text) for text in _python_json(page))
    forms.update(_url_forms(_encoded(value)))
    return forms


def _python_json(text: str) -> set[str]:
    """The content of the JSON string of ``text``, with and without ``ensure_ascii``."""
    return {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def _json_forms(text: str) -> set[str]:
    forms = _python_json(text)
    if "/" in text:  # a '/' in an escaped string is always the text's own: no escape holds one
        forms |= {form.replace("/", "\\/") for form in forms}
    if any(char in text for char in _GSON):  # nor does an escape hold one of these
        forms |= {_gson(form) for form in forms}
    return forms | {_ESCAPE.sub(_upper, form) for form in forms}


def _gson(form: str) -> str:
    for char, escape in _GSON.items():
        form = form.replace(char, escape)
    return form


def _upper(match: re.Match[str]) -> str:
    return f"{match[1]}\\u{match[2].upper()}"


def _html_forms(value: str) -> set[str]:
    forms = {value, html.escape(value), html.escape(value, quote=False)}
    if "'" in value:
        forms |= {html.escape(value).replace("&#x27;", other) for other in ("&#39;", "&#039;", "&apos;")}
    if '"' in value:
        forms.add(html.escape(value).replace("&quot;", "&#34;"))
    return forms


def _url_forms(raw: bytes) -> set[bytes]:
    texts = {
        quote(raw, safe=""),
        quote_plus(raw, safe=""),
        quote(raw),
        quote_plus(raw, safe="*").replace("~", "%7E"),  # java.net.URLEncoder
        quote(raw, safe="!~*'()"),  # encodeURIComponent
    }
    forms = {text.encode("ascii") for text in texts}
    return forms | {_PERCENT.sub(lambda match: match[0].lower(), form) for form in forms}


def _encoded(text: str) -> bytes:
    """UTF-8; a byte that was not UTF-8 (decoded as ``surrogateescape``) as that byte again."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800: no byte of its own
        return text.encode("utf-8", "surrogatepass")
