"""Benchmarks of the dev server under hostile input, each figure printed with its target.

    .venv/bin/python bench/bench_hostile.py [--checkout DIR] [--only 1,3] [--quick] [--no-fail]

Every measurement starts its own server, ``python -m mock_server serve --port 0 --ready-file PATH
[--scenario FILE]`` run with cwd and PYTHONPATH set to ``--checkout`` (default: this repository), so
the same script measures an older checkout. Each is bounded by timeouts: a server that stops
answering is reported as "> T s (timed out)" and killed. Whatever the server wrote to stderr
(tracebacks, logged errors) is summed up after it stops.

1. Error bodies: 50 start requests of about 1 MiB, each with 70,000 unknown keys besides a valid
   path and type: RSS before and after, answer time, the largest error body, violations listed.
2. Query strings: 5,000 distinct status requests of about 8 KB of unknown parameters: RSS after.
3. Downloads: a finished job over 1,000,000 assets; the latency of history polls while 1 and then
   4 clients download its log ZIP, and a HEAD on the download URL (which must not build the ZIP).
4. Shutdown: SIGTERM, SIGINT and SIGHUP (a server each) with 4 downloads in progress: exit time and code.
5. Path spellings: how many of four spellings of one folder start a job; then 12,000 starts on
   distinct spellings of existing folders: jobs kept against ``max_jobs``, time per start first vs last.
6. Idle connections: 1,100 silent connections to a server limited to 1,024 descriptors, then a
   normal request; and a half-sent request line: is it closed?
7. Odd input to the admin API: a non-UTF-8 ``X-Admin-Token``, 100,000 levels of JSON nesting, the
   clock moved past year 9999, a 100 MiB scenario body.
8. Scenario load stall: the latency of history polls (every 10 ms) while a valid ~1 MiB scenario loads.
9. Glob: a job script matching ``/**/**/**/**/**/**/**/x`` and a start on an 80-level deep path.
10. Log after 40,000 cancel/resume cycles: a deep log page and a tail, against a fresh job's; and
    how much the server's RSS grows per 1,000 cycles once they are under way.
11. Gzip bombs: a start request of 1 MB that inflates to 1 GiB: its answer, the latency of history
    polls (every 10 ms) during and after it, RSS; then SIGTERM with 4 bombs in flight: exit time.
12. The admin API over 10,000 jobs: ``GET /__admin/jobs`` and the dashboard's jobs page, each timed,
    while history is polled every 10 ms.
13. Scenario PUT memory: peak RSS of a fresh server loading the worst ~1 MiB documents the reader
    takes (row 8's assets, 100,000 nodes of job scripts and faults, deep flow mappings) or refuses
    at its node cap (500,000 nodes of a flow list, 100,000 keys of a flow mapping).
14. Scenario GETs: 6 concurrent ``GET /__admin/scenario`` (and then dashboard scenario pages) of a
    ~1 MiB scenario with secrets (row 13's 1,000 job scripts): peak RSS and history polls meanwhile.
15. Concurrent scenario PUTs: 4 PUTs of row 14's ~1 MiB scenario at once: their statuses, peak RSS
    and history polls meanwhile.

Exits 1 when a target is missed, unless ``--no-fail`` is given.
Run it as a script (it imports ``harness`` from its own folder), not with ``python -m``.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import AUTH, HOST, ROOT, URL_AT_END, RssSampler, cpu_seconds, proc_status_mb

from mock_server.api.operations import BASE_PATH

ADMIN = "/__admin"
HISTORY = f"{BASE_PATH}/history"
MAX_ADVANCE_S = 50 * 365 * 86_400  # the most one clock advance may move (50 years)
YEAR_MS = 365.2425 * 86_400_000
YEAR_10000_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z
MIB = 1 << 20
checkout = ROOT  # set from --checkout in main()


# --- results -----------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    what: str
    figure: str
    target: str
    verdict: str


ROWS: list[Row] = []
NOTES: list[str] = []


def report(number: int, what: str, figure: str, target: str, ok: bool | None) -> None:
    """Print one figure with its target and keep it for the summary (``ok`` None: no verdict)."""
    verdict = "" if ok is None else "PASS" if ok else "MISS"
    ROWS.append(Row(number, what, figure, target, verdict))
    print(f"   {what}: {figure}   target {target}   {verdict}".rstrip(), flush=True)


def dur(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def timed_out(seconds: float) -> str:
    return f"> {seconds:g} s (timed out)"


def mb(value: float) -> str:
    return f"{value:,.0f} MB"


# --- the server --------------------------------------------------------------------------------------


@dataclass
class Running:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def rss(self) -> float:
        return proc_status_mb(self.pid, "VmRSS")

    def hwm(self) -> float:
        return proc_status_mb(self.pid, "VmHWM")


@contextmanager
def serve(
    label: str, scenario: str | None = None, *, nofile: int | None = None, timeout: float = 60.0
) -> Iterator[Running]:
    """Start the checkout's dev server (with ``scenario``, a YAML text); always stop it, then sum up
    its stderr."""
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        folder = Path(tmp)
        ready = folder / "ready"
        argv = [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--ready-file", str(ready)]
        if scenario is not None:
            (folder / "scenario.yaml").write_text(scenario, encoding="utf-8")
            argv += ["--scenario", str(folder / "scenario.yaml")]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AEM_GUIDES_MOCK_")}
        env["PYTHONPATH"] = str(checkout)

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        stderr_path = folder / "stderr"
        with open(folder / "stdout", "wb") as out, open(stderr_path, "wb") as err:
            process = subprocess.Popen(
                argv, cwd=checkout, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                preexec_fn=limit if nofile is not None else None,
            )  # fmt: skip
        running = Running(label, process, 0, stderr_path)
        try:
            deadline = time.monotonic() + timeout
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the server did not start in {timeout:g} s:\n{running.stderr()[-2000:]}"
                    )
                time.sleep(0.02)
            match = URL_AT_END.search(ready.read_text().strip())
            if match is None:
                raise RuntimeError(f"the ready file holds no URL: {ready.read_text()!r}")
            running.port = int(match.group(1))
            yield running
        finally:
            stop(process)
            summarize_stderr(running)


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit)):?\s?(.*)$")
LOGGED_ERROR = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) (\S+): (.*)$")


def summarize_stderr(running: Running) -> None:
    """Print (and keep for the final report) the tracebacks and errors the server logged."""
    text = running.stderr()
    tracebacks = text.count("Traceback (most recent call last)")
    lines = text.splitlines()
    raised = Counter(line.strip()[:160] for line in lines if EXCEPTION_LINE.match(line.strip()))
    logged = Counter(f"{m.group(2)}: {m.group(3)[:120]}" for m in map(LOGGED_ERROR.match, lines) if m)
    if not (tracebacks or raised or logged):
        return
    parts = [f"{tracebacks} traceback(s), {sum(logged.values())} logged error(s)"]
    parts += [f"{n}x {line}" for line, n in raised.most_common(4)]
    parts += [f"{n}x logged {line}" for line, n in logged.most_common(3)]
    note = f"[{running.label}] server stderr: " + "; ".join(parts)
    NOTES.append(note)
    print(f"   {note}", flush=True)


# --- requests ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive connection with the admin credentials; it reconnects once the server closes it."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def send(
        self, method: str, target: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        sent = {"Authorization": AUTH, **(headers or {})}
        for attempt in (1, 2):
            began = time.perf_counter()
            try:
                self.connection.request(method, target, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.connection.close()
            return Answer(response.status, dict(response.getheaders()), data, time.perf_counter() - began)
        raise AssertionError("unreachable")

    def json(self, method: str, target: str, payload: Any) -> Answer:
        return self.send(method, target, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def close(self) -> None:
        self.connection.close()


def once(
    port: int, method: str, target: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Answer:  # fmt: skip
    """One request on a connection of its own."""
    client = Client(port, timeout)
    try:
        return client.send(method, target, body, headers)
    finally:
        client.close()


def once_json(port: int, method: str, target: str, payload: Any, timeout: float = 30.0) -> Answer:
    return once(port, method, target, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                timeout)  # fmt: skip


def start(port: int, path: str, timeout: float = 30.0) -> Answer:
    return once_json(port, "POST", BASE_PATH, {"path": path, "type": "ASSET_PROCESSING"}, timeout)


def start_job(port: int, path: str, timeout: float = 30.0) -> str:
    answer = start(port, path, timeout)
    if answer.status != 200:
        raise RuntimeError(f"starting a job on {path} answered {answer.status}: {answer.body[:300]!r}")
    return str(answer.json()["processingId"])


def advance(port: int, seconds: float) -> Answer:
    return once_json(port, "POST", f"{ADMIN}/clock/advance", {"seconds": seconds})


def logs_status(port: int, processing_id: str) -> int:
    return once(port, "GET", f"{BASE_PATH}/logs?processingId={processing_id}").status


def job_status(port: int, processing_id: str) -> dict[str, Any]:
    answer = once(port, "GET", f"{BASE_PATH}/status?processingId={processing_id}")
    if answer.status != 200:
        raise RuntimeError(f"status answered {answer.status}: {answer.body[:300]!r}")
    return dict(answer.json())


def read_response(sock: socket.socket) -> tuple[int | None, bytes]:
    """Read one HTTP response from a raw socket: its status and body (a reply without
    Content-Length is read to the end)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split(b" ", 2)
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else None
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    while length is None or len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


