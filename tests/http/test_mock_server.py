"""MockServer: the mock without pytest, in a thread or in the running loop."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from mock_server import MockServer, Scenario
from mock_server.scenarios.reading import parse_scenario


def start(server: MockServer, path: str = "/content/dam/22858") -> str:
    body = json.dumps({"path": path, "type": "ASSET_PROCESSING"}).encode()
    headers = {**server.headers, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(server.base_url, data=body, headers=headers)) as r:
        return str(json.load(r)["processingId"])


def test_a_thread_server_serves_and_frees_its_port() -> None:
    with MockServer() as server:
        port = int(server.url.rsplit(":", 1)[1])
        start(server)
        server.advance(2)
        assert [job["status"] for job in server.jobs] == ["SUCCESS"]
        assert len(server.journal) == 1 and server.violations == []
    with MockServer(port=port) as again:  # the port is free again at once
        assert again.url.endswith(f":{port}")


def test_scenarios_by_name_text_or_object_and_reset() -> None:
    text = "description: inline\nsettings: {history_size: 1}\n"
    for scenario in ("fail-midway", text, parse_scenario(text)):
        with MockServer(scenario) as server:
            assert isinstance(server.mock.scenario, Scenario)
    with MockServer("cancel-and-resume") as server:
        start(server)
        server.reset()
        assert server.jobs == [] and server.journal == []
        server.load_scenario("database-backend", history_size=3)
        assert server.mock.settings.is_database and server.mock.settings.history_size == 3


def test_only_a_manual_clock_can_be_advanced() -> None:
    with MockServer(clock="real") as server, pytest.raises(TypeError, match="manual clock"):
        server.advance(1)


def test_a_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            MockServer(port=taken.getsockname()[1]).start()


async def test_the_async_form_runs_in_this_loop() -> None:
    import aiohttp

    async with MockServer("seeded-replay") as server, aiohttp.ClientSession() as session:
        body = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
        async with session.post(server.base_url, json=body, headers=server.headers) as response:
            assert response.status == 200
        server.advance(2)
        assert server.jobs[0]["status"] == "SUCCESS"


def test_a_server_can_start_again_after_a_stop_or_a_failed_start() -> None:
    server = MockServer()
    server.start()
    server.stop()
    assert server.url == ""
    server.start()
    assert server.url.startswith("http://127.0.0.1:")
    server.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = MockServer(port=taken.getsockname()[1])
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            busy.start()
    with busy:  # the port is free now: the same object starts
        assert busy.url


def test_the_server_and_the_fixture_read_alike() -> None:
    from mock_server.pytest_plugin import AemMock

    with MockServer() as server:
        handle = AemMock(server)
        for name in ("jobs", "journal", "violations"):
            assert isinstance(getattr(type(server), name), property), name
            assert getattr(server, name) == getattr(handle, name) == [], name


def test_the_listener_takes_its_limits_from_the_settings() -> None:
    import socket
    import time

    with MockServer(overrides={"header_timeout_ms": 300, "max_connections": 5}) as server:
        assert server._runner is not None and server._runner.max_connections == 5  # type: ignore[attr-defined]
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /bin/guides/v1/assets/process/hist")  # and nothing more
            began = time.monotonic()
            assert sock.recv(100) == b""  # closed by the server
            assert time.monotonic() - began < 3
