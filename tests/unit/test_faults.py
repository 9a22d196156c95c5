"""Fault selection: which call gets which fault, reproducibly from a seed."""

from __future__ import annotations

import pytest

from mock_server.core.faults import Fault, FaultPlan, Trigger

STATUS = frozenset({"status"})


def fired(plan: FaultPlan, calls: int, endpoint: str = "status", now_ms: int = 0) -> list[int]:
    return [n for n in range(1, calls + 1) if plan.pick(endpoint, now_ms)]


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (Trigger("always"), [1, 2, 3, 4, 5, 6]),
        (Trigger("nth", n=2), [2]),
        (Trigger("every", n=3), [3, 6]),
        (Trigger("from", n=5), [5, 6]),
    ],
)
def test_call_count_triggers(trigger: Trigger, expected: list[int]) -> None:
    assert fired(FaultPlan([Fault(STATUS, trigger, status=503)]), 6) == expected


def test_only_the_named_endpoints_count() -> None:
    plan = FaultPlan([Fault(STATUS, Trigger("nth", n=2), status=503)])
    assert plan.pick("logs", 0) is None
    assert plan.pick("status", 0) is None
    assert plan.pick("status", 0) is not None  # the 2nd status call, whatever came between


def test_a_time_window_counts_from_loading() -> None:
    plan = FaultPlan(
        [Fault(STATUS, Trigger("window", window_ms=(1000, 2000)), status=500)], started_ms=10_000
    )
    assert [bool(plan.pick("status", t)) for t in (10_500, 11_000, 11_999, 12_000)] == [
        False,
        True,
        True,
        False,
    ]


def test_probability_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[int]:
        return fired(
            FaultPlan([Fault(STATUS, Trigger("probability", probability=0.3), status=500)], seed=seed), 200
        )

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 < len(first) < 90


def test_reset_starts_counting_and_drawing_over() -> None:
    plan = FaultPlan([Fault(STATUS, Trigger("probability", probability=0.5), status=500)], seed=1)
    first = fired(plan, 50)
    plan.reset(0)
    assert fired(plan, 50) == first


def test_job_faults_come_first_and_count_per_job() -> None:
    job_fault = Fault(STATUS, Trigger("nth", n=1), status=409)
    every = Fault(frozenset({"status", "logs"}), Trigger("always"), latency_ms=(5, 5))
    plan = FaultPlan([every], [[job_fault]])
    first = plan.pick("status", 0, script=0, job="a")
    assert first is not None and first.fault is job_fault
    second = plan.pick("status", 0, script=0, job="a")
    assert second is not None and second.fault.latency_ms == (5, 5)  # the global fault answers now
    other_job = plan.pick("status", 0, script=0, job="b")
    assert other_job is not None and other_job.fault is job_fault  # its own first call


def test_latency_is_drawn_within_its_range() -> None:
    plan = FaultPlan([Fault(STATUS, Trigger("always"), latency_ms=(10, 20))], seed=3)
    draws = {chosen.latency_ms for _ in range(100) if (chosen := plan.pick("status", 0))}
    assert draws <= set(range(10, 21)) and len(draws) > 5


def test_labels_say_what_a_fault_does() -> None:
    fault = Fault(STATUS, status=503, latency_ms=(1, 2), description="busy")
    assert fault.label() == "busy, status 503, latency 1-2 ms"


@pytest.mark.parametrize(
    ("trigger", "words"),
    [
        (Trigger(), "on every call"),
        (Trigger("nth", 2), "on call 2"),
        (Trigger("every", 1), "every 1st call"),
        (Trigger("every", 2), "every 2nd call"),
        (Trigger("every", 3), "every 3rd call"),
        (Trigger("every", 11), "every 11th call"),
        (Trigger("every", 22), "every 22nd call"),
        (Trigger("from", 5), "from call 5 on"),
        (Trigger("window", window_ms=(1000, 5000)), "from 1000 to 5000 ms after the scenario loaded"),
        (Trigger("probability", probability=0.25), "with probability 0.25 (seeded)"),
        (
            Trigger("rate_limit", limit=10, per_ms=10_000, penalty_ms=300_000),
            "past 10 requests a second over 10 s from one client, then for 300 s",
        ),
    ],
)
def test_a_trigger_says_when_it_fires(trigger: Trigger, words: str) -> None:
    assert trigger.describe() == words


def _limited(limit: int = 2, per_ms: int = 1000, penalty_ms: int = 5000) -> FaultPlan:
    trigger = Trigger("rate_limit", limit=limit, per_ms=per_ms, penalty_ms=penalty_ms)
    return FaultPlan([Fault(frozenset({"status"}), trigger, status=406)])


def _refused(plan: FaultPlan, at_ms: int, client: str = "10.0.0.1", count: int = 1) -> list[bool]:
    return [plan.pick("status", at_ms, client=client) is not None for _ in range(count)]


def test_a_rate_limit_refuses_a_client_past_it_for_its_penalty_on_the_clock() -> None:
    """Two a second: the third in the second is refused, and every request for the 5 s penalty;
    then the client starts afresh. Another client is counted apart (the CDN's clientIp)."""
    plan = _limited()
    assert _refused(plan, 0, count=3) == [False, False, True]
    assert _refused(plan, 0, client="10.0.0.2", count=2) == [False, False]
    assert _refused(plan, 3_000) == [True]  # in the penalty
    assert _refused(plan, 5_000, count=3) == [False, False, True]  # served, then past it again


def test_a_rate_limit_averages_over_its_window() -> None:
    """One a second over ten seconds: ten requests in the first second pass, the eleventh within the
    window does not; once the first second leaves the window, one more passes."""
    plan = _limited(limit=1, per_ms=10_000, penalty_ms=0)
    assert _refused(plan, 0, count=10) == [False] * 10
    assert _refused(plan, 10_000, count=10) == [False] * 10  # the first second has left the window
    assert _refused(plan, 19_999) == [True]


def test_a_rate_limit_s_counts_are_saved_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _limited()
    _refused(plan, 0, count=3)
    again = _limited()
    again.restore(plan.saved())
    assert _refused(again, 1_000) == [True]  # still in the penalty after a restart
    plan.reset(0)
    assert _refused(plan, 1_000) == [False]  # a reset starts the counts over
    monkeypatch.setattr("mock_server.core.faults.MAX_COUNTERS", 5)
    for n in range(20):
        _refused(again, 6_000, client=f"10.1.0.{n}")
    assert len(again._rates) == 5