class Poller(threading.Thread):
    """``GET .../history`` on a keep-alive connection, ``period`` seconds after each answer;
    keeps every latency (a request that never came back counts as the time it waited)."""

    def __init__(self, port: int, period: float, timeout: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.port, self.period, self.timeout = port, period, timeout
        self.latencies: list[float] = []
        self.statuses: Counter[int | str] = Counter()
        self.stopped = threading.Event()
        self.waiting_since: float | None = None

    def run(self) -> None:
        client = Client(self.port, self.timeout)
        try:
            while not self.stopped.is_set():
                self.waiting_since = time.perf_counter()
                try:
                    answer = client.send("GET", HISTORY)
                    self.statuses[answer.status] += 1
                except (OSError, http.client.HTTPException) as error:
                    self.statuses[type(error).__name__] += 1
                    client.close()
                self.latencies.append(time.perf_counter() - self.waiting_since)
                self.waiting_since = None
                self.stopped.wait(self.period)
        finally:
            client.close()

    def finish(self, join: float = 1.0) -> tuple[float, float, int]:
        """Stop (waiting up to ``join`` s for the poll out); return (max, median, count) of the
        latencies, counting a poll still out."""
        self.stopped.set()
        self.join(join)
        pending = self.waiting_since
        still_out = [time.perf_counter() - pending] if pending is not None else []
        values = self.latencies + still_out
        return max(values, default=0.0), statistics.median(values) if values else 0.0, len(values)


# --- 1. error bodies ---------------------------------------------------------------------------------


def error_body(request_no: int, keys: int) -> bytes:
    """A valid start request plus ``keys`` unknown keys (14 bytes each), distinct per request."""
    unknown = ",".join(f'"k{request_no % 100:02d}{i:06d}":0' for i in range(keys))
    return ('{"path":"/content/dam/22858","type":"ASSET_PROCESSING",' + unknown + "}").encode()


def bench_error_bodies(args: argparse.Namespace) -> None:
    count, keys, cap, per_request = (5 if args.quick else 50), 70_000, 300.0, 60.0
    print(f"== 1. {count} start requests, each ~{len(error_body(0, keys)) / MIB:.2f} MiB with {keys:,} "
          "unknown keys")  # fmt: skip
    times: list[float] = []
    sizes: list[int] = []
    listed: list[int] = []
    statuses: Counter[int] = Counter()
    stuck = False
    with serve("1", None) as server:
        time.sleep(0.3)
        idle = server.rss()
        sampler = RssSampler(server.pid)
        sampler.start()
        deadline = time.monotonic() + cap
        for request_no in range(count):
            body = error_body(request_no, keys)
            try:
                answer = once(server.port, "POST", BASE_PATH, body, {"Content-Type": "application/json"},
                              per_request)  # fmt: skip
            except TimeoutError:
                stuck = True
                break
            times.append(answer.seconds)
            sizes.append(len(answer.body))
            statuses[answer.status] += 1
            try:
                listed.append(len(answer.json().get("violations", [])))
            except (ValueError, AttributeError):
                listed.append(-1)
            if time.monotonic() > deadline:
                break
        time.sleep(0.3)
        after = server.rss()
        sampler.stopped.set()
        peak = max(sampler.peak, server.hwm())
    then = f", then one took {timed_out(per_request)}" if stuck else ""
    sent = f"{len(times)} of {count} answered{then}"
    print(f"   {sent}; statuses {dict(statuses)}")
    report(1, "RSS before -> after", f"{mb(idle)} -> {mb(after)} (peak {mb(peak)})", "< 150 MB", peak < 150)
    if times:
        worst = timed_out(per_request) if stuck else dur(max(times))
        report(1, "answer time per request", f"median {dur(statistics.median(times))}, max {worst}",
               "< 200 ms", not stuck and max(times) < 0.2)  # fmt: skip
        report(1, "largest error body", f"{max(sizes):,} bytes", "<= 65,536 bytes", max(sizes) <= 65_536)
        report(1, "violations listed", f"{max(listed):,}", "<= 20", max(listed) <= 20)


# --- 2. query strings --------------------------------------------------------------------------------


def long_query(request_no: int, size: int = 8_000) -> str:
    """A status target of about ``size`` bytes of unknown parameters, distinct per request."""
    target = f"{BASE_PATH}/status?processingId=x"
    pieces = [target]
    length = len(target)
    for i in itertools.count():
        piece = f"&u{request_no:05d}_{i:04d}=1"
        if length + len(piece) > size:
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def bench_query_strings(args: argparse.Namespace) -> None:
    count, threads, cap = (300 if args.quick else 5_000), 4, (30.0 if args.quick else 120.0)
    print(f"== 2. {count:,} distinct ~8 KB query strings (GET .../status), {threads} keep-alive clients, "
          f"at most {cap:g} s")  # fmt: skip
    numbers = iter(range(count))
    lock = threading.Lock()
    statuses: Counter[int | str] = Counter()
    done: list[int] = []
    with serve("2", None) as server:
        time.sleep(0.3)
        idle = server.rss()
        sampler = RssSampler(server.pid, period=0.1)
        sampler.start()
        deadline = time.monotonic() + cap

        def work() -> None:
            client = Client(server.port, timeout=60)
            try:
                while time.monotonic() < deadline:
                    with lock:
                        request_no = next(numbers, None)
                    if request_no is None:
                        return
                    try:
                        status: int | str = client.send("GET", long_query(request_no)).status
                    except (OSError, http.client.HTTPException) as error:
                        status = type(error).__name__
                        client.close()
                    with lock:
                        statuses[status] += 1
                        done.append(request_no)
            finally:
                client.close()

        began = time.perf_counter()
        workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()) + 65)
        seconds = time.perf_counter() - began
        time.sleep(0.3)
        after = server.rss()
        sampler.stopped.set()
        peak = max(sampler.peak, server.hwm())
    cut = "" if len(done) >= count else f" (cut at {cap:g} s: {len(done):,} of {count:,} sent)"
    line_length = len(f"GET {long_query(count - 1)} HTTP/1.1")
    print(f"   request lines up to {line_length:,} bytes; statuses {dict(statuses)}")
    report(2, "time taken", f"{dur(seconds)} for {len(done):,} requests{cut}", "(for context)", None)
    report(2, "RSS before -> after", f"{mb(idle)} -> {mb(after)} (peak {mb(peak)})", "< 150 MB", peak < 150)


