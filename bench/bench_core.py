"""Benchmarks of the mock's core, each measured against its target in the same run.

    .venv/bin/python bench/bench_core.py [--duration 10] [--connections 32] [--assets 1000000]

1. Status-polling throughput: the dev server (``python -m mock_server serve``) answering
   ``GET .../status?processingId=ID`` against a bare aiohttp app that returns the same bytes
   unchecked; targets: mock/bare >= 0.6 and the mock's p99 <= 10 ms. The load comes from
   ``bench/loadgen.py`` in its own process (or from ``wrk`` when it is on PATH), the same generator
   for both servers. The dev server runs at ``--speed 0.1`` so that the polled job stays
   IN_PROGRESS. Each run also shows the CPU shares of server, load generator and other processes,
   and requests per server CPU-second, which tell a noisy machine from a slow server.
2. Memory: the server's RSS while a job over about a million assets runs and is polled, paged deep
   into its log and downloaded as a ZIP; target: peak RSS <= 150 MB.

Exits 1 when a target is missed (or a response is not 200), unless ``--no-fail`` is given.
Run it as a script (it imports ``harness`` from its own folder), not with ``python -m``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import ExitStack
from typing import Any

from harness import (
    AUTH,
    BENCH,
    HOST,
    RssSampler,
    Server,
    cpu_seconds,
    fetch,
    proc_status_mb,
    spawn,
    start_job,
)

from mock_server.api.operations import BASE_PATH

# --- 1. status-polling throughput ------------------------------------------------------------------


def load(server: Server, target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run the load generator against one server, in its own process; add CPU shares (%)."""
    timeout = args.warmup + args.duration + 30
    before = {"server": cpu_seconds(server.process.pid), "load": cpu_seconds(0), "all": cpu_seconds()}
    began = time.perf_counter()
    if shutil.which("wrk"):
        result = load_with_wrk(server.port, target, args, timeout)
    else:
        argv = [sys.executable, str(BENCH / "loadgen.py"), "--port", str(server.port), "--path", target,
                "--header", f"Authorization: {AUTH}", "--connections", str(args.connections),
                "--duration", str(args.duration), "--warmup", str(args.warmup)]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
        result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    wall = time.perf_counter() - began
    after = {"server": cpu_seconds(server.process.pid), "load": cpu_seconds(0), "all": cpu_seconds()}
    used = {k: 100 * (after[k] - before[k]) / wall for k in before}
    result["cpu"] = {"server": used["server"], "load": used["load"],
                     "other": max(0.0, used["all"] - used["server"] - used["load"])}  # fmt: skip
    return result


def load_with_wrk(port: int, target: str, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration:g}s", "--latency",
            "-H", f"Authorization: {AUTH}", f"http://{HOST}:{port}{target}"]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {p: float(v) * unit[u] for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)}
    return {"requests": int(rps * args.duration), "rps": rps, "p50_ms": lat.get("50", float("nan")),
            "p99_ms": lat.get("99", float("nan")), "statuses": {"non-2xx": int(bad.group(1))} if bad else {},
            "error_count": 0, "errors": []}  # fmt: skip


def summary(result: dict[str, Any]) -> str:
    cpu = result["cpu"]
    return (
        f"{result['rps']:9.0f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  "
        f"statuses {result['statuses']}  errors {result['error_count']}  "
        f"cpu% server {cpu['server']:.0f} loadgen {cpu['load']:.0f} other {cpu['other']:.0f}  "
        f"=> {efficiency(result):.0f} req per server CPU-s"
    )


def efficiency(result: dict[str, Any]) -> float:
    """Requests answered per second of the server's CPU: its cost per request, whatever else ran."""
    return float(result["rps"] / max(result["cpu"]["server"] / 100, 1e-9))


