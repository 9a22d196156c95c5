"""The proxy held to the mock's bounds, over real sockets: a body's time and size, compressed bodies,
the bytes kept in memory, and answers cut short by either side, each answered or journaled, never
logged with a traceback. How fast and how small is measured by ``bench/bench_proxy.py``."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mock_server.api.operations import BASE_PATH
from mock_server.core.journal import Exchange
from mock_server.http import inflate
from mock_server.http import proxy as proxy_module
from mock_server.http.proxy import PROXY, proxy_app
from mock_server.http.proxy_checks import check_answer, check_request
from mock_server.recording.tape import Recorder
from tests.support.client import MakeServer
from tests.support.proxy import FakeAuthor, json_of, open_raw, proxy_on_socket, raw_exchange, status_of, until

START = json.dumps({"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}).encode()
DOWNLOAD = f"{BASE_PATH}/logs/download"


def post_head(length: int | None, *extra: str) -> bytes:
    """The head of a start request; chunked when ``length`` is None."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    lines = [f"POST {BASE_PATH} HTTP/1.1", "Host: proxy", "Content-Type: application/json", framing, *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test throws at the proxy, nothing is logged as an error (no traceback)."""
    caplog.set_level(logging.INFO)
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    errors = [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]


@pytest.fixture
async def author(aiohttp_server: MakeServer) -> tuple[FakeAuthor, str]:
    fake = FakeAuthor({})
    server = await aiohttp_server(fake.app())
    return fake, f"http://127.0.0.1:{server.port}"


async def closed(reader: asyncio.StreamReader) -> bytes:
    """All the proxy sends until it closes the connection (a test fails if it does not, in time)."""
    return await asyncio.wait_for(reader.read(), 2.0)


def only(journal: object) -> Exchange:
    [exchange] = list(journal)  # type: ignore[call-overload]
    assert isinstance(exchange, Exchange)
    return exchange


# --- the request body: in time, within its size, inflated within its size -------------------------------


async def test_a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_is_closed(
    author: tuple[FakeAuthor, str],
) -> None:
    fake, upstream = author
    async with proxy_on_socket(upstream, body_timeout=0.3) as (url, proxy):
        reader, writer = await open_raw(url)
        writer.write(post_head(len(START)) + START[:10])  # and the rest never
        answer = await closed(reader)
        writer.close()
    assert status_of(answer) == 408 and b"Connection: close" in answer
    assert "did not arrive whole within 0.3 s (body_timeout); 10 bytes came" in json_of(answer)["message"]
    assert fake.seen == []
    journaled = only(proxy.journal)
    assert journaled.status == 408 and journaled.warnings[0].where == "body:/"


async def test_a_body_over_the_cap_is_refused_from_its_content_length_before_a_byte_is_read(
    author: tuple[FakeAuthor, str],
) -> None:
    fake, upstream = author
    async with proxy_on_socket(upstream, max_body_bytes=1000) as (url, proxy):
        answer = await raw_exchange(url, post_head(16 * 1024 * 1024))  # says 16 MiB, sends none of it
    assert status_of(answer) == 413 and b"Connection: close" in answer
    refusal = json_of(answer)
    assert "larger than 1000 bytes (max_body_bytes; its Content-Length says 16777216" in refusal["message"]
    assert refusal["violations"][0]["where"] == "body:/" and fake.seen == []
    assert only(proxy.journal).request_violations[0].got == 16 * 1024 * 1024


