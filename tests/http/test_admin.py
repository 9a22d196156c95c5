"""Black-box: the admin API under /__admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import ManualClock, Settings
from mock_server.api.operations import BASE_PATH
from mock_server.core.job import StartRequest
from mock_server.http.runtime import MOCK
from tests.support.client import ApiClient, MakeApi


async def test_index_lists_the_routes(api: ApiClient) -> None:
    status, body = await api.admin("GET", "")
    assert status == 200
    assert "PUT /__admin/scenario" in body["routes"] and "POST /__admin/clock/advance" in body["routes"]


async def test_put_a_shipped_scenario_by_name_then_read_it_back(api: ApiClient) -> None:
    status, body = await api.admin("PUT", "/scenario", json={"name": "database-backend"})
    assert status == 200 and body["name"] == "database-backend"
    status, body = await api.admin("GET", "/scenario")
    assert body["name"] == "database-backend" and "backend: database" in body["yaml"]
    status, system = await api.get("/bin/guides/v1/system/status")
    assert system["isDatabase"] is True


async def test_put_a_yaml_document(api: ApiClient) -> None:
    document = "description: posted\nsettings: {history_size: 2}\n"
    status, body = await api.admin(
        "PUT", "/scenario", data=document, headers={"Content-Type": "application/yaml"}
    )
    assert status == 200 and body == {"name": "posted", "description": "posted", "warnings": []}
    for _ in range(3):
        await api.start("/content/dam/22858")
        await api.advance(2)
    assert len(await api.history()) == 2


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        (
            {"data": "description: [", "headers": {"Content-Type": "application/yaml"}},
            "<admin>:1: not valid YAML",
        ),
        ({"data": "clock: soon\n", "headers": {"Content-Type": "text/plain"}}, "<admin>:1: clock"),
        ({"json": {"name": "nope"}}, "nope: no shipped scenario"),
    ],
)
async def test_a_broken_scenario_is_refused_and_the_last_good_one_stays(
    api: ApiClient, kwargs: dict[str, Any], phrase: str
) -> None:
    status, body = await api.admin("PUT", "/scenario", **kwargs)
    assert status == 400
    assert any(p.startswith(phrase) for p in body["problems"]), body
    assert (await api.admin("GET", "/scenario"))[1]["name"] == "default"


async def test_reset_forgets_jobs_and_the_journal_and_rewinds_a_manual_clock(api: ApiClient) -> None:
    start = api.clock.now_ms()
    await api.start()
    await api.advance(5)
    status, _ = await api.admin("POST", "/reset")
    assert status == 200
    assert await api.history() == []
    assert api.clock.now_ms() == start
    assert len(api.mock.journal) == 1  # the history call just made


async def test_the_clock_moves_only_when_manual(make_api: MakeApi) -> None:
    api = await make_api(scenario="seeded-replay")
    status, before = await api.admin("GET", "/clock")
    assert before["kind"] == "ManualClock"
    status, after = await api.admin("POST", "/clock/advance", json={"seconds": 2.5})
    assert status == 200 and after["now"] == before["now"] + 2500
    status, body = await api.admin("POST", "/clock/advance", json={"seconds": -1})
    assert status == 400
    real = await make_api(scenario="database-backend", clock_name="real")
    status, body = await real.admin("POST", "/clock/advance", json={"seconds": 1})
    assert status == 409 and "clock: manual" in body["message"]


async def test_journal_violations_and_jobs(api: ApiClient) -> None:
    pid = await api.start()
    await api.post(BASE_PATH, {"path": "/content/dam", "type": "ASSET_PROCESSING", "excludePaths": []})
    status, journal = await api.admin("GET", "/journal")
    assert [e["status"] for e in journal["exchanges"]] == [200, 400]
    status, violations = await api.admin("GET", "/violations")
    (exchange,) = violations["exchanges"]
    assert exchange["requestViolations"][0]["where"] == "body:/excludePaths"
    status, jobs = await api.admin("GET", "/jobs")
    assert [j["processingId"] for j in jobs["jobs"]] == [pid]
    status, job = await api.admin("GET", f"/jobs/{pid}")
    assert job["processingId"] == pid and job["script"] is None
    status, _ = await api.admin("GET", "/jobs/nope")
    assert status == 404


def started(engine: Any, count: int) -> list[str]:
    """Start and cancel ``count`` jobs on ``engine``; their ids, oldest first."""
    ids = []
    for _ in range(count):
        ids.append(engine.start(StartRequest("/content/dam/22858"), "admin").processing_id)
        engine.cancel(ids[-1])
    return ids


async def test_the_jobs_are_answered_a_page_at_a_time_the_newest_by_default(api: ApiClient) -> None:
    """Without ``offset``, the newest page (listed oldest first): the job just started is on it."""
    status, page = await api.admin("GET", "/jobs")
    assert status == 200 and page == {"jobs": [], "offset": 0, "limit": 100, "total": 0, "hasMore": False}
    ids = started(api.mock.engine, 3)
    status, page = await api.admin("GET", "/jobs")  # fewer than a page: every job
    assert [j["processingId"] for j in page["jobs"]] == ids and page["offset"] == 0
    ids += started(api.mock.engine, 1_197)
    newest = await api.start()
    status, page = await api.admin("GET", "/jobs")
    assert [j["processingId"] for j in page["jobs"]] == [*ids[1_101:], newest]
    assert (page["offset"], page["limit"], page["total"], page["hasMore"]) == (1_101, 100, 1_201, False)
    status, page = await api.admin("GET", "/jobs?limit=500")
    assert page["offset"] == 701 and page["jobs"][-1]["processingId"] == newest
    status, page = await api.admin("GET", "/jobs?offset=0")  # the oldest page, on request
    assert [j["processingId"] for j in page["jobs"]] == ids[:100]
    assert (page["offset"], page["limit"], page["total"], page["hasMore"]) == (0, 100, 1_201, True)
    status, page = await api.admin("GET", "/jobs?offset=1150&limit=500")
    assert [j["processingId"] for j in page["jobs"]] == [*ids[1_150:], newest] and page["hasMore"] is False
    assert page["jobs"][0]["status"] == "CANCELLED" and page["jobs"][0]["script"] is None
    status, page = await api.admin("GET", "/jobs?offset=5000")
    assert status == 200 and page["jobs"] == [] and page["total"] == 1_201 and page["hasMore"] is False
    for query, name in (("limit=501", "limit"), ("offset=-1", "offset"), ("limit=ten", "limit")):
        status, body = await api.admin("GET", f"/jobs?{query}")
        assert status == 400 and f"?{name}=" in body["message"], body


class Counted(dict[str, Any]):
    """The engine's jobs by id, counting each job read from it (forwards or backwards)."""

    read = 0

    def values(self) -> Any:
        store = self

        class Values:
            def __iter__(self) -> Iterator[Any]:
                for job in dict.values(store):
                    store.read += 1
                    yield job

            def __reversed__(self) -> Iterator[Any]:
                for job in reversed(dict.values(store)):
                    store.read += 1
                    yield job

        return Values()


