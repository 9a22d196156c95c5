"""The container's figures: image size, start to first answer, polling through the mapping (issue 24 item 5).

    .venv/bin/python bench/bench_container.py [--runs 7] [--rounds 3] [--duration 3] [--no-build] [--no-fail]

Three figures, each beside the same server as a plain host process in the same run:

1. the image's size, and that of the layers the Containerfile adds on top of its base (goal: at
   most 80 MB, issue 24 item 1); the base's layers must be the first of the image's;
2. start to first answer: ``podman run -d`` to the first 200 of ``GET /__admin/health`` through
   the port mapping, against ``python -m mock_server serve`` started on the host to its first 200 of
   the same request, runs alternating; the median of ``--runs`` of each, their ratio and difference
   (goal: the container adds at most 1 s);
3. status polling (``bench/loadgen.py``, its own process; the manual clock, so that all poll a
   still job) through the port mapping against straight to the host process, ``--rounds`` times in
   turn; the ratio of requests/s (goal: at least 0.8). The image's Python (Debian's) is not the
   host's, so that this ratio is the mapping and the interpreter together: a third server, a
   container on the host's network (``--network host``: no mapping, the image's Python), polled in
   the same turns, gives the mapping's share alone.

The image is built first by tools/container/build.sh under ``--image`` (its own tag,
aem-guides-mock:bench, so as not to race the container tests' :test), unless ``--no-build``. With
no podman it says so and exits 0. Every container it starts is removed, and ``--remove-image`` drops
the tag at the end. Podman runs as in CI (tests/e2e/test_container.py): runc, cgroupfs, explicit
ulimits (``AEM_MOCK_PODMAN_FLAGS`` changes the global flags). On the shared 2-core machine the
server, podman and the load generator share two cores: note the load average printed with the table.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_sessions import loadgen
from harness import HOST, ROOT, end, start_job

from mock_server.api.operations import BASE_PATH

FLAGS = os.environ.get("AEM_MOCK_PODMAN_FLAGS", "--runtime runc --cgroup-manager cgroupfs")
PODMAN = ["podman", *shlex.split(FLAGS)]
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
HEALTH = "/__admin/health"
MANUAL = ("--clock", "manual")
GOAL_ADDED_MB = 80.0
GOAL_START_EXTRA_S = 1.0
GOAL_POLL_RATIO = 0.8


def podman(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", HEALTH)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):  # not listening yet, or the mapping not forwarding yet
        return False
    finally:
        connection.close()


def until_healthy(port: int, began: float, alive: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds from ``began`` (perf_counter) to the first 200 of the health probe on ``port``."""
    while not healthy(port):
        if time.perf_counter() - began > timeout or not alive():
            raise RuntimeError(f"no 200 from {HEALTH} on port {port} within {timeout:g} s")
        time.sleep(0.005)
    return time.perf_counter() - began


@contextmanager
def container(image: str, *options: str, host_network: bool = False) -> Iterator[tuple[int, float]]:
    """A container of ``image``, its 4502 on a free port of the host's loopback, or on the host's
    network serving that port itself: yields (the port, seconds from ``podman run -d`` to its first
    answer); always removed. With no ``options`` (``serve``'s) it runs the image's own command."""
    name, port = f"aem-mock-bench-{uuid.uuid4().hex[:8]}", free_port()
    if host_network:
        where = ["--network", "host"]
        command: tuple[str, ...] = ("serve", "--host", HOST, "--port", str(port), *options)
    else:
        where = ["--publish", f"{HOST}:{port}:4502"]
        command = ("serve", "--host", "0.0.0.0", "--port", "4502", *options) if options else ()
    began = time.perf_counter()
    try:
        podman("run", "--detach", "--name", name, *LIMITS, *where, "--health-interval", "disable",
               image, *command)  # fmt: skip
        yield port, until_healthy(port, began, lambda: True)
    finally:
        subprocess.run([*PODMAN, "rm", "--force", "--time", "0", name], capture_output=True, timeout=60)


@contextmanager
def host_process(*options: str) -> Iterator[tuple[int, float]]:
    """``python -m mock_server serve`` on the host: yields (its port, seconds to its first answer)."""
    port = free_port()
    argv = [sys.executable, "-m", "mock_server", "serve", "--host", HOST, "--port", str(port), *options]
    began = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port, until_healthy(port, began, lambda: process.poll() is None)
    finally:
        end(process, 10)


def build(image: str) -> None:
    env = {**os.environ, "AEM_MOCK_IMAGE": image, "PYTHON": os.environ.get("PYTHON", "python3")}
    script = ROOT / "tools" / "container" / "build.sh"
    done = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"tools/container/build.sh failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    print(done.stdout.strip().splitlines()[-1])


def sizes(image: str, base: str) -> dict[str, Any]:
    """The image's size and the added layers' (MB, 10^6 bytes, as podman prints them)."""
    layers = json.loads(podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", image))
    base_layers = json.loads(podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", base))
    if layers[: len(base_layers)] != base_layers:
        raise RuntimeError(f"{image} is not built on {base} (AEM_MOCK_BASE, --base): its first layers differ")
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image))
    base_size = int(podman("image", "inspect", "--format", "{{.Size}}", base))
    return {"image_mb": size / 1e6, "base_mb": base_size / 1e6, "added_mb": (size - base_size) / 1e6,
            "added_layers": len(layers) - len(base_layers)}  # fmt: skip


