"""Benchmarks of the validating proxy under hostile clients, each figure printed with its target.

    .venv/bin/python bench/bench_proxy.py [--checkout DIR] [--only 1,3] [--no-fail]

Every measurement starts its own proxy, ``python -m mock_server proxy --upstream URL --port 0
--ready-file PATH``, run with cwd and PYTHONPATH set to ``--checkout`` (default: this repository), so
the same script measures an older checkout. The upstream is this script again (``--upstream-server``,
an aiohttp app of this environment in its own process): small JSON answers, an 8 MiB JSON log page,
ZIP downloads of any size, a status that never answers and a download that trickles. Whatever the
proxy wrote to stderr (tracebacks, logged errors) is counted after it stops.

1. Targets: every spelling of a target that could steer the proxy to another host, sent raw with
   credentials, against a canary socket: contacts (and 5xx answers); with the upstream given
   without a port too, when port 80 can be bound (root).
2. 100 concurrent uploads of 16 MiB (with Content-Length, then chunked): peak RSS.
3. 20 concurrent gzip bombs (16 MiB that inflate to 16 GiB each): peak RSS, the proxy's CPU time per
   bomb (all of one request's work: the most it can hold other clients up), and the longest wait of
   a client polling through the proxy meanwhile, from a process of its own (that figure measures the
   machine too: compare it with the wait when nothing else goes on, printed beside it).
4. 100 concurrent 16 MiB downloads: peak RSS; then 8 MiB JSON answers: the proxy's CPU time per
   answer, and the longest wait of a polling client meanwhile.
5. 1,100 uploads that never end: how long until a new client is served.
6. 50 clients that go away mid-download: tracebacks, and exchanges journaled.
7. SIGTERM with uploads, a stuck upstream, trickling and big downloads, 1,000 idle connections
   and bombs in flight, recording a tape (its audit is part of the stop): the time to exit, the
   exit status, tracebacks.

Exits 1 when a target is missed, unless ``--no-fail`` is given. Run it as a script (it imports
``harness`` from its own folder), not with ``python -m``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import HOST, ROOT, RssSampler, cpu_seconds

from mock_server.api.operations import BASE_PATH

MIB = 1 << 20
HISTORY = f"{BASE_PATH}/history"
DOWNLOAD = f"{BASE_PATH}/logs/download"
checkout = ROOT  # set from --checkout in main()
RESULTS: list[tuple[str, str, str, str]] = []


def report(what: str, figure: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else "ok" if ok else "MISS"
    RESULTS.append((what, figure, target, verdict))
    print(f"  {what}: {figure}  (target: {target}) {verdict}", flush=True)


# --- the upstream (this script, in its own process) ------------------------------------------------------


def serve_upstream(ready: Path) -> None:
    from aiohttp import web

    page = json.dumps({"lines": ["x" * 1000] * (8 * 1024)}).encode()  # about 8 MiB of log lines

    async def api(request: web.Request) -> web.StreamResponse:
        which = request.query.get("processingId", "")
        if request.method == "POST":
            await request.read()
            return web.json_response({"processingId": "p-1"})
        if which == "stuck":
            await asyncio.Event().wait()
        if request.path == f"{BASE_PATH}/logs":
            return web.Response(body=page, content_type="application/json")
        if request.path != DOWNLOAD:
            return web.json_response({"executionHistory": []})
        size = int(request.query.get("size", "1000000"))
        response = web.StreamResponse(headers={"Content-Type": "application/zip"})
        response.content_length = size
        await response.prepare(request)
        chunk = bytes(64 * 1024)
        for start in range(0, size, len(chunk)):
            await response.write(chunk[: size - start])
            if which == "trickle":
                await asyncio.sleep(0.1)
        return response

    async def main() -> None:
        app = web.Application(client_max_size=64 * MIB)
        app.router.add_route("*", "/{tail:.*}", api)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=1024)
        await site.start()
        ready.write_text(f"http://{HOST}:{runner.addresses[0][1]}\n")
        await asyncio.Event().wait()

    asyncio.run(main())


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextlib.contextmanager
def upstream_and_proxy(upstream: str | None = None, record: bool = False) -> Iterator[tuple[Proxy, str]]:
    """The upstream (unless one is given) and the checkout's proxy in front of it (recording a tape,
    if asked: its audit is then part of the stop); both stopped after, the proxy's tracebacks counted."""
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        folder = Path(tmp)
        server = None
        if upstream is None:
            server = subprocess.Popen(  # its stderr says when the proxy cut a download: not the proxy's
                [sys.executable, __file__, "--upstream-server", str(folder / "up")], stderr=subprocess.DEVNULL
            )
            wait_for(lambda: (folder / "up").exists(), "the upstream")
            upstream = (folder / "up").read_text().strip()
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        argv = [sys.executable, "-m", "mock_server", "proxy", "--upstream", upstream, "--port", "0",
                "--ready-file", str(folder / "ready")]  # fmt: skip
        argv += ["--record", str(folder / "tape")] if record else []
        with open(folder / "stderr", "wb") as err:
            process = subprocess.Popen(argv, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=err)
        proxy = Proxy(process, 0, folder / "stderr")
        try:
            wait_for(lambda: (folder / "ready").exists() or process.poll() is not None, "the proxy")
            proxy.port = int((folder / "ready").read_text().strip().rsplit(":", 1)[1])
            yield proxy, upstream
        finally:
            stop(process)
            if server is not None:
                stop(server)
            tracebacks = proxy.stderr().count("Traceback")
            if tracebacks:
                print(f"  ! the proxy's stderr holds {tracebacks} traceback(s)", flush=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {timeout:g} s")
        time.sleep(0.02)


def connect(port: int, timeout: float = 60.0) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=timeout)


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the proxy takes (it may refuse it and close the connection halfway)."""
    with contextlib.suppress(OSError):
        sock.sendall(data)


def status_of(sock: socket.socket) -> int | str:
    """The status of the answer on ``sock`` ("closed" when none comes)."""
    try:
        data = sock.recv(65536)
    except OSError as error:
        return type(error).__name__
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else "closed"


def at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """``work(0..count-1)`` in as many threads, started together; their results."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def run(number: int) -> None:
        barrier.wait()
        try:
            results[number] = work(number)
        except Exception as error:
            results[number] = type(error).__name__

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results


