"""Black-box: every shipped scenario, served on a real socket, does what its description says."""

from __future__ import annotations

import re

from mock_server.api.operations import BASE_PATH
from tests.support.client import ApiClient, MakeApi

PROCESSED = re.compile(r"Processing asset \[(\d+)/")


async def processed_numbers(api: ApiClient, pid: str) -> list[int]:
    lines = (await api.logs(pid, limit=500))["lines"]
    return [int(m.group(1)) for line in lines if (m := PROCESSED.search(line))]


async def test_default(make_api: MakeApi) -> None:
    api = await make_api(scenario="default")
    pid = await api.start("/content/dam/22858")
    await api.advance(1.3)
    job = await api.status(pid)
    assert (job["status"], job["triggeredCount"], job["migrationSet"]["totalFiles"]) == ("SUCCESS", 6, 6)


async def test_fail_midway(make_api: MakeApi) -> None:
    api = await make_api(scenario="fail-midway")
    pid = await api.start("/content/dam")
    await api.advance(60)
    job = await api.status(pid)
    assert (job["status"], job["triggeredCount"]) == ("FAILED", 36)
    assert job["comments"].startswith("Could not extract metadata: /content/dam/")
    assert (job["cancellable"], job["resumable"], job["restartable"]) == (False, True, False)
    status, resumed = await api.action("resume", pid)
    assert status == 200 and resumed["status"] == "IN_PROGRESS"
    await api.advance(60)
    job = await api.status(pid)
    assert (job["status"], job["triggeredCount"]) == ("SUCCESS", 167)
    assert await processed_numbers(api, pid) == list(range(1, 168))  # none twice, none skipped


async def test_cancel_and_resume(make_api: MakeApi) -> None:
    api = await make_api(scenario="cancel-and-resume")
    pid = await api.start("/content/dam/22858")
    await api.advance(0.1 + 2.5)
    _, cancelled = await api.action("cancel", pid)
    assert (cancelled["status"], cancelled["triggeredCount"]) == ("CANCELLED", 2)
    await api.advance(100)
    assert (await api.status(pid))["triggeredCount"] == 2
    await api.action("resume", pid)
    await api.advance(4)
    assert (await api.status(pid))["status"] == "SUCCESS"
    assert await processed_numbers(api, pid) == [1, 2, 3, 4, 5, 6]


async def test_counting_failure(make_api: MakeApi) -> None:
    api = await make_api(scenario="counting-failure")
    pid = await api.start("/content/dam/22858")
    await api.advance(1)
    assert (await api.status(pid))["migrationSet"]["calculationStatus"] == "IN_PROGRESS"
    await api.advance(1)
    job = await api.status(pid)
    assert job["status"] == "FAILED"
    assert job["migrationSet"] == {"totalFiles": 0, "calculationStatus": "FAILED"}
    assert job["comments"] == "Asset count query timed out after 2 s"
    await api.action("resume", pid)
    await api.advance(4)
    job = await api.status(pid)
    assert (job["status"], job["migrationSet"]["totalFiles"]) == ("SUCCESS", 6)


async def test_slow_queue(make_api: MakeApi) -> None:
    api = await make_api(scenario="slow-queue")
    first = await api.start("/content/dam/22858")
    await api.advance(29.9)
    job = await api.status(first)
    assert (job["status"], job["hasLogs"], job["startedAt"]) == ("WAITING", False, 0)
    second = await api.start("/content/dam/demo1")
    await api.advance(0.1)
    assert (await api.status(first))["hasLogs"] is True  # 30 s after it was queued
    await api.advance(10)
    assert (await api.status(first))["status"] == "SUCCESS"
    polls = [(await api.status(second))["hasLogs"] for _ in range(3)]
    assert polls == [False, False, True]  # it leaves the queue at its 3rd poll


