"""Which names carry a secret, and the secrets a recorder saw, remembered for the audit.

**The names.** A field, parameter, header, cookie or form part carries a secret when its name,
compared case-insensitively with ``-``, ``_``, ``.`` and spaces left out, is

- one of the short names :data:`SHORT_NAMES` (``pass``, ``pwd``, ``pw``, ``sig``, ``key``, ``sid``,
  ``auth``, ``jwt``, ``otp``, ``session``), whole, or as its last word after a ``-``, ``_`` or ``.``
  (``x-key``, ``db_pass``, ``x-functions-key``); a short name never matches inside a word:
  ``keywords``, ``bypass``, ``passed``, ``author`` and ``design`` carry no secret;
- or holds one of the words :data:`SECRET_WORDS` anywhere (``password``, ``passwd``, ``passphrase``,
  ``passcode``, ``token``, ``secret``, ``apikey``, ``accesskey``, ``privatekey``, ``authkey``,
  ``sessionkey``, ``sessionid``, ``sessid``, ``csrf``, ``xsrf``, ``signature``, ``authorization``,
  ``cookie``): ``j_password``, ``userPassword``, ``access_token``, ``client_secret``, ``x-api-key``,
  ``JSESSIONID``, ``PHPSESSID``, ``X-CSRF-Token``;
- or is one of the extra names a recorder is given (``names=``), compared as a short name.

A word ends at a ``-``, ``_``, ``.`` or space, and where camelCase starts one: ``dbPass``,
``userPwd``, ``adminPWD`` and ``XAPIKey`` end in a short name (``keyId`` does not). The whole name
is judged, however long: a name of a million characters costs one pass over it (names of at most
200 characters are remembered, so an API's repeated names are judged once).

The API's own fields (``processingId``, ``path``, ``excludedPaths``, ``filter``, ``type``,
``createdBy``, ``status``, ``fileTypes``, ``offset``, ``lines``…) match none of these; a test holds
that. ``credentials`` is no secret word on purpose: it names an object whose fields (``password``)
are redacted by their own names, and its user name is kept.

**The credentials the proxy saw** are secrets whatever their names: the values of the headers
``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``CSRF-Token`` and of every
secret-named header, the password (and ``user:password``) of Basic credentials, Bearer tokens, each
cookie's value (:func:`collect_header`). They are written as ``[redacted]`` where they were, and
looked for everywhere else: an answer that echoes one in a field no name marks (``createdBy``,
``comments``) fails the audit, which deletes the tape (the Basic user name is no secret).

**The secrets.** :class:`Secrets` holds each secret value seen (in memory only, never written) with
the kind of secret it is, so that the audit names what leaked without showing it, and the hash set
of the byte forms (needles) the audit looks for. There is no list to fill that would silently stop
the audit from looking: every secret kept is looked for. What is bounded is how many are kept, at
most :data:`MAX_SECRETS` distinct secrets and :data:`MAX_NEEDLES` distinct needles (of
:data:`MAX_NEEDLE_BYTES` in all): the caps bound the recorder's memory and the audit's time, which
grows with the needles (bench/bench_audit.py). Past a cap a secret is refused (``add`` answers
False, ``dropped`` counts it) and the recorder stops writing: no exchange holding a secret the audit
does not look for is ever written. An exchange written before may still hold one (an answer echoed
it before a client sent it as a credential), so the secrets refused are kept too, up to
:data:`MAX_REFUSED_NEEDLES` needles, and looked for in what was written; past that ``overflowed``
counts them, and the audit fails (it fails closed, never open).

Each secret is looked for in every form it can take in a tape's bytes (:func:`.needles.needle_forms`):
as UTF-8, JSON-escaped, URL-encoded and HTML-escaped as the encoders of Python, Java, PHP and
JavaScript spell them. No aiohttp.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable

from .needles import needle_forms

__all__ = [
    "MAX_NEEDLES",
    "MAX_NEEDLE_BYTES",
    "MAX_REFUSED_NEEDLES",
    "MAX_SECRETS",
    "MAX_SECRET_CHARS",
    "MIN_SECRET_CHARS",
    "REDACTED",
]
__all__ += ["SECRET_WORDS", "SHORT_NAMES", "SecretNames", "Secrets", "collect_header", "looks_secret"]
__all__ += ["MAX_MASKED_USERS", "basic_user", "needle_forms", "user_placeholder"]

REDACTED = "[redacted]"
#: The most distinct secrets a recorder keeps; past it, it stops recording (fails closed). A real
#: recording holds tens (the Basic credentials, a session cookie, a CSRF token per few jobs).
MAX_SECRETS = 2048
#: The most distinct needles (the byte forms of the secrets, 1 for a token, more for a value with
#: characters encoders spell their own way) the audit looks for. Its worst case grows with them:
#: against a 256 MiB tape of random hex, random hex needles take 3.2 s of CPU (1,024 needles), 4.3
#: to 4.9 s (2,048), 5.4 s (3,072), 6.5 s (4,096) on this 2-core machine with both cores busy with
#: other work (bench/bench_audit.py --case adversarial); the needles of a real recording against a
#: tape of the API's answers, 1.4 s. The audit now runs as the tape is written (:mod:`.audit`).
MAX_NEEDLES = 2048
#: The most needles of the secrets refused past the caps that are kept to be looked for in what was
#: written before them; more fails the audit.
MAX_REFUSED_NEEDLES = 256
#: The most bytes of needles: bounds the automaton the audit builds.
MAX_NEEDLE_BYTES = 4 * 1024 * 1024
#: Shorter values are not looked for: "abc" turns up everywhere by chance.
MIN_SECRET_CHARS = 4
#: A longer secret is looked for by its first characters (a leak of the whole holds them too).
MAX_SECRET_CHARS = 256
#: The most Basic user names written as placeholders (a name that is a secret: ``admin:admin``);
#: past it a name is left as it is, and the audit decides (it fails closed).
MAX_MASKED_USERS = 64
#: Where a user name stands alone: not inside a word, a path, a file or host name, an e-mail address.
_ALONE_BEFORE = r"(?<![\w/\\.@-])"
_ALONE_AFTER = r"(?![\w/\\@-]|\.\w)"

SHORT_NAMES = frozenset({"pass", "pwd", "pw", "sig", "key", "sid", "auth", "jwt", "otp", "session"})
SECRET_WORDS = (
    "password", "passwd", "passphrase", "passcode", "token", "secret", "apikey", "accesskey",
    "privatekey", "authkey", "sessionkey", "sessionid", "sessid", "csrf", "xsrf", "signature",
    "authorization", "cookie",
)  # fmt: skip
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "csrf-token", "x-csrf-token"}
)
#: Headers whose names hold a secret-looking word but whose values are no secrets (a realm).
_PUBLIC_HEADERS = frozenset({"www-authenticate", "proxy-authenticate", "content-type"})
_SEPARATORS = str.maketrans("", "", "-_. ")
#: Where the last word of a name begins: after a separator, or where camelCase starts a word
#: (``dbPass``, ``XAPIKey``; not between a digit and a letter: ``md5`` is one word).
_LAST_WORD = re.compile(r"(?:[-_. ]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))(?P<word>[^-_. ]*)$")
#: The last word is judged from this many of a name's last characters: a longer word is no short
#: or extra name, so a name of any length costs one pass.
_TAIL = 256
#: Names at most this long are judged once and remembered.
_CACHED = 200


def _judge(name: str, extra: frozenset[str]) -> bool:
    squeezed = name.lower().translate(_SEPARATORS)
    # `in` for each word: a fast search in C, where one regular expression of them all is ten times slower
    if squeezed in SHORT_NAMES or squeezed in extra or any(word in squeezed for word in SECRET_WORDS):
        return True
    tail = name[-_TAIL:]
    last = _LAST_WORD.search(tail)
    if last is None or last.start("word") == 0:  # one word: it was judged whole above
        return False
    word = last["word"].lower()
    return word in SHORT_NAMES or word in extra


_judged = functools.lru_cache(maxsize=8192)(_judge)  # an API's names repeat: each is judged once


class SecretNames:
    """The rule of the module's docstring, with ``extra`` names compared as short names."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = frozenset(name.lower().translate(_SEPARATORS) for name in extra)

    def __call__(self, name: str) -> bool:
        """Whether a field or parameter called ``name`` carries a secret (all of it is judged)."""
        if len(name) > _CACHED:  # not remembered: a cache of long names would hold their memory
            return _judge(name, self.extra)
        return _judged(name, self.extra)


