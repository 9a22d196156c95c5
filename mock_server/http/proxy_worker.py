"""The proxy's worker thread: the slow work of its exchanges (checking large bodies, writing the tape)
off the event loop, one job at a time in the order given, and a stop that keeps to its deadline.

One thread, so that the tape's lines keep the order the exchanges ended in. A daemon thread, where
an executor's would be joined at the interpreter's exit: at a stop the jobs queued are dropped
(:meth:`Worker.stop`) and the one under way is waited for until a deadline only; one that runs on
past it (a long tape line) must not hold the process up. :attr:`Worker.idle` then says whether the
tape may be closed: never while a line is being written to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Worker"]

T = TypeVar("T")
_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class Worker:
    """One daemon thread running the jobs given by :meth:`run`, in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._done = threading.Event()
        self._done.set()
        # Taken by the thread between getting a job and beginning it, and by stop(): once stopping,
        # no job begins, so a stop that finds the thread idle knows it stays so.
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        """Whether no job is under way (and so nothing writes to the tape)."""
        return self._done.is_set()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``, run in the thread after the jobs given before (never after
        :meth:`stop`); cancelling the caller drops the job if it has not begun."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((functools.partial(function, *args), future, loop))
        return await future

    async def stop(self, deadline: float) -> int:
        """Drop the jobs not begun (they are cancelled; how many is returned), and wait for the one
        under way until ``deadline`` (a ``time.monotonic()``); then the thread ends once it is idle."""
        with self._lock:
            self._stopping = True
        dropped = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and not job[1].done():
                job[1].cancel()
                dropped += 1
        self._jobs.put(None)  # the thread ends after the job under way, if any
        loop = asyncio.get_running_loop()
        remaining = deadline - time.monotonic()
        if remaining > 0 and not self.idle:
            await loop.run_in_executor(None, self._done.wait, remaining)
        return dropped

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, future, loop = job
            with self._lock:
                if self._stopping:  # taken just before the stop drained the queue: dropped too
                    _tell(loop, future.cancel)
                    continue
                if future.done():  # cancelled while queued: its exchange was cut (reading is safe)
                    continue
                self._done.clear()
            try:
                outcome: tuple[Any, BaseException | None] = (call(), None)
            except BaseException as error:  # handed to the caller, which says what it means
                outcome = (None, error)
            finally:
                self._done.set()
            _tell(loop, functools.partial(_settle, future, outcome))


def _tell(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    """Run ``callback`` on the loop's thread, unless the loop is closed: then nobody waits."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)


def _settle(future: asyncio.Future[Any], outcome: tuple[Any, BaseException | None]) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    result, error = outcome
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
