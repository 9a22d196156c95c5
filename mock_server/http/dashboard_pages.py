"""The dashboard's HTML: pure functions from data to escaped text, one per page.

Every value is escaped (journal bodies, paths and ids come from clients: ``<script>`` is shown,
never run). No inline script or style: the page's own ``app.js`` and ``app.css`` do the rest, under
``Content-Security-Policy: default-src 'self'``. Links are relative, so the pages work behind a
reverse proxy that mounts the mock under a prefix. ``root`` is the way from a page to ``/__admin/ui/``.
"""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_JOB_ROWS",
    "MAX_JOURNAL_ROWS",
    "MAX_STATUS_ROWS",
    "asset_status_page",
    "job_page",
    "jobs_page",
    "journal_page",
    "scenario_page",
]

#: The most exchanges the journal page lists (the newest), and the most jobs the jobs page lists.
MAX_JOURNAL_ROWS = 200
MAX_JOB_ROWS = 200
#: The most asset-status jobs (§3.40) the asset-status page lists, each derived when the page is shown.
MAX_STATUS_ROWS = 10


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _time(ms: Any) -> str:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _job_link(root: str, job_id: str) -> str:
    return f"{root}jobs/{urllib.parse.quote(job_id, safe='')}"


def _layout(
    title: str,
    root: str,
    page: str,
    body: str,
    *,
    clock: str,
    scenario: str,
    session: str | None = None,
    **data: str,
) -> str:
    """A page; ``session``: the session it shows, None on the server's own dashboard (the one that
    links the sessions page)."""
    extra = "".join(f' data-{name}="{_e(value)}"' for name, value in data.items())
    pages = [("jobs", "", "Jobs"), ("journal", "journal", "Journal"), ("asset-status", "asset-status",
             "Asset status"), ("scenario", "scenario", "Scenario and clock")]  # fmt: skip
    if session is None:
        pages.append(("sessions", "sessions", "Sessions"))
    nav = "".join(
        f'<a href="{root}{href}"{" aria-current=page" if key == page else ""}>{label}</a>'
        for key, href, label in pages
    )
    where = "" if session is None else f'session <b id="session-name">{_e(session)}</b> · '
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)} · aem-guides-mock</title>'
        f'<link rel="icon" href="{root}favicon.svg">'  # else the browser asks the API's root for one
        f'<link rel="stylesheet" href="{root}app.css"><script src="{root}app.js" defer></script></head>'
        f'<body data-page="{page}" data-root="{root}"{extra}>'
        f"<header><strong>aem-guides-mock</strong><nav>{nav}</nav>"
        f'<span class="meta">{where}scenario <b id="scenario-name">{_e(scenario)}</b> · clock '
        f'<b id="clock">{_e(clock)}</b> · <span id="live">connecting…</span></span></header>'
        f'<main><h1>{_e(title)}</h1><p id="message" role="status"></p>{body}</main></body></html>\n'
    )


def progress(job: Mapping[str, Any]) -> str:
    """The job's assets done out of its total, as a bar and in figures (no bar before it is counted)."""
    done, total = job.get("triggeredCount") or 0, (job.get("migrationSet") or {}).get("totalFiles") or 0
    bar = f'<progress value="{_e(min(done, total))}" max="{_e(total)}"></progress> ' if total else ""
    return f'{bar}<span class="count">{_e(done)} / {_e(total)}</span>'


def actions(job: Mapping[str, Any], with_id: bool = False) -> str:
    """Cancel and Resume, each enabled only where the job's lifecycle allows it (the payload's
    ``cancellable`` and ``resumable``, as the engine decides them)."""
    target = f' data-id="{_e(job["processingId"])}"' if with_id else ""
    return "".join(
        f'<button type="button" data-action="{name}"{target}{"" if job.get(flag) else " disabled"}>'
        f"{label}</button> "
        for name, flag, label in (("cancel", "cancellable", "Cancel"), ("resume", "resumable", "Resume"))
    )


def _job_row(job: Mapping[str, Any], root: str) -> str:
    return (
        f'<tr data-id="{_e(job["processingId"])}"><td><a href="{_e(_job_link(root, job["processingId"]))}">'
        f"{_e(job['processingId'])}</a></td><td>{_e(job.get('path'))}</td>"
        f'<td class="status {_e(job.get("status"))}">{_e(job.get("status"))}</td>'
        f'<td class="progress">{progress(job)}</td><td class="comment">{_e(job.get("comments"))}</td>'
        f"<td>{_time(job.get('startedAt'))}</td><td>{_time(job.get('completedAt'))}</td>"
        f"<td>{_e(job.get('createdBy'))}</td><td>{actions(job, with_id=True)}</td></tr>"
    )


#: The start form's fields: the API's start body, the optional ones left out when empty.
_START_FIELDS = (
    ("path", "path", "/content/dam/22858", "required"),
    ("type", "type", "ASSET_PROCESSING", "required"),
    ("excludedPaths", "excluded paths (comma-separated)", "", ""),
    ("fileTypes", "filter: file types (comma-separated)", "", ""),
    ("startTime", "filter: start time (ms since 1970, UTC)", "", ""),
    ("endTime", "filter: end time (ms since 1970, UTC)", "", ""),
)


