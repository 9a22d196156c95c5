"""Black-box: many requests in flight at once never observe an illegal state."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

from mock_server import Repository
from tests.support.client import ApiClient, MakeApi
from tests.support.constants import FLAGS


def many_folders(count: int) -> Repository:
    repo = Repository()
    for n in range(count):
        repo.add_generated(f"/content/dam/f{n}", "DITATOPIC", 5, "t-{n}.dita", 0, 1)
    return repo


def check(job: dict[str, Any]) -> None:
    assert 0 <= job["triggeredCount"] <= job["migrationSet"]["totalFiles"]
    assert (job["cancellable"], job["resumable"], job["restartable"]) == FLAGS[job["status"]]
    assert (job["completedAt"] > 0) == (job["status"] in ("SUCCESS", "FAILED", "CANCELLED"))


async def test_concurrent_starts_give_unique_ids_and_a_consistent_queue(make_api: MakeApi) -> None:
    api: ApiClient = await make_api(repository=many_folders(40))
    ids = await asyncio.gather(*(api.start(f"/content/dam/f{n}") for n in range(40)))
    assert len(set(ids)) == 40
    jobs = await asyncio.gather(*(api.status(pid) for pid in ids))
    (first,) = [job["processingId"] for job in jobs if job["hasLogs"]]  # only one has left the queue
    history = [job["processingId"] for job in await api.history()]
    assert len(set(history)) == 20
    assert set(history) <= set(ids)
    assert first not in history  # the first to arrive is the oldest of the 40


async def test_random_concurrent_traffic_keeps_every_invariant(make_api: MakeApi) -> None:
    api: ApiClient = await make_api(repository=many_folders(8))
    chance = random.Random(7)
    ids = [await api.start(f"/content/dam/f{n}") for n in range(8)]
    highest: dict[str, int] = {}
    for _ in range(30):
        calls: list[Coroutine[Any, Any, Any]] = []
        for _ in range(12):
            pid = chance.choice(ids)
            kind = chance.choice(["status", "status", "cancel", "resume", "logs"])
            if kind == "status":
                calls.append(api.status(pid))
            elif kind == "logs":
                calls.append(api.logs(pid, tail=3))
            else:
                calls.append(api.action(kind, pid))
        answers = await asyncio.gather(*calls)
        for answer in answers:
            job = answer[1] if isinstance(answer, tuple) else answer
            if isinstance(answer, tuple) and answer[0] != 200:
                assert answer[0] == 400  # a refused action in the wrong state
                continue
            if "lines" in job:
                continue
            check(job)
            assert job["triggeredCount"] >= highest.get(job["processingId"], 0)
            highest[job["processingId"]] = job["triggeredCount"]
        statuses = [(await api.status(pid))["status"] for pid in ids]
        assert statuses.count("IN_PROGRESS") <= 1
        api.clock.advance(chance.uniform(0, 0.5))
