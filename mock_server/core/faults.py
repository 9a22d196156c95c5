"""Injected faults: which request gets which failure, reproducibly.

A fault names the endpoints it hits, *when* it fires (always, the nth call, every nth call, from
the nth call on, a time window, a probability drawn from the scenario's seed, or a client past a
CDN-style rate limit on the mock's clock), and *what* it
does (a status with a body and ``Retry-After``, latency, a cut-off JSON body, a reset or closed
connection). Counting is per fault: the same seed and the same requests give the same faults.
Pure Python: the app applies the chosen fault.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultPlan", "Trigger"]


#: The most call counters kept: one per scenario fault, one per job and job-script fault.
MAX_COUNTERS = 100_000


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a fault fires; ``kind`` is one of always, nth, every, from, window, probability."""

    kind: Literal["always", "nth", "every", "from", "window", "probability", "rate_limit"] = "always"
    n: int = 0
    window_ms: tuple[int, int] = (0, 0)
    probability: float = 0.0
    limit: int = 0
    """``rate_limit``: the requests a second a client may make, averaged over ``per_ms``."""
    per_ms: int = 0
    penalty_ms: int = 0
    """``rate_limit``: how long a client past the limit is refused, every request of it."""

    def describe(self) -> str:
        """When it fires, in words: ``every 3rd call``, ``with probability 0.1``."""
        match self.kind:
            case "always":
                return "on every call"
            case "nth":
                return f"on call {self.n}"
            case "every":
                return f"every {_ordinal(self.n)} call"
            case "from":
                return f"from call {self.n} on"
            case "window":
                return f"from {self.window_ms[0]} to {self.window_ms[1]} ms after the scenario loaded"
            case "rate_limit":
                return (f"past {self.limit} requests a second over {self.per_ms / 1000:g} s from one client, "
                        f"then for {self.penalty_ms / 1000:g} s")  # fmt: skip
            case _:
                return f"with probability {self.probability:g} (seeded)"

    def fires(self, call: int, elapsed_ms: int, draw: float) -> bool:
        """``call`` is the 1-based count of matching calls; ``elapsed_ms`` the time since loading."""
        match self.kind:
            case "always":
                return True
            case "nth":
                return call == self.n
            case "every":
                return call % self.n == 0
            case "from":
                return call >= self.n
            case "window":
                return self.window_ms[0] <= elapsed_ms < self.window_ms[1]
            case "rate_limit":  # the plan decides: it counts each client's requests (FaultPlan.pick)
                return False
            case _:
                return draw < self.probability


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, slots=True)
class Fault:
    endpoints: frozenset[str]
    """The names of the operations it hits (``mock_server.api.operations.OPERATION_NAMES``)."""
    when: Trigger = Trigger()
    status: int | None = None
    body: Any = None
    retry_after: int | None = None
    latency_ms: tuple[int, int] | None = None
    malformed: bool = False
    connection: Literal["reset", "close"] | None = None
    description: str = ""
    auth: Literal["basic", "bearer"] | None = None
    """Only requests authenticated this way meet the fault (and are counted)."""

    def label(self) -> str:
        """A short name for the journal: what the fault did."""
        parts = [self.description] if self.description else []
        if self.when.kind == "rate_limit":
            parts.append("rate limit")
        if self.status:
            parts.append(f"status {self.status}")
        if self.latency_ms:
            parts.append(f"latency {self.latency_ms[0]}-{self.latency_ms[1]} ms")
        if self.malformed:
            parts.append("malformed body")
        if self.connection:
            parts.append(f"connection {self.connection}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Chosen:
    """A fault that fired, and the latency drawn for it (ms)."""

    fault: Fault
    latency_ms: int


@dataclass(slots=True)
class _Rate:
    """One client's requests under one rate limit: a count a second of the clock, and until when
    the client is refused."""

    seconds: dict[int, int] = field(default_factory=dict)
    blocked_until_ms: int = -1

    def over(self, trigger: Trigger, now_ms: int) -> bool:
        """Count a request at ``now_ms``; whether it is refused (past the limit, or in a penalty)."""
        if now_ms < self.blocked_until_ms:
            return True
        second, span = now_ms // 1000, max(1, trigger.per_ms // 1000)
        for old in [s for s in self.seconds if s <= second - span]:
            del self.seconds[old]
        self.seconds[second] = self.seconds.get(second, 0) + 1
        if sum(self.seconds.values()) > trigger.limit * span:
            self.blocked_until_ms = now_ms + trigger.penalty_ms
            self.seconds.clear()  # the penalty served, the client starts afresh
            return True
        return False


@dataclass(slots=True)
class FaultPlan:
    """The faults of one scenario and their counters; :meth:`reset` starts them over."""

    faults: Sequence[Fault] = ()
    job_faults: Sequence[Sequence[Fault]] = ()
    """The faults of each job script, by script index."""
    seed: int = 0
    started_ms: int = 0
    _calls: dict[tuple[int, int, str], int] = field(default_factory=dict)
    """Matching calls per fault; a job script's faults count per job, the newest jobs kept."""
    _random: random.Random = field(default_factory=random.Random)
    _rates: dict[tuple[int, int, str], _Rate] = field(default_factory=dict)
    """Each client's requests under each rate limit, the clients seen last kept (MAX_COUNTERS)."""
    picks: int = 0
    """How many calls were looked at (and resets made): a change of it tells ``--state`` to save."""

    def __post_init__(self) -> None:
        self.reset(self.started_ms)

    @property
    def armed(self) -> bool:
        """Whether any fault may fire at all (most scenarios have none: then no call is looked at)."""
        return bool(self.faults) or any(self.job_faults)

    def reset(self, now_ms: int) -> None:
        self.picks += 1
        self.started_ms = now_ms
        self._calls.clear()
        self._rates.clear()
        self._random = random.Random(self.seed)

    def saved(self) -> dict[str, Any]:
        """The counters and the seeded draws as JSON (``--state``), as :meth:`restore` takes them."""
        state = self._random.getstate()
        calls = [[*key, count] for key, count in self._calls.items()]
        rates = [
            [*key, list(rate.seconds.items()), rate.blocked_until_ms] for key, rate in self._rates.items()
        ]
        return {"startedMs": self.started_ms, "calls": calls, "random": [state[0], list(state[1]), state[2]],
                "rates": rates}  # fmt: skip

    def restore(self, saved: dict[str, Any]) -> None:
        self.started_ms = saved["startedMs"]
        self._calls = {(owner, index, job): count for owner, index, job, count in saved["calls"]}
        self._rates = {
            (owner, index, client): _Rate(dict(seconds), blocked)
            for owner, index, client, seconds, blocked in saved.get("rates", ())
        }
        version, internal, gauss = saved["random"]
        self._random.setstate((version, tuple(internal), gauss))

    def pick(
        self,
        endpoint: str,
        now_ms: int,
        script: int | None = None,
        job: str = "",
        auth: str = "",
        client: str = "",
    ) -> Chosen | None:
        """The fault for this call, if one fires: a job script's own faults first, then the global ones.

        ``auth`` is how the call authenticated (``basic`` or ``bearer``); ``client`` who sent it (its
        address: a rate limit counts each client's requests apart, as the CDN's ``clientIp``)."""
        self.picks += 1
        candidates: list[tuple[int, int, Fault]] = []
        if script is not None and script < len(self.job_faults):
            candidates += [(script + 1, i, f) for i, f in enumerate(self.job_faults[script])]
        candidates += [(0, i, f) for i, f in enumerate(self.faults)]
        chosen: Chosen | None = None
        for owner, index, fault in candidates:
            if endpoint not in fault.endpoints or (fault.auth is not None and fault.auth != auth):
                continue
            key = (owner, index, job if owner else "")
            call = self._calls.pop(key, 0) + 1
            self._calls[key] = call  # moved to the end: the counters used last are kept
            if len(self._calls) > MAX_COUNTERS:  # a job's counters outlive no flood of jobs
                del self._calls[next(k for k in self._calls if k[0])]
            # Draw for every matching call, fired or not, so that draws do not depend on other faults.
            draw = self._random.random() if fault.when.kind == "probability" else 1.0
            if fault.when.kind == "rate_limit":  # every matching call counts, fired or not
                fires = self._rate(owner, index, client).over(fault.when, now_ms)
            else:
                fires = fault.when.fires(call, now_ms - self.started_ms, draw)
            if chosen is None and fires:
                low, high = fault.latency_ms or (0, 0)
                chosen = Chosen(fault, self._random.randint(low, high) if high > low else low)
        return chosen

    def _rate(self, owner: int, index: int, client: str) -> _Rate:
        key = (owner, index, client)
        rate = self._rates.pop(key, None) or _Rate()
        self._rates[key] = rate  # moved to the end: the clients seen last are kept
        if len(self._rates) > MAX_COUNTERS:  # a flood of addresses forgets the oldest
            del self._rates[next(iter(self._rates))]
        return rate
