"""Redaction: each secret-named value of a message written as ``[redacted]``, and remembered.

Which names carry a secret is the rule of :mod:`.secrets` (``password``, ``token``, ``pwd``,
``sig``…). It is applied wherever a message can carry a named value:

- JSON bodies, at any depth: the whole value of a secret-named key becomes ``[redacted]`` (every
  string leaf under it is remembered; ``null`` and booleans are kept: they hide nothing); the values
  at the JSON pointers a recorder is given (``--redact``) too; and the text of every string is
  redacted as text is (below): ``{"message": "login with password=hunter2 failed"}``.
- Query strings and form (urlencoded) bodies: ``password=…``, ``sig=…``.
- Path parameters: ``/a;jsessionid=…``, ``/b;key=…/c``: the value and all the path that follows it
  (the path a tape keeps is decoded: a ``/`` or ``;`` of the value cannot be told from the path's).
- Multipart form data: the content of a part whose ``name`` is secret-named (``j_password``); the
  text of the other parts is redacted as text is; the structure is kept byte for byte.
- Text: ``password=…``, ``"token": "…"``, ``'key': '…'``, ``pwd: …``, ``Authorization: Basic …``,
  ``<password>…</password>``: a secret-named name, ``=`` or ``:``, then a quoted value, an object or
  an array (to its closing bracket), or a bare one up to a space or one of ``&;,"'<>{}[]``. Free
  text is prose too (``key: Processing``), so a value found there is remembered only when it looks
  like a credential (:func:`_remember`).
- A ``Location`` (any URL a recorder keeps): its user info is dropped (the password remembered), its
  path parameters, query and fragment redacted.

Every value redacted is remembered by :class:`.secrets.Secrets` for the audit (:mod:`.audit`).
No aiohttp.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .secrets import DEFAULT_NAMES, REDACTED, SecretNames, Secrets, looks_secret

__all__ = ["REDACTED", "Secrets", "looks_secret", "redact_bytes", "redact_document", "redact_location"]
__all__ += ["redact_multipart", "redact_path", "redact_pointer", "redact_query", "redact_text"]

_NAME = r"[A-Za-z_][\w.-]{0,99}"
#: A name, then ``=`` or ``:``; only what follows a secret name is read as a value, so that
#: ``failed: password=…`` finds the password after the name ``failed``.
_KEY = re.compile(rf"""(?<![\w.-])(?P<q>["']?)(?P<name>{_NAME})(?P=q)[ \t]*(?:=>|[=:])[ \t]*""")
_VALUE = re.compile(
    r""""(?P<dq>(?:[^"\\\n]|\\.){1,4096})"|'(?P<sq>[^'\n]{1,4096})'"""
    r"""|(?P<bare>(?P<scheme>(?i:basic|bearer|digest|negotiate|token)[ \t]+)?[^\s"'&;,<>{}\[\]]{1,4096})"""
)
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]')
_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.){1,4096})"')
_SEPARATED = re.compile("([&;])")
_PARAMETER = re.compile(r";([^;/=]{1,100})=")
_ELEMENT = re.compile(rf"<(?P<name>{_NAME})>(?P<value>[^<]{{1,4096}})</(?P=name)>")
_PART_NAME = re.compile(r'(?im)^content-disposition:[^\r\n]*?;\s*name\s*=\s*(?:"([^"\r\n]*)"|([^\s;]+))')
_BOUNDARY = re.compile(r'(?i);\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))')


def redact_query(
    query: str,
    secrets: Secrets | None = None,
    names: SecretNames = DEFAULT_NAMES,
    what: str = "query parameter",
) -> str:
    """``query`` (raw, or a form body; ``&`` or ``;`` between parameters) with the value of each
    secret-named parameter ``[redacted]``, and the pairs inside the others' values (``next=/x?token=…``
    encoded) too; the values go to ``secrets``, both as sent and decoded."""
    if not query:
        return query
    seen = secrets if secrets is not None else Secrets()
    parts = _SEPARATED.split(query)
    for index in range(0, len(parts), 2):  # the odd ones are the separators
        name, equals, value = parts[index].partition("=")
        if not (equals and value and value != REDACTED):
            continue
        decoded = urllib.parse.unquote_plus(name)
        if names(decoded):
            kind = f"the value of the {what} {decoded[:100]!r}"
            seen.add(value, kind)
            seen.add(urllib.parse.unquote_plus(value), kind)
            parts[index] = f"{name}={REDACTED}"
        elif "%3D" in value.upper() or "%3A" in value.upper():  # a URL or query, encoded, inside
            inner = urllib.parse.unquote_plus(value)
            if (redacted := redact_text(inner, seen, names, f"the {what} {decoded[:100]!r}")) != inner:
                parts[index] = f"{name}={urllib.parse.quote_plus(redacted, safe='/:?=&[]')}"
    return "".join(parts)


