"""Sessions over a real socket: selected by prefix or header, isolated, made, listed, reset,
deleted, bounded in count and idle time, their names checked (README "Sessions")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from mock_server.api.operations import BASE_PATH
from mock_server.core.sessions import SessionLimits
from mock_server.core.settings import Settings, from_environment
from mock_server.http.app import app_for
from mock_server.http.options import build_mock
from mock_server.http.runtime import MOCK
from mock_server.http.sessions import HEADER, SESSIONS
from tests.support.constants import BASIC_ADMIN

AUTH = {"Authorization": BASIC_ADMIN}
START = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
FAULTY = "description: every start fails\nfaults:\n  - endpoint: start\n    status: 503\n"


class RealClock:
    """The server's real clock, moved by the test."""

    def __init__(self) -> None:
        self.s = 1000.0

    def __call__(self) -> float:
        return self.s


Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def real() -> RealClock:
    return RealClock()


@pytest.fixture
def serve(aiohttp_client: Any, real: RealClock) -> MakeClient:
    async def make(limits: SessionLimits | None = None, settings: Settings | None = None) -> Client:
        app = app_for(build_mock(settings=settings, environ={}), sessions=limits, now=real)
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return make


async def call(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with client.request(method, path, **kwargs) as response:
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()


def where(session: str, by: str) -> tuple[str, dict[str, str]]:
    """The prefix and headers that name ``session`` ``by`` path or header."""
    return (f"/sessions/{session}", {}) if by == "prefix" else ("", {HEADER: session})


async def jobs_of(client: Client, prefix: str = "", headers: dict[str, str] | None = None) -> int:
    status, body = await call(client, "GET", f"{prefix}/__admin/stats", headers=headers or {})
    assert status == 200, body
    return int(body["jobs"])


@pytest.mark.parametrize("by", ["prefix", "header"])
async def test_two_sessions_see_none_of_each_others_jobs_clock_faults_or_journal(
    serve: MakeClient, by: str
) -> None:
    client = await serve()
    a, a_headers = where("alpha", by)
    b, b_headers = where("beta", by)
    status, started = await call(client, "POST", a + BASE_PATH, json=START, headers={**AUTH, **a_headers})
    assert status == 200, started
    assert await jobs_of(client, a, a_headers) == 1
    assert await jobs_of(client, b, b_headers) == 0
    assert await jobs_of(client) == 0  # the default session

    status, moved = await call(
        client, "POST", a + "/__admin/clock/advance", json={"seconds": 7}, headers=a_headers
    )
    assert status == 200, moved
    _, clock_b = await call(client, "GET", b + "/__admin/clock", headers=b_headers)
    _, clock_default = await call(client, "GET", "/__admin/clock")
    assert moved["now"] - clock_b["now"] == 7000
    assert clock_b["now"] == clock_default["now"]

    status, loaded = await call(client, "PUT", a + "/__admin/scenario", data=FAULTY, headers=a_headers)
    assert status == 200, loaded
    status, _ = await call(client, "POST", a + BASE_PATH, json=START, headers={**AUTH, **a_headers})
    assert status == 503
    status, _ = await call(client, "POST", b + BASE_PATH, json=START, headers={**AUTH, **b_headers})
    assert status == 200
    status, _ = await call(client, "POST", BASE_PATH, json=START, headers=AUTH)
    assert status == 200

    _, journal_a = await call(client, "GET", a + "/__admin/journal", headers=a_headers)
    _, journal_b = await call(client, "GET", b + "/__admin/journal", headers=b_headers)
    _, journal_default = await call(client, "GET", "/__admin/journal")
    assert [e["status"] for e in journal_a["exchanges"]] == [200, 503]
    assert [e["status"] for e in journal_b["exchanges"]] == [200]
    assert [e["status"] for e in journal_default["exchanges"]] == [200]
    assert journal_a["exchanges"][0]["path"] == BASE_PATH  # as an author at the base URL sees it
    query = {"processingId": started["processingId"]}
    status, body = await call(
        client, "GET", f"{b}{BASE_PATH}/status", params=query, headers={**AUTH, **b_headers}
    )
    assert status != 200, body  # alpha's job is unknown to beta


async def test_no_prefix_and_no_header_is_the_server_s_own_mock_and_makes_no_session(
    serve: MakeClient,
) -> None:
    client = await serve()
    status, _ = await call(client, "POST", BASE_PATH, json=START, headers=AUTH)
    assert status == 200
    assert len(client.app[MOCK].engine.view()) == 1
    assert len(client.app[SESSIONS]) == 0
    status, body = await call(client, "GET", "/__admin/sessions")
    assert [s["name"] for s in body["sessions"]] == ["default"]


async def test_the_default_session_answers_to_its_name_too(serve: MakeClient) -> None:
    client = await serve()
    await call(client, "POST", "/sessions/default" + BASE_PATH, json=START, headers=AUTH)
    assert len(client.app[MOCK].engine.view()) == 1
    assert len(client.app[SESSIONS]) == 0


async def test_the_sling_and_csrf_paths_and_the_dashboard_are_served_under_a_prefix(
    serve: MakeClient,
) -> None:
    client = await serve()
    status, token = await call(client, "GET", "/sessions/abc/libs/granite/csrf/token.json", headers=AUTH)
    assert status == 200 and token["token"]
    async with client.get("/sessions/abc/__admin/ui") as page:  # the redirect stays in the session
        assert page.status == 200
        assert page.url.path == "/sessions/abc/__admin/ui/"
    status, _ = await call(client, "GET", f"/sessions/abc{BASE_PATH}/history.json", headers=AUTH)
    assert status == 200


async def test_a_prefix_and_a_header_naming_two_sessions_is_a_400_naming_both(serve: MakeClient) -> None:
    client = await serve()
    status, body = await call(
        client, "GET", f"/sessions/one{BASE_PATH}/history", headers={**AUTH, HEADER: "two"}
    )
    assert status == 400
    assert "'one'" in body["message"] and "'two'" in body["message"] and HEADER in body["message"]
    assert len(client.app[SESSIONS]) == 0
    status, _ = await call(
        client, "GET", f"/sessions/one{BASE_PATH}/history", headers={**AUTH, HEADER: "one"}
    )
    assert status == 200


@pytest.mark.parametrize("name", [".hidden", "a" * 65, "a%20b", "caf%C3%A9", "a:b", "a+b"])
@pytest.mark.parametrize("by", ["prefix", "header"])
async def test_a_bad_name_is_a_400_naming_the_rule(serve: MakeClient, name: str, by: str) -> None:
    client = await serve()
    if by == "header" and "%" in name:
        return  # a header carries no %-encoding
    prefix, headers = where(name, by)
    status, body = await call(client, "GET", f"{prefix}{BASE_PATH}/history", headers={**AUTH, **headers})
    assert status == 400, body
    assert "1 to 64 characters" in body["message"]
    assert len(client.app[SESSIONS]) == 0


@pytest.mark.parametrize("name", ["a", "A-b_c.9", "a" * 64, "-x"])
async def test_a_good_name_makes_a_session(serve: MakeClient, name: str) -> None:
    client = await serve()
    status, _ = await call(client, "GET", f"/sessions/{name}{BASE_PATH}/history", headers=AUTH)
    assert status == 200
    assert len(client.app[SESSIONS]) == 1


async def test_create_list_reset_and_delete_through_the_admin_api(serve: MakeClient) -> None:
    client = await serve()
    wanted = {"name": "ci-1", "scenario": "fail-midway", "settings": {"per_asset": "50ms"}, "ttl": "10m"}
    status, made = await call(client, "POST", "/__admin/sessions", json=wanted)
    assert status == 201, made
    assert made["baseUrl"] == f"http://{client.host}:{client.port}/sessions/ci-1"
    assert made["scenario"] == "fail-midway" and made["ttlSeconds"] == 600
    prefix = "/sessions/ci-1"
    await call(client, "POST", prefix + BASE_PATH, json=START, headers=AUTH)
    await call(client, "POST", prefix + "/__admin/clock/advance", json={"seconds": 3})
    status, listed = await call(client, "GET", "/__admin/sessions")
    shown = {s["name"]: s for s in listed["sessions"]}
    assert shown["ci-1"]["jobs"] == 1 and shown["default"]["jobs"] == 0
    assert shown["ci-1"]["clock"]["now"] - shown["default"]["clock"]["now"] == 3000
    assert shown["ci-1"]["expiresInSeconds"] == 600
    _, scenario = await call(client, "GET", prefix + "/__admin/scenario")
    assert scenario["name"] == "fail-midway"

    status, _ = await call(client, "POST", "/__admin/sessions/ci-1/reset")
    assert status == 200
    assert await jobs_of(client, prefix) == 0
    _, clock = await call(client, "GET", prefix + "/__admin/clock")
    assert clock["now"] == shown["default"]["clock"]["now"]

    status, _ = await call(client, "DELETE", "/__admin/sessions/ci-1")
    assert status == 200
    _, listed = await call(client, "GET", "/__admin/sessions")
    assert [s["name"] for s in listed["sessions"]] == ["default"]
    status, body = await call(client, "DELETE", "/__admin/sessions/ci-1")
    assert status == 404 and "no session named 'ci-1'" in body["message"]


async def test_a_name_is_drawn_when_none_is_given(serve: MakeClient) -> None:
    client = await serve()
    status, made = await call(client, "POST", "/__admin/sessions")
    assert status == 201, made
    status, again = await call(client, "POST", "/__admin/sessions", json={})
    assert status == 201 and again["name"] != made["name"]
    assert len(client.app[SESSIONS]) == 2


async def test_the_default_session_cannot_be_deleted(serve: MakeClient) -> None:
    client = await serve()
    status, body = await call(client, "DELETE", "/__admin/sessions/default")
    assert status == 409 and "cannot be deleted" in body["message"]


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"name": "x", "scenarios": "default"}, "'scenarios' is not a field"),
        ({"name": ".x"}, "1 to 64 characters"),
        ({"name": 5}, "name must be a string"),
        ({"scenario": 5}, "scenario must be a string"),
        ({"scenario": "no-such-scenario"}, "no-such-scenario"),
        ({"settings": {"per_assett": "5ms"}}, "per_assett"),
        ({"settings": []}, "settings must be an object"),
        ({"ttl": "forever"}, "a TTL is a duration"),
        ({"ttl": "8d"}, "a TTL is a duration"),
        ([1], "send a JSON object"),
    ],
)
async def test_a_bad_new_session_is_a_400_naming_the_field(
    serve: MakeClient, document: Any, named: str
) -> None:
    client = await serve()
    status, body = await call(client, "POST", "/__admin/sessions", json=document)
    assert status == 400, body
    assert named in body["message"] + " ".join(body.get("problems", []))
    assert len(client.app[SESSIONS]) == 0


