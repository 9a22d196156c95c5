"""A message's body as a tape keeps it: JSON, text, a side file, or a note that says why not.

Undone of its ``Content-Encoding`` first (gzip, deflate: :func:`decode_body`), a body is

- JSON (``body``) when it parses, measured first (:data:`INLINE_JSON`: a 1 MiB ``[{},{},…]`` would
  make a million dicts and hold the GIL for its parse), its values at the redacted pointers and under
  secret names ``[redacted]``;
- text (``body_text``) when it decodes (:func:`.formats.decode_text`: UTF-8, or UTF-16/32 by its
  byte order mark, its ``charset`` or its NULs), redacted as text, a form as a query;
- at most :data:`MAX_INLINE_BYTES` either way: a larger one, or one cut short, is a ``note``, not
  the body (redacting JSON needs it whole, and its parse holds the GIL);
- text its encoding does not decode: a note (what it hides cannot be read, so it is not kept);
- anything else a side file (:mod:`.side_files`), up to ``max_body_bytes``: the log ZIP, binary
  bodies, text with control characters (a log in colour).

No aiohttp.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..contract.fastpath import reject_constant
from ..core.compression import NotInflatable, inflate_chunks
from .audit import Allowance
from .formats import decode_text, is_gzip, opaque
from .limits import JsonCaps, LimitError, measure
from .redaction import redact_document, redact_multipart, redact_pointer, redact_query, redact_text
from .secrets import SecretNames, Secrets
from .side_files import Kept, Refused, side_file

__all__ = ["INLINE_JSON", "MAX_BODY_BYTES", "MAX_INLINE_BYTES", "Rules", "decode_body", "message_body"]

MAX_BODY_BYTES = 8 * 1024 * 1024
#: The most bytes of a body kept in a tape's line (JSON or text); a larger one is a note.
MAX_INLINE_BYTES = 1024 * 1024
#: What a JSON body may make to be kept: a log page of 1,000 lines is about 1,000 values, and none of
#: the API's nests more than 4 levels; 50,000 values parse in some 12 ms (and the tape's line, which
#: nests 2 levels more, stays within what ``scenario-from`` reads).
INLINE_JSON = JsonCaps(max_depth=48, max_values=50_000)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # text has none of these; a ZIP has many
_EXTENSIONS = {"application/zip": ".zip", "application/gzip": ".gz", "application/pdf": ".pdf"}


@dataclass(frozen=True, slots=True)
class Rules:
    """What a recorder redacts: values under secret ``names`` and at ``pointers`` (JSON pointers,
    ``*`` any key); the values go to ``secrets``."""

    secrets: Secrets
    names: SecretNames
    pointers: tuple[tuple[str, ...], ...]

    def document(self, document: Any, side: str) -> Any:
        """A JSON body with the values at the pointers, then those of secret names, redacted."""
        for pointer in self.pointers:
            kind = f"the {side} body's value at /{'/'.join(pointer)}"
            document = redact_pointer(document, pointer, functools.partial(self.secrets.add, kind=kind))
        document = redact_document(document, self.secrets, self.names, f"the {side} body")
        return _masked(document, self.secrets) if self.secrets.users else document

    def text(self, text: str, where: str) -> str:
        """Text redacted, and the masked user names that stand alone in it as their placeholders."""
        return self.secrets.masked(redact_text(text, self.secrets, self.names, where))


def _masked(document: Any, secrets: Secrets) -> Any:
    """``document`` (changed in place) with each masked user name standing alone in its strings (a
    whole value, ``createdBy``; a word of a log line) as its placeholder (:meth:`Secrets.masked`)."""
    if isinstance(document, str):
        return secrets.masked(document)
    stack: list[Any] = [document]
    while stack:
        container = stack.pop()
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            value = container[key]
            if isinstance(value, str):
                container[key] = secrets.masked(value)
            elif isinstance(value, dict | list):
                stack.append(value)
    return document


@dataclass(frozen=True, slots=True)
class SideFile:
    """A side file to write when the exchange is: its file name's ending, and what to write."""

    suffix: str
    kept: Kept