#: The documented names, with no extra ones.
DEFAULT_NAMES = SecretNames()


def looks_secret(name: str) -> bool:
    """Whether a field, parameter or header called ``name`` carries a secret (the documented names)."""
    return DEFAULT_NAMES(name)


class Secrets:
    """The secret values seen, each with the first kind it was seen as, and the needles to look for:
    at most ``limit`` secrets, ``max_needles`` needles and ``max_bytes`` bytes of them. One refused
    makes ``dropped`` positive: the recorder stops. The needles of those refused are kept apart
    (:meth:`refused_needles`), at most ``max_refused`` of them; ``overflowed`` counts the rest."""

    def __init__(
        self,
        limit: int = MAX_SECRETS,
        max_needles: int = MAX_NEEDLES,
        max_bytes: int = MAX_NEEDLE_BYTES,
        max_refused: int = MAX_REFUSED_NEEDLES,
    ) -> None:
        self.limit = limit
        self.max_needles = max_needles
        self.max_bytes = max_bytes
        self.max_refused = max_refused
        self.dropped = 0
        self.overflowed = 0
        """Secrets refused whose needles did not fit beside the other refused ones either."""
        self.needle_bytes = 0
        self._kinds: dict[str, str] = {}
        self._needles: dict[bytes, str] = {}
        self._refused: dict[bytes, str] = {}
        self.users: dict[str, str] = {}
        """The Basic user names that are secrets (``admin:admin``), each with the placeholder
        written for it (``[user:1]``), in the order seen. Kept in memory only, as the secrets are."""
        self._alone: re.Pattern[str] | None = None

    def mask_user(self, name: str) -> bool:
        """Write the user ``name`` (a secret: its password, say) as a placeholder wherever it stands
        alone (:meth:`masked`); False past :data:`MAX_MASKED_USERS`."""
        if name in self.users:
            return True
        if len(self.users) >= MAX_MASKED_USERS or len(name) > MAX_SECRET_CHARS:
            return False
        self.users[name] = user_placeholder(len(self.users) + 1)
        names = sorted(self.users, key=len, reverse=True)  # the longest first: "admin2" before "admin"
        self._alone = re.compile(f"{_ALONE_BEFORE}(?:{'|'.join(map(re.escape, names))}){_ALONE_AFTER}")
        return True

    def masked(self, text: str) -> str:
        """``text`` with each masked user name that stands alone (a whole value, ``createdBy``; a word
        of a log line, ``cancelled by admin``, ``user=admin]``) as its placeholder. Inside a word or a
        path (``/content/dam/admin``) it is left: the audit finds it there, and fails closed."""
        if self._alone is None:
            return text
        return self._alone.sub(lambda found: self.users[found[0]], text)

    def user(self, name: str) -> str | None:
        """How a Basic user name is written: itself, its placeholder, or None (a secret not masked)."""
        if name in self.users:
            return self.users[name]
        return None if name in self or len(name) > 200 else name

    def add(self, value: str, kind: str) -> bool:
        """Remember ``value``; False when it had to be refused (past a cap). Values too short to
        look for, and those ``[redacted]`` holds, are not secrets the audit could tell apart."""
        if len(value) < MIN_SECRET_CHARS or value in REDACTED:
            return True
        value = value[:MAX_SECRET_CHARS]
        if value in self._kinds:
            return True
        new = needle_forms(value) - self._needles.keys()
        size = sum(map(len, new))
        if (
            len(self._kinds) >= self.limit
            or len(self._needles) + len(new) > self.max_needles
            or self.needle_bytes + size > self.max_bytes
        ):
            self.dropped += 1
            refused = new - self._refused.keys()
            if len(self._refused) + len(refused) > self.max_refused:
                self.overflowed += 1
            else:
                self._refused.update(dict.fromkeys(refused, kind))
            return False
        self._kinds[value] = kind
        self._needles.update(dict.fromkeys(new, kind))
        self.needle_bytes += size
        return True

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value[:MAX_SECRET_CHARS] in self._kinds

    def needles(self) -> dict[bytes, str]:
        """The bytes to look for, each form of each secret (:func:`needle_forms`), with its kind, in
        the order they were first seen."""
        return dict(self._needles)

    def refused_needles(self) -> dict[bytes, str]:
        """The needles of the secrets refused past the caps (at most ``max_refused``)."""
        return dict(self._refused)

    @property
    def count(self) -> int:
        """How many needles are kept (:meth:`needles` without the copy)."""
        return len(self._needles)


