"""Reading a request body whole and bounded, its ``Content-Encoding`` decoded off the event loop.

Why: aiohttp inflates a compressed request body on the event loop as the handler reads it, and
when a handler answers with part of the body unread, aiohttp lingers, reading and discarding the
rest: it inflated a whole 1 MB gzip bomb (1 GB) on the loop, and every other client waited 1.4 s.
So the mock's app tells aiohttp not to decompress (:data:`HANDLER_ARGS`, its ``handler_args``);
:func:`read_body` reads the raw bytes to their end (at most a little more than the cap) and
inflates them in a worker thread, with a hard cap: :func:`inflate` stops one byte past ``limit``.
aiohttp's runners (``AppRunner``: ``run_app``, the test server, the mock's own) apply an app's
``handler_args`` over their own arguments, so an app made with them always gets the raw bytes. An
application that mounts one of ours as a sub-application serves it with *its* handler arguments:
make that one with :data:`HANDLER_ARGS` too.

``gzip`` and ``deflate`` (a zlib stream, or the raw deflate some clients send) are decoded by
:mod:`..core.compression`, concatenated members too (at most :data:`MAX_MEMBERS`); ``br`` and
``zstd`` with the libraries aiohttp uses (Brotli or brotlicffi; ``compression.zstd`` or
backports.zstd, several frames too) when they are installed, refused otherwise. Whatever the
coding, a body that ends before its compressed stream does is refused, as a cut gzip body is. Any
other ``Content-Encoding`` is not decoded, as aiohttp does not decode it: the body is read as it came.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ..core import compression
from ..core.compression import MAX_MEMBERS

__all__ = [
    "HANDLER_ARGS",
    "MAX_MEMBERS",
    "BodyTooLarge",
    "BodyUnreadable",
    "compressed_cap",
    "content_encoding",
    "inflate",
    "read_body",
]

#: The keyword arguments of aiohttp's request handler that the mock's app asks for.
HANDLER_ARGS: Mapping[str, Any] = {"auto_decompress": False}
_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body is longer than ``limit`` bytes, as sent or (``inflated``) once decoded: then the
    connection is best closed, lest aiohttp read (and, were it the one inflating, inflate) the rest."""

    def __init__(self, limit: int, inflated: bool) -> None:
        super().__init__(limit, inflated)
        self.limit, self.inflated = limit, inflated


class BodyUnreadable(Exception):
    """The body is not what its headers say: ``encoding`` names the ``Content-Encoding`` it does
    not have (None: its framing is broken); ``reason`` says what was found."""

    def __init__(self, encoding: str | None, reason: str) -> None:
        super().__init__(encoding, reason)
        self.encoding, self.reason = encoding, reason


def content_encoding(request: web.Request) -> str | None:
    """The coding the body is to be decoded from, by aiohttp's rule: one of ``gzip``, ``deflate``,
    ``br`` and ``zstd`` in any case; None for none, and for any other value."""
    value = request.headers.get("Content-Encoding", "")
    coding = value.lower() if value.isascii() else ""
    return coding if coding in _ENCODINGS else None


def compressed_cap(limit: int) -> int:
    """The most raw bytes read of a compressed body that may inflate to at most ``limit``: a
    deflate stream adds 5 bytes per stored block of 64 KiB, gzip's header and trailer 18 or more."""
    return limit + limit // 100 + 4096


async def read_body(
    request: web.Request,
    limit: int,
    timeout_s: float,
    *,
    room: Callable[[int], Awaitable[object]] | None = None,
    decode: bool = True,
) -> bytes:
    """The whole body, decoded from its ``Content-Encoding``, at most ``limit`` bytes.

    ``room``, if given, is awaited after each piece read with the raw bytes read so far, before the
    next is read: a caller that counts the memory bodies take (the proxy) waits there for room,
    within ``timeout_s``. ``decode=False`` reads the bytes as sent, whatever ``Content-Encoding`` says.

    Raises :class:`BodyTooLarge`, :class:`BodyUnreadable`, ``TimeoutError`` when the raw body did
    not arrive within ``timeout_s``, and ``ConnectionError`` when the client left mid-body.
    """
    # The bytes are raw: the app was made with HANDLER_ARGS.
    coding = content_encoding(request) if decode else None
    cap = limit if coding is None else compressed_cap(limit)
    if request.content_length is not None and request.content_length > cap:
        raise BodyTooLarge(limit, inflated=False)
    raw = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_chunked(_CHUNK):
                raw += chunk
                if len(raw) > cap:
                    raise BodyTooLarge(limit, inflated=False)
                if room is not None:
                    await room(len(raw))
    except web.RequestPayloadError as error:  # a bad chunk, or a coding aiohttp failed to decode
        raise BodyUnreadable(request.headers.get("Content-Encoding"), str(error)) from None
    if coding is None or not raw:
        return bytes(raw)
    return await asyncio.to_thread(inflate, bytes(raw), coding, limit)