async def test_auth_expiry(make_api: MakeApi) -> None:
    api = await make_api(scenario="auth-expiry")
    basic = api.headers
    api.headers = {"Authorization": "Bearer dev-token-24h"}
    pid = await api.start("/content/dam/22858")
    assert (await api.status(pid))["createdBy"] == "developer"
    for _ in range(8):
        await api.status(pid)
    api.headers = basic
    for _ in range(20):  # HTTP Basic neither lapses nor counts towards the token's calls
        await api.status(pid)
    bearer = {"Authorization": "Bearer dev-token-24h"}
    async with api.http.get(f"{BASE_PATH}/status", params={"processingId": pid}, headers=bearer) as r:
        assert r.status == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Sling (Development)"'
        assert (await r.json())["message"] == "the access token has expired"
    assert (await api.status(pid))["processingId"] == pid  # Basic still works


async def poll_statuses(api: ApiClient, pid: str, count: int) -> list[int]:
    codes = []
    for _ in range(count):
        async with api.http.get(
            f"{BASE_PATH}/status", params={"processingId": pid}, headers=api.headers
        ) as r:
            codes.append(r.status)
            if r.status == 503:
                assert r.headers["Retry-After"] == "1"
    return codes


async def test_flaky_status_is_reproducible(make_api: MakeApi) -> None:
    runs = []
    for _ in range(2):
        api = await make_api(scenario="flaky-status")
        pid = await api.start("/content/dam/22858")
        runs.append(await poll_statuses(api, pid, 60))
    first, second = runs
    assert first == second
    assert all(code == 503 for code in first[2::3])
    assert 500 in first and 200 in first
    assert set(first) == {200, 500, 503}


async def test_large_repository(make_api: MakeApi) -> None:
    api = await make_api(scenario="large-repository")
    pid = await api.start("/content/dam/large")
    await api.advance(0.1)
    assert (await api.status(pid))["migrationSet"]["totalFiles"] == 1_000_000
    await api.advance(500)
    job = await api.status(pid)
    assert job["triggeredCount"] == 500_000 and job["eta"]["value"] == 500
    page = await api.logs(pid, offset=400_003, limit=2)
    assert [PROCESSED.search(line).group(1) for line in page["lines"]] == ["400001", "400002"]  # type: ignore[union-attr]
    tail = await api.logs(pid, tail=1)
    assert "[500000/1000000]" in tail["lines"][0]


async def test_database_backend(make_api: MakeApi) -> None:
    api = await make_api(scenario="database-backend")
    status, body = await api.get("/bin/guides/v1/system/status")
    assert status == 200 and body["isDatabase"] is True and body["databaseConnectionCheck"] == "passed"


async def test_filtered(make_api: MakeApi) -> None:
    api = await make_api(scenario="filtered")
    maps = await api.start("/content/dam/filtered", filter={"fileTypes": ["DITAMAP"]})
    await api.advance(5)
    window = await api.start(
        "/content/dam/filtered", filter={"startTime": 1_740_787_200_000, "endTime": 1_748_736_000_000}
    )
    await api.advance(10)
    assert (await api.status(maps))["migrationSet"]["totalFiles"] == 10
    assert (await api.status(window))["migrationSet"]["totalFiles"] == 24  # 4 of each of 6 types


