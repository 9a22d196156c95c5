"""Every tool's bounds under attack, the code before and now, in one run: the table of issue 20.

    .venv/bin/python bench/bench_bounds.py [--old REV] [--only proxy,tools,server,audit] [--no-fail]

The measurements are the four scripts beside this one, each run twice per measurement, first on a
checkout of ``--old`` (default 47571a5, the code before the tools were held to the server's bounds;
made with ``git worktree add --detach`` in a temporary folder and removed at the end), then on this
repository, so that both figures come from the same minutes of the same machine:

- ``proxy``: bench_proxy.py 1-7 (targets steered to another host, 16 MiB uploads, gzip bombs,
  downloads and 8 MiB answers, 1,100 endless uploads, clients that leave, SIGTERM with all of it);
- ``tools``: bench_tools.py 1-6 (scenario-from on a ZIP bomb, a tape of tiny objects and 257 MiB on
  /dev/stdin; verify against an author that never answers, one that goes silent after a start, and an
  endless ``hasMore``);
- ``server``: bench_hostile.py 10-13 (cancel/resume cycles, a gzip bomb's stall and the exit with
  bombs in flight, the admin job list over 10,000 jobs, peak RSS of hostile scenario PUTs);
- ``audit``: bench_audit.py (``close()`` after a 256 MiB recording, realistic and adversarial, the
  old code auditing it all at close; a few minutes).

Each measurement prints its figures with their targets (RSS < 150 MB, no stall > 100 ms, exit <= 5 s,
no traceback, no secret in a tape), the old ones above the new. Exits 1 when the new code misses a
target, unless ``--no-fail``. Takes 20 to 40 minutes on two cores. Run it as a script.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: (script, its measurements): each measurement is run with ``--only N`` and ``--checkout DIR``.
SUITES: dict[str, tuple[str, list[str]]] = {
    "proxy": ("bench_proxy.py", ["1", "2", "3", "4", "5", "6", "7"]),
    "tools": ("bench_tools.py", ["1", "2", "3", "4", "5", "6"]),
    "server": ("bench_hostile.py", ["10", "11", "12", "13"]),
}
#: A line that reports a figure (the scripts' own formats), and one that says a target was missed.
_FIGURE = re.compile(r"target|RSS|MB|exit|Traceback|audit|old:|new:", re.IGNORECASE)
_MISSED = re.compile(r"\bMISS(ED)?\b")


def run(script: str, args: list[str], timeout: float = 1800) -> tuple[list[str], float]:
    """The figure lines a bench script printed, and how long it took."""
    began = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH / script), *args, "--no-fail"],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        out = done.stdout + (f"\n(exit {done.returncode}) {done.stderr[-600:]}" if done.returncode else "")
    except subprocess.TimeoutExpired:
        out = f"(did not end within {timeout:g} s)"
    lines = [line.rstrip() for line in out.split("\n== summary")[0].splitlines() if line.strip()]
    figures = [line for line in lines if _FIGURE.search(line) and not line.startswith(("==", "proxy code"))]
    return figures or lines[-5:], time.monotonic() - began


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--old", default="47571a5", metavar="REV", help="the code before (default 47571a5)")
    cli.add_argument("--only", default="proxy,tools,server,audit", metavar="SUITE[,SUITE...]",
                     help="proxy, tools, server and/or audit (default: all)")  # fmt: skip
    cli.add_argument("--no-fail", action="store_true", help="exit 0 even when the new code misses a target")
    cli.add_argument("--audit", nargs=argparse.REMAINDER, default=[], metavar="ARG",
                     help="the rest is passed to bench_audit.py (e.g. --audit --mib 32)")  # fmt: skip
    args = cli.parse_args()
    wanted = args.only.split(",")
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-bounds-") as folder:
        old = Path(folder) / "old"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(old), args.old], cwd=ROOT, check=True
        )
        try:
            print(f"old: {args.old} in {old}\nnew: {ROOT}", flush=True)
            for suite in (s for s in SUITES if s in wanted):
                script, numbers = SUITES[suite]
                for number in numbers:
                    print(f"\n== {suite} {number} ({script} --only {number})", flush=True)
                    for name, checkout in (("old", old), ("new", ROOT)):
                        figures, took = run(script, ["--checkout", str(checkout), "--only", number])
                        print(f"  {name} ({took:.0f} s):", flush=True)
                        for line in figures:
                            print(f"    {line.strip()}", flush=True)
                        if name == "new":
                            missed += [
                                f"{suite} {number}: {line.strip()}"
                                for line in figures
                                if _MISSED.search(line)
                            ]
            if "audit" in wanted:
                print("\n== audit (bench_audit.py: 256 MiB, old and new)", flush=True)
                figures, took = run("bench_audit.py", ["--old", str(old), *args.audit])
                for line in figures:
                    print(f"    {line.strip()}", flush=True)
                missed += [
                    f"audit: {line.strip()}" for line in figures if _MISSED.search(line) and "new:" in line
                ]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    print("\n" + (f"{len(missed)} target(s) missed by the new code:\n  " + "\n  ".join(missed) if missed
                  else "every target met by the new code"))  # fmt: skip
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
