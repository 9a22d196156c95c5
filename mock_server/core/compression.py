"""Inflating gzip and deflate data within a cap: the one inflater of request bodies, tapes and audits.

Every caller bounds what it makes: :func:`inflate_chunks` yields at most ``chunk`` bytes at a time
(never more than the ``limit`` in all), so a bomb costs no more than its cap in memory, and in time
no more than the cap's worth of zlib (which lets go of the GIL while it works). ``gzip`` may be
several members one after another (RFC 1952 allows it, and ``gzip`` the tool writes them), at most
``max_members``; ``deflate`` is a zlib stream (RFC 1950) or, as some clients send it, raw deflate.
Pure: no aiohttp.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = ["CODINGS", "MAX_MEMBERS", "NotInflatable", "TooLarge", "inflate", "inflate_chunks"]

#: The codings this module inflates (``x-gzip`` is gzip's old name, still sent).
CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
#: The most concatenated members one body may hold (aiohttp's own cap).
MAX_MEMBERS = 1024
_GZIP_MAGIC = b"\x1f\x8b"
#: The first input window fed to a member's decompressor, doubled up to ``chunk``: a member that
#: ends early leaves a small ``unused_data`` to copy, so many small members cost O(data).
_FIRST_WINDOW = 64


class TooLarge(Exception):
    """The data inflates to more than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"it inflates to more than {limit} bytes")
        self.limit = limit


class NotInflatable(ValueError):
    """The data is not what its coding says; the message says what was found."""


def inflate(data: bytes, coding: str, limit: int, *, max_members: int = MAX_MEMBERS) -> bytes:
    """``data`` inflated from ``coding`` (one of :data:`CODINGS`, any case), at most ``limit``
    bytes: :class:`TooLarge` as soon as it would pass them, :class:`NotInflatable` when it is not
    that coding, ends early or is followed by what is not another member."""
    return b"".join(inflate_chunks([data], coding, limit=limit, max_members=max_members))


def inflate_chunks(
    compressed: Iterable[bytes],
    coding: str,
    *,
    limit: int | None = None,
    max_members: int = MAX_MEMBERS,
    chunk: int = 64 * 1024,
    trailing: bool = False,
) -> Iterator[bytes]:
    """The inflated content of the stream of ``compressed`` pieces, in pieces of at most ``chunk``
    bytes. ``limit`` (None: none; the caller stops when it has enough) raises :class:`TooLarge`
    before a byte past it is yielded. With ``trailing``, what follows the last member and is not
    another one ends the stream quietly (a reader that looks at those bytes raw anyway); without,
    it is :class:`NotInflatable`, as is a stream that ends early."""
    coding = coding.strip().lower()
    if coding not in CODINGS:
        raise NotInflatable(f"{coding[:40]!r} is not one of {', '.join(sorted(CODINGS))}")
    made = members = 0
    decoder: zlib._Decompress | None = None
    window = _FIRST_WINDOW
    for piece in compressed:
        data = memoryview(piece)
        while data:
            if decoder is None:  # a member begins
                members += 1
                if members > max_members:
                    raise NotInflatable(f"more than {max_members} concatenated members")
                if coding != "deflate" and not bytes(data[:2]).startswith(_GZIP_MAGIC[: len(data[:2])]):
                    if trailing and members > 1:
                        return
                    raise NotInflatable("not gzip data (it does not start with 1f 8b)")
                decoder, window = zlib.decompressobj(_wbits(coding, data[0])), _FIRST_WINDOW
            room = chunk if limit is None else min(chunk, limit + 1 - made)
            taken = min(window, len(data))
            try:
                part = decoder.decompress(data[:taken], room)
            except zlib.error as error:
                if trailing and members > 1:
                    return
                raise NotInflatable(str(error)) from None
            made += len(part)
            if limit is not None and made > limit:
                raise TooLarge(limit)
            if part:
                yield part
            # What the decoder did not take: the output cap stopped it, or the member ended.
            left = len(decoder.unconsumed_tail) if not decoder.eof else len(decoder.unused_data)
            data = data[taken - left :]
            window = min(window * 2, chunk)
            if decoder.eof:
                if coding == "deflate":  # one zlib stream: what follows it is no part of it
                    if data and not trailing:
                        raise NotInflatable("bytes follow the end of the deflate stream")
                    return
                decoder = None
    if decoder is not None:  # the stream ended inside a member
        while tail := decoder.decompress(b"", chunk if limit is None else min(chunk, limit + 1 - made)):
            made += len(tail)
            if limit is not None and made > limit:
                raise TooLarge(limit)
            yield tail
        if not decoder.eof:
            raise NotInflatable("the data ends before its compressed stream does")
    elif members == 0 and coding != "deflate":
        return  # no data at all: nothing to inflate


def _wbits(coding: str, first: int) -> int:
    if coding != "deflate":
        return 16 + zlib.MAX_WBITS
    return zlib.MAX_WBITS if first & 0x0F == 8 else -zlib.MAX_WBITS  # zlib-wrapped, or raw deflate