class Poller:
    """``GET .../history`` through the proxy every 10 ms on a keep-alive connection, from a process of
    its own (in this one, the threads of an attack would hold it up): the longest wait."""

    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--poll", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(self) -> None:
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "polling": its first answer came

    def longest_ms(self) -> float:
        out, _ = self.process.communicate("stop\n", timeout=120)
        return float(out.strip() or "nan")


def poll(port: int) -> None:
    """The poller's process: polls until a line comes on stdin, then prints its longest wait in ms."""
    stopped = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stopped.set()), daemon=True).start()
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    waits: list[float] = []
    while not stopped.wait(0.01):
        began = time.perf_counter()
        try:
            connection.request("GET", HISTORY)
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=60)
        waits.append(time.perf_counter() - began)
        if len(waits) == 1:
            print("polling", flush=True)
    print(f"{max(waits[1:], default=0.0) * 1000:.1f}", flush=True)


def quiet_baseline(port: int, seconds: float = 2.0) -> float:
    """The longest wait of a polling client with nothing else going on: this machine's noise."""
    poller = Poller(port)
    poller.start()
    time.sleep(seconds)
    return poller.longest_ms()


# --- the measurements ---------------------------------------------------------------------------------


SPELLINGS = ["GET http://{c}/x", "GET m://{c}/x", "GET http://u:pw@{c}/x", "GET http://{u}@{c}/x",
             "GET //{c}/x", "GET /\\{c}/x", "GET /%2F%2F{c}/x", "GET /@{c}/x", "CONNECT {c}", "OPTIONS *",
             "GET http://{c}/__admin/journal"]  # fmt: skip


