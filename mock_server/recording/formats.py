"""What a body is, by its first bytes: a ZIP, gzip, a format no one here can look into, or text.

The audit (:mod:`.audit`) looks for secrets in bytes as they are, in the members of a ZIP and in
gzip data inflated. Any other compressed format hides its bytes from it: a ZIP inside a ZIP, bzip2,
xz, zstd, 7z, RAR, LZ4, a PDF whose streams are compressed, a PNG (its chunks are deflated). Those
are told by their magic bytes (:func:`opaque`), and a recorder keeps none of them: the audit never
passes what it could not read.

Text is decoded by its byte order mark, then by the ``charset`` its ``Content-Type`` names, then as
UTF-16 or UTF-32 when its first characters are ASCII with NULs between them (RFC 4627's rule for
JSON), else as UTF-8 (:func:`decode_text`). No aiohttp.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["GZIP_MAGIC", "ZIP_MAGIC", "decode_text", "is_gzip", "is_zip_start", "opaque"]

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
#: Magic bytes of the compressed formats the audit cannot read, and their names.
_OPAQUE = (
    (b"PK\x03\x04", "a ZIP"),
    (b"PK\x05\x06", "a ZIP"),  # an empty one, or one whose members come later
    (b"PK\x07\x08", "a ZIP"),  # spanned
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x5d\x00\x00", "LZMA data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x04\x22\x4d\x18", "LZ4 data"),
    (b"\x1f\x9d", "compress (.Z) data"),
    (b"\x1f\xa0", "LZH data"),
    (b"LZIP", "lzip data"),
    (b"MSCF", "a cabinet archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG (its chunks are deflated)"),
)
#: A PDF's stream compressed by a filter the audit does not undo (any filter: one is enough).
_PDF_FILTER = re.compile(rb"/Filter\b")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: RFC 4627's rule: the first two characters of JSON are ASCII, so the NULs of its first four bytes
#: say which of UTF-16 and UTF-32 (and which byte order) it is in.
_NULS = {"000x": "utf-32-be", "x000": "utf-32-le", "0x0x": "utf-16-be", "x0x0": "utf-16-le"}
_CHARSET = re.compile(r"""(?i);\s*charset\s*=\s*["']?([^"';\s]{1,40})""")


def is_zip_start(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def is_gzip(data: bytes) -> bool:
    return data.startswith(GZIP_MAGIC)


def opaque(data: bytes) -> str | None:
    """What ``data`` is when it is a compressed format the audit cannot look into, or None (a ZIP
    counts: inside another ZIP nothing reads it; a recorder reads the outer one itself)."""
    for magic, name in _OPAQUE:
        if data.startswith(magic):
            return name
    if data.startswith(b"%PDF") and _PDF_FILTER.search(data):
        return "a PDF with compressed streams"
    return None


def decode_text(data: bytes, content_type: str = "") -> tuple[str | None, str]:
    """``data`` as text and the encoding it was read in: by its byte order mark, the ``charset`` of
    ``content_type``, NULs between ASCII (UTF-16/32 without a mark), else UTF-8 (the encoding is then
    ``""``: none was declared or shown). The text is None when it does not decode."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decoded(data, encoding), encoding
    declared = _CHARSET.search(content_type)
    if declared is not None:
        try:
            encoding = codecs.lookup(declared[1]).name
        except LookupError:
            return None, declared[1]
        return _decoded(data, encoding), encoding
    shown = _NULS.get("".join("0" if byte == 0 else "x" for byte in data[:4]))
    if shown is not None:
        return _decoded(data, shown), shown
    return _decoded(data, "utf-8"), ""


def _decoded(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
