"""Shared fixtures: a manual clock, and the mock served on a real socket with a small client."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mock_server import ManualClock, Repository, Settings, create_app, load_scenario
from mock_server.api.operations import BASE_PATH
from mock_server.http.runtime import MOCK

#: §3.17: (cancellable, resumable, restartable) for each status.
FLAGS = {
    "WAITING": (True, False, False),
    "IN_PROGRESS": (True, False, False),
    "SUCCESS": (False, False, True),
    "FAILED": (False, True, False),
    "CANCELLED": (False, True, False),
}
pytest_plugins = ("pytester",)

#: The tiers: each test file sits in one of these folders, and its tests carry the marker of that name
#: (``-m "not e2e"`` is the inner loop). ``test_tiers.py`` holds every file to it.
TIERS = ("unit", "http", "e2e", "adversarial")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test under tests/<tier>/ with its tier."""
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS).parts
        except ValueError:  # examples/ and pytester's own runs
            continue
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(parts[0])


BASIC_ADMIN = "Basic " + base64.b64encode(b"admin:admin").decode()


class ApiClient:
    """The mock's endpoints as methods, over a real HTTP connection; answers (status, JSON)."""

    def __init__(self, client: TestClient[Any, Any], clock: Any) -> None:
        self.http = client
        self.clock = clock
        self.headers = {"Authorization": BASIC_ADMIN}

    async def _json(self, response: ClientResponse) -> tuple[int, Any]:
        async with response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self._json(await self.http.post(path, json=body, headers=headers, **kwargs))

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return await self._json(await self.http.get(path, params=params, headers=self.headers))

    async def start(self, path: str = "/content/dam/22858", **fields: Any) -> str:
        status, body = await self.post(BASE_PATH, {"path": path, "type": "ASSET_PROCESSING", **fields})
        assert status == 200, body
        return str(body["processingId"])

    async def status(self, processing_id: str) -> dict[str, Any]:
        status, body = await self.get(f"{BASE_PATH}/status", processingId=processing_id)
        assert status == 200, body
        return dict(body)

    async def logs(self, processing_id: str, **params: Any) -> dict[str, Any]:
        status, body = await self.get(f"{BASE_PATH}/logs", processingId=processing_id, **params)
        assert status == 200, body
        return dict(body)

    async def action(self, name: str, processing_id: str) -> tuple[int, Any]:
        return await self.post(f"{BASE_PATH}/{name}", {"processingId": processing_id})

    @property
    def mock(self) -> Any:
        """The running mock (engine, journal, scenario…) behind the socket."""
        return self.http.app[MOCK]

    async def admin(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self._json(await self.http.request(method, f"/__admin{path}", **kwargs))

    async def history(self) -> list[dict[str, Any]]:
        status, body = await self.get(f"{BASE_PATH}/history")
        assert status == 200, body
        return list(body["executionHistory"])

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


MakeApi = Callable[..., Awaitable[ApiClient]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_api(aiohttp_client: Any, clock: ManualClock) -> MakeApi:
    """Serve a mock (default settings and repository unless given) and return its client."""

    async def make(
        settings: Settings | None = None,
        repository: Repository | None = None,
        scenario: str | None = None,
        default_clock: str = "manual",
    ) -> ApiClient:
        """The test's manual clock drives the mock, unless the scenario pins a clock of its own or
        ``default_clock`` is ``real``."""
        loaded = load_scenario(scenario) if scenario is not None else None
        own_clock = default_clock == "manual" and (loaded is None or loaded.clock is None)
        app = create_app(
            settings,
            scenario=loaded,
            repository=repository,
            clock=clock if own_clock else None,
            default_clock=default_clock,
        )
        return ApiClient(await aiohttp_client(app), app[MOCK].clock)

    return make


@pytest.fixture
async def api(make_api: MakeApi) -> ApiClient:
    return await make_api()
