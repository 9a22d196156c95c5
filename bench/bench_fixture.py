"""Benchmark: the cost of the ``aem_mock`` fixture's set-up plus teardown, median over many tests.

    .venv/bin/python bench/bench_fixture.py [--tests 200]

Runs three generated suites of ``--tests`` tests each, in pytest subprocesses, and times each
test's set-up and teardown phases with a small timing plugin:

- baseline: a trivial function-scoped fixture (pytest's own cost per test);
- session: ``aem_mock``, one server per session, reset before each test; target <= 20 ms;
- fresh: a new server per test (``aem_mock_factory``), started and stopped each time; target <= 100 ms.

Each test makes one real request, so the teardown's strict-mode check reads a journal. The first
test of each suite (which starts the session) is left out of the median. Exits 1 when a target is
missed, unless ``--no-fail``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TIMING_PLUGIN = """
import json, os, time
import pytest

_times = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    began = time.perf_counter()
    yield
    _times[item.nodeid] = time.perf_counter() - began

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    began = time.perf_counter()
    yield
    _times[item.nodeid] += time.perf_counter() - began

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMES"], "w") as out:
        json.dump(list(_times.values()), out)
"""

CLIENT = """
import json, urllib.request

def history(mock):
    request = urllib.request.Request(mock.base_url + "/history", headers=mock.headers)
    with urllib.request.urlopen(request) as response:
        return json.load(response)
"""

SUITES = {
    "baseline": """
import pytest

@pytest.fixture
def trivial():
    yield object()

def test_it(trivial, n):
    assert trivial is not None
""",
    "session": """
from client import history

def test_it(aem_mock, n):
    assert history(aem_mock) == {"executionHistory": []}
""",
    "fresh": """
import pytest
from client import history

@pytest.fixture
def fresh(aem_mock_factory):
    return aem_mock_factory()

def test_it(fresh, n):
    assert history(fresh) == {"executionHistory": []}
""",
}
TARGETS_MS = {"session": 20.0, "fresh": 100.0}


def run_suite(name: str, tests: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "conftest.py").write_text(
            TIMING_PLUGIN
            + f"\ndef pytest_generate_tests(metafunc):\n    metafunc.parametrize('n', range({tests}))\n"
        )
        (root / "client.py").write_text(CLIENT)
        (root / "test_suite.py").write_text(SUITES[name])
        (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        times = root / "times.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
            cwd=root, capture_output=True, text=True, timeout=600,
            env={**os.environ, "BENCH_TIMES": str(times)},
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"the {name} suite failed:\n{done.stdout[-3000:]}")
        return [t * 1000 for t in json.loads(times.read_text())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args()
    print(f"== fixture set-up + teardown per test, median of {args.tests} tests (the first left out)")
    medians = {}
    for name in SUITES:
        per_test = run_suite(name, args.tests)[1:]
        medians[name] = statistics.median(per_test)
        p90 = statistics.quantiles(per_test, n=10)[-1]
        print(
            f"   {name:<9} median {medians[name]:7.2f} ms   p90 {p90:7.2f} ms   max {max(per_test):7.2f} ms"
        )
    missed = False
    for name, target in TARGETS_MS.items():
        verdict = "PASS" if medians[name] <= target else "MISS"
        missed |= verdict == "MISS"
        ratio = medians[name] / medians["baseline"]
        cost = f"{medians[name]:.2f} ms, {ratio:.1f}x the baseline fixture"
        print(f"   {name}: {cost}; target <= {target:g} ms   {verdict}")
    print("all targets met" if not missed else "a target was missed")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