def collect_header(name: str, value: str, secrets: Secrets, side: str) -> bool:
    """Remember the secrets of the header ``name`` (lower case) of a ``side`` ("request" or
    "response"); True when it is a secret header, to be written as ``[redacted]``."""
    if name in _PUBLIC_HEADERS or not (name in _SECRET_HEADERS or looks_secret(name)):
        return False
    where = f"the {side} header {name}"
    secrets.add(value, f"the value of {where}")
    if name in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            secrets.add(credentials, f"the Bearer token of {where}")
        elif scheme.lower() == "basic":
            _basic(credentials, where, secrets)
        secrets.add(credentials, f"the credentials of {where}")  # another scheme's; Basic's base64
    elif name == "cookie":
        for cookie in value.split(";"):
            cookie_name, _, cookie_value = cookie.strip().partition("=")
            secrets.add(cookie_value.strip('"'), f"the value of cookie {cookie_name[:100]!r} ({where})")
    elif name == "set-cookie":
        cookie_name, _, rest = value.partition("=")
        cookie_value = rest.partition(";")[0].strip().strip('"')
        secrets.add(cookie_value, f"the value of cookie {cookie_name.strip()[:100]!r} ({where})")
    return True


def user_placeholder(number: int) -> str:
    """What the tape writes for the ``number``-th user whose name is a secret: ``[user:1]``."""
    return f"[user:{number}]"