class Canary(threading.Thread):
    """A listening socket that counts the connections it gets."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server((HOST, port))
        self.port = self.listener.getsockname()[1]
        self.contacts = 0

    def run(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.listener.accept()[0].close()
                self.contacts += 1


def bench_targets(args: argparse.Namespace) -> None:
    print("1. targets that could steer the proxy to another host", flush=True)
    canary = Canary()
    canary.start()
    with upstream_and_proxy() as (proxy, upstream):
        statuses: Counter[int | str] = Counter()
        for spelling in SPELLINGS:
            line = spelling.format(c=f"{HOST}:{canary.port}", u=upstream.removeprefix("http://"))
            with connect(proxy.port, 10) as sock:
                sock.sendall(f"{line} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic eDp5\r\n\r\n".encode())
                statuses[status_of(sock)] += 1
    time.sleep(0.5)  # a connection under way reaches the canary meanwhile
    fives = sum(n for status, n in statuses.items() if isinstance(status, int) and status >= 500)
    report(f"{len(SPELLINGS)} spellings: canary contacts", str(canary.contacts), "0", canary.contacts == 0)
    report("answers 5xx", f"{fives} ({dict(statuses)})", "0", fives == 0)
    try:
        canary = Canary(80)
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
            raise
        report("upstream without a port", f"not measured: port 80 ({error.strerror})", "-", None)
        return
    canary.start()
    with upstream_and_proxy("http://localhos") as (proxy, _), connect(proxy.port, 10) as sock:
        sock.sendall(b"GET t://x/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic eDp5\r\n\r\n")
        status = status_of(sock)
    time.sleep(0.5)
    report(f"upstream http://localhos, target t://x/ ({status}): canary contacts", str(canary.contacts),
           "0", canary.contacts == 0)  # fmt: skip


def bench_uploads(args: argparse.Namespace) -> None:
    print("2. 100 concurrent uploads of 16 MiB", flush=True)
    body = bytes(16 * MIB)
    for chunked in (False, True):
        with upstream_and_proxy() as (proxy, _):
            sampler = RssSampler(proxy.process.pid)
            sampler.start()

            def upload(_: int, chunked: bool = chunked) -> object:
                framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
                with connect(proxy.port) as sock:
                    head = (
                        f"POST {BASE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}"
                    )
                    with contextlib.suppress(OSError):
                        sock.sendall(f"{head}\r\n\r\n".encode())
                        if chunked:
                            for start in range(0, len(body), 64 * 1024):
                                sock.sendall(b"10000\r\n" + body[start : start + 64 * 1024] + b"\r\n")
                        else:
                            sock.sendall(body)
                    return status_of(sock)

            began = time.perf_counter()
            statuses = Counter(at_once(100, upload))
            sampler.stopped.set()
            sampler.join()
            how = "chunked" if chunked else "Content-Length"
            report(f"{how}: peak RSS ({dict(statuses)} in {time.perf_counter() - began:.1f} s)",
                   f"{sampler.peak:.0f} MB", "< 150 MB", sampler.peak < 150)  # fmt: skip


def gzip_bomb(compressed: int) -> bytes:
    """A gzip stream of zeros: ``compressed`` bytes that inflate about 1,000-fold (its end never sent)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(bytes(MIB)) + packer.flush(zlib.Z_FULL_FLUSH)
    more = packer.compress(bytes(MIB)) + packer.flush(zlib.Z_FULL_FLUSH)  # zeros after zeros: repeatable
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + first + more * ((compressed - len(first)) // len(more))


def bench_bombs(args: argparse.Namespace) -> None:
    print("3. 20 concurrent gzip bombs of 16 MiB (16 GiB inflated)", flush=True)
    bomb = gzip_bomb(16 * MIB)
    with upstream_and_proxy() as (proxy, _):
        quiet = quiet_baseline(proxy.port)
        sampler, poller = RssSampler(proxy.process.pid), Poller(proxy.port)
        sampler.start()
        poller.start()
        cpu = cpu_seconds(proxy.process.pid)

        def send(_: int) -> object:
            head = (f"POST {BASE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n").encode()  # fmt: skip
            with connect(proxy.port) as sock:
                with contextlib.suppress(OSError):
                    sock.sendall(head + bomb)
                return status_of(sock)

        began = time.perf_counter()
        statuses = Counter(at_once(20, send))
        took = time.perf_counter() - began
        time.sleep(2)  # what aiohttp would still inflate after the answer, it inflates now
        used = cpu_seconds(proxy.process.pid) - cpu
        sampler.stopped.set()
        sampler.join()
        longest = poller.longest_ms()
    report(
        f"peak RSS ({dict(statuses)} in {took:.1f} s)",
        f"{sampler.peak:.0f} MB",
        "< 150 MB",
        sampler.peak < 150,
    )
    per = used / 20 * 1000  # all of one bomb's work: the most it can hold other clients up
    report(f"CPU of the proxy per bomb ({used:.1f} s in all, answers and 2 s after)", f"{per:.0f} ms",
           "< 100 ms", per < 100)  # fmt: skip
    report(f"longest wait of a polling client ({quiet:.0f} ms with no bomb; the machine's load adds)",
           f"{longest:.0f} ms", "< 100 ms", longest < 100)  # fmt: skip


def bench_downloads(args: argparse.Namespace) -> None:
    print("4. 100 concurrent 16 MiB downloads; 8 MiB JSON answers", flush=True)
    with upstream_and_proxy() as (proxy, _):
        sampler = RssSampler(proxy.process.pid)
        sampler.start()

        def download(_: int) -> object:
            connection = http.client.HTTPConnection(HOST, proxy.port, timeout=120)
            connection.request("GET", f"{DOWNLOAD}?processingId=big&size={16 * MIB}")
            answer = connection.getresponse()
            size = len(answer.read())
            connection.close()
            return answer.status if size == 16 * MIB else f"{size} bytes"

        began = time.perf_counter()
        statuses = Counter(at_once(100, download))
        sampler.stopped.set()
        sampler.join()
        report(f"downloads: peak RSS ({dict(statuses)} in {time.perf_counter() - began:.1f} s)",
               f"{sampler.peak:.0f} MB", "< 150 MB", sampler.peak < 150)  # fmt: skip
        quiet = quiet_baseline(proxy.port)
        poller = Poller(proxy.port)
        poller.start()
        cpu = cpu_seconds(proxy.process.pid)
        for _ in range(5):
            connection = http.client.HTTPConnection(HOST, proxy.port, timeout=120)
            connection.request("GET", f"{BASE_PATH}/logs?processingId=big")
            connection.getresponse().read()
            connection.close()
        per = (cpu_seconds(proxy.process.pid) - cpu) / 5 * 1000
        longest = poller.longest_ms()
    report("CPU of the proxy per 8 MiB JSON answer", f"{per:.0f} ms", "< 100 ms", per < 100)
    report(f"five 8 MiB JSON answers: longest wait of a polling client ({quiet:.0f} ms with none)",
           f"{longest:.0f} ms", "< 100 ms", longest < 100)  # fmt: skip


def slow_upload(port: int) -> socket.socket:
    sock = connect(port)
    sock.sendall(f'POST {BASE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{{"pa'.encode())
    return sock


def slow_uploads(port: int, count: int) -> list[socket.socket]:
    """``count`` uploads that never end, opened by 20 threads at once (one by one, a dropped SYN
    waits a second, and the first would time out before the last is open)."""
    opened: list[socket.socket] = []

    def open_some(number: int) -> None:
        for _ in range(count // 20 + (number < count % 20)):
            with contextlib.suppress(OSError):
                opened.append(slow_upload(port))

    at_once(20, open_some)
    return opened


def bench_slow_uploads(args: argparse.Namespace) -> None:
    print("5. 1,100 uploads that never end", flush=True)
    with upstream_and_proxy() as (proxy, _):
        opening = time.perf_counter()
        sockets = slow_uploads(proxy.port, 1100)
        began = time.perf_counter()
        served = None
        try:
            while served is None and time.perf_counter() - began < 30:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    connection = http.client.HTTPConnection(HOST, proxy.port, timeout=2)
                    connection.request("GET", HISTORY)
                    if connection.getresponse().status == 200:
                        served = time.perf_counter() - began
                    connection.close()
                time.sleep(0.2)
        finally:
            for sock in sockets:
                sock.close()
    figure = f"{served:.1f} s" if served is not None else "> 30 s (never)"
    report(f"{len(sockets)} opened in {began - opening:.1f} s; a new client served after", figure,
           "<= 12 s (the body timeout)", served is not None and served <= 12)  # fmt: skip


def bench_disconnects(args: argparse.Namespace) -> None:
    print("6. 50 clients that go away mid-download", flush=True)
    with upstream_and_proxy() as (proxy, _):

        def leave(_: int) -> object:
            with connect(proxy.port) as sock:
                sock.sendall(
                    f"GET {DOWNLOAD}?processingId=big&size={16 * MIB} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                got = 0
                while got < 200_000:
                    got += len(sock.recv(65536))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return "left"

        at_once(50, leave)
        journaled = 0
        deadline = time.monotonic() + 20
        while journaled < 50 and time.monotonic() < deadline:
            connection = http.client.HTTPConnection(HOST, proxy.port, timeout=10)
            connection.request("GET", "/__admin/journal?operation=download")
            journaled = len(json.loads(connection.getresponse().read())["exchanges"])
            connection.close()
            time.sleep(0.2)
        time.sleep(0.5)
        tracebacks = proxy.stderr().count("Traceback")
    report("exchanges journaled", f"{journaled} of 50", "50", journaled == 50)
    report("tracebacks on stderr", str(tracebacks), "0", tracebacks == 0)


def bench_sigterm(args: argparse.Namespace) -> None:
    print("7. SIGTERM with everything in flight, recording", flush=True)
    with upstream_and_proxy(record=True) as (proxy, _):
        sockets: list[socket.socket] = []
        try:
            sockets += slow_uploads(proxy.port, 100)
            for which in ["stuck"] * 20 + ["trickle"] * 20 + ["big"] * 20:
                sock = connect(proxy.port)
                path = f"{BASE_PATH}/status" if which == "stuck" else DOWNLOAD
                sock.sendall(
                    f"GET {path}?processingId={which}&size={64 * MIB} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                sockets.append(sock)
            bomb = gzip_bomb(4 * MIB)
            sent = (f"POST {BASE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                    f"Content-Length: {len(bomb)}\r\n\r\n").encode() + bomb  # fmt: skip
            for _ in range(4):
                sockets.append(connect(proxy.port))
                threading.Thread(target=send_quietly, args=(sockets[-1], sent), daemon=True).start()
            at_once(20, lambda _: [sockets.append(connect(proxy.port, 5)) for _ in range(50)])  # 1,000 idle
            time.sleep(1)
            began = time.perf_counter()
            proxy.process.send_signal(signal.SIGTERM)
            try:
                status: int | str = proxy.process.wait(30)
                took = time.perf_counter() - began
            except subprocess.TimeoutExpired:
                status, took = "still running", 30.0
        finally:
            for sock in sockets:
                sock.close()
        tracebacks = proxy.stderr().count("Traceback")
    report(
        f"exit after SIGTERM (status {status})", f"{took:.1f} s", "< 5 s, status 0", took < 5 and status == 0
    )
    report("tracebacks on stderr", str(tracebacks), "0", tracebacks == 0)


BENCHMARKS = {1: bench_targets, 2: bench_uploads, 3: bench_bombs, 4: bench_downloads, 5: bench_slow_uploads,
              6: bench_disconnects, 7: bench_sigterm}  # fmt: skip


def main() -> int:
    global checkout
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--checkout", type=Path, default=ROOT, help="the repository whose proxy to measure "
                     "(default: the one this script lives in)")  # fmt: skip
    cli.add_argument("--only", default=",".join(map(str, BENCHMARKS)), metavar="N[,N...]",
                     help="run these measurements only")  # fmt: skip
    cli.add_argument(
        "--no-fail", action="store_true", help="report only; exit 0 even when a target is missed"
    )
    cli.add_argument("--upstream-server", type=Path, help=argparse.SUPPRESS)
    cli.add_argument("--poll", type=int, help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.poll is not None:
        poll(args.poll)
        return 0
    if args.upstream_server is not None:
        with contextlib.suppress(KeyboardInterrupt):
            serve_upstream(args.upstream_server)
        return 0
    checkout = args.checkout.resolve()
    print(f"proxy code: {checkout}", flush=True)
    for number in (int(n) for n in args.only.split(",")):
        try:
            BENCHMARKS[number](args)
        except Exception as error:  # one measurement failing must not stop the others
            traceback.print_exc()
            report(f"{number}: could not measure", f"{type(error).__name__}: {error}"[:200], "-", False)
    width = max(len(row[0]) for row in RESULTS)
    print("\n== summary")
    for what, figure, target, verdict in RESULTS:
        print(f"{what:<{width}}  {figure:<24} {target:<28} {verdict}")
    misses = sum(row[3] == "MISS" for row in RESULTS)
    print(f"\n{misses} target(s) missed" if misses else "\nall targets met")
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
