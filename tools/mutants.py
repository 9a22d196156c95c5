"""Break the engine on purpose and check that the tests notice: a small mutation test.

Each mutant is one small text replacement in ``mock_server/*.py`` (a job never starts, resume
counts from zero, cancel is ignored, ...). The script copies the repository to a temporary folder
(without ``.venv``, ``.git`` and caches), applies one mutant at a time to the copy, runs the fast
suite there and prints a table: the mutant, killed or survived, the first failing test, the time.
The working tree is never touched, so it is safe while others edit it.

Usage (from the repository, with the project's virtual environment)::

    .venv/bin/python tools/mutants.py                  # every mutant against the fast suite
    .venv/bin/python tools/mutants.py --stateful       # against tests/adversarial/test_stateful.py alone
    .venv/bin/python tools/mutants.py cancel-ignored history-oldest-first
    .venv/bin/python tools/mutants.py --list

The copy is what the tests import: pytest runs with the copy as its working directory and first
on ``PYTHONPATH``, ahead of the editable install of the original. Before the mutants, the script
checks this three ways: ``import mock_server`` from the copy resolves into the copy, the unmutated
copy passes (skip with ``--skip-baseline``), and a sentinel mutant that makes every start crash
is killed.

Exit status: 0 when every mutant was killed, 1 when one survived, 2 when the harness itself could
not be trusted (a mutant's target text not found exactly once, the unmutated copy failing, the
sentinel surviving, no test run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
STATEFUL = "tests/adversarial/test_stateful.py"
#: What the copy leaves out: environments, version control and caches. Hypothesis's database too,
#: so that no example remembered from an earlier run helps a mutant get killed.
IGNORED = (
    ".venv",
    ".ci-venv",
    ".git",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
)


@dataclass(frozen=True, slots=True)
class Mutant:
    """One deliberate bug: ``old`` becomes ``new`` in ``file``, where ``old`` occurs exactly once."""

    name: str
    file: str
    old: str
    new: str
    what: str


#: One mutant a row, as a table reads (hence the fmt: skip).
MUTANTS = (
    Mutant("never-starts", "mock_server/core/jobs.py",
           "self._free: list[int] = [0] * self.settings.concurrency",
           "self._free: list[int] = [] * self.settings.concurrency",
           "no runner at all: no job ever leaves the queue"),
    Mutant("resume-from-zero", "mock_server/core/jobs.py",
           "job.run_first = job.triggered_count", "job.run_first = 0",
           "a resumed job counts its assets from zero again"),
    Mutant("cancel-ignored", "mock_server/api/operations.py",
           "self.engine.cancel(self._action_id(call))", "self.engine.get(self._action_id(call))",
           "cancel answers 200 and the job object, and does nothing"),
    Mutant("history-oldest-first", "mock_server/core/jobs.py",
           "newest = reversed(self._jobs.values())", "newest = iter(self._jobs.values())",
           "history lists the oldest job first"),
    Mutant("log-page-off-by-one", "mock_server/core/joblog.py",
           "return list(self.lines(offset, offset + limit))",
           "return list(self.lines(offset, offset + limit + 1))",
           "a log page holds one line more than its limit"),
    Mutant("waiting-not-cancellable", "mock_server/core/job.py",
           "return self.status in (Status.WAITING, Status.IN_PROGRESS)",
           "return self.status in (Status.IN_PROGRESS,)",
           "a wrong flag on one status: WAITING shows cancellable false"),
    Mutant("never-advances", "mock_server/core/jobs.py",
           "job.run_first + (now - job.phase_since) // pace", "job.run_first + (now - now) // pace",
           "jobs start and count, but no asset is ever done"),
    Mutant("resume-recounts", "mock_server/core/jobs.py",
           "job.counted = True", "job.counted = False",
           "a resumed job counts its assets again although its count succeeded"),
    Mutant("has-more-at-end", "mock_server/api/operations.py",
           "has_more = offset + len(lines) < total", "has_more = offset + len(lines) <= total",
           "the last log page says hasMore true"),
    Mutant("busy-path-allowed", "mock_server/core/jobs.py",
           "other = self._active.get(path)", 'other = self._active.get(path + "/")',
           "§3.12's one job per path is not enforced"),
    Mutant("resumed-keeps-start", "mock_server/core/jobs.py",
           "job.started_at = None  # a WAITING job", "job.started_at == None  # a WAITING job",
           "a resumed job back in the queue still shows its old startedAt (§3.2)"),
    Mutant("last-asset-late", "mock_server/core/jobs.py",
           "end_at = job.phase_since + (stop - job.run_first) * pace",
           "end_at = job.phase_since + (stop - job.run_first + 1) * pace",
           "a job ends one asset's time after its last asset"),
    Mutant("failure-repeats", "mock_server/core/jobs.py",
           "job.processing_failure_spent = True", "job.processing_failure_spent = False",
           "a scripted failure happens again after a resume"),
    Mutant("runner-freed-late", "mock_server/core/jobs.py",
           "self._free.append(now)", "self._free.append(now + 1)",
           "a cancel frees its runner 1 ms late"),
    Mutant("started-line-on-resume", "mock_server/core/jobs.py",
           "if job.first_started_at is None:", "if job.first_started_at is None or True:",
           "the 'job started' log line is written again on every resume"),
    Mutant("epoch-is-unset", "mock_server/core/jobs.py",
           "if job.first_started_at is None:", "if not job.first_started_at:",
           "a time of 0 is taken for unset: at the epoch, 'job started' is written again on a resume"),
    Mutant("queue-lifo", "mock_server/core/jobqueue.py",
           "self._entries.append((job.ticket, job))", "self._entries.appendleft((job.ticket, job))",
           "the queue runs the newest job first"),
)  # fmt: skip

#: Every start crashes: a copy that the tests really import cannot pass with it.
SENTINEL = Mutant(
    "sentinel",
    "mock_server/core/jobs.py",
    "job = self._enqueue(request, user, lifecycle, script, self._now)",
    "job = self._enqueue(request, user, lifecycle, script, self._now) + 0",
    "every start answers 500 (checks that the tests import the copy)",
)


class HarnessError(Exception):
    """The mutation run cannot be trusted; the message says why."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run of the suite."""

    passed: bool
    first_failure: str
    seconds: float


