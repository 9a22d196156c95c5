"""The session registry without HTTP: names, the cap, idle expiry on the injected real clock, limits."""

from __future__ import annotations

import pytest

from mock_server.core.errors import SettingError
from mock_server.core.sessions import (
    DEFAULT_NAME,
    SessionError,
    SessionLimits,
    Sessions,
    check_name,
    ttl_seconds,
)


class Now:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def registry(now: Now, **limits: float) -> Sessions[str]:
    return Sessions("server", SessionLimits(**limits), now)  # type: ignore[arg-type]


def test_a_session_expires_exactly_its_ttl_after_its_last_use() -> None:
    now = Now()
    sessions = registry(now, ttl_s=10)
    sessions.get("a", lambda name: f"mock {name}")
    now.s = 9.5
    assert sessions.find("a") is not None  # a use: ten more seconds
    now.s = 19.4
    assert sessions.find("a") is not None
    now.s = 29.4
    assert sessions.find("a") is None
    assert len(sessions) == 0


def test_a_sweep_drops_only_the_expired() -> None:
    now = Now()
    sessions = registry(now, ttl_s=10)
    sessions.get("old", str)
    now.s = 5
    sessions.get("new", str)
    now.s = 10
    assert sessions.sweep() == 1
    assert [s.name for s in sessions] == [DEFAULT_NAME, "new"]


def test_the_default_session_never_expires_nor_counts() -> None:
    now = Now()
    sessions = registry(now, ttl_s=1, max_sessions=1, total_bytes=2**20)
    now.s = 1e9
    found = sessions.find(DEFAULT_NAME)
    assert found is not None and found.mock == "server"
    sessions.get("one", str)
    with pytest.raises(SessionError) as refused:
        sessions.get("two", str)
    assert refused.value.status == 429


def test_the_cap_counts_the_expired_out_first() -> None:
    now = Now()
    sessions = registry(now, ttl_s=10, max_sessions=1, total_bytes=2**20)
    sessions.get("one", str)
    now.s = 10
    assert sessions.get("two", str).name == "two"


@pytest.mark.parametrize("name", ["", ".a", "a" * 65, "a/b", "a b", "é", "a\n"])
def test_bad_names(name: str) -> None:
    with pytest.raises(SessionError, match="1 to 64 characters") as refused:
        check_name(name)
    assert refused.value.status == 400


def test_drawn_names_are_good_and_fresh() -> None:
    sessions = registry(Now())
    drawn = {sessions.draw_name() for _ in range(50)}
    assert len(drawn) == 50 and all(check_name(name) for name in drawn)


@pytest.mark.parametrize(("given", "seconds"), [("30m", 1800), ("2h", 7200), (90, 90), ("1s", 1)])
def test_ttls(given: object, seconds: float) -> None:
    assert ttl_seconds(given) == seconds


@pytest.mark.parametrize("given", ["0s", "8d", "soon", None, True, -5, "999h"])
def test_bad_ttls_say_how_to_write_one(given: object) -> None:
    with pytest.raises(SettingError, match="such as '30m'"):
        ttl_seconds(given)


def test_limits_from_the_environment_under_the_flags() -> None:
    environ = {"AEM_GUIDES_MOCK_MAX_SESSIONS": "7", "AEM_GUIDES_MOCK_SESSION_TTL": "2m"}
    limits = SessionLimits.from_environment(environ, max_sessions=None, total_bytes=2**30)
    assert (limits.max_sessions, limits.ttl_s, limits.total_bytes) == (7, 120, 2**30)
    assert SessionLimits.from_environment(environ, max_sessions=3).max_sessions == 3
    with pytest.raises(SettingError, match="AEM_GUIDES_MOCK_MAX_SESSIONS"):
        SessionLimits.from_environment({"AEM_GUIDES_MOCK_MAX_SESSIONS": "many"})


def test_a_share_under_64_kib_is_refused_naming_both_limits() -> None:
    with pytest.raises(SettingError, match="raise it or lower max_sessions"):
        SessionLimits(max_sessions=1000, total_bytes=2**20)