def inflate(data: bytes, coding: str, limit: int) -> bytes:
    """``data`` decoded from ``coding``; :class:`BodyTooLarge` as soon as it passes ``limit``
    bytes (never more than ``limit + 1`` are made), :class:`BodyUnreadable` when it is not that
    coding. Runs in a worker thread: zlib lets go of the GIL while it inflates."""
    if not data:
        return b""
    if coding in ("gzip", "deflate"):
        return _inflate_zlib(data, coding, limit)
    return _inflate_other(data, coding, limit)


def _inflate_zlib(data: bytes, coding: str, limit: int) -> bytes:
    try:
        return compression.inflate(data, coding, limit)
    except compression.TooLarge:
        raise BodyTooLarge(limit, inflated=True) from None
    except compression.NotInflatable as error:
        raise BodyUnreadable(coding, str(error)) from None


@functools.cache
def _library(*names: str) -> Any:
    """The first of the modules ``names`` that imports, as aiohttp looks for them; None for none."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _inflate_other(data: bytes, coding: str, limit: int) -> bytes:
    library = (
        _library("brotlicffi", "brotli") if coding == "br" else _library("compression.zstd", "backports.zstd")
    )
    if library is None:
        needed = "Brotli" if coding == "br" else "backports.zstd"
        raise BodyUnreadable(coding, f"this server cannot decode {coding} (it needs {needed}); "
                                     "send gzip or deflate")  # fmt: skip
    try:
        made = _brotli(library, data, limit) if coding == "br" else _zstd(library, data, limit)
    except (BodyTooLarge, BodyUnreadable):
        raise
    except Exception as error:  # each library raises its own kind
        raise BodyUnreadable(coding, f"not {coding}: {error}") from None
    if made is None:
        raise BodyUnreadable(coding, "the data ends before its compressed stream does")
    return made


def _brotli(library: Any, data: bytes, limit: int) -> bytes | None:
    """The brotli stream ``data`` inflated, None when it ends early. The decoder stops once its
    output passes the room it is given (by up to one of its buffers); it is asked again until it
    has nothing more, so that a stream cut short is told from one that filled the room."""
    decoder = library.Decompressor()
    step = getattr(decoder, "process", None) or decoder.decompress  # Brotli's name, brotlicffi's
    parts, made, given = [], 0, data
    while made <= limit:
        part = step(given, limit + 1 - made)
        given = b""
        if not part:
            break
        parts.append(part)
        made += len(part)
    if made > limit:
        raise BodyTooLarge(limit, inflated=True)
    return b"".join(parts) if decoder.is_finished() else None


def _zstd(library: Any, data: bytes, limit: int) -> bytes | None:
    """The zstd frames of ``data`` inflated (at most :data:`MAX_MEMBERS`), None when the last one
    ends early."""
    parts, made, rest, frames = [], 0, data, 0
    while rest:
        frames += 1
        if frames > MAX_MEMBERS:
            raise BodyUnreadable("zstd", f"more than {MAX_MEMBERS} concatenated frames")
        decoder = library.ZstdDecompressor()
        part = decoder.decompress(rest, limit + 1 - made)  # stops at that many bytes out
        parts.append(part)
        made += len(part)
        if made > limit:
            raise BodyTooLarge(limit, inflated=True)
        if not decoder.eof:  # short of the cap, so every byte was taken: the frame was cut
            return None
        rest = decoder.unused_data
    return b"".join(parts)
