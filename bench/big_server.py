"""The mock over a repository of about a million generated assets, for the memory benchmark.

    python bench/big_server.py --folders 100 --per-folder 10000 --clock-factor 100

The assets lie under ``/content/dam/big`` (``f000`` .. ``f099``, DITATOPIC each). Jobs run at the
fastest pace settings allow (1 ms per asset), and the mock's clock runs ``--clock-factor`` times
faster than the wall clock, so that a job walks through the whole million in seconds rather than
the 17 minutes a real-time 1 ms pace would take. The first line printed ends with the base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from mock_server import Repository, Settings, create_app
from mock_server.http.serving import start_site

BIG_ROOT = "/content/dam/big"


class FastClock:
    """Wall-clock time that runs ``factor`` times faster from the moment it is made."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.origin_ms = time.time_ns() // 1_000_000
        self.origin = time.perf_counter()

    def now_ms(self) -> int:
        return self.origin_ms + int((time.perf_counter() - self.origin) * 1000 * self.factor)


def big_repository(folders: int, per_folder: int) -> Repository:
    repo = Repository()
    for f in range(folders):
        repo.add_generated(
            f"{BIG_ROOT}/f{f:03d}", "DITATOPIC", per_folder, "topic-{n}.dita", 1_748_736_000_000, 1000
        )
    return repo


async def serve(folders: int, per_folder: int, clock_factor: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    settings = Settings(counting_ms=100, per_asset_ms=1)
    app = create_app(settings, clock=FastClock(clock_factor), repository=big_repository(folders, per_folder))
    runner, url = await start_site(app, "127.0.0.1", 0)
    try:
        print(f"big-repository mock ({folders * per_folder} assets) serving at {url}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--folders", type=int, default=100)
    cli.add_argument("--per-folder", type=int, default=10_000)
    cli.add_argument("--clock-factor", type=float, default=100.0)
    args = cli.parse_args()
    asyncio.run(serve(args.folders, args.per_folder, args.clock_factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