async def test_a_taken_name_is_a_409(serve: MakeClient) -> None:
    client = await serve()
    await call(client, "POST", "/__admin/sessions", json={"name": "x"})
    status, body = await call(client, "POST", "/__admin/sessions", json={"name": "x"})
    assert status == 409 and "exists" in body["message"]


async def test_the_session_routes_are_the_server_s_not_a_session_s(serve: MakeClient) -> None:
    client = await serve()
    status, body = await call(client, "GET", "/sessions/abc/__admin/sessions")
    assert status == 404 and "/__admin/sessions" in body["message"]
    status, body = await call(client, "GET", "/__admin/sessions", headers={HEADER: "xyz"})
    assert status == 200  # the header names no session here: a client may send it on every call
    assert [s["name"] for s in body["sessions"]] == ["default", "abc"]  # abc: made by its first use


async def test_past_the_cap_a_429_names_the_limit_and_how_to_raise_it(serve: MakeClient) -> None:
    client = await serve(SessionLimits(max_sessions=2, total_bytes=2 * 2**20))
    for name in ("one", "two"):
        status, _ = await call(client, "GET", f"/sessions/{name}{BASE_PATH}/history", headers=AUTH)
        assert status == 200
    status, body = await call(client, "GET", f"/sessions/three{BASE_PATH}/history", headers=AUTH)
    assert status == 429
    assert "(2, max_sessions)" in body["message"] and "--max-sessions" in body["message"]
    status, body = await call(client, "POST", "/__admin/sessions", json={"name": "three"})
    assert status == 429 and "--max-sessions" in body["message"]
    status, _ = await call(client, "GET", f"/sessions/one{BASE_PATH}/history", headers=AUTH)
    assert status == 200  # the sessions there are still served
    await call(client, "DELETE", "/__admin/sessions/one")
    status, _ = await call(client, "GET", f"/sessions/three{BASE_PATH}/history", headers=AUTH)
    assert status == 200


