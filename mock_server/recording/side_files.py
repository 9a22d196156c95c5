"""Side files: the bodies a tape keeps beside its lines (the log ZIP, binary bodies), redacted.

A side file is redacted as text is (:mod:`.text_redaction`), and so is what inflates from it: each
member of a ZIP and the content of gzip data, gzip members of a ZIP included. A ZIP whose member
changed is written again, its members in the same order under the same names (``scenario-from``
reads their lines), deflated; gzip data that changed is compressed again. A side file is not kept
(:class:`Refused` says why, for the note that stands in its place) when the audit could not look
through it whole (:mod:`.audit`): a ZIP or gzip stream cut short, one that does not open or inflate
or is past the audit's limits, an encrypted member, and any format no one here reads, alone or inside
a ZIP or gzip (:func:`.formats.opaque`). What a side file charges to the audit's limits on inflating
is counted (:class:`.audit.Allowance`). No aiohttp.
"""

from __future__ import annotations

import codecs
import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ..core.compression import NotInflatable, TooLarge, inflate_chunks
from .audit import MAX_MEMBERS, MAX_RATIO, RATIO_FREE, SIDE_ZIP, Allowance
from .formats import decode_text, is_gzip, is_zip_start, opaque
from .limits import LimitError, check_members, member_chunks, open_zip, unreadable

__all__ = ["Kept", "Redact", "Refused", "redact_blob", "side_file"]

#: Redacts text (:func:`.text_redaction.redact_text` with the recorder's secrets and names).
Redact = Callable[[str], str]
_BROKEN = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError,
           zlib.error, struct.error)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kept:
    """A side file to write: its bytes, what inflates from them (for the audit as it is written),
    and what is left of the audit's limits once it is."""

    data: bytes
    inflated: tuple[tuple[str, bytes], ...]
    left: Allowance


@dataclass(frozen=True, slots=True)
class Refused:
    """A side file not kept, and why (what the tape's note says)."""

    why: str


def side_file(data: bytes, cut: bool, redact: Redact, left: Allowance, encoding: str = "") -> Kept | Refused:
    """``data`` redacted as a side file, or why it is not kept: ``cut`` says it is only the first
    bytes of a body, ``left`` what the side files kept so far leave of the audit's limits, and
    ``encoding`` the text's when it was declared (its ``charset``)."""
    zipped = is_zip_start(data) or zipfile.is_zipfile(io.BytesIO(data))
    if cut and (zipped or is_gzip(data)):
        return Refused(f"{'a ZIP' if zipped else 'gzip data'} cut short (what it holds cannot be read)")
    try:
        if zipped:
            return _zip(data, redact, left)
        if is_gzip(data):
            return _gzip(data, redact, left)
    except LimitError as error:
        return Refused(f"a ZIP past the audit's limits: {error}")
    except _BROKEN as error:
        return Refused(f"a ZIP that does not open ({type(error).__name__})")
    if (what := opaque(data)) is not None:
        return Refused(f"{what}, which the audit cannot look into")
    return Kept(redact_blob(data, redact, encoding), (), left)


