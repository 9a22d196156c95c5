"""Text redaction: the value of each secret-named pair and element of a text, however long it is.

What a text can carry (the names are the rule of :mod:`.secrets`):

- ``name=value``: a bare value runs to a space or one of ``&;,"'<>{}[]`` (a query, a log's
  ``k=v k2=v2``); after an authentication scheme (``Authorization=Basic …``) the credentials too;
- ``name: value``, ``name = value``, ``name => value``: the value runs to the end of the line
  (``passphrase: correct horse battery staple``); a YAML block (``password:`` or ``password: |``
  then more indented lines) is redacted whole;
- a quoted value (``"token": "…"``, ``'key' = '…'``), also JSON-escaped once or more
  (``{\\"password\\":\\"…\\"}``): to its closing quote at the same level of escaping, over lines if
  need be; an object or array (``"token": {…}``): to its closing bracket;
- ``<password>…</password>`` (with attributes too): to the closing tag;
- a pair URL-encoded, once or more (``/x%3Ftoken%3D…``, ``%253D``): decoded, redacted, encoded again.

A value is never cut short: however long, it is redacted whole. Free text is prose too (``key:
Processing``), so a value found in it is remembered for the audit only when it looks like a
credential (:func:`_remember`).

**Bounded work.** A text is read in windows of :data:`.text_scan.WINDOW` characters, one call of C at a time
(no single call holds the GIL for long: an 8 MiB text is 128 windows of about a millisecond each):
a window in which no secret name can be (none of the words every secret name holds, ``pass``,
``key``, ``token``…, is in it once lower-cased and without ``-_.``: :func:`_fragments`) is passed
over whole; in the others, each ``=``, ``:`` and ``<`` is looked at, its name read backwards. No
aiohttp.
"""

from __future__ import annotations

import functools
import html
import json
import re
import urllib.parse

from . import text_scan
from .secrets import DEFAULT_NAMES, REDACTED, SECRET_WORDS, SHORT_NAMES, SecretNames, Secrets
from .text_scan import closing, line_end, quoted_end, run_end, run_start, search

__all__ = ["redact_text"]

_NAME_CHARS = re.compile(r"[\w.-]*")
#: What may come between a name and its separator (a quote, JSON-escaped or not, blanks), or be it.
_KEY_CHARS = re.compile(r"[\w.\-\\\"' \t]*")
_BLANKS = re.compile(r"[ \t]*")
_BACKSLASHES = re.compile(r"\\*")
_SEPARATOR = re.compile(r"[=:<]")
_SQUEEZE = str.maketrans("", "", "-_.")
_SPACE = re.compile(r"\s")
#: Names whose value may be words and still a secret (``passphrase: correct horse battery``).
_PHRASE = re.compile("pass|secret|pwd")
_OPENING = re.compile(r"(\\*)([\"'])")
_TAG_END = re.compile(r"(?:\s[^<>]*)?>")
_BARE = re.compile(r"[^\s\"'&;,<>{}\[\]]*")
_SCHEME = re.compile(r"(?i:basic|bearer|digest|negotiate|token)[ \t]+")
_BLOCK_INDICATOR = re.compile(r"[|>][-+]?[1-9]?[-+]?[ \t]*\r?$")
_ENCODED = re.compile(r"%(?:25){0,3}3[ADad]")
_URL_CHAR = re.compile(r"[^\s\"'<>\\{}|^`]*")
#: The lines of a YAML block remembered one by one (a PEM key is some 30).
_BLOCK_LINES = 64
_UNESCAPED = 3  # levels of JSON escaping undone to remember a value, and of URL encoding decoded


def redact_text(
    text: str, secrets: Secrets, names: SecretNames = DEFAULT_NAMES, where: str = "a body"
) -> str:
    """``text`` with the value of each secret-named pair and element redacted, URL-encoded ones too
    (the module's docstring lists them); the values go to ``secrets`` when they look like
    credentials."""
    if "=" in text or ":" in text or "<" in text:  # most strings of an API's answers hold none
        text = _Scan(text, secrets, names, where).run()
    if "%" in text:
        text = _encoded_pairs(text, secrets, names, where)
    return text


@functools.lru_cache(maxsize=64)
def _fragments(extra: frozenset[str]) -> tuple[str, ...]:
    """What every secret name holds once lower-cased and without ``-_.``: a short name, a secret
    word that holds none, or an extra name. A text without one has no secret pair."""
    words = set(SHORT_NAMES) | {w for w in SECRET_WORDS if not any(s in w for s in SHORT_NAMES)} | extra
    return tuple(sorted(word for word in words if word))


@functools.lru_cache(maxsize=32)
def _indented(indent: int) -> re.Pattern[str]:
    """Lines that are blank or indented more than ``indent`` (spaces or tabs), each whole."""
    return re.compile(rf"(?:[ \t]*(?:\r?\n|$)|[ \t]{{{indent + 1},}}[^\n]*(?:\n|$))*")