# --- 3. downloads ------------------------------------------------------------------------------------


def large_scenario(quick: bool) -> tuple[str, float]:
    """The scenario of a generated 1,000,000-asset folder (100,000 with --quick), and the clock
    advance after which a job over it has ended."""
    folders = 10 if quick else 100
    text = f"""\
name: hostile-large
description: "{folders * 10_000:,} generated topics under /content/dam/large, 1 ms each."
seed: 1
clock: manual
settings:
  per_asset: 1ms
repository:
  base: default
  generate:
    - folder: /content/dam/large
      folders: {folders}
      per_folder: {{DITATOPIC: 10000}}
"""
    return text, folders * 10_000 / 1000 * 1.1


@contextmanager
def finished_large_job(label: str, quick: bool) -> Iterator[tuple[Running, str]]:
    """A server whose job over /content/dam/large has ended (SUCCESS), and the job's id."""
    text, seconds = large_scenario(quick)
    with serve(label, text) as server:
        processing_id = start_job(server.port, "/content/dam/large")
        advance(server.port, seconds)
        job = job_status(server.port, processing_id)
        if job["status"] != "SUCCESS":
            raise RuntimeError(f"the large job is {job['status']} after {seconds:g} s of clock")
        yield server, processing_id


@dataclass
class Download:
    seconds: float = 0.0
    size: int = 0
    status: int | None = None
    error: str = ""
    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


def download(port: int, processing_id: str, into: Download, timeout: float = 120.0) -> None:
    """Download the log ZIP, reading it all; fill ``into``."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    began = time.perf_counter()
    try:
        connection.request("GET", f"{BASE_PATH}/logs/download?processingId={processing_id}",
                           headers={"Authorization": AUTH})  # fmt: skip
        response = connection.getresponse()
        into.status = response.status
        while chunk := response.read(MIB):
            into.size += len(chunk)
            into.started.set()
    except (OSError, http.client.HTTPException) as error:
        into.error = f"{type(error).__name__}: {error}"
    finally:
        into.seconds = time.perf_counter() - began
        connection.close()
        into.started.set()
        into.ended.set()


def described(into: Download, cap: float = 300.0) -> str:
    if not into.ended.is_set():
        return timed_out(cap)
    error = f", {into.error}" if into.error else ""
    return f"{dur(into.seconds)} ({into.size / MIB:.1f} MiB, {into.status}{error})"


def start_downloads(port: int, processing_id: str, clients: int) -> list[Download]:
    downloads = [Download() for _ in range(clients)]
    for into in downloads:
        threading.Thread(target=download, args=(port, processing_id, into), daemon=True).start()
    return downloads


def bench_head(server: Running, processing_id: str) -> None:
    """A HEAD on the download URL over a connection kept open, as a keep-alive client does: how soon
    its headers come, whether body bytes follow them, and, for 2 s or until the server goes quiet,
    the latency of history polls and the server's CPU time, which tell whether it built the ZIP."""
    target = "a few ms, no ZIP built or sent"
    request = (f"HEAD {BASE_PATH}/logs/download?processingId={processing_id} HTTP/1.1\r\n"
               f"Host: 127.0.0.1\r\nAuthorization: {AUTH}\r\n\r\n")  # fmt: skip
    cpu = cpu_seconds(server.pid)
    with socket.create_connection((HOST, server.port), timeout=120) as sock:
        began = time.perf_counter()
        sock.sendall(request.encode())
        data = b""
        try:
            while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
        except TimeoutError:
            report(3, "HEAD on the download URL", timed_out(120), target, False)
            return
        seconds = time.perf_counter() - began
        head, _, extra = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode(errors="replace") if b" " in head else "?"
        poller = Poller(server.port, 0.05)
        poller.start()
        sock.settimeout(0.5)
        quiet_from = time.monotonic() + 2
        body = len(extra)
        while time.monotonic() < began + 120:
            try:
                chunk = sock.recv(MIB)
            except TimeoutError:
                if time.monotonic() >= quiet_from:
                    break
                continue
            if not chunk:
                break
            body += len(chunk)
    worst, _, _ = poller.finish(join=120)
    cpu = cpu_seconds(server.pid) - cpu
    figure = (f"headers ({status}) in {dur(seconds)}, then {body:,} body bytes; history polls meanwhile: "
              f"max {dur(worst)}; server CPU {dur(cpu)}")  # fmt: skip
    ok = seconds < 0.05 and body == 0 and worst < 0.1 and cpu < 0.2
    report(3, "HEAD on the download URL (kept open)", figure, target, ok)


