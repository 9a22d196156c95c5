"""RemoteMock: one session of a mock server in another process, behind :class:`~.server.MockServer`'s
interface.

``pytest --aem-url http://host:4502`` hands each test one (through the ``aem_mock`` fixture) instead
of a server of its own: xdist workers, parallel CI jobs and suites in other languages share one
``aem-guides-mock serve``, each test isolated in its session (its scenario, settings, manual clock,
jobs and journal). Everything goes over the server's admin API (``/__admin/sessions`` to make and
drop the session, ``/sessions/NAME/__admin/...`` for its clock, jobs and journal) with the standard
library's ``urllib``: nothing here runs an event loop.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from .api.operations import BASE_PATH, OPERATION_NAMES
from .core.errors import MockError
from .core.journal import Exchange, select
from .core.reports import SERVER_OPT_OUT, OptOut, no_violations
from .core.settings import Settings, specs, spelled
from .http.options import ScenarioSource, as_scenario
from .scenarios.reading import shipped_scenarios
from .scenarios.scenario import Scenario

__all__ = ["Admin", "RemoteError", "RemoteMock", "session_name"]

#: How long one admin call may take before the test fails saying so.
TIMEOUT_S = 30.0
#: The most bytes of one admin answer read (a journal of 8 MiB is far below it); a longer one is an
#: error naming this cap, not a test process filling its memory from a URL that is not the mock.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: How many jobs one admin page holds (the most ``GET /__admin/jobs`` gives).
PAGE = 500
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class RemoteError(MockError):
    """The server at ``--aem-url`` cannot be used, or refused an admin call (the message says why)."""


class Admin:
    """The admin API of the server at ``url``, with its ``X-Admin-Token`` when one is given."""

    def __init__(self, url: str, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RemoteError(f"{url!r} is not a server's URL: give one such as http://127.0.0.1:4502")
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """``method path`` on the server with a JSON ``body``: its status and its JSON (None if
        there is none). A server that cannot be reached is a :class:`RemoteError` naming the URL."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token is not None:
            request.add_header("X-Admin-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                status, raw = answer.status, answer.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read(MAX_ANSWER_BYTES + 1)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RemoteError(f"cannot reach {self.url} ({reason})") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise RemoteError(f"{method} {self.url}{path} answered more than {MAX_ANSWER_BYTES} bytes "
                              "(MAX_ANSWER_BYTES): is it an aem-guides-mock?")  # fmt: skip
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def expect(self, method: str, path: str, body: object = None, ok: int = 200) -> Any:
        """The JSON of ``method path``, which must answer ``ok``; else a :class:`RemoteError`
        with the server's message."""
        status, found = self.call(method, path, body)
        if status != ok:
            said = found.get("message") if isinstance(found, dict) else None
            raise RemoteError(f"{method} {self.url}{path} answered {status}: {said or found}")
        return found

    def probe(self) -> None:
        """Check that ``url`` is an aem-guides-mock with sessions whose admin API lets us in;
        a :class:`RemoteError` naming the URL and the fix if not."""
        fix = "start one there (aem-guides-mock serve --port 4502), or drop --aem-url / AEM_GUIDES_MOCK_URL"
        try:
            status, found = self.call("GET", "/__admin/sessions")
        except RemoteError as error:
            raise RemoteError(f"{error}: {fix}") from None
        said = found.get("message") if isinstance(found, dict) else None
        if status == 401:
            raise RemoteError(f"the admin API of {self.url} needs its token: pass --aem-admin-token TOKEN "
                              "or set AEM_GUIDES_MOCK_ADMIN_TOKEN")  # fmt: skip
        if status == 403:
            raise RemoteError(f"the admin API of {self.url} refused us ({said}): serve it with "
                              "an admin token (AEM_GUIDES_MOCK_ADMIN_TOKEN) and pass it with "
                              "--aem-admin-token TOKEN")  # fmt: skip
        if status != 200 or not isinstance(found, dict) or not isinstance(found.get("sessions"), list):
            shown = f"{status} {str(found)[:80] if found is not None else '(no JSON)'}"
            raise RemoteError(f"{self.url} is not an aem-guides-mock with sessions (GET /__admin/sessions "
                              f"answered {shown}): {fix}")  # fmt: skip


def session_name(node_id: str, worker: str = "main") -> str:
    """A fresh session name for the test ``node_id`` on ``worker`` (xdist's ``gw0``…): readable on
    the server's sessions page, unique across runs and CI jobs sharing the server."""
    test = _NOT_IN_NAME.sub("-", node_id.rsplit("::", 1)[-1]).strip(".-")[:32]
    digest = hashlib.sha256(node_id.encode()).hexdigest()[:8]
    where = _NOT_IN_NAME.sub("-", worker).strip(".-")[:8] or "main"
    return f"{where}-{test}-{digest}{secrets.token_hex(3)}"