def _start_form() -> str:
    fields = "".join(
        f'<label>{_e(label)} <input name="{name}" value="{_e(value)}"{" " + extra if extra else ""}></label>'
        for name, label, value, extra in _START_FIELDS
    )
    return (
        f'<form id="start-form"><fieldset><legend>Start a job</legend>{fields}'
        '<button type="submit">Start</button></fieldset></form>'
        '<p><button type="button" data-action="reset">Reset: forget every job and exchange</button></p>'
    )


def jobs_page(
    jobs: Sequence[Mapping[str, Any]],
    *,
    clock: str,
    scenario: str,
    older: int = 0,
    session: str | None = None,
) -> str:
    """The jobs, oldest first as given (at most :data:`MAX_JOB_ROWS` of them), shown newest first,
    each with its progress, its comment (why it failed) and the actions its status allows;
    ``older`` counts those left out. A form starts a job, a button resets. ``app.js`` keeps it live."""
    shown = list(reversed(jobs))[:MAX_JOB_ROWS]
    older += len(jobs) - len(shown)
    rows = "".join(_job_row(job, "") for job in shown)
    more = f'<p class="note">{older} older job(s) not shown.</p>' if older else ""
    head = "".join(f"<th>{name}</th>" for name in ("processingId", "path", "status", "assets", "comment",
                   "started", "completed", "createdBy", "actions"))  # fmt: skip
    body = (
        f'{_start_form()}<table id="jobs"><thead><tr>{head}</tr></thead><tbody id="jobs-body">{rows}'
        f'</tbody></table><p id="no-jobs" class="note"{"" if not jobs else " hidden"}>No jobs yet: start '
        f"one through the API or the form.</p>{more}"
    )
    return _layout("Jobs", "", "jobs", body, clock=clock, scenario=scenario, session=session)


def asset_status_page(
    rows: Sequence[tuple[str, Sequence[str], str, Mapping[str, int]]],
    *,
    clock: str,
    scenario: str,
    older: int = 0,
    session: str | None = None,
) -> str:
    """The newest asset-status jobs (§3.40): ``(jobId, paths, createdBy, assets by status)`` each,
    the counts as the bulk jobs make them now; ``older`` counts those left out."""
    columns = ("SUCCESS", "FAILURE", "PROCESSING", "PENDING", "missing")
    head = "".join(f"<th>{name}</th>" for name in ("jobId", "paths", "createdBy", *columns))
    body_rows = "".join(
        f'<tr data-id="{_e(job_id)}"><td>{_e(job_id)}</td><td>{_e(", ".join(paths))}</td><td>{_e(user)}</td>'
        + "".join(f'<td class="status {name}">{counts.get(name, 0)}</td>' for name in columns)
        + "</tr>"
        for job_id, paths, user, counts in rows
    )
    more = f'<p class="note">{older} older asset-status job(s) not shown.</p>' if older else ""
    hint = 'POST {"paths": [...]} to /bin/guides/v1/assets/status'
    none = "" if rows else f'<p class="note">No asset-status jobs yet: {_e(hint)}.</p>'
    table = f'<table id="asset-status"><thead><tr>{head}</tr></thead><tbody>{body_rows}</tbody></table>'
    body = f"{table}{none}{more}"
    return _layout("Asset status", "", "asset-status", body, clock=clock, scenario=scenario, session=session)


def job_page(
    job: Mapping[str, Any],
    lines: Sequence[str],
    offset: int,
    limit: int,
    total: int,
    *,
    clock: str,
    scenario: str,
    session: str | None = None,
) -> str:
    """One job: its fields (kept live), cancel and resume, its log by pages, the ZIP."""
    job_id = str(job["processingId"])
    fields = "".join(
        f'<tr><th>{_e(name)}</th><td data-field="{_e(name)}">{_e(value)}</td></tr>'
        for name, value in (
            ("status", job.get("status")), ("path", job.get("path")),
            ("triggeredCount", job.get("triggeredCount")),
            ("totalFiles", (job.get("migrationSet") or {}).get("totalFiles")),
            ("createdBy", job.get("createdBy")), ("startedAt", _time(job.get("startedAt"))),
            ("completedAt", _time(job.get("completedAt"))), ("comments", job.get("comments")),
        )
    )  # fmt: skip
    here = urllib.parse.quote(job_id, safe="")
    pages = []
    if offset > 0:
        pages.append(f'<a href="{here}?offset={max(0, offset - limit)}&amp;limit={limit}">previous</a>')
    if offset + len(lines) < total:
        pages.append(f'<a href="{here}?offset={offset + limit}&amp;limit={limit}">next</a>')
    shown = (
        f"lines {offset + 1} to {offset + len(lines)} of {total}"
        if lines
        else f"no lines here ({total} in all)"
    )
    body = (
        f'<table class="fields">{fields}</table>'
        f'<p id="job-progress">{progress(job)}</p><p><span id="job-actions">{actions(job)}</span>'
        f'<a href="../../jobs/{here}/download" download="{_e(job_id)}.zip">Download the log (ZIP)</a></p>'
        f'<h2>Log</h2><p class="note"><span id="log-range">{shown}</span> {" · ".join(pages)}</p>'
        f'<pre id="log">{_e(chr(10).join(lines))}</pre>'
    )
    return _layout(f"Job {job_id}", "../", "job", body, clock=clock, scenario=scenario, session=session,
                   job=job_id, offset=str(offset), limit=str(limit))  # fmt: skip