def bench_downloads(args: argparse.Namespace) -> None:
    assets = 100_000 if args.quick else 1_000_000
    cap = 300.0
    print(f"== 3. history polls (every 50 ms) during log downloads of a finished {assets:,}-asset job")
    for clients in (1, 4):
        with finished_large_job(f"3/{clients}", args.quick) as (server, processing_id):
            if clients == 1:  # the HEAD first, on an idle server
                bench_head(server, processing_id)
            poller = Poller(server.port, 0.05, timeout=cap)
            poller.start()
            time.sleep(0.3)
            downloads = start_downloads(server.port, processing_id, clients)
            deadline = time.monotonic() + cap
            for into in downloads:
                into.ended.wait(max(0.0, deadline - time.monotonic()))
            worst, median, polls = poller.finish()
            unfinished = sum(not d.ended.is_set() for d in downloads)
        durations = ", ".join(map(described, downloads))
        report(3, f"download duration, {clients} client(s)", durations, "(for context)", None)
        figure = f"max {dur(worst)}, median {dur(median)} ({polls} polls)"
        ok = worst < 0.1 and not unfinished and set(poller.statuses) == {200}
        if set(poller.statuses) != {200}:
            figure += f", statuses {dict(poller.statuses)}"
        report(3, f"history latency during {clients} download(s)", figure, "< 100 ms", ok)


# --- 4. shutdown during downloads ----------------------------------------------------------------------


def bench_shutdown(args: argparse.Namespace) -> None:
    wait = 30.0
    print("== 4. a signal with 4 log downloads in progress: exit time and code")
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        name = signal.Signals(signum).name
        with finished_large_job(f"4/{name}", args.quick) as (server, processing_id):
            downloads = start_downloads(server.port, processing_id, 4)
            first = time.monotonic() + 30
            while not any(d.started.is_set() for d in downloads) and time.monotonic() < first:
                time.sleep(0.01)
            time.sleep(0.2)
            going = sum(not d.ended.is_set() for d in downloads)
            began = time.perf_counter()
            server.process.send_signal(signum)
            try:
                code: int | None = server.process.wait(wait)
                seconds = time.perf_counter() - began
            except subprocess.TimeoutExpired:
                code, seconds = None, wait
        if code is None:
            figure = f"{timed_out(wait)} ({going} downloads were in progress)"
        else:
            how = f" (killed by {signal.Signals(-code).name})" if code < 0 else ""
            figure = f"exit {code}{how} after {dur(seconds)} ({going} downloads were in progress)"
        report(4, name, figure, "exit 0 within 5 s", code == 0 and seconds <= 5)


# --- 5. path spellings ---------------------------------------------------------------------------------

MANUAL = """\
name: hostile-manual
description: "The default repository on a manual clock."
clock: manual
"""


FLOOD, FLOOD_TWICE = "/content/dam/flood", "/content/dam//flood"


def bench_spellings(args: argparse.Namespace) -> None:
    print("== 5. spellings of one path, then a flood of starts on distinct spellings")
    spellings = ["/content/dam/22858", "/content/dam//22858", "/content//dam/22858", "/content/dam/22858/"]
    with serve("5/spellings", MANUAL) as server:
        answers = [start(server.port, path) for path in spellings]
    statuses = [answer.status for answer in answers]
    for path, answer in zip(spellings, answers, strict=True):
        if answer.status != 200:
            print(f"   {path} refused: {answer.json().get('message', '')[:200]}")
    accepted = statuses.count(200)
    shown = ", ".join(f"{p} {s}" for p, s in zip(spellings, statuses, strict=True))
    report(5, "spellings accepted", f"{accepted} of 4 ({shown})", "1", accepted == 1)

    folders = 600 if args.quick else 6_000
    cap, window = (20.0 if args.quick else 60.0), (50 if args.quick else 500)
    flood = f"""\
name: hostile-flood
description: "{folders} generated folders of one topic each, on a manual clock."
clock: manual
repository:
  base: default
  generate:
    - folder: /content/dam/flood
      folders: {folders}
      per_folder: {{DITATOPIC: 1}}
"""
    paths = [path for n in range(1, folders + 1) for path in (f"{FLOOD}/f{n}", f"{FLOOD_TWICE}/f{n}")]
    times: list[float] = []
    statuses_seen: Counter[int] = Counter()
    with serve("5/flood", flood) as server:
        client = Client(server.port, timeout=30)
        deadline = time.monotonic() + cap
        try:
            for path in paths:
                answer = client.json("POST", BASE_PATH, {"path": path, "type": "ASSET_PROCESSING"})
                times.append(answer.seconds)
                statuses_seen[answer.status] += 1
                if time.monotonic() > deadline:
                    break
        except TimeoutError:
            times.append(float("inf"))
        finally:
            client.close()
        stats = once(server.port, "GET", f"{ADMIN}/stats", timeout=60).json()
    cut = "" if len(times) >= len(paths) else f" (cut at {cap:g} s: {len(times):,} of {len(paths):,} sent)"
    print(f"   {len(times):,} starts{cut}; statuses {dict(statuses_seen)}")
    jobs, max_jobs = stats["jobs"], stats["maxJobs"]
    report(5, f"jobs after {len(times):,} starts", f"{jobs:,} (max_jobs {max_jobs:,})", "<= max_jobs",
           jobs <= max_jobs)  # fmt: skip
    first, last = statistics.mean(times[:window]), statistics.mean(times[-window:])
    report(5, f"time per start, first vs last {window}", f"{dur(first)} vs {dur(last)}",
           "about the same (last <= 2x first + 1 ms)", last <= 2 * first + 0.001)  # fmt: skip


# --- 6. idle connections -------------------------------------------------------------------------------


def bench_idle_connections(args: argparse.Namespace) -> None:
    count = 1_100
    print(f"== 6. {count:,} silent connections to a server limited to 1,024 descriptors; a half request line")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < count + 100:
        print(f"   note: this process may open {hard} descriptors only")
    with serve("6/idle", None, nofile=1024) as server:
        sockets: list[socket.socket] = []
        failed = 0
        try:
            # In batches, so that the server accepts them as they come: a silent connection the
            # listen queue had no room for would never reach it.
            for n in range(count):
                try:
                    sockets.append(socket.create_connection((HOST, server.port), timeout=2))
                except OSError:
                    failed += 1
                    if failed >= 3:
                        break
                if n % 50 == 49:
                    time.sleep(0.05)
            time.sleep(2)
            held = len(os.listdir(f"/proc/{server.pid}/fd"))
            try:
                answer = once(server.port, "GET", HISTORY, timeout=5)
                served, figure = answer.status == 200, f"served: {answer.status} in {dur(answer.seconds)}"
            except (OSError, http.client.HTTPException) as error:
                served, figure = False, f"not served ({type(error).__name__}: {error or 'no answer in 5 s'})"
            too_many = server.stderr().count("Too many open files")
        finally:
            for sock in sockets:
                sock.close()
        time.sleep(1.5)
        try:
            again = once(server.port, "GET", HISTORY, timeout=5)
            recovered = f"{again.status} in {dur(again.seconds)}"
        except (OSError, http.client.HTTPException) as error:
            recovered = f"not served ({type(error).__name__})"
    print(f"   {len(sockets):,} of {count:,} connections made ({failed} failed), the server held "
          f"{held:,} descriptors; once they were closed, a history request: {recovered}")  # fmt: skip
    report(6, f"history request with {count:,} idle connections", figure, "served", served)
    report(6, "'Too many open files' in the server's stderr", f"{too_many} time(s)", "0", too_many == 0)

    with serve("6/half", None) as server, socket.create_connection((HOST, server.port), timeout=15) as sock:
        sock.sendall(b"GET /bin/guides/v1/assets/process/hist")
        began = time.perf_counter()
        got = b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
            closed, seconds = True, time.perf_counter() - began
        except TimeoutError:
            closed, seconds = False, 15.0
        except ConnectionResetError:
            closed, seconds = True, time.perf_counter() - began
    first_line = got.split(b"\r\n", 1)[0].decode(errors="replace")
    answered = f", after answering {first_line!r}" if got else ""
    figure = f"closed after {dur(seconds)}{answered}" if closed else "still open after 15 s"
    report(6, "half a request line, then nothing", figure, "closed after 10 s", closed)


