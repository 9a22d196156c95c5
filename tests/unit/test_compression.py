"""The one inflater: gzip (members one after another), zlib and raw deflate, within a cap."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core.compression import NotInflatable, TooLarge, inflate, inflate_chunks
from tests.support.hypothesis_profiles import examples


def deflated(data: bytes, raw: bool = False) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    st.integers(1, 300),
    st.sampled_from(["gzip", "zlib", "raw"]),
)
def test_what_comes_out_is_what_went_in_however_it_is_cut(members: list[bytes], cut: int, kind: str) -> None:
    if kind == "gzip":
        data, whole = b"".join(gzip.compress(m) for m in members), b"".join(members)
    else:
        data, whole = deflated(members[0], raw=kind == "raw"), members[0]
    pieces = [data[i : i + cut] for i in range(0, len(data), cut)]
    coding = "gzip" if kind == "gzip" else "deflate"
    out = list(inflate_chunks(pieces, coding, chunk=512))
    assert b"".join(out) == whole and all(len(part) <= 512 for part in out)
    assert inflate(data, coding.upper(), limit=len(whole)) == whole


def test_a_bomb_stops_one_byte_past_the_cap_having_made_no_more() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    made: list[int] = []
    parts = inflate_chunks([bomb], "gzip", limit=1_000_000)
    with pytest.raises(TooLarge):
        made.extend(len(part) for part in parts)
    assert 0 < sum(made) <= 1_000_000


@pytest.mark.parametrize(
    ("data", "coding", "phrase"),
    [
        (gzip.compress(b"abc", mtime=0)[:-9], "gzip", "ends before"),
        (b"plain text", "gzip", "not gzip data"),
        (gzip.compress(b"a", mtime=0), "br", "is not one of"),
        (deflated(b"abc") + b"junk", "deflate", "follow the end"),
        (gzip.compress(b"a", mtime=0) + b"junk", "gzip", "not gzip data"),
    ],
    ids=["gzip cut", "not gzip", "br", "deflate then junk", "gzip then junk"],
)
def test_what_is_not_its_coding_is_said(data: bytes, coding: str, phrase: str) -> None:
    with pytest.raises(NotInflatable, match=phrase):
        inflate(data, coding, limit=1000)


def test_trailing_bytes_end_the_stream_quietly_when_asked() -> None:
    data = gzip.compress(b"one") + gzip.compress(b"two") + os.urandom(64)
    assert b"".join(inflate_chunks([data], "gzip", trailing=True)) == b"onetwo"


def test_members_are_counted() -> None:
    with pytest.raises(NotInflatable, match="more than 3 concatenated members"):
        inflate(gzip.compress(b"x") * 4, "gzip", limit=100, max_members=3)
