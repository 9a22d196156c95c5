"""How Sling reaches a servlet bound to a path, for every row of the operations table alike.

The Guides servlets are registered by path (``sling.servlet.paths``). For such a servlet Sling
ignores the extension and selectors (those properties count only with ``sling.servlet.resourceTypes``),
so ``…/history.json`` and ``…/history.tar.json`` resolve to the ``…/history`` resource, and a trailing
slash is resolved to it as a suffix. Each API path therefore gets a second route,
``<path>{SLING_SUFFIX}``, which reaches the same operation with a warning (docs/contract.md §3.32).
A deeper suffix (``…/status/anything``) is not followed: it stays a 404.

``OPTIONS`` is answered as ``SlingSafeMethodsServlet.doOptions`` answers it: 200 with ``Allow``
listing ``OPTIONS, TRACE``, then ``GET, HEAD`` for a servlet that serves GET and ``POST`` for one
that serves POST (``SlingAllMethodsServlet``), in that order (§3.33).
"""

from __future__ import annotations

from collections.abc import Collection

from ..core.errors import Violation

__all__ = ["SLING_SUFFIX", "sling_allow", "suffix_warning"]

#: What may follow an API path and still reach its operation: selectors and an extension
#: (``.json``, ``.a.json``), then at most one trailing slash; not nothing (the exact path has its
#: own route). An aiohttp route pattern.
SLING_SUFFIX = r"(?:\.[^/.]+)+/?|/"
#: The order in which Sling's servlets list the methods they serve after ``OPTIONS, TRACE``.
_ORDER = (("GET", ("GET", "HEAD")), ("POST", ("POST",)), ("PUT", ("PUT",)), ("DELETE", ("DELETE",)))


def sling_allow(methods: Collection[str]) -> str:
    """The ``Allow`` header Sling's ``doOptions`` writes for a servlet serving ``methods``."""
    allowed = ["OPTIONS", "TRACE"]
    for method, listed in _ORDER:
        if method in methods:
            allowed += listed
    return ", ".join(allowed)


def suffix_warning(sent: str, documented: str) -> Violation:
    """The warning for a request to ``sent``, which Sling resolves to the ``documented`` path."""
    return Violation(
        "path",
        f"{sent[len(documented) :][:40]!r} after {documented}: Sling resolves it to the same servlet "
        f"(a servlet bound by path ignores extensions and a trailing slash); the documented path is "
        f"{documented}",
        documented,
        sent[-200:],
        keyword="slingSuffix",
        severity="warning",
    )