# --- 7. odd admin input --------------------------------------------------------------------------------


def bench_admin_input(args: argparse.Namespace) -> None:
    print("== 7. odd input to the admin API")
    token = MANUAL.replace("hostile-manual", "hostile-token") + 'admin: {token: "a-long-token-123"}\n'
    with serve("7/token", token) as server, socket.create_connection((HOST, server.port), 10) as sock:
        sock.sendall(b"GET /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Admin-Token: \xff\xfe\r\n"
                     b"Connection: close\r\n\r\n")  # fmt: skip
        try:
            status, _ = read_response(sock)
            figure = str(status)
        except TimeoutError:
            status, figure = None, timed_out(10)
    report(7, "X-Admin-Token b'\\xff\\xfe'", figure, "401", status == 401)

    depth = 100_000
    with serve("7/nesting", MANUAL) as server:
        try:
            answer = once(server.port, "PUT", f"{ADMIN}/scenario", b"[" * depth,
                          {"Content-Type": "application/json"}, timeout=30)  # fmt: skip
            status, figure = answer.status, f"{answer.status} in {dur(answer.seconds)}"
        except TimeoutError:
            status, figure = None, timed_out(30)
    report(7, f"PUT /__admin/scenario, {depth:,} levels of [", figure, "400", status == 400)

    with serve("7/year", MANUAL) as server:
        before = start_job(server.port, "/content/dam/22858")
        accepted, refusal, now_ms = 0, None, 0
        for _ in range(170):
            answer = advance(server.port, MAX_ADVANCE_S)
            if answer.status != 200:
                refusal = answer.status
                break
            accepted += 1
            now_ms = answer.json()["now"]
            if now_ms >= YEAR_10000_MS:
                break
        year = 1970 + now_ms / YEAR_MS
        after = start(server.port, "/content/dam/demo")
        logs = [("job started before", logs_status(server.port, before))]
        if after.status == 200:
            logs.append(("job started after", logs_status(server.port, after.json()["processingId"])))
        else:
            logs.append(("a start after", after.status))
    refused = f"then {refusal}" if refusal is not None else "none refused"
    shown = ", ".join(f"{what} {status}" for what, status in logs)
    report(7, "clock advanced by 50 years at a time", f"{accepted} accepted (year ~{year:.0f}), {refused}; "
           f"logs: {shown}", "400 refusing the advance past 9999, no 500",
           refusal == 400 and year < 10_000 and all(s != 500 for _, s in logs))  # fmt: skip

    size = 100 * MIB
    with serve("7/huge", MANUAL) as server:
        time.sleep(0.3)
        idle = server.rss()
        sampler = RssSampler(server.pid)
        sampler.start()
        began = time.perf_counter()
        sent, status, early, note = 0, None, False, ""
        with socket.create_connection((HOST, server.port), timeout=60) as sock:
            head = f"PUT {ADMIN}/scenario HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
            sock.sendall(f"{head}Content-Length: {size}\r\n\r\n".encode())
            chunk = b"#" * MIB
            try:
                while sent < size:
                    if select.select([sock], [], [], 0)[0]:
                        early = True
                        break
                    sock.sendall(chunk[: size - sent])
                    sent += min(MIB, size - sent)
            except (BrokenPipeError, ConnectionResetError) as error:
                note = f" (sending stopped: {type(error).__name__})"
            except TimeoutError:
                note = " (the server stopped reading)"
            try:
                status, _ = read_response(sock)
            except (TimeoutError, ConnectionResetError) as error:
                note += f" (no answer: {type(error).__name__})"
        seconds = time.perf_counter() - began
        time.sleep(0.3)
        sampler.stopped.set()
        peak = max(sampler.peak, server.hwm())
    when = "before the body was all sent" if early else "once the body was all sent"
    report(7, "PUT /__admin/scenario, 100 MiB", f"{status} {when} ({sent / MIB:.0f} MiB sent){note} in "
           f"{dur(seconds)}; RSS {mb(idle)} -> peak {mb(peak)}", "413, refused before reading",
           status == 413 and peak < 150)  # fmt: skip


# --- 8. scenario load stall ----------------------------------------------------------------------------


def big_scenario(size: int) -> str:
    """A valid scenario of about ``size`` bytes: explicit assets, 3 YAML nodes and ~50 bytes each."""
    lines = ["name: hostile-big", 'description: "Many explicit assets."', "repository:", "  base: default",
             "  assets:"]  # fmt: skip
    length = sum(len(line) + 1 for line in lines)
    for n in itertools.count(1):
        line = f"    - {{path: /content/dam/x/a-{n}.dita, type: DITATOPIC}}"
        if length + len(line) + 1 > size:
            break
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines) + "\n"


def bench_scenario_load(args: argparse.Namespace) -> None:
    text = big_scenario(100_000 if args.quick else 1_040_000)
    assets = text.count("{path:")
    print(f"== 8. PUT /__admin/scenario: a valid YAML of {len(text):,} bytes ({assets:,} assets) while "
          "history is polled every 10 ms")  # fmt: skip
    with serve("8", None) as server:
        poller = Poller(server.port, 0.01)
        poller.start()
        time.sleep(0.5)
        try:
            answer = once(server.port, "PUT", f"{ADMIN}/scenario", text.encode(),
                          {"Content-Type": "application/yaml"}, timeout=120)  # fmt: skip
            status, load = answer.status, dur(answer.seconds)
            if answer.status != 200:
                load += f" ({answer.body[:300]!r})"
        except TimeoutError:
            status, load = None, timed_out(120)
        time.sleep(0.5)
        worst, median, polls = poller.finish()
    report(8, "the load itself", f"{status} in {load}", "200", status == 200)
    report(8, "history polls during the load", f"max {dur(worst)}, median {dur(median)} ({polls} polls)",
           "<= 100 ms", worst <= 0.1)  # fmt: skip