async def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_cap(author: tuple[FakeAuthor, str]) -> None:
    fake, upstream = author
    async with proxy_on_socket(upstream, max_body_bytes=1000) as (url, proxy):
        reader, writer = await open_raw(url)
        writer.write(post_head(None) + b"7d0\r\n" + b"x" * 2000 + b"\r\n")  # and no last chunk, ever
        answer = await closed(reader)
        writer.close()
    assert status_of(answer) == 413 and "more came" in json_of(answer)["message"]
    assert fake.seen == [] and proxy.budget.used == 0


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_is_a_413_and_the_connection_closed(
    author: tuple[FakeAuthor, str], encoding: str
) -> None:
    """16 MiB of zeros in 16 KiB: read raw, inflated off the loop and refused once 1 MiB is made; the
    proxy closes the connection at once (the client keeps its end open)."""
    fake, upstream = author
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    bomb = packer.compress(bytes(16 * 1024 * 1024)) + packer.flush()
    async with proxy_on_socket(upstream) as (url, proxy):
        reader, writer = await open_raw(url)
        writer.write(post_head(len(bomb), f"Content-Encoding: {encoding}") + bomb)
        answer = await closed(reader)
        writer.close()
    assert status_of(answer) == 413 and b"Connection: close" in answer
    assert "larger than 1048576 bytes (max_body_bytes; it inflates to more" in json_of(answer)["message"]
    assert fake.seen == [] and proxy.budget.used == proxy.request_budget.used == 0


async def test_a_compressed_body_that_never_ends_is_cut_off_and_its_rest_never_read(
    author: tuple[FakeAuthor, str],
) -> None:
    """A chunked deflate stream of zeros sent without end: refused once its raw bytes pass what
    could inflate to the cap, the connection closed; a proxy that reads on never answers."""
    fake, upstream = author
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    endless = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(8))  # and no last chunk
    async with proxy_on_socket(upstream, max_body_bytes=1000) as (url, proxy):
        reader, writer = await open_raw(url)
        writer.write(post_head(None, "Content-Encoding: deflate") + endless)
        answer = await closed(reader)
        writer.close()
    assert status_of(answer) == 413 and "more came" in json_of(answer)["message"]
    assert fake.seen == [] and proxy.request_budget.used == 0


async def test_a_compressed_body_within_the_cap_goes_on_inflated(author: tuple[FakeAuthor, str]) -> None:
    fake, upstream = author
    async with proxy_on_socket(upstream) as (url, _):
        zipped = gzip.compress(START)
        answer = await raw_exchange(
            url, post_head(len(zipped), "Content-Encoding: gzip", "Connection: close") + zipped
        )
    assert status_of(answer) == 200 and fake.seen[0][3] == START


