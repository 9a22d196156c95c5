"""Compressed request bodies: decoded in a worker thread, never past ``max_body_bytes``.

The pure decoder first, then the server over a real socket: a gzip bomb is a 413 while another
client is answered, and nothing is inflated on the event loop or past the cap.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import MockServer, create_app
from mock_server.http.inflate import MAX_MEMBERS, BodyTooLarge, BodyUnreadable, inflate

BASE = "/bin/guides/v1/assets/process"
START = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()
MIB = 1 << 20


def bomb(inflated: int, wbits: int = 31) -> bytes:
    """Zeros, compressed about 1,000 to 1 (gzip by default)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * MIB
    return b"".join([*(compressor.compress(block) for _ in range(inflated // MIB)), compressor.flush()])


# --- the decoder ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        ("gzip", gzip.compress(START, mtime=0)),
        (
            "gzip",
            gzip.compress(START[:10], mtime=0) + gzip.compress(START[10:], mtime=0),
        ),  # concatenated members
        ("deflate", zlib.compress(START)),  # RFC 1950, as the header says
        ("deflate", zlib.compress(START)[2:-4]),  # raw deflate, as some clients send it
    ],
    ids=["gzip", "gzip members", "deflate", "raw deflate"],
)
def test_a_body_is_decoded_as_its_coding_says(coding: str, data: bytes) -> None:
    assert inflate(data, coding, 1000) == START
    assert inflate(b"", coding, 1000) == b""


@pytest.mark.parametrize("wbits", [31, 15, -15])
def test_a_bomb_stops_one_byte_past_the_cap(wbits: int) -> None:
    made: list[int] = []
    real = zlib.decompressobj

    class Counted:
        def __init__(self, *args: Any) -> None:
            self._decoder = real(*args)

        def decompress(self, data: Any, max_length: int = 0) -> bytes:
            part = self._decoder.decompress(data, max_length)
            made.append(len(part))
            return part

        def __getattr__(self, name: str) -> Any:
            return getattr(self._decoder, name)

    coding = "gzip" if wbits == 31 else "deflate"
    data = bomb(64 * MIB, wbits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zlib, "decompressobj", Counted)
        with pytest.raises(BodyTooLarge) as refused:
            inflate(data, coding, MIB)
    assert refused.value.inflated and refused.value.limit == MIB
    assert sum(made) == MIB + 1  # not 64 MiB


@pytest.mark.parametrize(
    ("coding", "data", "reason"),
    [
        ("gzip", gzip.compress(START, mtime=0)[:-6], "ends before its compressed stream does"),
        ("deflate", zlib.compress(START)[:-3], "ends before its compressed stream does"),
        ("gzip", gzip.compress(START, mtime=0) + b"garbage", "not gzip data"),
        ("gzip", START, "not gzip data"),
        (
            "gzip",
            gzip.compress(b"{}", mtime=0) * (MAX_MEMBERS + 1),
            f"more than {MAX_MEMBERS} concatenated members",
        ),
        ("br", START, "cannot decode br"),
        ("zstd", START, "cannot decode zstd"),
    ],
    ids=["gzip cut", "deflate cut", "gzip then garbage", "not gzip", "too many members", "br", "zstd"],
)
def test_a_body_that_is_not_its_coding_is_unreadable(coding: str, data: bytes, reason: str) -> None:
    with pytest.raises(BodyUnreadable) as refused:
        inflate(data, coding, MIB)
    assert refused.value.encoding == coding and reason in refused.value.reason


# --- over a socket ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


def address(server: MockServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def post(server: MockServer, data: bytes, coding: str) -> tuple[int, Any, bool]:
    """POST a start request body; its status, its JSON and whether the server closes the connection."""
    connection = http.client.HTTPConnection(*address(server), timeout=30)
    try:
        headers = {**server.headers, "Content-Type": "application/json", "Content-Encoding": coding}
        connection.request("POST", BASE, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.will_close
    finally:
        connection.close()


def test_a_gzip_bomb_is_a_413_and_another_client_is_served_meanwhile(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four 1 GB bombs, one after another, while another client polls: each is refused when its
    inflated bytes pass the cap, in a worker thread, and the poller is answered in between."""
    inflated_on: list[str] = []
    made: list[int] = []
    real = zlib.decompressobj

    class Watched:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._decoder = real(*args, **kwargs)

        def decompress(self, data: Any, max_length: int = 0) -> bytes:
            inflated_on.append(threading.current_thread().name)
            part = self._decoder.decompress(data, max_length)
            made.append(len(part))
            return part

        def __getattr__(self, name: str) -> Any:
            return getattr(self._decoder, name)

    monkeypatch.setattr(zlib, "decompressobj", Watched)  # aiohttp's inflater calls it too
    data = bomb(1024 * MIB)
    assert len(data) < MIB
    answers: list[tuple[int, Any, bool]] = []

    def bombard() -> None:
        for _ in range(4):
            answers.append(post(server, data, "gzip"))

    bomber = threading.Thread(target=bombard)
    bomber.start()
    answered_meanwhile = 0
    while bomber.is_alive():
        connection = http.client.HTTPConnection(*address(server), timeout=30)
        connection.request("GET", f"{BASE}/history", headers=server.headers)
        assert connection.getresponse().status == 200
        connection.close()
        answered_meanwhile += bomber.is_alive()
    bomber.join()
    for status, body, closed in answers:
        assert status == 413 and closed, body
        assert "max_body_bytes" in body["message"] and body["violations"][0]["where"] == "body:/"
    assert answered_meanwhile >= 3
    assert sum(made) <= 4 * (MIB + 1)  # not 4 GiB: inflated no further than the cap
    assert inflated_on and "aem-guides-mock" not in inflated_on  # never on the event loop's thread
    status, _, closed = post(server, gzip.compress(START, mtime=0), "gzip")
    assert status == 200 and not closed
    server.reset()


def test_a_body_not_in_its_coding_is_a_400_that_names_the_header(server: MockServer) -> None:
    for coding in ("gzip", "deflate", "br"):
        status, body, closed = post(server, START, coding)
        assert status == 400 and closed
        assert body["violations"][0]["where"] == "header:Content-Encoding"
        assert f"Content-Encoding: {coding}" in body["message"]
    status, body, _ = post(server, b"", "gzip")  # an empty body is no body, whatever its coding
    assert status == 400 and "needs a JSON body" in body["message"]


async def test_an_app_served_without_its_handler_args_reads_what_aiohttp_inflated(
    aiohttp_client: Any,
) -> None:
    """The app asks aiohttp not to decompress; served without that (a runner of one's own),
    aiohttp's reader inflates and the body is read as it comes, not decoded twice."""
    app = create_app()
    app._handler_args = None  # as if the app were served without its handler arguments
    client = await aiohttp_client(app)
    headers = {"Authorization": "Basic YWRtaW46YWRtaW4=", "Content-Type": "application/json",
               "Content-Encoding": "gzip"}  # fmt: skip
    async with client.post(BASE, data=gzip.compress(START, mtime=0), headers=headers) as answer:
        assert answer.status == 200, await answer.text()
    async with client.post(BASE, data=bomb(64 * MIB), headers=headers) as answer:
        assert answer.status == 413 and answer.headers["Connection"] == "close"  # aiohttp inflates no more