def bench_throughput(args: argparse.Namespace) -> list[str]:
    """Print the figures; return the targets missed."""
    print(f"== 1. status-polling throughput: {args.connections} connections, {args.duration:g} s each "
          f"(+{args.warmup:g} s warm-up), best of {args.rounds}; load: "
          f"{'wrk' if shutil.which('wrk') else 'bench/loadgen.py (asyncio, keep-alive)'}")  # fmt: skip
    misses: list[str] = []
    with ExitStack() as stack:
        # --speed 0.1 (2 s per asset): the polled job stays IN_PROGRESS through every round.
        serve = [sys.executable, "-m", "mock_server", "serve", "--host", HOST, "--port", "0",
                 "--speed", "0.1"]  # fmt: skip
        mock = stack.enter_context(spawn("mock", serve))
        processing_id = start_job(mock.port, "/content/dam")
        target = f"{BASE_PATH}/status?processingId={processing_id}"
        status, content_type, sample = fetch(mock.port, "GET", target)
        if status != 200:
            raise RuntimeError(f"status answered {status}: {sample[:300]!r}")
        body_file = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".json"))
        body_file.write(sample)
        body_file.flush()
        bare_argv = [sys.executable, str(BENCH / "bare_app.py"), "--path", f"{BASE_PATH}/status",
                     "--body-file", body_file.name]  # fmt: skip
        bare = stack.enter_context(spawn("bare", bare_argv))
        bare_status, bare_type, bare_body = fetch(bare.port, "GET", target)
        if (bare_status, bare_body) != (200, sample) or bare_type.split(";")[0] != "application/json":
            raise RuntimeError(f"the bare app answers {bare_status} {bare_type}, not the mock's bytes")
        print(f"   sample body: {len(sample)} bytes of {content_type}")
        best: dict[str, dict[str, Any]] = {}
        lean: dict[str, float] = {}
        for round_no in range(1, args.rounds + 1):
            for server in (mock, bare):
                result = load(server, target, args)
                print(f"   round {round_no} {server.name:4}: {summary(result)}")
                if server is mock and (set(result["statuses"]) - {"200"} or result["error_count"]):
                    misses.append(f"the mock answered {result['statuses']}, errors {result['errors']}")
                if result["rps"] > best.get(server.name, {"rps": -1.0})["rps"]:
                    best[server.name] = result
                lean[server.name] = max(lean.get(server.name, 0.0), efficiency(result))
        _, _, final = fetch(mock.port, "GET", target)
        job = json.loads(final)
        print(f"   the polled job was {job['status']} at the end "
              f"({job['triggeredCount']}/{job['migrationSet']['totalFiles']} assets)")  # fmt: skip
    ratio = best["mock"]["rps"] / best["bare"]["rps"]
    for name in ("mock", "bare"):
        print(f"   best {name}: {best[name]['rps']:.0f} req/s (p50 {best[name]['p50_ms']:.2f} ms, "
              f"p99 {best[name]['p99_ms']:.2f} ms); best {lean[name]:.0f} req per server CPU-s")  # fmt: skip
    if best["bare"]["cpu"]["load"] >= 90:
        print("   note: the load generator was near a full core against the bare app, so the bare figure "
              "is a floor and the ratio flatters the mock")  # fmt: skip
    if max(r["cpu"]["other"] for r in best.values()) >= 25:
        print("   note: other processes used a large share of the CPU during a best run; figures are noisy")
    verdict = "PASS" if ratio >= args.min_ratio else "MISS"
    print(f"   ratio mock/bare: {ratio:.3f}   target >= {args.min_ratio:g}   {verdict}   "
          f"(per server CPU-s: {lean['mock'] / lean['bare']:.3f}, for context)")  # fmt: skip
    if ratio < args.min_ratio:
        misses.append(f"throughput ratio {ratio:.3f} < {args.min_ratio:g}")
    p99 = best["mock"]["p99_ms"]
    verdict = "PASS" if p99 <= args.max_p99_ms else "MISS"
    target = f"target <= {args.max_p99_ms:g} ms"
    print(f"   mock p99 at {args.connections} connections: {p99:.2f} ms   {target}   {verdict}")
    if p99 > args.max_p99_ms:
        misses.append(f"p99 {p99:.2f} ms > {args.max_p99_ms:g} ms")
    return misses


# --- 2. memory while a million-asset job runs -------------------------------------------------------


def download_zip(port: int, processing_id: str) -> tuple[int, int, float]:
    """Download the log ZIP; return (ZIP bytes, lines in it, seconds)."""
    began = time.perf_counter()
    status, content_type, data = fetch(port, "GET", f"{BASE_PATH}/logs/download?processingId={processing_id}",
                                       timeout=120)  # fmt: skip
    seconds = time.perf_counter() - began
    if status != 200 or content_type != "application/zip":
        raise RuntimeError(f"logs/download answered {status} {content_type}")
    with tempfile.TemporaryFile() as file:
        file.write(data)
        with zipfile.ZipFile(file) as archive, archive.open(archive.namelist()[0]) as entry:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: entry.read(1 << 20), b""))
    return len(data), lines, seconds


