"""Figures of sessions (issue 23 item 5), each against its goal and a baseline from the same run.

    .venv/bin/python bench/bench_sessions.py [--sessions 1000] [--old REV] [--no-state] [--no-fail]

1. Memory per idle session. (a) tracemalloc, in a child process of the checkout measured: the
   bytes that ``--sessions`` sessions made on first use (the middleware's path) hold after a
   collection, per session; the first session is made before (what all sessions share is not an
   idle session's cost). (b) The RSS of a ``serve`` process before and after as many sessions made
   by ``POST /__admin/sessions``, per session, and the RSS with all of them. Goals: <= 100 KB a
   session; 1,000 sessions under 150 MB RSS.
2. Creating a session: each ``POST /__admin/sessions`` on a keep-alive connection, each followed
   by a status poll of a job on the same connection (the baseline: the request a client sends
   most). The figure is the server's CPU time per creation (from /proc, summed over all of them),
   beside the poll's; the wall round trips (median, p95, and of the pairs' differences) are shown
   too, but swing with the machine's other load. The child also times a creation in-process (its
   CPU time, no HTTP). Goal: <= 2 ms.
3. Polling spread: one job in each session (the server's clock is manual: the jobs stand still,
   so that both sides poll the same work); the load generator (``bench/loadgen.py``, its own
   process) polls one session's job, then the same job under ``--sessions`` URLs (jQuery's
   cache-buster ``_``: what distinct URLs cost aiohttp and yarl, whose caches hold 128), then
   every session's in turn, ``--rounds`` times (every other round in the reverse order), after an
   untimed round of the spread. The figure is the ratio of requests per CPU-second of the server
   (median of the rounds'; each round's is shown): on a shared machine requests/s swing with the
   other processes' load, and are shown beside it. Goal: >= 0.95.
   The framework's share: a bare aiohttp app (``bench/bare_app.py``, every path answered with a
   status body) polled in each round at the one session's URL and at the spread's 1,000 URLs
   gives what 1,000 distinct URLs cost aiohttp and yarl alone per request (their caches of parsed
   URLs hold 128), in server CPU microseconds; the mock's spread with that taken out, against one
   session, is the project's own share (shown beside the goal's figure, with the bare ratio).
4. ``serve --state`` (``bench/bench_state.py``, whose docstring says how): a restart with
   ``--jobs`` (10,000) stored jobs ready in <= 1 s against a cold start without ``--state``; the
   state file's size after a journal's worth of exchanges and after ten times as many (bounded as
   the journal is); polling throughput with ``--state`` against without. ``--no-state`` skips it.

``--old REV`` measures a checkout of REV too (``git worktree add --detach`` in a temporary folder,
removed at the end), before this one, so that both come from the same minutes of the same machine.
Exits 1 when this checkout misses a goal, unless ``--no-fail``. Run it as a script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import AUTH, BENCH, HOST, ROOT, cpu_seconds, proc_status_mb, spawn

from mock_server.api.operations import BASE_PATH

GOAL_KB = 100.0
GOAL_RSS_MB = 150.0
GOAL_CREATE_MS = 2.0
GOAL_SPREAD = 0.95


# --- 1a. in-process: tracemalloc and creation time (a child process of the checkout) ---------------


def child(count: int) -> dict[str, float]:
    """KB a session by tracemalloc, and creation ms (median, p95) in-process: run in the checkout."""
    import gc
    import tracemalloc

    from mock_server.core.sessions import SessionLimits
    from mock_server.http.options import build_mock
    from mock_server.http.sessions import _session, sessions_for

    server = build_mock(clock="real", environ={})
    limits = SessionLimits(max_sessions=max(count + 1, 1000))
    sessions = sessions_for(server, limits)
    _session(sessions, "first")  # what sessions share is built here, not counted below
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(count):
        _session(sessions, f"s{n}")
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    timed = sessions_for(server, limits)
    _session(timed, "first")
    took = []
    for n in range(count):
        began = time.process_time()
        _session(timed, f"t{n}")
        took.append((time.process_time() - began) * 1000)
    return {"kb": held / count / 1024, "median_ms": statistics.median(took), "p95_ms": _p95(took)}


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def in_process(checkout: Path, count: int) -> dict[str, float]:
    argv = [sys.executable, str(BENCH / "bench_sessions.py"), "--child", str(count)]
    done = subprocess.run(argv, cwd=checkout, env=_env(checkout), capture_output=True, text=True,
                          timeout=600, check=True)  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _env(checkout: Path) -> dict[str, str]:
    """The environment that imports ``mock_server`` from ``checkout`` (before the installed one)."""
    return {**os.environ, "PYTHONPATH": str(checkout)}


# --- 1b, 2, 3: a real server -----------------------------------------------------------------------


class Keep:
    """One keep-alive connection with the admin's credentials; each call answers (status, body, ms)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def __call__(self, method: str, target: str, body: Any = None) -> tuple[int, bytes, float]:
        headers = {"Authorization": AUTH}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        self.connection.request(method, target, body=data, headers=headers)
        response = self.connection.getresponse()
        answer = response.read()
        return response.status, answer, (time.perf_counter() - began) * 1000