def redact_path(path: str, secrets: Secrets, names: SecretNames = DEFAULT_NAMES) -> str:
    """``path`` with the value of its first secret-named path parameter (``;jsessionid=…``) redacted,
    and all that follows it: the path a tape keeps is decoded, where a ``/`` or ``;`` of the value
    cannot be told from the path's."""
    if ";" not in path:
        return path
    for parameter in _PARAMETER.finditer(path):
        value = path[parameter.end() :]
        if not value or value == REDACTED or not names(urllib.parse.unquote(parameter[1])):
            continue
        kind = f"the value of the path parameter {parameter[1][:100]!r}"
        for form in (value, re.split("[;/]", value)[0]):  # all of it, and its first segment alone
            secrets.add(form, kind)
            secrets.add(urllib.parse.unquote(form), kind)
        return path[: parameter.end()] + REDACTED
    return path


def redact_text(
    text: str, secrets: Secrets, names: SecretNames = DEFAULT_NAMES, where: str = "a body"
) -> str:
    """``text`` with the value of each secret-named pair (``password=…``, ``"token": "…"``) and
    element (``<password>…</password>``) redacted."""
    if "=" in text or ":" in text:  # most strings of an API's answers hold neither: nothing to do
        text = _pairs(text, secrets, names, where)
    if "</" not in text:
        return text

    def element(match: re.Match[str]) -> str:
        if not names(match["name"]) or match["value"] == REDACTED:
            return match[0]
        _remember(secrets, match["value"], f"the element <{match['name'][:100]}> in the text of {where}")
        return f"<{match['name']}>{REDACTED}</{match['name']}>"

    return _ELEMENT.sub(element, text)


def _pairs(text: str, secrets: Secrets, names: SecretNames, where: str) -> str:
    out: list[str] = []
    done = 0
    for key in _KEY.finditer(text):
        if key.start() < done or not names(key["name"]):
            continue
        kind = f"a value named {key['name'][:100]!r} in the text of {where}"
        if text.startswith(("{", "["), key.end()):  # an object or array: all of it, as in JSON bodies
            end = _closing(text, key.end())
            for leaf in _QUOTED.findall(text, key.end(), end):
                _remember(secrets, leaf, kind)
            out += (text[done : key.end()], REDACTED)
            done = end
            continue
        value = _VALUE.match(text, key.end())
        if value is None:
            continue
        group = "dq" if value["dq"] is not None else "sq" if value["sq"] is not None else "bare"
        if (found := value[group]) == REDACTED:
            continue
        _remember(secrets, found, kind)
        if group == "dq" and "\\" in found:
            _remember(secrets, _unescaped(found), kind)
        elif group == "bare" and value["scheme"]:
            _remember(secrets, found[len(value["scheme"]) :], kind)  # the credentials alone, too
        elif group == "bare" and "%" in found:
            _remember(secrets, urllib.parse.unquote_plus(found), kind)
        out += (text[done : value.start(group)], REDACTED)
        done = value.end(group)
    return "".join(out) + text[done:] if out else text


def _closing(text: str, start: int) -> int:
    """Where the object or array that opens at ``start`` closes (brackets in strings do not count),
    or the end of ``text``: what cannot be told apart is redacted whole."""
    depth = 0
    for token in _BRACKETS.finditer(text, start):
        if token[0] in "{[":
            depth += 1
        elif token[0] in "}]":
            depth -= 1
            if depth == 0:
                return token.end()
    return len(text)


def _remember(secrets: Secrets, value: str, kind: str) -> None:
    """Remember a value found in free text when it looks like a credential (8 characters or more,
    with one that is not a letter, or 16 or more): prose has pairs too (``key: Processing``), and a
    common word remembered would fail the audit of every tape that holds it elsewhere."""
    if len(value) >= 16 or (len(value) >= 8 and not value.isalpha()):
        secrets.add(value, kind)


