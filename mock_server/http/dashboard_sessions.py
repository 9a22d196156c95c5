"""The dashboard's sessions page (the server's own dashboard only): each session with its scenario,
its clock, its jobs and its last activity, a link to its dashboard, Reset and Delete. Pure: from the
rows ``GET /__admin/sessions`` answers to escaped HTML; ``app.js`` refreshes the table from that
route, and its buttons call it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from .dashboard_pages import _e, _layout, _time

__all__ = ["sessions_page"]


def _dashboard_link(row: Mapping[str, Any]) -> str:
    """From ``/__admin/ui/sessions`` to the session's dashboard, relatively (a proxy's prefix kept)."""
    if row.get("default"):
        return "./"
    return f"../../sessions/{urllib.parse.quote(str(row['name']), safe='')}/__admin/ui/"


def _ago(seconds: Any, wall_now_ms: int) -> str:
    if not isinstance(seconds, int | float):
        return "— (never expires)"
    return f"{_time(int(wall_now_ms - seconds * 1000))} ({seconds:.0f} s ago)"


def _row(row: Mapping[str, Any], wall_now_ms: int) -> str:
    name = str(row["name"])
    clock = row.get("clock") or {}
    expires = row.get("expiresInSeconds")
    delete = " disabled" if row.get("default") else ""
    return (
        f'<tr data-name="{_e(name)}"><td><a href="{_e(_dashboard_link(row))}">{_e(name)}</a></td>'
        f"<td>{_e(row.get('scenario'))}</td><td>{_time(clock.get('now'))} ({_e(clock.get('kind'))})</td>"
        f'<td class="jobs">{_e(row.get("jobs"))}</td><td>{_e(_ago(row.get("idleSeconds"), wall_now_ms))}</td>'
        f"<td>{'' if expires is None else _e(f'{expires:.0f} s')}</td>"
        f'<td><button type="button" data-action="session-reset" data-name="{_e(name)}">Reset</button> '
        f'<button type="button" data-action="session-delete" data-name="{_e(name)}"{delete}>Delete</button>'
        "</td></tr>"
    )


def sessions_page(
    rows: Sequence[Mapping[str, Any]], *, most: int, wall_now_ms: int, clock: str, scenario: str
) -> str:
    """The sessions (``rows`` as ``GET /__admin/sessions`` lists them; ``most``: the cap); the last
    activity is on the server's real clock (``wall_now_ms``), in UTC."""
    head = "".join(f"<th>{name}</th>" for name in ("session", "scenario", "clock now", "jobs",
                   "last activity", "expires in", "actions"))  # fmt: skip
    body = (
        f'<p class="note"><span id="session-count">{len(rows)}</span> of at most {most} session(s). A client '
        "selects one by the path prefix /sessions/NAME or the header X-Aem-Mock-Session; POST "
        "/__admin/sessions makes one. The default session cannot be deleted.</p>"
        f'<table id="sessions"><thead><tr>{head}</tr></thead><tbody id="sessions-body">'
        f"{''.join(_row(row, wall_now_ms) for row in rows)}</tbody></table>"
    )
    return _layout("Sessions", "", "sessions", body, clock=clock, scenario=scenario)
