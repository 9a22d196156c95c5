"""Every decision the mock takes where the public evidence is silent, in one frozen object.

The ``§`` numbers in the comments refer to section 3 of the project's contract document,
``docs/contract.md``. The README lists every field; ``tests/unit/test_settings.py`` checks that it does.

One merge, :func:`resolve`, builds the settings in force, lowest first: the defaults (or the host's
base, such as the test fixtures' manual clock) < a scenario file < the environment
(``AEM_GUIDES_MOCK_<SETTING>``) < CLI flags, fixture markers and ``overrides``. Every layer is
checked the same way: an unknown name or a value of the wrong kind is a :class:`SettingError` that
names the setting and, where one is close, suggests what was meant.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import logging
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import SettingError
from .job import Status
from .repository import normalize_path

__all__ = ["CLOCKS", "ENV_PREFIX", "LOGIN_COOKIE", "STATUSES", "Settings", "parse_clock", "resolve"]

#: The job statuses the engine knows, in the default vocabulary (§3.1).
STATUSES: tuple[str, ...] = tuple(map(str, Status))
#: Where the simulated author gets its time: the wall clock, a clock moved only when told, or a
#: clock that moves ``poll_step_ms`` with every status poll.
CLOCKS = ("real", "manual", "per-poll")
ENV_PREFIX = "AEM_GUIDES_MOCK_"
#: The cookie of an AEM session, which the author's token authentication sets at login (§3.41).
LOGIN_COOKIE = "login-token"
log = logging.getLogger("aem_guides_mock")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
#: What a cookie value cannot hold (RFC 6265 ``cookie-octet``): a setting with one never matches.
_NOT_IN_COOKIE = re.compile(r'[\s",;\\]')


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Settings:
    """The mock's behaviour switches; build them with :func:`resolve` or :meth:`replace`."""

    # --- authentication (§3.22, §3.25)
    users: Mapping[str, str] = field(default_factory=lambda: _frozen({"admin": "admin"}))
    """HTTP Basic users: user id -> password."""
    any_password_users: tuple[str, ...] = ()
    """HTTP Basic users let in with any password: what ``scenario-from`` writes for the users a tape
    saw (a tape keeps no password), so that the recorded login replays."""
    tokens: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    """Bearer tokens: token -> user id."""
    login_tokens: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    """§3.41: the AEM UI's sessions: ``login-token`` cookie value -> user id. A POST in such a
    session needs the ``CSRF-Token`` header, as a browser's does, whatever ``csrf`` says."""
    realm: str = "Sling (Development)"

    # --- time
    clock: Literal["real", "manual", "per-poll"] = "real"
    """The clock jobs run by: the dev server's is real, the test fixtures' manual."""
    poll_step_ms: int = 500
    """How far a ``per-poll`` clock moves with each status poll."""

    # --- the job lifecycle
    counting_ms: int = 100
    """§3.28: how long counting the assets takes."""
    per_asset_ms: int = 200
    """§3.28: how long one asset takes."""
    speed: float = 1.0
    """§3.28: pace factor; every duration of the simulated author is divided by it."""
    status_names: Mapping[str, str] = field(default_factory=lambda: _frozen({s: s for s in STATUSES}))
    """§3.1/§3.2: the token sent for each internal status (status vocabulary map)."""
    eta_unit: Literal["SECONDS", "MINUTES", "HOURS"] = "SECONDS"
    """§3.3: the unit of ``eta``; its value is the remaining time in that unit, rounded up."""
    history_size: int = 20
    """§3.4: how many jobs history lists, newest first."""
    max_jobs: int = 10_000
    """How many jobs are kept; the oldest finished ones are forgotten past this."""
    jobs_bytes: int = 128 * 1024 * 1024
    """How much memory the kept jobs may take (their requests and logs); past it the ones that
    finished first are forgotten, and a start or resume with no room left is refused (429)."""
    max_active_jobs: int = 1_000
    """How many jobs may be WAITING or IN_PROGRESS at once (never more than ``max_jobs``); a start
    beyond is refused (429)."""
    allowed_types: tuple[str, ...] = ("ASSET_PROCESSING",)
    """§3.10: values accepted for the start request's ``type``."""
    lenient: bool = False
    """§3.11: accept unknown request fields instead of answering 400."""
    concurrency: int = 1
    """§3.12: how many jobs run at once; the others wait in FIFO order."""
    unknown_id_status: Literal[400, 404] = 400
    """§3.13: the status for a missing or unknown ``processingId``."""
    conflict_status: Literal[400, 409] = 400
    """§3.12, §3.14, §3.15: the status for a start on a busy path or a transition the status forbids."""
    logs_limit: int = 500
    """§3.19: default and maximum ``limit`` of a log page."""
    log_dir: str = "/var/log/guides/bulk-asset-processing"
    """§3.20: the folder named in ``logFilePaths`` when a client asks for JSON."""
    contract_revision: Literal["latest", "2025-11"] = "latest"
    """§3.30: ``2025-11`` refuses the ``filter`` input, as the seed's revision lacks it."""
    is_database: bool = False
    """§3.31: JCR (false) or database (true) asset processing."""
    csrf: bool = False
    """§3.26: CSRF enforcement for browser user agents, with the token endpoint."""
    ignored_paths: tuple[str, ...] = ("/content/dam/projects/translation_output",)
    """Paths that are never processed, whatever a request says."""
    download_mode: Literal["zip", "json"] = "zip"
    """§3.20: ``zip`` answers a ZIP unless the client asks for JSON; ``json`` always answers paths."""
    system_job: bool = False
    """§3.29: a job created by ``System`` for ``system_job_path`` every ``system_job_interval_ms``,
    the first one interval after the start; skipped while a job for that path is going."""
    system_job_interval_ms: int = 15 * 60 * 1000
    """§3.29: how often the system job runs."""
    system_job_path: str = "/content/dam"
    """§3.29: the path the system job processes."""
    error_format: Literal["json", "sling-html"] = "json"
    """§3.24: error bodies as the mock's JSON error object, or as Sling's HTML error page."""
    restart_endpoint: bool = False
    """§3.16: serve ``POST …/process/restart``: a new job for the request of a SUCCESS job."""
    inflate_request_bodies: bool = False
    """§3.36: inflate a request body sent with ``Content-Encoding`` (gzip, deflate, br, zstd), as an
    author behind a request-inflating filter does; off, as Jetty's defaults: its bytes are read as sent."""

    # --- tolerance testing
    vary: int | None = None
    """A seed: vary every answer within the contract (ids, key order, optional and unknown keys,
    log lines, page sizes) to catch a brittle client; the same seed varies alike (§4)."""

    # --- the mock's own limits
    max_body_bytes: int = 1024 * 1024
    """Request bodies larger than this are refused with 413."""
    body_timeout_ms: int = 10_000
    """A request body must arrive within this long; a trickle is cut off (408, connection closed)."""
    header_timeout_ms: int = 10_000
    """A connection must send a request's complete headers within this long, or it is closed."""
    max_connections: int = 1_000
    """Open connections at most (and always below the process's file limit)."""
    journal_size: int = 1000
    """How many exchanges the journal keeps (a ring buffer)."""
    journal_bytes: int = 8 * 1024 * 1024
    """How many bytes of exchanges the journal keeps, the newest first."""
    admin_enabled: bool = True
    """Serve the admin API under ``/__admin``."""
    admin_token: str | None = None
    """When set, the admin API needs it (header ``X-Admin-Token``) and answers beyond loopback."""

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, list) and typing.get_origin(_hints()[item.name]) is tuple:
                object.__setattr__(self, item.name, value := tuple(value))  # a marker's list
            _check_type(item.name, value)
        if not 0 < self.speed < 1e6:
            raise SettingError(f"speed must be above 0 (and below a million), got {self.speed!r}")
        if self.counting_ms < 0 or self.per_asset_ms < 1 or self.poll_step_ms < 0:
            raise SettingError("counting_ms and poll_step_ms must be >= 0, and per_asset_ms >= 1")
        if not 1 <= self.concurrency <= 64:
            raise SettingError(f"concurrency must be from 1 to 64, got {self.concurrency!r}")
        if self.system_job_interval_ms < 1000:
            raise SettingError(
                "system_job_interval (system_job_interval_ms) must be at least 1s, "
                f"got {self.system_job_interval_ms}ms"
            )
        if not self.system_job_path.startswith("/"):
            raise SettingError(
                f"system_job_path must be absolute, such as '/content/dam'; got {self.system_job_path!r}"
            )
        try:  # one spelling per path, as for a start request (§3.12): '/content/dam/' is '/content/dam'
            object.__setattr__(self, "system_job_path", normalize_path(self.system_job_path))
            object.__setattr__(self, "ignored_paths", tuple(map(normalize_path, self.ignored_paths)))
        except ValueError as error:
            raise SettingError(f"system_job_path or ignored_paths: {error}") from None
        positive = ("history_size", "max_jobs", "jobs_bytes", "max_active_jobs", "logs_limit", "journal_size",
                    "journal_bytes", "max_body_bytes", "body_timeout_ms", "header_timeout_ms",
                    "max_connections")  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise SettingError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        unknown = set(self.status_names) - set(STATUSES)
        if unknown:
            raise SettingError(f"status_names: {sorted(unknown)} are not statuses; rename any of {STATUSES}")
        # A partial map renames those it names; the others keep their own token (§3.1).
        object.__setattr__(self, "status_names", {**{s: s for s in STATUSES}, **self.status_names})
        # Mappings are stored read-only so that a frozen Settings is really frozen.
        if any(not value or _NOT_IN_COOKIE.search(value) for value in self.login_tokens):
            raise SettingError(  # the value is a secret: not echoed
                "login_tokens: each key is a login-token cookie's value, which a browser never sends "
                "empty or with a space, comma, semicolon, backslash or double quote; write it as the "
                "browser sends it (%-encoded, such as 'e3b0c442%3acrx.default')"
            )
        for name in ("users", "tokens", "login_tokens", "status_names"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def effective_counting_ms(self) -> int:
        return self.scaled(self.counting_ms)

    @property
    def effective_per_asset_ms(self) -> int:
        return max(1, self.scaled(self.per_asset_ms))

    def scaled(self, ms: int) -> int:
        """A duration of the simulated author at this speed."""
        return round(ms / self.speed)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied, checked like any layer of :func:`resolve`."""
        _check_names(changes, "a setting")
        return dataclasses.replace(self, **changes)


# --- the merge ----------------------------------------------------------------------------------------


def resolve(
    base: Settings | None = None,
    scenario: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> Settings:
    """The settings in force: ``base`` < ``scenario`` < ``environ`` < each of ``overrides``.

    ``overrides`` are ``(origin, changes)`` pairs such as ``("--speed", {...})`` or
    ``("aem_scenario marker", {...})``; the origin is named when one of them is wrong.
    """
    settings = base or Settings()
    layers = [("the scenario", scenario or {}), ("the environment", from_environment(environ or {}))]
    for origin, layer in [*layers, *overrides]:
        _check_names(layer, f"a setting ({origin})")
        try:  # layer by layer, so that an error names where the value came from
            settings = dataclasses.replace(settings, **layer)
        except (TypeError, ValueError) as error:
            raise SettingError(f"{error} (from {origin})") from None
    return settings


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``AEM_GUIDES_MOCK_<SETTING>`` variables, each parsed by the setting's type:
    ``true``/``false`` for switches, comma-separated lists, JSON objects for maps, and
    ``AEM_GUIDES_MOCK_CLOCK=per-poll:250ms``."""
    changes: dict[str, Any] = {}
    hints = _hints()
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable.removeprefix(ENV_PREFIX).lower()
        if name not in hints:
            tip = _did_you_mean(name, hints, ENV_PREFIX)
            if tip:  # a misspelt setting: it would silently do nothing
                raise SettingError(f"{variable} is not a setting{tip}")
            log.warning("%s is not a setting of aem-guides-mock; ignored", variable)  # a name of its own
            continue
        try:
            if name == "clock":
                changes.update(parse_clock(raw))
            else:
                changes[name] = _parse_text(name, raw, hints[name])
        except SettingError as error:
            raise SettingError(f"{variable}: {error}") from None
    return changes


def parse_clock(text: str) -> dict[str, Any]:
    """``real``, ``manual``, ``per-poll`` or ``per-poll:STEP`` (such as ``per-poll:250ms``)."""
    kind, _, step = text.strip().partition(":")
    kind = kind.replace("_", "-")
    if kind not in CLOCKS or (step and kind != "per-poll"):
        raise SettingError(
            f"expected real, manual or per-poll[:STEP] such as per-poll:250ms, got {text!r}"
            + _did_you_mean(kind, CLOCKS)
        )
    if not step:
        return {"clock": kind}
    return {"clock": kind, "poll_step_ms": duration_ms(step)}


def duration_ms(value: float | str) -> int:
    """``'2s'``, ``'150ms'``, ``'1m'``, ``'1h'`` or a number of seconds, in milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= 1e12:  # NaN fails this too
            raise SettingError(f"expected a finite duration, got {value!r}")
        return round(value * 1000)
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise SettingError(f"expected a duration such as '2s', '150ms' or '1m', got {value!r}")
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)])


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0].upper() if prefix else close[0]}?)" if close else ""


def _check_names(changes: Mapping[str, Any], what: str) -> None:
    hints = _hints()
    for name in changes:
        if name not in hints:
            raise SettingError(f"{name!r} is not {what}{_did_you_mean(str(name), hints)}")


def _wanted(kind: Any) -> str:
    """A setting's type, in words."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if kind is bool:
        return "true or false"
    if kind in (int, float, str):
        return {int: "an integer", float: "a number", str: "a string"}[kind]
    if origin is tuple:
        return "a list of strings"
    if origin in (Mapping, dict):
        return "a map of strings to strings"
    if origin in (types.UnionType, typing.Union):
        return " or ".join("none" if a is type(None) else _wanted(a) for a in args)
    return str(kind)


def _fits(value: Any, kind: Any) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if origin in (Mapping, dict):
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
    if origin in (types.UnionType, typing.Union):
        return any(value is None if a is type(None) else _fits(value, a) for a in args)
    return True


def _check_type(name: str, value: Any) -> None:
    kind = _hints()[name]
    if not _fits(value, kind):
        choices = [str(a) for a in typing.get_args(kind)] if typing.get_origin(kind) is Literal else []
        tip = _did_you_mean(str(value), choices) if isinstance(value, str) else ""
        raise SettingError(f"{name}: expected {_wanted(kind)}, got {value!r}{tip}")


def _parse_text(name: str, raw: str, kind: Any) -> Any:
    """An environment variable's text as a value of the setting's type."""
    text = raw.strip()
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if text.lower() in ("", "none", "null"):
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise SettingError(f"expected true or false (or 1/0, yes/no, on/off), got {raw!r}")
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise SettingError(
            f"expected {_wanted(kind)}, got {raw!r}" + _did_you_mean(text, [str(a) for a in args])
        )
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise SettingError(f"expected {_wanted(kind)}, got {raw!r}") from None
    if origin is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if origin in (Mapping, dict):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise SettingError(f'expected a JSON object such as {{"admin": "admin"}}, got {raw!r}')
        return value
    return raw
