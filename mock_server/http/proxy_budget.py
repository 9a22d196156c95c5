"""The bytes of bodies the proxy keeps in memory at once: a :class:`Budget` shared by the exchanges in
flight, each holding a :class:`Lease` on it that it gives back whole when it ends.

The proxy has two, so that one kind of body never refuses the other: one for the answers kept for
the checks and the tape (:meth:`Lease.take`: what fits now, the rest is not kept), and one for the
request bodies (:meth:`Lease.reserve`: each body's actual length, waited for when others hold it
all). A request body is never refused because answers are being kept; a few hundred bytes of an
API request wait only when uploads in flight hold the whole budget of request bodies.
"""

from __future__ import annotations

import asyncio
import dataclasses

__all__ = ["DEFAULT_MAX_KEPT_BYTES", "Budget", "Lease"]

#: What the proxy keeps of bodies in memory at once, for every exchange in flight (each budget).
DEFAULT_MAX_KEPT_BYTES = 32 * 1024 * 1024


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

    def _wake(self) -> None:
        for future, (lease, wanted) in list(self._waiting.items()):
            if self.used >= self.total:
                return
            if not future.done() and self._fits(lease, wanted):
                self._grant(lease, wanted)  # granted here, not when the waiter runs: nobody overtakes it
                future.set_result(None)
                del self._waiting[future]


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
        """Hold at least ``total`` bytes in all, waiting until that much is free (the caller bounds
        the wait: a cancelled wait takes nothing, or keeps what was granted for :meth:`release`)."""
        wanted = total - self.held
        budget = self.budget
        if wanted <= 0:
            return
        if budget._fits(self, wanted):
            budget._grant(self, wanted)
            return
        granted = asyncio.get_running_loop().create_future()
        budget._waiting[granted] = (self, wanted)
        try:
            await granted
        finally:
            budget._waiting.pop(granted, None)

    def settle(self, held: int) -> None:
        """Hold exactly ``held`` bytes: what is kept once a body is read (an inflated body may be
        larger than the raw bytes reserved for it: it is in memory already, so it is counted)."""
        budget = self.budget
        budget.used += held - self.held
        self.held = held
        budget._wake()

    def release(self) -> None:
        self.settle(0)
