"""Every decision the mock takes where the public evidence is silent, in one frozen object.

The ``§`` numbers refer to section 3 of the project's contract document, ``docs/contract.md``.
Each field is declared with :func:`~.setting_spec.setting`: its unit, scenario key, environment
variable, CLI flag and description are its metadata, which every reader below walks, and from
which ``python -m mock_server.core.settings_doc`` writes the README's settings table.

One merge, :func:`resolve`, builds the settings in force, lowest first: the defaults (or the host's
base, such as the test fixtures' manual clock) < a scenario file < the environment
(``AEM_GUIDES_MOCK_<SETTING>``) < CLI flags, fixture markers and ``overrides`` (which take a
setting's name, ``per_asset_ms=200``, or its scenario key, ``per_asset="200ms"``). Every layer is
checked the same way: an unknown name or a value of the wrong kind is a :class:`SettingError` that
names the setting and, where one is close, suggests what was meant.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import logging
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import SettingError
from .job import Status
from .repository import normalize_path
from .sessions import ENVIRONMENT as SESSION_VARIABLES
from .setting_spec import CLOCKS, SPEC, Flag, Spec, duration_ms, parse_clock, setting
from .setting_types import check_type, parse_text

__all__ = ["CLOCKS", "ENV_PREFIX", "LOGIN_COOKIE", "STATUSES", "Settings", "add_flags", "duration_ms",
           "flag_changes", "from_environment", "from_scenario", "parse_clock", "resolve",
           "specs"]  # fmt: skip

#: The job statuses the engine knows, in the default vocabulary (§3.1).
STATUSES: tuple[str, ...] = tuple(map(str, Status))
#: Every setting's environment variable is this and its name in capitals (a test holds them to it).
ENV_PREFIX = "AEM_GUIDES_MOCK_"
#: The variables of the prefix that are the server's, not settings: :func:`from_environment` skips them
#: (``AEM_GUIDES_MOCK_URL``: the pytest plugin's ``--aem-url``, the server its tests share;
#: ``AEM_GUIDES_MOCK_STATE``: ``serve --state``'s file).
SERVER_VARIABLES = frozenset({*SESSION_VARIABLES.values(), "AEM_GUIDES_MOCK_URL", "AEM_GUIDES_MOCK_STATE"})
#: The cookie of an AEM session, which the author's token authentication sets at login (§3.41).
LOGIN_COOKIE = "login-token"
log = logging.getLogger("aem_guides_mock")
#: What a cookie value cannot hold (RFC 6265 ``cookie-octet``): a setting with one never matches.
_NOT_IN_COOKIE = re.compile(r'[\s",;\\]')
_ABSENT = object()


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Settings:
    """The mock's behaviour switches; build them with :func:`resolve` or :meth:`replace`.

    Each field's spellings (scenario key, environment variable, CLI flag), unit and description are
    its metadata (:func:`~.setting_spec.setting`; :func:`specs` lists them); the README's settings
    table is generated from it.
    """

    # A setting's spellings read better on a line or two than one argument a line:
    # fmt: off
    # --- authentication (§3.22, §3.25)
    users: Mapping[str, str] = setting(
        factory=lambda: _frozen({"admin": "admin"}), unit="map", yaml="settings.users",
        env="AEM_GUIDES_MOCK_USERS", doc="HTTP Basic users (user id → password)",
    )
    any_password_users: tuple[str, ...] = setting(
        (), unit="list", yaml="settings.any_password_users", env="AEM_GUIDES_MOCK_ANY_PASSWORD_USERS",
        doc="HTTP Basic users let in with any password: what `scenario-from` writes for the users a tape "
        "saw (a tape keeps no password), so that the recorded login replays",
    )
    tokens: Mapping[str, str] = setting(
        factory=lambda: _frozen({}), unit="map", yaml="settings.tokens", env="AEM_GUIDES_MOCK_TOKENS",
        doc="Bearer tokens (token → user id)",
    )
    login_tokens: Mapping[str, str] = setting(
        factory=lambda: _frozen({}), unit="map", yaml="settings.login_tokens",
        env="AEM_GUIDES_MOCK_LOGIN_TOKENS",
        doc="the AEM UI's sessions: `login-token` cookie value, as the browser sends it "
        "(`…%3acrx.default`) → user id; a POST in a session needs `CSRF-Token`, whatever `csrf` and "
        "the User-Agent say (§3.41); an unknown cookie is a 401",
    )
    realm: str = setting(
        "Sling (Development)", unit="text", yaml="settings.realm", env="AEM_GUIDES_MOCK_REALM",
        doc="the realm of `WWW-Authenticate` on a 401 (§3.25)",
    )

    # --- time
    clock: Literal["real", "manual", "per-poll"] = setting(
        "real", unit="clock", yaml="clock", env="AEM_GUIDES_MOCK_CLOCK",
        flag=Flag("--clock", "real|manual|per-poll[:STEP]",
                  "the clock jobs run by (default: real, unless the scenario pins one); manual moves only "
                  "by POST /__admin/clock/advance; per-poll moves STEP (500ms) with each status poll"),
        doc="`real`, `manual` (moved by `POST /__admin/clock/advance` or the fixture) or `per-poll`; the "
        "host chooses (`serve`: real; `create_app`, `MockServer` and the fixtures: manual) unless a "
        "scenario pins one (at its top level), the environment or `--clock`",
    )  # fmt: skip
    poll_step_ms: int = setting(
        500, unit="duration", yaml="clock.per_poll", env="AEM_GUIDES_MOCK_POLL_STEP_MS",
        doc="how far a `per-poll` clock moves with each status poll (in a scenario `clock: {per_poll: "
        "500ms}`)",
    )

    # --- the job lifecycle
    counting_ms: int = setting(
        100, unit="duration", yaml="settings.counting", env="AEM_GUIDES_MOCK_COUNTING_MS",
        doc="how long counting the assets takes (§3.2, §3.28)",
    )
    per_asset_ms: int = setting(
        200, unit="duration", yaml="settings.per_asset", env="AEM_GUIDES_MOCK_PER_ASSET_MS",
        doc="how long one asset takes, at least 1 ms (§3.28; the history example does 6 files in 1.25 s)",
    )
    speed: float = setting(
        1.0, unit="number", yaml="settings.speed", env="AEM_GUIDES_MOCK_SPEED",
        flag=Flag("--speed", "FACTOR",
                  "run jobs FACTOR times faster than the scenario's pace (default 200 ms per asset)"),
        doc="pace factor: every duration of the simulated author is divided by it (2 runs jobs twice as "
        "fast), not a scenario's fault windows (§3.28)",
    )  # fmt: skip
    status_names: Mapping[str, str] = setting(
        factory=lambda: _frozen({s: s for s in STATUSES}), unit="map", yaml="settings.status_names",
        env="AEM_GUIDES_MOCK_STATUS_NAMES",
        doc="the token sent for each status: WAITING, IN_PROGRESS, SUCCESS, FAILED, CANCELLED; a partial "
        "map renames those it names (§3.1, §3.2)",
    )
    eta_unit: Literal["SECONDS", "MINUTES", "HOURS"] = setting(
        "SECONDS", unit="choice", yaml="settings.eta_unit", env="AEM_GUIDES_MOCK_ETA_UNIT",
        doc="`eta.unit`; `eta.value` is the remaining time in that unit, rounded up, 0 unless running "
        "(§3.3)",
    )
    history_size: int = setting(
        20, unit="count", yaml="settings.history_size", env="AEM_GUIDES_MOCK_HISTORY_SIZE",
        doc="how many jobs history lists, newest first (§3.4)",
    )
    max_jobs: int = setting(
        10_000, unit="count", yaml="settings.max_jobs", env="AEM_GUIDES_MOCK_MAX_JOBS",
        doc="how many jobs are kept; the ones that finished first are forgotten past it",
    )
    jobs_bytes: int = setting(
        128 * 1024 * 1024, unit="bytes", yaml="settings.jobs_bytes", env="AEM_GUIDES_MOCK_JOBS_BYTES",
        doc="how much memory the kept jobs may take, their requests and logs (a 1 MiB `excludedPaths` is "
        "kept with its job; a log grows with each cancel and resume): past it the jobs that finished "
        "first are forgotten, and a start or resume with no room left is refused with 429, naming this "
        "setting",
    )
    max_active_jobs: int = setting(
        1_000, unit="count", yaml="settings.max_active_jobs", env="AEM_GUIDES_MOCK_MAX_ACTIVE_JOBS",
        doc="how many jobs may be WAITING or IN_PROGRESS at once (at most `max_jobs`); a start or resume "
        "beyond is refused with 429 and `Retry-After`, naming this setting",
    )
    allowed_types: tuple[str, ...] = setting(
        ("ASSET_PROCESSING",), unit="list", yaml="settings.allowed_types",
        env="AEM_GUIDES_MOCK_ALLOWED_TYPES", doc="accepted values of the start request's `type` (§3.10)",
    )
    lenient: bool = setting(
        False, unit="bool", yaml="settings.lenient", env="AEM_GUIDES_MOCK_LENIENT",
        doc="accept unknown request fields instead of a 400 (§3.11)",
    )
    concurrency: int = setting(
        1, unit="count", yaml="settings.concurrency", env="AEM_GUIDES_MOCK_CONCURRENCY",
        doc="how many jobs run at once, 1 to 64 (§3.12); the others wait in FIFO order, and none starts "
        "before the one queued ahead of it (a held head holds them all)",
    )
    unknown_id_status: Literal[400, 404] = setting(
        400, unit="choice", yaml="settings.unknown_id_status", env="AEM_GUIDES_MOCK_UNKNOWN_ID_STATUS",
        doc="status for a missing or unknown `processingId` (§3.13)",
    )
    conflict_status: Literal[400, 409] = setting(
        400, unit="choice", yaml="settings.conflict_status", env="AEM_GUIDES_MOCK_CONFLICT_STATUS",
        doc="status for a start on a path with a waiting or running job, and for a cancel or resume the "
        "job's status forbids (§3.12, §3.14, §3.15)",
    )
    logs_limit: int = setting(
        500, unit="count", yaml="settings.logs_limit", env="AEM_GUIDES_MOCK_LOGS_LIMIT",
        doc="default and maximum `limit` of a log page; also caps `tail` (§3.19)",
    )
    log_dir: str = setting(
        "/var/log/guides/bulk-asset-processing", unit="path", yaml="settings.log_dir",
        env="AEM_GUIDES_MOCK_LOG_DIR", doc="the folder in `logFilePaths` (§3.20)",
    )
    contract_revision: Literal["latest", "2025-11"] = setting(
        "latest", unit="choice", yaml="settings.contract_revision", env="AEM_GUIDES_MOCK_CONTRACT_REVISION",
        doc="`2025-11` refuses the `filter` input, as the seed's revision lacks it (§3.30)",
    )
    is_database: bool = setting(
        False, unit="choice", yaml="settings.backend", env="AEM_GUIDES_MOCK_IS_DATABASE",
        choices={"jcr": False, "database": True},
        doc="JCR or database asset processing, shown by system/status (§3.31); in the environment true "
        "or false",
    )
    csrf: bool = setting(
        False, unit="bool", yaml="settings.csrf", env="AEM_GUIDES_MOCK_CSRF",
        doc="CSRF enforcement (§3.26): a browser's POST needs `CSRF-Token` from `GET "
        "/libs/granite/csrf/token.json`, else 403",
    )
    ignored_paths: tuple[str, ...] = setting(
        ("/content/dam/projects/translation_output",), unit="list", yaml="settings.ignored_paths",
        env="AEM_GUIDES_MOCK_IGNORED_PATHS", doc="paths never processed, whatever a request says",
    )
    download_mode: Literal["zip", "json"] = setting(
        "zip", unit="choice", yaml="settings.download", env="AEM_GUIDES_MOCK_DOWNLOAD_MODE",
        choices={"zip": "zip", "json": "json"},
        doc='`zip`: a ZIP unless the client asks for JSON; `json`: always `{"logFilePaths": […]}` (§3.20)',
    )
    system_job: bool = setting(
        False, unit="bool", yaml="settings.system_job", env="AEM_GUIDES_MOCK_SYSTEM_JOB",
        doc="the system job of §3.29: every `system_job_interval_ms` (the first one interval after the "
        "start or a reset) a job created by `System` for `system_job_path` joins the queue, skipped "
        "while a job for that path is waiting or running (or when the path is not in the repository); "
        "after a far clock jump only the latest 1,000 runs are made",
    )
    system_job_interval_ms: int = setting(
        15 * 60 * 1000, unit="duration", yaml="settings.system_job_interval",
        env="AEM_GUIDES_MOCK_SYSTEM_JOB_INTERVAL_MS",
        doc="how often the system job runs, at least 1 s (§3.29)",
    )
    system_job_path: str = setting(
        "/content/dam", unit="path", yaml="settings.system_job_path", env="AEM_GUIDES_MOCK_SYSTEM_JOB_PATH",
        doc="the path the system job processes (§3.29)",
    )
    error_format: Literal["json", "sling-html"] = setting(
        "json", unit="choice", yaml="settings.error_format", env="AEM_GUIDES_MOCK_ERROR_FORMAT",
        doc="error bodies: the JSON error object, or `sling-html`, the HTML page a real author's Sling "
        "error handler answers (§3.24), for clients that must not assume JSON; the mock still checks "
        "the error object and journals the violations",
    )
    restart_endpoint: bool = setting(
        False, unit="bool", yaml="settings.restart_endpoint", env="AEM_GUIDES_MOCK_RESTART_ENDPOINT",
        doc='serve `POST …/process/restart` (§3.16): `{"processingId"}` of a SUCCESS job in the body (or '
        "query) starts a new job for its request and answers the new id; any other status is refused "
        "like a cancel or resume; off, the path answers 404 naming this switch",
    )
    inflate_request_bodies: bool = setting(
        False, unit="bool", yaml="settings.inflate_request_bodies",
        env="AEM_GUIDES_MOCK_INFLATE_REQUEST_BODIES",
        doc="a request body sent with `Content-Encoding` (gzip, deflate, br, zstd) is read as an author "
        "with Jetty's defaults reads it: its bytes as sent, so a compressed body is not JSON (400 naming "
        "the header) (§3.36); on, it is inflated (in a worker thread, within `max_body_bytes`), as behind "
        "a request-inflating filter",
    )

    # --- tolerance testing
    vary: int | None = setting(
        None, unit="seed", yaml=None, env="AEM_GUIDES_MOCK_VARY",
        flag=Flag("--vary", "SEED",
                  "vary every answer within the contract (ids, key order, optional and unknown keys, log "
                  "lines, page sizes), seeded by SEED, to find where a client is brittle"),
        doc="a seed: vary every answer within the contract to catch a brittle client (ids, key order, "
        "optional and unknown keys, log lines, page sizes); the same seed varies alike (§4); not in a "
        "scenario file",
    )  # fmt: skip

    # --- the mock's own limits
    max_body_bytes: int = setting(
        1024 * 1024, unit="bytes", yaml="settings.max_body_bytes", env="AEM_GUIDES_MOCK_MAX_BODY_BYTES",
        doc="larger request bodies are refused with 413; with `inflate_request_bodies`, a compressed body "
        "is inflated (in a worker thread) no further",
    )
    body_timeout_ms: int = setting(
        10_000, unit="duration", yaml="settings.body_timeout", env="AEM_GUIDES_MOCK_BODY_TIMEOUT_MS",
        doc="a request body must arrive within this long; a trickle is answered 408 and the connection "
        "closed",
    )
    header_timeout_ms: int = setting(
        10_000, unit="duration", yaml="settings.header_timeout", env="AEM_GUIDES_MOCK_HEADER_TIMEOUT_MS",
        doc="a connection must send a request's complete headers within this long, or it is closed (from "
        "the start of the listener; a reload does not change it)",
    )
    max_connections: int = setting(
        1_000, unit="count", yaml="settings.max_connections", env="AEM_GUIDES_MOCK_MAX_CONNECTIONS",
        doc="open connections at most, and always fewer than the process's file limit allows; the oldest "
        "idle one is closed to make room (from the start of the listener)",
    )
    journal_size: int = setting(
        1000, unit="count", yaml="settings.journal_size", env="AEM_GUIDES_MOCK_JOURNAL_SIZE",
        doc="how many exchanges the journal keeps",
    )
    journal_bytes: int = setting(
        8 * 1024 * 1024, unit="bytes", yaml="settings.journal_bytes", env="AEM_GUIDES_MOCK_JOURNAL_BYTES",
        doc="how many bytes of exchanges the journal keeps (the newest)",
    )
    admin_enabled: bool = setting(
        True, unit="bool", yaml="admin.enabled", env="AEM_GUIDES_MOCK_ADMIN_ENABLED",
        doc="serve the admin API under `/__admin`",
    )
    admin_token: str | None = setting(
        None, unit="text", yaml="admin.token", env="AEM_GUIDES_MOCK_ADMIN_TOKEN",
        doc="when set (at least 8 characters in a scenario), the admin API needs it in `X-Admin-Token`, "
        "and answers beyond loopback",
    )
    ims_clients: Mapping[str, str] = setting(
        factory=lambda: _frozen({}), unit="map", yaml="ims.clients", env="AEM_GUIDES_MOCK_IMS_CLIENTS",
        doc="Adobe IMS OAuth server-to-server clients (client id → client secret): `POST /ims/token/v3` "
        "issues them access tokens that expire on the mock's clock; none: the endpoint answers 404",
    )
    ims_scopes: tuple[str, ...] = setting(
        (), unit="list", yaml="ims.scopes", env="AEM_GUIDES_MOCK_IMS_SCOPES",
        doc="the scopes a token may be asked for (none: any)",
    )
    ims_token_ttl_ms: int = setting(
        86_400_000, unit="duration", yaml="ims.token_ttl", env="AEM_GUIDES_MOCK_IMS_TOKEN_TTL_MS",
        doc="how long an IMS access token is valid on the mock's clock (`expires_in`; 24 h as IMS's)",
    )
    # fmt: on

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, list) and typing.get_origin(_hints()[item.name]) is tuple:
                object.__setattr__(self, item.name, value := tuple(value))  # a marker's list
            check_type(item.name, value, _hints()[item.name])
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
        """A copy with ``changes`` applied (by name or scenario key), checked like any layer of
        :func:`resolve`."""
        return dataclasses.replace(self, **spelled(changes))


# --- the readers: each walks the fields' specs ------------------------------------------------------


@functools.cache
def specs() -> Mapping[str, Spec]:
    """Every setting's :class:`~.setting_spec.Spec` by field name, in the fields' order."""
    found = {}
    for item in dataclasses.fields(Settings):
        if SPEC not in item.metadata:
            raise TypeError(f"Settings.{item.name} is declared without setting(...): it has no spellings")
        found[item.name] = item.metadata[SPEC]
    return types.MappingProxyType(found)


@functools.cache
def _by_key() -> Mapping[str, str]:
    """Field names by scenario key, for the keys that are not the name itself."""
    return {spec.key: name for name, spec in specs().items() if spec.key and spec.key != name}


def resolve(
    base: Settings | None = None,
    scenario: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> Settings:
    """The settings in force: ``base`` < ``scenario`` < ``environ`` < each of ``overrides``.

    ``overrides`` are ``(origin, changes)`` pairs such as ``("--speed", {...})`` or
    ``("aem_scenario marker", {...})``; the origin is named when one of them is wrong. A change
    names a setting (``per_asset_ms=200``) or its scenario key (``per_asset="200ms"``).
    """
    settings = base or Settings()
    layers = [("the scenario", scenario or {}), ("the environment", from_environment(environ or {}))]
    for origin, layer in [*layers, *overrides]:
        changes = spelled(layer, origin)
        try:  # layer by layer, so that an error names where the value came from
            settings = dataclasses.replace(settings, **changes)
        except (TypeError, ValueError) as error:
            raise SettingError(f"{error} (from {origin})") from None
    return settings


def spelled(changes: Mapping[str, Any], origin: str | None = None) -> dict[str, Any]:
    """``changes`` by field name: a scenario key's value (``per_asset="200ms"``) read as the
    scenario's is; an unknown key is a :class:`SettingError` naming the nearest spelling."""
    names, keys = specs(), _by_key()
    where = f" ({origin})" if origin else ""
    found: dict[str, Any] = {}
    for given, value in changes.items():
        name = given if given in names else keys.get(given)
        if name is None:
            close = difflib.get_close_matches(str(given), [*names, *keys], n=1, cutoff=0.6)
            tip = f" (did you mean {close[0]}?)" if close else ""
            raise SettingError(f"{given!r} is not a setting{where}{tip}")
        if name in found:
            raise SettingError(f"{name} and {names[name].key} are one setting{where}: give one of them")
        if name != given:
            try:
                value = names[name].from_yaml(value)
            except SettingError as error:
                raise SettingError(f"{given}: {error}{where}") from None
        found[name] = value
    return found