class RemoteMock:
    """One session of the server ``admin`` reaches, named ``name``; made by :meth:`start`, dropped
    by :meth:`stop`. It answers what :class:`~.server.MockServer` answers, over the session's admin
    API; ``url`` is the session's base URL, so ``url + BASE_PATH`` is its API."""

    def __init__(self, admin: Admin, name: str, scenario: ScenarioSource = None,
                 overrides: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        self.admin = admin
        self.name = name
        self.url = f"{admin.url}/sessions/{name}"
        self._admin_path = f"/sessions/{name}/__admin"
        self._scenario, self._settings, self._sent = _wanted(scenario, overrides or {})

    # --- lifecycle
    def start(self) -> RemoteMock:
        """Make the session on the server (``POST /__admin/sessions``)."""
        body = {"name": self.name, **self._sent}
        self.admin.expect("POST", "/__admin/sessions", body, ok=201)
        return self

    def stop(self) -> None:
        """Drop the session (``DELETE /__admin/sessions/NAME``); one gone already is no error."""
        status, _ = self.admin.call("DELETE", f"/__admin/sessions/{self.name}")
        if status not in (200, 404):
            raise RemoteError(f"the session {self.name} could not be deleted ({status})")

    # --- what MockServer answers
    @property
    def base_url(self) -> str:
        return self.url + BASE_PATH

    @property
    def auth(self) -> tuple[str, str]:
        """The first Basic user of the session's scenario and settings (``admin``/``admin``)."""
        return next(iter(self._settings.users.items()), ("admin", "admin"))

    @property
    def headers(self) -> dict[str, str]:
        user, password = self.auth
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    @property
    def vary(self) -> int | None:
        return self._settings.vary

    def advance(self, seconds: float) -> int:
        status, found = self.admin.call("POST", f"{self._admin_path}/clock/advance", {"seconds": seconds})
        if status == 409:
            raise TypeError(f"the session's clock is not a manual one: {found}")
        if status != 200:
            raise RemoteError(f"advancing the clock of the session {self.name} answered {status}: {found}")
        return int(found["now"])

    def reset(self) -> None:
        self.admin.expect("POST", f"/__admin/sessions/{self.name}/reset")

    def load_scenario(self, scenario: ScenarioSource, *, origin: str = "load_scenario()",
                      **overrides: Any) -> None:  # fmt: skip
        """Serve ``scenario`` with ``overrides`` from now on: the session made again, empty."""
        self._scenario, self._settings, self._sent = _wanted(scenario, overrides, origin)
        self.stop()
        self.start()

    @property
    def jobs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.admin.expect("GET", f"{self._admin_path}/jobs?offset={len(found)}&limit={PAGE}")
            found += [{k: v for k, v in job.items() if k != "script"} for job in page["jobs"]]
            if not page["hasMore"] or not page["jobs"]:
                return found

    def _exchanges(self, path: str) -> list[Exchange]:
        answer = self.admin.expect("GET", f"{self._admin_path}/{path}")
        return [Exchange.from_json(entry) for entry in answer["exchanges"]]

    @property
    def journal(self) -> list[Exchange]:
        return self._exchanges("journal")

    def calls(self, operation: str | None = None, *, method: str | None = None, status: int | None = None,
              violations: bool | None = None, warnings: bool | None = None) -> list[Exchange]:  # fmt: skip
        """See :meth:`MockServer.calls <mock_server.MockServer.calls>`."""
        if operation is not None and operation not in OPERATION_NAMES:
            raise ValueError(f"unknown operation {operation!r}: use one of {', '.join(OPERATION_NAMES)}")
        return select(self.journal, operation=operation, method=method, status=status,
                      violations=violations, warnings=warnings)  # fmt: skip

    @property
    def violations(self) -> list[Exchange]:
        return self._exchanges("violations?severity=error")

    @property
    def warnings(self) -> list[Exchange]:
        return self._exchanges("violations?severity=warning")

    def assert_no_violations(self, warnings: bool = False, *, opt_out: OptOut = SERVER_OPT_OUT) -> None:
        """See :meth:`MockServer.assert_no_violations <mock_server.MockServer.assert_no_violations>`."""
        __tracebackhide__ = True
        no_violations(self.violations, self.warnings if warnings else [], opt_out)


def _wanted(
    scenario: ScenarioSource, overrides: Mapping[str, Any], origin: str = "the aem_scenario marker"
) -> tuple[Scenario, Settings, dict[str, Any]]:
    """The scenario, read here (a misspelt name or a bad file fails here, as locally), the settings
    it and ``overrides`` make, and the new session's ``scenario`` and ``settings`` as the server
    takes them: a shipped name, or the YAML itself (a path here means nothing there); settings as a
    scenario spells them, and a manual clock unless the scenario or ``overrides`` name another."""
    loaded = as_scenario(scenario)
    changes = spelled(overrides, origin)
    settings = loaded.settings().replace(**changes)
    sent: dict[str, Any] = {}
    for name, value in changes.items():
        spec = specs()[name]
        sent[spec.key or name] = spec.to_yaml(value) if spec.key else value
    sent.setdefault("clock", loaded.clock or "manual")
    if scenario is None or (isinstance(scenario, str) and scenario in shipped_scenarios()):
        shown = scenario or "default"
    elif loaded.text:
        shown = loaded.text
    else:
        raise RemoteError(f"the scenario {loaded.name!r} has no YAML text to send to the server; give its "
                          "file, its YAML or a shipped name")  # fmt: skip
    return loaded, settings, {"scenario": shown, "settings": sent}
