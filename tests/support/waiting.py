"""Waiting on a condition, bounded: what orders events in a test instead of a sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: How long a condition may take to hold before the test fails naming it (a loaded CI machine included).
PATIENCE_S = 10.0


def wait_until(
    condition: Callable[[], object], what: str, within_s: float = PATIENCE_S, every_s: float = 0.01
) -> None:
    """Poll ``condition`` from a thread until it holds; fail with ``what`` past ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {within_s} s waiting for {what}"
        time.sleep(every_s)


async def until(
    condition: Callable[[], object], what: str, within_s: float = PATIENCE_S, every_s: float = 0.01
) -> None:
    """Poll ``condition`` on the running loop until it holds; fail with ``what`` past ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        assert loop.time() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(every_s)