class _Scan:
    """One pass over a text: the pairs and elements whose names carry a secret, redacted."""

    def __init__(self, text: str, secrets: Secrets, names: SecretNames, where: str) -> None:
        self.text, self.secrets, self.names, self.where = text, secrets, names, where
        self.out: list[str] = []
        self.done = 0  # what is copied to out (or redacted) so far

    def run(self) -> str:
        text, pos, window_end = self.text, 0, 0
        while pos < len(text):
            if pos >= window_end:  # a new window: passed over whole when no secret name can be in it
                window_end = min(len(text), pos + text_scan.WINDOW)
                if _SEPARATOR.search(text, pos, window_end) is None or not self._may_hold(pos, window_end):
                    pos = window_end
                    continue
            separator = _SEPARATOR.search(text, pos, window_end)
            if separator is None:
                pos = window_end
                continue
            at = separator.start()
            pos = at + 1
            if at >= self.done:
                pos = max(pos, self._tag(at) if text[at] == "<" else self._pair(at))
        if not self.out:
            return text
        return "".join(self.out) + text[self.done :]

    def _may_hold(self, start: int, end: int) -> bool:
        """Whether a secret name can be in the window ``[start, end)``, with the name (and its
        quote and blanks) that runs into it from before and out of it after."""
        text = self.text
        floor = max(self.done, start - text_scan.WINDOW)
        before = run_start(_KEY_CHARS, text, start, floor)
        after = run_end(_NAME_CHARS, text, end, end + text_scan.WINDOW)
        if (before == floor > self.done) or after == end + text_scan.WINDOW:
            return True  # a name as long as a window: looked at separator by separator
        squeezed = text[before:after].lower().translate(_SQUEEZE)
        return any(fragment in squeezed for fragment in _fragments(self.names.extra))

    def _tag(self, at: int) -> int:
        """``<name …>``: redact the element's value when the name carries a secret; where to go on."""
        name_end = run_end(_NAME_CHARS, self.text, at + 1)
        name = self.text[at + 1 : name_end]
        if not name or not self.names(name):
            return name_end
        return self._element(name, name_end)

    def _pair(self, at: int) -> int:
        """``name = value`` (or ``:``, ``=>``) at the separator ``at``: redact the value when the
        name, read backwards, carries a secret; where to go on."""
        text = self.text
        name_end = run_start(_BLANKS, text, at, self.done)
        if name_end > self.done and text[name_end - 1] in "\"'":  # a quoted name, JSON-escaped or not
            name_end = run_start(_BACKSLASHES, text, name_end - 1, self.done)
        name_start = run_start(_NAME_CHARS, text, name_end, self.done)
        name = text[name_start:name_end]
        if not name or not self.names(name):
            return at + 1
        arrow = text.startswith("=>", at)
        value_start = run_end(_BLANKS, text, at + (2 if arrow else 1))
        spaced = value_start > at + (2 if arrow else 1)
        return self._value(name, name_start, text[at] if not arrow else "=>", spaced, value_start)

    def _redact(self, start: int, end: int) -> None:
        self.out += (self.text[self.done : start], REDACTED)
        self.done = end

    def _value(self, name: str, name_start: int, separator: str, spaced: bool, start: int) -> int:
        """Redact the value at ``start``, after ``name`` and its ``separator`` (and blanks when
        ``spaced``); where it ends."""
        text = self.text
        kind = f"a value named {name[:100]!r} in the text of {self.where}"
        opening = _OPENING.match(text, start)
        if opening is not None:
            level, quote = len(opening[1]), opening[2]
            closed = quoted_end(text, opening.end(), quote, level)
            if closed is None:  # never closed: the rest of its line
                return self._to_line_end(start, kind, name)
            content, end = closed
            found = text[opening.end() : content]
            if found and found != REDACTED:
                self._remember_escaped(found, level, kind)
                self._redact(opening.end(), content)
            return end
        if text.startswith(("{", "["), start):  # an object or array: all of it, as in JSON bodies
            end, leaves = closing(text, start)
            if text[start:end] != REDACTED:
                for leaf in leaves:
                    self._remember_escaped(leaf, 0, kind)
                self._redact(start, end)
            return end
        if separator == "=" and not spaced:
            return self._bare(start, kind)
        eol = line_end(text, start)
        if not text[start:eol].strip() or _BLOCK_INDICATOR.match(text, start, eol):
            return self._block(name_start, eol, kind)
        return self._to_line_end(start, kind, name)

    def _bare(self, start: int, kind: str) -> int:
        text = self.text
        scheme = _SCHEME.match(text, start)
        value_start = scheme.end() if scheme else start
        end = run_end(_BARE, text, value_start)
        found = text[start:end]
        if not found or found == REDACTED:
            return end
        _remember(self.secrets, found, kind)
        if scheme:
            _remember(self.secrets, text[value_start:end], kind)  # the credentials alone, too
        elif "%" in found:
            _remember(self.secrets, urllib.parse.unquote_plus(found), kind)
        self._redact(start, end)
        return end

    def _to_line_end(self, start: int, kind: str, name: str) -> int:
        """The rest of the line: redacted; remembered when it looks like a credential, and when it
        is words (prose: ``key: Enter the value``) only under a name of a pass phrase or secret."""
        eol = line_end(self.text, start)
        found = self.text[start:eol].rstrip()
        end = start + len(found)
        if found and found != REDACTED:
            if not _SPACE.search(found) or _PHRASE.search(name.lower().translate(_SQUEEZE)):
                _remember(self.secrets, found, kind)
            scheme = _SCHEME.match(found)
            if scheme:
                _remember(self.secrets, found[scheme.end() :], kind)
            self._redact(start, end)
        return end

    def _block(self, name_start: int, eol: int, kind: str) -> int:
        """A YAML block value: the lines after the key's that are more indented than it (or blank),
        found by a regular expression a window of whole lines at a time."""
        text = self.text
        line_start = text.rfind("\n", 0, name_start) + 1
        indent = len(text[line_start:name_start]) - len(text[line_start:name_start].lstrip(" "))
        block = _indented(indent)
        pos = first = min(len(text), eol + 1)
        while pos < len(text):
            stop = (
                text.rfind("\n", pos, pos + text_scan.WINDOW) + 1
                or line_end(text, pos + text_scan.WINDOW) + 1
            )
            matched = block.match(text, pos, min(len(text), stop))
            assert matched is not None
            pos = matched.end()
            if pos < stop:
                break
        value = text[first:pos].rstrip()
        if not value.strip():
            return eol
        start = first + len(value) - len(value.lstrip())
        lines = [line.strip() for line in value.strip()[: _BLOCK_LINES * 1024].splitlines()[:_BLOCK_LINES]]
        for remembered in ("\n".join(lines), " ".join(lines), *lines):
            _remember(self.secrets, remembered, kind)
        self._redact(start, first + len(value))
        return first + len(value)

    def _element(self, name: str, name_end: int) -> int:
        """``<name …>value</name>``: the value, to the closing tag (or the next ``<``)."""
        text = self.text
        tag = _TAG_END.match(text, name_end)
        if tag is None or text[tag.end() - 2 : tag.end()] == "/>":
            return name_end
        start = tag.end()
        end = text.find(f"</{name}", start)
        if end < 0:
            end = text.find("<", start)
            end = len(text) if end < 0 else end
        found = text[start:end]
        if found and found != REDACTED:
            kind = f"the element <{name[:100]}> in the text of {self.where}"
            _remember(self.secrets, found.strip(), kind)
            _remember(self.secrets, html.unescape(found.strip()), kind)
            self._redact(start, end)
        return end

    def _remember_escaped(self, found: str, level: int, kind: str) -> None:
        """A quoted value as written, and undone of its levels of JSON escaping."""
        _remember(self.secrets, found, kind)
        for _ in range(min(level + 1, _UNESCAPED)):
            if "\\" not in found:
                break
            found = _unescaped(found)
            _remember(self.secrets, found, kind)