def view_of(jobs: Counted) -> Any:
    """The engine's view over ``jobs``: a store that keeps them, read through its view."""
    from mock_server.core.jobstore import JobStore

    store = JobStore()
    store._jobs = jobs
    return store.view()


async def page_reads(count: int, query: str) -> tuple[int, int]:
    """Over ``count`` jobs, how many jobs ``GET /__admin/jobs{query}`` reads, and how many it words."""
    from aiohttp.test_utils import make_mocked_request

    from mock_server import create_app
    from mock_server.api.payloads import job_payload
    from mock_server.http import admin_jobs

    app = create_app(Settings(max_jobs=20_000), clock=ManualClock())
    engine = app[MOCK].engine
    started(engine, count)
    jobs = Counted((job.processing_id, job) for job in engine.view())
    worded: list[Any] = []

    def payload(job: Any, settings: Any) -> Any:
        worded.append(job)
        return job_payload(job, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "view", lambda: view_of(jobs))
        patch.setattr(admin_jobs, "job_payload", payload)
        answer = await admin_jobs._jobs(make_mocked_request("GET", f"/__admin/jobs{query}", app=app))
    assert answer.status == 200
    return jobs.read, len(worded)


@pytest.mark.parametrize(("query", "page", "most"), [("", 100, 100), ("?offset=0", 100, 100),
                                                     ("?offset=500&limit=500", 500, 1_000)])  # fmt: skip