async def test_each_session_keeps_its_share_of_the_bytes(serve: MakeClient) -> None:
    client = await serve(SessionLimits(max_sessions=4, total_bytes=4 * 2**20))
    status, made = await call(client, "POST", "/__admin/sessions", json={"name": "a"})
    assert (made["jobsBytes"], made["journalBytes"]) == (3 * 2**18, 2**18)
    asked = {"name": "b", "settings": {"jobs_bytes": 1000, "journal_bytes": 2**30}}
    status, made = await call(client, "POST", "/__admin/sessions", json=asked)
    assert status == 201, made
    assert (made["jobsBytes"], made["journalBytes"]) == (1000, 2**18)  # less if asked, never more
    assert client.app[MOCK].settings.jobs_bytes == Settings().jobs_bytes  # the default session's own


async def test_an_idle_session_expires_on_the_real_clock_not_on_its_own(
    serve: MakeClient, real: RealClock
) -> None:
    client = await serve(SessionLimits(ttl_s=60))
    prefix = "/sessions/idle"
    await call(client, "POST", prefix + BASE_PATH, json=START, headers=AUTH)
    await call(client, "POST", prefix + "/__admin/clock/advance", json={"seconds": 36_000})
    assert await jobs_of(client, prefix) == 1  # ten hours on its own clock: not idle
    real.s += 59
    assert await jobs_of(client, prefix) == 1  # each request is a use
    real.s += 59
    _, listed = await call(client, "GET", "/__admin/sessions")
    assert [s["name"] for s in listed["sessions"]] == ["default", "idle"]
    real.s += 1
    _, listed = await call(client, "GET", "/__admin/sessions")
    assert [s["name"] for s in listed["sessions"]] == ["default"]
    assert await jobs_of(client, prefix) == 0  # made afresh on its next use


