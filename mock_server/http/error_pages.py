"""The error body in Sling's style (§3.24's switch): the HTML page an AEM author answers errors with.

A client that parses every error body as JSON works against the mock's default and breaks on a real
author, whose Sling error handler answers a small HTML page. ``error_format: sling-html`` answers that
page instead, built from the same error the mock checked against ``error.schema.json``; the journal
and the strict pytest plugin still see the violations.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["sling_error_page"]


def sling_error_page(error: dict[str, Any]) -> bytes:
    """The page for an error object of ``error.schema.json`` (status, error, message, path)."""
    status, reason = error["status"], escape(str(error["error"]))
    path, message = escape(str(error.get("path", ""))), escape(str(error["message"]))
    return (
        "<html>\n"
        f'<head><meta charset="utf-8"><title>{status} {reason}</title></head>\n'
        "<body>\n"
        f"<h1>{reason} ({status})</h1>\n"
        f"<p>Cannot serve request to {path} on this server: {message}</p>\n"
        "<hr>\n"
        "<address>ApacheSling/2.6 (aem-guides-mock)</address>\n"
        "</body>\n"
        "</html>\n"
    ).encode()
