"""Answers other than an operation's own: a refusal, and the error object that says what is wrong.

Every error body is at most :data:`MAX_ERROR_BYTES` long: violations are dropped (and counted) to
keep within it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from ..api.error_statuses import api_status, error_status
from ..api.operations import Reply
from ..core.errors import MAX_SHOWN, ContractViolation, MockError, UnknownJob, Violation, Violations
from ..core.settings import Settings

__all__ = ["MAX_ERROR_BYTES", "Refusal", "error_reply", "refusal_for"]

#: The most bytes an error body takes.
MAX_ERROR_BYTES = 64 * 1024


class Refusal(Exception):
    """An answer other than the operation's own: status, message and violations.

    ``breaks_contract`` tells whether the client under test broke the contract (a malformed or
    invalid request, a wrong path or method); the journal keeps those. Refusals that a correct
    client meets too (401, an unknown job, a job in the wrong state, a fault) do not break it.
    """

    def __init__(
        self,
        status: int,
        message: str,
        violations: Sequence[Violation] | Violations = (),
        headers: Mapping[str, str] | None = None,
        *,
        breaks_contract: bool = True,
        body: Any = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = violations if isinstance(violations, Violations) else Violations.of(violations)
        self.headers = dict(headers or {})
        self.breaks_contract = breaks_contract
        self.body = body
        self.close = close
        """Close the connection after answering (a client that cannot be read from any more)."""


def refusal_for(error: MockError, settings: Settings, id_in_body: bool = False) -> Refusal:
    """The API's answer to an error of the core, as the exception-to-status table says
    (:mod:`mock_server.api.error_statuses`); ``id_in_body``: the operation takes its id in the
    body, where a violation about an unknown id points."""
    row = error_status(error)
    violations: Violations | list[Violation] = []  # the rows of these two hold Body.VIOLATIONS
    message = str(error)
    if isinstance(error, ContractViolation):
        violations, message = error.violations, error.violations.summary()
    elif isinstance(error, UnknownJob):
        where = f"body:/{error.where}" if id_in_body else f"query:{error.where}"
        wanted = f"the {error.where} of an existing job"
        violations = [Violation(where, message, wanted, error.processing_id[:80])]
    return Refusal(
        api_status(error, settings),
        message,
        violations,
        row.headers,
        breaks_contract=row.breaks_contract,
    )


def error_reply(refusal: Refusal, path: str) -> Reply:
    """The error object for ``refusal``, at most :data:`MAX_ERROR_BYTES` long."""
    if refusal.body is not None:  # a fault's own body, sent as the scenario gives it
        return Reply(refusal.body, None, refusal.status, headers=refusal.headers)
    listed, more = list(refusal.violations), refusal.violations.more
    while True:
        payload: dict[str, Any] = {
            "status": refusal.status,
            "error": HTTPStatus(refusal.status).phrase,
            "message": refusal.message[: MAX_ERROR_BYTES // 4],
            "path": path[:MAX_SHOWN],
        }
        if listed:
            payload["violations"] = [v.to_json() for v in listed]
        if more:
            payload["moreViolations"] = more
        body = json.dumps(payload, separators=(",", ":")).encode()
        if len(body) <= MAX_ERROR_BYTES or not listed:
            return Reply(payload, "error", refusal.status, headers=refusal.headers, body=body, is_error=True)
        listed, more = listed[:-1], more + 1