# --- 9. glob -------------------------------------------------------------------------------------------


def bench_glob(args: argparse.Namespace) -> None:
    levels, pattern, wait = 80, "/**/**/**/**/**/**/**/x", 15.0
    deep = "/content/dam" + "/a" * levels
    print(f"== 9. a job script matching {pattern!r}; a start on a folder {levels} levels deep (no match)")
    text = f"""\
name: hostile-glob
description: "A job script whose glob has seven '**'."
clock: manual
repository:
  base: default
  folders: [{deep}]
jobs:
  - match: {{path: "{pattern}"}}
"""
    with serve("9", text) as server:
        warm = start(server.port, "/content/dam/22858")
        try:
            answer = start(server.port, deep, wait)
            status, figure = answer.status, f"{answer.status} in {dur(answer.seconds)}"
            ok = answer.seconds < 0.01
        except TimeoutError:
            status, figure, ok = None, timed_out(wait), False
    print(f"   a start on /content/dam/22858 first: {warm.status} in {dur(warm.seconds)}")
    report(9, "start on the deep path", figure, "< 10 ms", ok and status == 200)


# --- 10. log after cancel/resume cycles ------------------------------------------------------------------


def log_timings(client: Client, processing_id: str, query: str, rounds: int = 5) -> tuple[float, int]:
    """Median seconds of a log request, and how many lines it answered."""
    seconds: list[float] = []
    lines = 0
    for _ in range(rounds):
        answer = client.send("GET", f"{BASE_PATH}/logs?processingId={processing_id}&{query}")
        if answer.status != 200:
            raise RuntimeError(f"logs?{query} answered {answer.status}: {answer.body[:300]!r}")
        seconds.append(answer.seconds)
        lines = len(answer.json()["lines"])
    return statistics.median(seconds), lines


def log_length(client: Client, processing_id: str) -> int:
    answer = client.send("GET", f"{BASE_PATH}/logs?processingId={processing_id}&tail=1")
    return int(answer.json()["offset"]) + 1