def starts(image: str, runs: int) -> dict[str, list[float]]:
    """Start to first answer, ``runs`` times each, container and host process in turn."""
    times: dict[str, list[float]] = {"container": [], "host": []}
    for _ in range(runs):
        with container(image) as (_, took):
            times["container"].append(took)
        with host_process() as (_, took):
            times["host"].append(took)
    return times


def polling(image: str, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """Status polls of one still job: through the port mapping, straight to a host process, and
    straight to a container on the host's network (the image's Python without the mapping), in turn."""
    with (
        container(image, "--quiet", *MANUAL) as (mapping, _),
        host_process("--quiet", *MANUAL) as (host, _),
        container(image, "--quiet", *MANUAL, host_network=True) as (network, _),
    ):
        ports = {"mapping": mapping, "host": host, "network": network}
        paths = {k: [f"{BASE_PATH}/status?processingId={start_job(p, '/content/dam/22858')}"]
                 for k, p in ports.items()}  # fmt: skip
        results: dict[str, list[dict[str, Any]]] = {k: [] for k in ports}
        kinds = list(ports)
        for round_ in range(args.rounds):  # each round in another order: no side always goes first
            for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:
                results[kind].append(loadgen(ports[kind], paths[kind], args))
    return results


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--image", default="aem-guides-mock:bench")
    cli.add_argument("--base", default=os.environ.get("AEM_MOCK_BASE", "aem-mock-base:bookworm"))
    cli.add_argument("--no-build", action="store_true", help="use --image as it is")
    cli.add_argument("--remove-image", action="store_true", help="untag --image at the end")
    cli.add_argument("--runs", type=int, default=7, help="starts of each (container, host process)")
    cli.add_argument("--rounds", type=int, default=3, help="polling loads of each")
    cli.add_argument("--duration", type=float, default=3.0, help="measured seconds of each load")
    cli.add_argument("--connections", type=int, default=16)
    cli.add_argument("--no-fail", action="store_true", help="exit 0 even on a missed goal")
    args = cli.parse_args()
    if shutil.which("podman") is None:
        print("bench_container: skipped: podman is not installed (apt-get install podman runc buildah)")
        return 0
    try:
        if not args.no_build:
            build(args.image)
        # The host's package byte-compiled, as pip does for an installed wheel (bench_startup.py).
        compileall.compile_dir(ROOT / "mock_server", quiet=1)
        load_before = os.getloadavg()
        size = sizes(args.image, args.base)
        start = starts(args.image, args.runs)
        polls = polling(args.image, args)
    finally:
        if args.remove_image:
            subprocess.run([*PODMAN, "rmi", args.image], capture_output=True, timeout=60)
    load_after = os.getloadavg()
    boxed, plain = (statistics.median(start[k]) for k in ("container", "host"))
    ratios = [m["rps"] / h["rps"] for m, h in zip(polls["mapping"], polls["host"], strict=True)]
    hops = [m["rps"] / n["rps"] for m, n in zip(polls["mapping"], polls["network"], strict=True)]
    rps = {k: statistics.median(r["rps"] for r in runs) for k, runs in polls.items()}
    p50 = {k: statistics.median(r["p50_ms"] for r in runs) for k, runs in polls.items()}
    rows = [
        ("image size", f"{size['image_mb']:.1f} MB (base {size['base_mb']:.1f} MB)", "", None),
        (f"layers added to the base ({size['added_layers']})", f"{size['added_mb']:.1f} MB",
         f"<= {GOAL_ADDED_MB:g} MB", size["added_mb"] <= GOAL_ADDED_MB),
        (f"start to first answer, median of {args.runs}",
         f"container {boxed:.2f} s, host process {plain:.2f} s", "", None),
        ("  container against host process", f"{boxed / plain:.2f}x, +{boxed - plain:.2f} s",
         f"<= +{GOAL_START_EXTRA_S:g} s", boxed - plain <= GOAL_START_EXTRA_S),
        (f"status polling, median of {args.rounds} x {args.duration:g} s",
         "; ".join(f"{k} {rps[k]:.0f}/s" for k in rps), "", None),
        ("  p50 latency", "; ".join(f"{k} {p50[k]:.1f} ms" for k in rps), "", None),
        ("  through the mapping against the host process", f"{statistics.median(ratios):.2f} "
         f"({', '.join(f'{r:.2f}' for r in ratios)})", f">= {GOAL_POLL_RATIO:g}",
         statistics.median(ratios) >= GOAL_POLL_RATIO),
        ("  the mapping alone (against host network)", f"{statistics.median(hops):.2f} "
         f"({', '.join(f'{r:.2f}' for r in hops)})", "", None),
    ]  # fmt: skip
    print(f"== the container against the host process ({args.image} on {args.base}); load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores")  # fmt: skip
    for what, figure, goal, met in rows:
        verdict = "" if met is None else ("PASS" if met else "MISS")
        print(f"   {what:<48} {figure:<44} {goal:<10} {verdict}".rstrip())
    print("   starts (s): container " + " ".join(f"{t:.2f}" for t in start["container"])
          + "; host " + " ".join(f"{t:.2f}" for t in start["host"]))  # fmt: skip
    misses = [what.strip() for what, _, _, met in rows if met is False]
    print("all goals met" if not misses else "MISSED: " + ", ".join(misses))
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
