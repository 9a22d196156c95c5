"""Benchmarks of ``scenario-from`` and ``verify`` under hostile input, each figure with its target.

    .venv/bin/python bench/bench_tools.py [--checkout DIR] [--only 1,4] [--max-memory MIB] [--no-fail]

Each tool runs as a subprocess, ``python -m mock_server …`` with cwd and PYTHONPATH set to ``--checkout``
(default: this repository), so the same script measures an older checkout (``git worktree add
/work/wt/tools-old b0b5eaa``). Its peak RSS is the kernel's (``wait4``'s ``ru_maxrss``), its time the wall
clock's; its address space is limited to ``--max-memory`` (default 4096 MiB), so that an old checkout's
blow-up is its own MemoryError and not the machine's; it is killed after ``--deadline`` seconds. What it
wrote to stderr is searched for "Traceback". The hostile authors run in this process, on loopback.

1. scenario-from, a tape whose downloaded log is a 16 KB ZIP bomb (16 MB of empty lines).
2. scenario-from, a ~100 MB tape of tiny objects (history answers of 2,000 empty objects a line).
3. scenario-from /dev/stdin, fed 257 MiB (past the 256 MiB cap) through a pipe.
4. verify --timeout 10s, an author that accepts connections and never answers.
5. verify --timeout 10s, an author that answers until a job is started, then never again.
6. verify --profile readonly, an author whose log pages say hasMore forever (100 lines of 200 bytes each).
7. scenario-from, a ~60 MB tape of 300 jobs whose log pages hold 50,000 empty lines each.
8. scenario-from, a ~250 MB tape of 240 starts, each excluding 1,000 paths of 1,000 characters.

Targets: RSS < 150 MB every time; verify exits within --timeout + 1 s; no "Traceback" in any stderr.
Exits 1 when a target is missed, unless ``--no-fail`` is given. Run it as a script, not with ``python -m``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
BASE = "/bin/guides/v1/assets/process"
HEADER = {"tape": "aem-guides-mock", "version": 1, "upstream": "http://aem:4502"}
MIB = 1 << 20
RSS_TARGET_MB = 150


@dataclass
class Ran:
    code: int | None  # None: killed at the deadline
    seconds: float
    rss_mb: float
    out: str
    err: str

    def said(self) -> str:
        """What it said: its first setup error (verify), else the last line of stderr, shortened."""
        found = [line.strip() for line in self.out.splitlines() if line.strip().startswith("[setup error]")]
        text = found or (self.err.strip() or self.out.strip()).splitlines()[-1:]
        return text[0][:160] if text else ""


@dataclass
class Row:
    number: int
    what: str
    figure: str
    target: str
    ok: bool


def tool(checkout: Path, args: list[str], *, feed: Iterator[bytes] | None = None, deadline: float = 300,
         max_memory: int = 4096) -> Ran:  # fmt: skip
    """``python -m mock_server ARGS`` from ``checkout``; its exit code, time, peak RSS and output."""

    def limit() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (max_memory * MIB, max_memory * MIB))

    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", *args], cwd=checkout, env=env, stdout=out, stderr=err,
            stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL, preexec_fn=limit,
        )  # fmt: skip
        began, killed = time.monotonic(), threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(deadline, kill)
        timer.start()
        if feed is not None:
            threading.Thread(target=_feed, args=(process, feed), daemon=True).start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - began
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        out.seek(0)
        err.seek(0)
        code = None if killed.is_set() else process.returncode
        return Ran(code, seconds, usage.ru_maxrss / 1024, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))  # fmt: skip


def _feed(process: subprocess.Popen[bytes], chunks: Iterator[bytes]) -> None:
    assert process.stdin is not None
    try:
        for chunk in chunks:
            process.stdin.write(chunk)
        process.stdin.close()
    except (BrokenPipeError, ValueError, OSError):  # the reader stopped at its cap, or was killed
        pass


def check_checkout(checkout: Path) -> str:
    """Where ``import mock_server`` resolves from ``checkout``: it must be inside it."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, "-c", "import mock_server; print(mock_server.__file__)"]
    found = subprocess.run(
        argv, cwd=checkout, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f"bench_tools: mock_server imports from {found}, not from {checkout}")
    return found


# --- tapes -------------------------------------------------------------------------------------------------


def exchange(operation: str, method: str, path: str, status: int, answer: Any, **request: Any) -> str:
    sent = {"method": method, "path": path, **request}
    answered = {"status": status, "headers": {}, "body": answer}
    return json.dumps({"at_ms": 0, "operation": operation, "request": sent, "response": answered})


