"""Which values of a message are secret, how they are redacted, and the audit that looks for them.

The recorder writes ``[redacted]`` where a secret was and remembers the secret itself (in memory
only) with the kind of secret it is, so that the audit (:func:`leaks`) can look for it in every file
written and name what leaked without showing it. No aiohttp.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["MAX_SECRETS", "MIN_SECRET_CHARS", "REDACTED", "Secrets", "collect_header", "looks_secret"]
__all__ += ["leaks", "redact_query"]

REDACTED = "[redacted]"
#: The most secrets remembered; those seen beyond are still redacted, but not looked for by the audit.
MAX_SECRETS = 10_000
#: Shorter values are not looked for: "abc" turns up everywhere by chance.
MIN_SECRET_CHARS = 4
#: A longer secret is looked for by its first characters (a leak of the whole holds them too).
MAX_SECRET_CHARS = 4096
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "csrf-token", "x-csrf-token"}
)
#: Headers whose names hold a secret-looking word but whose values are no secrets (a realm).
_PUBLIC_HEADERS = frozenset({"www-authenticate", "proxy-authenticate", "content-type"})
_SECRET_WORDS = ("token", "password", "secret", "key", "csrf", "auth")
_CHUNK = 16 * 1024 * 1024
_MAX_INFLATED = 64 * 1024 * 1024  # of one ZIP's members, looked through by the audit


def looks_secret(name: str) -> bool:
    """Whether a query parameter or header of this name likely carries a secret (its name holds
    token, password, secret, key, csrf or auth, in any case)."""
    lower = name.lower()
    return any(word in lower for word in _SECRET_WORDS)


class Secrets:
    """The secret values seen, each with the first kind it was seen as; at most ``limit``."""

    def __init__(self, limit: int = MAX_SECRETS) -> None:
        self.limit = limit
        self.dropped = 0
        self._kinds: dict[str, str] = {}

    def add(self, value: str, kind: str) -> None:
        if len(value) < MIN_SECRET_CHARS:
            return
        value = value[:MAX_SECRET_CHARS]
        if value in self._kinds:
            return
        if len(self._kinds) >= self.limit:
            self.dropped += 1
            return
        self._kinds[value] = kind

    def __len__(self) -> int:
        return len(self._kinds)

    def needles(self) -> dict[bytes, str]:
        """The bytes to look for, each secret as written raw and JSON-escaped, with its kind."""
        found: dict[bytes, str] = {}
        for value, kind in self._kinds.items():
            for form in (value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
                found.setdefault(form.encode("utf-8", "surrogatepass"), kind)
        return found


def collect_header(name: str, value: str, secrets: Secrets, side: str) -> bool:
    """Remember the secrets of the header ``name`` (lower case) of a ``side`` ("request" or
    "response"); True when it is a secret header, to be written as ``[redacted]``."""
    if name in _PUBLIC_HEADERS or not (name in _SECRET_HEADERS or looks_secret(name)):
        return False
    where = f"the {side} header {name}"
    secrets.add(value, f"the value of {where}")
    if name in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            secrets.add(credentials, f"the Bearer token of {where}")
        elif scheme.lower() == "basic":
            _basic(credentials, where, secrets)
        secrets.add(credentials, f"the credentials of {where}")  # another scheme's; Basic's base64
    elif name == "cookie":
        for cookie in value.split(";"):
            cookie_name, _, cookie_value = cookie.strip().partition("=")
            secrets.add(cookie_value.strip('"'), f"the value of cookie {cookie_name[:100]!r} ({where})")
    elif name == "set-cookie":
        cookie_name, _, rest = value.partition("=")
        cookie_value = rest.partition(";")[0].strip().strip('"')
        secrets.add(cookie_value, f"the value of cookie {cookie_name.strip()[:100]!r} ({where})")
    return True


def _basic(credentials: str, where: str, secrets: Secrets) -> None:
    """The ``user:password`` pair and the password of Basic credentials (the user name is none: an
    author echoes it in ``createdBy``)."""
    try:
        pair = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return
    user, _, password = pair.partition(":")
    secrets.add(pair, f"the user:password pair of the HTTP Basic credentials ({where})")
    same = "; it is the user name, which an author echoes in `createdBy`: record with another"
    same = same if password == user else ""
    secrets.add(password, f"the password of the HTTP Basic credentials ({where}{same})")


def redact_query(query: str, secrets: Secrets | None = None) -> str:
    """``query`` (raw, or a form body) with the value of each secret-looking parameter ``[redacted]``;
    the values go to ``secrets``, both as sent and decoded."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        decoded = urllib.parse.unquote_plus(name)
        if equals and value and looks_secret(decoded):
            if secrets is not None:
                kind = f"the value of the query parameter {decoded[:100]!r}"
                secrets.add(value, kind)
                secrets.add(urllib.parse.unquote_plus(value), kind)
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


# --- the audit ---------------------------------------------------------------------------------------


def leaks(directory: Path, needles: Mapping[bytes, str]) -> list[str]:
    """Each kind of secret found, with the file (and ZIP member) it is in."""
    found: list[str] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or not needles:
            continue
        name = path.relative_to(directory).as_posix().removesuffix(".partial")
        with path.open("rb") as file:
            found += [f"{kind} in {name}" for kind in _found(iter(lambda: file.read(_CHUNK), b""), needles)]
        if zipfile.is_zipfile(path):  # a compressed member hides its bytes from the scan above
            for member, chunks in _members(path):
                found += [f"{kind} in {name} ({member[:100]})" for kind in _found(chunks, needles)]
    return list(dict.fromkeys(found))


def _found(chunks: Iterator[bytes], needles: Mapping[bytes, str]) -> list[str]:
    """The kinds of the needles found in the stream of ``chunks`` (overlapped: none is missed)."""
    left = dict(needles)
    overlap = max(map(len, left)) - 1
    kinds: list[str] = []
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        for needle in [n for n in left if n in window]:
            kinds.append(left.pop(needle))
        tail = window[len(window) - overlap :] if overlap else b""
        if not left:
            break
    return kinds


def _members(path: Path) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each member of the ZIP at ``path``, inflated in chunks, at most :data:`_MAX_INFLATED` in all."""
    budget = _MAX_INFLATED
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    chunks: list[bytes] = []
                    while budget > 0 and (chunk := member.read(min(_CHUNK, budget))):
                        budget -= len(chunk)
                        chunks.append(chunk)
                yield info.filename, iter(chunks)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error):
        return  # not a ZIP after all, or one the scan of its bytes above has to do for