def decode_body(raw: bytes, encoding: str, limit: int = MAX_BODY_BYTES) -> tuple[bytes | None, bool]:
    """The body undone of its ``Content-Encoding`` (gzip, every member; deflate; identity), at most
    ``limit`` bytes, and whether there was more; None when it cannot be decoded (what hides in it is
    unknown)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw[:limit], len(raw) > limit
    kept = bytearray()
    try:
        for part in inflate_chunks([raw], encoding):  # pieces of 64 KiB: a bomb inflates no further
            kept += part
            if len(kept) > limit:
                return bytes(kept[:limit]), True
    except NotInflatable:
        return None, False
    return bytes(kept), False


def message_body(
    raw: bytes, size: int, headers: Sequence[tuple[str, str]], side: str, rules: Rules, left: Allowance,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> tuple[dict[str, Any], SideFile | None]:  # fmt: skip
    """The fields of a tape's line for one body (``raw`` as it came, ``size`` its whole length) and
    the side file to write with it, if any. ``headers`` are the message's (lower-case names)."""
    if not raw:
        return {"body": None}, None
    # The last of each, as the recorder always read them (a multipart type after a JSON one counts).
    encoding = next((value for name, value in reversed(headers) if name == "content-encoding"), "")
    content_type = next((value for name, value in reversed(headers) if name == "content-type"), "")
    data, cut = decode_body(raw, encoding, max_body_bytes)
    if data is None:
        return _note(f"Content-Encoding {encoding[:40]!r} does not decode"), None
    cut = cut or size > len(raw)
    media = content_type.partition(";")[0].strip().lower()
    where = f"the {side} body"
    if media == "multipart/form-data":
        parts = redact_multipart(data, content_type, rules.secrets, rules.names, where, _unreadable_part)
        if parts is None:
            return _note("a multipart body that does not parse (a part that cannot be told apart may "
                         "hold a secret), or a part the audit cannot look into"), None  # fmt: skip
        data = parts
    text, encoded = decode_text(data, content_type)
    if text is not None and not _CONTROL.search(text):
        if cut or len(data) > MAX_INLINE_BYTES:
            what = "JSON" if _jsonish(media, text) else "text"
            return _note(
                f"a {what} body larger than the recorder keeps in a line ({MAX_INLINE_BYTES} bytes)"
            ), None
        return _inline(data if encoded in ("", "utf-8") else text.encode("utf-8", "surrogatepass"), text,
                       media, side, rules), None  # fmt: skip
    if text is None and encoded:
        return _note(f"text in {encoded[:40]!r} that does not decode (what it hides cannot be read)"), None
    kept = side_file(data, cut, functools.partial(rules.text, where=where), left, encoded)
    if isinstance(kept, Refused):
        return _note(kept.why), None
    note = {"note": f"truncated: the first {len(kept.data)} bytes of the body are kept"} if cut else {}
    return {"body": None, **note}, SideFile(_EXTENSIONS.get(media, ".bin"), kept)


def _inline(data: bytes, text: str, media: str, side: str, rules: Rules) -> dict[str, Any]:
    """A body kept in the line: JSON when it parses within :data:`INLINE_JSON`, else text."""
    if _jsonish(media, text):
        try:
            measure(data, INLINE_JSON)
            document = json.loads(text, parse_constant=reject_constant)  # NaN: the tape would not be JSON
        except LimitError as error:
            return _note(f"a JSON body past what the recorder parses ({error})")
        except (ValueError, RecursionError):
            pass  # not JSON after all: text, redacted as text
        else:
            return {"body": rules.document(document, side)}
    where = f"the {side} body"
    if media == "application/x-www-form-urlencoded":
        text = redact_query(text, rules.secrets, rules.names, "form field")
    elif media != "multipart/form-data":  # its parts were redacted one by one
        text = rules.text(text, where)
    return {"body": None, "body_text": text}


def _unreadable_part(content: bytes) -> bool:
    """A part the audit could not look into: a format nothing here reads, or gzip data."""
    return opaque(content) is not None or is_gzip(content)


def _jsonish(media: str, text: str) -> bool:
    return media.endswith("json") or text.lstrip()[:1] in ("{", "[")


def _note(why: str) -> dict[str, Any]:
    return {"body": None, "note": f"not recorded: {why}"}
