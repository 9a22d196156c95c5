"""The proxy's memory budgets: what fits is granted at once, a waiter is granted as room comes back
(a small one is not held up behind a large one), and a wait that could never end is refused."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.http.proxy_budget import MAX_WAITING, Budget, Lease, NoRoom
from tests.support.proxy import PATIENCE_S, until


def test_take_grants_what_fits_now_and_release_gives_it_back() -> None:
    budget = Budget(100)
    first, second = budget.lease(), budget.lease()
    assert (first.take(70), second.take(70), second.take(1)) == (70, 30, 0)
    first.release()
    assert budget.used == 30 and second.take(70) == 70


async def test_a_waiter_is_granted_as_room_comes_back_and_a_small_one_passes_a_large_one() -> None:
    budget = Budget(100)
    holder = budget.lease()
    await holder.reserve(90)  # an exchange that read its body: not waiting, it gives it back at its end
    large, small = budget.lease(), budget.lease()
    waiting_large = asyncio.create_task(large.reserve(60))
    await until(lambda: budget.waiting == 1, "the large one waiting")
    await small.reserve(10)  # fits beside the holder: granted at once, though the large one waits
    assert budget.waiting == 1 and not waiting_large.done()
    holder.release()
    await asyncio.wait_for(waiting_large, PATIENCE_S)
    assert (large.held, small.held, budget.used) == (60, 10, 70)


async def test_when_every_byte_held_is_held_by_a_waiter_the_one_that_holds_the_most_is_refused() -> None:
    budget = Budget(100)
    big, other = budget.lease(), budget.lease()
    await big.reserve(60)
    await other.reserve(30)
    big_waits = asyncio.create_task(big.reserve(80))
    await until(lambda: budget.waiting == 1, "the big one waiting")  # `other` reads on: room may come
    other_waits = asyncio.create_task(other.reserve(50))
    await until(big_waits.done, "a waiter refused")
    with pytest.raises(NoRoom) as refused:
        await big_waits
    assert refused.value.held == 60 and not other_waits.done()
    big.release()  # as its exchange ends with a 503
    await asyncio.wait_for(other_waits, PATIENCE_S)
    assert (other.held, budget.used, budget.waiting) == (50, 50, 0)


async def test_a_wait_cut_short_takes_nothing() -> None:
    budget = Budget(100)
    holder, waiter = budget.lease(), budget.lease()
    await holder.reserve(100)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await waiter.reserve(10)
    assert (budget.waiting, waiter.held, budget.used) == (0, 0, 100)
    holder.release()
    assert budget.used == 0


def test_a_lease_settles_on_what_it_keeps() -> None:
    budget = Budget(100)
    lease = Lease(budget)
    lease.take(40)
    lease.settle(150)  # an inflated body, in memory already: counted, past the total
    assert (lease.held, budget.used) == (150, 150)
    lease.release()
    assert budget.used == 0


async def test_a_release_that_leaves_only_waiters_holding_refuses_the_one_that_holds_the_most() -> None:
    budget = Budget(100)
    holder, first, second = budget.lease(), budget.lease(), budget.lease()
    await holder.reserve(40)
    await first.reserve(35)
    await second.reserve(25)
    waits = [asyncio.create_task(lease.reserve(lease.held + 80)) for lease in (first, second)]
    await until(lambda: budget.waiting == 2, "both waiting on the holder")
    holder.release()  # 60 held, both by waiters that want 80 more: none would ever come back
    await until(waits[0].done, "the first refused")
    assert isinstance(waits[0].exception(), NoRoom) and not waits[1].done()
    first.release()
    await asyncio.wait_for(waits[1], PATIENCE_S)
    assert (second.held, budget.used) == (105, 105)


async def test_room_that_comes_back_goes_to_the_waiters_it_fits_not_only_to_the_first() -> None:
    budget = Budget(100)
    holder, large, small = budget.lease(), budget.lease(), budget.lease()
    await holder.reserve(90)
    waits = [asyncio.create_task(large.reserve(60)), asyncio.create_task(small.reserve(20))]
    await until(lambda: budget.waiting == 2, "both waiting")
    holder.settle(70)  # 20 bytes come back: enough for the small one, behind the large one
    await asyncio.wait_for(waits[1], PATIENCE_S)
    assert not waits[0].done() and budget.used == 90
    holder.release()
    await asyncio.wait_for(waits[0], PATIENCE_S)


async def test_past_the_most_that_may_wait_the_waiter_that_holds_the_most_gives_way() -> None:
    budget = Budget(1000)
    holder = budget.lease()
    await holder.reserve(900)  # an exchange under way: room will come back, in time
    leases = [budget.lease() for _ in range(MAX_WAITING + 1)]
    for number, lease in enumerate(leases):
        await lease.reserve(11 if number == 3 else 10)
    waits = [asyncio.create_task(lease.reserve(lease.held + 50)) for lease in leases]
    await until(lambda: waits[3].done(), "one waiter refused")
    assert isinstance(waits[3].exception(), NoRoom) and budget.waiting == MAX_WAITING
    leases[3].release()
    holder.release()
    await asyncio.wait_for(asyncio.gather(*waits[:3], *waits[4:]), PATIENCE_S)
