"""The tape's audit: the time of ``Recorder.close()`` after a 256 MiB recording, and the recorder's CPU per
exchange, old code and new.

    .venv/bin/python bench/bench_audit.py [--mib 256] [--secrets 2044] [--case NAME] [--old DIR]

The audit now runs as the tape is written (the recorder reads each line and side file as it writes it,
and what a secret seen late owes in steps after each exchange), so each case records its whole tape
through ``Recorder.record`` in a process of its own (``PYTHONPATH`` set to the checkout measured), then
times ``close()`` (what is left of the audit) with no deadline, and reads the process's peak RSS:

- realistic: the API's exchanges (statuses, log pages of 1,000 lines), Basic credentials from the start,
  a new CSRF token handed out (``/token``, redacted) and sent every 50 exchanges, up to ``--mib``;
- adversarial: answers of random hex (1 MiB of text each), ``--secrets`` random hex secrets sent a few
  an exchange all along the recording: every byte keeps the automata deep in their states;
- adversarial-late: the same tape, its secrets all in the last exchange: all of the tape is owed at
  close (the worst case; ``close()`` gives up at its deadline and deletes the tape: fails closed).

Targets (the new code): ``close()`` within 2.5 s (the default deadline: the proxy has 2 s of grace,
and is to be gone within 5 s of a SIGTERM) in the realistic and adversarial cases; the recorder's CPU
per exchange, as printed; a peak RSS within 150 MB. CPU time is printed beside wall time: this
machine's two cores are shared.

``--old DIR`` measures a checkout of the code before (``git archive main | tar -x -C DIR``) the way it
worked: exchanges recorded, the tape then filled to size by appending, and ``close()`` auditing it all.
Exits 1 when a target is missed, unless ``--no-fail``.
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
TARGET_CLOSE_S = 2.5
TARGET_RSS_MB = 150.0
MIB = 1024 * 1024

JOB = "8c1d5e0a-3f7b-4d2e-9a61-0b2c4d6e8f10"
STATUS = {"processingId": JOB, "path": "/content/dam/guides/en/manual", "status": "IN_PROGRESS",
          "triggeredCount": 1, "startedAt": 1772096350755, "completedAt": 0, "hasLogs": True,
          "createdBy": "editor", "type": "ASSET_PROCESSING", "eta": 95000, "comments": "",
          "migrationSet": {"totalFiles": 1240, "calculationStatus": "COMPLETE"}, "restartable": False,
          "resumable": False, "cancellable": True}  # fmt: skip
LINES = [f"2026-02-26 08:59:{n % 60:02d}:755: INFO: [ASSET_PROCESSING] processed "
         f"/content/dam/guides/en/manual/topic-{n}.dita (DITATOPIC)" for n in range(1000)]  # fmt: skip
JSON = ("Content-Type", "application/json")


def child(case: str, mib: int, count: int) -> dict[str, Any]:
    """One case in this process: record, then close; the figures."""
    from mock_server.recording.tape import Recorder, TapeRequest, TapeResponse

    rng = random.Random(7)
    basic = "Basic " + base64.b64encode(b"editor:" + rng.randbytes(12).hex().encode()).decode()
    cpu: list[float] = []

    def record(
        recorder: Recorder,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        answer_headers: list[tuple[str, str]],
        path: str = "/bin/guides/v1/assets/process/status",
    ) -> None:
        request = TapeRequest("GET", path, query, [("Authorization", basic), *headers])
        began = time.thread_time()
        recorder.record("status", request, TapeResponse(200, answer_headers, body, len(body)), 0)
        cpu.append(time.thread_time() - began)

    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "tape"
        recorder = Recorder(directory, "http://author.example:4502")
        if case == "realistic":
            logs = json.dumps({"lines": LINES, "hasMore": True}).encode()
            status = json.dumps(STATUS).encode()
            token, number = "", 0
            while recorder._written < mib * MIB and recorder.stopped is None:
                if number % 50 == 0:  # a new CSRF token: handed out, then sent
                    token = base64.urlsafe_b64encode(rng.randbytes(24)).decode()
                    handed = json.dumps({"token": token}).encode()
                    record(recorder, "", [], handed, [JSON], "/libs/granite/csrf/token.json")
                record(recorder, f"processingId={JOB}&offset={number}", [("CSRF-Token", token)],
                       logs if number % 2 else status, [JSON])  # fmt: skip
                number += 1
        else:
            values = [rng.randbytes(16).hex() for _ in range(count)]
            exchanges = mib  # 1 MiB of hex text each
            per = max(1, count // exchanges + 1)
            for number in range(exchanges):
                if case == "adversarial":
                    batch = values[number * per : (number + 1) * per]
                else:  # late: all of them in the last exchange
                    batch = values if number == exchanges - 1 else []
                query = "&".join(f"token={value}" for value in batch)
                body = os.urandom(MIB // 2 - 512).hex().encode()
                record(recorder, query, [], body, [("Content-Type", "text/plain")])
        written, exchanges, stopped = recorder._written, recorder.exchanges, recorder.stopped
        rss_before = _vm_rss_mb()
        began, cpu_began = time.perf_counter(), time.process_time()
        try:
            audit = recorder.close(deadline=None)
            outcome = f"passed, {audit.secrets} secrets"
        except Exception as error:  # SecretLeaked: printed, the figures still stand
            outcome = f"{type(error).__name__}"
        close_s, close_cpu = time.perf_counter() - began, time.process_time() - cpu_began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu.sort()
    return {"case": case, "mib": written / MIB, "exchanges": exchanges, "stopped": stopped,
            "outcome": outcome, "close_s": close_s, "close_cpu_s": close_cpu,
            "record_cpu_mean_ms": 1000 * sum(cpu) / len(cpu),
            "record_cpu_p99_ms": 1000 * cpu[int(len(cpu) * 0.99)], "record_cpu_max_ms": 1000 * cpu[-1],
            "rss_before_mb": rss_before, "peak_rss_mb": peak}  # fmt: skip


def old_child(case: str, mib: int, count: int) -> dict[str, Any]:
    """The code before: a few exchanges recorded, the tape filled by appending, then ``close()``
    audits it whole (what the old bench measured)."""
    from mock_server.recording.tape import Recorder, TapeRequest, TapeResponse

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "tape"
        recorder = Recorder(directory, "http://author.example:4502")
        basic = "Basic " + base64.b64encode(b"editor:" + rng.randbytes(12).hex().encode()).decode()
        if case == "realistic":
            values = [base64.urlsafe_b64encode(rng.randbytes(24)).decode() for _ in range(count)]
        else:
            values = [rng.randbytes(16).hex() for _ in range(count)]
        for start in range(0, count, 100):
            query = "&".join(f"token={value}" for value in values[start : start + 100])
            request = TapeRequest("GET", "/status", query, [("Authorization", basic)])
            recorder.record("status", request, TapeResponse(200, [JSON], b"{}"), 0)
        partial = directory / "tape.jsonl.partial"
        with partial.open("ab") as tape:
            logs = {"at_ms": 1, "operation": "logs", "response": {"body": {"lines": LINES}}}
            block = ((json.dumps(logs) + "\n") * 10).encode()
            while (size := tape.tell()) < mib * MIB:
                data = block if case == "realistic" else os.urandom(MIB // 2).hex().encode()
                tape.write(data[: mib * MIB - size])
        began, cpu = time.perf_counter(), time.process_time()
        recorder.close()
        close_s, close_cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": case, "mib": mib, "close_s": close_s, "close_cpu_s": close_cpu, "peak_rss_mb": peak}


def _vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(checkout: Path, case: str, mib: int, count: int, old: bool = False) -> dict[str, Any]:
    """One case in a process of its own that imports ``mock_server`` from ``checkout``."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    argv = [sys.executable, __file__, "--child", case, "--mib", str(mib), "--secrets", str(count)]
    done = subprocess.run([*argv, *(["--as-old"] if old else [])], env=environment, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"the {case} case in {checkout} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


CASES = ["realistic", "adversarial", "adversarial-late"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="the tape's size (default 256 MiB)")
    parser.add_argument("--secrets", type=int, default=2044, help="distinct secrets (default 2044)")
    parser.add_argument("--old", type=Path, metavar="DIR", help="a checkout of the code before, measured too")
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a target is missed")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--as-old", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = old_child if args.as_old else child
        print(json.dumps(measure(args.child, args.mib, args.secrets)))
        return 0
    missed = False
    for case in args.case or CASES:
        new = run(ROOT, case, args.mib, args.secrets)
        closed_in_time = case.endswith("late") or new["close_s"] <= TARGET_CLOSE_S
        ok = new["peak_rss_mb"] <= TARGET_RSS_MB and closed_in_time
        missed |= not ok
        print(f"{case:16} new: {new['exchanges']} exchanges, {new['mib']:.0f} MiB ({new['outcome']}): "
              f"close() "
              f"{new['close_s']:5.2f} s ({new['close_cpu_s']:.2f} s CPU; target <= {TARGET_CLOSE_S:g} s but "
              f"in the late case); record() CPU mean {new['record_cpu_mean_ms']:.1f} ms, p99 "
              f"{new['record_cpu_p99_ms']:.1f} ms, max {new['record_cpu_max_ms']:.1f} ms; peak RSS "
              f"{new['peak_rss_mb']:.0f} MB (target <= {TARGET_RSS_MB:g}) {'ok' if ok else 'MISSED'}",
              flush=True)  # fmt: skip
        if args.old and case != "adversarial-late":
            old = run(args.old, case, args.mib, args.secrets, old=True)
            print(f"{'':16} old: close() {old['close_s']:5.2f} s ({old['close_cpu_s']:.2f} s CPU) on "
                  f"{old['mib']} MiB, peak RSS {old['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