def bench_memory(args: argparse.Namespace) -> list[str]:
    folders = 100
    per_folder = max(1, args.assets // folders)
    assets = folders * per_folder
    print(f"\n== 2. RSS while a {assets:,}-asset job runs (pace 1 ms/asset, "
          f"clock x{args.clock_factor:g}, about {assets / 1000 / args.clock_factor:.0f} s)")  # fmt: skip
    argv = [sys.executable, str(BENCH / "big_server.py"), "--folders", str(folders),
            "--per-folder", str(per_folder), "--clock-factor", str(args.clock_factor)]  # fmt: skip
    requests, deep_lines, slowest = 0, 0, 0.0
    downloads: list[tuple[str, int, int, float]] = []
    with spawn("big", argv) as big:
        time.sleep(0.5)
        idle = proc_status_mb(big.process.pid, "VmRSS")
        sampler = RssSampler(big.process.pid)
        sampler.start()
        try:
            processing_id = start_job(big.port, "/content/dam/big")
            marks = [0.25, 0.5, 0.75]  # download the ZIP once the job passes each, and when done
            deadline = time.monotonic() + args.rss_timeout
            job: dict[str, Any] = {}
            for _ in range(100_000):  # also bounded by the deadline
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the job did not finish in {args.rss_timeout:g} s: {job}")
                for query in ("", f"&offset={assets // 2}&limit=500", "&tail=500"):
                    path = "status" if not query else "logs"
                    began = time.perf_counter()
                    status, _, body = fetch(
                        big.port, "GET", f"{BASE_PATH}/{path}?processingId={processing_id}{query}"
                    )
                    slowest = max(slowest, time.perf_counter() - began)
                    requests += 1
                    if status != 200:
                        raise RuntimeError(f"{path}{query} answered {status}: {body[:300]!r}")
                    if not query:
                        job = json.loads(body)
                    elif "offset" in query:
                        deep_lines += len(json.loads(body)["lines"])
                total, done = job["migrationSet"]["totalFiles"], job["triggeredCount"]
                if job["status"] == "SUCCESS":
                    downloads.append(("the end", *download_zip(big.port, processing_id)))
                    break
                if marks and total and done >= marks[0] * total:
                    downloads.append((f"{done / total:.0%}", *download_zip(big.port, processing_id)))
                    marks = [m for m in marks if done < m * total]
                time.sleep(0.1)
            requests += len(downloads)
        finally:
            sampler.stopped.set()
            sampler.join(2)
        hwm = proc_status_mb(big.process.pid, "VmHWM")
    print(f"   idle server RSS just after start: {idle:.1f} MB")
    print(f"   job: {job['status']}, {job['triggeredCount']:,}/{job['migrationSet']['totalFiles']:,} assets; "
          f"{requests} requests, the slowest status/log page {slowest * 1000:.0f} ms; "
          f"{deep_lines:,} lines read from pages at offset {assets // 2:,}")  # fmt: skip
    for when, size, lines, seconds in downloads:
        print(f"   log ZIP at {when}: {size / 2**20:.1f} MB, {lines:,} lines, {seconds:.1f} s")
    verdict = "PASS" if max(sampler.peak, hwm) <= args.max_rss_mb else "MISS"
    print(f"   peak RSS: {sampler.peak:.1f} MB sampled ({sampler.samples} samples), {hwm:.1f} MB VmHWM   "
          f"target <= {args.max_rss_mb:g} MB   {verdict}")  # fmt: skip
    if verdict == "MISS":
        return [f"peak RSS {max(sampler.peak, hwm):.1f} MB > {args.max_rss_mb:g} MB"]
    return []


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--duration", type=float, default=10.0, help="measured seconds per load run")
    cli.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    cli.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    cli.add_argument("--rounds", type=int, default=3, help="alternate mock/bare this many times")
    cli.add_argument("--min-ratio", type=float, default=0.6, help="throughput target, mock/bare")
    cli.add_argument("--max-p99-ms", type=float, default=10.0, help="latency target, the mock's p99")
    cli.add_argument("--assets", type=int, default=1_000_000, help="assets in the memory job")
    cli.add_argument("--clock-factor", type=float, default=100.0, help="how fast the memory job's clock runs")
    cli.add_argument("--rss-timeout", type=float, default=180.0, help="give the memory job this long")
    cli.add_argument("--max-rss-mb", type=float, default=150.0, help="memory target, peak RSS")
    cli.add_argument("--only", choices=("throughput", "memory"), help="run one benchmark only")
    cli.add_argument(
        "--no-fail", action="store_true", help="report only; exit 0 even when a target is missed"
    )
    args = cli.parse_args()
    misses: list[str] = []
    if args.only != "memory":
        misses += bench_throughput(args)
    if args.only != "throughput":
        misses += bench_memory(args)
    print("\n" + ("all targets met" if not misses else "MISSED: " + "; ".join(misses)))
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