async def test_a_page_of_jobs_reads_the_page_not_every_job(query: str, page: int, most: int) -> None:
    """Over 1,000 jobs as over 20,000, a page reads its own jobs (and, in the middle, skips those
    before it from the nearer end) and words only them: no list of every job is made to slice it."""
    for count in (1_000, 20_000):
        read, worded = await page_reads(count, query)
        assert worded == page and read <= most, (count, read, worded)


async def test_the_stats_count_the_jobs_without_reading_them(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = api.mock.engine
    started(engine, 1_000)
    jobs = Counted((job.processing_id, job) for job in engine.view())
    monkeypatch.setattr(engine, "view", lambda: view_of(jobs))
    monkeypatch.setattr(engine, "jobs", lambda: list(view_of(jobs)))
    status, stats = await api.admin("GET", "/stats")
    assert status == 200 and stats["jobs"] == 1_000 and jobs.read == 0


async def test_the_admin_api_can_be_switched_off(make_api: MakeApi) -> None:
    api = await make_api(Settings(admin_enabled=False))
    status, body = await api.admin("GET", "/journal")
    assert status == 404 and "switched off" in body["message"]


async def test_a_configured_token_is_required(make_api: MakeApi) -> None:
    api = await make_api(Settings(admin_token="s3cret-admin"))
    status, _ = await api.admin("GET", "/journal")
    assert status == 401
    status, _ = await api.admin("GET", "/journal", headers={"X-Admin-Token": "wrong"})
    assert status == 401
    status, _ = await api.admin("GET", "/journal", headers={"X-Admin-Token": "s3cret-admin"})
    assert status == 200


async def test_the_shipped_scenarios_are_listed(api: ApiClient) -> None:
    status, body = await api.admin("GET", "/scenarios")
    assert status == 200
    names = [s["name"] for s in body["scenarios"]]
    assert "flaky-status" in names and all(s["description"] for s in body["scenarios"])


def test_loopback_check() -> None:
    from mock_server.http.admin import from_loopback

    assert from_loopback("127.0.0.1") and from_loopback("127.8.9.1") and from_loopback("::1")
    assert not from_loopback("192.168.1.2") and not from_loopback(None) and not from_loopback("garbage")


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/scenario", {"json": {"name": ["x"]}}),
        ("/scenario", {"data": b'description: "\xff"', "headers": {"Content-Type": "text/yaml"}}),
        ("/clock/advance", {"json": {"seconds": "inf"}}),
        ("/clock/advance", {"json": {"seconds": 1e400}}),
        ("/clock/advance", {"json": {"seconds": 4e9}}),
    ],
)
async def test_odd_admin_input_is_a_400(make_api: MakeApi, path: str, kwargs: dict[str, Any]) -> None:
    api = await make_api(scenario="seeded-replay")
    method = "PUT" if path == "/scenario" else "POST"
    status, body = await api.admin(method, path, **kwargs)
    assert status == 400, body


def test_loopback_hosts_written_other_ways_are_loopback() -> None:
    from mock_server.http.origins import from_loopback
    from mock_server.http.origins import loopback_host as _loopback_host

    assert from_loopback("::ffff:127.0.0.1")  # an IPv4 client of a server bound to "::"
    assert not from_loopback("::ffff:10.0.0.1")
    for host in ("localhost.", "localhost.:4502", "LOCALHOST", "[::1]:4502", "127.0.0.1:80"):
        assert _loopback_host(host), host
    for host in ("evil.example", "localhost.evil.example", "127.0.0.1.evil.example"):
        assert not _loopback_host(host), host


async def test_violations_show_errors_and_warnings_with_their_severity(api: ApiClient) -> None:
    await api.get(f"{BASE_PATH}/history", size=5)  # a warning: an author ignores it
    await api.get(f"{BASE_PATH}/status")  # an error: no processingId
    status, body = await api.admin("GET", "/violations")
    assert status == 200
    kinds = [
        ([v["severity"] for v in e["requestViolations"]], [w["severity"] for w in e["warnings"]])
        for e in body["exchanges"]
    ]
    assert kinds == [([], ["warning"]), (["error"], [])]
    errors = (await api.admin("GET", "/violations?severity=error"))[1]["exchanges"]
    warnings = (await api.admin("GET", "/violations?severity=warning"))[1]["exchanges"]
    assert [e["operation"] for e in errors] == ["status"]
    assert [e["operation"] for e in warnings] == ["history"]
    status, body = await api.admin("GET", "/violations?severity=fatal")
    assert status == 400 and "give error or warning" in body["message"]
