"""HTTPS figures (issue 25 item 1), the mock against a bare aiohttp app over TLS in the same run.

    .venv/bin/python bench/bench_tls.py [--rounds 5] [--handshakes 200] [--duration 3]

One certificate, issued by a test CA made here (``trustme``), is served by both: ``aem-guides-mock
serve --tls-cert/--tls-key`` (manual clock: the polled job stands still) and ``bench/bare_app.py``
answering the same status body with the same TLS settings (TLS 1.2 and 1.3). In each round:

a. Handshakes: ``--handshakes`` new connections one after another, each a full TLS handshake (no
   session resumption), one status poll and a close; the server's CPU per connection (from /proc)
   and the median wall time of one, for the mock and for the bare app.
b. Polling over TLS: ``bench/loadgen.py --cafile`` (its own process, keep-alive connections) polls
   the job; requests per CPU-second of the server, mock / bare. The same load over plain HTTP to a
   second mock (``serve`` without TLS) gives what TLS costs the mock itself.

Ratios are medians of the rounds'. No goal is set in the issue: the figures are shown (the mock
pays the same handshake as the bare app; what differs is its own work per request).
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trustme
from harness import AUTH, BENCH, HOST, ROOT, Server, cpu_seconds, spawn

from mock_server.api.operations import BASE_PATH


def _mock(*flags: str) -> list[str]:
    return [sys.executable, "-m", "mock_server", "serve", "--host", HOST, "--port", "0", "--clock", "manual",
            "--quiet", *flags]  # fmt: skip


def _poll_target(server: Server, context: ssl.SSLContext | None) -> tuple[str, bytes]:
    """Start a job on the mock; its status poll's target and answer."""
    if context is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    else:
        connection = http.client.HTTPSConnection(HOST, server.port, timeout=30, context=context)
    body = json.dumps({"path": "/content/dam", "type": "ASSET_PROCESSING"})
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    connection.request("POST", BASE_PATH, body=body, headers=headers)
    started = json.loads(connection.getresponse().read())
    target = f"{BASE_PATH}/status?processingId={started['processingId']}"
    connection.request("GET", target, headers={"Authorization": AUTH})
    answer = connection.getresponse().read()
    connection.close()
    return target, answer


def handshakes(server: Server, target: str, context: ssl.SSLContext, count: int) -> tuple[float, float]:
    """Server CPU ms per new TLS connection (handshake, one poll, close) and the median wall ms."""
    walls = []
    used = cpu_seconds(server.process.pid)
    for _ in range(count):
        began = time.perf_counter()
        connection = http.client.HTTPSConnection(HOST, server.port, timeout=30, context=context)
        connection.request("GET", target, headers={"Authorization": AUTH, "Connection": "close"})
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}")
        walls.append((time.perf_counter() - began) * 1000)
    used = cpu_seconds(server.process.pid) - used
    return used * 1000 / count, statistics.median(walls)


def polled(server: Server, target: str, cafile: Path | None, args: argparse.Namespace) -> float:
    """Requests per server CPU-second of a keep-alive load on ``target`` (over TLS with ``cafile``)."""
    argv = [sys.executable, str(BENCH / "loadgen.py"), "--port", str(server.port), "--path", target,
            "--header", f"Authorization: {AUTH}", "--connections", str(args.connections),
            "--duration", str(args.duration), "--warmup", "0.5",
            *(["--cafile", str(cafile)] if cafile else [])]  # fmt: skip
    used = cpu_seconds(server.process.pid)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60, check=True)
    used = cpu_seconds(server.process.pid) - used
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["error_count"] or set(result["statuses"]) != {"200"}:
        raise RuntimeError(f"the load did not all answer 200: {result}")
    return float(sum(result["statuses"].values())) / max(used, 1e-9)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    cli.add_argument("--handshakes", type=int, default=200, help="new connections a round (default 200)")
    cli.add_argument("--duration", type=float, default=3.0, help="measured seconds of each load (default 3)")
    cli.add_argument("--connections", type=int, default=8, help="the load's connections (default 8)")
    args = cli.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        authority = trustme.CA()
        issued = authority.issue_cert("127.0.0.1", "localhost")
        cert, key, ca = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        issued.private_key_pem.write_to_path(str(key))
        authority.cert_pem.write_to_path(str(ca))
        context = ssl.create_default_context(cafile=str(ca))
        tls_flags = ("--tls-cert", str(cert), "--tls-key", str(key))
        with (
            spawn("mock-tls", _mock(*tls_flags), cwd=ROOT) as mock,
            spawn("mock-plain", _mock(), cwd=ROOT) as plain,
        ):
            target, body = _poll_target(mock, context)
            plain_target, _ = _poll_target(plain, None)
            (folder / "status.json").write_bytes(body)
            bare_argv = [sys.executable, str(BENCH / "bare_app.py"), "--path", f"{BASE_PATH}/status",
                         "--body-file", str(folder / "status.json"), *tls_flags]  # fmt: skip
            with spawn("bare-tls", bare_argv, cwd=ROOT) as bare:
                figures: dict[str, list[float]] = {name: [] for name in (
                    "mock_hs_cpu", "bare_hs_cpu", "mock_hs_ms", "bare_hs_ms", "mock_rate", "bare_rate",
                    "plain_rate")}  # fmt: skip
                for _ in range(args.rounds):
                    for name, server in (("mock", mock), ("bare", bare)):
                        cpu_ms, wall_ms = handshakes(server, target, context, args.handshakes)
                        figures[f"{name}_hs_cpu"].append(cpu_ms)
                        figures[f"{name}_hs_ms"].append(wall_ms)
                    figures["mock_rate"].append(polled(mock, target, ca, args))
                    figures["bare_rate"].append(polled(bare, target, ca, args))
                    figures["plain_rate"].append(polled(plain, plain_target, None, args))
    median = {name: statistics.median(values) for name, values in figures.items()}
    ratio = statistics.median(m / b for m, b in zip(figures["mock_rate"], figures["bare_rate"], strict=True))
    tls_cost = statistics.median(
        t / p for t, p in zip(figures["mock_rate"], figures["plain_rate"], strict=True)
    )
    print(f"python {sys.version.split()[0]}; {args.rounds} rounds (medians)")
    print(f"  a. a new TLS connection (handshake, a poll, close): server CPU {median['mock_hs_cpu']:.2f} ms "
          f"(bare aiohttp {median['bare_hs_cpu']:.2f} ms), wall {median['mock_hs_ms']:.2f} ms "
          f"(bare {median['bare_hs_ms']:.2f} ms)")  # fmt: skip
    print(
        f"  b. status polling over TLS: {median['mock_rate']:.0f} requests per server CPU-s, "
        f"{ratio:.3f} of bare aiohttp over TLS ({median['bare_rate']:.0f})"
    )
    print(f"     the mock over TLS / over plain HTTP: {tls_cost:.3f} ({median['plain_rate']:.0f} plain)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
