"""The proxy's checks: a request as the mock would judge it, an author's answer against the schema
of its operation (undocumented keys as warnings), and violations fit to be served (no secrets).

The request is judged as :mod:`.app`'s pipeline does (the query, then the body as an author reads it),
but nothing is refused: the proxy forwards it anyway and journals what it found.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

from aiohttp import web

from ..api.operations import OPERATIONS, Operation
from ..contract.fastpath import parse_json, reject_constant
from ..contract.rules import Contract
from ..core.errors import NO_VIOLATIONS, Violation, Violations
from ..recording.redaction import REDACTED, looks_secret
from ..recording.tape import MAX_BODY_BYTES, TapeResponse, decode_body
from .bodies import ABSENT, READ_AS_JSON, id_from_query

__all__ = ["MAX_CHECKED_ANSWER_BYTES", "check_answer", "check_request", "inflated_over", "masked"]

_PATHS = {op.path: sorted(o.method for o in OPERATIONS if o.path == op.path) for op in OPERATIONS}
#: The most of a request body that is checked (the proxy refuses larger ones before).
_MAX_CHECKED_BYTES = 16 * 1024 * 1024
#: The largest answer (inflated) that is checked. Parsing and validating hold the interpreter, and so
#: every other client, some 10 ms per MiB, and one piece at a time; no AEM Guides answer but the log
#: ZIP (not JSON) comes near this.
MAX_CHECKED_ANSWER_BYTES = 1024 * 1024


def check_request(
    contract: Contract,
    operation: Operation | None,
    request: web.Request,
    sent: list[tuple[str, str]],
    raw: bytes,
) -> tuple[Violations, Violations]:
    """The request's errors and warnings, as the mock finds them (the mock would refuse the errors)."""
    if operation is None:
        allowed = _PATHS.get(request.path)
        if not allowed:  # not the API's (the CSRF token, a page): nothing to check
            return NO_VIOLATIONS, NO_VIOLATIONS
        message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
        wrong = Violation("method", message, " or ".join(allowed), request.method)
        return Violations.of([wrong]), NO_VIOLATIONS
    query, errors, warnings = contract.check_query(
        operation.query, request.query_string, lambda: request.query.items()
    )
    if operation.body is None:
        return errors, warnings
    body: Any = ABSENT
    integral_floats: bool | None = None
    if raw:
        encoding = next((v for k, v in sent if k.lower() == "content-encoding"), "")
        found, body, integral_floats = _parsed(request.content_type, encoding, raw)
        errors, warnings = errors + found.errors, warnings + found.warnings
    body = id_from_query(operation, query, body)
    if body is ABSENT and operation.body_required and not errors:
        missing = Violation("body:/", "a JSON body is required", "a JSON object", None, keyword="required")
        errors += Violations.of([missing])
    elif body is not ABSENT:
        _, found_errors, noted = contract.read_body(operation.body, body, integral_floats)
        errors, warnings = errors + found_errors, warnings + noted
    return errors, warnings


@dataclasses.dataclass(frozen=True, slots=True)
class _Found:
    errors: Violations = NO_VIOLATIONS
    warnings: Violations = NO_VIOLATIONS