async def test_a_sweep_drops_idle_sessions_nobody_looks_up(serve: MakeClient, real: RealClock) -> None:
    client = await serve(SessionLimits(ttl_s=1))  # swept every half second
    await call(client, "GET", f"/sessions/gone{BASE_PATH}/history", headers=AUTH)
    assert len(client.app[SESSIONS]) == 1
    real.s += 1
    for _ in range(100):
        if len(client.app[SESSIONS]) == 0:
            break
        await asyncio.sleep(0.05)
    assert len(client.app[SESSIONS]) == 0


async def test_the_session_admin_api_is_guarded_by_the_server_s_settings(serve: MakeClient) -> None:
    client = await serve(settings=Settings(admin_token="s3cret-token"))
    for method, path in [("POST", "/__admin/sessions"), ("GET", "/sessions/abc/__admin/clock"),
                         ("GET", "/__admin/sessions")]:  # fmt: skip
        status, _ = await call(client, method, path)
        assert status == 401
    status, made = await call(client, "POST", "/__admin/sessions", headers={"X-Admin-Token": "s3cret-token"},
                              json={"name": "open", "settings": {"admin_enabled": False}})  # fmt: skip
    assert status == 201, made
    status, _ = await call(
        client, "GET", "/sessions/open/__admin/clock", headers={"X-Admin-Token": "s3cret-token"}
    )
    assert status == 200  # a session's settings neither close nor open its admin API


