"""The command line's one contract: what each exit code means, how an error is said, what a URL may be.

Every command of ``aem-guides-mock`` ends with one of:

====  ======================================================================================
0     ok
1     findings: a violation, a leaked secret, a check that failed
2     usage: a flag argparse refuses, an option's value that cannot be used (a URL, a scenario)
3     setup or I/O: a target that cannot be reached, a file that cannot be read or written, a
      port in use, a run that was stopped
====  ======================================================================================

An error is said once, on stderr, as ``aem-guides-mock: <message>`` (:func:`fail`), or raised as
:class:`CliError` from deep inside a command and said by ``main``.
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.parse
from enum import IntEnum

__all__ = ["CliError", "Exit", "check_url", "fail", "url_option"]


_USERINFO = re.compile(r"^(\s*[^:/?#]*://)[^/?#]*@")


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    SETUP = 3


class CliError(Exception):
    """An error a command ends with: ``main`` prints ``aem-guides-mock: <message>`` and exits ``code``."""

    def __init__(self, message: str, code: Exit = Exit.SETUP) -> None:
        super().__init__(message)
        self.code = code


def fail(message: object, code: Exit = Exit.SETUP) -> int:
    """Say ``message`` on stderr as ``aem-guides-mock: <message>``; return ``code`` to exit with."""
    print(f"aem-guides-mock: {message}", file=sys.stderr, flush=True)
    return int(code)


def check_url(text: str) -> str:
    """``text`` as an author's base URL (``verify --target``, ``proxy --upstream``), without a trailing
    slash; a ValueError says what is wrong with it (:func:`url_option` names the option).

    The rule: http or https, a host, a port if any in 1-65535, no user or password (the client sends
    credentials; a URL is printed in reports and logs), no query and no fragment (a request's own
    would be appended to it). A path is kept as a prefix (an author behind a reverse proxy at
    ``/aem``): the API's paths are joined to it."""
    example = "give such as https://author.example.com or http://localhost:4502"
    try:
        parts = urllib.parse.urlsplit(text.strip())
        port = parts.port
    except ValueError as error:  # a bad port or IPv6 literal
        raise ValueError(f"{_shown(text)} is not a URL ({error}); {example}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{_shown(text)} is not an http or https URL; {example}")
    if not parts.hostname:
        raise ValueError(f"{_shown(text)} names no host; {example}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "the URL holds credentials: leave them out (verify takes --user and --password-env or "
            "--token-env; through the proxy, the client sends them)"
        )
    if port == 0:
        raise ValueError(f"{_shown(text)}: port 0 is no port to connect to; {example}")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(
            f"{_shown(text)}: a query or fragment has no place in the base URL; give the origin "
            "(and a path prefix, if the author is served under one)"
        )
    return text.strip().rstrip("/")


def url_option(text: str) -> str:
    """:func:`check_url` as an argparse ``type``: a bad URL is a usage error (exit 2) naming the option."""
    try:
        return check_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _shown(text: str) -> str:
    """The URL as said in a message: at most 200 characters, a password never shown."""
    shown = _USERINFO.sub(r"\1***@", text)
    return repr(shown if len(shown) <= 200 else shown[:200] + "…")