def from_scenario(document: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a scenario document sets (``settings:``, ``clock:``, ``admin:``), by field name."""
    changes: dict[str, Any] = {}
    for name, spec in specs().items():
        if spec.yaml is None:
            continue
        value: Any = document
        for part in spec.yaml.split("."):
            value = value.get(part, _ABSENT) if isinstance(value, Mapping) else _ABSENT
        if value is not _ABSENT:
            changes[name] = spec.from_yaml(value)
    return changes


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from their environment variables (``AEM_GUIDES_MOCK_<SETTING>``), each parsed by
    the setting's type: ``true``/``false`` for switches, comma-separated lists, JSON objects for
    maps, and ``AEM_GUIDES_MOCK_CLOCK=per-poll:250ms``."""
    by_env = {spec.env: name for name, spec in specs().items()}
    changes: dict[str, Any] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        if variable in SERVER_VARIABLES:  # the server's own (sessions), not a scenario's setting
            continue
        if variable not in by_env:
            suffixes = {env.removeprefix(ENV_PREFIX): env for env in by_env}
            close = difflib.get_close_matches(variable.removeprefix(ENV_PREFIX), suffixes, n=1, cutoff=0.6)
            if close:  # a misspelt setting: it would silently do nothing
                raise SettingError(f"{variable} is not a setting (did you mean {suffixes[close[0]]}?)")
            log.warning("%s is not a setting of aem-guides-mock; ignored", variable)  # a name of its own
            continue
        try:
            changes.update(_from_text(by_env[variable], raw))
        except SettingError as error:
            raise SettingError(f"{variable}: {error}") from None
    return changes


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The settings' CLI flags (``--speed``, ``--clock``, ``--vary``), each checked as it is read."""
    for name, spec in specs().items():
        if spec.flag is not None:
            reader = functools.partial(_flag_value, name)
            flag = spec.flag
            parser.add_argument(flag.name, dest=f"setting_{name}", type=reader, metavar=flag.metavar,
                                help=flag.help)  # fmt: skip


def flag_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags of :func:`add_flags` set."""
    changes: dict[str, Any] = {}
    for name in specs():
        changes.update(getattr(args, f"setting_{name}", None) or {})
    return changes


def _flag_value(name: str, text: str) -> dict[str, Any]:
    try:
        changes = _from_text(name, text)
        Settings().replace(**changes)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return changes


def _from_text(name: str, raw: str) -> dict[str, Any]:
    """A setting's value from text (an environment variable, a flag), as changes."""
    if specs()[name].unit == "clock":
        return parse_clock(raw)
    return {name: parse_text(raw, _hints()[name])}


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)
