"""The proxy's worker thread: jobs in order off the loop, and a stop that drops what has not begun and
waits for the job under way until a deadline only."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mock_server.http.proxy_worker import Worker

PATIENCE_S = 5.0


async def test_jobs_run_in_order_in_the_thread_and_their_errors_reach_the_caller() -> None:
    worker = Worker("test-worker")
    ran: list[tuple[int, str]] = []

    def job(number: int) -> int:
        ran.append((number, threading.current_thread().name))
        return number * 2

    assert await asyncio.gather(*(worker.run(job, n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert ran == [(n, "test-worker") for n in range(5)]
    with pytest.raises(ZeroDivisionError):
        await worker.run(lambda: 1 / 0)
    assert await worker.stop(time.monotonic()) == 0 and worker.idle


async def test_a_stop_drops_the_jobs_not_begun_and_waits_for_the_one_under_way_until_its_deadline() -> None:
    worker = Worker("test-worker")
    begun, release = threading.Event(), threading.Event()

    def long() -> str:
        begun.set()
        release.wait(PATIENCE_S)
        return "done"

    running = asyncio.create_task(worker.run(long))
    queued = [asyncio.create_task(worker.run(lambda: "never")) for _ in range(3)]
    await asyncio.to_thread(begun.wait, PATIENCE_S)
    stopping = time.monotonic()
    assert await worker.stop(stopping + 0.2) == 3
    assert 0.15 < time.monotonic() - stopping < 0.2 + 1.0 and not worker.idle
    for task in queued:
        with pytest.raises(asyncio.CancelledError):
            await task
    release.set()
    assert await running == "done"  # the job under way ends in its own time, and says so
    assert worker.idle