def bench_cycles(args: argparse.Namespace) -> None:
    cycles, cap = (2_000 if args.quick else 40_000), (30.0 if args.quick else 120.0)
    print(f"== 10. {cycles:,} cancel/resume cycles (at most {cap:g} s), then log pages deep and at the tail")
    text = """\
name: hostile-cycles
description: "Jobs that stay in progress (1 h per asset), two runners, manual clock."
clock: manual
settings:
  per_asset: 1h
  concurrency: 2
"""
    per_cycle: list[float] = []
    rss: list[tuple[int, float]] = []  # (cycles done, RSS) once a tenth of them are done, and at the end
    with serve("10", text) as server:
        cycled = start_job(server.port, "/content/dam/22858")
        fresh = start_job(server.port, "/content/dam/demo")
        advance(server.port, 1)
        states = [job_status(server.port, i)["status"] for i in (cycled, fresh)]
        client = Client(server.port, timeout=60)
        deadline = time.monotonic() + cap
        began = time.perf_counter()
        try:
            for _ in range(cycles):
                t0 = time.perf_counter()
                for action in ("cancel", "resume"):
                    answer = client.json("POST", f"{BASE_PATH}/{action}", {"processingId": cycled})
                    if answer.status != 200:
                        raise RuntimeError(f"{action} answered {answer.status}: {answer.body[:300]!r}")
                per_cycle.append(time.perf_counter() - t0)
                if len(per_cycle) == cycles // 10:
                    rss.append((len(per_cycle), server.rss()))
                if time.monotonic() > deadline:
                    break
        except TimeoutError:
            per_cycle.append(float("inf"))
        seconds = time.perf_counter() - began
        rss.append((len(per_cycle), server.rss()))
        total, fresh_total = log_length(client, cycled), log_length(client, fresh)
        deep_s, deep_n = log_timings(client, cycled, f"offset={total // 2}&limit=10")
        tail_s, _ = log_timings(client, cycled, "tail=10")
        fresh_deep_s, _ = log_timings(client, fresh, f"offset={fresh_total // 2}&limit=10")
        fresh_tail_s, _ = log_timings(client, fresh, "tail=10")
        client.close()
    window = min(1000, max(1, len(per_cycle) // 10))
    cut = "" if len(per_cycle) >= cycles else f" (cut at {cap:g} s)"
    print(f"   jobs before the cycles: {states[0]} and {states[1]}")
    first, last = statistics.mean(per_cycle[:window]), statistics.mean(per_cycle[-window:])
    report(10, "cancel/resume cycles", f"{len(per_cycle):,} in {dur(seconds)}{cut}; per cycle "
           f"{dur(first)} first, {dur(last)} last", "(for context)", None)  # fmt: skip
    report(10, f"log page at offset {total // 2:,} of {total:,} lines", f"{dur(deep_s)} ({deep_n} lines) vs "
           f"{dur(fresh_deep_s)} on a fresh job", "about the same (<= 2x + 2 ms)",
           deep_s <= 2 * fresh_deep_s + 0.002)  # fmt: skip
    report(10, "log tail=10", f"{dur(tail_s)} vs {dur(fresh_tail_s)} on a fresh job",
           "about the same (<= 2x + 2 ms)", tail_s <= 2 * fresh_tail_s + 0.002)  # fmt: skip
    (done_first, rss_first), (done_last, rss_last) = rss[0], rss[-1]
    growth = (rss_last - rss_first) * 1024 / max(1, done_last - done_first) * 1000  # KB per 1,000 cycles
    report(10, "RSS growth per 1,000 cycles", f"{growth:,.0f} KB ({mb(rss_first)} after {done_first:,} "
           f"cycles, {mb(rss_last)} after {done_last:,})", "flat (<= 50 KB)", growth <= 50)  # fmt: skip


# --- 11. gzip bombs ----------------------------------------------------------------------------------


def gzip_bomb(inflated: int) -> bytes:
    """Zeros that gzip compresses about 1,000 to 1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MIB
    return b"".join([*(compressor.compress(block) for _ in range(inflated // MIB)), compressor.flush()])


def send_bomb(port: int, bomb: bytes, timeout: float = 60.0) -> Answer:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return once(port, "POST", BASE_PATH, bomb, headers, timeout=timeout)


def bench_bombs(args: argparse.Namespace) -> None:
    bomb = gzip_bomb((256 if args.quick else 1024) * MIB)
    print(f"== 11. a gzip bomb: {len(bomb):,} bytes that inflate to {(256 if args.quick else 1024)} MiB, "
          "POSTed as a start request while history is polled every 10 ms")  # fmt: skip
    with serve("11/one", MANUAL) as server:
        poller = Poller(server.port, 0.01)
        poller.start()
        time.sleep(0.5)
        try:
            answer = send_bomb(server.port, bomb)
            status, figure = answer.status, f"{answer.status} in {dur(answer.seconds)}"
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            status, figure = None, f"no answer ({type(error).__name__})"
        time.sleep(2.5)  # aiohttp may go on reading (lingering) after the answer: polls catch a stall
        worst, median, polls = poller.finish()
        peak = server.hwm()
    report(
        11, "the bomb", f"{figure}; peak RSS {mb(peak)}", "413, RSS < 150 MB", status == 413 and peak < 150
    )
    report(11, "history polls during and after it", f"max {dur(worst)}, median {dur(median)} ({polls} polls)",
           "<= 100 ms", worst <= 0.1)  # fmt: skip

    wait = 30.0
    with serve("11/sigterm", MANUAL) as server:
        stopping = threading.Event()
        answered: Counter[int | str] = Counter()

        def bombard() -> None:
            while not stopping.is_set():
                try:
                    answered[send_bomb(server.port, bomb, timeout=wait).status] += 1
                except (OSError, http.client.HTTPException) as error:
                    answered[type(error).__name__] += 1
                    return

        bombers = [threading.Thread(target=bombard, daemon=True) for _ in range(4)]
        for bomber in bombers:
            bomber.start()
        time.sleep(1.0)
        began = time.perf_counter()
        server.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = server.process.wait(wait)
            seconds = time.perf_counter() - began
        except subprocess.TimeoutExpired:
            code, seconds = None, wait
        stopping.set()
        for bomber in bombers:
            bomber.join(5)
    seen = ", ".join(f"{n}x {what}" for what, n in answered.most_common())
    figure = timed_out(wait) if code is None else f"exit {code} after {dur(seconds)}"
    report(11, "SIGTERM with 4 bombs in flight", f"{figure} (the bombers saw {seen})", "exit 0 within 5 s",
           code == 0 and seconds <= 5)  # fmt: skip


# --- 12. the admin API over 10,000 jobs --------------------------------------------------------------


def bench_admin_jobs(args: argparse.Namespace) -> None:
    count = 1_000 if args.quick else 10_000
    print(f"== 12. the admin API over {count:,} jobs (started and cancelled), while history is polled every "
          "10 ms")  # fmt: skip
    with serve("12", MANUAL) as server:
        client = Client(server.port, timeout=60)
        for _ in range(count):
            answer = client.json(
                "POST", BASE_PATH, {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}
            )
            if answer.status != 200:
                raise RuntimeError(f"a start answered {answer.status}: {answer.body[:300]!r}")
            client.json("POST", f"{BASE_PATH}/cancel", {"processingId": answer.json()["processingId"]})
        poller = Poller(server.port, 0.01)
        poller.start()
        time.sleep(0.3)
        timings: dict[str, list[float]] = {}
        shown: dict[str, str] = {}
        for _ in range(10):
            for what, target in (
                ("GET /__admin/jobs", f"{ADMIN}/jobs"),
                ("GET /__admin/ui/", f"{ADMIN}/ui/"),
            ):
                answer = client.send("GET", target)
                timings.setdefault(what, []).append(answer.seconds)
                shown[what] = f"{answer.status}, {len(answer.body):,} bytes"
        time.sleep(0.3)
        worst, median, polls = poller.finish()
        client.close()
    for what, seconds in timings.items():
        report(12, what, f"median {dur(statistics.median(seconds))}, max {dur(max(seconds))} ({shown[what]})",
               "<= 20 ms", statistics.median(seconds) <= 0.02)  # fmt: skip
    report(12, "history polls meanwhile", f"max {dur(worst)}, median {dur(median)} ({polls} polls)",
           "<= 100 ms", worst <= 0.1)  # fmt: skip


# --- 13. scenario PUT memory ---------------------------------------------------------------------------


def filled(head: str, item: Callable[[int], str], tail: str = "", size: int = 1_040_000) -> str:
    """``head``, then ``item(1)``, ``item(2)``… while they fit in ``size`` bytes (or it gives ""),
    then ``tail``."""
    parts, length = [head], len(head) + len(tail)
    for n in itertools.count(1):
        part = item(n)
        if not part or length + len(part) > size:
            break
        parts.append(part)
        length += len(part)
    return "".join([*parts, tail])


def worst_scenarios(quick: bool) -> dict[str, tuple[str, int]]:
    """About 1 MiB each (a tenth with ``--quick``): the document and the status it should get."""
    size = 104_000 if quick else 1_040_000
    faults = ", ".join(["{status: 503}"] * 45)
    deep = "{a: " * 58 + "0" + "}" * 58

    def script(n: int) -> str:
        return f"  - {{match: {{path: /content/dam/x{n}/**}}, faults: [{faults}]}}\n" if n <= 1000 else ""

    def fault(n: int) -> str:
        return f"  - {{status: 500, body: {deep}}}\n" if n <= 1000 else ""

    def key(n: int) -> str:
        return f"k{n}: 0,"

    def asset(n: int) -> str:
        return f"  - {{a: {deep}}}\n"

    return {
        "row 8's assets": (big_scenario(size), 200),
        "1,000 job scripts, 45,000 faults": (filled('description: "jobs"\njobs:\n', script, size=size), 200),
        "1,000 faults 60 levels deep": (filled('description: "deep"\nfaults:\n', fault, size=size), 200),
        "a flow list of 500,000 nodes": (filled('description: "d"\nx: [', lambda n: "0,", "0]\n", size), 400),
        "a flow mapping of 100,000 keys": (filled('description: "d"\nx: {', key, "z: 0}\n", size), 400),
        "deep flow mappings": (filled('description: "d"\nrepository:\n  assets:\n', asset, size=size), 400),
    }


def bench_scenario_memory(args: argparse.Namespace) -> None:
    print("== 13. peak RSS of a fresh server loading a ~1 MiB scenario (PUT /__admin/scenario)")
    for what, (text, expected) in worst_scenarios(args.quick).items():
        with serve(f"13/{what}", None) as server:
            time.sleep(0.3)
            idle = server.rss()
            try:
                answer = once(server.port, "PUT", f"{ADMIN}/scenario", text.encode(),
                              {"Content-Type": "application/yaml"}, timeout=120)  # fmt: skip
                status, load = answer.status, dur(answer.seconds)
            except TimeoutError:
                status, load = None, timed_out(120)
            peak = server.hwm()
        report(13, f"{what} ({len(text):,} bytes)", f"{status} in {load}; RSS {mb(idle)} -> peak {mb(peak)}",
               f"{expected}, < 150 MB", status == expected and peak < 150)  # fmt: skip


# --- 14. scenario GETs ----------------------------------------------------------------------------------


def secret_scenario(quick: bool) -> str:
    """Row 13's 1,000 job scripts with secrets to mask: passwords and a token (no admin token: it
    would close the admin API to the bench's requests)."""
    secrets = 'settings:\n  users: {admin: admin, bob: "hunter2secret"}\n  tokens: {tok-bench-1: bob}\n'
    text, _ = worst_scenarios(quick)["1,000 job scripts, 45,000 faults"]
    return secrets + text  # 1,000 scripts fill about 730 KB: the secrets fit below the 1 MiB cap


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the current RSS (Linux's clear_refs 5): a peak measured from here on."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def concurrently(count: int, send: Callable[[int], Answer]) -> tuple[list[int | str], float]:
    """``send(n)`` for n in range(count), each in its own thread, all at once: the statuses (or the
    errors' names) in order, and the time until the last answered."""
    results: list[int | str] = ["no answer"] * count
    gate = threading.Barrier(count)

    def one(n: int) -> None:
        gate.wait()
        try:
            results[n] = send(n).status
        except (OSError, http.client.HTTPException) as error:
            results[n] = type(error).__name__

    began = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results, time.perf_counter() - began


def bench_scenario_gets(args: argparse.Namespace) -> None:
    text = secret_scenario(args.quick)
    print(f"== 14. 6 concurrent GET /__admin/scenario, then 6 dashboard scenario pages, of a "
          f"{len(text):,}-byte scenario with secrets, while history is polled every 10 ms")  # fmt: skip
    pages = {"GET /__admin/scenario": f"{ADMIN}/scenario", "GET /__admin/ui/scenario": f"{ADMIN}/ui/scenario"}
    for what, target in pages.items():
        with serve(f"14/{what}", text) as server:
            time.sleep(0.5)
            idle = server.rss()
            reset_peak(server.pid)
            poller = Poller(server.port, 0.01)
            poller.start()
            time.sleep(0.3)
            statuses, seconds = concurrently(
                6, lambda n, target=target: once(server.port, "GET", target, timeout=120)
            )
            time.sleep(0.3)
            worst, median, polls = poller.finish()
            peak = server.hwm()
        seen = ", ".join(f"{n}x {status}" for status, n in Counter(statuses).most_common())
        report(14, f"6x {what}", f"{seen} in {dur(seconds)}; RSS {mb(idle)} -> peak {mb(peak)}",
               "200, < 150 MB", statuses == [200] * 6 and peak < 150)  # fmt: skip
        report(14, "history polls meanwhile", f"max {dur(worst)}, median {dur(median)} ({polls} polls)",
               "<= 100 ms", worst <= 0.1)  # fmt: skip


# --- 15. concurrent scenario PUTs -----------------------------------------------------------------------


def bench_scenario_puts(args: argparse.Namespace) -> None:
    text = secret_scenario(args.quick).encode()
    print(f"== 15. 4 concurrent PUT /__admin/scenario of {len(text):,} bytes each on a fresh server, while "
          "history is polled every 10 ms")  # fmt: skip
    with serve("15", None) as server:
        time.sleep(0.5)
        idle = server.rss()
        poller = Poller(server.port, 0.01)
        poller.start()
        time.sleep(0.3)
        headers = {"Content-Type": "application/yaml"}
        statuses, seconds = concurrently(
            4, lambda n: once(server.port, "PUT", f"{ADMIN}/scenario", text, headers, timeout=120)
        )
        time.sleep(0.3)
        worst, median, polls = poller.finish()
        peak = server.hwm()
    seen = ", ".join(f"{n}x {status}" for status, n in Counter(statuses).most_common())
    report(15, "4 concurrent 1 MiB PUTs", f"{seen} in {dur(seconds)}; RSS {mb(idle)} -> peak {mb(peak)}",
           "each 200 or 409, < 150 MB", set(statuses) <= {200, 409} and peak < 150)  # fmt: skip
    report(15, "history polls meanwhile", f"max {dur(worst)}, median {dur(median)} ({polls} polls)",
           "<= 100 ms", worst <= 0.1)  # fmt: skip


# --- main ----------------------------------------------------------------------------------------------

BENCHMARKS: dict[int, Callable[[argparse.Namespace], None]] = {
    1: bench_error_bodies,
    2: bench_query_strings,
    3: bench_downloads,
    4: bench_shutdown,
    5: bench_spellings,
    6: bench_idle_connections,
    7: bench_admin_input,
    8: bench_scenario_load,
    9: bench_glob,
    10: bench_cycles,
    11: bench_bombs,
    12: bench_admin_jobs,
    13: bench_scenario_memory,
    14: bench_scenario_gets,
    15: bench_scenario_puts,
}


def selection(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 1,3,10, got {text!r}") from None
    if not numbers or not set(numbers) <= set(BENCHMARKS):
        raise argparse.ArgumentTypeError(f"expected numbers from 1 to {len(BENCHMARKS)}, got {text!r}")
    return sorted(set(numbers))


def summary_table() -> str:
    header = Row(0, "measurement", "figure", "target", "")
    rows = [header, *ROWS]
    width_what = max(len(r.what) for r in rows)
    width_target = max(len(r.target) for r in rows)
    lines = []
    for row in rows:
        number = "#" if row is header else str(row.number)
        lines.append(f"{number:>2}  {row.what:<{width_what}}  {row.verdict or '-':4}  "
                     f"{row.target:<{width_target}}  {row.figure}")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    global checkout
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--checkout", type=Path, default=ROOT, help="the repository whose server to measure "
                     "(default: the one this script lives in)")  # fmt: skip
    cli.add_argument("--only", type=selection, default=sorted(BENCHMARKS), metavar="N[,N...]",
                     help="run these measurements only")  # fmt: skip
    cli.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    cli.add_argument(
        "--no-fail", action="store_true", help="report only; exit 0 even when a target is missed"
    )
    args = cli.parse_args()
    checkout = args.checkout.resolve()
    where = subprocess.run(
        [sys.executable, "-c", "import mock_server; print(mock_server.__file__)"],
        cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)}, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"server code: {where}" + (" (--quick)" if args.quick else ""), flush=True)
    for number in args.only:
        began = time.perf_counter()
        try:
            BENCHMARKS[number](args)
        except Exception as error:  # one measurement failing must not stop the others
            traceback.print_exc()
            report(number, "could not measure", f"{type(error).__name__}: {error}"[:300], "-", False)
        print(f"   ({dur(time.perf_counter() - began)} for measurement {number})\n", flush=True)
    print("== summary\n" + summary_table())
    if NOTES:
        print("\nthe server's stderr:\n" + "\n".join(f"  {note}" for note in NOTES))
    misses = [row for row in ROWS if row.verdict == "MISS"]
    judged = sum(bool(row.verdict) for row in ROWS)
    print(f"\n{len(misses)} of {judged} targets missed" if misses else "\nall targets met")
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
