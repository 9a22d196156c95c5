"""The author under test, as ``verify`` talks to it: paced, bounded, and repeatable by curl.

Every request waits its turn (``--rate`` requests per second at most: a shared author is not a load
test target), has a timeout, and reads at most :data:`MAX_BODY` bytes of answer. Each answer comes
with the curl line that repeats its request, with the credentials as environment variables: the
report can be pasted into a ticket without leaking them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shlex
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

__all__ = ["MAX_BODY", "Answer", "Credentials", "SetupError", "Target"]

#: The most bytes of one answer read (a ZIP of a big job's log included).
MAX_BODY = 64 * 1024 * 1024


class SetupError(Exception):
    """The author could not be reached, or refused the credentials: the plan cannot run."""


@dataclass(frozen=True)
class Credentials:
    """Basic (``user`` and a password) or Bearer (a token); each also by the name of the
    environment variable it came from, which curl lines show instead of the value."""

    user: str | None = None
    password: str | None = None
    password_env: str = "AEM_PASSWORD"
    token: str | None = None
    token_env: str = "AEM_TOKEN"

    def headers(self) -> dict[str, str]:
        if self.token is not None:
            return {"Authorization": f"Bearer {self.token}"}
        if self.user is not None:
            pair = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}

    def curl_flags(self) -> str:
        if self.token is not None:
            return f'-H "Authorization: Bearer ${self.token_env}"'
        if self.user is not None:
            return f'-u "{self.user}:${self.password_env}"'
        return ""


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    request: str  # "GET /bin/…?processingId=…"
    curl: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def excerpt(self) -> str:
        return self.body[:300].decode("utf-8", "replace")


class Target:
    """The author at ``url``; use as ``async with Target(...) as target``."""

    def __init__(self, url: str, credentials: Credentials, rate: float = 5.0, timeout_s: float = 30.0):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._timeout = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self.sent = 0

    async def __aenter__(self) -> Target:
        self._session = aiohttp.ClientSession(
            headers=self.credentials.headers(), timeout=aiohttp.ClientTimeout(total=self._timeout)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        accept: str = "application/json",
    ) -> Answer:
        """One request, in its turn. Raises :class:`SetupError` when the author is unreachable."""
        assert self._session is not None, "use Target as an async context manager"
        wait = self._next - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._next = max(self._next, time.monotonic()) + self._interval
        url = self.url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": accept, **({"Content-Type": "application/json"} if data is not None else {})}
        shown = f"{method} {path}" + (f"?{urlencode(query)}" if query else "")
        curl = " ".join(
            ["curl", "-sS", "-X", method, self.credentials.curl_flags()]
            + [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()]
            + ([f"--data {shlex.quote(data.decode())}"] if data is not None else [])
            + [shlex.quote(url)]
        )
        self.sent += 1
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as r:
                content = await r.content.read(MAX_BODY)
                return Answer(r.status, content, r.content_type, shown, curl)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise SetupError(
                f"{shown}: the author did not answer ({type(error).__name__}: {error})"
            ) from None
