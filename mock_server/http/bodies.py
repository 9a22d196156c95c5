"""Reading a request's JSON body: whole, within its size and time limits, strictly parsed.

Every way a body can be wrong is a :class:`~.refusals.Refusal` that says what is wrong and where.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..api.operations import Operation
from ..contract.fastpath import parse_json, reject_constant
from ..contract.wording import cut
from ..core.errors import Violation
from ..core.settings import Settings
from .inflate import BodyTooLarge, BodyUnreadable, content_encoding, read_body
from .refusals import Refusal

__all__ = ["ABSENT", "READ_AS_JSON", "REQUEST_BODY", "id_from_query", "read_json"]

#: The body as read (inflated where it was), for the journal to keep its first bytes.
REQUEST_BODY = web.RequestKey("request_body", bytes)


class _Absent:
    """No body was sent (unlike a JSON ``null``, which is a body, and checked as one)."""


ABSENT = _Absent()


async def read_json(
    request: web.Request, operation: Operation, settings: Settings
) -> tuple[Any, bool, list[Violation]]:
    """The request's JSON body (``ABSENT`` when none was sent), whether it wrote an integral float
    such as 1.0 (see :func:`~..contract.fastpath.parse_json`), and the warnings about how it was sent
    (read as an author reads it: see docs/contract.md §4); refusals say what is wrong.

    The body must arrive whole within ``body_timeout_ms``: a trickle is cut off with 408. A
    compressed body is inflated in a worker thread, never past ``max_body_bytes`` (see :mod:`.inflate`).
    """
    if operation.body is None:
        return ABSENT, False, []
    try:
        raw = await read_body(
            request,
            settings.max_body_bytes,
            settings.body_timeout_ms / 1000,
            decode=settings.inflate_request_bodies,
        )
    except BodyTooLarge as error:
        raise _too_large(error, content_encoding(request)) from None
    except TimeoutError:
        seconds = settings.body_timeout_ms / 1000
        message = f"the request body did not arrive within {seconds:g} s (body_timeout_ms); send it whole"
        raise Refusal(408, message, [Violation("body:/", message, f"a body within {seconds:g} s")],
                       breaks_contract=False, close=True) from None  # fmt: skip
    except ConnectionError:  # the client went away mid-body: there is no one to answer
        raise Refusal(400, "the client closed the connection before the body ended", close=True) from None
    except BodyUnreadable as error:  # a Content-Encoding the body does not have, a bad chunk
        raise _unreadable(error) from None
    request[REQUEST_BODY] = raw
    if not raw:
        if operation.body_required:
            raise Refusal(
                400,
                f"{operation.method} {operation.path} needs a JSON body",
                [Violation("body:/", "a JSON body is required", "a JSON object", None, keyword="required")],
            )
        return ABSENT, False, []
    warnings: list[Violation] = []
    if request.content_type != "application/json":
        sent = request.headers.get("Content-Type")
        if request.content_type not in READ_AS_JSON:
            message = (
                f"the body must be sent as 'Content-Type: application/json', not {request.content_type!r}"
            )
            where = "header:Content-Type"
            raise Refusal(415, message, [Violation(where, message, "application/json", request.content_type)])
        how = f"as {cut(sent)!r}" if sent else "without a Content-Type"
        warnings.append(
            Violation("header:Content-Type", f"the body is sent {how}: an author's servlet reads it as JSON "
                      "anyway; send 'Content-Type: application/json'", "application/json", sent,
                      keyword="contentType", severity="warning")
        )  # fmt: skip
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        warnings.append(
            Violation("body:/", "the body starts with a UTF-8 byte order mark: an author's JSON parser "
                      "(Jackson) skips it; leave it out", "JSON without a byte order mark", None,
                      keyword="byteOrderMark", severity="warning")
        )  # fmt: skip
    coded = None if settings.inflate_request_bodies else content_encoding(request)
    if coded is not None:  # read as sent (§3.36): JSON only if the client did not really compress it
        warnings.append(_encoding_ignored(coded))
    try:
        text = _decoded(raw, request.charset, warnings)
        body, integral_floats = parse_json(text, parse_constant=reject_constant)
        if _SURROGATE_ESCAPE.search(raw):  # only an escape can make a lone surrogate: look closer
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError as error:
        if coded is not None:
            raise _not_inflated(coded) from None
        charset = "UTF-8" if error.encoding == "utf-8" else error.encoding
        raise _invalid_json(f"the body is not valid {charset} (byte {error.start})") from None
    except UnicodeEncodeError:
        raise _invalid_json("the body holds a lone UTF-16 surrogate escape; send valid Unicode") from None
    except json.JSONDecodeError as error:
        if coded is not None:
            raise _not_inflated(coded) from None
        form = _form_id(operation, request.content_type, raw)
        if form is not None:  # Sling's getParameter reads processingId from a form body
            return form, False, [_FORM_WARNING]
        raise _invalid_json(f"the body is not valid JSON: {error.msg} at line {error.lineno} "
                            f"column {error.colno}") from None  # fmt: skip
    except RecursionError:
        raise _invalid_json("the body is nested too deeply") from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise _invalid_json(f"the body is not valid JSON: {error}") from None
    return body, integral_floats, warnings


_FORM = "application/x-www-form-urlencoded"
_FORM_WARNING = Violation(
    "header:Content-Type",
    "processingId is sent form-encoded: Sling's getParameter reads it from a form body, the documented "
    'contract sends the JSON body {"processingId": "<id>"}',
    'application/json, {"processingId": "<id>"}',
    _FORM,
    keyword="formEncoded",
    severity="warning",
)


def _form_id(operation: Operation, content_type: str, raw: bytes) -> dict[str, str] | None:
    """``{"processingId": …}`` from a form body (the first value, as ``getParameter`` takes it), for
    an operation that reads its id from the body; None when there is none to read."""
    if not operation.id_in_body or content_type != _FORM:
        return None
    try:
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):  # not UTF-8, or more fields than a form of one needs
        return None
    found = next((value for name, value in pairs if name == "processingId"), None)
    return None if found is None else {"processingId": found}


def id_from_query(operation: Operation, query: Mapping[str, Any], body: Any) -> Any:
    """Cancel, resume and restart read ``processingId`` from the body or, failing that, the query
    (§3.14, §3.15): a query id joins an absent or id-less body before the body is checked."""
    if not operation.id_in_body or "processingId" not in query:
        return body
    if body is ABSENT:
        return {"processingId": query["processingId"]}
    if isinstance(body, dict) and "processingId" not in body:
        return {**body, "processingId": query["processingId"]}
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_BOM = b"\xef\xbb\xbf"
#: Content types whose body an author still reads as JSON (with a warning): ``fetch`` sends a string
#: body as ``text/plain``, ``curl -d`` as a form, and a bare client sends none (aiohttp then says
#: ``application/octet-stream``). Others are refused with 415.
READ_AS_JSON = frozenset({"text/plain", "application/x-www-form-urlencoded", "application/octet-stream"})


def _too_large(error: BodyTooLarge, coding: str | None) -> Refusal:
    """413; once the body was inflated past the cap, the connection is closed (see BodyTooLarge)."""
    limit = error.limit
    inflated = f" once inflated from {coding}" if error.inflated and coding else ""
    message = f"the request body is larger than {limit} bytes{inflated} (max_body_bytes); send less"
    violations = [Violation("body:/", message, f"at most {limit} bytes")]
    return Refusal(413, message, violations, close=error.inflated)


def _unreadable(error: BodyUnreadable) -> Refusal:
    encoding = error.encoding
    if encoding:
        where, expected = "header:Content-Encoding", "a body encoded as its Content-Encoding says"
        message = (f"the request body could not be decoded as 'Content-Encoding: {cut(encoding)}' "
                   f"({error.reason}); send the body encoded that way, or leave the header out")  # fmt: skip
    else:
        where, expected = "body:/", "a body framed as its headers say"
        message = f"the request body could not be read ({error.reason}); check its Transfer-Encoding framing"
    return Refusal(400, message, [Violation(where, message, expected, encoding)], close=True)


_UTF8 = frozenset({"utf-8", "utf8"})


def _decoded(raw: bytes, charset: str | None, warnings: list[Violation]) -> str:
    """The body's text: UTF-8 unless ``Content-Type`` declares another charset, which the servlet's
    reader then decodes by, with a warning (§3.36); a charset no decoder knows is a 415."""
    if charset is None or charset.lower() in _UTF8:
        return raw.decode("utf-8")
    try:
        text = raw.decode(charset)
    except LookupError:  # no such codec, or one that is not a text encoding
        message = (f"the body's charset {cut(charset)!r} is not one an author decodes; send the body as "
                   "'Content-Type: application/json' (UTF-8)")  # fmt: skip
        where = "header:Content-Type"
        raise Refusal(415, message, [Violation(where, message, "charset=UTF-8", charset)]) from None
    warnings.append(
        Violation("header:Content-Type", f"the body is declared as charset={cut(charset)}: an author's "
                  "servlet reads it by that charset, the documented contract sends UTF-8; send it as UTF-8",
                  "UTF-8", charset, keyword="charset", severity="warning")
    )  # fmt: skip
    return text


def _encoding_ignored(coding: str) -> Violation:
    return Violation(
        "header:Content-Encoding",
        f"the body is sent with 'Content-Encoding: {coding}', which an author with Jetty's defaults does "
        "not inflate: its bytes are read as sent; leave the header out",
        "no Content-Encoding",
        coding,
        keyword="contentEncoding",
        severity="warning",
    )


def _not_inflated(coding: str) -> Refusal:
    """400: a compressed body, which an author with Jetty's defaults reads as sent: not JSON."""
    message = (f"the body is sent with 'Content-Encoding: {coding}': an author with Jetty's defaults does "
               "not inflate a request body, so its bytes are not JSON; send the JSON uncompressed (or set "
               "inflate_request_bodies for an author that inflates)")  # fmt: skip
    where = "header:Content-Encoding"
    return Refusal(400, message, [Violation(where, message, "no Content-Encoding", coding)])


def _invalid_json(message: str) -> Refusal:
    return Refusal(400, message, [Violation("body:/", message, "a JSON object", None)])
