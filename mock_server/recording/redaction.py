"""Redaction: each secret-named value of a message written as ``[redacted]``, and remembered.

Which names carry a secret is the rule of :mod:`.secrets` (``password``, ``token``, ``pwd``,
``sig``…). It is applied wherever a message can carry a named value:

- JSON bodies, at any depth: the whole value of a secret-named key becomes ``[redacted]`` (every
  string leaf under it is remembered; ``null`` and booleans are kept: they hide nothing); the values
  at the JSON pointers a recorder is given (``--redact``) too; and the text of every string is
  redacted as text is (below): ``{"message": "login with password=hunter2 failed"}``.
- Query strings and form (urlencoded) bodies: ``password=…``, ``sig=…``, and the pairs URL-encoded
  in the others' values, once or more (``next=/x%3Ftoken%3D…``, ``%253D``).
- Path parameters: ``/a;jsessionid=…``, ``/b;key=…/c``: the value and all the path that follows it
  (the path a tape keeps is decoded: a ``/`` or ``;`` of the value cannot be told from the path's).
- Multipart form data: the content of a part whose ``name`` is secret-named (``j_password``); the
  text of the other parts is redacted as text is; the structure is kept byte for byte. A boundary
  that is not ASCII is taken as the bytes it came as.
- Text: ``password=…``, ``"token": "…"``, ``passphrase: correct horse``, YAML blocks,
  ``<password>…</password>``, JSON-escaped JSON, URL-encoded pairs, however long the value
  (:mod:`.text_redaction`).
- A ``Location`` (any URL a recorder keeps): its user info is dropped (the password remembered), its
  path parameters, query and fragment redacted; one that does not parse as a URL is ``[redacted]``.

Every value redacted is remembered by :class:`.secrets.Secrets` for the audit (:mod:`.audit`).
No aiohttp.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .secrets import DEFAULT_NAMES, REDACTED, SecretNames, Secrets, looks_secret
from .text_redaction import redact_text

__all__ = ["REDACTED", "Secrets", "looks_secret", "redact_bytes", "redact_document", "redact_location"]
__all__ += ["redact_multipart", "redact_path", "redact_pointer", "redact_query", "redact_text"]

_SEPARATED = re.compile("([&;])")
_PARAMETER = re.compile(r";([^;/=]+)=")
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
        elif "%" in value:  # a URL or query inside, encoded once or more: its pairs redacted
            parts[index] = f"{name}={redact_text(value, seen, names, f'the {what} {decoded[:100]!r}')}"
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


def redact_multipart(
    body: bytes,
    content_type: str,
    secrets: Secrets,
    names: SecretNames = DEFAULT_NAMES,
    where: str = "a body",
    refuse: Callable[[bytes], object] | None = None,
) -> bytes | None:
    """A ``multipart/form-data`` body with the content of each secret-named part redacted and the
    text of the others redacted as text; None when it does not parse (what it hides is unknown) or
    ``refuse`` says yes to a part's content (a ZIP uploaded: the audit cannot look into it)."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    delimiter = b"--" + _wire(found[1] or found[2])
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
        if refuse is not None and refuse(piece[start:end]):
            return None
        if name and names(name):
            secrets.add(_decoded(piece[start:end]), f"the form part {name[:100]!r} of {where}")
            content = REDACTED.encode()
        else:
            content = redact_bytes(piece[start:end], secrets, names, where)
        pieces[index] = piece[:start] + content + piece[end:]
    pieces[0] = redact_bytes(pieces[0], secrets, names, where)  # the preamble and the epilogue
    pieces[-1] = redact_bytes(pieces[-1], secrets, names, where)
    return delimiter.join(pieces)


def _wire(text: str) -> bytes:
    """A header's text as its bytes: aiohttp decodes UTF-8, a byte that is not as that byte
    (``surrogateescape``); another lone surrogate has no byte of its own."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


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
    """A URL (a ``Location``) without user info, its path parameters, query and fragment redacted;
    ``[redacted]`` when it does not parse (``http://[::1/x``: what of it is a secret is unknown)."""
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        redact_text(value, secrets, names, "a Location header")  # its secrets remembered all the same
        return REDACTED
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
