"""The state the event streams share: one per session's mock, never one session's sent to another's
tab (a session's dashboard is the same route under its prefix, served by the same streams)."""

from __future__ import annotations

from collections.abc import Callable

from mock_server.http.events import EventStreams


def test_streams_of_two_keys_are_sent_their_own_state_within_one_tick() -> None:
    streams = EventStreams(tick_s=60)  # one tick is a minute: every call below falls within it
    made: list[str] = []

    def make(state: str) -> Callable[[], str]:
        def made_now() -> str:
            made.append(state)
            return state

        return made_now

    assert streams.shared(make("server"), "server") == "server"
    assert streams.shared(make("session"), "session") == "session"
    assert streams.shared(make("again"), "server") == "server"  # made once a tick, per key
    assert made == ["server", "session"]


def test_the_states_kept_are_bounded_by_the_slots() -> None:
    streams = EventStreams(slots=2, tick_s=0)  # every state is stale at once
    for key in range(50):
        streams.shared(lambda: "x", key)
    assert len(streams._made) <= streams.slots + 1
