"""The mock's endpoints as methods over a real HTTP connection, and the fixtures' factory types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from mock_server.api.operations import BASE_PATH
from mock_server.http.runtime import MOCK
from tests.support.constants import BASIC_ADMIN

#: pytest-aiohttp's ``aiohttp_server`` and ``aiohttp_client`` fixtures.
MakeServer = Callable[[web.Application], Awaitable[TestServer]]
MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


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
