"""The tape's audit at stop: its time on a 256 MiB tape and the recorder's memory, old code and new.

    .venv/bin/python bench/bench_audit.py [--mib 256] [--secrets 2044] [--old DIR [--old-mib 32]]

Each case runs in its own process (``PYTHONPATH`` set to the checkout measured), which records
exchanges whose queries carry ``--secrets`` distinct secrets (plus 4 of Basic credentials), fills the
tape's file up to ``--mib`` MiB, then times ``Recorder.close()`` (the audit) and reads the process's
peak RSS. Two tapes:

- realistic: the secrets are base64url tokens (as session and CSRF tokens are), the tape is lines of
  the API's exchanges (statuses, log pages);
- adversarial: the secrets are random hex, the tape is random hex: every byte keeps the automaton
  deep in its states (the worst case measured for Aho-Corasick).

Targets (the new code): the audit within 5 s of CPU on a 256 MiB tape in both cases, and a peak RSS
within 200 MB. The wall time is printed too; the target is on CPU time because this machine's two
cores are shared, where the wall time says more about the neighbours than about the audit.

``--old DIR`` measures a checkout of the code before (``git worktree add DIR b0b5eaa``) on
``--old-mib`` MiB, scaled to ``--mib`` (its scan is one ``in`` per needle per chunk: linear in the
size), since at full size it takes minutes. Exits 1 when a target is missed, unless ``--no-fail``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 5.0
TARGET_RSS_MB = 200.0
BLOCK = 1024 * 1024
PER_EXCHANGE = 100

JOB = "8c1d5e0a-3f7b-4d2e-9a61-0b2c4d6e8f10"
STATUS = {"processingId": JOB, "path": "/content/dam/guides/en/manual", "status": "IN_PROGRESS",
          "triggeredCount": 1, "startedAt": 1772096350755, "completedAt": 0, "hasLogs": True,
          "createdBy": "editor", "type": "ASSET_PROCESSING", "eta": 95000, "comments": "",
          "migrationSet": {"totalFiles": 1240, "calculationStatus": "COMPLETE"}, "restartable": False,
          "resumable": False, "cancellable": True}  # fmt: skip
LINES = [f"2026-02-26 08:59:{n:02d}:755: INFO: [ASSET_PROCESSING] processed "
         f"/content/dam/guides/en/manual/topic-{n}.dita (DITATOPIC)" for n in range(20)]  # fmt: skip


def exchange(operation: str, query: str, body: Any) -> dict[str, Any]:
    """One line of a tape, as the recorder writes it."""
    headers = {"accept": "application/json", "authorization": "[redacted]"}
    return {"at_ms": 1200, "operation": operation,
            "request": {"method": "GET", "path": f"/bin/guides/v1/assets/process/{operation}", "query": query,
                        "headers": headers, "body": None},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": body,
                         "elapsed_ms": 4}}  # fmt: skip


REALISTIC = [
    exchange("status", f"processingId={JOB}", STATUS),
    exchange("logs", f"processingId={JOB}&offset=40&limit=20", {"lines": LINES, "hasMore": True}),
]


def child(case: str, mib: int, count: int) -> dict[str, Any]:
    """One case in this process: record, fill, audit; the figures."""
    from mock_server.recording.tape import Recorder, TapeRequest, TapeResponse

    rng = random.Random(7)
    if case == "realistic":
        values = [base64.urlsafe_b64encode(rng.randbytes(24)).decode() for _ in range(count)]
    else:
        values = [rng.randbytes(16).hex() for _ in range(count)]
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "tape"
        recorder = Recorder(directory, "http://author.example:4502")
        basic = "Basic " + base64.b64encode(b"editor:" + rng.randbytes(12).hex().encode()).decode()
        for start in range(0, count, PER_EXCHANGE):
            query = "&".join(f"token={value}" for value in values[start : start + PER_EXCHANGE])
            request = TapeRequest(
                "GET", "/bin/guides/v1/assets/process/status", query, [("Authorization", basic)]
            )
            recorder.record(
                "status", request, TapeResponse(200, [("Content-Type", "application/json")], b"{}"), 0
            )
        partial = directory / "tape.jsonl.partial"
        with partial.open("ab") as tape:
            block = "".join(json.dumps(line) + "\n" for line in REALISTIC * 200).encode()
            while (size := tape.tell()) < mib * 1024 * 1024:
                data = block if case == "realistic" else os.urandom(BLOCK // 2).hex().encode()
                tape.write(data[: mib * 1024 * 1024 - size])
        rss_before = _vm_rss_mb()
        began, cpu = time.perf_counter(), time.process_time()
        audit = recorder.close()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert (directory / "tape.jsonl").stat().st_size >= mib * 1024 * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": case, "mib": mib, "secrets": audit.secrets, "audit_s": elapsed, "cpu_s": cpu,
            "rss_before_mb": rss_before, "peak_rss_mb": peak}  # fmt: skip


def _vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(checkout: Path, case: str, mib: int, count: int) -> dict[str, Any]:
    """One case in a process of its own that imports ``mock_server`` from ``checkout``."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, __file__, "--child", case, "--mib", str(mib), "--secrets", str(count)]
    done = subprocess.run(argv, env=environment, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {case} case in {checkout} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="the tape's size (default 256 MiB)")
    parser.add_argument(
        "--secrets", type=int, default=2044, help="distinct secrets (default 2044: the cap, less 4 for Basic)"
    )
    parser.add_argument("--old", type=Path, metavar="DIR", help="a checkout of the code before, measured too")
    parser.add_argument(
        "--old-mib", type=int, default=32, help="the old code's tape size, scaled (default 32)"
    )
    parser.add_argument("--case", choices=["realistic", "adversarial"], action="append")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--child", choices=["realistic", "adversarial"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.mib, args.secrets)))
        return 0
    missed = False
    for case in args.case or ["realistic", "adversarial"]:
        new = run(ROOT, case, args.mib, args.secrets)
        ok = new["cpu_s"] <= TARGET_S and new["peak_rss_mb"] <= TARGET_RSS_MB
        missed |= not ok
        print(f"{case:12} new: audit {new['cpu_s']:5.2f} s of CPU (target <= {TARGET_S:g} s; "
              f"{new['audit_s']:.2f} s wall) on {args.mib} MiB with {new['secrets']} secrets, "
              f"peak RSS {new['peak_rss_mb']:5.0f} MB "
              f"(target <= {TARGET_RSS_MB:g}; {new['rss_before_mb']:.0f} MB before the audit) "
              f"{'ok' if ok else 'MISSED'}", flush=True)  # fmt: skip
        if args.old:
            old = run(args.old, case, args.old_mib, args.secrets)
            scaled = old["cpu_s"] * args.mib / args.old_mib
            print(f"{'':12} old: audit {old['cpu_s']:5.2f} s of CPU on {args.old_mib} MiB with "
                  f"{old['secrets']} secrets -> {scaled:6.1f} s scaled to {args.mib} MiB, "
                  f"peak RSS {old['peak_rss_mb']:5.0f} MB ({scaled / new['cpu_s']:.0f}x the new)",
                  flush=True)  # fmt: skip
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