def _parsed(content_type: str, encoding: str, raw: bytes) -> tuple[_Found, Any, bool | None]:
    """The JSON body (``ABSENT`` when it cannot be read), whether it holds integral floats, and what
    is wrong with how it was sent."""
    warnings: list[Violation] = []
    if content_type not in ("application/json", *READ_AS_JSON):
        message = f"the body must be sent as 'Content-Type: application/json', not {content_type!r}"
        wrong = Violation("header:Content-Type", message, "application/json", content_type)
        return _Found(Violations.of([wrong])), ABSENT, None
    if content_type != "application/json":
        message = f"the body is sent as {content_type!r}: an author reads it as JSON anyway; send "
        warnings.append(Violation("header:Content-Type", message + "'Content-Type: application/json'",
                                  "application/json", content_type, severity="warning"))  # fmt: skip
    data, cut = decode_body(raw, encoding, _MAX_CHECKED_BYTES)
    try:
        if data is None or cut:
            raise ValueError("its Content-Encoding does not decode")
        body, integral_floats = parse_json(data.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError too
        message = f"the body is not valid JSON: {str(error)[:200]}"
        return _Found(Violations.of([Violation("body:/", message, "a JSON object")])), ABSENT, None
    return _Found(warnings=Violations.of(warnings)), body, integral_floats


def check_answer(
    contract: Contract, operation: Operation | None, method: str, answer: TapeResponse
) -> Violations:
    """The answer's errors and warnings (``severity`` tells them apart) against its operation's
    response schema, or the error schema for an error status."""
    if operation is None:
        return NO_VIOLATIONS
    found: list[Violation] = []
    status = answer.status
    if status not in operation.statuses:
        listed = ", ".join(map(str, sorted(operation.statuses)))
        message = f"the contract lists no {status} answer for {operation.name}: it lists {listed}"
        found.append(Violation("status", message, listed, status, keyword="status", severity="warning"))
    media = next((v for k, v in answer.headers if k.lower() == "content-type"), "")
    media = media.partition(";")[0].strip().lower()
    schema = operation.response if 200 <= status < 300 else "error" if status >= 400 else None
    if schema is None or method == "HEAD" or (status < 300 and media != "application/json"
                                               and media in operation.media_types):  # fmt: skip
        return Violations.of(found)  # no JSON to check (a redirect, the log ZIP)
    encoding = next((v for k, v in answer.headers if k.lower() == "content-encoding"), "")
    data, cut = decode_body(answer.body, encoding, MAX_CHECKED_ANSWER_BYTES)
    unchecked = _why_unchecked(answer, encoding, data is None, cut)
    if unchecked is not None or data is None:
        message = f"the {operation.name} answer is not checked: {unchecked}"
        found.append(Violation("body:/", message, "a JSON body", None, severity="warning"))
        return Violations.of(found)
    try:
        payload, integral_floats = parse_json(data.decode("utf-8"), parse_constant=reject_constant)
    except (ValueError, RecursionError):
        # An error page in HTML is what Sling sends by default (§3.24): a warning; a 2xx must be JSON.
        message = f"the {operation.name} answer ({status}, {media or 'no Content-Type'}) is not JSON"
        severity: Literal["error", "warning"] = "warning" if status >= 400 else "error"
        found.append(Violation("body:/", message, f"JSON of schema {schema}", media, severity=severity))
        return Violations.of(found)
    errors, unknown = contract.check_answer(schema, payload, integral_floats)
    return Violations.of(found) + errors + unknown


def _why_unchecked(answer: TapeResponse, encoding: str, undecodable: bool, cut: bool) -> str | None:
    if answer.size > len(answer.body):
        return (f"the proxy kept {len(answer.body)} of its {answer.size} bytes (at most {MAX_BODY_BYTES} of "
                "one answer, and max_kept_bytes of all the answers in flight)")  # fmt: skip
    if undecodable:
        return f"its Content-Encoding {encoding[:40]!r} is not gzip or deflate, or does not decode"
    if cut:
        return (f"it is larger than {MAX_CHECKED_ANSWER_BYTES} bytes (inflated), more than the proxy checks "
                "without holding up its other clients")  # fmt: skip
    return None


def inflated_over(body: bytes, encoding: str, limit: int) -> bool:
    """Whether ``body``, undone of its ``Content-Encoding``, holds more than ``limit`` bytes: how much
    a check has to read (a few KB of gzip may be a MiB of JSON). Inflates ``limit`` bytes at most;
    a body that does not decode is checked no further, so it is not over."""
    if encoding.strip().lower() in ("", "identity"):
        return len(body) > limit
    _, cut = decode_body(body, encoding, limit)
    return cut


def masked(violations: tuple[Violation, ...]) -> tuple[Violation, ...]:
    """``got`` without secrets: redacted where the field's name looks secret (``query:token``,
    ``body:/auth/password``), and so within it (``{"password": …}`` under an unknown field)."""
    if not violations:
        return violations
    return tuple(
        dataclasses.replace(v, got=_unsecret(re.split("[:/]", v.where)[-1], v.got)) for v in violations
    )


def _unsecret(name: str, value: Any) -> Any:
    if looks_secret(name):
        return REDACTED
    if isinstance(value, dict):
        return {key: _unsecret(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsecret("", item) for item in value]
    return value