def bomb_tape(folder: Path) -> tuple[Path, int]:
    """A tape whose job's log was downloaded as a ZIP of 16 MB of empty lines: some 16 KB."""
    (folder / "bodies").mkdir(parents=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        bomb.writestr("job-1.log", "\n" * 16_000_000)
    (folder / "bodies" / "0003-response.zip").write_bytes(archive.getvalue())
    counts = {"totalFiles": 1, "calculationStatus": "SUCCESS"}
    job = {"processingId": "job-1", "path": "/content/dam/x", "status": "SUCCESS", "triggeredCount": 1,
           "startedAt": 1, "completedAt": 2, "migrationSet": counts, "comments": "",
           "cancellable": False, "resumable": False, "restartable": True}  # fmt: skip
    download = json.loads(exchange("download", "GET", f"{BASE}/logs/download", 200, None,
                                   query="processingId=job-1"))  # fmt: skip
    download["response"]["body_file"] = "bodies/0003-response.zip"
    rows = [json.dumps(HEADER),
            exchange("start", "POST", BASE, 200, {"processingId": "job-1"}, body={"path": "/content/dam/x"}),
            exchange("status", "GET", f"{BASE}/status", 200, job, query="processingId=job-1"),
            json.dumps(download)]  # fmt: skip
    (folder / "tape.jsonl").write_text("\n".join(rows) + "\n")
    return folder, len(archive.getvalue())


def tiny_tape(folder: Path, size: int = 100 * 1000 * 1000) -> tuple[Path, int]:
    """A tape of history answers of 2,000 empty objects each: ~6 KB lines, ``size`` bytes in all."""
    folder.mkdir(parents=True)
    line = (
        exchange("history", "GET", f"{BASE}/history", 200, {"executionHistory": [{}] * 2000}) + "\n"
    ).encode()
    with (folder / "tape.jsonl").open("wb") as out:
        out.write((json.dumps(HEADER) + "\n").encode())
        for _ in range(size // len(line)):
            out.write(line)
    return folder, (folder / "tape.jsonl").stat().st_size


def empty_lines_tape(folder: Path, jobs: int = 300, lines: int = 50_000) -> tuple[Path, int]:
    """A tape of ``jobs`` jobs, each started and then paged one log page of ``lines`` empty lines: 4 bytes
    of JSON a line, yet each kept line costs its dict entry (some 80 bytes)."""
    folder.mkdir(parents=True)
    page = {"lines": [""] * lines, "offset": 0, "limit": lines, "hasMore": False}
    with (folder / "tape.jsonl").open("w") as out:
        out.write(json.dumps(HEADER) + "\n")
        for n in range(jobs):
            pid = f"job-{n}"
            out.write(exchange("start", "POST", BASE, 200, {"processingId": pid},
                               body={"path": f"/content/dam/x{n}"}) + "\n")  # fmt: skip
            out.write(exchange("logs", "GET", f"{BASE}/logs", 200, page, query=f"processingId={pid}") + "\n")
    return folder, (folder / "tape.jsonl").stat().st_size


def excluding_tape(folder: Path, jobs: int = 240) -> tuple[Path, int]:
    """A tape of ``jobs`` starts, each excluding 1,000 paths of some 1,000 characters (the contract
    allows 1,000 of 4,096): 1 MB a line, all of it kept once."""
    folder.mkdir(parents=True)
    with (folder / "tape.jsonl").open("w") as out:
        out.write(json.dumps(HEADER) + "\n")
        for n in range(jobs):
            where = f"/content/dam/x{n}"
            body = {"path": where, "excludedPaths": [f"{where}/{i:04d}" + "y" * 1000 for i in range(1000)]}
            out.write(exchange("start", "POST", BASE, 200, {"processingId": f"job-{n}"}, body=body) + "\n")
    return folder, (folder / "tape.jsonl").stat().st_size


def piped(total: int) -> Iterator[bytes]:
    """A tape of ``total`` bytes, as a pipe is fed: a header, then small exchanges, 1 MiB at a time."""
    line = (
        exchange("status", "GET", f"{BASE}/status", 404, {"status": 404}, query="processingId=x") + "\n"
    ).encode()
    block = line * (MIB // len(line))
    yield (json.dumps(HEADER) + "\n").encode()
    for _ in range(total // len(block) + 1):
        yield block


# --- hostile authors --------------------------------------------------------------------------------------


@contextmanager
def author(make: Callable[[], Any]) -> Iterator[str]:
    """Serve what ``make()`` builds (an aiohttp app, or a raw ``asyncio`` handler) on loopback in a
    thread of its own; its URL."""
    ready: list[str] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        built = make()
        if isinstance(built, web.Application):
            runner = web.AppRunner(built, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
        else:
            server = await asyncio.start_server(built, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
        ready.append(f"http://127.0.0.1:{port}")
        await stop.wait()
        others = asyncio.all_tasks() - {asyncio.current_task()}  # the held connections: ended here
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if isinstance(built, web.Application):
            await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    while not ready:
        time.sleep(0.01)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)


def silent() -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(65536)
            await asyncio.Event().wait()  # accepted, read, never answered
        except asyncio.CancelledError:  # the bench is done with it: an end, not an error to log
            writer.close()

    return hold


def silent_after_start() -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        if "j" in (request.query.get("processingId"), body.get("processingId")):
            await asyncio.Event().wait()  # the started job: never a word about it
        if request.path.endswith("/status"):
            return web.json_response({"status": 404}, status=404)
        if request.method == "POST" and request.path == BASE:
            return web.json_response({"processingId": "j"} if "path" in body else {"status": 400},
                                     status=200 if "path" in body else 400)  # fmt: skip
        return web.json_response({"executionHistory": []} if request.path.endswith("/history") else {})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def endless_logs() -> web.Application:
    ended = {"processingId": "j", "path": "/content/dam/x", "status": "SUCCESS"}
    line = "2026-01-01 00:00:00:000: INFO: [ASSET_PROCESSING] " + "x" * 150

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/history"):
            return web.json_response({"executionHistory": [ended]})
        if request.path.endswith("/logs"):
            offset = int(request.query.get("offset", "0"))
            page = {"lines": [line] * 100, "offset": offset, "limit": 100, "hasMore": True}  # 20 KB
            return web.Response(text=json.dumps(page), content_type="application/json")
        if request.path.endswith("/status"):
            return web.json_response({"status": 404}, status=404)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- the measurements ---------------------------------------------------------------------------------------


def rss_row(number: int, what: str, ran: Ran, expected: str) -> Row:
    figure = f"RSS {ran.rss_mb:.0f} MB, {ran.seconds:.1f} s, exit {ran.code}: {ran.said()}"
    ok = ran.rss_mb < RSS_TARGET_MB and "Traceback" not in ran.err and ran.code is not None
    return Row(number, what, figure, f"RSS < {RSS_TARGET_MB} MB, no Traceback ({expected})", ok)


def measure(number: int, checkout: Path, work: Path, max_memory: int) -> Row:
    def run(args: list[str], **options: Any) -> Ran:
        return tool(checkout, args, max_memory=max_memory, **options)

    if number == 1:
        tape, size = bomb_tape(work / "bomb")
        ran = run(["scenario-from", str(tape), "-o", str(work / "bomb.yaml")])
        return rss_row(1, f"scenario-from, a {size / 1000:.0f} KB ZIP bomb body file", ran, "exit 2")
    if number == 2:
        tape, size = tiny_tape(work / "tiny")
        ran = run(["scenario-from", str(tape), "-o", str(work / "tiny.yaml")])
        return rss_row(2, f"scenario-from, a {size / 1e6:.0f} MB tape of tiny objects", ran, "exit 0")
    if number == 3:
        ran = run(["scenario-from", "/dev/stdin", "-o", str(work / "stdin.yaml")], feed=piped(257 * MIB))
        return rss_row(3, "scenario-from /dev/stdin, 257 MiB through a pipe", ran, "exit 2, the cap said")
    if number == 7:
        tape, size = empty_lines_tape(work / "empty")
        ran = run(["scenario-from", str(tape), "-o", str(work / "empty.yaml")])
        return rss_row(7, f"scenario-from, a {size / 1e6:.0f} MB tape of 300 jobs x 50,000 empty log lines",
                       ran, "exit 0")  # fmt: skip
    if number == 8:
        tape, size = excluding_tape(work / "excluding")
        ran = run(["scenario-from", str(tape), "-o", str(work / "excluding.yaml")])
        return rss_row(8, f"scenario-from, a {size / 1e6:.0f} MB tape of starts excluding 1,000 long paths",
                       ran, "exit 0")  # fmt: skip
    if number in (4, 5):
        make: Callable[[], Any] = silent if number == 4 else silent_after_start
        with author(make) as url:
            ran = run(["verify", "--target", url, "--timeout", "10s", "--rate", "1000/s", "--poll", "100ms",
                       "--sandbox", "/content/dam/x"], deadline=120)  # fmt: skip
        ok = ran.code == 3 and ran.seconds <= 11 and "Traceback" not in ran.err
        what = "never answers" if number == 4 else "answers until a job is started, then never again"
        figure = f"{ran.seconds:.1f} s, exit {ran.code}, RSS {ran.rss_mb:.0f} MB: {ran.said()}"
        return Row(number, f"verify --timeout 10s, an author that {what}", figure,
                   "exit 3 within 11 s, no Traceback", ok)  # fmt: skip
    with author(endless_logs) as url:
        argv = ["verify", "--target", url, "--profile", "readonly", "--timeout", "120s", "--rate", "1000/s"]
        ran = run(argv, deadline=180)
    return rss_row(6, "verify, an endless hasMore (pages of 100 lines)", ran, "exit 3, the cap said")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkout", type=Path, default=ROOT, help="the repository to measure (default: this one)"
    )
    parser.add_argument("--only", default="", help="the measurements to run, such as 1,4 (default: all)")
    parser.add_argument("--max-memory", type=int, default=4096, metavar="MIB", help="address space of a tool")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a target is missed")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    print(f"checkout {checkout} (mock_server from {check_checkout(checkout)})", flush=True)
    numbers = [int(n) for n in args.only.split(",") if n] or [1, 2, 3, 4, 5, 6, 7, 8]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as work:
        for number in numbers:
            row = measure(number, checkout, Path(work), args.max_memory)
            rows.append(row)
            print(f"{row.number}. {row.what}\n   {row.figure}\n   target: {row.target}: "
                  f"{'met' if row.ok else 'MISSED'}", flush=True)  # fmt: skip
    missed = [row.number for row in rows if not row.ok]
    print(f"{len(rows) - len(missed)} of {len(rows)} targets met" + (f"; missed: {missed}" if missed else ""))
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
