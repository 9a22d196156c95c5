"""A property over a real socket: two sessions' commands, interleaved at random and each session
named by prefix or by header at random, are never seen in the other session.

Each session has a model that knows only its own commands: its jobs, its clock, whether its fault
scenario is loaded, and the statuses its journal holds. A job, a clock move, a fault or an exchange
leaking from one session into the other makes the other's answers differ from its model.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import MockServer
from mock_server.api.operations import BASE_PATH
from mock_server.core.clock import DEFAULT_MANUAL_START_MS
from mock_server.http.sessions import HEADER
from tests.support.constants import BASIC_ADMIN
from tests.support.hypothesis_profiles import examples

FAULTY = "description: every start fails\nfaults:\n  - endpoint: start\n    status: 503\n"
#: Folders of the default repository none of which holds another: jobs on them never conflict.
FOLDERS = [f"/content/dam/{leaf}" for leaf in (
    "22858", "status-fetch1/excluded-folder", "dita-templates/topics", "dita-templates/maps",
    "dita-templates/ditavals", "demo/images", "demo1", "products/alpha/docs", "products/alpha/images",
    "products/beta/docs/release-notes", "products/beta/web", "products/gamma/fragments",
)]  # fmt: skip
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(environ={}) as running:
        yield running


@dataclass
class Model:
    """What one session must show, from its own commands alone."""

    jobs: int = 0
    started: int = 0
    now_ms: int = DEFAULT_MANUAL_START_MS
    faulty: bool = False
    statuses: list[int] = field(default_factory=list)


def request(server: MockServer, name: str, by: str, method: str, path: str, body: bytes | None = None,
            content_type: str = "application/json") -> tuple[int, Any]:  # fmt: skip
    url = server.url + (f"/sessions/{name}" if by == "prefix" else "") + path
    headers = {"Authorization": BASIC_ADMIN, "Content-Type": content_type}
    if by == "header":
        headers[HEADER] = name
    sent = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def run(server: MockServer, name: str, by: str, command: tuple[str, int], model: Model) -> None:
    """Do ``command`` in session ``name`` and move its model; check what the command reads."""
    kind, seconds = command
    if kind == "start":
        if model.started == len(FOLDERS):
            return
        start = {"path": FOLDERS[model.started], "type": "ASSET_PROCESSING"}
        status, body = request(server, name, by, "POST", BASE_PATH, json.dumps(start).encode())
        expected = 503 if model.faulty else 200
        assert status == expected, body
        model.statuses.append(expected)
        model.jobs += expected == 200
        model.started += expected == 200
    elif kind == "advance":
        status, clock = request(server, name, by, "POST", "/__admin/clock/advance",
                                json.dumps({"seconds": seconds}).encode())  # fmt: skip
        model.now_ms += seconds * 1000
        assert (status, clock["now"]) == (200, model.now_ms)
    elif kind == "fault":
        status, _ = request(server, name, by, "PUT", "/__admin/scenario", FAULTY.encode(), "application/yaml")
        assert status == 200
        model.faulty, model.jobs = True, 0  # a scenario load replaces the engine: no job is kept
    else:
        check(server, name, by, model)


def check(server: MockServer, name: str, by: str, model: Model) -> None:
    _, journal = request(server, name, by, "GET", "/__admin/journal")
    assert [e["status"] for e in journal["exchanges"]] == model.statuses
    _, stats = request(server, name, by, "GET", "/__admin/stats")
    assert stats["jobs"] == model.jobs
    _, clock = request(server, name, by, "GET", "/__admin/clock")
    assert clock["now"] == model.now_ms
    _, scenario = request(server, name, by, "GET", "/__admin/scenario")
    assert (scenario["description"] == "every start fails") == model.faulty


COMMANDS = st.one_of(
    st.just(("start", 0)),
    st.tuples(st.just("advance"), st.integers(0, 3600)),
    st.just(("fault", 0)),
    st.just(("journal", 0)),
)
STEPS = st.lists(
    st.tuples(st.sampled_from([0, 1]), COMMANDS, st.sampled_from(["prefix", "header"])), max_size=12
)


@settings(max_examples=examples(25), deadline=None)
@given(steps=STEPS)
def test_nothing_done_in_one_session_is_seen_in_the_other(server: MockServer, steps: list[Any]) -> None:
    names = [f"iso-{next(_names)}", f"iso-{next(_names)}"]
    models = [Model(), Model()]
    try:
        for which, command, by in steps:
            run(server, names[which], by, command, models[which])
        for which in (0, 1):
            check(server, names[which], "prefix", models[which])
            check(server, names[which], "header", models[which])
    finally:
        for name in names:
            request(server, name, "neither", "DELETE", f"/__admin/sessions/{name}")
