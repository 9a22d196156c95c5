"""The bytes of bodies the proxy keeps in memory at once: a :class:`Budget` shared by the exchanges in
flight, each holding a :class:`Lease` on it that it gives back whole when it ends.

The proxy has two, so that one kind of body never refuses the other: one for the answers kept for
the checks and the tape (:meth:`Lease.take`: what fits now, the rest is not kept), and one for the
request bodies (:meth:`Lease.reserve`: each body's actual length, waited for when others hold it
all). A request body is never refused because answers are being kept; a few hundred bytes of an
API request wait only when uploads in flight hold the whole budget of request bodies.

Waiting is for room that will come, and for a few: when every byte held is held by a body that
waits for more (an attack of large uploads, each part-read), none will be given back; and more than
:data:`MAX_WAITING` waiting bodies hold too much memory besides. Then the waiter that holds the most
is refused (:class:`NoRoom`) and the others go on with what it held: an API body of a few hundred
bytes is the last to give way.
"""

from __future__ import annotations

import asyncio
import dataclasses

__all__ = ["DEFAULT_MAX_KEPT_BYTES", "MAX_WAITING", "Budget", "Lease", "NoRoom"]

#: What the proxy keeps of bodies in memory at once, for every exchange in flight (each budget).
DEFAULT_MAX_KEPT_BYTES = 32 * 1024 * 1024
#: The most leases that wait for room at once. A request body that waits holds more than its lease
#: says: what aiohttp took in for it meanwhile (some 256 KiB). 100 uploads of 16 MiB, all waiting,
#: took the proxy from 110 to 190 MB; at most 8 waiting, 120-130 MB.
MAX_WAITING = 8


class NoRoom(Exception):
    """A wait for room given up (see the module): this waiter held the most (``held`` bytes)."""

    def __init__(self, held: int) -> None:
        super().__init__(held)
        self.held = held


class Budget:
    """``total`` bytes shared by the exchanges in flight; ``used`` of them are held now."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"max_kept_bytes must be at least 1, not {total!r}")
        self.total = total
        self.used = 0
        # Who waits for room (:meth:`Lease.reserve`), in the order they came, with the bytes they
        # want: a release grants those that fit then, so a small body does not wait behind a big one.
        self._waiting: dict[asyncio.Future[None], tuple[Lease, int]] = {}
        self._held_waiting = 0  # what the waiters hold (a lease holds still while it waits)

    def lease(self) -> Lease:
        return Lease(self)

    @property
    def waiting(self) -> int:
        """How many leases wait for room."""
        return len(self._waiting)

    def _fits(self, lease: Lease, wanted: int) -> bool:
        # A body larger than the budget alone gets it whole once nobody else holds any: the bounds
        # refuse it beforehand (max_kept_bytes >= max_body_bytes), bar a compressed body's framing.
        return self.used + wanted <= self.total or self.used == lease.held

    def _grant(self, lease: Lease, wanted: int) -> None:
        self.used += wanted
        lease.held += wanted

    def _enqueue(self, future: asyncio.Future[None], lease: Lease, wanted: int) -> None:
        self._waiting[future] = (lease, wanted)
        self._held_waiting += lease.held
        self._unblock()

    def _unblock(self) -> None:
        """When all that is held is held by waiters, nobody will give any back; when more than
        :data:`MAX_WAITING` wait, they hold too much besides: either way the waiter that holds the
        most is refused, and lets go of its bytes as its exchange ends (waking the others)."""
        if not self._waiting or (self._held_waiting < self.used and len(self._waiting) <= MAX_WAITING):
            return  # room will come back: what is held is not all held by waiters, and few wait
        if any(waiter.done() for waiter in self._waiting):  # a wait cut short: its bytes come back
            return
        # The one that holds the most; of those that hold as much, the last to come.
        victim = max(reversed(self._waiting), key=lambda waiter: self._waiting[waiter][0].held)
        held = self._waiting[victim][0].held
        self._dequeue(victim)
        victim.set_exception(NoRoom(held))

    def _dequeue(self, future: asyncio.Future[None]) -> None:
        if (waiter := self._waiting.pop(future, None)) is not None:
            self._held_waiting -= waiter[0].held

    def _wake(self) -> None:
        for future, (lease, wanted) in list(self._waiting.items()):
            if self.used >= self.total:
                break
            if not future.done() and self._fits(lease, wanted):
                self._dequeue(future)
                self._grant(lease, wanted)  # granted here, not when the waiter runs: nobody overtakes it
                future.set_result(None)
        self._unblock()


@dataclasses.dataclass(slots=True)
class Lease:
    """What one exchange holds of a :class:`Budget`: given back whole by :meth:`release`."""

    budget: Budget
    held: int = 0

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` bytes now; return how many were granted (0 when the budget is spent)."""
        budget = self.budget
        granted = max(0, min(wanted, budget.total - budget.used))
        budget._grant(self, granted)
        return granted

    async def reserve(self, total: int) -> None:
        """Hold at least ``total`` bytes in all, waiting until that much is free; :class:`NoRoom`
        when none would ever be (see the module). The caller bounds the wait: a cancelled wait
        takes nothing, or keeps what was granted for :meth:`release`."""
        wanted = total - self.held
        budget = self.budget
        if wanted <= 0:
            return
        if budget._fits(self, wanted):
            budget._grant(self, wanted)
            return
        granted = asyncio.get_running_loop().create_future()
        budget._enqueue(granted, self, wanted)
        try:
            await granted
        finally:
            budget._dequeue(granted)

    def settle(self, held: int) -> None:
        """Hold exactly ``held`` bytes: what is kept once a body is read (an inflated body may be
        larger than the raw bytes reserved for it: it is in memory already, so it is counted)."""
        budget = self.budget
        budget.used += held - self.held
        self.held = held
        budget._wake()

    def release(self) -> None:
        self.settle(0)
