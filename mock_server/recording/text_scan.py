"""Reading a long text a window at a time: runs, quoted strings, brackets, lines.

Python's regular expressions hold the GIL for a whole call, and a call over megabytes takes tens or
hundreds of milliseconds (a loop of the event loop stalled that long). These helpers never let one
call see more than :data:`WINDOW` characters (and what a match of bounded length needs past them),
however long what they read: a run of a character class, a string to its closing quote (JSON-escaped
once or more too), an object or array to its closing bracket, the brackets between two strings
counted in C (``bytes.translate`` and ``itertools.accumulate``, as :mod:`.limits` measures JSON's
depth). Used by :mod:`.text_redaction`. Pure: no aiohttp.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["WINDOW", "backslashes_before", "closing", "line_end", "quoted_end", "run_end", "run_start"]
__all__ += ["search"]

#: Characters one call of a regular expression reads (about a millisecond of GIL).
WINDOW = 64 * 1024
_DOUBLE_QUOTED = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_SINGLE_QUOTED = re.compile(r"[^'\\]*(?:\\.[^'\\]*)*", re.DOTALL)
_BRACKETS = re.compile(r"[\"{}\[\]]")
#: Each opening bracket as +1, each closing one as -1 (signed bytes), anything else 0.
_STEPS = bytes(1 if byte in b"[{" else 255 if byte in b"]}" else 0 for byte in range(256))


def search(pattern: re.Pattern[str], text: str, pos: int, longest: int) -> re.Match[str] | None:
    """The first match of ``pattern`` (at most ``longest`` characters long) at ``pos`` or after,
    one window at a time."""
    end = len(text)
    while pos < end:
        found = pattern.search(text, pos, min(end, pos + WINDOW + longest))
        if found is not None and found.start() < pos + WINDOW:
            return found
        pos += WINDOW
    return None


def run_end(pattern: re.Pattern[str], text: str, pos: int, limit: int | None = None) -> int:
    """Where the run of ``pattern`` (a repeated character class) that starts at ``pos`` ends (not
    past ``limit``), one window at a time."""
    end = len(text) if limit is None else min(len(text), limit)
    while True:
        stop = min(end, pos + WINDOW)
        matched = pattern.match(text, pos, stop)
        assert matched is not None  # a class repeated with *: it matches, if only empty
        if matched.end() < stop or stop == end:
            return matched.end()
        pos = stop


def run_start(pattern: re.Pattern[str], text: str, pos: int, floor: int = 0) -> int:
    """Where the run of ``pattern`` (a repeated character class) that ends at ``pos`` starts, not
    before ``floor``: read backwards, reversed slices at a time."""
    start, size = pos, 256
    while start > floor:
        piece = text[max(floor, start - size) : start][::-1]
        matched = pattern.match(piece)
        assert matched is not None
        start -= matched.end()
        if matched.end() < len(piece):
            return start
        size = min(size * 2, WINDOW)
    return floor


def backslashes_before(text: str, pos: int, floor: int) -> int:
    """How many backslashes come right before ``pos`` (not before ``floor``)."""
    count = 0
    while pos - count > floor:
        piece = text[max(floor, pos - count - 64) : pos - count]
        run = len(piece) - len(piece.rstrip("\\"))
        count += run
        if run < len(piece):
            break
    return count


def quoted_end(text: str, pos: int, quote: str, level: int) -> tuple[int, int] | None:
    """Where the string that opened before ``pos`` with ``level`` backslashes before its ``quote``
    closes: (where its content ends, where its closing quote ends); None when it never does. At
    level d a closing quote has d backslashes before it, and pairs of 2(d+1) more for backslashes
    of the content; any other count escapes a quote of the content."""
    if level == 0:  # a plain string: its content read by a regular expression, a window at a time
        content = _DOUBLE_QUOTED if quote == '"' else _SINGLE_QUOTED
        while True:
            stop = min(len(text), pos + max(WINDOW, 2))  # an escape, two characters, fits in any window
            matched = content.match(text, pos, stop)
            assert matched is not None  # it matches, if only empty
            end = matched.end()
            if end < len(text) and text[end] == quote:
                return end, end + 1
            if end == len(text) or end == pos:
                return None  # never closed (a lone backslash at the very end, too)
            pos = end  # the window ended inside the string, or before an escape it cut in two
    while (found := text.find(quote, pos)) >= 0:  # JSON-escaped: rare, a quote at a time
        run = backslashes_before(text, found, pos)
        if run < level or (run - level) % (2 * (level + 1)) == 0:
            return found - min(run, level), found + 1
        pos = found + 1
    return None


def line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def closing(text: str, start: int) -> tuple[int, list[str]]:
    """Where the object or array that opens at ``start`` closes (brackets in strings do not count),
    or the end of ``text`` (what cannot be told apart is redacted whole); and its strings. The
    brackets between two strings are counted in C (:func:`_depth_zero`), a window at a time."""
    depth, pos, leaves = 0, start, list[str]()
    while pos < len(text):
        quote = text.find('"', pos, pos + WINDOW)
        stop = quote if quote >= 0 else min(len(text), pos + WINDOW)
        depth, closed = _depth_zero(text, pos, stop, depth)
        if closed is not None:
            return closed, leaves
        if quote < 0:
            pos = stop
            continue
        level = backslashes_before(text, quote, start)
        found = quoted_end(text, quote + 1, '"', level)
        if found is None:
            return len(text), leaves
        leaves.append(text[quote + 1 : found[0]])
        pos = found[1]
    return len(text), leaves


def _depth_zero(text: str, start: int, stop: int, depth: int) -> tuple[int, int | None]:
    """The depth after the brackets of ``text[start:stop]`` (``depth`` before them), and where it
    first came back to zero (after the bracket that closed it), if it did."""
    steps = text[start:stop].encode("ascii", "replace").translate(_STEPS)
    if not steps.strip(b"\x00"):
        return depth, None
    sums = list(itertools.accumulate(memoryview(steps).cast("b"), initial=depth))
    try:
        return depth, start + sums.index(0, 1)
    except ValueError:
        return sums[-1], None
