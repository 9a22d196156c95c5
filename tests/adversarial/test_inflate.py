"""Compressed request bodies: decoded in a worker thread, never past ``max_body_bytes``.

The pure decoder first, then the server over a real socket: a gzip bomb is a 413 while another
client is answered, and nothing is inflated on the event loop or past the cap.
"""

from __future__ import annotations

import gzip
import http.client
import importlib.util
import json
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mock_server import MockServer, create_app
from mock_server.core import compression
from mock_server.http.inflate import MAX_MEMBERS, BodyTooLarge, BodyUnreadable, inflate
from tests.support.constants import BASE

START = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()
MIB = 1 << 20


def decodes(coding: str) -> bool:
    """Whether this server has the library to decode ``coding`` (br and zstd are optional)."""
    try:
        inflate(b"\0", coding, 10)
    except BodyUnreadable as error:
        return "cannot decode" not in error.reason
    return True


HAS = {coding: decodes(coding) for coding in ("br", "zstd")}


def spy_on_zlib(monkeypatch: pytest.MonkeyPatch, decompress: Callable[[Any, Any, int], bytes]) -> None:
    """Every ``decompress`` of the mock's inflater (:mod:`mock_server.core.compression`) goes
    through ``decompress(decoder, data, max_length)``; zlib is left alone for everyone else
    (aiohttp included)."""
    real = zlib.decompressobj

    class Decoder:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._decoder = real(*args, **kwargs)

        def decompress(self, data: Any, max_length: int = 0) -> bytes:
            return decompress(self._decoder, data, max_length)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._decoder, name)

    class Zlib:
        decompressobj = Decoder

        def __getattr__(self, name: str) -> Any:
            return getattr(zlib, name)

    monkeypatch.setattr(compression, "zlib", Zlib())


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

    def counted(decoder: Any, data: Any, max_length: int) -> bytes:
        part: bytes = decoder.decompress(data, max_length)
        made.append(len(part))
        return part

    coding = "gzip" if wbits == 31 else "deflate"
    data = bomb(64 * MIB, wbits)
    with pytest.MonkeyPatch.context() as patch:
        spy_on_zlib(patch, counted)
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
        ("br", START, "not br" if HAS["br"] else "cannot decode br"),
        ("zstd", START, "not zstd" if HAS["zstd"] else "cannot decode zstd"),
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
    """A mock that inflates request bodies (``inflate_request_bodies``: off by default, §3.36)."""
    with MockServer(overrides={"inflate_request_bodies": True}) as running:
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

    def watched(decoder: Any, data: Any, max_length: int) -> bytes:
        inflated_on.append(threading.current_thread().name)
        part: bytes = decoder.decompress(data, max_length)
        made.append(len(part))
        return part

    spy_on_zlib(monkeypatch, watched)
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


async def test_the_app_gets_the_raw_bytes_even_from_a_runner_asked_to_inflate(aiohttp_client: Any) -> None:
    """The app's handler arguments win over its runner's: a runner told to decompress still hands
    over the raw bytes, which the mock inflates once, off the loop, within its cap."""
    app = create_app(overrides={"inflate_request_bodies": True})
    client = await aiohttp_client(app, server_kwargs={"auto_decompress": True})
    headers = {"Authorization": "Basic YWRtaW46YWRtaW4=", "Content-Type": "application/json",
               "Content-Encoding": "gzip"}  # fmt: skip
    async with client.post(BASE, data=gzip.compress(START, mtime=0), headers=headers) as answer:
        assert answer.status == 200, await answer.text()
    async with client.post(BASE, data=bomb(64 * MIB), headers=headers) as answer:
        assert answer.status == 413 and answer.headers["Connection"] == "close"


# --- br and zstd ------------------------------------------------------------------------------------


def compressed(coding: str, data: bytes) -> bytes:
    """``data`` in ``coding``; the test is skipped where this server cannot decode it."""
    if not HAS[coding]:
        pytest.skip(f"no library to decode {coding}")
    if coding == "br":
        return bytes(pytest.importorskip("brotli").compress(data))
    zstd = "compression.zstd" if importlib.util.find_spec("compression") else "backports.zstd"
    return bytes(pytest.importorskip(zstd).compress(data))


@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_br_and_zstd_are_decoded_and_refused_cut_as_gzip_is(coding: str) -> None:
    data = compressed(coding, START * 50)
    assert inflate(data, coding, MIB) == START * 50
    for cut in (data[:-3], data[: len(data) // 2]):
        with pytest.raises(BodyUnreadable) as refused:
            inflate(cut, coding, MIB)
        assert (
            refused.value.encoding == coding
            and "ends before its compressed stream does" in refused.value.reason
        )
    with pytest.raises(BodyUnreadable):
        inflate(data + b"garbage", coding, MIB)
    bomb = compressed(coding, b"\0" * 64 * MIB)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge) as bombed:
            inflate(bomb, coding, MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert bombed.value.inflated and bombed.value.limit == MIB
    assert peak < 3 * MIB  # inflated no further than about the cap, not to 64 MiB


def test_zstd_frames_one_after_another_are_one_body() -> None:
    frames = compressed("zstd", START[:10]) + compressed("zstd", START[10:])
    assert inflate(frames, "zstd", MIB) == START
    with pytest.raises(BodyUnreadable, match="concatenated frames"):
        inflate(compressed("zstd", b"{}") * (MAX_MEMBERS + 1), "zstd", MIB)
