"""The author under test, as ``verify`` talks to it: paced, bounded, and repeatable by curl.

Every request waits its turn (``--rate`` requests per second at most: a shared author is not a load
test target), has a timeout, and reads its answer whole, however many parts it comes in, up to a cap:
:data:`MAX_ANSWER` bytes held in memory, or :data:`MAX_DOWNLOAD` bytes written to a file the caller
gives (the log's ZIP). An answer over its cap is :class:`TooLarge`; one that does not come whole (a
timeout, a connection cut, a length it does not keep) is a :class:`SetupError`: verify could not read
it, which says nothing of the contract. Its JSON is parsed within :class:`~..recording.limits.JsonCaps`
(:meth:`Answer.json`). Each answer comes with the curl line that repeats its request, with the
credentials as environment variables: the report can be pasted into a ticket without leaking them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shlex
import time
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlencode

import aiohttp

from ..recording.limits import JsonCaps, LimitError, loads

__all__ = ["MAX_ANSWER", "MAX_DOWNLOAD", "Answer", "Credentials", "SetupError", "Target", "TooLarge"]

#: The most bytes of one answer held in memory (a log page of 1,000 long lines is about 1 MiB).
MAX_ANSWER = 8 * 1024 * 1024
#: The most bytes of an answer written to a file (the log's ZIP: a 1,000,000-line log is some 10 MiB).
MAX_DOWNLOAD = 64 * 1024 * 1024
_CHUNK = 64 * 1024
_KEPT = 4096  # bytes of a downloaded answer kept in memory, for its excerpt


class SetupError(Exception):
    """The author could not be reached, refused the credentials, or sent no whole answer: the plan
    cannot run."""


class TooLarge(SetupError):
    """An answer larger than verify reads: it could not be checked (not a violation of the contract,
    which sets no size)."""


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
    """The whole body; its first bytes only when it was written to a file (:attr:`size` says all)."""
    content_type: str
    request: str  # "GET /bin/…?processingId=…"
    curl: str
    size: int = 0
    caps: JsonCaps = field(default_factory=JsonCaps)
    _parsed: tuple[Any, LimitError | None] | None = field(default=None, repr=False, compare=False)

    def json(self) -> Any:
        """The body as JSON, parsed within :attr:`caps`; None when it is not JSON or over a cap
        (:meth:`limit` says which)."""
        return self._parse()[0]

    def fields(self) -> dict[str, Any]:
        """The body's JSON object, to read fields of: ``{}`` when the body is another JSON value (a
        list, a string: the schema check says so), not JSON, or over a cap. Every read of an answer's
        fields goes through here, so that ``["x"]`` is an answer without the field, not an
        AttributeError."""
        payload = self.json()
        return payload if isinstance(payload, dict) else {}

    def limit(self) -> LimitError | None:
        """The cap the body's JSON is over (its depth, its values), if it is."""
        return self._parse()[1]

    def _parse(self) -> tuple[Any, LimitError | None]:
        if self._parsed is None:
            try:
                self._parsed = (loads(self.body, self.caps), None)
            except LimitError as error:
                self._parsed = (None, error)
            except ValueError:  # not JSON, not UTF-8 (UnicodeDecodeError is a ValueError)
                self._parsed = (None, None)
        return self._parsed

    def excerpt(self) -> str:
        return self.body[:300].decode("utf-8", "replace")


class Target:
    """The author at ``url``; use as ``async with Target(...) as target``."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        rate: float = 5.0,
        timeout_s: float = 30.0,
        *,
        max_answer: int = MAX_ANSWER,
        max_download: int = MAX_DOWNLOAD,
        json_caps: JsonCaps | None = None,
    ):
        self.url = url.rstrip("/")
        self.max_answer, self.max_download = max_answer, max_download
        self.json_caps = json_caps or JsonCaps()
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
        into: IO[bytes] | None = None,
    ) -> Answer:
        """One request, in its turn, its answer read whole: into memory, or into the file ``into``
        (then :attr:`Answer.body` holds its first bytes). :class:`SetupError` when no whole answer
        comes, :class:`TooLarge` when it is over its cap."""
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
                content, size = await self._read(r, shown, into)
                return Answer(r.status, content, r.content_type, shown, curl, size, self.json_caps)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise SetupError(
                f"{shown}: no whole answer came ({type(error).__name__}: {error}): verify could not read it"
            ) from None

    async def _read(self, r: aiohttp.ClientResponse, shown: str, into: IO[bytes] | None) -> tuple[bytes, int]:
        """The whole body, part after part as they come, up to the cap (checked against a declared
        length first, then counted): into memory, or into ``into`` keeping the first bytes."""
        cap = self.max_answer if into is None else self.max_download
        if r.content_length is not None and r.content_length > cap:
            declared = r.content_length
            raise TooLarge(f"{shown}: the answer declares {declared} bytes; verify reads {cap} at most")
        kept, size = bytearray(), 0
        async for part in r.content.iter_chunked(_CHUNK):
            if (size := size + len(part)) > cap:
                raise TooLarge(f"{shown}: the answer goes on past {cap} bytes; verify reads {cap} at most")
            if into is not None:
                into.write(part)
            if into is None or len(kept) < _KEPT:
                kept += part if into is None else part[: _KEPT - len(kept)]
        return bytes(kept), size
