"""Benchmark: one message validated by the fast path, by jsonschema, and by an older checkout's fast path.

    .venv/bin/python bench/bench_validation.py [--checkout DIR] [--rounds 7] [--number 2000] [--no-fail]

The messages come from the real mock, in this process (``MockServer``): 20 jobs started on distinct
folders of the embedded DAM, each with ``excludedPaths`` and a ``filter``; then

1. ``history.response``: the history of those 20 jobs (about 11 KB of JSON),
2. ``start.request``: one of the start requests sent,
3. ``job``: the status response of one job.

Each is validated, as the mock validates it, by

(a) the fast path, jsonschema-rs: ``Contract(Settings())._checks[NAME].violations(message,
    integral_floats=False)``, as a parsed request is checked (its parser told that it holds no
    integral float) and as ``check_response`` checks a payload the mock built, without the
    response cache;
(a+) the same and the look over the message for integral floats that a message nobody parsed (a
    YAML scenario) gets (``integral_floats=None``), for context;
(b) python-jsonschema, the authority, strict about types: ``check.validator.is_valid(message)``;
(c) the fast path of ``--checkout`` (an older commit: the hand-written compiled predicate,
    ``Contract(Settings())._checks[NAME].passes``), in a subprocess with that directory first on
    ``sys.path`` (the script checks that ``mock_server`` is imported from there).

Each figure is the median over ``--rounds`` rounds of the mean of ``--number`` calls (a twentieth
of them for jsonschema); the rounds of this process and of the subprocess alternate, so that both
meet the same load on a shared machine. Target: (a) at least ``--min-speedup`` (10) times as fast
as (c) on the 20-job history. Ratios are printed for every message.

Exits 1 when the target is missed, unless ``--no-fail`` is given.
Run it as a script, not with ``python -m``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import subprocess
import sys
import textwrap
import timeit
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mock_server import Settings  # noqa: E402  (after the path: run as a script)
from mock_server.api.operations import BASE_PATH  # noqa: E402
from mock_server.contract.rules import Contract  # noqa: E402
from mock_server.core.default_dam import default_repository  # noqa: E402
from mock_server.server import MockServer  # noqa: E402

JOBS = 20
NAMES = ("history.response", "start.request", "job")


def _call(server: MockServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {**server.headers, "Content-Type": "application/json"}
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def messages() -> dict[str, Any]:
    """The three messages, from a mock that ran 20 jobs."""
    folders = sorted(default_repository().folders(), key=lambda f: (-f.count("/"), f))
    folders = [f for f in folders if f.startswith("/content/dam/")][:JOBS]
    assert len(folders) == JOBS, folders
    starts = [
        {"path": folder, "type": "ASSET_PROCESSING", "excludedPaths": [f"{folder}/x"],
         "filter": {"fileTypes": ["DITATOPIC"], "startTime": 1, "endTime": 2}}
        for folder in folders
    ]  # fmt: skip
    with MockServer() as server:
        ids = [_call(server, "POST", BASE_PATH, start)["processingId"] for start in starts]
        server.advance(1)
        history = _call(server, "GET", f"{BASE_PATH}/history")
        job = _call(server, "GET", f"{BASE_PATH}/status?processingId={ids[0]}")
    assert len(history["executionHistory"]) == JOBS, history
    return {"history.response": history, "start.request": starts[0], "job": job}


def per_call_ms(function: Callable[[], object], number: int) -> float:
    """The mean time of one call over ``number`` calls, in ms."""
    return timeit.Timer(function).timeit(number) / number * 1000


_OLD = textwrap.dedent(
    """
    import json, sys, timeit
    checkout, number = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, checkout)
    import mock_server
    assert mock_server.__file__.startswith(checkout + "/"), mock_server.__file__
    from mock_server import Settings
    try:
        from mock_server.contract.rules import Contract
    except ImportError:  # before the split of the schema check and the contract
        try:
            from mock_server.contract.validation import Contract
        except ImportError:  # before the layers: one module
            from mock_server.contract import Contract
    messages = json.loads(sys.stdin.readline())
    contract = Contract(Settings())
    checks = {name: contract._checks[name].passes for name in messages}
    for name, passes in checks.items():
        timeit.Timer(lambda: passes(messages[name])).timeit(max(1, number // 10))  # warm up
    valid = {name: bool(passes(messages[name])) for name, passes in checks.items()}
    print(json.dumps({"module": mock_server.__file__, "valid": valid}), flush=True)
    for _ in sys.stdin:  # one round per line
        times = {}
        for name, passes in checks.items():
            message = messages[name]
            times[name] = timeit.Timer(lambda: passes(message)).timeit(number) / number * 1000
        print(json.dumps(times), flush=True)
    """
)


class OldFastPath:
    """The checkout's fast path in a subprocess, one round at a time."""

    def __init__(self, checkout: Path, found: dict[str, Any], number: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _OLD, str(checkout), str(number)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=checkout,
        )  # fmt: skip
        self.hello = self._ask(json.dumps(found))

    def _ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            self.process.wait(30)
            error = self.process.stderr.read() if self.process.stderr else ""
            raise SystemExit(f"the checkout's fast path could not be measured:\n{error[-3000:]}")
        result: dict[str, Any] = json.loads(answer)
        return result

    def round(self) -> dict[str, float]:
        return self._ask("round")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--checkout", type=Path, help="an older checkout whose fast path to measure (c)")
    cli.add_argument("--rounds", type=int, default=7, help="rounds per figure; the median is shown")
    cli.add_argument("--number", type=int, default=2000, help="calls per round")
    cli.add_argument("--min-speedup", type=float, default=10.0, help="target: (c) / (a) on the history")
    cli.add_argument(
        "--no-fail", action="store_true", help="report only; exit 0 even when the target is missed"
    )
    args = cli.parse_args()
    found = messages()
    contract = Contract(Settings())
    size = len(json.dumps(found["history.response"]))
    print(f"== messages from the mock: a {JOBS}-job history ({size:,} bytes of JSON), a start request, "
          "a status response")  # fmt: skip
    for name in NAMES:
        check, message = contract._checks[name], found[name]
        assert check.fast is not None, name
        assert check.passes(message, integral_floats=False), name
        assert check.passes(message), name
        assert check.validator.is_valid(message), name
    old = OldFastPath(args.checkout.resolve(), found, args.number) if args.checkout else None
    if old is not None:
        print(f"   (c) measured in a subprocess importing {old.hello['module']}")
        for name, valid in old.hello["valid"].items():
            if not valid:
                print(f"   note: the checkout's fast path does not pass the {name} message")
    slow = max(1, args.number // 20)
    figures: dict[str, dict[str, list[float]]] = {
        key: {n: [] for n in NAMES} for key in ("a", "a+", "b", "c")
    }
    for name in NAMES:  # warm up: the validators compile on first use
        check, message = contract._checks[name], found[name]
        per_call_ms(functools.partial(check.violations, message, False), args.number // 10 + 1)
        per_call_ms(functools.partial(check.validator.is_valid, message), 3)
    for _ in range(args.rounds):  # this process and the checkout's in turn, under the same load
        for name in NAMES:
            check, message = contract._checks[name], found[name]
            figures["a"][name].append(
                per_call_ms(functools.partial(check.violations, message, False), args.number)
            )
            figures["a+"][name].append(per_call_ms(functools.partial(check.violations, message), args.number))
            figures["b"][name].append(per_call_ms(functools.partial(check.validator.is_valid, message), slow))
        if old is not None:
            for name, ms in old.round().items():
                figures["c"][name].append(ms)
    if old is not None:
        old.close()

    median = {
        key: {n: statistics.median(v) if v else math.nan for n, v in by.items()}
        for key, by in figures.items()
    }
    print(f"\n   ms per message, the median of {args.rounds} rounds of {args.number} calls "
          f"({slow} for jsonschema)")  # fmt: skip
    print(f"   {'message':18} {'(a) rs':>9} {'(a+) scan':>10} {'(b) jsonschema':>15} {'(c) old':>9}"
          f" {'(c)/(a)':>8} {'(c)/(a+)':>9} {'(b)/(a)':>8}")  # fmt: skip
    for name in NAMES:
        a, scan, b, c = (median[key][name] for key in ("a", "a+", "b", "c"))
        print(
            f"   {name:18} {a:9.4f} {scan:10.4f} {b:15.4f} {c:9.4f} {c / a:8.1f} {c / scan:9.1f} {b / a:8.1f}"
        )
    misses: list[str] = []
    if old is not None:
        name = "history.response"
        speedup = median["c"][name] / median["a"][name]
        verdict = "ok" if speedup >= args.min_speedup else "MISS"
        print(f"\n   {name}: (c) / (a) = {speedup:.1f}   target >= {args.min_speedup:g}   {verdict}")
        if verdict == "MISS":
            misses.append(
                f"the fast path is {speedup:.1f}x the checkout's on the history, < {args.min_speedup:g}x"
            )
    else:
        print("\n   (c) not measured: give --checkout DIR to compare with an older checkout")
    print("\n" + ("all targets met" if not misses else "MISSED: " + "; ".join(misses)))
    return 1 if misses and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