def test_the_servers_variables_are_not_taken_for_misspelt_settings() -> None:
    variables = {"AEM_GUIDES_MOCK_MAX_SESSIONS": "5", "AEM_GUIDES_MOCK_SESSIONS_BYTES": "9"}
    assert from_environment(variables) == {}


async def test_a_streamed_zip_and_a_100_continue_body_are_served_under_a_prefix(serve: MakeClient) -> None:
    client = await serve()
    prefix = "/sessions/zip"
    async with client.post(prefix + BASE_PATH, json=START, headers=AUTH, expect100=True) as response:
        assert response.status == 200
        processing_id = (await response.json())["processingId"]
    for _ in range(5):
        await call(client, "POST", prefix + "/__admin/clock/advance", json={"seconds": 600})
    query = {"processingId": processing_id}
    async with client.get(f"{prefix}{BASE_PATH}/logs/download", params=query, headers=AUTH) as response:
        assert (response.status, response.content_type) == (200, "application/zip")
        assert (await response.read())[:2] == b"PK"


async def test_a_prefixed_url_is_made_once_and_the_urls_kept_are_bounded(
    serve: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll under a prefix repeats its URL: the unprefixed URL is made (and parsed) once and kept;
    a flood of distinct queries (and a long one) keeps no more than the cap's URLs and bytes, and
    every one is answered as it should be."""
    from mock_server.http import sessions as wire

    monkeypatch.setattr(wire, "_TARGETS_KEPT", 8)
    monkeypatch.setattr(wire, "_TARGETS_BYTES", 40 * 1024)
    made: list[str] = []

    class Counted:
        @staticmethod
        def build(**parts: Any) -> URL:
            made.append(parts["path"])
            return URL.build(**parts)

    monkeypatch.setattr(wire, "URL", Counted)
    client = await serve()
    status, started = await call(client, "POST", f"/sessions/a{BASE_PATH}", json=START, headers=AUTH)
    assert status == 200, started
    query = f"processingId={started['processingId']}"
    poll = f"/sessions/a{BASE_PATH}/status?{query}"
    targets = client.app[wire.TARGETS]
    for _ in range(3):
        status, body = await call(client, "GET", poll, headers=AUTH)
        assert status == 200 and body["processingId"] == started["processingId"], body
    kept = targets.get((f"{BASE_PATH[1:]}/status", query))
    assert kept is not None and str(kept) == f"{BASE_PATH}/status?{query}"
    assert len(targets) == 2 and len(made) == 2  # the start's and the poll's, each made once
    for n in range(40):
        status, body = await call(
            client, "GET", f"{poll}&_={n}{'x' * (4000 if n % 2 == 0 else 0)}", headers=AUTH
        )
        assert status == 200 and body["processingId"] == started["processingId"], body
        assert len(targets) <= 8 and targets.bytes <= 40 * 1024
        assert n % 2 or targets.bytes >= 2 * 4000  # a long one is counted by its length


@pytest.mark.parametrize("clock", ["manual", "per-poll", "real"])
async def test_a_session_is_listed_with_the_clock_it_runs(serve: MakeClient, clock: str) -> None:
    """The listing names the session's clock as its settings name it (a per-poll clock is a manual
    clock that moves itself: listed as what it is)."""
    client = await serve()
    status, made = await call(
        client, "POST", "/__admin/sessions", json={"name": "c", "settings": {"clock": clock}}
    )
    assert status == 201 and made["clock"]["kind"] == clock, made
    status, listed = await call(client, "GET", "/__admin/sessions")
    assert [s["clock"]["kind"] for s in listed["sessions"] if s["name"] == "c"] == [clock]
