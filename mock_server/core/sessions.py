"""Sessions: isolated mocks inside one server, by name, bounded in count, bytes and idle time.

A session holds a whole mock of its own (its scenario, settings, clock, jobs, journal, fault
counters); this module keeps them, and knows nothing of what a mock is (``T``) nor of HTTP. The
default session is the server's own mock: never counted, never expired, never deleted.

Time here is the server's real clock (``now``: :func:`time.monotonic`, injected for tests), never
a session's manual clock: a session that moved its clock a year ahead is not idle for it. An idle
session (no request for its ``ttl_s``) is dropped when it is next looked up, listed, or swept
(:meth:`Sessions.sweep`, which the app runs every :data:`SWEEP_EVERY_S`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import SettingError
from .setting_spec import duration_ms

__all__ = [
    "DEFAULT_NAME",
    "ENVIRONMENT",
    "NAME_RULE",
    "SWEEP_EVERY_S",
    "Session",
    "SessionError",
    "SessionLimits",
    "Sessions",
    "check_name",
    "ttl_seconds",
]

T = TypeVar("T")

#: The name of the server's own session: no prefix and no header select it too.
DEFAULT_NAME = "default"
NAME_RULE = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-', not starting with '.'"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
#: How often the app drops the idle sessions that no request looked up.
SWEEP_EVERY_S = 60.0
#: The ``serve`` flags' environment variables (not settings of a scenario: the server's own).
ENVIRONMENT = {
    "max_sessions": "AEM_GUIDES_MOCK_MAX_SESSIONS",
    "ttl_s": "AEM_GUIDES_MOCK_SESSION_TTL",
    "total_bytes": "AEM_GUIDES_MOCK_SESSIONS_BYTES",
}
_MOST_TTL_S = 7 * 24 * 3600


class SessionError(Exception):
    """A request about sessions that cannot be done: ``status`` is its HTTP answer's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """The server's bounds on sessions (``serve --max-sessions --session-ttl --sessions-bytes``).

    ``total_bytes`` is shared out evenly: each session keeps at most ``total_bytes //
    max_sessions`` bytes of jobs and journal (:attr:`jobs_bytes`, :attr:`journal_bytes`), so that
    all of them full stay within it.
    """

    max_sessions: int = 1000
    ttl_s: float = 1800.0
    total_bytes: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 1 <= self.max_sessions <= 100_000:
            raise SettingError(f"max_sessions must be from 1 to 100000, got {self.max_sessions!r}")
        if not 1 <= self.ttl_s <= _MOST_TTL_S:
            raise SettingError(f"the session TTL must be from 1s to 7 days, got {self.ttl_s!r} s")
        if self.total_bytes < 64 * 1024 * self.max_sessions:
            raise SettingError(
                f"sessions_bytes ({self.total_bytes}) leaves under 64 KiB to each of max_sessions "
                f"({self.max_sessions}) sessions; raise it or lower max_sessions"
            )

    @property
    def jobs_bytes(self) -> int:
        """A session's share for its jobs: three quarters of its bytes."""
        return self.total_bytes // self.max_sessions * 3 // 4

    @property
    def journal_bytes(self) -> int:
        """A session's share for its journal: a quarter of its bytes."""
        return self.total_bytes // self.max_sessions // 4

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **given: float | None) -> SessionLimits:
        """The limits: ``given`` (flags; None is unset) over ``environ`` (:data:`ENVIRONMENT`)
        over the defaults. Raises :class:`~.errors.SettingError` naming the variable."""
        values: dict[str, float] = {}
        for name, variable in ENVIRONMENT.items():
            raw = environ.get(variable)
            if raw is None:
                continue
            try:
                values[name] = ttl_seconds(raw) if name == "ttl_s" else _whole(raw)
            except SettingError as error:
                raise SettingError(f"{variable}: {error}") from None
        values.update({name: value for name, value in given.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]  # the names are the fields'


def _whole(raw: str) -> int:
    if not raw.strip().isdigit():
        raise SettingError(f"expected a whole number, got {raw!r}")
    return int(raw)


def ttl_seconds(value: object) -> float:
    """A TTL as given (``"30m"``, ``"2h"``, a number of seconds) in seconds, from 1s to 7 days;
    raises :class:`~.errors.SettingError` saying how to write one."""
    try:
        seconds = duration_ms(value) / 1000  # type: ignore[arg-type]  # checked by duration_ms
    except (SettingError, TypeError):
        seconds = -1.0
    if not 1 <= seconds <= _MOST_TTL_S:
        raise SettingError(f"a TTL is a duration from 1s to 7 days, such as '30m' or '2h'; got {value!r}")
    return seconds


def check_name(name: str) -> str:
    """``name`` if it is a session's name; else a 400 :class:`SessionError` naming the rule."""
    if _NAME.fullmatch(name) is None:
        raise SessionError(400, f"{name[:80]!r} is not a session name: a name is {NAME_RULE}")
    return name


@dataclass(slots=True)
class Session(Generic[T]):
    """One named mock and when it was last used, on the server's real clock."""

    name: str
    mock: T
    ttl_s: float
    created_s: float
    last_used_s: float

    @property
    def expires_s(self) -> float:
        return self.last_used_s + self.ttl_s


class Sessions(Generic[T]):
    """The sessions of one server by name: the ``default`` one (``default``) and at most
    ``limits.max_sessions`` others."""

    def __init__(
        self, default: T, limits: SessionLimits | None = None, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or SessionLimits()
        self._now = now
        started = now()
        self.default = Session(DEFAULT_NAME, default, float("inf"), started, started)
        self._named: dict[str, Session[T]] = {}
        self.on_change: Callable[[str, Session[T] | None], None] | None = None
        """Told of each session added (with it) or dropped (None): deleted or expired (``--state``)."""

    def _dropped(self, name: str) -> None:
        if self.on_change is not None:
            self.on_change(name, None)

    def __len__(self) -> int:
        """How many sessions there are besides the default one (expired ones not yet dropped too)."""
        return len(self._named)

    def now(self) -> float:
        return self._now()

    def find(self, name: str) -> Session[T] | None:
        """The session ``name`` (its last use now), or None if there is none or it expired."""
        if name == DEFAULT_NAME:
            return self.default
        found = self._named.get(name)
        if found is None:
            return None
        now = self._now()
        if now >= found.expires_s:
            del self._named[name]
            self._dropped(name)
            return None
        found.last_used_s = now
        return found

    def get(self, name: str, make: Callable[[str], T]) -> Session[T]:
        """The session ``name``, made with ``make(name)`` if there is none (a name checked first:
        :func:`check_name`; past the cap a 429 :class:`SessionError`)."""
        found = self.find(name)
        if found is not None:
            return found
        check_name(name)
        self.check_room()
        return self.add(name, make(name))

    def check_room(self) -> None:
        """A 429 :class:`SessionError` if no session can be added, after dropping the expired."""
        if len(self._named) < self.limits.max_sessions:
            return
        self.sweep()
        if len(self._named) >= self.limits.max_sessions:
            raise SessionError(
                429,
                f"this server holds its most sessions ({self.limits.max_sessions}, max_sessions); "
                "delete some (DELETE /__admin/sessions/NAME), wait for idle ones to expire, or serve "
                "with --max-sessions N (AEM_GUIDES_MOCK_MAX_SESSIONS) to allow more",
            )

    def add(self, name: str, mock: T, ttl_s: float | None = None) -> Session[T]:
        """Keep ``mock`` as the new session ``name``: a 409 :class:`SessionError` if it exists."""
        check_name(name)
        if self.find(name) is not None:
            raise SessionError(409, f"a session named {name!r} exists; delete it first, or pick another name")
        self.check_room()
        now = self._now()
        session = Session(name, mock, self.limits.ttl_s if ttl_s is None else ttl_s, now, now)
        self._named[name] = session
        if self.on_change is not None:
            self.on_change(name, session)
        return session

    def draw_name(self) -> str:
        """A fresh name no session has."""
        while True:
            name = "s-" + secrets.token_hex(6)
            if name not in self._named:
                return name

    def delete(self, name: str) -> None:
        """Forget the session ``name``: 409 for the default one, 404 for none."""
        if name == DEFAULT_NAME:
            raise SessionError(409, "the default session is the server's own and cannot be deleted; reset it "
                                    "(POST /__admin/reset) instead")  # fmt: skip
        if self._named.pop(check_name(name), None) is None:
            raise SessionError(404, f"no session named {name!r}; GET /__admin/sessions lists them")
        self._dropped(name)

    def sweep(self) -> int:
        """Drop every expired session; answer how many."""
        now = self._now()
        expired = [name for name, session in self._named.items() if now >= session.expires_s]
        for name in expired:
            del self._named[name]
            self._dropped(name)
        return len(expired)

    def __iter__(self) -> Iterator[Session[T]]:
        """The default session, then the others oldest first (the expired dropped)."""
        self.sweep()
        yield self.default
        yield from list(self._named.values())
