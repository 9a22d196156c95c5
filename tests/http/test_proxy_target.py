"""The proxy talks to its upstream and nowhere else, however the request target is spelled.

Every spelling goes over a raw socket (a client library would normalize it) with the client's
``Authorization``, to a proxy whose upstream is a real server; a canary, a real listening socket,
stands where a steered request would go and must never be contacted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
from collections.abc import AsyncIterator

import pytest
from yarl import URL

from mock_server.http.proxy_relay import upstream_url
from tests.support.client import MakeServer
from tests.support.proxy import Canary, FakeAuthor, json_of, proxy_on_socket, raw_exchange, status_of

CREDENTIALS = "Basic " + base64.b64encode(b"client:s3cret").decode()
HISTORY = "/bin/guides/v1/assets/process/history"

#: (request line with ``{canary}`` for the canary's host:port, the path the upstream gets or None
#: for a refusal, the status the client gets).
SPELLINGS = [
    ("GET http://{canary}/x HTTP/1.1", None, 400),  # absolute form, with a port
    ("GET http://localhost/x HTTP/1.1", None, 400),  # absolute form, without one
    ("GET m://{canary}/x HTTP/1.1", None, 400),  # any scheme is absolute form
    ("GET http://user:pw@{canary}/x HTTP/1.1", None, 400),  # @ in the target
    ("GET http://{upstream}@{canary}/x HTTP/1.1", None, 400),  # the upstream as a user part
    ("GET http://{canary}/__admin/journal HTTP/1.1", None, 400),  # the admin API too
    ("POST http://{canary}" + HISTORY + " HTTP/1.1", None, 400),
    ("CONNECT {canary} HTTP/1.1", None, 400),
    ("OPTIONS * HTTP/1.1", None, 400),
    ("GET @{canary}/x HTTP/1.1", None, 400),  # aiohttp's parser refuses it
    ("GET //{canary}/x HTTP/1.1", "//{canary}/x", 200),  # a path with an empty segment, on the upstream
    ("GET /\\{canary}/x HTTP/1.1", "/\\{canary}/x", 200),
    ("GET /%2F%2F{canary}/x HTTP/1.1", "/%2F%2F{canary}/x", 200),
    ("GET /@{canary}/x HTTP/1.1", "/@{canary}/x", 200),
    ("GET /x?next=http://{canary}/ HTTP/1.1", "/x?next=http://{canary}/", 200),
    ("GET " + HISTORY + "#http://{canary}/ HTTP/1.1", HISTORY, 200),
]


@pytest.fixture
async def author(aiohttp_server: MakeServer) -> tuple[FakeAuthor, str]:
    fake = FakeAuthor({})
    server = await aiohttp_server(fake.app())
    return fake, f"127.0.0.1:{server.port}"


@pytest.mark.parametrize(("line", "forwarded", "status"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
async def test_no_target_reaches_another_host_than_the_upstream(
    author: tuple[FakeAuthor, str], line: str, forwarded: str | None, status: int
) -> None:
    fake, upstream = author
    async with Canary() as canary, proxy_on_socket(f"http://{upstream}") as (url, proxy):
        line = line.format(canary=canary.authority, upstream=upstream)
        headers = f"Host: {canary.authority}\r\nAuthorization: {CREDENTIALS}\r\nConnection: close\r\n"
        body = "Content-Length: 2\r\n\r\n{}" if line.startswith("POST") else "\r\n"
        answer = await raw_exchange(url, f"{line}\r\n{headers}{body}".encode())
        assert status_of(answer) == status, answer[:300]
        if forwarded is None:
            assert fake.seen == []
        else:
            [(_, path, seen_headers, _)] = fake.seen
            assert path == forwarded.format(canary=canary.authority)
            assert seen_headers["Host"] == upstream and seen_headers["Authorization"] == CREDENTIALS
        if status == 400 and b"application/json" in answer:  # the proxy's refusal, not aiohttp's parser's
            refusal = json_of(answer)
            assert (
                refusal["error"] == "Bad Request" and f"upstream http://{upstream} only" in refusal["message"]
            )
            assert canary.authority not in refusal["message"] and "s3cret" not in refusal["message"]
            [journaled] = list(proxy.journal)
            assert journaled.status == 400 and journaled.request_violations[0].where in ("target", "method")
        await asyncio.sleep(0)  # a connection the proxy had begun would be accepted by now
    assert canary.contacts == []


@contextlib.asynccontextmanager
async def canary_at_port_80() -> AsyncIterator[Canary]:
    try:
        async with Canary("127.0.0.1", 80) as canary:
            yield canary
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
            raise
        pytest.skip(f"port 80 cannot be bound here ({error.strerror}): the upstream without a port needs it")


async def test_an_upstream_without_a_port_is_not_extended_by_the_target() -> None:
    """``--upstream http://localhos`` and ``GET t://x/ HTTP/1.1`` once made ``http://localhost://x/``:
    the target extended the upstream's host name to another host (port 80 by default)."""
    request = f"GET t://x/ HTTP/1.1\r\nHost: x\r\nAuthorization: {CREDENTIALS}\r\nConnection: close\r\n\r\n"
    async with canary_at_port_80() as canary, proxy_on_socket("http://localhos") as (url, _):
        answer = await raw_exchange(url, request.encode())
        await asyncio.sleep(0)  # a connection the proxy had begun would be accepted by now
        assert canary.contacts == []
    assert status_of(answer) == 400 and "absolute form" in json_of(answer)["message"]


@pytest.mark.parametrize(
    "upstream",
    ["http://aem.corp.co", "http://aem.corp.co:4502", "https://[::1]:8443/base/", "http://a.b/base"],
)
@pytest.mark.parametrize(
    "target", ["/x?a=1", "//evil.example/x", "/\\evil.example", "/%2F%2Fevil.example", "/@evil.example:1/",
               "/x?u=http://evil.example/", "/x#@evil.example"],
)  # fmt: skip
def test_the_upstream_url_is_the_upstreams_origin_and_the_targets_path_and_query(
    upstream: str, target: str
) -> None:
    base = URL(upstream)
    url = upstream_url(base, target)
    assert url.origin() == base.origin()
    path, _, query = target.partition("#")[0].partition("?")
    assert url.raw_path == base.raw_path.rstrip("/") + path and url.raw_query_string == query


@pytest.mark.parametrize("target", ["m://evil.example/x", "t://x/", "http://evil.example:1/", "*"])
def test_a_target_that_is_not_a_path_is_never_joined_to_the_upstream(target: str) -> None:
    with pytest.raises(ValueError, match="is not a path"):
        upstream_url(URL("http://aem.corp.co"), target)