def _zip(data: bytes, redact: Redact, left: Allowance) -> Kept | Refused:
    with open_zip(io.BytesIO(data), SIDE_ZIP) as archive:
        infos = archive.infolist()
        if len(infos) > left.members:
            return Refused(f"a ZIP of {len(infos)} members, past the {MAX_MEMBERS} the audit reads in all")
        for info in infos:
            if (why := unreadable(info)) is not None:
                return Refused(f"a ZIP whose {why} (the audit cannot look into it)")
        spent = check_members(infos, SIDE_ZIP)
        if spent > left.inflated:
            return Refused(f"a ZIP that inflates to {spent} bytes, past what is left of the audit's limits")
        members: list[tuple[zipfile.ZipInfo, bytes]] = []
        inflated: list[tuple[str, bytes]] = []
        changed = False
        for info in infos:
            content = b"".join(member_chunks(archive, info))  # within its declared size, checked
            if (what := opaque(content)) is not None:
                return Refused(f"a ZIP whose member {info.filename[:80]!r} is {what}, which the audit "
                               "cannot look into")  # fmt: skip
            if is_gzip(content):  # a .gz log in the ZIP: its content redacted, then compressed again
                gunzipped = _gunzip(content, left.inflated - spent)
                if isinstance(gunzipped, Refused):
                    return Refused(f"a ZIP whose member {info.filename[:80]!r} is {gunzipped.why}")
                spent += len(gunzipped)
                inner = redact_blob(gunzipped, redact)
                redacted = content if inner == gunzipped else gzip.compress(inner, mtime=0)
                inflated += [(info.filename, redacted), (f"{info.filename} (inflated)", inner)]
            else:
                redacted = redact_blob(content, redact)
                inflated.append((info.filename, redacted))
            changed |= redacted != content
            members.append((info, redacted))
    if not changed:
        return Kept(data, tuple(inflated), Allowance(left.inflated - spent, left.members - len(infos)))
    written = _rewritten(members)
    with open_zip(io.BytesIO(written), SIDE_ZIP) as archive:  # the audit reads it through this gate again
        check_members(archive.infolist(), SIDE_ZIP)
    return Kept(written, tuple(inflated), Allowance(left.inflated - spent, left.members - len(infos)))


def _rewritten(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    """A ZIP of ``members`` in their order, under their names and dates, deflated (stored ones
    stored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for old, content in members:
            info = zipfile.ZipInfo(old.filename, old.date_time)
            info.compress_type = (
                zipfile.ZIP_STORED if old.compress_type == zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
            )
            info.external_attr, info.comment = old.external_attr, old.comment
            archive.writestr(info, content)
    return buffer.getvalue()


def _gzip(data: bytes, redact: Redact, left: Allowance) -> Kept | Refused:
    gunzipped = _gunzip(data, left.inflated)
    if isinstance(gunzipped, Refused):
        return gunzipped
    redacted = redact_blob(gunzipped, redact)
    written = data if redacted == gunzipped else gzip.compress(redacted, mtime=0)
    return Kept(written, (("inflated", redacted),), Allowance(left.inflated - len(gunzipped), left.members))


def _gunzip(data: bytes, left: int) -> bytes | Refused:
    """What gzip ``data`` inflates to, within the audit's ratio and what is ``left`` of its limits,
    through the one inflater; or why not. Gzip or a format nothing here reads, inside, is refused."""
    limit = min(left, SIDE_ZIP.max_inflated, RATIO_FREE + MAX_RATIO * len(data))
    try:
        content = b"".join(inflate_chunks([data], "gzip", limit=limit, trailing=True))
    except TooLarge:
        return Refused(f"gzip data that inflates past the audit's limits ({limit} bytes and more)")
    except NotInflatable:
        return Refused("gzip data that does not inflate")
    if is_gzip(content) or (what := opaque(content)) is not None:
        return Refused(f"gzip data of {'gzip data' if is_gzip(content) else what}, which the audit cannot "
                       "look into")  # fmt: skip
    return content


def redact_blob(data: bytes, redact: Redact, encoding: str = "") -> bytes:
    """``data`` redacted as text: decoded as its byte order mark, ``encoding`` or NULs say (UTF-16…)
    and encoded back so; else as UTF-8, its other bytes (binary) left as they were."""
    text, shown = decode_text(data, f"; charset={encoding}" if encoding else "")
    if text is not None and shown not in ("", "utf-8"):
        redacted = redact(text)
        if redacted == text:
            return data
        try:
            return codecs.encode(redacted, shown)
        except (UnicodeEncodeError, LookupError):  # [redacted] is ASCII: a codec without it
            return redacted.encode("utf-8", "surrogateescape")
    decoded = data.decode("utf-8", "surrogateescape")
    redacted = redact(decoded)
    return data if redacted == decoded else redacted.encode("utf-8", "surrogateescape")