def _encoded_pairs(text: str, secrets: Secrets, names: SecretNames, where: str) -> str:
    """``text`` with the pairs URL-encoded in it (once or more) redacted: each run of URL characters
    that holds an encoded ``=`` or ``:`` is decoded, redacted, and encoded again if it changed."""
    out: list[str] = []
    done = pos = 0
    while (hit := search(_ENCODED, text, pos, 16)) is not None:
        start = run_start(_URL_CHAR, text, hit.start(), done)
        end = run_end(_URL_CHAR, text, hit.start())
        pos = max(end, hit.end())
        decoded = _url_decoded(text[start:end])
        redacted = _Scan(decoded, secrets, names, where).run()
        if redacted != decoded:
            out += (text[done:start], urllib.parse.quote(redacted, safe="/:?=&;,+@!$*'()[]~#"))
            done = end
    return "".join(out) + text[done:] if out else text


def _url_decoded(run: str) -> str:
    """``run`` URL-decoded (``+`` as a space) until it holds no escape, at most 3 times, a window at
    a time (``unquote_plus`` of a long run would hold the GIL in one call)."""
    for _ in range(_UNESCAPED):
        if "%" not in run:
            break
        pieces, pos = [], 0
        while pos < len(run):
            stop = min(len(run), pos + text_scan.WINDOW)
            cut = run.rfind("%", max(pos, stop - 2), stop)  # not inside a %XX
            if cut >= 0 and stop < len(run):
                stop = cut if cut > pos else min(len(run), pos + 3)
            pieces.append(urllib.parse.unquote_to_bytes(run[pos:stop].replace("+", " ")))
            pos = stop
        decoded = b"".join(pieces).decode("utf-8", "replace")
        if decoded == run:
            break
        run = decoded
    return run


def _remember(secrets: Secrets, value: str, kind: str) -> None:
    """Remember a value found in free text when it looks like a credential (8 characters or more,
    with one that is not a letter, or 16 or more): prose has pairs too (``key: Processing``), and a
    common word remembered would fail the audit of every tape that holds it elsewhere."""
    if len(value) >= 16 or (len(value) >= 8 and not value.isalpha()):
        secrets.add(value, kind)


def _unescaped(value: str) -> str:
    """A JSON string's content undone of its escapes (as written, when they are not JSON's)."""
    try:
        decoded = json.loads(f'"{value}"')
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
