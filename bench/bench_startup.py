"""Benchmark: cold start (process start to the first 200) and idle RSS of the dev server.

    .venv/bin/python bench/bench_startup.py [--runs 11]

Each run starts ``python -m mock_server serve --port 0 --ready-file F``, waits for the file, and
times until a first ``GET …/history`` has answered 200; the median is compared with the target
(300 ms). The baseline, measured in the same run, is a bare aiohttp app started the same way
(``bench/bare_app.py``): the floor that importing aiohttp itself sets. Runs alternate between the
two, and the mock's own share is the median of the paired differences. Idle RSS is read from /proc
once the server has answered and rested a second (target 60 MB).

The package is byte-compiled first, as pip does when it installs the wheel (aiohttp's own modules
are, in site-packages). Without that, a machine that sets PYTHONDONTWRITEBYTECODE (this one does)
would compile the mock's 27 modules from source at every start, some 40-60 ms that no user of the
installed tool pays.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
HISTORY = "/bin/guides/v1/assets/process/history"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(argv: list[str], ready: Path) -> tuple[float, float]:
    """Seconds from the process's start to its first 200, and its RSS (MB) after a rest."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        deadline = began + 30
        while not ready.exists():
            if time.perf_counter() > deadline or process.poll() is not None:
                raise RuntimeError(f"{argv} did not get ready")
            time.sleep(0.001)
        url = ready.read_text().strip()
        with urllib.request.urlopen(urllib.request.Request(url + HISTORY, headers=AUTH), timeout=10) as r:
            assert r.status == 200
        elapsed = time.perf_counter() - began
        time.sleep(1)
        return elapsed, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args()
    import mock_server

    package = Path(mock_server.__file__).parent
    compileall.compile_dir(package, quiet=1)
    print(f"byte-compiled {package} (as pip does for an installed wheel)")
    results: dict[str, list[tuple[float, float]]] = {"mock": [], "bare": []}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            for name in results:
                ready = Path(folder) / f"{name}-{run}.url"
                if name == "mock":
                    argv = [
                        sys.executable,
                        "-m",
                        "mock_server",
                        "serve",
                        "--port",
                        "0",
                        "--ready-file",
                        str(ready),
                    ]
                else:
                    body = Path(folder) / "body.json"
                    body.write_text('{"executionHistory":[]}')
                    argv = [sys.executable, str(BENCH / "bare_app.py"), "--path", HISTORY,
                            "--body-file", str(body), "--ready-file", str(ready)]  # fmt: skip
                results[name].append(cold_start(argv, ready))
    print(f"== cold start (process start to the first 200), median of {args.runs}; idle RSS after it")
    medians = {name: statistics.median(t for t, _ in runs) * 1000 for name, runs in results.items()}
    rss = {name: statistics.median(r for _, r in runs) for name, runs in results.items()}
    for name in results:
        print(f"   {name}: {medians[name]:6.0f} ms   idle RSS {rss[name]:5.1f} MB")
    share = statistics.median(m - b for (m, _), (b, _) in zip(results["mock"], results["bare"], strict=True))
    print(f"   the mock's own share (median of paired differences): {share * 1000:.0f} ms")
    misses = []
    verdict = "PASS" if medians["mock"] <= 300 else "MISS"
    ratio = medians["mock"] / medians["bare"]
    cold = f"{medians['mock']:.0f} ms ({ratio:.2f}x the bare aiohttp app)"
    print(f"   cold start: {cold}   target <= 300 ms   {verdict}")
    if verdict == "MISS":
        misses.append("cold start")
    verdict = "PASS" if rss["mock"] <= 60 else "MISS"
    print(f"   idle RSS: {rss['mock']:.1f} MB   target <= 60 MB   {verdict}")
    if verdict == "MISS":
        misses.append("idle RSS")
    print("all targets met" if not misses else "MISSED: " + ", ".join(misses))
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