def start(keep: Keep, target: str, path: str) -> str:
    """The processing ID of a job started on ``path`` by a POST to ``target``."""
    status, body, _ = keep("POST", target, {"path": path, "type": "ASSET_PROCESSING"})
    if status != 200:
        raise RuntimeError(f"starting a job at {target} answered {status}: {body[:300]!r}")
    return str(json.loads(body)["processingId"])


def status_of(prefix: str, processing_id: str) -> str:
    return f"{prefix}{BASE_PATH}/status?processingId={processing_id}"


def loadgen(port: int, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listed:
        listed.write("\n".join(paths))
        listed.flush()
        argv = [sys.executable, str(BENCH / "loadgen.py"), "--port", str(port), "--paths-file", listed.name,
                "--header", f"Authorization: {AUTH}", "--connections", str(args.connections),
                "--duration", str(args.duration), "--warmup", "0.5"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60, check=True)
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    if result["error_count"] or set(result["statuses"]) != {"200"}:
        raise RuntimeError(f"the load did not all answer 200: {result}")
    return result


def _bare(body: bytes, folder: Path) -> list[str]:
    """A bare aiohttp app answering every path with ``body`` (a status answer of the mock's)."""
    (folder / "status.json").write_bytes(body)
    return [sys.executable, str(BENCH / "bare_app.py"), "--path", "/{tail:.*}", "--body-file",
            str(folder / "status.json")]  # fmt: skip


def _polled(server: Any, paths: list[str], args: argparse.Namespace, per_cpu: list[float]) -> float:
    """Poll ``paths`` on ``server`` (the load generator's run); add its requests per CPU-second of
    the server to ``per_cpu``; answer its requests/s."""
    used = cpu_seconds(server.process.pid)
    result = loadgen(server.port, paths, args)
    used = cpu_seconds(server.process.pid) - used
    per_cpu.append(sum(result["statuses"].values()) / max(used, 1e-9))
    return float(result["rps"])


def served(checkout: Path, args: argparse.Namespace) -> dict[str, Any]:
    """RSS, creation over HTTP against a status poll, and the polling spread, of one ``serve``."""
    count = args.sessions
    argv = [sys.executable, "-m", "mock_server", "serve", "--host", HOST, "--port", "0", "--clock", "manual",
            "--quiet", "--max-sessions", str(max(count + 1, 1000))]  # fmt: skip
    figures: dict[str, Any] = {}
    with spawn("mock", argv, cwd=checkout, env=_env(checkout)) as server:
        keep = Keep(server.port)
        poll = status_of("", start(keep, BASE_PATH, "/content/dam"))
        status, made, _ = keep("POST", "/__admin/sessions", {"name": "first"})
        if status != 201:
            raise RuntimeError(f"POST /__admin/sessions answered {status}: {made[:300]!r}")
        first = status_of("/sessions/first", start(keep, "/sessions/first" + BASE_PATH, "/content/dam"))
        for _ in range(50):  # warm both paths
            keep("GET", poll)
            keep("GET", first)
        time.sleep(1.0)
        rss_before = proc_status_mb(server.process.pid, "VmRSS")
        create, baseline = [], []
        cpu = {"create": 0.0, "poll": 0.0}
        for n in range(count):
            used = cpu_seconds(server.process.pid)
            status, body, ms = keep("POST", "/__admin/sessions", {"name": f"s{n:05d}"})
            cpu["create"] += cpu_seconds(server.process.pid) - used
            if status != 201:
                raise RuntimeError(f"creating session {n} answered {status}: {body[:300]!r}")
            create.append(ms)
            used = cpu_seconds(server.process.pid)
            status, body, ms = keep("GET", poll)
            cpu["poll"] += cpu_seconds(server.process.pid) - used
            if status != 200:
                raise RuntimeError(f"the status poll answered {status}: {body[:300]!r}")
            baseline.append(ms)
        figures["create_cpu_ms"] = cpu["create"] * 1000 / count
        figures["poll_cpu_ms"] = cpu["poll"] * 1000 / count
        time.sleep(1.0)
        rss_after = proc_status_mb(server.process.pid, "VmRSS")
        figures["rss_before_mb"], figures["rss_after_mb"] = rss_before, rss_after
        figures["rss_kb"] = (rss_after - rss_before) * 1024 / count
        figures["create"] = {"median_ms": statistics.median(create), "p95_ms": _p95(create)}
        figures["poll"] = {"median_ms": statistics.median(baseline), "p95_ms": _p95(baseline)}
        own = [c - b for c, b in zip(create, baseline, strict=True)]
        figures["create_own"] = {"median_ms": statistics.median(own), "p95_ms": _p95(own)}
        polls = []
        for n in range(count):
            prefix = f"/sessions/s{n:05d}"
            polls.append(status_of(prefix, start(keep, prefix + BASE_PATH, "/content/dam")))
        for poll in polls:  # each job's first poll (its payload made, its log's lines drawn) is done
            keep("GET", poll)  # once, as the one session's was: the rounds measure polls that repeat
        # One session's job under as many URLs: jQuery's cache-buster ``_``, which the mock ignores.
        busted = [f"{polls[0]}&_={n}" for n in range(count)]
        modes = {"one": polls[:1], "one_urls": busted, "spread": polls}
        rates: dict[str, list[float]] = {mode: [] for mode in modes}
        per_cpu: dict[str, list[float]] = {mode: [] for mode in modes | {"bare_one": [], "bare_spread": []}}
        with (
            tempfile.TemporaryDirectory() as folder,
            spawn("bare", _bare(keep("GET", poll)[1], Path(folder))) as bare,
        ):
            # An untimed round first: the collector's first full pass over the 1,000 sessions just
            # made (due once, whoever polls next) and the first polls of each URL are not the figure.
            _polled(server, polls, args, [])
            _polled(bare, polls, args, [])
            for round_ in range(args.rounds):
                order = list(modes.items())
                if round_ % 2:  # every other round in the other order: a drift of the machine cancels
                    order.reverse()
                for mode, paths in order:
                    rates[mode].append(_polled(server, paths, args, per_cpu[mode]))
                for mode, paths in (("bare_one", polls[:1]), ("bare_spread", polls))[
                    :: -1 if round_ % 2 else 1
                ]:
                    _polled(bare, paths, args, per_cpu[mode])
        figures["spread_rounds"] = [s / o for s, o in zip(per_cpu["spread"], per_cpu["one"], strict=True)]
        for mode in modes:
            figures[f"rps_{mode}"] = statistics.median(rates[mode])
            figures[f"cpu_{mode}"] = statistics.median(per_cpu[mode])
        figures["spread_ratio"] = statistics.median(
            s / o for s, o in zip(rates["spread"], rates["one"], strict=True)
        )
        figures["spread_cpu_ratio"] = statistics.median(
            s / o for s, o in zip(per_cpu["spread"], per_cpu["one"], strict=True)
        )
        figures["urls_cpu_ratio"] = statistics.median(
            s / o for s, o in zip(per_cpu["spread"], per_cpu["one_urls"], strict=True)
        )
        # The framework's own cost of 1,000 URLs per request (µs of CPU), and the spread without it.
        framework = [
            1e6 / s - 1e6 / o for s, o in zip(per_cpu["bare_spread"], per_cpu["bare_one"], strict=True)
        ]
        figures["bare_ratio"] = statistics.median(
            s / o for s, o in zip(per_cpu["bare_spread"], per_cpu["bare_one"], strict=True)
        )
        figures["framework_us"] = statistics.median(framework)
        figures["own_ratio"] = statistics.median(
            (1e6 / o) / (1e6 / s - f)
            for s, o, f in zip(per_cpu["spread"], per_cpu["one"], framework, strict=True)
        )
        figures["rss_with_jobs_mb"] = proc_status_mb(server.process.pid, "VmRSS")
        keep.connection.close()  # idle through the rounds: the server may have closed it
        status, _, _ = keep("GET", "/__admin/sessions")
        figures["listed"] = status
        keep.connection.close()
    return figures


# --- 4. state that survives a restart: bench/bench_state.py ---------------------------------------


def state_figures(checkout: Path, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(a) a restart with ``--jobs`` stored jobs ready against a cold start, (b) the state file's
    size after a journal's worth of exchanges and ten times as many, (c) polling with ``--state``
    against without: :func:`bench_state.state_figures` (lines, and the goals missed)."""
    import bench_state  # here: it imports this module's helpers

    return bench_state.state_figures(checkout, args)


# --- the table -------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def measure(name: str, checkout: Path, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The lines of figures of ``checkout``, and the goals it missed."""
    began = time.monotonic()
    mem = in_process(checkout, args.sessions)
    wire = served(checkout, args)
    n = args.sessions
    rows = [
        (f"1a. KB per idle session, tracemalloc ({n} sessions)", f"{mem['kb']:.1f} KB", f"<= {GOAL_KB:g} KB",
         mem["kb"] <= GOAL_KB),
        (f"1b. KB per idle session, RSS delta ({n} sessions)", f"{wire['rss_kb']:.1f} KB",
         f"<= {GOAL_KB:g} KB", wire["rss_kb"] <= GOAL_KB),
        (f"1c. server RSS with {n} idle sessions", f"{wire['rss_after_mb']:.1f} MB "
         f"(before: {wire['rss_before_mb']:.1f})", f"< {GOAL_RSS_MB:g} MB",
         wire["rss_after_mb"] < GOAL_RSS_MB),
        ("2a. create: server CPU per POST /__admin/sessions", f"{wire['create_cpu_ms']:.2f} ms",
         f"<= {GOAL_CREATE_MS:g} ms", wire["create_cpu_ms"] <= GOAL_CREATE_MS),
        ("    baseline: server CPU per status poll", f"{wire['poll_cpu_ms']:.2f} ms "
         f"(create: {wire['create_cpu_ms'] / max(wire['poll_cpu_ms'], 1e-9):.1f}x)", "", None),
        ("2b. create: in-process CPU (no HTTP) median/p95", f"{mem['median_ms']:.2f}/{mem['p95_ms']:.2f} ms",
         f"<= {GOAL_CREATE_MS:g} ms", mem["median_ms"] <= GOAL_CREATE_MS),
        ("2c. create: wall round trip median/p95", f"{wire['create']['median_ms']:.2f}/"
         f"{wire['create']['p95_ms']:.2f} ms", "", None),
        ("    baseline: a status poll's, same connection", f"{wire['poll']['median_ms']:.2f}/"
         f"{wire['poll']['p95_ms']:.2f} ms", "", None),
        ("    create minus poll (paired) median/p95", f"{wire['create_own']['median_ms']:.2f}/"
         f"{wire['create_own']['p95_ms']:.2f} ms", "", None),
        (f"3.  polls spread over {n} sessions / one session's", f"{wire['spread_cpu_ratio']:.3f} "
         f"(medians {wire['cpu_spread']:.0f} / {wire['cpu_one']:.0f} per CPU-s)", f">= {GOAL_SPREAD:g}",
         wire["spread_cpu_ratio"] >= GOAL_SPREAD),
        ("    each round's ratio", " ".join(f"{r:.2f}" for r in wire["spread_rounds"]), "", None),
        ("    the same in requests/s (wall: the machine's noise)", f"{wire['spread_ratio']:.3f} "
         f"(medians {wire['rps_spread']:.0f} / {wire['rps_one']:.0f} req/s)", "", None),
        (f"    spread / one session's job under {n} URLs", f"{wire['urls_cpu_ratio']:.3f} "
         f"(medians {wire['cpu_spread']:.0f} / {wire['cpu_one_urls']:.0f} per CPU-s)", "", None),
        (f"    bare aiohttp: {n} URLs / one URL, per CPU-s", f"{wire['bare_ratio']:.3f} "
         f"(+{wire['framework_us']:.1f} us of CPU a request)", "", None),
        ("    spread / one, the bare framework's +us taken out", f"{wire['own_ratio']:.3f} (the project's "
         "own share)", f">= {GOAL_SPREAD:g}", None),
        (f"    server RSS with {n} sessions of one job each", f"{wire['rss_with_jobs_mb']:.1f} MB", "", None),
    ]  # fmt: skip
    lines = [
        f"== {name}: {checkout} ({time.monotonic() - began:.0f} s; a ratio is the median of the rounds')"
    ]
    missed = []
    for label, figure, goal, ok in rows:
        lines.append(f"   {label:<52} {figure:<30} {goal:<10} {'' if ok is None else verdict(ok)}".rstrip())
        if ok is False:
            missed.append(label.strip())
    if not args.no_state:
        state_lines, state_missed = state_figures(checkout, args)
        lines, missed = lines + state_lines, missed + state_missed
    return lines, missed


def main() -> int:
    import bench_state

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--sessions", type=int, default=1000, help="sessions made (default 1000)")
    cli.add_argument("--rounds", type=int, default=7, help="rounds of one-versus-spread polling (default 7)")
    cli.add_argument("--duration", type=float, default=3.0, help="measured seconds of each load (default 3)")
    cli.add_argument("--connections", type=int, default=8, help="the load's connections (default 8)")
    cli.add_argument("--old", metavar="REV", help="measure a checkout of REV too, first")
    cli.add_argument("--no-fail", action="store_true", help="exit 0 even when a goal is missed")
    cli.add_argument("--no-state", action="store_true", help="skip the figures of serve --state (4)")
    bench_state.add_options(cli)
    cli.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; goals from issue 23 item 5", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as folder:
        old = Path(folder) / "old"
        if args.old:
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old), args.old], cwd=ROOT,
                           check=True)  # fmt: skip
        try:
            if args.old:
                lines, _ = measure(f"old ({args.old})", old, args)
                print("\n".join(lines), flush=True)
            lines, missed = measure("new", ROOT, args)
            print("\n".join(lines), flush=True)
        finally:
            if args.old:
                subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    print("every goal met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