def _unescaped(value: str) -> str:
    """A JSON string's content undone of its escapes (as written, when they are not JSON's)."""
    try:
        decoded = json.loads(f'"{value}"')
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def redact_document(
    document: Any, secrets: Secrets, names: SecretNames = DEFAULT_NAMES, where: str = "a body"
) -> Any:
    """``document`` (parsed JSON, changed in place) with the value of each secret-named key redacted
    at any depth, and the text of every other string redacted as :func:`redact_text` does. Walked
    without recursion: a document nested as deep as the parser allows is no error here."""
    if isinstance(document, str):
        return redact_text(document, secrets, names, where)
    stack: list[Any] = [document]
    while stack:
        container = stack.pop()
        items: Iterator[tuple[Any, Any]] = (
            iter(list(container.items())) if isinstance(container, dict) else enumerate(container)
        )
        for key, value in items:
            if isinstance(key, str) and names(key) and not (value is None or isinstance(value, bool)):
                for leaf in _strings(value):
                    secrets.add(leaf, f"the value named {key[:100]!r} in {where}")
                container[key] = REDACTED
            elif isinstance(value, str):
                container[key] = redact_text(value, secrets, names, where)
            elif isinstance(value, dict | list):
                stack.append(value)
    return document


def redact_pointer(document: Any, pointer: tuple[str, ...], remember: Callable[[str], object]) -> Any:
    """``document`` (changed in place) with what lies at ``pointer`` (``*`` matching any key or
    index) redacted; each string under it goes to ``remember``."""
    return _at(document, pointer, remember)


def _at(document: Any, rest: tuple[str, ...], remember: Callable[[str], object]) -> Any:
    if not rest:
        for leaf in _strings(document):
            remember(leaf)
        return REDACTED
    key, tail = rest[0], rest[1:]
    if isinstance(document, dict):
        for name in list(document) if key == "*" else [key] if key in document else []:
            document[name] = _at(document[name], tail, remember)
    elif isinstance(document, list):
        wanted = range(len(document)) if key == "*" else [int(key)] if key.isdigit() else []
        for index in (i for i in wanted if i < len(document)):
            document[index] = _at(document[index], tail, remember)
    return document


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def redact_multipart(body: bytes, content_type: str, secrets: Secrets, names: SecretNames = DEFAULT_NAMES,
                     where: str = "a body") -> bytes | None:  # fmt: skip
    """A ``multipart/form-data`` body with the content of each secret-named part redacted and the
    text of the others redacted as text; None when it does not parse (what it hides is unknown)."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    delimiter = b"--" + (found[1] or found[2]).encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):  # no part, or no closing delimiter
        return None
    for index in range(1, len(pieces) - 1):
        piece = pieces[index]
        cut, sep = piece.find(b"\r\n\r\n"), 4
        if cut < 0:  # bare LFs: lenient, as servers are
            cut, sep = piece.find(b"\n\n"), 2
        if cut < 0:
            return None
        start = cut + sep
        end = len(piece) - (2 if piece.endswith(b"\r\n") else 1 if piece.endswith(b"\n") else 0)
        named = _PART_NAME.search(piece[:cut].decode("latin-1"))
        name = (named[1] if named[1] is not None else named[2]) if named else ""
        if name and names(name):
            secrets.add(_decoded(piece[start:end]), f"the form part {name[:100]!r} of {where}")
            content = REDACTED.encode()
        else:
            content = redact_bytes(piece[start:end], secrets, names, where)
        pieces[index] = piece[:start] + content + piece[end:]
    pieces[0] = redact_bytes(pieces[0], secrets, names, where)  # the preamble and the epilogue
    pieces[-1] = redact_bytes(pieces[-1], secrets, names, where)
    return delimiter.join(pieces)


def _decoded(data: bytes) -> str:
    """Text of ``data``: UTF-8, and bytes that are not kept as they were (``surrogateescape``)."""
    return data.decode("utf-8", "surrogateescape")


def redact_bytes(
    data: bytes, secrets: Secrets, names: SecretNames = DEFAULT_NAMES, where: str = "a body"
) -> bytes:
    """``data`` redacted as text (:func:`redact_text`), its other bytes (binary, or not UTF-8) left as
    they were: a pair in a binary body is redacted too."""
    return redact_text(_decoded(data), secrets, names, where).encode("utf-8", "surrogateescape")


def redact_location(value: str, secrets: Secrets, names: SecretNames = DEFAULT_NAMES) -> str:
    """A URL (a ``Location``) without user info, its path parameters, query and fragment redacted."""
    parts = urllib.parse.urlsplit(value)
    if not (parts.query or parts.fragment or ";" in parts.path or "@" in parts.netloc):
        return value
    if parts.password:
        secrets.add(parts.password, "the password in a Location header")
        secrets.add(urllib.parse.unquote(parts.password), "the password in a Location header")
    return urllib.parse.urlunsplit(
        parts._replace(
            netloc=parts.netloc.rpartition("@")[2],
            path=redact_path(parts.path, secrets, names),
            query=redact_query(parts.query, secrets, names),
            fragment=redact_query(parts.fragment, secrets, names, "fragment parameter"),
        )
    )
