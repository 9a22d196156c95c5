"""The admin API under ``/__admin``: the scenario, the clock, the journal and the jobs, at runtime.

Loopback only, unless ``admin_token`` is set: then the header ``X-Admin-Token`` must carry it, from
any address. ``admin_enabled: false`` switches the API off (404). These routes are the mock's own,
not AEM's: they are not checked against the contract and not kept in the journal.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .app import MOCK
from .clock import MAX_ADVANCE_S, ManualClock
from .errors import UnknownJob
from .payloads import job_payload
from .scenarios import ScenarioError, load_scenario, parse_scenario, shipped_scenarios

__all__ = ["ADMIN_PATH", "add_admin_routes"]

ADMIN_PATH = "/__admin"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(status: int, message: str, **extra: Any) -> web.Response:
    reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
    body = {"status": status, "error": reason.get(status, "Error"), "message": message, **extra}
    return web.json_response(body, status=status)


def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0]) if address else None
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 client of a server bound to "::"
    return ip is not None and ip.is_loopback


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def _loopback_host(value: str) -> bool:
    """True for ``localhost``, a 127.x.x.x address or ``[::1]``, with or without a port."""
    host = value.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    host = host.rstrip(".")  # "localhost." is the same name, written fully qualified
    return host in _LOOPBACK_NAMES or host.endswith(".localhost") or _is_loopback(host.strip("[]"))


def _foreign_origin(request: web.Request) -> str | None:
    """Why a loopback-only admin request looks like it came from a web page, if it does."""
    host = request.headers.get("Host", "")
    if not _loopback_host(host):
        return f"the Host header {host!r} is not a loopback name (a DNS-rebinding page?)"
    origin = request.headers.get("Origin")
    if origin is not None:
        _, _, rest = origin.partition("://")
        if not rest or not _loopback_host(rest.split("/")[0]):
            return f"the request comes from the web page {origin!r}"
    return None


def _guarded(handler: _Handler) -> _Handler:
    async def guard(request: web.Request) -> web.StreamResponse:
        settings = request.app[MOCK].settings
        if not settings.admin_enabled:
            return _answer(404, "the admin API is switched off (admin.enabled: false)")
        if any(name.lower() in ("token", "x-admin-token", "admin_token") for name in request.query):
            return _answer(400, "never put the admin token in a URL; send it in the header 'X-Admin-Token'")
        if settings.admin_token is not None:
            given = request.headers.get("X-Admin-Token", "")
            if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
                return _answer(401, "the admin API needs the header 'X-Admin-Token'")
        elif not _is_loopback(request.remote):
            return _answer(403, "the admin API answers loopback only; set admin.token to open it wider")
        elif (reason := _foreign_origin(request)) is not None:
            return _answer(403, f"admin request refused: {reason}")
        return await handler(request)

    return guard


async def _index(request: web.Request) -> web.Response:
    routes = sorted({f"{r.method} {r.resource.canonical}" for r in request.app.router.routes()
                     if r.resource is not None and r.resource.canonical.startswith(ADMIN_PATH)})  # fmt: skip
    return web.json_response({"routes": routes})


async def _get_scenario(request: web.Request) -> web.Response:
    scenario = request.app[MOCK].scenario
    return web.json_response(
        {"name": scenario.name, "description": scenario.description, "origin": scenario.origin,
         "yaml": scenario.text}
    )  # fmt: skip


async def _put_scenario(request: web.Request) -> web.Response:
    """A shipped name as ``{"name": "…"}``, or a whole YAML document."""
    mock = request.app[MOCK]
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as error:
        return _answer(400, f"the scenario is not UTF-8 text (byte {error.start})")
    try:
        if request.content_type == "application/json":
            try:
                name = json.loads(text)["name"]
            except (ValueError, KeyError, TypeError):
                name = None
            if not isinstance(name, str):
                return _answer(400, 'send {"name": "<shipped scenario>"} or a YAML document')
            if name not in shipped_scenarios():
                raise ScenarioError([f"{name}: no shipped scenario of that name"])
            scenario = load_scenario(str(name))
        else:
            scenario = parse_scenario(text, "<admin>", "posted")
    except ScenarioError as error:
        return _answer(400, "the scenario was not loaded; the last good one stays", problems=error.problems)
    mock.load(scenario)
    return web.json_response({"name": scenario.name, "description": scenario.description})


async def _scenarios(request: web.Request) -> web.Response:
    listing = []
    for name in shipped_scenarios():
        listing.append({"name": name, "description": load_scenario(name).description})
    return web.json_response({"scenarios": listing})


async def _reset(request: web.Request) -> web.Response:
    request.app[MOCK].reset()
    return web.json_response({"reset": True})


async def _clock(request: web.Request) -> web.Response:
    clock = request.app[MOCK].clock
    return web.json_response({"now": clock.now_ms(), "kind": type(clock).__name__})


async def _advance(request: web.Request) -> web.Response:
    clock = request.app[MOCK].clock
    if not isinstance(clock, ManualClock):
        return _answer(409, "the clock is the real one; load a scenario with 'clock: manual' to move it")
    try:
        seconds = float((await request.json())["seconds"])
        clock.advance(seconds)
    except (ValueError, KeyError, TypeError, OverflowError) as error:
        return _answer(400, f'send {{"seconds": N}} with 0 <= N <= {MAX_ADVANCE_S:.0f} ({error})')
    return web.json_response({"now": clock.now_ms(), "kind": type(clock).__name__})


async def _stats(request: web.Request) -> web.Response:
    """What a soak test watches: tasks, jobs and journal against their caps."""
    mock = request.app[MOCK]
    return web.json_response(
        {
            "tasks": len(asyncio.all_tasks()),
            "jobs": len(mock.engine.jobs()),
            "maxJobs": mock.settings.max_jobs,
            "journal": len(mock.journal),
            "journalSize": mock.settings.journal_size,
        }
    )


async def _journal(request: web.Request) -> web.Response:
    return web.json_response({"exchanges": [e.to_json() for e in request.app[MOCK].journal]})


async def _violations(request: web.Request) -> web.Response:
    exchanges = request.app[MOCK].journal.client_violations()
    return web.json_response({"exchanges": [e.to_json() for e in exchanges]})


async def _jobs(request: web.Request) -> web.Response:
    mock = request.app[MOCK]
    jobs = [{**job_payload(job, mock.settings), "script": job.script} for job in mock.engine.jobs()]
    return web.json_response({"jobs": jobs})


async def _job(request: web.Request) -> web.Response:
    mock = request.app[MOCK]
    try:
        job = mock.engine.get(request.match_info["processing_id"])
    except UnknownJob as error:
        return _answer(404, str(error))
    return web.json_response({**job_payload(job, mock.settings), "script": job.script, "polls": job.polls})


def add_admin_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, _Handler]] = [
        ("GET", "", _index),
        ("GET", "/scenario", _get_scenario),
        ("PUT", "/scenario", _put_scenario),
        ("GET", "/scenarios", _scenarios),
        ("POST", "/reset", _reset),
        ("GET", "/clock", _clock),
        ("POST", "/clock/advance", _advance),
        ("GET", "/journal", _journal),
        ("GET", "/stats", _stats),
        ("GET", "/violations", _violations),
        ("GET", "/jobs", _jobs),
        ("GET", "/jobs/{processing_id}", _job),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, ADMIN_PATH + path, _guarded(handler))
