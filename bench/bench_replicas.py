"""Status polling through nginx against straight to a replica, in the same run (issue 24 item 5).

    .venv/bin/python bench/bench_replicas.py [--sessions 30] [--rounds 3] [--duration 3] [--connections 16]

Three ``serve --state`` replicas (manual clock: the jobs stand still, so that both sides poll the same
work) behind Debian's nginx with deploy/nginx/aem-guides-mock.conf, as tests/e2e/test_replicas.py
runs them (tests/support/nginx.py). A job is started through nginx in each of ``--sessions``
sessions; the load generator (``bench/loadgen.py``, its own process) then polls the jobs of the
sessions one replica holds (``/sessions/NAME/...``): straight to that replica, then the same
targets through nginx, ``--rounds`` times in turn. The figure is the ratio of requests/s through
nginx to straight (median of the rounds'), beside the p50 and p99 latencies of each, and the CPU
seconds nginx used a request. Only the one replica answers in both, so that the ratio is the cost of
the hop. On the shared 2-core machine nginx, the replica and the load generator share two cores:
the ratio is what that hop costs there, not on a machine with a core for each. Run it as a script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_sessions import loadgen
from harness import ROOT, cpu_seconds, fetch

sys.path.insert(0, str(ROOT))

from mock_server.api.operations import BASE_PATH  # after the checkout is on sys.path
from tests.support.nginx import cluster, nginx_binary


def _held(port: int) -> set[str]:
    status, _, body = fetch(port, "GET", "/__admin/sessions")
    assert status == 200, body
    return {s["name"] for s in json.loads(body)["sessions"] if not s["default"]}


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--sessions", type=int, default=30)
    cli.add_argument("--rounds", type=int, default=3)
    cli.add_argument("--duration", type=float, default=3.0, help="measured seconds of each load")
    cli.add_argument("--connections", type=int, default=16)
    args = cli.parse_args()
    if nginx_binary() is None:
        print("nginx is not installed: apt-get install nginx-light", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory() as folder,
        cluster(Path(folder), args=("--clock", "manual")) as (
            url,
            replicas,
        ),
    ):
        port = int(url.rsplit(":", 1)[1])
        jobs = {}
        for n in range(args.sessions):
            name = f"bench-{n:03d}"
            status, _, body = fetch(port, "POST", f"/sessions/{name}{BASE_PATH}",
                                    {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})  # fmt: skip
            assert status == 200, body
            jobs[name] = json.loads(body)["processingId"]
        replica = max(replicas, key=lambda r: len(_held(r.port)))
        names = sorted(_held(replica.port))
        paths = [f"/sessions/{name}{BASE_PATH}/status?processingId={jobs[name]}" for name in names]
        assert replica.process is not None
        nginx_pid = int((Path(folder) / "nginx" / "nginx.pid").read_text())
        results: dict[str, list[dict[str, Any]]] = {"straight": [], "nginx": []}
        nginx_cpu: list[float] = []
        for _ in range(args.rounds):
            results["straight"].append(loadgen(replica.port, paths, args))
            # nginx's CPU: its master and its one worker (the worker is the master's only child)
            children = Path(f"/proc/{nginx_pid}/task/{nginx_pid}/children").read_text()
            workers = [int(p) for p in children.split()]
            before = sum(cpu_seconds(p) for p in [nginx_pid, *workers])
            result = loadgen(port, paths, args)
            used = sum(cpu_seconds(p) for p in [nginx_pid, *workers]) - before
            results["nginx"].append(result)
            nginx_cpu.append(used / max(sum(result["statuses"].values()), 1))
    ratios = [n["rps"] / s["rps"] for n, s in zip(results["nginx"], results["straight"], strict=True)]
    figures: dict[str, Any] = {
        "sessions_polled": len(paths),
        "replica_sessions": f"{len(names)} of {args.sessions}",
        "ratio_nginx_to_straight": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "nginx_cpu_us_per_request": round(statistics.median(nginx_cpu) * 1e6, 1),
    }
    for mode, runs in results.items():
        for key in ("rps", "p50_ms", "p99_ms"):
            figures[f"{mode}_{key}"] = round(statistics.median(r[key] for r in runs), 2)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
