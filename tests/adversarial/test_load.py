"""Load, on loopback and bounded: many clients at once, then a thousand starts at once."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict
from typing import Any

import aiohttp

from mock_server import MockServer

CLIENTS, REQUESTS = 100, 200
LEGAL = {  # status -> statuses it may be seen in next (by one client, in order)
    "WAITING": {"WAITING", "IN_PROGRESS", "SUCCESS", "FAILED", "CANCELLED"},
    "IN_PROGRESS": {"IN_PROGRESS", "SUCCESS", "FAILED", "CANCELLED"},
    "SUCCESS": {"SUCCESS"},
    "FAILED": {"FAILED", "WAITING", "IN_PROGRESS", "SUCCESS", "CANCELLED"},
    "CANCELLED": {"CANCELLED", "WAITING", "IN_PROGRESS", "SUCCESS", "FAILED"},
}


def scenario(folders: int) -> str:
    return f"""
description: load test
seed: 5
settings: {{per_asset: 2ms, counting: 1ms, journal_size: 100000, journal_bytes: 500000000, max_jobs: 5000}}
repository:
  base: empty
  generate: [{{folder: /content/dam/load, folders: {folders}, per_folder: {{DITATOPIC: 20}}}}]
"""


async def client(
    session: aiohttp.ClientSession, server: MockServer, n: int, seen: dict[str, list[str]], odd: list[Any]
) -> None:
    chance = random.Random(n)
    headers = server.headers
    start = {"path": f"/content/dam/load/f{n + 1}", "type": "ASSET_PROCESSING"}
    async with session.post(server.base_url, json=start, headers=headers) as response:
        body = await response.json()
        if response.status != 200:
            odd.append(("start", response.status, body))
            return
    pid = body["processingId"]
    for _ in range(REQUESTS - 1):
        pick = chance.random()
        if pick < 0.55:
            method, path, json_body = "GET", f"/status?processingId={pid}", None
        elif pick < 0.7:
            method, path, json_body = "GET", f"/logs?processingId={pid}&tail=5", None
        elif pick < 0.8:
            method, path, json_body = "GET", "/history", None
        elif pick < 0.85:
            method, path, json_body = "GET", f"/logs/download?processingId={pid}", None
        else:
            action = chance.choice(["cancel", "resume"])
            method, path, json_body = "POST", f"/{action}", {"processingId": pid}
        async with session.request(
            method, server.base_url + path, json=json_body, headers=headers
        ) as response:
            data = await response.read()
            if response.status == 400 and path in ("/cancel", "/resume"):
                continue  # the job's status forbids it: an expected answer
            if response.status != 200:
                odd.append((method, path, response.status, data[:200]))
                continue
            if path.startswith(("/status", "/cancel", "/resume")):
                seen[pid].append((await response.json())["status"])


async def test_a_hundred_clients_of_two_hundred_mixed_requests() -> None:
    with MockServer(scenario(CLIENTS), clock="real") as server:
        seen: dict[str, list[str]] = defaultdict(list)
        odd: list[Any] = []
        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.wait_for(
                asyncio.gather(*(client(session, server, n, seen, odd) for n in range(CLIENTS))), timeout=240
            )
        assert odd == []  # no unexpected status, no 5xx
        journal = server.journal
        assert len(journal) == CLIENTS * REQUESTS
        assert [e for e in journal if e.response_violations] == []  # every response kept its schema
        assert [e for e in journal if e.request_violations] == []
        assert len(server.jobs) == CLIENTS  # none lost
        for statuses in seen.values():
            for before, after in itertools.pairwise(statuses):
                assert after in LEGAL[before], (before, after)


async def test_a_thousand_starts_at_once() -> None:
    with MockServer(scenario(1000)) as server:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

            async def start(n: int) -> str:
                body = {"path": f"/content/dam/load/f{n + 1}", "type": "ASSET_PROCESSING"}
                async with session.post(server.base_url, json=body, headers=server.headers) as response:
                    assert response.status == 200
                    return str((await response.json())["processingId"])

            ids = await asyncio.wait_for(asyncio.gather(*(start(n) for n in range(1000))), timeout=120)
            assert len(set(ids)) == 1000
            jobs = server.jobs
            assert len(jobs) == 1000
            assert sum(job["status"] != "WAITING" or job["hasLogs"] for job in jobs) == 1  # one runs
            async with session.get(server.base_url + "/history", headers=server.headers) as response:
                history = [job["processingId"] for job in (await response.json())["executionHistory"]]
            arrival = [job["processingId"] for job in jobs]  # the engine's order of arrival
            assert history == arrival[::-1][:20]
            server.advance(3600)
            assert {job["status"] for job in server.jobs} == {"SUCCESS"}
            finished = sorted(server.jobs, key=lambda job: job["startedAt"])
            assert [job["processingId"] for job in finished] == arrival  # FIFO