async def test_a_compressed_body_is_inflated_by_the_mocks_reader_off_the_loop(
    author: tuple[FakeAuthor, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One way to read a body: the proxy's app takes the mock's handler arguments (aiohttp inflates
    nothing) and :func:`~mock_server.http.inflate.read_body` inflates in a worker thread."""
    fake, upstream = author
    inflated_on: list[str] = []
    inflating = inflate.inflate

    def spy(data: bytes, coding: str, limit: int) -> bytes:
        inflated_on.append(threading.current_thread().name)
        return inflating(data, coding, limit)

    monkeypatch.setattr(inflate, "inflate", spy)
    zipped = gzip.compress(START)
    async with proxy_on_socket(upstream) as (url, _):
        head = post_head(len(zipped), "Content-Encoding: gzip", "Connection: close")
        assert status_of(await raw_exchange(url, head + zipped)) == 200
    assert fake.seen[0][3] == START and len(inflated_on) == 1
    assert inflated_on[0] != threading.current_thread().name  # not the loop's


async def test_an_admin_request_with_a_body_is_answered_and_the_body_never_read(
    author: tuple[FakeAuthor, str],
) -> None:
    _, upstream = author
    async with proxy_on_socket(upstream) as (url, _):
        reader, writer = await open_raw(url)
        head = "GET /__admin/journal HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n"
        writer.write(head.encode() + b"x" * 1000)
        answer = await closed(reader)
        writer.close()
    assert status_of(answer) == 200 and b"Connection: close" in answer


# --- the bytes kept in memory ---------------------------------------------------------------------------


class Streaming:
    """An upstream whose download sends ``size`` bytes of JSON: the first ``first`` at once, the rest
    once the gate of its answer (numbered in the order they began) is open."""

    def __init__(self, size: int, first: int) -> None:
        self.size, self.first = size, first
        self.started = 0
        self._gates: dict[int, asyncio.Event] = {}

    def gate(self, number: int) -> asyncio.Event:
        return self._gates.setdefault(number, asyncio.Event())

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(DOWNLOAD, self.download)
        app.router.add_post(BASE_PATH, self.start)
        return app

    async def start(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"processingId": "p-1"})

    async def download(self, request: web.Request) -> web.StreamResponse:
        body = b'{"x": "' + b"a" * (self.size - 9) + b'"}'
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: self.first])
        number, self.started = self.started, self.started + 1
        await self.gate(number).wait()
        await response.write(body[self.first :])
        return response


async def test_the_answers_kept_share_one_budget_and_past_it_are_kept_truncated(
    aiohttp_server: MakeServer, tmp_path: Path
) -> None:
    upstream = Streaming(300_000, first=80_000)
    base = f"http://127.0.0.1:{(await aiohttp_server(upstream.app())).port}"
    recorder = Recorder(tmp_path / "tape", base)
    async with proxy_on_socket(base, max_kept_bytes=100_000, max_body_bytes=1000, recorder=recorder) as (
        url,
        proxy,
    ):
        target = f"GET {DOWNLOAD}?processingId=p-1 HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n"
        first = asyncio.create_task(raw_exchange(url, target.encode()))
        await until(lambda: upstream.started == 1 and proxy.budget.used == 80_000, "the first answer begun")
        second = asyncio.create_task(raw_exchange(url, target.encode()))
        await until(lambda: upstream.started == 2 and proxy.budget.used == 100_000, "the second begun")
        upstream.gate(0).set()  # the first ends and gives its 80,000 back...
        await until(lambda: proxy.budget.used == 20_000, "the first answer's bytes given back")
        upstream.gate(1).set()  # ...which the second, kept truncated already, must not take: no gaps
        answers = await asyncio.gather(first, second)
        assert proxy.budget.used == 0
    recorder.close()
    for answer in answers:  # the clients get every byte
        assert status_of(answer) == 200 and len(answer.partition(b"\r\n\r\n")[2]) == 300_000
    notes = sorted(e.response_violations[0].message for e in proxy.journal)
    assert "the proxy kept 20000 of its 300000 bytes" in notes[0]  # what the first left over
    assert "the proxy kept 80000 of its 300000 bytes" in notes[1]
    taped = [json.loads(line) for line in (tmp_path / "tape" / "tape.jsonl").read_text().splitlines()[1:]]
    assert [line["response"]["body"] for line in taped] == [None, None]
    assert all("larger than the recorder keeps" in line["response"]["note"] for line in taped)


async def test_answers_kept_never_refuse_a_request_body(aiohttp_server: MakeServer) -> None:
    """A download in flight holds every byte the proxy keeps of answers: a start request goes on all
    the same (it was a 503: the answers and the request bodies shared one budget)."""
    upstream = Streaming(300_000, first=100_000)
    base = f"http://127.0.0.1:{(await aiohttp_server(upstream.app())).port}"
    async with proxy_on_socket(base, max_kept_bytes=100_000, max_body_bytes=1000) as (url, proxy):
        download = f"GET {DOWNLOAD}?processingId=p-1 HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n"
        downloading = asyncio.create_task(raw_exchange(url, download.encode()))
        await until(lambda: proxy.budget.used == proxy.budget.total, "the answers' budget spent")
        answer = await raw_exchange(url, post_head(len(START), "Connection: close") + START)
        assert status_of(answer) == 200 and json_of(answer) == {"processingId": "p-1"}
        upstream.gate(0).set()
        assert status_of(await downloading) == 200


class HeldStarts:
    """An author that holds every start request of ``held`` bytes or more until :attr:`gate` opens,
    and answers the others at once."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.holding = 0
        self.gate = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(BASE_PATH, self.start)
        return app

    async def start(self, request: web.Request) -> web.Response:
        if len(await request.read()) >= self.held:
            self.holding += 1
            await self.gate.wait()
        return web.json_response({"processingId": "p-1"})


def start_of(size: int) -> bytes:
    """A start request whose JSON body takes ``size`` bytes (padded with spaces)."""
    return post_head(size, "Connection: close") + START.ljust(size)


async def test_a_request_body_reserves_its_length_and_waits_for_room_when_uploads_hold_it(
    aiohttp_server: MakeServer,
) -> None:
    """With 1000 bytes for request bodies and 900 held by an exchange in flight, a 56-byte start goes
    on at once (a body reserves its length, not the cap); a 200-byte one waits until the 900 are
    given back, then goes on."""
    author = HeldStarts(900)
    base = f"http://127.0.0.1:{(await aiohttp_server(author.app())).port}"
    async with proxy_on_socket(base, max_kept_bytes=1000, max_body_bytes=1000) as (url, proxy):
        holder = asyncio.create_task(raw_exchange(url, start_of(900)))
        await until(lambda: author.holding == 1, "the 900 bytes held upstream")
        assert proxy.request_budget.used == 900
        assert status_of(await raw_exchange(url, start_of(len(START)))) == 200
        waiter = asyncio.create_task(raw_exchange(url, start_of(200)))
        await until(lambda: proxy.request_budget.waiting == 1, "the 200 bytes waiting for room")
        author.gate.set()
        assert [status_of(answer) for answer in await asyncio.gather(holder, waiter)] == [200, 200]
    assert proxy.request_budget.used == 0 and len(proxy.journal) == 3


async def test_a_request_body_that_finds_no_room_within_the_body_timeout_is_a_503(
    aiohttp_server: MakeServer,
) -> None:
    author = HeldStarts(1000)
    base = f"http://127.0.0.1:{(await aiohttp_server(author.app())).port}"
    async with proxy_on_socket(base, max_kept_bytes=1000, max_body_bytes=1000, body_timeout=0.3) as (
        url,
        proxy,
    ):
        holder = asyncio.create_task(raw_exchange(url, start_of(1000)))
        await until(lambda: author.holding == 1, "the whole budget held upstream")
        answer = await raw_exchange(url, start_of(len(START)))
        author.gate.set()
        assert status_of(await holder) == 200
    assert status_of(answer) == 503 and b"Retry-After: 1" in answer and b"Connection: close" in answer
    assert "no room for the request body within 0.3 s" in json_of(answer)["message"]
    refused = next(e for e in proxy.journal if e.status == 503)
    assert refused.warnings[0].where == "body:/" and proxy.request_budget.used == 0


async def test_uploads_that_each_wait_for_more_than_is_left_do_not_all_wait_for_the_timeout(
    author: tuple[FakeAuthor, str],
) -> None:
    """Two chunked uploads hold 600 and 300 of the 1000 bytes and each wants 200 more: nothing would
    ever come back, so the one holding the most is refused at once, and the other goes on."""
    fake, upstream = author

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    async with proxy_on_socket(upstream, max_kept_bytes=1000, max_body_bytes=1000) as (url, proxy):
        (big_reader, big), (small_reader, small) = await open_raw(url), await open_raw(url)
        big.write(post_head(None) + chunk(b" " * 600))
        await until(lambda: proxy.request_budget.used == 600, "600 bytes read")
        small.write(post_head(None, "Connection: close") + chunk(START.ljust(300)))
        await until(lambda: proxy.request_budget.used == 900, "900 bytes read")
        big.write(chunk(b" " * 200))
        await until(lambda: proxy.request_budget.waiting == 1, "the big one waiting")
        small.write(chunk(b" " * 200))  # now each waits on the other
        refused = await closed(big_reader)
        small.write(b"0\r\n\r\n")
        answered = await closed(small_reader)
        big.close()
        small.close()
    assert status_of(refused) == 503 and "holds the most (600 bytes)" in json_of(refused)["message"]
    assert status_of(answered) == 200 and fake.seen[0][3] == START.ljust(300) + b" " * 200
    assert proxy.request_budget.used == 0


# --- answers cut short ----------------------------------------------------------------------------------


async def test_a_client_that_goes_away_mid_answer_is_journaled_and_nothing_is_taped(
    aiohttp_server: MakeServer, tmp_path: Path
) -> None:
    upstream = Streaming(1_000_000, first=100_000)
    base = f"http://127.0.0.1:{(await aiohttp_server(upstream.app())).port}"
    recorder = Recorder(tmp_path / "tape", base)
    async with proxy_on_socket(base, recorder=recorder) as (url, proxy):
        reader, writer = await open_raw(url)
        writer.write(f"GET {DOWNLOAD}?processingId=p-1 HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
        await reader.readexactly(1000)  # the answer has begun
        writer.transport.abort()  # and the client is gone
        await until(lambda: upstream.started == 1, "the upstream's answer begun")
        upstream.gate(0).set()
        await until(lambda: len(proxy.journal) == 1, "the exchange journaled")
    assert recorder.close().exchanges == 0  # the tape holds whole exchanges only
    journaled = only(proxy.journal)
    assert journaled.status == 200 and journaled.response_violations == ()
    [left] = journaled.warnings
    assert left.where == "connection" and left.message.startswith("the client went away after ")
    assert 100_000 <= left.got < 1_000_000


async def test_a_client_that_stops_reading_is_cut_off_at_the_timeout(aiohttp_server: MakeServer) -> None:
    big = b"[" + b"0," * 16_000_000 + b"0]"  # more than the sockets' buffers hold

    async def download(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="application/json")

    app = web.Application()
    app.router.add_get(DOWNLOAD, download)
    base = f"http://127.0.0.1:{(await aiohttp_server(app)).port}"
    # 2 s, not less: the whole exchange must fit in it, and on a loaded machine the upstream's first
    # bytes alone can take half a second; a shorter limit would time the upstream out instead.
    async with proxy_on_socket(base, timeout=2) as (url, proxy):
        _, writer = await open_raw(url)  # and nothing read from it
        writer.write(f"GET {DOWNLOAD}?processingId=p-1 HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
        await until(lambda: len(proxy.journal) == 1, "the exchange journaled")
        writer.close()
    exchange = only(proxy.journal)
    assert not exchange.response_violations, "the upstream was timed out, not the client"
    [left] = exchange.warnings
    assert left.message.startswith("the client read nothing for the rest of the 2 s")
    assert left.got < len(big)


async def test_an_upstream_that_breaks_off_mid_answer_cuts_the_clients_answer_short() -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        writer.write(b"[" + b"0," * 50)
        await writer.drain()
        writer.close()

    broken = await asyncio.start_server(half, "127.0.0.1", 0)
    upstream = f"http://127.0.0.1:{broken.sockets[0].getsockname()[1]}"
    async with broken, proxy_on_socket(upstream) as (url, proxy):
        answer = await raw_exchange(url, f"GET {BASE_PATH}/history HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
    assert status_of(answer) == 200 and b"Content-Length: 1000" in answer
    assert len(answer.partition(b"\r\n\r\n")[2]) == 101  # and then the connection closed: a cut-off answer
    [broke] = only(proxy.journal).response_violations
    assert broke.message.startswith("the answer broke off after 101 bytes")


# --- the event loop and the limits themselves -----------------------------------------------------------


async def _threads_checking(upstream: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads in which the proxy checked the answers to a history GET, then a logs GET."""
    checked_in: list[str] = []

    def spy(*args: Any) -> Any:
        checked_in.append(threading.current_thread().name)
        return check_answer(*args)

    monkeypatch.setattr(proxy_module, "check_answer", spy)
    async with proxy_on_socket(upstream) as (url, _):
        for target in (f"{BASE_PATH}/history", f"{BASE_PATH}/logs?processingId=p-1"):
            answer = await raw_exchange(
                url, f"GET {target} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n".encode()
            )
            assert status_of(answer) == 200
    return checked_in


async def test_a_large_answer_is_checked_in_the_worker_thread_a_small_one_on_the_loop(
    aiohttp_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = {"lines": ["x" * 100] * 1000, "offset": 0, "limit": 1000, "hasMore": False}  # about 100 KB
    fake = FakeAuthor({f"{BASE_PATH}/logs": (200, page)})
    upstream = f"http://127.0.0.1:{(await aiohttp_server(fake.app())).port}"
    checked_in = await _threads_checking(upstream, monkeypatch)
    assert checked_in[0] == threading.current_thread().name  # the loop's
    assert checked_in[1].startswith("aem-guides-mock-proxy")


async def test_a_compressed_answer_is_checked_in_the_worker_thread_by_the_size_it_inflates_to(
    aiohttp_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 KB of gzip that inflate to about 1 MiB of log lines are checked off the loop; a gzip answer
    that inflates to little is checked on it."""
    page = {"lines": ["x" * 1000] * 1000, "offset": 0, "limit": 1000, "hasMore": False}
    small = gzip.compress(json.dumps({"executionHistory": []}).encode())

    def gzipped(body: bytes) -> Callable[[web.Request], web.Response]:
        return lambda _: web.Response(body=body, content_type="application/json",
                                      headers={"Content-Encoding": "gzip"})  # fmt: skip

    big = gzip.compress(json.dumps(page).encode())
    assert len(big) < 64 * 1024 < len(json.dumps(page))
    answers = {f"{BASE_PATH}/logs": (200, gzipped(big)), f"{BASE_PATH}/history": (200, gzipped(small))}
    upstream = f"http://127.0.0.1:{(await aiohttp_server(FakeAuthor(answers).app())).port}"
    checked_in = await _threads_checking(upstream, monkeypatch)
    assert checked_in[0] == threading.current_thread().name  # the loop's
    assert checked_in[1].startswith("aem-guides-mock-proxy")


async def test_a_request_body_aiohttp_leaves_compressed_is_checked_in_the_worker_by_its_inflated_size(
    author: tuple[FakeAuthor, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``x-gzip`` is not inflated on the way (neither the mock nor aiohttp decodes it), but the check
    reads it inflated: 2 KB that inflate to 2 MB are checked off the loop."""
    fake, upstream = author
    checked_in: list[str] = []

    def spy(*args: Any) -> Any:
        checked_in.append(threading.current_thread().name)
        return check_request(*args)

    monkeypatch.setattr(proxy_module, "check_request", spy)
    body = gzip.compress(json.dumps({**json.loads(START), "pad": " " * 2_000_000}).encode())
    async with proxy_on_socket(upstream) as (url, _):
        answer = await raw_exchange(
            url, post_head(len(body), "Content-Encoding: x-gzip", "Connection: close") + body
        )
    assert status_of(answer) == 200 and fake.seen[0][3] == body  # forwarded as it came
    assert checked_in[0].startswith("aem-guides-mock-proxy")


@pytest.mark.parametrize(
    ("bound", "value"),
    [("timeout", 0), ("body_timeout", -1.0), ("body_timeout", float("nan")), ("stop_grace", -1.0),
     ("max_body_bytes", -1), ("max_kept_bytes", 0), ("max_kept_bytes", 1024 * 1024 - 1)],
)  # fmt: skip
def test_a_bad_bound_is_refused_by_name(bound: str, value: float) -> None:
    bounds: dict[str, Any] = {bound: value}
    with pytest.raises(ValueError, match=f"^{bound} must be"):
        proxy_app("http://127.0.0.1:4502", **bounds)


async def test_a_runner_that_cancels_the_handler_of_a_client_that_left_does_not_lose_the_exchange(
    aiohttp_server: MakeServer,
) -> None:
    """aiohttp's test server cancels a handler whose client goes away; the exchange goes on in its
    own task and is journaled all the same."""
    upstream = Streaming(1_000_000, first=100_000)
    base = f"http://127.0.0.1:{(await aiohttp_server(upstream.app())).port}"
    app = proxy_app(base)
    server = await aiohttp_server(app)  # handler_cancellation=True
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {DOWNLOAD}?processingId=p-1 HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
    await reader.readexactly(1000)
    writer.transport.abort()
    await until(lambda: upstream.started == 1, "the upstream's answer begun")
    upstream.gate(0).set()
    await until(lambda: len(app[PROXY].journal) == 1, "the exchange journaled")
    assert only(app[PROXY].journal).warnings[0].keyword == "clientLeft"