async def test_csrf_browser(make_api: MakeApi) -> None:
    api = await make_api(scenario="csrf-browser")
    browser = {**api.headers, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"}
    start = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
    status, body = await api.post(BASE_PATH, start, headers=browser)
    assert status == 403 and "CSRF-Token" in body["message"]
    status, token = await api.get("/libs/granite/csrf/token.json")
    assert status == 200 and token["token"]
    status, body = await api.post(BASE_PATH, start, headers={**browser, "CSRF-Token": token["token"]})
    assert status == 200
    assert await api.start("/content/dam/demo")  # a script, not a browser: no token needed
    api.headers = {"Cookie": "login-token=ui-session-7f3a%3acrx.default"}  # the UI's session, not a browser
    status, body = await api.post(BASE_PATH, {"path": "/content/dam/demo1", "type": "ASSET_PROCESSING"})
    assert status == 403 and "CSRF-Token" in body["message"]
    status, token = await api.get("/libs/granite/csrf/token.json")
    headers = {"CSRF-Token": token["token"]}
    status, body = await api.post(
        BASE_PATH, {"path": "/content/dam/demo1", "type": "ASSET_PROCESSING"}, headers=headers
    )
    assert status == 200 and (await api.status(body["processingId"]))["createdBy"] == "admin"


async def test_seeded_replay_is_byte_identical(make_api: MakeApi) -> None:
    async def session() -> list[bytes]:
        api = await make_api(scenario="seeded-replay")
        bodies = []
        pid = await api.start("/content/dam/22858")
        for path, params in [("status", {"processingId": pid}), ("logs", {"processingId": pid})]:
            await api.advance(0.7)
            async with api.http.get(f"{BASE_PATH}/{path}", params=params, headers=api.headers) as r:
                bodies.append(await r.read())
        async with api.http.get(f"{BASE_PATH}/history", headers=api.headers) as r:
            bodies.append(await r.read())
        return bodies

    first, second = await session(), await session()
    assert first == second
    assert b"processingId" in first[0]


async def test_poll_driven(make_api: MakeApi) -> None:
    api = await make_api(scenario="poll-driven")
    pid = await api.start("/content/dam/22858")
    statuses = [(await api.status(pid))["status"] for _ in range(4)]
    # each poll moves the clock 0.5 s: counting (0.1 s) and 6 assets (1.2 s) end by the 3rd poll
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "SUCCESS", "SUCCESS"]


async def test_system_job(make_api: MakeApi) -> None:
    api = await make_api(scenario="system-job")
    assert await api.history() == []
    await api.advance(60)
    (job,) = await api.history()  # checked against the job schema on the way out, like any
    assert (job["createdBy"], job["path"], job["status"]) == ("System", "/content/dam", "IN_PROGRESS")
    status, body = await api.post(BASE_PATH, {"path": "/content/dam", "type": "ASSET_PROCESSING"})
    assert status == 400 and "already IN_PROGRESS" in body["message"]  # the busy-path rule meets it
    await api.advance(60)
    assert [j["createdBy"] for j in await api.history()] == ["System", "System"]


async def test_cloud_service(make_api: MakeApi) -> None:
    """IMS tokens that expire after an hour on the mock's clock; a CDN rate limit on status polls."""
    api = await make_api(scenario="cloud-service")
    form = {"grant_type": "client_credentials", "client_id": "aem-pipeline", "scope": "openid,AdobeID",
            "client_secret": "pipeline-secret"}  # fmt: skip
    async with api.http.post("/ims/token/v3", data=form) as answer:
        assert answer.status == 200
        issued = await answer.json()
    api.headers = {"Authorization": f"Bearer {issued['access_token']}"}
    pid = await api.start()
    polled = [(await api.get(f"{BASE_PATH}/status", processingId=pid))[0] for _ in range(51)]
    assert polled == [200] * 50 + [429]  # five a second over ten seconds, on a clock that stands still
    await api.advance(3600)
    status, refused = await api.get(f"{BASE_PATH}/status", processingId=pid)
    assert status == 401 and "expired" in refused["message"]


def test_every_shipped_scenario_has_a_test_here() -> None:
    from mock_server.scenarios.reading import shipped_scenarios

    tests = [name.removeprefix("test_").replace("_", "-") for name in globals() if name.startswith("test_")]
    missing = [name for name in shipped_scenarios() if not any(t.startswith(name) for t in tests)]
    assert missing == []


async def test_contract_fuzzing(make_api: MakeApi) -> None:
    api = await make_api(scenario="contract-fuzzing")
    status, _ = await api.get(f"{BASE_PATH}/status", processingId="unknown")
    assert status == 404
    await api.start("/content/dam/22858")
    status, _ = await api.post(BASE_PATH, {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
    assert status == 409
    status, _ = await api.post(BASE_PATH, {"path": "/content/dam/nowhere", "type": "ASSET_PROCESSING"})
    assert status == 400  # the one refusal of schema-valid data the contract keeps