def _violations(kind: str, found: Iterable[Mapping[str, Any]]) -> str:
    return "".join(
        f'<li class="{kind}"><code>{_e(v.get("where"))}</code> {_e(v.get("message"))}</li>' for v in found
    )


def journal_page(
    exchanges: Sequence[Mapping[str, Any]],
    filters: Mapping[str, str],
    operations: Sequence[str],
    *,
    clock: str,
    scenario: str,
    kept: int,
    matching: int | None = None,
    recorded: int = 0,
    session: str | None = None,
) -> str:
    """The journal's exchanges, newest first and at most :data:`MAX_JOURNAL_ROWS`, with a filter
    form; each one's errors and warnings with their pointer and message."""

    def select(name: str, choices: Sequence[str]) -> str:
        options = "".join(
            f'<option value="{_e(c)}"{" selected" * (filters.get(name) == c)}>{_e(c or "any")}</option>'
            for c in ("", *choices)
        )
        return f'<label>{name} <select name="{name}">{options}</select></label>'

    statuses = ["2xx", "4xx", "5xx"]
    form = (
        f'<form method="get" action="journal">{select("operation", operations)}{select("status", statuses)}'
        f'{select("severity", ["error", "warning"])}<button type="submit">Filter</button></form>'
    )
    rows = []
    for ex in exchanges[:MAX_JOURNAL_ROWS]:
        problems = _violations("error", ex.get("requestViolations", ())) + _violations(
            "warning", ex.get("warnings", ())
        )
        problems += _violations("response", ex.get("responseViolations", ()))
        query = f"?{ex['query']}" if ex.get("query") else ""
        at = _time(ex.get("at")) or "(no time)"
        if isinstance(ex.get("n"), int):  # numbered: its headers and bodies are on a page of their own
            at = f'<a href="exchanges/{ex["n"]}" title="headers and bodies">{at}</a>'
        rows.append(
            f"<tr><td>{at}</td><td>{_e(ex.get('operation') or '')}</td>"
            f"<td>{_e(ex.get('method'))} {_e(ex.get('path'))}{_e(query)}</td>"
            f'<td class="code">{_e(ex.get("status"))}</td><td><ul class="problems">{problems}</ul></td></tr>'
        )
    listed = min(len(exchanges), MAX_JOURNAL_ROWS)
    found = len(exchanges) if matching is None else matching
    note = f"{listed} of {found} matching exchange(s) shown, newest first; the journal keeps {kept}."
    body = (
        f'{form}<p class="note">{note} <a id="newer" href="" hidden></a></p>'
        '<table id="journal"><thead><tr><th>at</th><th>operation</th>'
        f"<th>request</th><th>status</th><th>errors and warnings</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )
    return _layout(
        "Journal",
        "",
        "journal",
        body,
        clock=clock,
        scenario=scenario,
        session=session,
        recorded=str(recorded),
    )


def scenario_page(
    scenario: Mapping[str, Any],
    settings: Mapping[str, Any],
    faults: Sequence[str],
    *,
    clock: str,
    manual: bool,
    session: str | None = None,
) -> str:
    """The loaded scenario (its YAML), the settings in force, its faults, and the clock's buttons."""
    disabled = "" if manual else " disabled"
    buttons = "".join(
        f'<button type="button" data-action="advance" {attr}{disabled}>{label}</button> '
        for attr, label in (('data-seconds="1"', "+1 s"), ('data-seconds="60"', "+1 min"),
                            ('data-to="next"', "to the next transition"))
    )  # fmt: skip
    why = (
        ""
        if manual
        else '<p class="note">The clock is the real one: serve with --clock manual to move it.</p>'
    )
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in settings.items())
    listed = "".join(f"<li>{_e(f)}</li>" for f in faults) or "<li>none</li>"
    body = (
        f"<h2>Clock</h2><p>now <b data-field=clock>{_e(clock)}</b></p><p>{buttons}</p>{why}"
        f'<h2>Faults</h2><ul id="faults">{listed}</ul>'
        f"<h2>{_e(scenario.get('name'))}</h2><p>{_e(scenario.get('description'))}</p>"
        f'<p class="note">from {_e(scenario.get("origin"))}</p>'
        f'<pre id="yaml">{_e(scenario.get("yaml") or "(no YAML: the embedded default)")}</pre>'
        f'<h2>Settings in force</h2><table class="fields" id="settings">{rows}</table>'
    )
    return _layout(
        "Scenario and clock",
        "",
        "scenario",
        body,
        clock=clock,
        scenario=str(scenario.get("name")),
        session=session,
    )
