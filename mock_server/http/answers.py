"""The JSON error answer of the mock's own routes (the admin API, the dashboard, the proxy's)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

__all__ = ["json_answer"]


def json_answer(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = {"status": status, "error": HTTPStatus(status).phrase, "message": message, **extra}
    return web.json_response(body, status=status, headers=headers)
