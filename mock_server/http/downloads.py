"""Streaming a download: the event loop yielded between chunks, cut cleanly at shutdown.

Whatever can fail fails before the headers go out (an answer of its own); an error after them cuts the
connection, so that a client never takes a broken ZIP for a whole one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from ..api.operations import Reply

__all__ = ["STREAMS", "cut_downloads", "cut_stream", "send_stream"]

log = logging.getLogger("aem_guides_mock")

#: The downloads streaming now: a shutdown cuts them at once rather than wait out its grace period.
STREAMS: web.AppKey[set[asyncio.Task[Any] | None]] = web.AppKey("streams")


def cut_stream(stream: Iterator[bytes]) -> Iterator[bytes]:
    """The first half of a stream's first bytes: a ZIP cut off, for a malformed-body fault."""
    first = next((chunk for chunk in stream if chunk), b"")
    yield first[: max(1, len(first) // 2)]


async def send_stream(request: web.Request, reply: Reply, record: Callable[[], None]) -> web.StreamResponse:
    """A download, streamed. Whatever can fail fails before the headers go out (an answer of its
    own); the event loop is yielded between chunks, so that other requests, and a shutdown, are
    served while a million-line ZIP streams; an error after the headers cuts the connection,
    so a client never takes a broken ZIP for a whole one. ``record`` journals the 200, once the
    first chunk is made."""
    assert reply.stream is not None
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type
    if request.method == "HEAD":  # the headers only: the ZIP is never built
        record()
        await response.prepare(request)
        return response
    first = next(reply.stream, b"")  # before the headers: a failure here is a 500 of its own
    record()  # the answer is a 200 now: journaled once (a failure above is journaled as its 500)
    await response.prepare(request)
    streams, task = request.config_dict[STREAMS], asyncio.current_task()
    streams.add(task)
    try:
        chunk: bytes | None = first
        while chunk is not None:
            if chunk:
                await response.write(chunk)
            await asyncio.sleep(0)  # let other requests (and a shutdown) in between chunks
            chunk = next(reply.stream, None)
        await response.write_eof()
    except ConnectionResetError:  # the client went away mid-download: nothing to answer
        log.info("client closed the connection during %s", request.path)
    except asyncio.CancelledError:  # the server stops: cut the transfer, never end it as if whole
        abort(request)
        raise
    except Exception:
        log.exception("the download of %s failed after its headers went out; cutting the connection",
                      request.path)  # fmt: skip
        abort(request)
    finally:
        streams.discard(task)
    return response


async def cut_downloads(app: web.Application) -> None:
    """On shutdown: a download in flight is cut now (its client sees a cut transfer), so that a
    stop takes moments, not the whole grace period that ordinary requests get."""
    streams = app[STREAMS]
    for task in [*streams]:
        if task is not None:
            task.cancel()


def abort(request: web.Request) -> None:
    """Drop the connection without ending the body: the client sees a cut transfer, not a whole file."""
    if request.transport is not None:
        request.transport.abort()
