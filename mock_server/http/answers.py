"""The JSON error answer of the mock's own routes (the admin API, the dashboard, the proxy's)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

from ..api.error_statuses import Body, error_status
from ..core.errors import MockError, ScenarioError

__all__ = ["admin_error", "json_answer"]


def json_answer(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {"status": status, "error": HTTPStatus(status).phrase, "message": message, **extra}
    return web.json_response(body, status=status, headers=headers)


def admin_error(error: MockError, message: str | None = None) -> web.Response:
    """The answer of the mock's own routes to an error of the core, as the exception-to-status
    table says (:mod:`mock_server.api.error_statuses`); ``message`` says what was not done (the
    error's own by default)."""
    row = error_status(error)
    extra: dict[str, Any] = {}
    if row.body is Body.PROBLEMS:
        extra["problems"] = error.problems if isinstance(error, ScenarioError) else [str(error)]
    return json_answer(row.admin_status, message or str(error), **extra)
