"""Scenario loads take turns: ``PUT /__admin/scenario`` and ``--watch`` reloads run one at a time,
in the order they came; a PUT that waits longer than the body timeout is a 409 with ``Retry-After``,
its body never read; a load of the host's own (unthreaded) that comes meanwhile wins."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mock_server import Settings
from mock_server.http import admin
from mock_server.http.inflate import read_body
from mock_server.http.runtime import DEFAULT_SCENARIO, Mock
from mock_server.scenarios.reading import parse_scenario
from tests.support.client import MakeApi

YAML = {"Content-Type": "application/yaml"}


async def until(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    """Wait (yielding to the loop) until ``condition`` holds; fail past ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0)


async def test_puts_wait_their_turn_and_take_effect_in_the_order_they_came(make_api: MakeApi) -> None:
    api = await make_api()
    mock = api.mock
    async with mock.load_turn():  # a load under way
        first = asyncio.create_task(api.admin("PUT", "/scenario", json={"name": "fail-midway"}))
        await until(lambda: mock.loads_waiting == 1)
        second = asyncio.create_task(api.admin("PUT", "/scenario", data="description: later\n", headers=YAML))
        await until(lambda: mock.loads_waiting == 2)
        assert mock.scenario is DEFAULT_SCENARIO and not first.done() and not second.done()
    assert (await first)[0] == 200 and (await second)[0] == 200
    assert mock.scenario.description == "later"  # the later one stays


async def test_a_put_that_waits_past_the_body_timeout_is_a_409_its_body_unread(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await make_api(Settings(body_timeout_ms=200))
    read: list[Any] = []

    async def spied(*args: Any) -> bytes:
        read.append(args)
        return await read_body(*args)

    monkeypatch.setattr(admin, "read_body", spied)
    async with api.mock.load_turn():
        status, body = await api.admin("PUT", "/scenario", data="description: refused\n", headers=YAML)
    assert status == 409 and "another scenario load" in body["message"], body
    assert read == [] and api.mock.scenario is DEFAULT_SCENARIO
    async with api.http.put("/__admin/scenario", data="description: now\n", headers=YAML) as answer:
        assert answer.status == 200  # the turn is free again
    async with (
        api.mock.load_turn(),
        api.http.put("/__admin/scenario", data="description: x\n", headers=YAML) as answer,
    ):
        assert answer.status == 409 and answer.headers["Retry-After"] == "1"


async def test_a_watch_reload_waits_for_the_turn_too() -> None:
    """``--watch`` calls :meth:`Mock.load_in_thread` without a turn of its own: it takes one."""
    mock = Mock()
    made: list[str] = []

    def make() -> Any:
        made.append("read")
        return parse_scenario("description: watched\n")

    async with mock.load_turn():
        reload = asyncio.create_task(mock.load_in_thread(make))
        await until(lambda: mock.loads_waiting == 1)
        assert made == [] and mock.scenario is DEFAULT_SCENARIO
    assert (await reload).description == "watched" and mock.scenario.description == "watched"


async def test_a_load_of_the_hosts_own_meanwhile_wins(make_api: MakeApi) -> None:
    """``MockServer.load_scenario`` and fixture markers load on the loop, without a turn: a
    threaded load they overtake is not installed (409)."""
    api = await make_api()
    mock = api.mock
    loop = asyncio.get_running_loop()
    host_loaded = threading.Event()
    own = parse_scenario("description: the host's own\n")

    def load_own() -> None:
        mock.load(own)
        host_loaded.set()

    def make() -> Any:
        loop.call_soon_threadsafe(load_own)
        assert host_loaded.wait(10)
        return parse_scenario("description: overtaken\n")

    with pytest.raises(Exception, match="a later scenario load began"):
        await mock.load_in_thread(make)
    assert mock.scenario is own


async def test_the_shown_yaml_is_masked_once_per_load(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The YAML is masked in the load's worker thread; the GETs and pages that show it do no YAML work."""
    from mock_server.scenarios import masking

    masked_on: list[str] = []
    real = masking._Spans.found

    def spied(self: Any) -> Any:
        masked_on.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(masking._Spans, "found", spied)
    api = await make_api()
    document = "description: d\nsettings: {users: {admin: pw-5c1e7a}}\n"
    assert (await api.admin("PUT", "/scenario", data=document, headers=YAML))[0] == 200
    assert len(masked_on) == 1 and masked_on[0] != threading.current_thread().name  # not on the loop
    for _ in range(3):
        status, body = await api.admin("GET", "/scenario")
        assert status == 200 and "pw-5c1e7a" not in body["yaml"] and '"(not shown)"' in body["yaml"]
        async with api.http.get("/__admin/ui/scenario") as page:
            assert page.status == 200 and "pw-5c1e7a" not in await page.text()
    assert len(masked_on) == 1