def basic_user(value: str) -> str | None:
    """The user name of ``Authorization: Basic …`` (UTF-8), or None."""
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        pair = base64.b64decode(credentials.strip(), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return None
    user, sep, _ = pair.partition(":")
    return user if sep and user else None


def _basic(credentials: str, where: str, secrets: Secrets) -> None:
    """The ``user:password`` pair and the password of Basic credentials (the user name is none: an
    author echoes it in ``createdBy``), as UTF-8 and as ISO-8859-1 (Java's default) when they differ:
    an upstream echoes what it decoded. A user name that is a secret (its password: ``admin:admin``)
    is masked: written as a placeholder wherever it stands alone (:meth:`Secrets.masked`)."""
    try:
        raw = base64.b64decode(credentials, validate=True)
    except (binascii.Error, ValueError):
        return
    # As sent (a byte that is not UTF-8 as that byte), and as an upstream decoding ISO-8859-1 sees it.
    for pair in dict.fromkeys((raw.decode("utf-8", "surrogateescape"), raw.decode("latin-1"))):
        user, _, password = pair.partition(":")
        secrets.add(pair, f"the user:password pair of the HTTP Basic credentials ({where})")
        same = (
            "; it is the user name, written as a placeholder where it stands alone (`createdBy`), and "
            "here found inside a word or a path (such as /content/dam/admin): record with a login whose "
            "password is not a word of the author's content"
        )
        secrets.add(
            password,
            f"the password of the HTTP Basic credentials ({where}{same if password == user else ''})",
        )
        if user and user in secrets:
            secrets.mask_user(user)