def copy_repository(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, leaving out environments, ``.git`` and caches."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)


def mutated(mutant: Mutant, text: str) -> str:
    """``text`` with the mutant applied; HarnessError unless its target occurs exactly once."""
    found = text.count(mutant.old)
    if found != 1:
        raise HarnessError(
            f"mutant {mutant.name}: its target occurs {found} times in {mutant.file}, not once: "
            f"{mutant.old!r} (has the code changed? update MUTANTS in tools/mutants.py)"
        )
    return text.replace(mutant.old, mutant.new)


def environment(root: Path) -> dict[str, str]:
    """The environment of a run in the copy at ``root``: the copy first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutated module never leaves a stale .pyc behind
    return env


def check_import(python: str, root: Path) -> None:
    """``import mock_server`` in the copy must find the copy, not the editable install."""
    found = subprocess.run(
        [python, "-c", "import mock_server; print(mock_server.__file__)"],
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
        check=False,
    )
    where = Path(found.stdout.strip() or ".").resolve()
    if found.returncode != 0 or root.resolve() not in where.parents:
        raise HarnessError(f"in the copy, mock_server comes from {where}, not {root}: {found.stderr}")


FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def run_suite(python: str, root: Path, tests: Sequence[str], workers: int, timeout: float) -> Outcome:
    """Run pytest in the copy; stop at the first failure."""
    # Hypothesis replays the failures it saved: a mutant must not be killed by an earlier one's example.
    shutil.rmtree(root / ".hypothesis", ignore_errors=True)
    command = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", str(workers), *tests]
    began = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=root,
            env=environment(root),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, f"(timed out after {timeout:.0f} s)", time.monotonic() - began)
    seconds = time.monotonic() - began
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return Outcome(True, "", seconds)
    if done.returncode == 5:
        raise HarnessError(f"no test ran: {' '.join(command)}\n{output[-2000:]}")
    failure = FAILED_LINE.search(output)
    last = output.strip().splitlines()[-1] if output.strip() else f"exit status {done.returncode}"
    return Outcome(False, failure.group(1) if failure else last, seconds)


def run_mutant(
    mutant: Mutant, python: str, root: Path, tests: Sequence[str], workers: int, timeout: float
) -> Outcome:
    """Apply ``mutant`` to the copy, run the suite, and put the file back."""
    path = root / mutant.file
    original = path.read_text(encoding="utf-8")
    path.write_text(mutated(mutant, original), encoding="utf-8")
    try:
        return run_suite(python, root, tests, workers, timeout)
    finally:
        path.write_text(original, encoding="utf-8")


def table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """Rows as a plain-text table under a header."""
    header = ("mutant", "result", "first failing test", "time")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mutants", nargs="*", help="the mutants to run (default: all; see --list)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--stateful", action="store_true", help=f"run {STATEFUL} alone, not the fast suite")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the unmutated copy first")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs pytest")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n), default 2")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run (a hang is a kill)")
    parser.add_argument("--source", type=Path, default=REPOSITORY, help="the repository to copy")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name:24} {mutant.file:29} {mutant.what}")
        return 0
    by_name = {mutant.name: mutant for mutant in MUTANTS}
    unknown = [name for name in args.mutants if name not in by_name]
    if unknown:
        print(f"unknown mutant(s): {', '.join(unknown)}; --list shows them", file=sys.stderr)
        return 2
    chosen = [by_name[name] for name in args.mutants] or list(MUTANTS)
    tests = [STATEFUL] if args.stateful else []
    suite = STATEFUL if args.stateful else "the fast suite"

    with tempfile.TemporaryDirectory(prefix="mutants-") as folder:
        root = Path(folder) / "repository"
        try:
            copy_repository(args.source, root)
            for mutant in (SENTINEL, *chosen):  # every target must be there before anything runs
                mutated(mutant, (root / mutant.file).read_text(encoding="utf-8"))
            check_import(args.python, root)
            if not args.skip_baseline:
                baseline = run_suite(args.python, root, tests, args.workers, args.timeout)
                if not baseline.passed:
                    raise HarnessError(f"the unmutated copy fails {suite}: {baseline.first_failure}")
                print(f"baseline: the unmutated copy passes {suite} ({baseline.seconds:.1f} s)", flush=True)
            sentinel = run_mutant(SENTINEL, args.python, root, tests, args.workers, args.timeout)
            if sentinel.passed:
                raise HarnessError("the sentinel mutant survived: the tests do not import the copy")
            print(f"sentinel: killed by {sentinel.first_failure} ({sentinel.seconds:.1f} s)", flush=True)
        except HarnessError as error:
            print(f"mutants.py: {error}", file=sys.stderr)
            return 2

        rows: list[tuple[str, str, str, str]] = []
        for mutant in chosen:
            outcome = run_mutant(mutant, args.python, root, tests, args.workers, args.timeout)
            result = "SURVIVED" if outcome.passed else "killed"
            rows.append((mutant.name, result, outcome.first_failure or "-", f"{outcome.seconds:.1f} s"))
            print(f"{mutant.name}: {result} {outcome.first_failure} ({outcome.seconds:.1f} s)", flush=True)

    print(f"\n{len(chosen)} mutants against {suite}:\n{table(rows)}")
    survivors = [name for name, result, *_ in rows if result == "SURVIVED"]
    if survivors:
        print(f"\nsurvived: {', '.join(survivors)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
