"""A lean HTTP/1.1 keep-alive load generator: one GET in flight per connection, like ``wrk``.

Run it in its own process so that it does not share a core with the server under test::

    python bench/loadgen.py --port 4502 --path '/x?y=1' --header 'Authorization: Basic ...'

``--paths-file F`` (one request target a line) sends them in turn, across all connections, instead
of one ``--path``: polls spread over many sessions' jobs.

It prints one JSON object: requests completed in the measured window, requests/s, p50/p99 latency,
the status codes seen and any connection errors. It speaks raw asyncio protocols (no HTTP client
library) and frames responses by ``Content-Length`` only, which is all a bench target needs.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import ssl
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


@dataclass
class Tally:
    """What every connection adds to; responses before ``measure_from`` count only for statuses."""

    measure_from: float
    stop_at: float
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Connection(asyncio.Protocol):
    """One keep-alive connection that sends ``next_request()`` as soon as an answer is complete."""

    def __init__(self, next_request: Callable[[], bytes], tally: Tally, done: asyncio.Future[None]) -> None:
        self.next_request = next_request
        self.tally = tally
        self.done = done
        self.buffer = bytearray()
        self.need = -1  # bytes of the whole response once its head is parsed; -1 while reading the head
        self.status = 0
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.next_request())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.need < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail("a response without Content-Length")
                return
            eol = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : eol if eol >= 0 else len(head)])
            self.need = end + 4 + length
        if len(buffer) < self.need:
            return
        if len(buffer) > self.need:
            self._fail("more bytes than one response (the server answered unasked)")
            return
        now = time.perf_counter()
        tally = self.tally
        tally.statuses[self.status] += 1
        if now >= tally.measure_from:
            tally.count += 1
            tally.latencies.append(now - self.sent_at)
        buffer.clear()
        self.need = -1
        if now < tally.stop_at:
            self._send()
        else:
            self._finish()

    def _fail(self, why: str) -> None:
        self.tally.errors.append(why)
        self._finish()

    def _finish(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.tally.errors.append(f"connection lost: {exc or 'closed by the server'}")
            self.done.set_result(None)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def run(
    port: int,
    paths: list[str],
    headers: list[str],
    connections: int,
    duration: float,
    warmup: float,
    cafile: str | None = None,
) -> dict[str, Any]:
    """The load: over TLS, trusting the CA in ``cafile``, when it is given."""
    loop = asyncio.get_running_loop()
    requests = []
    for path in paths:
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: keep-alive", *headers]
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    next_request = itertools.cycle(requests).__next__
    start = time.perf_counter()
    tally = Tally(measure_from=start + warmup, stop_at=start + warmup + duration)
    waits: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        tls = None if cafile is None else ssl.create_default_context(cafile=cafile)
        await loop.create_connection(
            functools.partial(Connection, next_request, tally, done), HOST, port, ssl=tls
        )
        waits.append(done)
    # Bounded in time: a connection whose server stopped answering is given up on.
    await asyncio.wait(waits, timeout=warmup + duration + 10.0)
    elapsed = min(time.perf_counter(), tally.stop_at) - tally.measure_from
    stuck = sum(not w.done() for w in waits)
    if stuck:
        tally.errors.append(f"{stuck} connection(s) got no answer in time")
    latencies = sorted(tally.latencies)
    return {
        "requests": tally.count,
        "seconds": round(elapsed, 3),
        "rps": tally.count / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors[:10],
        "error_count": len(tally.errors),
    }


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--port", type=int, required=True)
    targets = cli.add_mutually_exclusive_group(required=True)
    targets.add_argument("--path", help="request target, query string included")
    targets.add_argument("--paths-file", help="request targets, one a line, sent in turn")
    cli.add_argument("--header", action="append", default=[], help="an extra 'Name: value' header")
    cli.add_argument("--connections", type=int, default=32)
    cli.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    cli.add_argument("--warmup", type=float, default=1.0, help="seconds run before measuring")
    cli.add_argument("--cafile", help="speak HTTPS, trusting the CA certificate (PEM) in this file")
    args = cli.parse_args()
    paths = [args.path] if args.path else Path(args.paths_file).read_text().split()
    result = asyncio.run(
        run(args.port, paths, args.header, args.connections, args.duration, args.warmup, args.cafile)
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
