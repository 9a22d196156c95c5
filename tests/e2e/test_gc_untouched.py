"""The garbage collector of a user's process is the user's: importing ``mock_server``, a
``MockServer`` and the ``aem_mock`` fixture (scenario loads in a thread included) leave it enabled,
unfrozen and at its thresholds. Only ``serve``, whose process is the mock's, tunes it."""

from __future__ import annotations

import asyncio
import gc
import http.client
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: the fresh interpreter below imports this module first
    from mock_server import Scenario
    from mock_server.pytest_plugin import AemMock

State = tuple[bool, int, tuple[int, ...]]

# A scenario a thread takes a while to read (about 300 kB: a few hundred milliseconds).
ASSETS = "".join(f"    - {{path: /content/dam/gc/a-{n}.dita, type: DITATOPIC}}\n" for n in range(5_000))
BIG = f"description: big\nrepository:\n  base: empty\n  assets:\n{ASSETS}".encode()


def state() -> State:
    return gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()


@contextmanager
def watched() -> Iterator[list[State]]:
    """Every collector state other than the one at entry, seen by a thread polling it meanwhile."""
    before, seen, done = state(), [], threading.Event()

    def watch() -> None:
        while not done.is_set():
            if (now := state()) != before:
                seen.append(now)
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()
        if state() != before:
            seen.append(state())


def load_big(url: str, headers: dict[str, str]) -> int:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        sent = {**headers, "Content-Type": "application/yaml"}
        connection.request("PUT", "/__admin/scenario", body=BIG, headers=sent)
        return connection.getresponse().status
    finally:
        connection.close()


SCRIPT = """
import importlib, pkgutil
from tests.e2e.test_gc_untouched import load_big, state, watched
before = state()
import mock_server
for module in pkgutil.walk_packages(mock_server.__path__, "mock_server."):
    if module.name != "mock_server.__main__":
        importlib.import_module(module.name)
assert state() == before, f"importing mock_server: {before} became {state()}"
with watched() as seen:
    with mock_server.MockServer() as server:
        assert load_big(server.url, server.headers) == 200
assert not seen, f"a MockServer with a scenario load: {before} became {seen[0]}"
print("untouched", before)
"""


def test_importing_and_a_mock_server_leave_the_collector_alone() -> None:
    """In a fresh interpreter, so that the state before is the interpreter's own."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "untouched" in done.stdout, done.stderr[-2000:]


def default_threshold() -> tuple[int, ...]:
    code = "import gc; print(*gc.get_threshold())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return tuple(int(n) for n in out.split())


def test_the_fixture_leaves_the_collector_alone(aem_mock: AemMock) -> None:
    assert state() == (True, 0, default_threshold())  # as pytest and the interpreter left it
    with watched() as seen:
        assert load_big(aem_mock.url, aem_mock.headers) == 200
    assert not seen, f"during a scenario load through the fixture the collector became {seen[0]}"


def test_serve_alone_pauses_the_collector_while_a_scenario_is_read() -> None:
    """``serve`` sets ``pause_collector`` (its process is the mock's); the collector comes back after."""
    from mock_server.http.runtime import Mock
    from mock_server.scenarios.reading import parse_scenario

    enabled: list[bool] = []

    def make() -> Scenario:
        enabled.append(gc.isenabled())
        return parse_scenario("description: read in a thread\n")

    mock = Mock()
    asyncio.run(mock.load_in_thread(make))
    mock.pause_collector = True
    asyncio.run(mock.load_in_thread(make))
    assert enabled == [True, False] and gc.isenabled()
